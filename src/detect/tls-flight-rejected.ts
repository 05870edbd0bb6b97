import type { AnalyzedConnection } from './analyzed-connection';
import { firstCloseTs, readBefore } from './facts';

/**
 * A TLS 1.3 server that rejected the client's second flight, read from the record headers: its
 * first record after the client's Finished was an alert (alert-sized application data: encrypted
 * under its handshake keys), with no session ticket or data before it, sent at once, and the
 * connection closed at once after it.
 *
 * Why this shape: a server that verifies client certificates (mutual TLS: OpenSSL `-Verify`, Go
 * `RequireAndVerifyClientCert`, HAProxy `verify required`) does so only once the client's
 * Certificate, CertificateVerify and Finished have come, and its rejection (certificate_required
 * 116 for an empty Certificate, bad_certificate or unknown_ca for one it does not trust) comes
 * where a server that accepted the Finished sends its tickets. The client's handshake had already
 * finished on its side: it sends its request at once, and learns of the failure at its first read.
 * That request is no request the server left unanswered, nor one that met an idle close
 * (unanswered-request, keepalive-race): the handshake failed (tls-handshake-failed).
 *
 * Told apart from what is healthy: a server's idle close with its close_notify (no tickets
 * configured: Go `SessionTicketsDisabled`) comes after a timer, not within REJECTION_WINDOW of the
 * Finished; a close_notify answering the client's own alert or close came after them.
 */
export interface FlightRejection {
  alertTs: number;
  alertFrame: number;
  /** The first close after the alert (the server's, unless the client's came first). */
  closeTs: number;
  closeFrame: number;
  closedWith: 'fin' | 'rst';
  /** Where the client's Finished ended. */
  finishedFrame: number;
  /**
   * What the client's flight held before its Finished, from its records' lengths: an empty
   * Certificate ('none'), a Certificate and CertificateVerify ('sent'), nothing ('not-asked': no
   * CertificateRequest); null when the Finished was not told by its length.
   */
  clientCertificate: 'none' | 'sent' | 'not-asked' | null;
}

/**
 * A rejection answers the flight (the server's processing of it: a certificate chain check), an
 * idle close follows a timer; and a fatal alert is followed by the close. One second, as the
 * client-side mirror in tls-handshake-failed (ABORT_AFTER_HANDSHAKE): well above a reaction, below
 * the idle and read timeouts servers use.
 */
export const REJECTION_WINDOW = 1;

function closeOf(ts: number, finTs: number, finFrame: number, rstFrame: number): { ts: number; frame: number; how: 'fin' | 'rst' } | null {
  if (ts < 0) return null;
  const fin = finTs >= 0 && ts === finTs;
  return { ts, frame: fin ? finFrame : rstFrame, how: fin ? 'fin' : 'rst' };
}

export function tlsFlightRejected(conn: AnalyzedConnection): FlightRejection | null {
  const tls = conn.app?.tls ?? null;
  if (tls === null) return null;
  const c = tls.client;
  const s = tls.server;
  if (!s.hello.tls13 || c.finishedEndTs < 0 || s.firstAlertTs < 0 || s.firstAlertType !== 23) return null;
  if (!readBefore(c.finishedEndTs, c.finishedEndFrame, s.firstAlertTs, s.firstAlertFrame)) return null;
  // Its tickets or data came first: the Finished was accepted.
  if (s.ticketRecords > 0 || s.dataAfterTickets) return null;
  // The server answered the client's own close (a health check's close_notify, its FIN or RST).
  if (c.firstAlertTs >= 0 && !readBefore(s.firstAlertTs, s.firstAlertFrame, c.firstAlertTs, c.firstAlertFrame)) return null;
  const clientClose = closeOf(firstCloseTs(conn.client), conn.client.finTs, conn.client.finFrame, conn.client.rstFrame);
  if (clientClose !== null && !readBefore(s.firstAlertTs, s.firstAlertFrame, clientClose.ts, clientClose.frame)) return null;
  // A timer (an idle close), not an answer to the flight.
  if (s.firstAlertTs - c.finishedEndTs >= REJECTION_WINDOW) return null;
  const serverClose = closeOf(firstCloseTs(conn.server), conn.server.finTs, conn.server.finFrame, conn.server.rstFrame);
  const close = serverClose !== null && (clientClose === null || serverClose.ts <= clientClose.ts) ? serverClose : clientClose;
  if (close === null || close.ts - s.firstAlertTs >= REJECTION_WINDOW) return null;
  return {
    alertTs: s.firstAlertTs,
    alertFrame: s.firstAlertFrame,
    closeTs: close.ts,
    closeFrame: close.frame,
    closedWith: close.how,
    finishedFrame: c.finishedEndFrame,
    clientCertificate: !c.finishedByLength ? null : c.flightRecordsBeforeFinished === 0 ? 'not-asked' : c.flightEmptyCertificate ? 'none' : 'sent',
  };
}
