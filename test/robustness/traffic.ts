/**
 * Scripted TCP/HTTP conversations as captured packets, for the time and bound suites: each
 * step is stamped by the caller, so tests can make clocks jump, repeat or run backwards.
 */
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';

export interface Packet {
  ts: number;
  data: Uint8Array;
  /** Which side sent it, and a label for tests that look packets up. */
  from: 'c' | 's';
  label: string;
}

/** One TCP connection between a client and a server, tracking both sequence spaces. */
export class Conversation {
  readonly packets: Packet[] = [];
  private cSeq: number;
  private sSeq: number;

  constructor(
    readonly client = '10.0.0.1',
    readonly server = '10.0.0.2',
    readonly sport = 40000,
    readonly dport = 80,
    cIsn = 1000,
    sIsn = 5000,
  ) {
    this.cSeq = cIsn;
    this.sSeq = sIsn;
  }

  private push(from: 'c' | 's', ts: number, flags: number, payload: string | Uint8Array | undefined, label: string, seqOverride?: number): void {
    const c = from === 'c';
    const seq = seqOverride ?? (c ? this.cSeq : this.sSeq);
    const data = buildTcpPacket({
      src: c ? this.client : this.server,
      dst: c ? this.server : this.client,
      sport: c ? this.sport : this.dport,
      dport: c ? this.dport : this.sport,
      seq: seq >>> 0,
      ack: (c ? this.sSeq : this.cSeq) >>> 0,
      flags,
      payload,
    });
    this.packets.push({ ts, data, from, label });
  }

  /** A SYN alone (a half-open connection when nothing follows). */
  syn(ts: number): this {
    this.push('c', ts, TCP_SYN, undefined, 'syn');
    return this;
  }

  handshake(ts: number): this {
    this.push('c', ts, TCP_SYN, undefined, 'syn');
    this.cSeq += 1;
    this.push('s', ts, TCP_SYN | TCP_ACK, undefined, 'syn-ack');
    this.sSeq += 1;
    this.push('c', ts, TCP_ACK, undefined, 'ack');
    return this;
  }

  /** Client or server bytes in one segment (sequence numbers advance). */
  send(from: 'c' | 's', ts: number, payload: string | Uint8Array, label = 'data'): this {
    this.push(from, ts, TCP_ACK | TCP_PSH, payload, label);
    const n = typeof payload === 'string' ? Buffer.byteLength(payload, 'latin1') : payload.length;
    if (from === 'c') this.cSeq += n;
    else this.sSeq += n;
    return this;
  }

  /** Bytes at an explicit sequence offset from the side's current position, without advancing (out of order, holes). */
  sendAt(from: 'c' | 's', ts: number, offset: number, payload: string | Uint8Array, label = 'ooo'): this {
    const base = from === 'c' ? this.cSeq : this.sSeq;
    this.push(from, ts, TCP_ACK | TCP_PSH, payload, label, base + offset);
    return this;
  }

  ack(from: 'c' | 's', ts: number): this {
    this.push(from, ts, TCP_ACK, undefined, 'ack');
    return this;
  }

  request(ts: number, path = '/', extra = ''): this {
    return this.send('c', ts, `GET ${path} HTTP/1.1\r\nHost: example\r\n${extra}\r\n`, `GET ${path}`);
  }

  response(ts: number, body = 'ok', extra = ''): this {
    return this.send('s', ts, `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`, 'response');
  }

  fin(from: 'c' | 's', ts: number): this {
    this.push(from, ts, TCP_FIN | TCP_ACK, undefined, 'fin');
    if (from === 'c') this.cSeq += 1;
    else this.sSeq += 1;
    return this;
  }

  rst(from: 'c' | 's', ts: number): this {
    this.push(from, ts, TCP_RST | TCP_ACK, undefined, 'rst');
    return this;
  }

  /** A keep-alive conversation: handshake, one exchange per start time (answered `delay` later), FIN from both sides. */
  static keepAlive(t0: number, requestTimes: number[], closeAt: number, sport = 40000, delay = 0.01): Conversation {
    const c = new Conversation('10.0.0.1', '10.0.0.2', sport).handshake(t0);
    requestTimes.forEach((t, i) => c.request(t, `/r${i}`).ack('s', t).response(t + delay).ack('c', t + delay));
    return c.fin('c', closeAt).fin('s', closeAt).ack('c', closeAt);
  }
}
