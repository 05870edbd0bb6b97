import type { HttpExchange } from '../../http/exchange';
import type { TlsDirection, TlsRecords } from '../../http/tls-records';
import { TlsStop } from '../../http/tls-records';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { firstCloseTs, hostOf, microsAsMs, ms, startedMidStream } from '../facts';
import { firstAtOrAfter } from '../sorted-search';
import { type FlightRejection, tlsFlightRejected } from '../tls-flight-rejected';
import type { Finding } from '../finding';

/**
 * What a TLS alert means (RFC 8446 §6, RFC 5246 §7.2): its name, the words OpenSSL logs for it
 * ("tlsv1 alert unknown ca": curl, nginx, HAProxy, Python, Node print this) and Go's ("remote
 * error: tls: …"), and the family of remedies it calls for.
 */
interface AlertMeaning {
  name: string;
  openssl: string;
  go: string;
  family: 'trust' | 'version' | 'cipher' | 'sni' | 'alpn' | 'other';
}

function alert(name: string, openssl: string, go: string, family: AlertMeaning['family']): AlertMeaning {
  return { name, openssl, go, family };
}

const ALERTS: Record<number, AlertMeaning> = {
  0: alert('close_notify', 'close notify', 'close notify', 'other'),
  10: alert('unexpected_message', 'sslv3 alert unexpected message', 'unexpected message', 'other'),
  20: alert('bad_record_mac', 'sslv3 alert bad record mac', 'bad record MAC', 'other'),
  22: alert('record_overflow', 'tlsv1 alert record overflow', 'record overflow', 'other'),
  40: alert('handshake_failure', 'sslv3 alert handshake failure', 'handshake failure', 'cipher'),
  42: alert('bad_certificate', 'sslv3 alert bad certificate', 'bad certificate', 'trust'),
  43: alert('unsupported_certificate', 'sslv3 alert unsupported certificate', 'unsupported certificate', 'trust'),
  44: alert('certificate_revoked', 'sslv3 alert certificate revoked', 'revoked certificate', 'trust'),
  45: alert('certificate_expired', 'sslv3 alert certificate expired', 'expired certificate', 'trust'),
  46: alert('certificate_unknown', 'sslv3 alert certificate unknown', 'unknown certificate', 'trust'),
  47: alert('illegal_parameter', 'sslv3 alert illegal parameter', 'illegal parameter', 'other'),
  48: alert('unknown_ca', 'tlsv1 alert unknown ca', 'unknown certificate authority', 'trust'),
  49: alert('access_denied', 'tlsv1 alert access denied', 'access denied', 'trust'),
  50: alert('decode_error', 'tlsv1 alert decode error', 'error decoding message', 'other'),
  51: alert('decrypt_error', 'tlsv1 alert decrypt error', 'error decrypting message', 'other'),
  70: alert('protocol_version', 'tlsv1 alert protocol version', 'protocol version not supported', 'version'),
  71: alert('insufficient_security', 'tlsv1 alert insufficient security', 'insufficient security level', 'cipher'),
  80: alert('internal_error', 'tlsv1 alert internal error', 'internal error', 'other'),
  86: alert('inappropriate_fallback', 'tlsv1 alert inappropriate fallback', 'inappropriate fallback', 'version'),
  90: alert('user_canceled', 'sslv3 alert user canceled', 'user canceled', 'other'),
  109: alert('missing_extension', 'tlsv13 alert missing extension', 'missing extension', 'other'),
  110: alert('unsupported_extension', 'tlsv1 alert unsupported extension', 'unsupported extension', 'other'),
  112: alert('unrecognized_name', 'tlsv1 unrecognized name', 'unrecognized name', 'sni'),
  113: alert('bad_certificate_status_response', 'tlsv1 bad certificate status response', 'bad certificate status response', 'trust'),
  115: alert('unknown_psk_identity', 'tlsv1 alert unknown psk identity', 'unknown PSK identity', 'other'),
  116: alert('certificate_required', 'tlsv13 alert certificate required', 'certificate required', 'trust'),
  120: alert('no_application_protocol', 'tlsv1 alert no application protocol', 'no application protocol', 'alpn'),
};

function meaningOf(code: number): AlertMeaning {
  return ALERTS[code] ?? alert(`alert ${code}`, `alert number ${code}`, `alert(${code})`, 'other');
}

type Side = 'client' | 'server';

/** Why the handshake never completed. */
type Cause =
  /** A side sent an alert in clear (TLS 1.2, or TLS 1.3 before that side encrypts). */
  | 'alert'
  /**
   * An alert whose description is encrypted: a TLS 1.3 client's after the ServerHello (a 19-byte
   * application-data record instead of its Finished); a TLS 1.3 server's right after the client's
   * second flight (in place of its session tickets: it rejected the client's certificate); a TLS
   * 1.2 side's after its own ChangeCipherSpec (an alert record longer than 2 bytes).
   */
  | 'encrypted-alert'
  /** A side closed (FIN or RST) during the handshake without an alert. */
  | 'closed'
  /** The server answered the ClientHello with bytes that are no TLS record (a plain HTTP port: "HTTP/1.1 400"). */
  | 'not-tls'
  /** A plain HTTP request to a port that speaks TLS, answered with a 400. */
  | 'plain-http-to-tls-port'
  /**
   * A proxy completed the handshake and closed at once with its close_notify, without a request,
   * while it answered its own client a 502: it checked the certificate after the handshake and
   * rejected it (nginx `proxy_ssl_verify on`: "upstream SSL certificate verify error").
   */
  | 'verify-after-handshake';

/**
 * Where the handshake was when it failed, by what the server had sent: nothing (the ClientHello
 * unanswered), its first flight (ServerHello…), or its first flight and the client its second.
 */
type Stage = 'client-hello' | 'server-hello' | 'client-flight';

/** What a TLS 1.3 client's second flight held before its Finished (see FlightRejection). */
type ClientCertificate = NonNullable<FlightRejection['clientCertificate']>;

/** One failed handshake, copied out of its connection (which is released). */
interface Failure {
  flowId: number;
  client: string;
  clientHost: string;
  server: string;
  cause: Cause;
  failedBy: Side;
  stage: Stage;
  alertCode: number;
  alertFatal: boolean;
  closedWith: 'fin' | 'rst' | null;
  ts: number;
  /** Seconds from the client's first bytes to the failure (alert or close). */
  after: number;
  /** When the connection began (its SYN, else its first packet): a proxy's 502 for it came from a request older than this. */
  startTs: number;
  frames: number[];
  /** The frame that decided it (the alert, the close, the server's answer): listed for every connection of a group. */
  keyFrame: number;
  offered13: boolean;
  /** The version the server chose in its hello ('1.3' or '1.2'), null when no ServerHello was read. */
  chosen: string | null;
  /** The server's first bytes as text (not-tls), or the status line of its answer (plain-http). */
  answer: string | null;
  /** A TLS 1.3 server's encrypted alert on the client's second flight: what that flight held (see ClientCertificate). */
  clientCertificate: ClientCertificate | null;
  /**
   * A client that closed before the server's hello, which came only after that close: seconds from
   * the ClientHello to the server's first bytes (the server was slower than the client waited); -1
   * otherwise.
   */
  lateHello: number;
}

/** Failures kept (all servers together); more are counted in their group, their frames not kept. */
const MAX_KEPT = 10_000;
/** Groups kept, and servers remembered as speaking TLS; both bounded so a night of capture stays small. */
const MAX_GROUPS = 1_000;
const MAX_TLS_SERVERS = 65_536;
/** Connections listed (flow ids, alert frames) per finding. */
const LISTED = 10;
/**
 * A client that closed after its ClientHello with no byte from the server is judged only after
 * waiting this long: a client that cancels a connection it no longer needs (the loser of a happy
 * eyeballs race, a browser's speculative connection) closes sooner; one that waited a second for a
 * ServerHello gave up on a server that did not answer.
 */
const UNANSWERED_HELLO_WAIT = 1;
/**
 * A client that closed after its ClientHello and before the server's hello, which then came, gave
 * up waiting on a server slower than its timer, when it waited at least this long: the server's
 * late answer proves the wait was real, and a cancel sooner than this is a race lost, not a timer.
 */
const LATE_HELLO_WAIT = 0.1;

const HTTP_LEAD = 0x48545450; // "HTTP"
/**
 * A client that closes a completed handshake without a byte of data within this long of its
 * ClientHello checked something and gave up (nginx verifies the upstream's certificate once the
 * handshake is done); one that holds the connection longer was idle (a pool, a warm-up).
 */
const ABORT_AFTER_HANDSHAKE = 1;
/** A proxy's 502 that follows its upstream's abandoned handshake within this long answered it (nginx: the same event-loop turn). */
const RELAY_502_WINDOW = 0.05;
/** 502 responses remembered for the pairing (capture-wide, most recent kept). */
const MAX_502 = 10_000;

/** A 502 response: when its request began and its answer came, where (the proxy's listener), which exchange. */
interface Relayed502 {
  requestStart: number;
  responseStart: number;
  frame: number;
  server: string;
  flowId: number;
  index: number;
}

interface Group {
  count: number;
  failures: Failure[];
  clients: Set<string>;
  /** The 502s proxies answered their own clients for these failures. */
  relayed: Relayed502[];
}

function startOf(conn: AnalyzedConnection): number {
  return conn.client.synTimes.length > 0 ? conn.client.synTimes[0] : conn.startTs;
}

/** The TLS handshake completed, as far as the record headers tell. */
function handshakeCompleted(tls: TlsRecords): boolean {
  const c = tls.client;
  const s = tls.server;
  // TLS 1.3: the client's Finished (its first application data after the server's flight), or data.
  if (c.sawTls13Finished || c.appRecords > 0) return true;
  // TLS 1.2: each side's ChangeCipherSpec, its Finished behind it (either order: resumption).
  return !s.hello.tls13 && c.sawChangeCipherSpec && s.sawChangeCipherSpec;
}

function leadText(d: TlsDirection): string {
  let text = '';
  for (let i = d.leadLength - 1; i >= 0; i--) {
    const b = Math.floor(d.lead / 256 ** i) % 256;
    text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return text;
}

function closeOf(conn: AnalyzedConnection, side: Side): { ts: number; frame: number; how: 'fin' | 'rst' } | null {
  const ep = side === 'client' ? conn.client : conn.server;
  const ts = firstCloseTs(ep);
  if (ts < 0) return null;
  const fin = ep.finTs >= 0 && ts === ep.finTs;
  return { ts, frame: fin ? ep.finFrame : ep.rstFrame, how: fin ? 'fin' : 'rst' };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return n === 1 ? one : many;
}

/**
 * tls-handshake-failed: connections whose TLS handshake never completed. The record layer is in
 * clear, and so is every alert a side sends before it encrypts (all of TLS 1.2's handshake, TLS
 * 1.3's up to the ServerHello, and an OpenSSL client's until its own Finished): its level and
 * description name the cause (unknown_ca: the client does not trust the server's certificate;
 * protocol_version: no version in common; unrecognized_name: no certificate for the SNI name). A
 * TLS 1.3 client that rejects the server's certificate after switching to its handshake keys (Go,
 * BoringSSL) sends its alert encrypted: a 19-byte application-data record instead of its Finished.
 * A TLS 1.3 server that rejects the client's certificate (mutual TLS) does so after the client's
 * Finished, its alert encrypted where its session tickets would come (tls-flight-rejected.ts); a
 * TLS 1.2 side's alert after its own ChangeCipherSpec is encrypted too (a record longer than 2).
 * A side that closes during the handshake without an alert is named too (with where the handshake
 * was), and so are the two classic mistakes: a ClientHello sent to a plain HTTP port (the server
 * answers "HTTP/1.1 400" in clear: OpenSSL's "wrong version number") and a plain HTTP request sent
 * to a port that speaks TLS (answered with a 400: nginx's "The plain HTTP request was sent to HTTPS
 * port"), known when the capture shows TLS handshakes on that port.
 *
 * Not judged: a handshake still going on when the capture ended (no FIN or RST), one the capture
 * began in the middle of, one whose records the capture lost, a side's close_notify or
 * user_canceled (a cancel, not a failure). Identical failures (one server, cause, side, alert and
 * stage) are one finding, with the number of connections, their clients and flows: a client
 * retrying a misconfigured backend fails the same way hundreds of times.
 */
export const tlsHandshakeFailed: DetectorDefinition = {
  id: 'tls-handshake-failed',
  meta: {
    description:
      'TLS handshakes that never completed: a fatal alert during the handshake (named: unknown_ca, protocol_version, handshake_failure, unrecognized_name …; ' +
      'a TLS 1.3 client\'s encrypted alert by its size, a TLS 1.3 server\'s right after the client\'s certificate and Finished: mutual TLS), a close or reset right after a hello with no alert, a ClientHello sent to a plain HTTP port, ' +
      'a plain HTTP request sent to a TLS port. One finding per server and cause, with who failed it, what clients and proxies log, and the remedy.',
    severity: 'error',
    messages: {
      failed: '{count} {handshakes} with {server} failed: {what}',
    },
  },
  create(ctx: DetectContext) {
    const groups = new Map<string, Group>();
    /** Every failure kept (bounded), for the pairing with the 502s proxies answered for them. */
    const all: { f: Failure; g: Group }[] = [];
    let unkept = 0;
    const tlsServers = new Set<string>();
    /** Plain HTTP connections answered 400 and closed: judged at the end, against the ports that spoke TLS. */
    const plainCandidates: Failure[] = [];
    /** Handshakes a client completed and dropped at once without data: judged at the end, against the 502s (see 'verify-after-handshake'). */
    const abandoned: Failure[] = [];
    /** 502 responses: when the request began, when the answer came, where; a ring of the most recent. */
    const bad502: Relayed502[] = [];
    let bad502Next = 0;

    function keep(f: Failure): void {
      const key = `${f.server}|${f.cause}|${f.failedBy}|${f.alertCode}|${f.stage}|${f.lateHello >= 0 ? 'late' : ''}|${f.clientCertificate ?? ''}`;
      let g = groups.get(key);
      if (g === undefined) {
        if (groups.size >= MAX_GROUPS) {
          unkept++;
          return;
        }
        g = { count: 0, failures: [], clients: new Set(), relayed: [] };
        groups.set(key, g);
      }
      g.count++;
      if (all.length < MAX_KEPT) all.push({ f, g });
      if (g.clients.size < LISTED) g.clients.add(f.clientHost);
      if (g.failures.length < LISTED) g.failures.push(f);
    }

    function judgeTls(conn: AnalyzedConnection, tls: TlsRecords): void {
      const c = tls.client;
      const s = tls.server;
      if (s.records > 0 && tlsServers.size < MAX_TLS_SERVERS) tlsServers.add(conn.serverName);
      if (startedMidStream(conn) && !c.hello.complete) return; // what came first is unseen
      if (c.records === 0 && !c.hello.complete) return;
      if (handshakeCompleted(tls)) {
        if (serverRejectedFlight(conn, tls)) return;
        noteAbandoned(conn, tls);
        return;
      }
      const clientClose = closeOf(conn, 'client');
      const serverClose = closeOf(conn, 'server');
      // Still going on when the capture ended (or let go): not judged.
      if (clientClose === null && serverClose === null) return;
      const helloTs = conn.client.firstDataTs;
      const base = {
        flowId: conn.id,
        client: conn.clientName,
        clientHost: conn.clientHost,
        server: conn.serverName,
        offered13: c.hello.tls13,
        chosen: s.records > 0 && s.hello.complete ? (s.hello.tls13 ? '1.3' : '1.2') : null,
        startTs: startOf(conn),
        lateHello: -1,
        clientCertificate: null,
      };
      // Where it was: whether the server's hello came (a server's first record may be its alert).
      const stage: Stage = !s.hello.complete ? 'client-hello' : c.sawChangeCipherSpec ? 'client-flight' : 'server-hello';
      const helloFrames = [conn.client.firstDataFrame, ...(conn.server.firstDataFrame > 0 ? [conn.server.firstDataFrame] : [])];

      // The first alert either side sent (both may: the second answers the first).
      const cAlert = c.firstAlertTs >= 0 ? c.firstAlertTs : Infinity;
      const sAlert = s.firstAlertTs >= 0 ? s.firstAlertTs : Infinity;
      if (cAlert !== Infinity || sAlert !== Infinity) {
        const by: Side = cAlert <= sAlert ? 'client' : 'server';
        const d = by === 'client' ? c : s;
        const close = closeOf(conn, by);
        const frames = [...helloFrames, d.firstAlertFrame, ...(close !== null ? [close.frame] : [])];
        if (d.firstAlertType === 21 && d.alertDescription >= 0) {
          // A warning-level close_notify or user_canceled is a cancel (a client that gave up), not a failure.
          if (d.alertLevel !== 2 && (d.alertDescription === 0 || d.alertDescription === 90)) return;
          keep({ ...base, cause: 'alert', failedBy: by, stage: stageOf(by, stage), alertCode: d.alertDescription, alertFatal: d.alertLevel === 2, closedWith: close?.how ?? null, ts: d.firstAlertTs, after: d.firstAlertTs - helloTs, frames, keyFrame: d.firstAlertFrame, answer: null });
          return;
        }
        // An encrypted alert: a TLS 1.3 client's instead of its Finished, after the server's flight.
        // (Not where the snaplen hid some of the client's records: its Finished may have been among them.)
        if (by === 'client' && d.firstAlertType === 23 && s.appRecords > 0 && c.appRecords === 0 && !c.recordsUnseen) {
          keep({ ...base, cause: 'encrypted-alert', failedBy: 'client', stage: 'server-hello', alertCode: -1, alertFatal: true, closedWith: close?.how ?? null, ts: d.firstAlertTs, after: d.firstAlertTs - helloTs, frames, keyFrame: d.firstAlertFrame, answer: null });
          return;
        }
        // TLS 1.2: an alert record that is not 2 bytes long was sent after the side's own
        // ChangeCipherSpec, encrypted (a GCM alert is 26 bytes), while the handshake never
        // completed: the side failed or gave up on its peer's Finished. Its description cannot be
        // read (a fatal alert, or a close_notify from a side that gave up waiting), but a close
        // there without any alert is a failure too. (These had been silent, where the same close
        // without the alert was named.)
        // Only where the peer's records were read whole: a peer's ChangeCipherSpec the capture lost
        // (a snaplen cut through its flight, reading resumed after it or not) would make a completed
        // handshake and its close_notify look like this.
        const peer = by === 'client' ? s : c;
        if (d.firstAlertType === 21 && d.alertDescription < 0 && d.sawChangeCipherSpec && peer.stop === TlsStop.None && !peer.recordsUnseen && !peer.midRecord) {
          const at: Stage = by === 'client' ? 'client-flight' : stage;
          keep({ ...base, cause: 'encrypted-alert', failedBy: by, stage: at, alertCode: -1, alertFatal: true, closedWith: close?.how ?? null, ts: d.firstAlertTs, after: d.firstAlertTs - helloTs, frames, keyFrame: d.firstAlertFrame, answer: null });
        }
        return;
      }
      // Records lost by the capture (or unseen where the snaplen took their headers): what was sent is unknown.
      if (c.recordsUnseen || s.recordsUnseen) return;
      if (s.stop === TlsStop.NotTls && s.records === 0 && s.leadLength > 0) {
        // An HTTP answer and any other protocol's are separate causes: alertCode only keys the group here.
        const plainHttp = s.leadLength === 4 && s.lead === HTTP_LEAD;
        const close = closeOf(conn, 'server') ?? closeOf(conn, 'client');
        keep({ ...base, cause: 'not-tls', failedBy: 'server', stage: 'client-hello', alertCode: plainHttp ? 0 : -1, alertFatal: true, closedWith: close?.how ?? null, ts: conn.server.firstDataTs, after: conn.server.firstDataTs - helloTs, frames: [...helloFrames, ...(close !== null ? [close.frame] : [])], keyFrame: conn.server.firstDataFrame, answer: leadText(s) });
        return;
      }
      if (s.stop !== TlsStop.None || c.stop !== TlsStop.None) return;
      // No alert: the side that closed first ended the handshake.
      const by: Side = clientClose === null ? 'server' : serverClose === null ? 'client' : clientClose.ts <= serverClose.ts ? 'client' : 'server';
      const close = (by === 'client' ? clientClose : serverClose)!;
      // The server's hello came only after the client had closed (later in time, or in a later
      // frame at the same time): the client never saw it, and gave up waiting for it. It is no
      // rejection of the certificate (blind round 14b s9: a server 1 s slow to start its
      // handshakes, curl --max-time 0.5; the hello had been read as what the client closed on).
      const serverFirst = conn.server.firstDataTs;
      const lateHello = by === 'client' && serverFirst >= 0 && (serverFirst > close.ts || (serverFirst === close.ts && conn.server.firstDataFrame > close.frame));
      const seen: Stage = lateHello ? 'client-hello' : stage;
      // A client that closed before any answer: judged only after a real wait (see UNANSWERED_HELLO_WAIT, LATE_HELLO_WAIT).
      if (by === 'client' && seen === 'client-hello' && close.ts - helloTs < (lateHello ? LATE_HELLO_WAIT : UNANSWERED_HELLO_WAIT)) return;
      keep({ ...base, cause: 'closed', failedBy: by, stage: stageOf(by, seen), alertCode: -1, alertFatal: true, closedWith: close.how, ts: close.ts, after: close.ts - helloTs, frames: [...helloFrames, close.frame], keyFrame: close.frame, answer: null, lateHello: lateHello ? serverFirst - helloTs : -1 });
    }

    /** TLS 1.3: the server rejected the client's second flight (tlsFlightRejected says how that is told). */
    function serverRejectedFlight(conn: AnalyzedConnection, tls: TlsRecords): boolean {
      const r = tlsFlightRejected(conn);
      if (r === null) return false;
      const helloTs = conn.client.firstDataTs;
      keep({
        flowId: conn.id,
        client: conn.clientName,
        clientHost: conn.clientHost,
        server: conn.serverName,
        cause: 'encrypted-alert',
        failedBy: 'server',
        stage: 'client-flight',
        alertCode: -1,
        alertFatal: true,
        closedWith: r.closedWith,
        ts: r.alertTs,
        after: r.alertTs - helloTs,
        frames: [conn.client.firstDataFrame, conn.server.firstDataFrame, r.finishedFrame, r.alertFrame, r.closeFrame],
        keyFrame: r.alertFrame,
        offered13: tls.client.hello.tls13,
        chosen: '1.3',
        answer: null,
        startTs: startOf(conn),
        lateHello: -1,
        clientCertificate: r.clientCertificate,
      });
      return true;
    }

    /** The stage as the failing side saw it: a client failing on the server's flight failed "after the ServerHello". */
    function stageOf(by: Side, stage: Stage): Stage {
      return by === 'client' && stage === 'client-flight' ? 'server-hello' : stage;
    }

    /**
     * A completed handshake the client closed at once with an alert (its close_notify) and no
     * application data: kept, to be told if its client answered a 502 at that moment (a proxy that
     * rejected the certificate after the handshake). Alone it is what a TLS health check does.
     */
    function noteAbandoned(conn: AnalyzedConnection, tls: TlsRecords): void {
      const c = tls.client;
      const s = tls.server;
      if (c.appRecords > 0 || c.firstAlertTs < 0 || s.firstAlertTs >= 0 && s.firstAlertTs < c.firstAlertTs) return;
      const helloTs = conn.client.firstDataTs;
      if (c.firstAlertTs - helloTs > ABORT_AFTER_HANDSHAKE || abandoned.length >= MAX_KEPT) return;
      const close = closeOf(conn, 'client');
      if (close === null) return;
      abandoned.push({
          flowId: conn.id,
          client: conn.clientName,
          clientHost: conn.clientHost,
          server: conn.serverName,
          cause: 'verify-after-handshake',
          failedBy: 'client',
          stage: 'client-flight',
          alertCode: -1,
          alertFatal: false,
          closedWith: close.how,
          ts: c.firstAlertTs,
          after: c.firstAlertTs - helloTs,
          frames: [conn.client.firstDataFrame, conn.server.firstDataFrame, c.firstAlertFrame, close.frame],
          keyFrame: c.firstAlertFrame,
          offered13: c.hello.tls13,
          chosen: s.hello.complete ? (s.hello.tls13 ? '1.3' : '1.2') : null,
          answer: null,
          startTs: startOf(conn),
          lateHello: -1,
          clientCertificate: null,
      });
    }

    function note502(ex: HttpExchange, conn: AnalyzedConnection): void {
      if (ex.status !== 502 || ex.responseStart === null || ex.requestStart === null || ex.responseFrame === null) return;
      const entry: Relayed502 = { requestStart: ex.requestStart, responseStart: ex.responseStart, frame: ex.responseFrame, server: conn.serverName, flowId: conn.id, index: ex.index };
      if (bad502.length < MAX_502) bad502.push(entry);
      else bad502[bad502Next] = entry;
      bad502Next = (bad502Next + 1) % MAX_502;
    }

    /**
     * The 502 a proxy answered for a failed handshake: its request came before the handshake began,
     * its answer right after the failure (an alert read, a close). `bad502` is sorted by answer time.
     */
    function relayed502(f: Failure): Relayed502 | null {
      for (let i = firstAtOrAfter(bad502, f.ts, (b) => b.responseStart); i < bad502.length; i++) {
        const b = bad502[i];
        if (b.responseStart - f.ts > RELAY_502_WINDOW) break;
        if (b.requestStart <= f.startTs && b.server !== f.server) return b;
      }
      return null;
    }

    function notePlain(conn: AnalyzedConnection): void {
      const app = conn.app;
      if (app === null || app.session === null || !app.session.isHttp || app.exchangeCount !== 1 || app.recent.length === 0) return;
      const ex = app.recent[0];
      if (ex.status !== 400 || ex.responseFrame === null || ex.responseStart === null) return;
      const close = closeOf(conn, 'server');
      if (close === null || plainCandidates.length >= MAX_KEPT) return;
      plainCandidates.push({
        flowId: conn.id,
        client: conn.clientName,
        clientHost: conn.clientHost,
        server: conn.serverName,
        cause: 'plain-http-to-tls-port',
        failedBy: 'client',
        stage: 'client-hello',
        alertCode: -1,
        alertFatal: true,
        closedWith: close.how,
        ts: ex.responseStart,
        after: ex.responseStart - (ex.requestStart ?? ex.responseStart),
        frames: [...(ex.requestFrame !== null ? [ex.requestFrame] : []), ex.responseFrame, close.frame],
        keyFrame: ex.responseFrame,
        offered13: false,
        chosen: null,
        startTs: startOf(conn),
        answer: `${ex.responseVersion ?? 'HTTP/1.1'} 400${ex.reason !== null && ex.reason !== '' ? ` ${ex.reason}` : ''}`,
        lateHello: -1,
        clientCertificate: null,
      });
    }

    function report(g: Group, unkeptFailures: number): void {
      const f = g.failures[0];
      const n = g.count;
      const text = describe(f, n, g.relayed, g.failures);
      const frames = [...new Set([...f.frames, ...g.failures.slice(1).map((o) => o.keyFrame), ...g.relayed.slice(0, LISTED).map((b) => b.frame)])].filter((x) => x > 0).sort((a, b) => a - b);
      const proxies = [...new Set(g.relayed.map((b) => b.server))];
      const a = f.cause === 'alert' ? meaningOf(f.alertCode) : null;
      const finding: Finding = ctx.report({
        flowId: f.flowId,
        client: f.client,
        server: f.server,
        ts: f.ts,
        message: 'failed',
        data: { count: n, handshakes: f.cause === 'plain-http-to-tls-port' ? plural(n, 'plain HTTP connection') : plural(n, 'TLS handshake'), server: f.server, what: text.what },
        evidence: {
          cause: f.cause,
          failedBy: f.failedBy,
          stage: f.stage,
          alert: a !== null ? a.name : f.cause === 'encrypted-alert' ? 'encrypted' : null,
          alertCode: a !== null ? f.alertCode : null,
          alertLevel: a !== null ? (f.alertFatal ? 'fatal' : 'warning') : null,
          closedWith: f.closedWith,
          connections: n,
          clients: [...g.clients],
          flows: g.failures.map((o) => o.flowId),
          failedAfterMs: microsAsMs(f.after),
          clientOfferedTls13: f.offered13,
          serverChose: f.chosen,
          ...(f.answer !== null ? { answer: f.answer } : {}),
          ...(f.lateHello >= 0 ? { serverHelloAfterMs: microsAsMs(f.lateHello) } : {}),
          ...(f.clientCertificate !== null ? { clientCertificate: f.clientCertificate } : {}),
          // The 502s proxies answered their clients for these failures (exchanges "flow#index", as intermittent-5xx reads them).
          ...(g.relayed.length > 0 ? { relayed502: g.relayed.length, relayedBy: proxies.slice(0, LISTED), relayedExchanges: g.relayed.map((b) => `${b.flowId}#${b.index}`) } : {}),
          clientSees: text.clientSees,
        },
        frames,
      });
      ctx.diagnose({
        server: f.server,
        count: n,
        inferred: {},
        explanation:
          `${n} ${f.cause === 'plain-http-to-tls-port' ? plural(n, 'plain HTTP connection') : plural(n, 'TLS handshake')} with ${f.server} failed: ${text.what}. ${text.why} Clients and proxies log: ${text.clientSees}.` +
          (unkeptFailures > 0 ? ` (${unkeptFailures} more failed handshakes, past ${MAX_GROUPS} servers and causes, were not grouped.)` : ''),
        remedy: remedyOf(f),
        anomalyIds: [finding.id],
      });
    }

    return {
      onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
        note502(ex, conn);
      },
      onConnectionEnd(conn: AnalyzedConnection): void {
        const app = conn.app;
        if (app === null) return;
        if (app.tls !== null) judgeTls(conn, app.tls);
        else notePlain(conn);
      },
      onFinish(): void {
        for (const p of plainCandidates) if (tlsServers.has(p.server)) keep(p);
        bad502.sort((a, b) => a.responseStart - b.responseStart);
        for (const f of abandoned) {
          // Alone, a handshake closed at once is what a TLS health check does: only a proxy's 502 makes it a failure.
          if (relayed502(f) !== null) keep(f);
        }
        for (const { f, g } of all) {
          const b = relayed502(f);
          if (b !== null && g.relayed.length < MAX_KEPT) g.relayed.push(b);
        }
        for (const g of groups.values()) report(g, unkept);
      },
    };
  },
};

interface Words {
  what: string;
  why: string;
  clientSees: string;
}

function stageWords(f: Failure): string {
  if (f.stage === 'client-hello') return f.failedBy === 'server' ? "right after the client's ClientHello, before any ServerHello" : 'before any answer from the server';
  if (f.stage === 'server-hello') return f.failedBy === 'client' ? "right after the server's ServerHello and certificate" : "after sending its ServerHello, before the client's answer";
  return "after the client's second flight (its key exchange and Finished)";
}

function describe(f: Failure, n: number, relayed: readonly Relayed502[], failures: readonly Failure[]): Words {
  const words = describeFailure(f, n, failures);
  if (relayed.length === 0 || f.cause === 'verify-after-handshake') return words;
  const proxies = [...new Set(relayed.map((b) => b.server))];
  return {
    ...words,
    what: `${words.what}; ${relayed.length >= n ? 'the client is a proxy' : `${relayed.length} of them came from a proxy`}: ${proxies.join(', ')} answered ${relayed.length} ${plural(relayed.length, 'request')} of its own clients with 502 right after`,
  };
}

/** `values` (seconds) as milliseconds: one value, or the range of them. */
function msRange(values: readonly number[]): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return hi - lo < 0.0005 ? `${ms(lo * 1000)} ms` : `${ms(lo * 1000)}–${ms(hi * 1000)} ms`;
}

function describeFailure(f: Failure, n: number, failures: readonly Failure[]): Words {
  const after = `${ms(f.after * 1000)} ms after the ClientHello`;
  if (f.cause === 'closed' && f.lateHello >= 0) {
    // The client gave up before the server's hello, which came later: the server was slow (see lateHello).
    const late = failures.filter((o) => o.lateHello >= 0);
    const waited = msRange(late.map((o) => o.after));
    const answered = msRange(late.map((o) => o.lateHello));
    return {
      what: `the client ${f.closedWith === 'rst' ? 'reset' : 'closed'} the connection ${waited} after its ClientHello, without a TLS alert, before the server's ServerHello, which came only ${answered} after the ClientHello, after the client had closed`,
      why: `The client gave up waiting for the server's hello: its connect or handshake timeout (${waited}) fired first, because the server was slow to start the handshake (${answered}). Not a rejection of the certificate: the client never received it.`,
      clientSees:
        'the client its handshake timeout (curl exit 28 "Connection timed out after … milliseconds" or "SSL connection timeout"; Go "net/http: TLS handshake timeout"; nginx as a proxy "upstream timed out … while SSL handshaking to upstream" and a 504); the server, when it answers at last, a handshake that failed on a closed connection (OpenSSL "unexpected eof while reading", nginx "peer closed connection in SSL handshake")',
    };
  }
  const closed = f.closedWith === null ? '' : `, then ${f.closedWith === 'rst' ? 'reset' : 'closed'} the connection`;
  switch (f.cause) {
    case 'alert': {
      const a = meaningOf(f.alertCode);
      const level = f.alertFatal ? 'fatal' : 'warning';
      const what = `the ${f.failedBy} sent the ${level} alert ${a.name} (${f.alertCode}) ${stageWords(f)}, ${after}${closed}`;
      const why = alertWhy(a, f.failedBy, f.stage);
      const clientSees =
        f.failedBy === 'server'
          ? `OpenSSL-based clients "SSL routines::${a.openssl}" (curl exit 35; nginx as a proxy "SSL_do_handshake() failed (SSL: error:…:SSL routines::${a.openssl}…) while SSL handshaking to upstream" and a 502), Go "remote error: tls: ${a.go}", Java "javax.net.ssl.SSLHandshakeException: Received fatal alert: ${a.name}"`
          : `the client its own reason (curl exit 60 "SSL certificate problem: self-signed certificate" or "unable to get local issuer certificate" for unknown_ca; Node "unable to verify the first certificate" / "self-signed certificate"; Go "x509: certificate signed by unknown authority"; nginx as a proxy with proxy_ssl_verify on "upstream SSL certificate verify error: (…) while SSL handshaking to upstream" and a 502); the server "SSL_do_handshake() failed (SSL: error:…:SSL routines::${a.openssl}:SSL alert number ${f.alertCode})" (nginx, at info level)`;
      return { what, why, clientSees };
    }
    case 'encrypted-alert':
      return encryptedAlertWords(f, after, closed);
    case 'closed':
      return {
        what: `the ${f.failedBy} ${f.closedWith === 'rst' ? 'reset' : 'closed'} the connection ${stageWords(f)}, ${after}, without a TLS alert`,
        why:
          f.failedBy === 'server'
            ? f.stage === 'client-hello'
              ? 'A server that closes on a ClientHello without an alert is not completing TLS there: a TLS-passthrough proxy or SNI router with no route for the name (HAProxy `req.ssl_sni` rules, a Kubernetes ingress in passthrough), a listener that does not speak TLS and closed on its bytes, a firewall or IPS that resets TLS, or a server out of resources.'
              : 'The server gave up in the middle of the handshake without saying why: its handshake timeout (nginx `ssl_handshake_timeout`, 60 s by default) if it waited, else a failure its TLS library did not report with an alert.'
            : f.stage === 'client-hello'
              ? `The server never answered the ClientHello (${ms(f.after)} s), and the client gave up: its connect or handshake timeout.`
              : "The client dropped the handshake after reading the server's flight without an alert: a client that does not send alerts on a verification failure, or one that gave up (a timeout, a cancel).",
        clientSees:
          f.failedBy === 'server'
            ? 'curl exit 35 "OpenSSL SSL_connect: SSL_ERROR_SYSCALL" (a FIN), "Connection reset by peer" (a RST) or "unexpected eof while reading"; Go "EOF" or "connection reset by peer" from tls.Dial; nginx as a proxy "peer closed connection in SSL handshake while SSL handshaking to upstream" and a 502; Node "Client network socket disconnected before secure TLS connection was established" (ECONNRESET)'
            : f.stage === 'client-hello'
              ? 'the client its handshake timeout (curl exit 28 "Connection timed out after … milliseconds" or "SSL connection timeout"; Go "net/http: TLS handshake timeout"; nginx as a proxy "upstream timed out … while SSL handshaking to upstream" and a 504)'
              : 'the client its own timeout or verification error; the server "peer closed connection in SSL handshake" (nginx, at info level)',
      };
    case 'not-tls':
      return f.answer !== null && f.answer.startsWith('HTTP')
        ? {
            what: `the server answered the ClientHello in plain HTTP (its first bytes "${f.answer}", no TLS record) ${after}: the client spoke TLS to a plain HTTP port`,
            why: 'The port serves HTTP without TLS; the client was told https:// (or a proxy `proxy_pass https://…`, an upstream marked TLS) for it.',
            clientSees: 'curl exit 35 "SSL routines::wrong version number" (OpenSSL reads "HTTP" as a record header); Go "tls: first record does not look like a TLS handshake"; Node "EPROTO … wrong version number"; nginx as a proxy "SSL_do_handshake() failed (SSL: error:0A00010B:SSL routines::wrong version number) while SSL handshaking to upstream" and a 502',
          }
        : {
            what: `the server answered the ClientHello with bytes that are no TLS record ("${f.answer ?? ''}") ${after}`,
            why: 'Another protocol listens on that port (SSH, SMTP, a database, plain HTTP): the client was pointed at the wrong port, or the server lacks its TLS setting.',
            clientSees: 'OpenSSL-based clients "SSL routines::wrong version number" or "packet length too long" (curl exit 35); Go "tls: first record does not look like a TLS handshake"',
          };
    case 'verify-after-handshake':
      return {
        what: `the client completed the handshake and closed it ${ms(f.after * 1000)} ms after its ClientHello with its close_notify, without sending a request, and answered its own ${plural(n, 'client')} 502 at once: a proxy that rejected the server's certificate after the handshake`,
        why:
          "nginx checks an upstream's certificate only once the handshake is done (`proxy_ssl_verify on`), then closes the connection and answers 502: on the wire the handshake succeeds and nothing follows. The certificate is not signed by a CA in `proxy_ssl_trusted_certificate`, is expired, or does not name `proxy_ssl_name` (the upstream's host by default).",
        clientSees:
          'nginx "upstream SSL certificate verify error: (18:self-signed certificate)" (or "(20:unable to get local issuer certificate)", "(10:certificate has expired)") or "upstream SSL certificate does not match \"…\"" "while SSL handshaking to upstream", and its client a 502 Bad Gateway',
      };
    case 'plain-http-to-tls-port':
      return {
        what: `the client sent a plain HTTP request to a port that speaks TLS (its other connections in the capture are TLS handshakes), and the server answered "${f.answer ?? '400'}" and closed`,
        why: `The client was told http:// (or a proxy \`proxy_pass http://…\`, an upstream without TLS) for a TLS port; nginx answers "400 The plain HTTP request was sent to HTTPS port", Go "Client sent an HTTP request to an HTTPS server."`,
        clientSees: 'a 400 Bad Request to an http:// URL (curl exit 0 with the 400 page, or exit 22 with -f); the server "client sent plain HTTP request to HTTPS port" (nginx, at info level)',
      };
  }
}

/** An alert whose description is encrypted (see Cause 'encrypted-alert'): told by who sent it, when, and the TLS version. */
function encryptedAlertWords(f: Failure, after: string, closed: string): Words {
  if (f.failedBy === 'client' && f.chosen !== '1.2') {
    return {
      what: `the client sent an encrypted alert (a TLS 1.3 alert record of 19 bytes instead of its Finished) ${stageWords(f)}, ${after}${closed}`,
      why:
        "TLS 1.3 encrypts the client's alerts once it has the handshake keys, so the description is not in the capture; a client that rejects the server's flight right after reading it is, most often, rejecting its certificate (unknown_ca, bad_certificate, certificate_expired, a name mismatch).",
      clientSees:
        'the client its verification error (curl exit 60 "SSL certificate problem: …"; Go "x509: certificate signed by unknown authority" or "x509: certificate is valid for …, not …"; Node "unable to verify the first certificate"; Java "PKIX path building failed"); the server a handshake failure with the client\'s alert (nginx "SSL_do_handshake() failed … SSL alert number …")',
    };
  }
  if (f.failedBy === 'server' && f.chosen === '1.3') {
    const flight =
      f.clientCertificate === 'none'
        ? "in which the client sent no certificate to the server's CertificateRequest (an empty Certificate)"
        : f.clientCertificate === 'sent'
          ? "which held the client's certificate and its CertificateVerify"
          : f.clientCertificate === 'not-asked'
            ? '(its Finished alone: the server had asked for no certificate)'
            : '';
    const what = `the server sent an encrypted alert (a TLS 1.3 alert record of 19 bytes, where a server that accepts the handshake sends its session tickets) right after the client's second flight${flight !== '' ? ` ${flight}` : ''}, ${after}${closed}`;
    const encrypted =
      "TLS 1.3 encrypts the server's alert, so its description is not in the capture; the client's handshake had already finished on its side, so it learns of the failure only at its first read, often after it sent its request.";
    if (f.clientCertificate === 'none') {
      return {
        what,
        why: `The server requires a client certificate (mutual TLS: OpenSSL \`-Verify\`, Go \`tls.RequireAndVerifyClientCert\`, HAProxy \`verify required\`, Envoy \`require_client_certificate\`, Node \`requestCert\` with \`rejectUnauthorized\`) and the client sent none: its alert is certificate_required (116; a Go 1.19 server sends bad_certificate, 42). ${encrypted} A Go client sends its certificate only when a CA the server's CertificateRequest names signed it.`,
        clientSees:
          'curl exit 56 "OpenSSL SSL_read: … tlsv13 alert certificate required" (or "sslv3 alert bad certificate" from a Go server; exit 16 "Send failure: Connection reset by peer" or 55 when its request met the server\'s close first), openssl s_client "SSL alert number 116", Go "remote error: tls: certificate required" (or "bad certificate"), Python "TLSV13_ALERT_CERTIFICATE_REQUIRED", nginx as a proxy a 502; the server "peer did not return a certificate" (OpenSSL) or "http: TLS handshake error from …: tls: client didn\'t provide a certificate" (Go)',
      };
    }
    return {
      what,
      why:
        f.clientCertificate === 'sent'
          ? `The server does not accept the client's certificate (mutual TLS): not signed by a CA it trusts (unknown_ca 48, or bad_certificate 42 from Go), expired (certificate_expired 45), revoked, or without the clientAuth usage (unsupported_certificate 43). ${encrypted}`
          : `The server rejected the client's second flight without a word in clear: most often its client certificate check (mutual TLS), else a Finished it could not verify (decrypt_error). ${encrypted}`,
      clientSees:
        'curl exit 56 "OpenSSL SSL_read: … tlsv1 alert unknown ca" (OpenSSL servers) or "sslv3 alert bad certificate" (Go servers; exit 16 "Send failure: Connection reset by peer" or 55 when its request met the server\'s close first), Go "remote error: tls: bad certificate" or "unknown certificate authority", nginx as a proxy a 502; the server "certificate verify failed" (OpenSSL) or "http: TLS handshake error from …: tls: failed to verify client certificate: x509: certificate signed by unknown authority" (Go)',
    };
  }
  // TLS 1.2: an alert record longer than 2 bytes, after the side's own ChangeCipherSpec.
  return {
    what: `the ${f.failedBy} sent an encrypted alert (a TLS 1.2 alert record after its ChangeCipherSpec, its description unreadable) ${stageWords(f)}, before the handshake completed, ${after}${closed}`,
    why:
      f.failedBy === 'client'
        ? "The client had sent its Finished and did not accept the server's answer to it, or gave up waiting for the server's ChangeCipherSpec and Finished: a Finished it could not verify (a middlebox altering the handshake, decrypt_error or bad_record_mac), a session ticket it rejected, or a server stalled after the client's flight (a slow client-certificate or session check) that the client's handshake timeout cut short."
        : "The server had sent its ChangeCipherSpec and Finished (a resumed session) and did not accept the client's answer, or gave up waiting for it (its handshake timeout).",
    clientSees:
      f.failedBy === 'client'
        ? 'the client its own error (an OpenSSL-based client "SSL routines::decrypt error" or "bad record mac", curl exit 35, or its handshake timeout, curl exit 28); the server a handshake that failed on the client\'s alert'
        : 'OpenSSL-based clients "SSL routines::…" with the server\'s alert (curl exit 35), Go "remote error: tls: …"; nginx as a proxy a 502',
  };
}

function alertWhy(a: AlertMeaning, by: Side, stage: Stage): string {
  switch (a.family) {
    case 'trust':
      return by === 'client'
        ? `The client does not accept the server's certificate (${a.name}): not signed by a CA in the client's trust store (a self-signed or private-CA certificate, an incomplete chain without its intermediate), expired, revoked or for another name.`
        : `The server does not accept the client's certificate (${a.name}): mutual TLS, with a client certificate missing, expired or not signed by the CA the server trusts (nginx \`ssl_client_certificate\`/\`ssl_verify_client\`).`;
    case 'version':
      return `The two sides have no TLS version in common (${a.name}): ${by === 'server' ? "the server refuses the version the client offers (a server that allows only TLS 1.3, or a client capped at 1.2 or older)" : "the client refuses the version the server chose"}.`;
    case 'cipher':
      // After the client's second flight the suite had been agreed (the ServerHello chose it): what
      // the server rejected is that flight, most often for want of a client certificate (OpenSSL's
      // "peer did not return a certificate" is a handshake_failure in TLS 1.2).
      if (by === 'server' && stage === 'client-flight') {
        return `The server rejected the client's second flight (${a.name}) after agreeing on a cipher suite in its ServerHello: most often it requires a client certificate (mutual TLS: OpenSSL \`-Verify\`, SSL_VERIFY_FAIL_IF_NO_PEER_CERT, answers "peer did not return a certificate" so) and the client sent none, else a key exchange or signature it could not accept.`;
      }
      return `The two sides found no cipher suite, group or signature algorithm in common (${a.name}), or ${by === 'server' ? 'the server has no certificate to use for what the client offers (an RSA-only client and an ECDSA certificate, a required client certificate)' : 'the client rejects the parameters the server chose'}.`;
    case 'sni':
      return 'The server has no certificate or virtual host for the name the client sent in SNI (nginx `ssl_reject_handshake on` in the default server), or the client sent no SNI at all (a proxy without `proxy_ssl_server_name on`, a client connecting by IP address).';
    case 'alpn':
      return 'The server supports none of the application protocols the client offered in ALPN (a client that offers only h2 to an HTTP/1.1-only server, gRPC to a server without h2).';
    default:
      return `${by === 'server' ? 'The server' : 'The client'} rejected the handshake (${a.name}): a message it could not parse or accept, a middlebox altering the handshake, or a bug in one of the TLS libraries.`;
  }
}

/** A server that requires a client certificate the client did not send. */
function clientCertificateRemedy(check: string): string {
  return `Give the client its certificate and key (curl \`--cert\`/\`--key\`, Go \`tls.Config.Certificates\` or \`GetClientCertificate\`, Node \`cert\`/\`key\`, Python \`load_cert_chain\`, nginx as a proxy \`proxy_ssl_certificate\`/\`proxy_ssl_certificate_key\`), signed by a CA the server trusts (a Go client sends none that the server's CertificateRequest does not name); or, if not every client has one, make it optional on the server (OpenSSL \`-verify\` rather than \`-Verify\`, Go \`VerifyClientCertIfGiven\`, HAProxy \`verify optional\`) and decide per request. ${check}`;
}

function remedyOf(f: Failure): string {
  const host = hostOf(f.server);
  const port = f.server.slice(f.server.lastIndexOf(':') + 1);
  const check = `Reproduce with \`openssl s_client -connect ${f.server} -servername <name> [-tls1_2 | -tls1_3]\` and read the server's TLS error log.`;
  if (f.cause === 'not-tls') return `Use http:// for ${f.server} (in a proxy: \`proxy_pass http://…\`, an upstream without TLS), or enable TLS on that listener (nginx \`listen ${port} ssl\`), or point the client at the TLS port.`;
  if (f.cause === 'plain-http-to-tls-port') return `Use https:// for ${f.server} (in nginx as a proxy: \`proxy_pass https://…\`, with \`proxy_ssl_server_name on\`), or serve plain HTTP on another port of ${host}; a redirect from http to https belongs on a plain port (nginx \`error_page 497\` redirects plain requests on a TLS port).`;
  if (f.cause === 'verify-after-handshake') {
    return `Make the proxy trust the upstream's certificate: \`proxy_ssl_trusted_certificate\` with the CA that signed it (the full chain served by the upstream), \`proxy_ssl_name\` set to a name the certificate holds (with \`proxy_ssl_server_name on\` to send it as SNI), a renewed certificate if it expired; \`proxy_ssl_verify_depth\` for a long chain. Turning \`proxy_ssl_verify\` off only hides it. ${check}`;
  }
  if (f.cause === 'encrypted-alert' && f.failedBy === 'server' && f.clientCertificate === 'none') return clientCertificateRemedy(check);
  if (f.cause === 'encrypted-alert' && f.failedBy === 'server') {
    return `Give the client a certificate the server accepts: signed by a CA in the server's client-CA list (OpenSSL \`-CAfile\`, Go \`ClientCAs\`, HAProxy \`ca-file\`, nginx \`ssl_client_certificate\`), with its intermediates, valid now, with the clientAuth extended key usage; or add the client's CA to that list. ${check} (s_client sends a client certificate with \`-cert\` and \`-key\`.)`;
  }
  if (f.cause === 'encrypted-alert' && f.chosen === '1.2') {
    return `Read both sides' TLS logs for the alert (it is encrypted on the wire): compare their TLS libraries and versions, look for a middlebox that alters TLS, and for a server slow to answer the client's Finished (a client-certificate or session-cache lookup) against the client's handshake timeout. ${check}`;
  }
  if (f.cause === 'encrypted-alert') {
    return `Make the client trust the server's certificate: add the CA that signed it to the client's trust store or CA bundle (curl \`--cacert\`, Node \`NODE_EXTRA_CA_CERTS\`, Go \`SSL_CERT_FILE\`/\`x509.CertPool\`, Java \`keytool -importcert\`, nginx as a proxy \`proxy_ssl_trusted_certificate\` with \`proxy_ssl_verify on\`), serve the full chain (intermediates) on the server, and check the certificate's dates and names (the SAN must hold the name or address the client connects to; nginx as a proxy sends it with \`proxy_ssl_server_name on\`/\`proxy_ssl_name\`). ${check}`;
  }
  if (f.cause === 'closed' && f.lateHello >= 0) {
    return `The server answered the ClientHello only after ${ms(f.lateHello * 1000)} ms, later than the client waited: find why ${f.server} is slow to start its TLS handshakes (a busy or blocked accept or event loop, handshakes queued behind CPU-heavy work or too few workers, a slow per-handshake step such as a certificate, OCSP or session-cache lookup, an overloaded TLS-terminating proxy in front); raise the client's handshake timeout only if the server is legitimately that slow. ${check}`;
  }
  if (f.cause === 'closed') {
    return f.failedBy === 'server'
      ? `Check what listens on ${f.server} and whether it expects TLS; an SNI router or TLS passthrough needs a route for the client's server name (a proxy sends none without \`proxy_ssl_server_name on\`); look for a firewall or IPS resetting TLS. ${check}`
      : f.stage === 'client-hello'
        ? `The server accepted the connection but never answered the ClientHello: check the process behind ${f.server} (hung, or overloaded: its TLS handshakes wait behind other work), and anything in between that holds connections (a load balancer in TCP mode with a dead backend, a TLS-inspecting proxy). Raise the client's handshake timeout only if the server is merely slow. ${check}`
        : `Check the client's TLS settings and logs (its trust store, versions, timeouts); a client that drops the handshake silently usually failed to verify the server's certificate. ${check}`;
  }
  const a = meaningOf(f.alertCode);
  switch (a.family) {
    case 'trust':
      return f.failedBy === 'client'
        ? `Make the client trust the server's certificate: add the CA that signed it to the client's trust store or CA bundle (curl \`--cacert\`, Node \`NODE_EXTRA_CA_CERTS\`, Go \`SSL_CERT_FILE\`, Java \`keytool -importcert\`, Python \`REQUESTS_CA_BUNDLE\`/\`SSL_CERT_FILE\`, nginx as a proxy \`proxy_ssl_trusted_certificate\` with \`proxy_ssl_verify on\`); serve the full chain (the intermediates, nginx \`ssl_certificate\` with the chain appended); renew an expired certificate; make its SAN cover the name the client uses. Do not switch verification off (curl -k, \`proxy_ssl_verify off\`) except to confirm the diagnosis. ${check}`
        : `Give the client a certificate the server accepts (signed by the CA in the server's \`ssl_client_certificate\`/\`ssl_trusted_certificate\`, valid now; nginx as a proxy \`proxy_ssl_certificate\`/\`proxy_ssl_certificate_key\`), or relax \`ssl_verify_client\` if client certificates are not meant to be required. ${check}`;
    case 'version':
      return `Let both sides share a TLS version: allow TLS 1.2 on the server (nginx \`ssl_protocols TLSv1.2 TLSv1.3\`) or raise the client's maximum (curl \`--tls-max\`, nginx as a proxy \`proxy_ssl_protocols TLSv1.2 TLSv1.3\`, Java \`jdk.tls.client.protocols\`, an old OpenSSL or runtime upgraded). ${check}`;
    case 'cipher':
      if (f.failedBy === 'server' && f.stage === 'client-flight') return clientCertificateRemedy(check);
      return `Let both sides share a cipher suite and key type: compare the server's \`ssl_ciphers\`/\`ssl_ecdh_curve\` (and its certificate's key type) with what the client offers (nginx as a proxy \`proxy_ssl_ciphers\`, OpenSSL's security level \`@SECLEVEL\`), and check that the SNI name selects the server block with a certificate (nginx as a proxy sends SNI only with \`proxy_ssl_server_name on\`). ${check}`;
    case 'sni':
      return `Send the server name the server has a certificate for: curl and browsers send the URL's host (not an IP address), nginx as a proxy only with \`proxy_ssl_server_name on\` (and \`proxy_ssl_name\` when the upstream's name differs), HAProxy \`server … sni req.hdr(host)\`; or add a server block for that name (or a default certificate instead of \`ssl_reject_handshake on\`). ${check}`;
    case 'alpn':
      return `Offer a protocol the server supports (HTTP/1.1 besides h2), or enable it on the server (nginx \`http2 on\`/\`listen … http2\` for h2, gRPC backends need h2). ${check}`;
    default:
      return `Compare the two TLS stacks' settings and versions; a middlebox that inspects TLS can cause this too. ${check}`;
  }
}
