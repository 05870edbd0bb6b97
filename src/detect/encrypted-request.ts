import type { HttpExchange } from '../http/exchange';
import { Alpn } from '../http/tls-hello';
import type { TlsDirection, TlsRecords } from '../http/tls-records';
import { seqAdd, seqGe } from '../flow/seq';
import type { AnalyzedConnection } from './analyzed-connection';
import { firstCloseTs } from './facts';
import type { DetectContext, EventFollower } from './detector';
import type { EvidenceValue } from './finding';
import { tlsFlightRejected } from './tls-flight-rejected';

/**
 * The request an HTTPS connection was left waiting on, read from TLS record headers: the client's
 * last turn of application data (TlsDirection turns) when the server sent no application data
 * after it. On HTTP/1.x a client's turn is a request and the server's next turn its response, so a
 * turn the server never answered is a request it never answered, though nothing of it can be read.
 *
 * Only where the connection speaks HTTP/1.x (speaksHttp1): on HTTP/2 clients send frames nobody
 * answers (WINDOW_UPDATE, a PING's ACK, RST_STREAM), and its requests are multiplexed. Where TLS
 * 1.3 hid the server's choice of an offer with `h2`, only a first turn (protocolEncrypted).
 *
 * TLS 1.3 servers send their session tickets as application data right after the client's
 * Finished, which a client sends together with its first request: tickets alone after the first
 * turn do not answer it (TlsDirection.ticketRecords). They are told from a one-record answer by
 * coming as several records of one length (OpenSSL sends two), or by a length the same server's
 * tickets had on a connection where an answer followed them (`confirmedTicket`).
 */
export interface EncryptedRequest {
  /** The turn: where it began and its last record ended, its bytes (record headers included), its number on the connection. */
  start: number;
  end: number;
  frame: number;
  bytes: number;
  index: number;
  /** Seconds since the server's previous application data (its handshake flight for a first turn), or null. */
  idleBefore: number | null;
  /**
   * The server's TCP stack acknowledged the turn's last byte (a client's close_notify after it,
   * which a server may answer with a RST, does not count against it).
   */
  serverAcked: boolean;
  /** The client's sequence number just past the turn's last byte (for a RST's ACK). */
  endSeq: number;
  /**
   * TLS 1.3 first turns: the records of the server's session-ticket burst when some of it came
   * after the turn began and it was all the server sent since (not an answer), and their length;
   * 0 when no ticket came after the turn.
   */
  ticketsIgnored: number;
  ticketLength: number;
  /**
   * The server's answer began only after the client had closed (its FIN or RST): where, or -1 when
   * it never answered. A client that gave up at its timeout, then reset the late answer, is
   * unanswered-request's "late" case, as on cleartext.
   */
  lateAnswerTs: number;
  lateAnswerFrame: number;
  /** The TLS version the server chose, when its hello said: '1.3', '1.2' (or older), or null. */
  version: '1.3' | '1.2' | null;
  /** ALPN protocols the client offered, and the one the server chose where that was in clear (TLS 1.2). */
  alpnOffered: string[];
  alpnChosen: string | null;
}

/** Why a connection's last client turn is not taken for an unanswered request (for tests and notes). */
export type NotJudged = 'not-tls' | 'unreadable' | 'not-http1' | 'no-turn' | 'answered' | 'tickets-unconfirmed' | 'handshake-rejected';

/**
 * Where the server's answer to the client's last turn began, or null for none: its latest turn when
 * that came after the client's (on a TLS 1.3 first turn, the first record after its tickets).
 */
function answerStart(client: TlsDirection, server: TlsDirection): { ts: number; frame: number } | null {
  if (server.lastAppEndTs < client.turnStartTs) return null;
  if (client.turns === 1 && server.dataAfterTicketsTs >= client.turnStartTs) return { ts: server.dataAfterTicketsTs, frame: server.dataAfterTicketsFrame };
  return server.turnStartTs >= client.turnStartTs ? { ts: server.turnStartTs, frame: server.turnStartFrame } : null;
}

function alpnNames(bits: number): string[] {
  const names: string[] = [];
  if ((bits & Alpn.H2) !== 0) names.push('h2');
  if ((bits & Alpn.Http11) !== 0) names.push('http/1.1');
  if ((bits & Alpn.Other) !== 0) names.push('other');
  return names;
}

/**
 * Ports of services that speak TLS from their first byte and are not HTTP (IANA's assignments):
 * SMTPS, NNTPS, LDAPS and its global catalog, DNS over TLS, FTPS, telnets, IMAPS, IRCS, POP3S, SIPS,
 * XMPP's and APNs' 5223, TURNS, AMQPS, Redis's TLS port, syslog over TLS, MQTTS, Kafka's SSL
 * listener, MongoDB. Their clients offer no ALPN, and some of their messages need no answer (a syslog
 * line, an MQTT PUBLISH at QoS 0, a DISCONNECT the server answers by closing).
 */
const NOT_HTTP_TLS_PORTS: ReadonlySet<number> = new Set([465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 3269, 5061, 5223, 5349, 5671, 6380, 6514, 8883, 9093, 27017]);

/**
 * Whether the connection speaks HTTP/1.x (or a protocol of the same turns), as the hellos say: the
 * server chose `http/1.1` (TLS 1.2); the client offered no ALPN (HTTP/2 over TLS needs it, RFC 9113
 * §3.2), unless the server's port is a TLS service that is not HTTP, or offered `http/1.1` without
 * `h2`; or a TLS 1.2 server chose no protocol of an offer with `h2` (or of an offer the snaplen cut). A TLS 1.3 server's choice is
 * encrypted: an offer with `h2` then stays undecided (false; see protocolEncrypted).
 */
export function speaksHttp1(tls: TlsRecords, serverPort: number): boolean {
  const offered = tls.client.hello;
  const chosen = tls.server.hello;
  if (!offered.complete) {
    // The snaplen cut the ClientHello (one of over 500 bytes is common: padded, with key shares),
    // so what it offered is unseen; a TLS 1.2 server's hello still says in clear what it chose, and
    // choosing nothing it speaks what its port serves. A TLS 1.3 server's choice is encrypted.
    if (!chosen.complete || chosen.tls13 || (chosen.alpn & (Alpn.H2 | Alpn.Other)) !== 0) return false;
    return (chosen.alpn & Alpn.Http11) !== 0 || !NOT_HTTP_TLS_PORTS.has(serverPort);
  }
  if ((chosen.alpn & Alpn.Http11) !== 0) return true;
  if ((chosen.alpn & (Alpn.H2 | Alpn.Other)) !== 0) return false;
  if ((offered.alpn & Alpn.Present) === 0) return !NOT_HTTP_TLS_PORTS.has(serverPort);
  if ((offered.alpn & Alpn.H2) !== 0) return chosen.complete && !chosen.tls13;
  return (offered.alpn & Alpn.Http11) !== 0;
}

/**
 * The hellos leave the protocol open: a TLS 1.3 server answered a client that offered `h2`, and its
 * choice went encrypted (speaksHttp1 is false for that reason alone). A first turn is judged there
 * all the same (encryptedRequest): whichever protocol the server chose, an answer was due. An
 * HTTP/2 server sends its SETTINGS as soon as the connection is up and acknowledges the client's
 * (RFC 9113 §3.4, §6.5.3), so one that sent nothing after a client's first data but its session
 * tickets answered neither protocol. Later turns stay unjudged: on HTTP/2 they may be frames nobody
 * answers.
 */
function protocolEncrypted(tls: TlsRecords): boolean {
  const offered = tls.client.hello;
  const chosen = tls.server.hello;
  return offered.complete && chosen.complete && chosen.tls13 && chosen.alpn === 0 && (offered.alpn & Alpn.H2) !== 0;
}

/**
 * The server's tickets after a first turn, when they are all it sent after it (0: not that case).
 * Records that began only after the client had begun to close (`clientClosed`, its alert, FIN or
 * RST; -1: never) are no tickets: a server sends those as soon as it has read the Finished, which
 * came before the client's request. Go sends its ticket in its own flight, before the client's
 * Finished, so its first record after that is its answer, which a client that gave up resets (curl
 * --max-time over TLS 1.3 to Go: a one-record late answer had been taken for an unconfirmed ticket).
 */
function ticketsOnlyAfter(client: TlsDirection, server: TlsDirection, clientClosed: number): number {
  if (!server.hello.tls13 || client.turns !== 1 || !client.sawTls13Finished) return 0;
  if (server.ticketRecords === 0 || server.dataAfterTickets) return 0;
  if (clientClosed >= 0 && server.ticketStartTs > clientClosed) return 0;
  return server.ticketRecords;
}

/** When the client began to close (its first alert, FIN or RST), or -1. */
function clientClosingTs(conn: AnalyzedConnection, client: TlsDirection): number {
  const tcp = firstCloseTs(conn.client);
  if (client.firstAlertTs < 0) return tcp;
  return tcp < 0 ? client.firstAlertTs : Math.min(tcp, client.firstAlertTs);
}

/**
 * The client's last turn when the server never answered it, or why not. `confirmedTicket` says
 * whether a record length is one the same server's tickets were seen to have before an answer
 * (EncryptedRequests keeps those).
 */
export function encryptedRequest(conn: AnalyzedConnection, confirmedTicket: (length: number) => boolean): EncryptedRequest | NotJudged {
  const tls = conn.app?.tls ?? null;
  if (tls === null) return 'not-tls';
  const client = tls.client;
  const server = tls.server;
  // Both directions read whole, up to a record boundary on the server's side (no answer half-seen).
  if (!tls.ok || server.midRecord) return 'unreadable';
  const http1 = speaksHttp1(tls, conn.sPort);
  if (!http1 && !(protocolEncrypted(tls) && client.turns === 1)) return 'not-http1';
  if (client.turns === 0 || client.lastAppEndTs < 0) return 'no-turn';
  // Bytes the capture lost since the turn began (read again after them, TlsDirection.loss): the
  // server's answer may be among them, or the turn be several requests run together.
  if (!client.turnReadWhole) return 'unreadable';
  // A request sent right after the client's Finished to a server that rejected that flight (its
  // client certificate): the handshake failed, and tls-handshake-failed names it.
  if (tlsFlightRejected(conn) !== null) return 'handshake-rejected';
  const tickets = ticketsOnlyAfter(client, server, clientClosingTs(conn, client));
  let lateAnswerTs = -1;
  let lateAnswerFrame = 0;
  if (server.lastAppEndTs >= client.turnStartTs && tickets === 0) {
    // Answered, unless the answer began only after the client had closed.
    const clientClosed = firstCloseTs(conn.client);
    const answer = answerStart(client, server);
    if (answer === null || clientClosed < 0 || answer.ts <= clientClosed) return 'answered';
    // Where TLS 1.3 hid whether the server chose h2, its first data after its tickets came only
    // after the client had closed: it answered neither protocol in time (an HTTP/2 server sends
    // its SETTINGS at once), so this is a late answer either way. (It had been taken for an
    // answer: curl -m over TLS 1.3, which offers h2, timed out unseen in blind round 13b, s2 and
    // s10, while the same run over TLS 1.2, where the choice is in clear, was found.)
    lateAnswerTs = answer.ts;
    lateAnswerFrame = answer.frame;
  }
  if (tickets === 1 && !confirmedTicket(server.ticketLength)) return 'tickets-unconfirmed';
  // Tickets sent before the turn began are the server's last activity before it, like any data.
  const ticketsIgnored = server.lastAppEndTs >= client.turnStartTs ? tickets : 0;
  // (After a late answer the server's last data is that answer: the silence before the turn is unknown.)
  const before = ticketsIgnored > 0 ? server.lastAppBeforeTickets : lateAnswerTs >= 0 ? -1 : server.lastAppEndTs;
  const c = conn.client;
  const s = conn.server;
  const endSeq = turnEndSeq(conn);
  return {
    start: client.turnStartTs,
    end: client.lastAppEndTs,
    frame: client.turnStartFrame,
    bytes: client.lastAppEndOffset - client.turnStartOffset,
    index: client.turns,
    // Not where the server's last data may be among lost bytes, nor behind a Finished the capture lost
    // (the server's tickets after it were not told from its data).
    idleBefore: before >= 0 && before <= client.turnStartTs && server.lastAppSure && !(client.finishedUnseen && client.turns === 1) ? client.turnStartTs - before : null,
    serverAcked: c.hasIsn && ((s.hasAck && seqGe(s.highestAck, endSeq)) || (s.finHasAck && seqGe(s.finAck, endSeq))),
    endSeq,
    ticketsIgnored,
    ticketLength: ticketsIgnored > 0 ? server.ticketLength : 0,
    lateAnswerTs,
    lateAnswerFrame,
    version: server.hello.tls13 ? '1.3' : server.hello.complete ? '1.2' : null,
    alpnOffered: alpnNames(client.hello.alpn),
    alpnChosen: alpnNames(server.hello.alpn)[0] ?? null,
  };
}

/** The client's sequence number just past its latest turn of TLS application data (what an ACK of the whole request covers). */
export function turnEndSeq(conn: AnalyzedConnection): number {
  return seqAdd(conn.client.isn, 1 + (conn.app?.tls?.client.lastAppEndOffset ?? 0));
}

/** How a finding names an encrypted request. */
export function encryptedRequestText(turn: EncryptedRequest): string {
  return `an encrypted request (${turn.bytes} bytes of TLS application data)`;
}

/** What the TLS record headers and hellos told of an encrypted request: the evidence every finding on one carries. */
export function encryptedEvidence(turn: EncryptedRequest): Record<string, EvidenceValue> {
  return {
    encrypted: true,
    requestBytes: turn.bytes,
    tlsVersion: turn.version,
    alpnOffered: turn.alpnOffered,
    alpnChosen: turn.alpnChosen,
    sessionTicketsIgnored: turn.ticketsIgnored,
  };
}

/** The turn as an exchange with no response, for the request-level machinery (no method or URI: encrypted). */
export function encryptedExchange(conn: AnalyzedConnection, turn: EncryptedRequest): HttpExchange {
  return {
    flowId: conn.id,
    index: turn.index,
    method: null,
    uri: null,
    host: null,
    requestVersion: null,
    requestConnection: null,
    requestStart: turn.start,
    requestEnd: turn.end,
    requestFrame: turn.frame,
    requestBodyBytes: 0,
    status: null,
    reason: null,
    responseVersion: null,
    interim: [],
    responseStart: null,
    responseEnd: null,
    responseFrame: null,
    responseEndFrame: null,
    responseBodyBytes: 0,
    responseFraming: null,
    responseClose: false,
    keepAliveTimeout: null,
    idleBefore: turn.idleBefore,
    state: 'no-response',
    uncertain: false,
  };
}

/** Ticket record lengths remembered per server (one or two lengths: they follow the ALPN chosen). */
const MAX_TICKET_LENGTHS = 8;
const MAX_SERVERS = 10_000;
const ENCRYPTED_REQUESTS = 'encrypted-requests';

/** The one EncryptedRequests of an analysis, shared by the detectors that judge HTTPS requests. */
export function sharedEncryptedRequests(ctx: Pick<DetectContext, 'shared'>): EncryptedRequests {
  return ctx.shared(ENCRYPTED_REQUESTS, () => new EncryptedRequests());
}

/**
 * Unanswered HTTPS requests, for the detectors that judge them: what each server's TLS 1.3 session
 * tickets look like is learned from connections where an answer followed them, at each
 * connection's end, before the detectors look at it (a shared helper's handlers run first).
 */
export class EncryptedRequests implements EventFollower {
  readonly followsEvents = true;
  private readonly ticketLengths = new Map<string, number[]>();

  onConnectionEnd(conn: AnalyzedConnection): void {
    const server = conn.app?.tls?.server;
    if (server === undefined || server.ticketRecords === 0 || !server.dataAfterTickets) return;
    let lengths = this.ticketLengths.get(conn.serverName);
    if (lengths === undefined && this.ticketLengths.size < MAX_SERVERS) this.ticketLengths.set(conn.serverName, (lengths = []));
    if (lengths !== undefined && lengths.length < MAX_TICKET_LENGTHS && !lengths.includes(server.ticketLength)) lengths.push(server.ticketLength);
  }

  /** The connection's last client turn if the server never answered it (see encryptedRequest), or why not. */
  unansweredOn(conn: AnalyzedConnection): EncryptedRequest | NotJudged {
    return encryptedRequest(conn, (length) => this.ticketLengths.get(conn.serverName)?.includes(length) === true);
  }
}
