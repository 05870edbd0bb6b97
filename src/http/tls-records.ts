import { ReuseGaps } from './reuse-gaps';
import { TlsHello } from './tls-hello';

/**
 * TLS record headers of a connection, read as the bytes come (RFC 8446 §5.1, RFC 5246 §6.2): the
 * content is encrypted, but every record says in clear what it is (5 bytes: content type, version,
 * length). That is enough to tell when each side sent application data and when it began to close,
 * which is what the keep-alive race needs on HTTPS: the idle gap before the server's close, and a
 * request (client application data) that met that close.
 *
 * Nothing here allocates per packet or per record: the facts are fields, overwritten as records
 * complete, and the readers are reset and reused for the next connection.
 *
 * What the record layer cannot say, and what was chosen instead:
 *  - TLS 1.3 encrypts alerts as application data (outer type 23). A close_notify is then a record of
 *    19 bytes (2 bytes of alert, the inner type, a 16-byte AEAD tag; 11 with AES-CCM-8's 8-byte
 *    tag), so an application-data record of exactly that length is taken for an alert: it carries
 *    2 bytes, which no HTTP/2 frame (9 bytes of header) and hardly an HTTP/1 write fits in. Should
 *    more application data follow from the same side, it was data after all (nothing follows an
 *    alert) and the guess is undone. A padded TLS 1.3 alert is not recognized (no common
 *    implementation pads by default).
 *  - TLS 1.3 also sends the server's handshake after its ServerHello, and the client's Finished, as
 *    application data. The server's are harmless (they are activity, and answer no client turn); the
 *    client's Finished is its first application-data record whenever the server had sent application
 *    data before it (TLS 1.2 servers send none before the client's first: their Finished is a
 *    handshake record), and is not counted as data. A TLS 1.2 server that speaks first (not HTTP)
 *    would have the client's first record taken for a Finished: one client turn fewer.
 *  - A server may send application data of its own just before it closes (an HTTP/2 GOAWAY, a last
 *    PING). The server's last activity before a close is therefore the end of its last application
 *    data that was followed by a silence of at least CLOSING_BURST_GAP (see `lastActivityBefore`),
 *    not of the records it sent together with its close.
 */

/**
 * Record content types. Frozen objects, not enums (see HeaderLineResult): with isolatedModules even
 * a const enum is an object read at run time; these module-local names fold into compiled code.
 */
const ContentType = Object.freeze({
  ChangeCipherSpec: 20,
  Alert: 21,
  Handshake: 22,
  ApplicationData: 23,
  Heartbeat: 24,
} as const);
export const TlsContentType = ContentType;
export type TlsContentType = (typeof ContentType)[keyof typeof ContentType];

/** Largest record length a peer may send (TLS 1.2 allows 2^14 + 2048 of ciphertext). */
export const TLS_MAX_RECORD_LENGTH = 16384 + 2048;
/** An application-data record this small is a TLS 1.3 alert (see the file comment). */
export const TLS13_ALERT_MAX_LENGTH = 19;
/**
 * The lengths a TLS 1.3 alert's record has: 2 bytes of alert and the inner type, then the AEAD tag
 * (16 bytes for AES-GCM, ChaCha20-Poly1305 and AES-CCM; 8 for AES-CCM-8). Any other small length is
 * data: an 18-byte record is one byte of it (a 1-byte request body, Caddy's proxied POST in blind
 * round 13b s9), which had been taken for the client's close_notify, and every later request of the
 * connection with it.
 */
const TLS13_ALERT_LENGTH = 19;
const TLS13_ALERT_LENGTH_CCM8 = 11;
/**
 * The longest record a TLS 1.3 client sends unasked after its Finished that is no data: a KeyUpdate
 * (RFC 8446 §4.6.3: a 4-byte handshake header and 1 byte, the inner type, a 16-byte AEAD tag). It
 * is counted as application data (its length says nothing a 5-byte write could not), but after the
 * server's close only a longer record is taken for a request: the shortest HTTP/1 request
 * (`GET / HTTP/1.0` and the blank line) is 18 bytes, a record of 35 (27 with AES-CCM-8's tag; TLS
 * 1.2's GCM records add 24 bytes of nonce and tag).
 */
export const TLS13_KEY_UPDATE_LENGTH = 22;
/**
 * Records one side sends within this many seconds of each other belong to one burst: a server that
 * closes sends its GOAWAY, close_notify and FIN in one go, microseconds apart.
 */
export const CLOSING_BURST_GAP = 0.05;

const HEADER_LENGTH = 5;
/**
 * A record longer than this after the client's Finished is data, not a session ticket: tickets are
 * a few hundred bytes (OpenSSL's 250-290 in records, Go's and Java's under 2 KiB), while an answer
 * sent as full-size records comes in records of the same length too.
 */
const TICKET_MAX_LENGTH = 4096;

/**
 * The length of a TLS 1.3 Finished record (RFC 8446 §4.4.4, §5.2) under the cipher suite a server
 * chose: a 4-byte handshake header, the verify_data (as long as the suite's hash), the inner
 * content type and the AEAD tag. 0 for a suite not known here (nothing is then told by length).
 * The suites are RFC 8446's five and RFC 8998's two ShangMi ones (SM3: a 32-byte hash).
 */
export function tls13FinishedLength(cipherSuite: number): number {
  switch (cipherSuite) {
    case 0x1301: // TLS_AES_128_GCM_SHA256
    case 0x1303: // TLS_CHACHA20_POLY1305_SHA256
    case 0x1304: // TLS_AES_128_CCM_SHA256
    case 0x00c6: // TLS_SM4_GCM_SM3
    case 0x00c7: // TLS_SM4_CCM_SM3
      return 4 + 32 + 1 + 16;
    case 0x1302: // TLS_AES_256_GCM_SHA384
      return 4 + 48 + 1 + 16;
    case 0x1305: // TLS_AES_128_CCM_8_SHA256
      return 4 + 32 + 1 + 8;
    default:
      return 0;
  }
}

/**
 * Records a TLS 1.3 client may send before its Finished in its second flight: its Certificate
 * (empty when it has none) and, with a certificate, its CertificateVerify. A certificate chain over
 * 16 KiB would take more records; such a client's extra records are taken for data (as before).
 */
const CLIENT_FLIGHT_MAX_BEFORE_FINISHED = 2;
/**
 * A TLS 1.3 client's empty Certificate (RFC 8446 §4.4.2): a 4-byte handshake header, an empty
 * request context (1 byte) and certificate list (3 bytes), the inner type, the AEAD tag (16; 8 with
 * AES-CCM-8).
 */
const TLS13_EMPTY_CERTIFICATE_LENGTH = 4 + 1 + 3 + 1 + 16;
const TLS13_EMPTY_CERTIFICATE_LENGTH_CCM8 = 4 + 1 + 3 + 1 + 8;

/** Why a direction stopped being read. */
const Stop = Object.freeze({
  None: 0,
  /** Its bytes are not TLS records (first bytes, or a header later on). */
  NotTls: 1,
  /**
   * A record header went unseen (the snaplen cut it off, or the capture lost the segment holding
   * it): boundaries are lost until a segment starts with a record again (TlsDirection.resumesAt),
   * as the next write of a side usually does.
   */
  Lost: 3,
} as const);
export const TlsStop = Stop;
export type TlsStop = (typeof Stop)[keyof typeof Stop];

/**
 * True when the bytes start like a TLS ClientHello record: a handshake record (22) of version
 * 3.1–3.3 (TLS 1.3 ClientHellos say 3.1 or 3.3 in the record layer), with a plausible length.
 * With fewer than 5 bytes, what there is must match.
 */
export function startsLikeClientHello(data: Uint8Array, offset: number, length: number): boolean {
  if (length < 3) return false;
  if (data[offset] !== ContentType.Handshake || data[offset + 1] !== 3) return false;
  const minor = data[offset + 2];
  if (minor < 1 || minor > 3) return false;
  if (length < HEADER_LENGTH) return true;
  const recordLength = (data[offset + 3] << 8) | data[offset + 4];
  return recordLength > 0 && recordLength <= TLS_MAX_RECORD_LENGTH;
}

/** Whether the 5 bytes at `at` read as a record header after a hello (see TlsDirection.resumesAt). */
function plausibleHeader(data: Uint8Array, at: number): boolean {
  const type = data[at];
  if (type < ContentType.ChangeCipherSpec || type > ContentType.ApplicationData || data[at + 1] !== 3) return false;
  const minor = data[at + 2];
  const length = (data[at + 3] << 8) | data[at + 4];
  if (minor < 1 || minor > 3 || length === 0 || length > TLS_MAX_RECORD_LENGTH) return false;
  // A ChangeCipherSpec holds one byte; an alert two in clear, or more encrypted.
  return type === ContentType.ChangeCipherSpec ? length === 1 : type !== ContentType.Alert || length >= 2;
}

/** The record headers of one direction. Times are capture times, frames capture frames. */
export class TlsDirection {
  stop: TlsStop = Stop.None;
  /** Payload bytes read so far (the stream offset of the next byte). */
  bytes = 0;
  /** Complete records. */
  records = 0;
  /** Complete application-data records before the first alert (a TLS 1.3 client's Finished not counted). */
  appRecords = 0;
  /**
   * Times the snaplen cut off a record header (Stop.Lost) and a later segment started with a record
   * again: records between were not seen, so record counts are short (their bytes still count).
   */
  resyncs = 0;
  /**
   * Times bytes of this side were missing from the capture (TlsDirection.loss): whatever they held
   * (a record, an alert's bytes, a hello's) is unknown, whether boundaries were kept or read again.
   */
  lossGaps = 0;
  /**
   * Bytes went missing since this side's last application-data record: its last data may lie among
   * them, at a time nobody saw, so the silence the peer's next turn measures from it is unknown.
   */
  private lossSinceApp = false;
  /** The type of the record being read when its boundaries were lost: what the unseen bytes most likely hold. */
  private lostType = 0;
  /** Those boundaries were lost with bytes the capture missed (loss), not with a header the snaplen cut. */
  private lostByLoss = false;
  /** Bytes were lost right before the next segment pushed: that segment is the first seen after them. */
  private lossPending = false;

  /** The record being read: its header bytes so far, its type, length, and how much body is left. */
  private headerHave = 0;
  private headerType = 0;
  private headerMinor = 0;
  private headerLengthHigh = 0;
  private bodyLeft = 0;
  private recordLength = 0;
  private recordStartTs = 0;
  private recordStartFrame = 0;
  private recordStartOffset = 0;

  /** The last complete record of any type: its type, version (minor byte), length and end. */
  lastType = 0;
  lastMinor = 0;
  lastLength = 0;
  lastEndTs = -1;
  lastEndFrame = 0;

  /** The last application-data record before the first alert. */
  lastAppStartTs = -1;
  lastAppStartFrame = 0;
  lastAppEndTs = -1;
  lastAppEndFrame = 0;
  /** Stream offset just past that record. */
  lastAppEndOffset = 0;
  /** That record's length (what it can hold: a request, or a post-handshake message, see TLS13_KEY_UPDATE_LENGTH). */
  lastAppLength = 0;
  /** The last application-data record followed by CLOSING_BURST_GAP or more of silence from this side. */
  settledAppEndTs = -1;
  settledAppEndFrame = 0;

  /** The first alert (type 21, or a TLS 1.3 alert-sized application-data record): where it started. */
  firstAlertTs = -1;
  firstAlertFrame = 0;
  /** The first alert's record type (21, or 23 for a TLS 1.3 one). */
  firstAlertType = 0;
  /**
   * The first alert's level and description when it was sent in clear (a type-21 record of 2 bytes:
   * during the handshake, before this side encrypts), else -1: what tls-handshake-failed names.
   */
  alertLevel = -1;
  alertDescription = -1;
  /** The two bytes of the alert record being read (level << 8 | description). */
  private alertBytes = 0;
  /** This side sent a ChangeCipherSpec record (TLS 1.2: its Finished follows, encrypted). */
  sawChangeCipherSpec = false;
  /**
   * When this side's very first bytes were not a TLS record: up to 4 of them, big-endian (a server
   * that answered a ClientHello with "HTTP/1.1 400": a plain HTTP port), else 0; `leadLength` of them.
   */
  lead = 0;
  leadLength = 0;

  /**
   * Turns: a turn begins with this side's first application data after the peer's (or its first
   * ever). `turnStart…` is where the latest turn began; `turnAnswers` says whether the peer had
   * had a turn before it (a response, rather than data of its own, such as TLS 1.3 handshake
   * records or HTTP/2 settings sent unasked).
   */
  turns = 0;
  turnStartTs = -1;
  turnStartFrame = 0;
  /** Stream offset where the latest turn began (its first record's header). */
  turnStartOffset = 0;
  turnAnswers = false;
  /** This side sent application data since the peer last did. */
  private turnOpen = false;
  /** Both sides' lossGaps when the latest turn began (see turnReadWhole). */
  private lossesAtTurn = 0;

  /** Its first application-data record was a TLS 1.3 client's Finished (client side only). */
  sawTls13Finished = false;
  /**
   * Client side, TLS 1.3: records of its second flight read before its Finished (a server that sent
   * a CertificateRequest gets a Certificate, and a CertificateVerify with a certificate, first).
   */
  flightRecordsBeforeFinished = 0;
  /** The server's record count when that flight began: a server record since ends the flight. */
  private flightPeerRecords = 0;
  /** That flight began with a record an empty Certificate's length (nothing but the Finished follows one). */
  flightEmptyCertificate = false;
  /**
   * Client side, TLS 1.3: where its Finished record ended (-1 before it), and whether it was told by
   * its length (then `flightRecordsBeforeFinished` and `flightEmptyCertificate` say what came before
   * it: nothing, no certificate, or a certificate). A server record after it that is no session
   * ticket answers the Finished (tls-handshake-failed: a server rejecting the client's certificate).
   */
  finishedEndTs = -1;
  finishedEndFrame = 0;
  finishedByLength = false;
  /**
   * Its Finished was among bytes the capture lost (placed at the resync after them): the server's
   * records between that Finished and the resync were read as if no Finished had come (its session
   * tickets not counted as such), so what came right after the Finished is not known.
   */
  finishedUnseen = false;
  /** Where the first record of that flight ended: the Finished, when the flight had no other shape. */
  private flightFirstEndTs = -1;
  private flightFirstEndFrame = 0;
  /** Client side: each turn after its first, with the silence since the server's last application data. */
  readonly reuses = new ReuseGaps();
  /** What this side's hello said in clear (ALPN, TLS 1.3), read from its first record. */
  readonly hello = new TlsHello();

  /**
   * Server side, TLS 1.3: the application-data records it sent in one burst right after the
   * client's Finished, all of one length. A TLS 1.3 server sends its session tickets
   * (NewSessionTicket) then, encrypted as application data, whether or not a request came with the
   * Finished (OpenSSL two of equal length, Go one): they answer the handshake, not the request.
   * `dataAfterTickets`: it sent other application data after them (an answer).
   */
  ticketRecords = 0;
  ticketLength = 0;
  dataAfterTickets = false;
  /** Where the first ticket record began, or -1. */
  ticketStartTs = -1;
  /** The end of its last application data before the tickets (its handshake flight), or -1. */
  lastAppBeforeTickets = -1;
  /** Where the first application-data record after the tickets began (an answer), or -1. */
  dataAfterTicketsTs = -1;
  dataAfterTicketsFrame = 0;

  peer: TlsDirection = this;

  constructor(readonly isClient: boolean) {
    this.hello.reset(isClient);
  }

  reset(): void {
    this.stop = Stop.None;
    this.bytes = 0;
    this.records = 0;
    this.appRecords = 0;
    this.resyncs = 0;
    this.lossGaps = 0;
    this.lossSinceApp = false;
    this.lostType = 0;
    this.lostByLoss = false;
    this.lossPending = false;
    this.headerHave = 0;
    this.headerType = 0;
    this.headerMinor = 0;
    this.headerLengthHigh = 0;
    this.bodyLeft = 0;
    this.recordLength = 0;
    this.recordStartTs = 0;
    this.recordStartFrame = 0;
    this.recordStartOffset = 0;
    this.lastType = 0;
    this.lastMinor = 0;
    this.lastLength = 0;
    this.lastEndTs = -1;
    this.lastEndFrame = 0;
    this.lastAppStartTs = -1;
    this.lastAppStartFrame = 0;
    this.lastAppEndTs = -1;
    this.lastAppEndFrame = 0;
    this.lastAppEndOffset = 0;
    this.lastAppLength = 0;
    this.settledAppEndTs = -1;
    this.settledAppEndFrame = 0;
    this.firstAlertTs = -1;
    this.firstAlertFrame = 0;
    this.firstAlertType = 0;
    this.alertLevel = -1;
    this.alertDescription = -1;
    this.alertBytes = 0;
    this.sawChangeCipherSpec = false;
    this.lead = 0;
    this.leadLength = 0;
    this.turns = 0;
    this.turnStartTs = -1;
    this.turnStartFrame = 0;
    this.turnStartOffset = 0;
    this.turnAnswers = false;
    this.turnOpen = false;
    this.lossesAtTurn = 0;
    this.sawTls13Finished = false;
    this.flightRecordsBeforeFinished = 0;
    this.flightPeerRecords = 0;
    this.flightEmptyCertificate = false;
    this.finishedEndTs = -1;
    this.finishedEndFrame = 0;
    this.finishedByLength = false;
    this.finishedUnseen = false;
    this.flightFirstEndTs = -1;
    this.flightFirstEndFrame = 0;
    this.reuses.reset();
    this.hello.reset(this.isClient);
    this.ticketRecords = 0;
    this.ticketLength = 0;
    this.dataAfterTickets = false;
    this.lastAppBeforeTickets = -1;
    this.ticketStartTs = -1;
    this.dataAfterTicketsTs = -1;
    this.dataAfterTicketsFrame = 0;
  }

  /** A record is partly read: its header or body goes on in bytes not seen yet. */
  get midRecord(): boolean {
    return this.headerHave !== 0 || this.bodyLeft > 0;
  }

  /** Still reading: no gap, every header so far looked like TLS. */
  get ok(): boolean {
    return this.stop === Stop.None;
  }

  /**
   * Some of this side's records went unseen: bytes the capture lost, or headers the snaplen cut off,
   * whether reading resumed after them (resyncs) or not. What those records were (a ChangeCipherSpec,
   * a Finished) is unknown, so nothing may be judged from their absence. A loss inside one record's
   * body keeps the boundaries, but the bytes (an alert's, a hello's) are unseen all the same.
   */
  get recordsUnseen(): boolean {
    return this.stop === Stop.Lost || this.resyncs > 0 || this.lossGaps > 0;
  }

  /**
   * No bytes of either side went missing since this side's latest turn began. A loss after it may
   * hold the peer's answer (the turn then runs on through the next request, its start and bytes
   * those of an earlier one) or more of this side's turn: what the turn was is unknown.
   */
  get turnReadWhole(): boolean {
    return this.lossGaps + this.peer.lossGaps === this.lossesAtTurn;
  }

  /** This side's last application data is the last it sent: no bytes of it went missing since (lossSinceApp). */
  get lastAppSure(): boolean {
    return !this.lossSinceApp;
  }

  /**
   * The end of this side's last activity before it began to close at `closingTs`: its last
   * application data, unless that came less than CLOSING_BURST_GAP before the close (data sent
   * with the close, such as a GOAWAY), then the last application data followed by a silence.
   * Returns the time (or -1: none), and leaves its frame in `activityFrame`.
   */
  lastActivityBefore(closingTs: number): number {
    if (this.lastAppEndTs < 0) return -1;
    if (closingTs - this.lastAppEndTs >= CLOSING_BURST_GAP) {
      this.activityFrame = this.lastAppEndFrame;
      return this.lastAppEndTs;
    }
    this.activityFrame = this.settledAppEndFrame;
    return this.settledAppEndTs;
  }
  /** Frame of what lastActivityBefore returned. */
  activityFrame = 0;

  /** In-order payload bytes of this direction. */
  push(data: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    const end = offset + length;
    const afterLoss = this.lossPending;
    this.lossPending = false;
    if (this.stop !== Stop.None) {
      if (this.stop !== Stop.Lost) return;
      if (!this.resumesAt(data, offset, end)) {
        this.lostActivity(ts, frame, this.bytes + length);
        this.bytes += length;
        return;
      }
      this.stop = Stop.None;
      this.headerHave = 0;
      this.bodyLeft = 0;
      this.resyncs++;
      // A TLS 1.3 client lost inside its second flight (a Certificate longer than the snaplen): the
      // flight is one write, so its Finished was among the unseen records, and what follows is data.
      // So too when the capture lost bytes after its hello once the server had sent application
      // data: a TLS 1.3 client's next write after the server's flight is its second flight, and a
      // TLS 1.2 server sends none before the client's Finished. (Read as that Finished, a TLS 1.2
      // client's next request was no data: its keep-alive races went unseen.)
      if (this.isClient && !this.sawTls13Finished && (this.lostType === ContentType.ApplicationData || this.lostByLoss) && this.peer.appRecords > 0) {
        this.sawTls13Finished = true;
        // Sent before this segment, the first seen after the lost bytes: where it ended, as near as
        // the capture tells (a server that rejected that flight answers it with its alert,
        // tls-flight-rejected; its request then met no idle close and went unanswered by no hang).
        if (this.lostByLoss && afterLoss) {
          this.finishedEndTs = ts;
          this.finishedEndFrame = frame;
        }
        if (this.lostByLoss) this.finishedUnseen = true;
      }
    }
    let i = offset;
    while (i < end) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, end - i);
        // The first record is the hello (ClientHello, or the ServerHello leading the server's first flight).
        if (this.records === 0 && !this.hello.done) this.readHello(data, i, i + take);
        // A 2-byte alert is in clear (an encrypted one carries a tag): keep its level and description.
        if (this.headerType === ContentType.Alert && this.recordLength === 2) {
          for (let at = this.recordLength - this.bodyLeft, j = i; j < i + take; at++, j++) this.alertBytes = at === 0 ? data[j] << 8 : this.alertBytes | data[j];
        }
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.complete(ts, frame, this.bytes + (i - offset));
        continue;
      }
      const b = data[i++];
      switch (this.headerHave++) {
        case 0:
          // A silence before this record ends a burst: the last application data before it is settled.
          if (this.records > 0 && ts - this.lastEndTs >= CLOSING_BURST_GAP && this.lastAppEndTs >= 0) {
            this.settledAppEndTs = this.lastAppEndTs;
            this.settledAppEndFrame = this.lastAppEndFrame;
          }
          this.recordStartTs = ts;
          this.recordStartFrame = frame;
          this.recordStartOffset = this.bytes + (i - 1 - offset);
          this.headerType = b;
          if (b < ContentType.ChangeCipherSpec || b > ContentType.Heartbeat || (this.records === 0 && b === ContentType.Heartbeat)) {
            this.stop = Stop.NotTls;
            if (this.bytes + (i - 1 - offset) === 0) this.noteLead(data, offset, i - 1, end);
            return;
          }
          break;
        case 1:
          if (b !== 3) {
            this.stop = Stop.NotTls;
            if (this.records === 0 && this.recordStartOffset === 0) this.noteLead(data, offset, i - 2, end);
            return;
          }
          break;
        case 2:
          this.headerMinor = b;
          if (b > 4) {
            this.stop = Stop.NotTls;
            return;
          }
          break;
        case 3:
          this.headerLengthHigh = b;
          break;
        default: {
          const recordLength = (this.headerLengthHigh << 8) | b;
          if (recordLength > TLS_MAX_RECORD_LENGTH) {
            this.stop = Stop.NotTls;
            return;
          }
          this.headerHave = 0;
          this.recordLength = recordLength;
          this.bodyLeft = recordLength;
          if (recordLength === 0) this.complete(ts, frame, this.bytes + (i - offset));
        }
      }
    }
    this.bytes += length;
  }

  /** The first record's body bytes [from, to): its hello, when it is a handshake record. */
  private readHello(data: Uint8Array, from: number, to: number): void {
    if (this.headerType !== ContentType.Handshake) this.hello.stop();
    else this.hello.push(data, from, to);
  }

  /**
   * `length` bytes of this side are missing from the capture (a dropping tcpdump: the peer
   * acknowledged bytes never seen, or a later segment came past them). Inside the body of the record
   * being read they are only unseen: its length says where it ends, as for a snaplen cut. Reaching
   * its end (or a header), they may hold any number of records: boundaries are lost (Stop.Lost)
   * until a segment starts with a record again, the same resync as after a cut header
   * (resumesAt), so alerts, closes and turns after a loss are read. Unlike a cut, nobody saw when
   * the missing bytes were sent, so they move no last data and open no turn (lostActivity): a turn
   * the peer's unseen answer should have ended goes on, and no reuse is measured from a last data
   * that may lie among them (lossSinceApp).
   */
  loss(length: number): void {
    this.hello.stop();
    this.lossGaps++;
    this.lossSinceApp = true;
    this.lossPending = true;
    if (this.stop === Stop.NotTls) return;
    // (Not inside a 2-byte alert: its level and description are read from its bytes.)
    if (this.stop === Stop.None && this.headerHave === 0 && this.bodyLeft > length && this.headerType !== ContentType.Alert) this.bodyLeft -= length;
    else if (this.stop === Stop.Lost) this.lostByLoss = true;
    else {
      this.stop = Stop.Lost;
      this.lostType = this.headerType;
      this.lostByLoss = true;
      this.headerHave = 0;
      this.bodyLeft = 0;
    }
    this.bytes += length;
  }

  /**
   * Whether the segment bytes [offset, end) start with a record header, so that reading can resume
   * there after the snaplen took a header (Stop.Lost). A side's next write (a response, an alert, a
   * ChangeCipherSpec) starts a segment with its record; encrypted bytes that look like a header
   * (a known content type, version 3.1–3.3 as every record after a hello says, a possible length)
   * are rare, and where the segment holds the next header as well it must look like one too.
   */
  private resumesAt(data: Uint8Array, offset: number, end: number): boolean {
    if (end - offset < HEADER_LENGTH || this.records === 0) return false;
    if (!plausibleHeader(data, offset)) return false;
    const next = offset + HEADER_LENGTH + ((data[offset + 3] << 8) | data[offset + 4]);
    return next + HEADER_LENGTH > end || plausibleHeader(data, next);
  }

  /**
   * Bytes of this side whose record boundaries are lost (Stop.Lost), in the segment at (ts, frame),
   * the stream `endOffset` bytes long after them. Lost inside application data, they are more of
   * it (a response longer than the snaplen goes on, and a TLS 1.3 alert comes in a segment of its
   * own, where reading resumes): this side's last application data moves to them, and they open a
   * turn when the peer had the last one, as a record would. Nothing is counted as a record.
   */
  private lostActivity(ts: number, frame: number, endOffset: number): void {
    if (this.lostType !== ContentType.ApplicationData || this.appRecords === 0 || this.firstAlertTs >= 0) return;
    if (this.lastAppEndTs >= 0 && ts - this.lastAppEndTs >= CLOSING_BURST_GAP) {
      this.settledAppEndTs = this.lastAppEndTs;
      this.settledAppEndFrame = this.lastAppEndFrame;
    }
    if (!this.turnOpen) this.openTurn(ts, frame, this.bytes);
    this.lossSinceApp = false; // these bytes were seen, after any lost ones
    this.lastEndTs = ts;
    this.lastEndFrame = frame;
    this.lastAppEndTs = ts;
    this.lastAppEndFrame = frame;
    this.lastAppEndOffset = endOffset;
  }

  /** This side's application data starting at (ts, frame, stream offset) begins a turn. */
  private openTurn(ts: number, frame: number, offset: number): void {
    const peer = this.peer;
    this.turns++;
    this.turnStartTs = ts;
    this.turnStartFrame = frame;
    this.turnStartOffset = offset;
    this.turnAnswers = peer.turns > 0;
    this.turnOpen = true;
    this.lossesAtTurn = this.lossGaps + peer.lossGaps;
    peer.turnOpen = false;
    // The client reused the connection (a turn after its first) this long after the server's last
    // data; not when the server's bytes since were lost (its last data may lie among them).
    if (this.isClient && this.turns > 1 && peer.lastAppEndTs >= 0 && !peer.lossSinceApp) this.reuses.add(ts - peer.lastAppEndTs, ts, frame);
  }

  /**
   * The snaplen cut the last `length` bytes off the segment at (ts, frame), whose captured bytes
   * were just pushed. Bytes still inside the current record's body are only unseen: the record's
   * length says where it ends, so they are counted as read (a capture taken with -s 128 cuts every
   * record longer than its first segment). A record header inside them is lost, and with it the
   * record boundaries.
   */
  cut(length: number, ts: number, frame: number): void {
    this.hello.stop();
    if (this.stop === Stop.Lost) {
      this.lostActivity(ts, frame, this.bytes + length);
      this.bytes += length;
      return;
    }
    if (this.stop !== Stop.None) return;
    if (this.headerHave !== 0 || this.bodyLeft < length) {
      // The record being read ends inside the cut (its length says where); the header after it is lost.
      if (this.headerHave === 0 && this.bodyLeft > 0) {
        const rest = this.bodyLeft;
        this.bodyLeft = 0;
        this.complete(ts, frame, this.bytes + rest);
      }
      this.stop = Stop.Lost;
      this.lostType = this.headerType;
      this.lostByLoss = false;
      this.headerHave = 0;
      this.lostActivity(ts, frame, this.bytes + length);
      this.bytes += length;
      return;
    }
    this.bodyLeft -= length;
    if (this.bodyLeft === 0) this.complete(ts, frame, this.bytes + length);
    this.bytes += length;
  }

  /**
   * Server side: an application-data record of `length` after the client's TLS 1.3 Finished, `since`
   * seconds after its previous record ended. Records of one length in one burst right after the
   * Finished are its session tickets (see ticketRecords); anything after them is data.
   */
  private afterFinished(length: number, since: number): void {
    if (this.dataAfterTickets) return;
    if (length > TICKET_MAX_LENGTH || (this.ticketRecords > 0 && (length !== this.ticketLength || since >= CLOSING_BURST_GAP))) {
      this.dataAfterTickets = true;
      this.dataAfterTicketsTs = this.recordStartTs;
      this.dataAfterTicketsFrame = this.recordStartFrame;
      return;
    }
    if (this.ticketRecords === 0) {
      this.lastAppBeforeTickets = this.lastAppEndTs;
      this.ticketStartTs = this.recordStartTs;
    }
    this.ticketLength = length;
    this.ticketRecords++;
  }

  /**
   * Client side: an application-data record of `length` after the server's TLS 1.3 flight and
   * before the client's Finished was placed. True when it is part of the client's handshake (its
   * Finished, or a Certificate or CertificateVerify before it), false when it is data.
   *
   * A client answers a server's CertificateRequest with its Certificate (25 bytes when empty),
   * a CertificateVerify when it has a certificate, then its Finished, all as application data, in
   * one flight; only then may data follow, at once (curl sends its request before the server's
   * session tickets come). The Finished is told by its length, which the cipher suite fixes
   * (tls13FinishedLength): no Certificate or CertificateVerify has it (an empty Certificate is 25
   * bytes, a CertificateVerify 89 or more). So the records up to the first of that length are the
   * handshake, whatever their number, and what follows it is data. (Only the first record had been
   * taken for the Finished: behind a CertificateRequest, the Finished became a 74-byte "request"
   * that the server's tickets did not answer, and every TLS 1.3 health check or probe of an mTLS
   * server an unanswered request: blind round 14b s1, s7, s16.)
   *
   * Without a known suite, or when the flight does not end in a record of that length (a padded
   * Finished), the first record is taken for the Finished as before: records before a Finished of
   * the expected length are skipped only while they could still be a Certificate and a
   * CertificateVerify (at most two, and nothing after an empty Certificate but the Finished), and
   * only until the server sends a record (it sends nothing between its flight and the client's
   * Finished); a record past that is data.
   */
  private clientFlightRecord(length: number, ts: number, frame: number): boolean {
    const peer = this.peer;
    const finished = peer.hello.tls13 ? tls13FinishedLength(peer.hello.cipherSuite) : 0;
    if (finished === 0 || length === finished) {
      this.sawTls13Finished = true;
      this.finishedByLength = finished !== 0;
      this.finishedEndTs = ts;
      this.finishedEndFrame = frame;
      return true;
    }
    if (this.flightRecordsBeforeFinished === 0) {
      this.flightFirstEndTs = ts;
      this.flightFirstEndFrame = frame;
      this.flightPeerRecords = peer.records;
      this.flightEmptyCertificate = length === TLS13_EMPTY_CERTIFICATE_LENGTH || length === TLS13_EMPTY_CERTIFICATE_LENGTH_CCM8;
      this.flightRecordsBeforeFinished = 1;
      return true;
    }
    // A CertificateVerify follows a certificate, not an empty Certificate; the server sends nothing until the Finished.
    if (this.flightRecordsBeforeFinished < CLIENT_FLIGHT_MAX_BEFORE_FINISHED && !this.flightEmptyCertificate && peer.records === this.flightPeerRecords) {
      this.flightRecordsBeforeFinished++;
      return true;
    }
    // Not a flight of that shape: its first record was the Finished, and this one is data.
    this.sawTls13Finished = true;
    this.finishedEndTs = this.flightFirstEndTs;
    this.finishedEndFrame = this.flightFirstEndFrame;
    return false;
  }

  /** Up to 4 bytes from `from` (the stream's first byte) as `lead`, when the stream is not TLS. */
  private noteLead(data: Uint8Array, offset: number, from: number, end: number): void {
    if (from < offset) return; // its first byte came in an earlier segment
    let lead = 0;
    let n = 0;
    for (let j = from; j < end && n < 4; j++, n++) lead = lead * 256 + data[j];
    this.lead = lead;
    this.leadLength = n;
  }

  /** A record ended in the segment at (ts, frame), `endOffset` bytes into the stream. */
  private complete(ts: number, frame: number, endOffset: number): void {
    const type = this.headerType;
    const length = this.recordLength;
    this.records++;
    this.lastType = type;
    this.lastMinor = this.headerMinor;
    this.lastLength = length;
    const previousEndTs = this.lastEndTs;
    this.lastEndTs = ts;
    this.lastEndFrame = frame;
    if (this.records === 1) this.hello.stop(); // read as far as its record went
    if (type === ContentType.ChangeCipherSpec) this.sawChangeCipherSpec = true;
    if (this.firstAlertTs >= 0) {
      // Closing: what follows the first alert is not data. Unless that alert was only guessed from
      // its size (TLS 1.3) and more data follows: nothing is sent after a close_notify or a fatal
      // alert, so it was two bytes of data (the turn goes on from this record).
      if (this.firstAlertType !== ContentType.ApplicationData || type !== ContentType.ApplicationData) return;
      this.firstAlertTs = -1;
      this.firstAlertFrame = 0;
      this.firstAlertType = 0;
    }
    const alertSized = type === ContentType.ApplicationData && (length === TLS13_ALERT_LENGTH || length === TLS13_ALERT_LENGTH_CCM8);
    if (type === ContentType.Alert || alertSized) {
      if (type === ContentType.Alert && length === 2) {
        this.alertLevel = this.alertBytes >>> 8;
        this.alertDescription = this.alertBytes & 0xff;
      }
      this.firstAlertTs = this.recordStartTs;
      this.firstAlertFrame = this.recordStartFrame;
      this.firstAlertType = type;
      return;
    }
    if (type !== ContentType.ApplicationData) return;
    const peer = this.peer;
    // TLS 1.3: the server's handshake went as application data before this, the client's second flight.
    if (this.isClient && this.appRecords === 0 && !this.sawTls13Finished && peer.appRecords > 0 && this.clientFlightRecord(length, ts, frame)) return;
    this.appRecords++;
    if (!this.isClient && peer.sawTls13Finished) this.afterFinished(length, ts - previousEndTs);
    this.lastAppStartTs = this.recordStartTs;
    this.lastAppStartFrame = this.recordStartFrame;
    this.lastAppEndTs = ts;
    this.lastAppEndFrame = frame;
    this.lastAppEndOffset = endOffset;
    this.lastAppLength = length;
    this.lossSinceApp = false;
    if (!this.turnOpen) this.openTurn(this.recordStartTs, this.recordStartFrame, this.recordStartOffset);
  }
}

/** Both directions of a TLS connection (the client's first bytes were a ClientHello). */
export class TlsRecords {
  readonly client = new TlsDirection(true);
  readonly server = new TlsDirection(false);

  constructor() {
    this.client.peer = this.server;
    this.server.peer = this.client;
  }

  reset(): this {
    this.client.reset();
    this.server.reset();
    return this;
  }

  /** Both directions were read whole, as TLS. */
  get ok(): boolean {
    return this.client.ok && this.server.ok && this.client.records > 0;
  }

  data(fromClient: boolean, data: Uint8Array, offset: number, length: number, ts: number, frame: number): void {
    (fromClient ? this.client : this.server).push(data, offset, length, ts, frame);
  }

  /** `length` bytes of one direction missing; `cut`: the tail of the segment at (ts, frame), cut by the snaplen, else lost by the capture. */
  gap(fromClient: boolean, length: number, cut: boolean, ts: number, frame: number): void {
    const side = fromClient ? this.client : this.server;
    if (cut) side.cut(length, ts, frame);
    else side.loss(length);
  }
}
