/**
 * Scripted TCP/HTTP conversations for the connection-reuse detector tests: each connection keeps
 * both sides' sequence numbers, so a test says only what happens and when ("the server closes at
 * t = 5", "the client sends GET / without having seen the FIN") and gets a consistent capture,
 * analyzed by the real pipeline (decode → flow → http → detect).
 */
import { Analyzer, AnalysisResult, AnalyzeOptions } from '../../src/analyze';
import type { DetectorDefinition } from '../../src/detect/detector';
import type { Finding } from '../../src/detect/finding';
import { buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';

interface Packet {
  ts: number;
  order: number;
  data: Uint8Array;
  /** Bytes the capture kept of it (a snaplen that cut this one packet); all when undefined. */
  keep?: number;
}

/** Base of the capture clock in the tests (seconds since the epoch). */
export const T0 = 1_700_000_000;

export class Capture {
  readonly packets: Packet[] = [];
  private order = 0;
  private nextPort = 40000;

  add(ts: number, data: Uint8Array, keep?: number): void {
    this.packets.push({ ts: T0 + ts, order: this.order++, data, keep });
  }

  /** A new connection from `client` (an ephemeral port unless given) to `server` (ip:port). */
  connection(options: { client?: string; cport?: number; server?: string; sport?: number; isn?: number } = {}): Conn {
    const cport = options.cport ?? this.nextPort++;
    const conn = new Conn(this, options.client ?? '10.0.0.1', cport, options.server ?? '10.0.0.2', options.sport ?? 80);
    if (options.isn !== undefined) conn.cSeq = options.isn + 1;
    return conn;
  }

  /** Runs the capture (in time order) through the analysis; only `detectors` when given. */
  analyze(detectors?: readonly DetectorDefinition[], options: AnalyzeOptions = {}, snaplen = Infinity): AnalysisResult {
    const analyzer = new Analyzer({ ...options, detectors: detectors ?? options.detectors });
    const sorted = [...this.packets].sort((a, b) => a.ts - b.ts || a.order - b.order);
    let frame = 0;
    for (const p of sorted) {
      frame++;
      const caplen = Math.min(p.data.length, snaplen, p.keep ?? Infinity);
      analyzer.packet({ frame, ts: p.ts, caplen, origLen: p.data.length, linkType: LINKTYPE_ETHERNET, data: p.data.subarray(0, caplen) });
    }
    return analyzer.finish();
  }

  /** The same with every packet cut to `snaplen` bytes, its wire length kept (as `tcpdump -s` writes them). */
  analyzeCut(snaplen: number, detectors?: readonly DetectorDefinition[]): AnalysisResult {
    return this.analyze(detectors, {}, snaplen);
  }
}

type Side = 'c' | 's';

export interface SegmentOptions {
  /** Acknowledgement number to send instead of "everything the peer sent so far". */
  ack?: number;
  /** For data sent after the peer's FIN: whether the sender had received that FIN (default true). */
  sawFin?: boolean;
  /** The receive window the segment advertises (default 65535; 0: a zero window). */
  window?: number;
  /** Payload bytes the capture kept of this segment (a snaplen that cut it alone; default all). */
  keptPayload?: number;
}

/** One scripted connection; times are seconds from T0. */
export class Conn {
  /** Next sequence number of each side (ISN + 1 after the SYN). */
  cSeq = 1_000_000;
  sSeq = 5_000_000;
  private cFin = false;
  private sFin = false;

  constructor(
    private readonly cap: Capture,
    readonly client: string,
    readonly cport: number,
    readonly server: string,
    readonly sport: number,
  ) {}

  get clientName(): string {
    return `${this.client}:${this.cport}`;
  }

  get serverName(): string {
    return `${this.server}:${this.sport}`;
  }

  private emit(ts: number, from: Side, flags: number, payload: string | Uint8Array, ack: number | null, seq?: number, ttl?: number, window?: number, keptPayload?: number): void {
    const fromClient = from === 'c';
    const data = buildTcpPacket({
      src: fromClient ? this.client : this.server,
      dst: fromClient ? this.server : this.client,
      sport: fromClient ? this.cport : this.sport,
      dport: fromClient ? this.sport : this.cport,
      seq: (seq ?? (fromClient ? this.cSeq : this.sSeq)) >>> 0,
      ack: (ack ?? 0) >>> 0,
      flags: ack === null ? flags : flags | TCP_ACK,
      payload,
      ttl,
      window,
    });
    this.cap.add(ts, data, keptPayload === undefined ? undefined : data.length - payload.length + keptPayload);
  }

  /** What `from` acknowledges by default: all the peer sent (its FIN included unless `sawFin` is false). */
  private ackOf(from: Side, options: SegmentOptions): number {
    if (options.ack !== undefined) return options.ack;
    const peerSeq = from === 'c' ? this.sSeq : this.cSeq;
    const peerFin = from === 'c' ? this.sFin : this.cFin;
    return peerFin && options.sawFin === false ? peerSeq - 1 : peerSeq;
  }

  /** SYN, SYN-ACK, ACK at ts (1 ms apart). */
  handshake(ts: number, serverRtt = 0.0001, clientRtt = 0.0001): this {
    // serverRtt / clientRtt: the round trips from the capture point to each side (where the capture was taken).
    this.emit(ts, 'c', TCP_SYN, '', null, this.cSeq - 1);
    this.emit(ts + serverRtt, 's', TCP_SYN, '', this.cSeq, this.sSeq - 1);
    this.emit(ts + serverRtt + clientRtt, 'c', 0, '', this.sSeq);
    return this;
  }

  /** Payload from one side (one segment): text (ASCII), or bytes. */
  send(ts: number, from: Side, text: string | Uint8Array, options: SegmentOptions = {}): this {
    const ack = this.ackOf(from, options);
    this.emit(ts, from, TCP_PSH, text, ack, undefined, undefined, options.window, options.keptPayload);
    if (from === 'c') this.cSeq += text.length;
    else this.sSeq += text.length;
    return this;
  }

  /** The same payload sent again from where `from`'s last `text` began (a retransmission: the sequence does not move). */
  resend(ts: number, from: Side, text: string): this {
    const seq = (from === 'c' ? this.cSeq : this.sSeq) - text.length;
    this.emit(ts, from, TCP_PSH, text, this.ackOf(from, {}), seq);
    return this;
  }

  /** A segment the capture missed (dropped at the capture point): its sender's sequence moves on, nothing is written. */
  unseen(from: Side, text: string): this {
    if (from === 'c') this.cSeq += text.length;
    else this.sSeq += text.length;
    return this;
  }

  /** A bare ACK from one side. */
  ack(ts: number, from: Side, options: SegmentOptions = {}): this {
    this.emit(ts, from, 0, '', this.ackOf(from, options), undefined, undefined, options.window);
    return this;
  }

  /**
   * A TCP keep-alive probe from `from` on an idle connection: an ACK at its next sequence number
   * − 1, empty (Linux) or with one garbage byte (`withByte`: older Windows).
   */
  keepAliveProbe(ts: number, from: Side, withByte = false): this {
    const seq = (from === 'c' ? this.cSeq : this.sSeq) - 1;
    this.emit(ts, from, 0, withByte ? '\0' : '', this.ackOf(from, {}), seq);
    return this;
  }

  fin(ts: number, from: Side, options: SegmentOptions = {}): this {
    this.emit(ts, from, TCP_FIN, '', this.ackOf(from, options));
    if (from === 'c') {
      this.cSeq += 1;
      this.cFin = true;
    } else {
      this.sSeq += 1;
      this.sFin = true;
    }
    return this;
  }

  /**
   * A FIN the capture missed (dropped at the capture point): its sender's sequence moves on by the
   * one number a FIN takes, nothing is written. The peer's later segments acknowledge it (unless
   * `sawFin: false`).
   */
  finUnseen(from: Side): this {
    if (from === 'c') {
      this.cSeq += 1;
      this.cFin = true;
    } else {
      this.sSeq += 1;
      this.sFin = true;
    }
    return this;
  }

  /** A RST (as a closed socket sends it: no ACK flag); `ttl`: its IP TTL, as a middlebox in the sender's name sends it (default 64, every packet's). */
  rst(ts: number, from: Side, ttl?: number): this {
    this.emit(ts, from, TCP_RST, '', null, undefined, ttl);
    return this;
  }

  /** A TCP keep-alive probe from `from`: no payload, one below its next sequence number, acknowledging all the peer sent. */
  probe(ts: number, from: Side): this {
    const seq = (from === 'c' ? this.cSeq : this.sSeq) - 1;
    this.emit(ts, from, 0, '', this.ackOf(from, {}), seq);
    return this;
  }

  /**
   * A RST with the ACK flag, acknowledging everything the peer sent: what Linux sends when its
   * application closes a socket with unread data in the receive buffer.
   */
  rstAck(ts: number, from: Side, options: Pick<SegmentOptions, 'window'> & { ttl?: number } = {}): this {
    this.emit(ts, from, TCP_RST, '', this.ackOf(from, {}), undefined, options.ttl, options.window);
    return this;
  }

  /** A request, and the server's ACK of it 0.1 ms later unless `noAck`. */
  request(ts: number, text: string, options: SegmentOptions & { noAck?: boolean } = {}): this {
    this.send(ts, 'c', text, options);
    if (options.noAck !== true) this.ack(ts + 0.0001, 's');
    return this;
  }

  /** A response, and the client's ACK of it 0.1 ms later. */
  response(ts: number, text: string, options: Pick<SegmentOptions, 'keptPayload'> = {}): this {
    this.send(ts, 's', text, options);
    this.ack(ts + 0.0001, 'c');
    return this;
  }

  /** Request at ts, response 1 ms later. */
  exchange(ts: number, request: string = get('/'), response: string = ok()): this {
    return this.request(ts, request).response(ts + 0.001, response);
  }

  /** Both sides close: `first` sends FIN at ts, the other answers with its FIN 0.1 ms later, then the last ACK. */
  close(ts: number, first: Side): this {
    const other: Side = first === 'c' ? 's' : 'c';
    this.fin(ts, first);
    this.fin(ts + 0.0001, other);
    this.ack(ts + 0.0002, first);
    return this;
  }
}

export function get(uri: string, headers: string[] = []): string {
  return `GET ${uri} HTTP/1.1\r\nHost: example\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;
}

export function post(uri: string, body: string, headers: string[] = []): string {
  return `POST ${uri} HTTP/1.1\r\nHost: example\r\nContent-Length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

export function ok(body = 'ok', headers: string[] = [], version = 'HTTP/1.1', status = '200 OK'): string {
  return `${version} ${status}\r\nContent-Length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

export function ofKind(result: AnalysisResult, kind: string): Finding[] {
  return result.anomalies.filter((f) => f.kind === kind);
}

/** One TLS record as the test kit sends it (as UTF-8: each length byte must stay below 0x80). */
export function tlsRecord(type: number, length: number, minor = 3): string {
  if ((length & 0x80) !== 0 || length >= 0x8000) throw new Error(`length ${length} does not fit the test kit`);
  return String.fromCharCode(type, 3, minor, length >> 8, length & 0xff) + 'x'.repeat(length);
}

export type TlsVersion = '1.2' | '1.3';

/** A TLS connection to port 443 through its handshake (TLS 1.3: with two session tickets after it). */
export function tlsConnection(cap: Capture, v: TlsVersion, at = 0): Conn {
  const rec = tlsRecord;
  const c = cap.connection({ sport: 443 });
  c.handshake(at).send(at + 0.001, 'c', rec(22, 300, 1)).ack(at + 0.0011, 's');
  if (v === '1.2') {
    c.send(at + 0.002, 's', rec(22, 80) + rec(22, 600) + rec(22, 100) + rec(22, 4)).ack(at + 0.0021, 'c');
    c.send(at + 0.003, 'c', rec(22, 37) + rec(20, 1) + rec(22, 40)).ack(at + 0.0031, 's');
    c.send(at + 0.004, 's', rec(20, 1) + rec(22, 40)).ack(at + 0.0041, 'c');
  } else {
    c.send(at + 0.002, 's', rec(22, 90) + rec(20, 1) + rec(23, 30) + rec(23, 600) + rec(23, 100) + rec(23, 53)).ack(at + 0.0021, 'c');
    c.send(at + 0.003, 'c', rec(20, 1) + rec(23, 53)).ack(at + 0.0031, 's');
    c.send(at + 0.004, 's', rec(23, 100) + rec(23, 100)).ack(at + 0.0041, 'c');
  }
  return c;
}
