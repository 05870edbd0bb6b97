import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import type { AnalysisResult } from '../../src/analyze';
import { Capture, Conn, get, ofKind } from './reuse-kit';

/**
 * A server out of connection slots (nginx's worker_connections) against one that closes idle
 * connections on a timer, both with keep-alive pools larger than what the server keeps: the first
 * closes its longest-idle connection as each new one is accepted, whatever its idle age; the
 * second closes at one idle age, whatever arrives.
 */

const only = [keepaliveRace, idleTimeoutMismatch];

/** A deterministic pseudo-random sequence in [0, 1) (the scenes must not change between runs). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

interface Held {
  conn: Conn;
  lastActive: number;
  /** The server's FIN (null: still open). */
  closedAt: number | null;
}

/**
 * `workers` clients, each with one keep-alive connection it uses every `gap` s (jittered by
 * ±`jitter`), like Python's http.client: a request on a connection the server had closed meets a
 * RST, and the client opens a new connection. `slots`: the server takes a new connection by closing
 * its longest-idle one when it holds that many (nginx's ngx_drain_connections); `timer`: it closes
 * a connection idle that long.
 */
function pooledClients(cap: Capture, o: { workers: number; rounds: number; gap: number; jitter: number; slots?: number; timer?: number; seed: number; rtt?: number }): void {
  // rtt: the capture sits next to the clients, this far (seconds, round trip) from the server.
  const rtt = o.rtt ?? 0;
  const rnd = lcg(o.seed);
  const held: Held[] = [];
  const own: (Held | null)[] = new Array(o.workers).fill(null);
  const queue: { t: number; w: number; round: number }[] = [];
  for (let w = 0; w < o.workers; w++) queue.push({ t: 0.001 + 0.003 * w, w, round: 0 });
  const open = (t: number): Held => {
    const conn = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 }).handshake(t, rtt > 0 ? rtt : 0.0001);
    const h: Held = { conn, lastActive: t, closedAt: null };
    const alive = held.filter((x) => x.closedAt === null);
    if (o.slots !== undefined && alive.length >= o.slots) {
      // The longest-idle connection goes, as the new one is accepted (its FIN seen a round trip after the handshake's ACK).
      const victim = alive.reduce((a, b) => (b.lastActive < a.lastActive ? b : a));
      const finAt = t + 2 * rtt + 0.0003;
      victim.conn.fin(finAt, 's').ack(finAt + 0.0001, 'c');
      victim.closedAt = finAt;
    }
    held.push(h);
    return h;
  };
  while (queue.length > 0) {
    queue.sort((a, b) => a.t - b.t);
    const { t, w, round } = queue.shift() as { t: number; w: number; round: number };
    // The server's idle timer closes what has been idle for `timer` by now.
    if (o.timer !== undefined) {
      for (const h of held) {
        if (h.closedAt === null && h.lastActive + o.timer < t) {
          h.closedAt = h.lastActive + o.timer;
          h.conn.fin(h.closedAt, 's').ack(h.closedAt + 0.0001, 'c');
        }
      }
    }
    let h = own[w];
    let at = t;
    if (h !== null && h.closedAt !== null) {
      // Reused after the server's FIN: reset, and a new connection.
      h.conn.request(t, get('/'), { noAck: true }).rst(t + 0.0001, 's');
      h = null;
      at = t + 0.002;
    }
    if (h === null) {
      h = open(at);
      own[w] = h;
      at += rtt + 0.0006;
    }
    h.conn.request(at, get('/')).response(at + rtt + 0.001, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    at += rtt;
    h.lastActive = at + 0.001;
    if (round + 1 < o.rounds) queue.push({ t: h.lastActive + o.gap + (rnd() * 2 - 1) * o.jitter, w, round: round + 1 });
  }
}

/** One-request connections from another host, every `every` s, each answered `serveAfter` s after its handshake. */
function oneShots(cap: Capture, o: { from: number; to: number; every: number; serveAfter: number }): void {
  for (let t = o.from; t < o.to; t += o.every) {
    const c = cap.connection({ client: '10.0.0.9', server: '10.0.0.2', sport: 80 }).handshake(t);
    c.request(t + 0.0003, get('/one'));
    c.response(t + o.serveAfter, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    c.close(t + o.serveAfter + 0.0005, 'c');
  }
}

function raceDiagnosis(result: AnalysisResult) {
  return result.diagnoses.find((d) => d.kind === 'keepalive-race');
}

describe('a server out of connection slots (closes idle connections as new ones arrive)', () => {
  it('is told as such: no idle timeout, a reload or a close after responses, and no client idle timeout advised', () => {
    const cap = new Capture();
    pooledClients(cap, { workers: 7, rounds: 12, gap: 0.15, jitter: 0.01, slots: 4, seed: 7 });
    const result = cap.analyze(only);
    const races = ofKind(result, 'keepalive-race');
    expect(races.length).toBeGreaterThan(20);
    const d = raceDiagnosis(result);
    expect(d).toBeDefined();
    expect(d?.inferred).toEqual({});
    expect(d?.explanation).toContain('closed to take new connections');
    expect(d?.explanation).toContain('while it was serving 4 connections, the most it served at once');
    expect(d?.explanation).not.toContain('reload');
    expect(d?.remedy).toContain('worker_connections');
    expect(d?.remedy).not.toMatch(/client idle timeout below/);
    expect(ofKind(result, 'idle-timeout-mismatch')).toHaveLength(0);
  });

  it('captured next to the clients, 20 ms from the server: the FIN comes a round trip after the handshake', () => {
    const cap = new Capture();
    pooledClients(cap, { workers: 7, rounds: 10, gap: 0.15, jitter: 0.01, slots: 4, seed: 13, rtt: 0.02 });
    const result = cap.analyze(only);
    const d = raceDiagnosis(result);
    expect(d?.inferred).toEqual({});
    expect(d?.explanation).toContain('closed to take new connections');
    expect(ofKind(result, 'idle-timeout-mismatch')).toHaveLength(0);
  });

  it('whatever the clients\' pause: the same story at 0.3 s as at 0.15 s', () => {
    const cap = new Capture();
    pooledClients(cap, { workers: 7, rounds: 10, gap: 0.3, jitter: 0.02, slots: 4, seed: 11 });
    const result = cap.analyze(only);
    const d = raceDiagnosis(result);
    expect(d?.inferred).toEqual({});
    expect(d?.explanation).toContain('while it was serving 4 connections');
    expect(ofKind(result, 'idle-timeout-mismatch')).toHaveLength(0);
  });
});

describe('near misses: an idle timer keeps its timeout', () => {
  it('a 1 s timer with pools larger than nothing (no slot limit)', () => {
    const cap = new Capture();
    pooledClients(cap, { workers: 7, rounds: 8, gap: 1.0, jitter: 0.1, timer: 1.0, seed: 3 });
    const result = cap.analyze(only);
    const d = raceDiagnosis(result);
    expect(d?.inferred.serverIdleTimeout?.value).toBeCloseTo(1, 1);
    expect(d?.explanation).not.toContain('closed to take new connections');
  });

  it('a 1 s timer while new connections arrive every 4 ms, each waiting 5 ms for its answer', () => {
    const cap = new Capture();
    pooledClients(cap, { workers: 7, rounds: 8, gap: 1.0, jitter: 0.1, timer: 1.0, seed: 5 });
    oneShots(cap, { from: 0, to: 9, every: 0.004, serveAfter: 0.005 });
    const result = cap.analyze(only);
    const d = raceDiagnosis(result);
    expect(d?.inferred.serverIdleTimeout?.value).toBeCloseTo(1, 1);
    expect(d?.explanation).not.toContain('closed to take new connections');
  });
});
