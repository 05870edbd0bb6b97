/**
 * Caddy 2.6, Apache Traffic Server 9.2 and h2o 2.2 as reverse proxies (cross-check round 10): the recorded
 * samples (samples/record/*-caddy.sh, *-trafficserver.sh, *-h2o.sh, each checked against the proxy's own
 * logs while recording by programs/x10-meta.py), and the mechanism they showed, on synthetic traffic:
 *
 * - a proxy that tries a request again upstream after its timeout cut an attempt (Traffic Server
 *   does, `connect_attempts_max_retries` times: 3 by default, for read and connect timeouts alike)
 *   makes its clients wait the attempts' sum: the failure is paired with every attempt, and the
 *   timeout named is the per-attempt one (before: "proxyConnectTimeout 9.8 s" for a 2 s timeout);
 * - Traffic Server checks those timeouts once a second, so attempts end within a second after the
 *   timeout, in groups: no value is named then.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { retriedRequest } from '../../src/detect/detectors/retried-request';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { buildTcpPacket, TCP_SYN } from '../helpers/packet-builder';
import { analyzeSample } from '../samples';
import { BACKEND, downstream, PROXY, PROXY_ENDPOINT, scene, upstream } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

type Result = Awaited<ReturnType<typeof analyzeSample>>;

/** What the recorder found in the proxy's logs (programs/x10-meta.py): the counts to expect if the sample is recorded again. */
interface Observed {
  races?: Array<{ method: string; clientStatus?: number; retried?: boolean }>;
  timeouts?: Array<{ status: number; upstreamAttempts?: unknown[]; attempts?: unknown[] }>;
}

function observed(name: string): Observed {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'samples', `${name}.meta.json`), 'utf8')) as { observed: Observed }).observed;
}

function diagnoses(r: Result, kind: string, server: string) {
  return r.diagnoses.filter((d) => d.kind === kind && d.server === server);
}

function diagnosis(r: Result, kind: string, server: string) {
  const found = diagnoses(r, kind, server);
  expect(found).toHaveLength(1);
  return found[0];
}

const detectors = [gatewayTimeout, unansweredRequest, retriedRequest];

/** A client request the proxy forwards `attempts` times, each attempt cut after `each` s on a new connection, then 504. */
function retriedRead(cap: Capture, at: number, uri: string, attempts: number, each: number): void {
  const down = downstream(cap);
  down.handshake(at).request(at + 0.001, get(uri));
  let t = at + 0.0015;
  for (let i = 0; i < attempts; i++) {
    const up = upstream(cap);
    up.handshake(t).request(t + 0.0005, get(uri));
    up.close(t + 0.0005 + each, 'c');
    t += each + 0.002;
  }
  down.response(t, ok('timeout', [], 'HTTP/1.1', '504 Gateway Timeout'));
  down.close(t + 0.01, 'c');
}

/** A client request for which the proxy opens `attempts` connections one after the other, each a SYN and its retransmission 1 s later, never answered; 502 at the end. */
function retriedConnect(cap: Capture, at: number, port: number, attempts: number, each: number): void {
  const down = downstream(cap);
  down.handshake(at).request(at + 0.001, get(`/x/${port}`));
  let t = at + 0.0015;
  for (let i = 0; i < attempts; i++) {
    const syn = buildTcpPacket({ src: PROXY, dst: BACKEND, sport: port + i, dport: 8080, seq: 7000 + i, flags: TCP_SYN });
    cap.add(t, syn);
    cap.add(t + 1, syn);
    t += each;
  }
  down.response(t, ok('bad gateway', [], 'HTTP/1.1', '502 Bad Gateway'));
  down.close(t + 0.01, 'c');
}

describe('a proxy that retries a timed-out request upstream', () => {
  test('read timeouts: each failure is paired with all its attempts, and the timeout named is the per-attempt one', () => {
    const cap = new Capture();
    retriedRead(cap, 0, '/slow?a', 3, 1);
    retriedRead(cap, 0.01, '/slow?b', 3, 1);
    const r = cap.analyze(detectors);
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(2);
    expect(found.map((f) => f.evidence.upstreamAttempts)).toEqual([3, 3]);
    expect(found.every((f) => (f.evidence.delaySeconds as number) > 3)).toBe(true);
    const d = diagnosis(r, 'gateway-timeout', PROXY_ENDPOINT);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(1, 2);
    expect(d.inferred.proxyReadTimeout.samples).toBe(6);
    expect(d.explanation).toContain('tried each 3 times upstream');
    expect(d.remedy).toContain('connect_attempts_max_retries');
    // The upstream copies: each unanswered, the second and third the proxy's retries.
    expect(ofKind(r, 'unanswered-request')).toHaveLength(6);
    expect(ofKind(r, 'retried-request')).toHaveLength(4);
  });

  test('connect timeouts of concurrent requests: each failure keeps its own chain of attempts', () => {
    const cap = new Capture();
    retriedConnect(cap, 0, 51000, 3, 2);
    retriedConnect(cap, 0.003, 52000, 3, 2);
    retriedConnect(cap, 0.006, 53000, 3, 2);
    const r = cap.analyze(detectors);
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(3);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['connect', 'connect', 'connect']);
    expect(found.map((f) => f.evidence.upstreamAttempts)).toEqual([3, 3, 3]);
    // Each chain is its own: the retry ports follow the first attempt's.
    for (const f of found) {
      const first = Number(String(f.evidence.upstreamLeg).split(':')[1]);
      const waits = f.evidence.upstreamAttemptWaits as number[];
      expect(waits.every((w) => Math.abs(w - 2) < 0.01)).toBe(true);
      expect(first % 1000).toBe(0);
    }
    const d = diagnosis(r, 'gateway-timeout', PROXY_ENDPOINT);
    expect(d.inferred.proxyConnectTimeout.value).toBeCloseTo(2, 2);
  });

  test('attempts cut on a once-a-second tick (in two groups 0.2 s apart): no value is named', () => {
    const cap = new Capture();
    // First attempts at a random phase (1.8 s), the retries right after a tick (2.0 s).
    for (const [i, at] of [0, 0.01, 0.02].entries()) {
      const uri = `/slow?t=${i}`;
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get(uri));
      let t = at + 0.0015;
      for (const each of [1.8, 2, 2]) {
        const up = upstream(cap);
        up.handshake(t).request(t + 0.0005, get(uri));
        up.close(t + 0.0005 + each, 'c');
        t += each + 0.002;
      }
      down.response(t, ok('timeout', [], 'HTTP/1.1', '504 Gateway Timeout'));
    }
    const r = cap.analyze(detectors);
    expect(ofKind(r, 'gateway-timeout')).toHaveLength(3);
    const d = diagnosis(r, 'gateway-timeout', PROXY_ENDPOINT);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('waits too spread to name one value');
    const u = diagnosis(r, 'unanswered-request', `${BACKEND}:8080`);
    expect(u.inferred).toEqual({});
    expect(u.explanation).toContain('checked on a periodic tick');
  });

  test('two read timeouts for different URIs, 0.5 s apart, stay two values (no tick: no request was cut at both ages)', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/a?1' });
    scene(cap, 3, { delay: 1, upstream: 'read', uri: '/a?2' });
    scene(cap, 6, { delay: 1.5, upstream: 'read', uri: '/b?1' });
    scene(cap, 9, { delay: 1.5, upstream: 'read', uri: '/b?2' });
    // One attempt each: the 504s and their upstream legs are one failure each, in gateway-timeout's diagnoses (GatewayClaims).
    const r = cap.analyze(detectors);
    expect(diagnoses(r, 'unanswered-request', `${BACKEND}:8080`)).toEqual([]);
    const values = diagnoses(r, 'gateway-timeout', PROXY_ENDPOINT).map((d) => d.inferred.proxyReadTimeout?.value ?? 0);
    expect(values.map((v) => Math.round(v * 10) / 10).sort()).toEqual([1, 1.5]);
    // The upstream legs alone tell the same two.
    const alone = cap.analyze(detectors.filter((x) => x.id !== 'gateway-timeout'));
    const upstreamValues = diagnoses(alone, 'unanswered-request', `${BACKEND}:8080`).map((d) => d.inferred.proxyReadTimeout?.value ?? 0);
    expect(upstreamValues.map((v) => Math.round(v * 10) / 10).sort()).toEqual([1, 1.5]);
  });

  test('stays as it was for one attempt per request: concurrent connect timeouts are not taken for each other\'s retries', () => {
    const cap = new Capture();
    // Each first SYN opens after the previous request's (its last packet): only the pairing of every
    // failure with its first attempt first keeps them from being taken as retries.
    scene(cap, 0, { delay: 2, upstream: 'connect', answer: '502 Bad Gateway' });
    scene(cap, 0.1, { delay: 2, upstream: 'connect', answer: '502 Bad Gateway' });
    scene(cap, 0.2, { delay: 2, upstream: 'connect', answer: '502 Bad Gateway' });
    const r = cap.analyze(detectors);
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(3);
    expect(found.every((f) => f.evidence.upstreamAttempts === undefined)).toBe(true);
    expect(diagnosis(r, 'gateway-timeout', PROXY_ENDPOINT).inferred.proxyConnectTimeout.value).toBeCloseTo(2, 2);
  });
});

describe('Caddy 2.6 samples', () => {
  test('backend keep-alive race: Caddy (Go\'s transport) retried the raced GETs, answered the raced POSTs 502; the remedy names its pool setting', async () => {
    const r = await analyzeSample('keepalive-race-caddy');
    const logged = observed('keepalive-race-caddy').races ?? [];
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(logged.length);
    expect(races.every((f) => f.server === '10.99.0.2:9001')).toBe(true);
    const retried = races.filter((f) => f.evidence.retried === true).map((f) => f.evidence.method);
    expect(retried).toEqual(logged.filter((x) => x.retried === true).map((x) => x.method));
    expect(new Set(retried)).toEqual(new Set(['GET']));
    expect(ofKind(r, 'retried-request')).toHaveLength(retried.length);
    expect(r.anomalies.filter((f) => f.server === '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(1.3, 1);
    const n502 = logged.filter((x) => x.clientStatus === 502).length;
    const n200 = logged.filter((x) => x.clientStatus === 200).length;
    expect(d.explanation).toContain(`answered 200 for ${n200} (retried on a new connection)`);
    expect(d.explanation).toContain(`answered 502 for ${n502}`);
    // Graded by what each client got: a GET Caddy resent and answered 200 is a warning, a POST's 502 an error.
    expect(races.map((f) => [f.evidence.method, f.severity])).toEqual(logged.map((x) => [x.method, x.clientStatus === 200 ? 'warning' : 'error']));
    expect(d.severity).toBe('error');
    expect(d.remedy).toContain("Caddy: `keepalive` in reverse_proxy's `transport http`");
    expect(diagnosis(r, 'idle-timeout-mismatch', '10.99.0.2:9001').remedy).toContain("Caddy: `keepalive` in reverse_proxy's `transport http`");
  });

  test('response_header_timeout 1 s: 504s paired with the unanswered upstream requests, proxyReadTimeout ≈ 1 s', async () => {
    const r = await analyzeSample('gateway-timeout-caddy');
    const found = ofKind(r, 'gateway-timeout');
    const n = observed('gateway-timeout-caddy').timeouts?.length ?? 0;
    expect(found).toHaveLength(n);
    expect(found.map((f) => [f.evidence.status, f.evidence.upstreamPhase])).toEqual(Array(n).fill([504, 'read']));
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(Math.abs(d.inferred.proxyReadTimeout.value - 1)).toBeLessThan(0.02);
    expect(d.explanation).toContain('Caddy reverse_proxy transport `response_header_timeout`');
    expect(ofKind(r, 'unanswered-request')).toHaveLength(n);
  });

  test('dial_timeout 2 s against a blackholed backend: 502s, connect phase, proxyConnectTimeout ≈ 2 s', async () => {
    const r = await analyzeSample('connect-timeout-caddy');
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(observed('connect-timeout-caddy').timeouts?.length ?? 0);
    expect(found.every((f) => f.evidence.status === 502 && f.evidence.upstreamPhase === 'connect' && f.evidence.upstreamAttempts === undefined)).toBe(true);
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(Math.abs(d.inferred.proxyConnectTimeout.value - 2)).toBeLessThan(0.02);
    // The connect phase names Caddy's connect setting alone.
    expect(d.explanation).toContain('(Caddy reverse_proxy transport `dial_timeout`)');
    expect(d.explanation).not.toContain('response_header_timeout');
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(found.length);
  });

  test('healthy keep-alive on both legs (Caddy closing idle connections itself): silent', async () => {
    const r = await analyzeSample('healthy-caddy');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });
});

describe('Traffic Server 9.2 samples', () => {
  test('backend keep-alive race: ATS retried the raced GETs and answered the raced POSTs 502', async () => {
    const r = await analyzeSample('keepalive-race-trafficserver');
    const logged = observed('keepalive-race-trafficserver').races ?? [];
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(logged.length);
    const retried = races.filter((f) => f.evidence.retried === true).map((f) => f.evidence.method);
    expect(retried).toEqual(logged.filter((x) => x.retried === true).map((x) => x.method));
    expect(r.anomalies.filter((f) => f.server === '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.explanation).toContain(`answered 502 for ${logged.filter((x) => x.clientStatus === 502).length}`);
    expect(d.remedy).toContain('proxy.config.http.keep_alive_no_activity_timeout_out');
  });

  test('transaction_no_activity_timeout_out 1 s: 4 attempts per request, each cut on the once-a-second tick; the 504 after their sum; no value named', async () => {
    const r = await analyzeSample('gateway-timeout-trafficserver');
    const timeouts = observed('gateway-timeout-trafficserver').timeouts ?? [];
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(timeouts.length);
    expect(found.map((f) => f.evidence.upstreamAttempts)).toEqual(timeouts.map((t) => t.upstreamAttempts?.length));
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    // Before: proxyReadTimeout = 1.808 s (the first attempts only), for a 1 s timeout and 7.8 s waits.
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('times upstream');
    const upstreamCopies = timeouts.reduce((n, t) => n + (t.upstreamAttempts?.length ?? 0), 0);
    expect(ofKind(r, 'unanswered-request')).toHaveLength(upstreamCopies);
    expect(ofKind(r, 'retried-request')).toHaveLength(upstreamCopies - timeouts.length);
    // One diagnosis of the proxy's upstream closes, no value (before: two, 1.808 s and 1.996 s).
    const u = diagnosis(r, 'unanswered-request', '127.0.0.3:9001');
    expect(u.inferred).toEqual({});
  });

  test('connect_attempts_timeout 2 s with the default 3 retries: each 502 paired with its 4 connection attempts, no 10 s "connect timeout"', async () => {
    const r = await analyzeSample('connect-timeout-trafficserver');
    const timeouts = observed('connect-timeout-trafficserver').timeouts ?? [];
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(timeouts.length);
    expect(found.map((f) => f.evidence.upstreamAttempts)).toEqual(timeouts.map((t) => t.attempts?.length));
    expect(ofKind(r, 'no-upstream-connect')).toEqual([]);
    for (const d of diagnoses(r, 'gateway-timeout', '127.0.0.2:8080')) {
      const v = d.inferred.proxyConnectTimeout?.value;
      if (v !== undefined) expect(v).toBeLessThan(3.05);
    }
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(timeouts.reduce((n, t) => n + (t.attempts?.length ?? 0), 0));
  });

  test('healthy keep-alive on both legs: silent', async () => {
    const r = await analyzeSample('healthy-trafficserver');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });
});

describe('h2o 2.2 samples', () => {
  test('backend keep-alive race: h2o retried nothing, every raced request (GET or POST) answered 502', async () => {
    const r = await analyzeSample('keepalive-race-h2o');
    const logged = observed('keepalive-race-h2o').races ?? [];
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(logged.length);
    expect(races.every((f) => f.evidence.retried === false)).toBe(true);
    expect(ofKind(r, 'retried-request')).toEqual([]);
    expect(r.anomalies.filter((f) => f.server === '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.explanation).toContain(`answered 502 for ${logged.length}`);
    expect(d.remedy).toContain('h2o: `proxy.timeout.keepalive`');
  });

  test('proxy.timeout.io 1 s: 502s paired with the unanswered upstream requests, proxyReadTimeout ≈ 1 s', async () => {
    const r = await analyzeSample('gateway-timeout-h2o');
    const found = ofKind(r, 'gateway-timeout');
    const n = observed('gateway-timeout-h2o').timeouts?.length ?? 0;
    expect(found).toHaveLength(n);
    expect(found.map((f) => [f.evidence.status, f.evidence.upstreamPhase])).toEqual(Array(n).fill([502, 'read']));
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(Math.abs(d.inferred.proxyReadTimeout.value - 1)).toBeLessThan(0.02);
    expect(d.explanation).toContain('h2o `proxy.timeout.io`');
  });

  test('proxy.timeout.io 2 s against a blackholed backend: 502s, connect phase, proxyConnectTimeout ≈ 2 s', async () => {
    const r = await analyzeSample('connect-timeout-h2o');
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(observed('connect-timeout-h2o').timeouts?.length ?? 0);
    expect(found.every((f) => f.evidence.status === 502 && f.evidence.upstreamPhase === 'connect')).toBe(true);
    expect(Math.abs(diagnosis(r, 'gateway-timeout', '127.0.0.2:8080').inferred.proxyConnectTimeout.value - 2)).toBeLessThan(0.02);
  });

  test('healthy keep-alive on both legs: silent', async () => {
    const r = await analyzeSample('healthy-h2o');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });
});
