/**
 * A server refusing brand-new connections as it accepts them (a connection limit: Node's
 * `server.maxConnections`, nginx out of `worker_connections`) is accept-queue-overflow's
 * `closed-at-accept`, not a keep-alive race on never-used connections and not a restart's resets
 * (blind round 16, load S11 and S7). Near misses: a restart's resets alone, a reload closing a
 * fresh connection with the idle ones it held, and fast 5xx with no refusal stay as they were.
 */
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { Capture, get, ofKind, ok, T0 } from './reuse-kit';

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const KIND = 'accept-queue-overflow';

/** One connection scripted packet by packet; sequence numbers follow what each side sent. */
class Conn {
  private c: number;
  private s: number;
  constructor(private readonly cap: Capture, private readonly cport: number, isn = cport * 1000) {
    this.c = isn;
    this.s = isn + 500_000_000;
  }

  private seg(ts: number, from: 'c' | 's', flags: number, payload = '', ack?: number): this {
    const c = from === 'c';
    this.cap.add(ts, buildTcpPacket({
      src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? this.cport : 80, dport: c ? 80 : this.cport,
      seq: c ? this.c : this.s, ack: ack ?? (c ? this.s : this.c), flags, payload,
    }));
    if (c) this.c += payload.length + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
    else this.s += payload.length + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
    return this;
  }

  /** At the client's side of a path of round trip `rtt` (the server's SYN-ACK one round trip after the SYN). */
  handshake(ts: number, rtt = 0.00001): this {
    this.seg(ts, 'c', TCP_SYN, '', 0);
    this.seg(ts + rtt, 's', TCP_SYN | TCP_ACK);
    return this.seg(ts + rtt + 0.00001, 'c', TCP_ACK);
  }

  request(ts: number, uri = '/r'): this {
    return this.seg(ts, 'c', TCP_ACK | TCP_PSH, get(uri));
  }

  ack(ts: number, from: 'c' | 's'): this {
    return this.seg(ts, from, TCP_ACK);
  }

  respond(ts: number, body = ok()): this {
    return this.seg(ts, 's', TCP_ACK | TCP_PSH, body);
  }

  fin(ts: number, from: 'c' | 's'): this {
    return this.seg(ts, from, TCP_FIN | TCP_ACK);
  }

  /** The kernel's RST for data reaching a socket the application closed: RST alone. */
  rstAlone(ts: number): this {
    return this.seg(ts, 's', TCP_RST, '', 0);
  }

  /** An application's close with the request unread: RST with ACK. */
  rstAck(ts: number): this {
    return this.seg(ts, 's', TCP_RST | TCP_ACK);
  }
}

/** Two connections the server holds and answers after 0.2 s: within its limit. */
function served(cap: Capture, at: number): void {
  for (const port of [40001, 40002]) {
    new Conn(cap, port).handshake(at).request(at + 0.0005, `/held${port}`).ack(at + 0.0006, 's').respond(at + 0.2).ack(at + 0.2001, 'c').fin(at + 0.3, 'c').fin(at + 0.3001, 's').ack(at + 0.3002, 'c');
  }
}

/** A brand-new connection closed by FIN 0.1 ms after its handshake; its request then meets a RST. */
function finRefused(cap: Capture, port: number, at: number): void {
  new Conn(cap, port).handshake(at).fin(at + 0.00012, 's').request(at + 0.0015, `/f${port}`).rstAlone(at + 0.00151);
}

/** A brand-new connection whose request arrived before the application got to it: reset unread. */
function resetRefused(cap: Capture, port: number, at: number): void {
  new Conn(cap, port).handshake(at).request(at + 0.0002, `/r${port}`).ack(at + 0.0003, 's').rstAck(at + 0.006);
}

describe('connections refused as they were accepted (a connection limit)', () => {
  test('a burst of fresh connections closed by FIN or reset unread while the server serves two: one diagnosis, no race, no restart', () => {
    const cap = new Capture();
    served(cap, 0);
    resetRefused(cap, 41001, 0.001);
    resetRefused(cap, 41002, 0.0015);
    finRefused(cap, 41003, 0.01);
    finRefused(cap, 41004, 0.011);
    finRefused(cap, 41005, 0.012);
    const r = cap.analyze();
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client).sort()).toEqual([41001, 41002, 41003, 41004, 41005].map((p) => `${CLIENT}:${p}`));
    expect(found.every((f) => f.evidence.signal === 'closed-at-accept' && f.evidence.openConnections === 2)).toBe(true);
    expect(found.filter((f) => f.evidence.form === 'fin-before-request')).toHaveLength(3);
    expect(found.find((f) => f.client === `${CLIENT}:41003`)?.ts).toBeCloseTo(T0 + 0.01012, 6);
    expect(ofKind(r, 'keepalive-race')).toEqual([]);
    expect(ofKind(r, 'reset-before-response')).toEqual([]);
    const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(more).toEqual([]);
    expect(d.count).toBe(5);
    expect(d.explanation).toContain('connection limit');
    expect(d.explanation).toContain('held 2 other connections');
    expect(d.remedy).toContain('server.maxConnections');
  });

  test('a single fresh connection closed by FIN before its request (nginx reusing connections): the limit, not a keep-alive race', () => {
    const cap = new Capture();
    served(cap, 0);
    finRefused(cap, 41003, 0.01);
    const r = cap.analyze();
    expect(ofKind(r, KIND).map((f) => f.evidence.form)).toEqual(['fin-before-request']);
    expect(ofKind(r, 'keepalive-race')).toEqual([]);
  });

  test('captured at a client 150 ms away: the refusal\'s FIN comes a round trip after the handshake, still a refusal', () => {
    const cap = new Capture();
    for (const port of [40001, 40002]) {
      new Conn(cap, port).handshake(0, 0.15).request(0.151, `/held${port}`).ack(0.301, 's').respond(0.55).ack(0.5501, 'c').fin(0.7, 'c').fin(0.85, 's').ack(0.8501, 'c');
    }
    for (const port of [41003, 41004]) new Conn(cap, port).handshake(0.01, 0.15).fin(0.31, 's').request(0.161).rstAlone(0.46);
    const r = cap.analyze();
    expect(ofKind(r, KIND).map((f) => f.evidence.form)).toEqual(['fin-before-request', 'fin-before-request']);
    expect(ofKind(r, 'keepalive-race')).toEqual([]);
  });

  test('5xx answered at once beside the refusals are the same lack of connections, not an intermittent backend', () => {
    const cap = new Capture();
    served(cap, 0);
    finRefused(cap, 41003, 0.01);
    for (const port of [42001, 42002, 42003, 42004]) {
      new Conn(cap, port).handshake(0.02).request(0.0205, `/dl?c=${port}`).respond(0.0206, ok('boom', ['Connection: close'], 'HTTP/1.1', '500 Internal Server Error')).fin(0.0207, 's').fin(0.021, 'c').ack(0.0211, 's');
    }
    const r = cap.analyze();
    const atOnce = ofKind(r, KIND).filter((f) => f.evidence.signal === 'failed-at-once');
    expect(atOnce.map((f) => f.evidence.status)).toEqual([500, 500, 500, 500]);
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
    expect(r.diagnoses.find((x) => x.kind === KIND)?.explanation).toContain('answered 4 requests with 500 at once');
  });

  test('near miss: fresh connections reset with their requests unread and no FIN among them (a restart\'s accept queue) stay reset-before-response\'s', () => {
    const cap = new Capture();
    served(cap, 0);
    resetRefused(cap, 41001, 0.001);
    resetRefused(cap, 41002, 0.0015);
    resetRefused(cap, 41003, 0.002);
    const r = cap.analyze();
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'reset-before-response').map((f) => f.client).sort()).toEqual([41001, 41002, 41003].map((p) => `${CLIENT}:${p}`));
  });

  test('near miss: a fresh connection closed with the idle connections the server held (a reload) is no limit\'s refusal', () => {
    const cap = new Capture();
    // Two used connections left idle, closed by the server at 2.0 s with a fresh one opened 5 ms before.
    for (const port of [40001, 40002]) new Conn(cap, port).handshake(0).request(0.001).ack(0.0011, 's').respond(0.002).ack(0.0021, 'c').fin(2.0, 's').fin(2.0001, 'c').ack(2.0002, 's');
    new Conn(cap, 41003).handshake(1.995).fin(2.0, 's').request(2.001).rstAlone(2.00101);
    const r = cap.analyze();
    expect(ofKind(r, KIND)).toEqual([]);
  });

  test('near miss: fast 5xx with no connection refused are not this detector\'s', () => {
    const cap = new Capture();
    served(cap, 0);
    for (const port of [42001, 42002]) {
      new Conn(cap, port).handshake(0.02).request(0.0205).respond(0.0206, ok('boom', ['Connection: close'], 'HTTP/1.1', '500 Internal Server Error')).fin(0.0207, 's').fin(0.021, 'c').ack(0.0211, 's');
    }
    expect(ofKind(cap.analyze(), KIND)).toEqual([]);
  });
});
