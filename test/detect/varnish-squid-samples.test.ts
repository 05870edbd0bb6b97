/**
 * Varnish Cache 7.1 and Squid 5.7 as reverse proxies (cross-check round 8): the recorded samples
 * (samples/record/*-varnish.sh, *-squid*.sh, each checked against varnishlog or Squid's access log
 * while recording by programs/x8-meta.py), and the mechanisms they showed, on synthetic traffic:
 *
 * - a proxy on a loopback address that connects upstream from its local clients' loopback address
 *   (Varnish on 127.0.0.2 connecting from 127.0.0.1) is paired with its upstream leg;
 * - a race on a proxy's backend leg says what the proxy answered its own clients (Varnish and
 *   Squid retry an idempotent request once, so the race may be invisible to them);
 * - timeouts checked on a coarse tick (Squid: once a second, on a clock of whole seconds) spread
 *   their waits: a few that agree by chance name no value, and each failure is still reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { noUpstreamConnect } from '../../src/detect/detectors/no-upstream-connect';
import { retriedRequest } from '../../src/detect/detectors/retried-request';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { buildTcpPacket, TCP_ACK, TCP_SYN } from '../helpers/packet-builder';
import { analyzeSample, SAMPLES_DIR } from '../samples';
import { Capture, get, ofKind, ok, post } from './reuse-kit';

type Result = Awaited<ReturnType<typeof analyzeSample>>;

/** What the recorder found in the proxy's log (programs/x8-meta.py): the counts to expect if the sample is recorded again. */
interface Observed {
  races?: Array<{ method: string; clientStatus?: number; retried?: boolean }>;
  timeouts?: unknown[];
}

function observed(name: string): Observed {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'samples', `${name}.meta.json`), 'utf8')) as { observed: Observed }).observed;
}

function diagnosis(r: Result, kind: string, server: string) {
  const found = r.diagnoses.filter((d) => d.kind === kind && d.server === server);
  expect(found).toHaveLength(1);
  return found[0];
}

function kinds(r: Result, server: string): string[] {
  return r.anomalies.filter((f) => f.server === server).map((f) => f.kind);
}

describe('Varnish 7.1 samples', () => {
  test('backend keep-alive race: crossings on the backend leg; Varnish retried the GETs (its client got 200) and answered the POSTs 503', async () => {
    const r = await analyzeSample('keepalive-race-varnish');
    const logged = observed('keepalive-race-varnish').races ?? [];
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races).toHaveLength(logged.length);
    expect(races.every((f) => f.server === '10.99.0.2:9001' && f.evidence.form === 'crossing')).toBe(true);
    // Varnish retried the GETs (each once, on a new connection), never a POST (its streamed body).
    const retried = races.filter((f) => f.evidence.retried === true).map((f) => f.evidence.method);
    expect(retried).toEqual(logged.filter((x) => x.retried === true).map((x) => x.method));
    expect(new Set(retried)).toEqual(new Set(['GET']));
    expect(ofKind(r, 'retried-request')).toHaveLength(retried.length);
    const n503 = logged.filter((x) => x.clientStatus === 503).length;
    const n200 = logged.filter((x) => x.clientStatus === 200).length;
    // The client leg: the 503s came within milliseconds (no timer) and the retried GET was answered 200.
    expect(kinds(r, '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(1.3, 1);
    expect(d.explanation).toContain('The client here is a proxy (127.0.0.2:8080)');
    expect(d.explanation).toContain(`answered 503 for ${n503}`);
    expect(d.explanation).toContain(`answered 200 for ${n200} (retried on a new connection)`);
    expect(d.explanation).not.toContain('turns it into a 502');
    expect(d.explanation).not.toContain('None of its clients saw a failure');
    expect(d.remedy).toContain('Varnish: `backend_idle_timeout`');
    expect(d.remedy).toContain('std.cache_req_body()');
  });

  test('with std.cache_req_body() Varnish retries the POSTs too: every race absorbed, and the diagnosis says no client saw a failure', async () => {
    const r = await analyzeSample('keepalive-race-varnish-cached-body');
    const logged = observed('keepalive-race-varnish-cached-body').races ?? [];
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races).toHaveLength(logged.length);
    expect(races.every((f) => f.evidence.retried === true)).toBe(true);
    expect(new Set(races.map((f) => f.evidence.method))).toEqual(new Set(['GET', 'POST']));
    expect(kinds(r, '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.explanation).toContain('None of its clients saw a failure');
    expect(d.explanation).not.toContain('answered 503');
    // Every race absorbed (resent and answered, and so was the client): warnings, as is the diagnosis.
    expect(races.every((f) => f.severity === 'warning' && f.evidence.absorbedByProxy === true)).toBe(true);
    expect(d.severity).toBe('warning');
  });

  test('first_byte_timeout 1 s: the 503s are paired with the unanswered upstream requests (read phase, proxyReadTimeout)', async () => {
    const r = await analyzeSample('gateway-timeout-varnish');
    const found = ofKind(r, 'gateway-timeout');
    const n = observed('gateway-timeout-varnish').timeouts?.length ?? 0;
    expect(found).toHaveLength(n);
    expect(found.map((f) => [f.evidence.status, f.evidence.upstreamPhase])).toEqual(Array(n).fill([503, 'read']));
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(Math.abs(d.inferred.proxyReadTimeout.value - 1)).toBeLessThan(0.02);
    expect(d.explanation).toContain('Varnish `first_byte_timeout`');
    // The upstream legs' unanswered requests are these 503s' failures: in the one diagnosis (GatewayClaims).
    expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request')).toEqual([]);
    expect(ofKind(r, 'unanswered-request').every((f) => d.anomalyIds.includes(f.id))).toBe(true);
    // The upstream leg alone (from 127.0.0.1, the clients' address too): the proxy's timeout, not a client's.
    const alone = await analyzeFiles([path.join(SAMPLES_DIR, 'gateway-timeout-varnish.pcap')], { detectors: [unansweredRequest] });
    const u = diagnosis(alone, 'unanswered-request', '127.0.0.3:9001');
    expect(Object.keys(u.inferred)).toEqual(['proxyReadTimeout']);
    expect(u.explanation).toContain('the address proxy 127.0.0.2 connects to its backends from');
  });

  test('connect_timeout 2 s against a blackholed backend: connect phase, proxyConnectTimeout ≈ 2 s, and the unanswered SYNs', async () => {
    const r = await analyzeSample('connect-timeout-varnish');
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(observed('connect-timeout-varnish').timeouts?.length ?? 0);
    expect(found.every((f) => f.evidence.upstreamPhase === 'connect')).toBe(true);
    expect(Math.abs(diagnosis(r, 'gateway-timeout', '127.0.0.2:8080').inferred.proxyConnectTimeout.value - 2)).toBeLessThan(0.02);
    expect(ofKind(r, 'syn-unanswered')).toHaveLength(found.length);
    // A connect phase names the proxy's connect setting alone, not its response timeouts (blind round 14, variants S2).
    const text = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080').explanation;
    expect(text).toContain('Varnish `connect_timeout` (3.5 s by default)');
    expect(text).not.toContain('first_byte_timeout');
  });

  test('healthy keep-alive on both legs (Varnish closing idle connections itself, a cache hit): silent', async () => {
    const r = await analyzeSample('healthy-varnish');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });
});

describe('Squid 5.7 samples', () => {
  test('backend keep-alive race: every raced GET was retried by Squid and answered 200; no POST rode a reused connection', async () => {
    const r = await analyzeSample('keepalive-race-squid');
    const n = observed('keepalive-race-squid').races?.length ?? 0;
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races).toHaveLength(n);
    expect(races.every((f) => f.evidence.method === 'GET' && f.evidence.retried === true)).toBe(true);
    expect(ofKind(r, 'retried-request')).toHaveLength(n);
    expect(kinds(r, '127.0.0.2:8080')).toEqual([]);
    const d = diagnosis(r, 'keepalive-race', '10.99.0.2:9001');
    expect(d.explanation).toContain(`answered 200 for ${n} (retried on a new connection)`);
    expect(d.remedy).toContain('Squid: `server_idle_pconn_timeout`');
    // Every race here was sent again: the remedy does not say none was.
    expect(d.remedy).not.toContain('the proxy sent none of these requests again');
    expect(diagnosis(r, 'idle-timeout-mismatch', '10.99.0.2:9001').remedy).toContain('Squid: `server_idle_pconn_timeout`');
    // Squid closes an idle pooled connection as it opens a new one for a POST: no idle timer of its own.
    expect(diagnosis(r, 'idle-timeout-mismatch', '10.99.0.2:9001').inferred.clientIdleTimeout).toBeUndefined();
  });

  test('read_timeout 1 s on a whole-second tick: 504s anywhere from ~0 to ~2 s after their requests, all reported, no value named', async () => {
    const r = await analyzeSample('gateway-timeout-squid');
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(observed('gateway-timeout-squid').timeouts?.length ?? 0);
    expect(found.every((f) => f.evidence.status === 504 && f.evidence.upstreamPhase === 'read')).toBe(true);
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('waits too spread to name one value');
  });

  test('cache_peer connect-timeout=2 on a whole-second tick: 503s spread over the second after 2 s, all reported, no value named', async () => {
    const r = await analyzeSample('connect-timeout-squid');
    const found = ofKind(r, 'gateway-timeout');
    expect(found).toHaveLength(observed('connect-timeout-squid').timeouts?.length ?? 0);
    expect(found.every((f) => f.evidence.status === 503 && f.evidence.upstreamPhase === 'connect')).toBe(true);
    const d = diagnosis(r, 'gateway-timeout', '127.0.0.2:8080');
    expect(d.inferred).toEqual({});
    // The connect phase: Squid's connect settings alone, not its read_timeout.
    expect(d.explanation).toContain('Squid `connect_timeout` and `forward_timeout`');
    expect(d.explanation).not.toContain('read_timeout');
    expect(d.explanation).toContain('for a cache_peer its `connect-timeout=`');
  });

  test('client_idle_pconn_timeout 3 s: Squid closes an idle client connection as the next request arrives (closed on arrival)', async () => {
    const r = await analyzeSample('keepalive-race-squid-client-idle');
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(observed('keepalive-race-squid-client-idle').races?.length ?? 0);
    expect(races.every((f) => f.server === '127.0.0.2:8080' && f.evidence.form === 'closed-on-arrival')).toBe(true);
    expect(diagnosis(r, 'keepalive-race', '127.0.0.2:8080').remedy).toContain('Squid `client_idle_pconn_timeout`');
  });

  test('healthy keep-alive on both legs (Squid closing idle connections itself): silent', async () => {
    const r = await analyzeSample('healthy-squid');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });
});

/** A client on `client` asks the proxy at `proxy`:80; the proxy forwards from `via` to 10.9.9.3:8080 / 127.0.0.3:8080. */
function loopbackScene(cap: Capture, at: number, o: { client: string; proxy: string; via: string; backend: string; uri: string; delay: number; answer: string; upstream: 'answered' | 'read' | 'connect' }): void {
  const down = cap.connection({ client: o.client, server: o.proxy, sport: 80 });
  down.handshake(at).request(at + 0.001, get(o.uri));
  const answerAt = at + 0.001 + o.delay;
  if (o.upstream === 'connect') {
    cap.add(at + 0.0015, buildTcpPacket({ src: o.via, dst: o.backend, sport: 50000 + Math.round(at * 10), dport: 8080, seq: 7000, flags: TCP_SYN }));
  } else {
    const up = cap.connection({ client: o.via, server: o.backend, sport: 8080 });
    up.handshake(at + 0.0015).request(at + 0.002, get(o.uri));
    if (o.upstream === 'answered') up.response(answerAt - 0.0005, ok());
    up.close(answerAt - 0.0002, 'c');
  }
  down.response(answerAt, ok('', [], 'HTTP/1.1', o.answer));
  down.close(answerAt + 0.01, 'c');
}

function twoAnsweredThenTimeouts(client: string, proxy: string, via: string, backend: string): Capture {
  const cap = new Capture();
  for (const [i, uri] of ['/a', '/b', '/c'].entries()) loopbackScene(cap, i * 0.1, { client, proxy, via, backend, uri, delay: 0.005, answer: '200 OK', upstream: 'answered' });
  for (const [i, uri] of ['/slow1', '/slow2', '/slow3'].entries()) {
    loopbackScene(cap, 1 + i * 0.2, { client, proxy, via, backend, uri, delay: 1, answer: '503 Service Unavailable', upstream: 'read' });
  }
  return cap;
}

describe('a proxy on a loopback address connecting upstream from its clients\' loopback address', () => {
  test('is paired with its upstream leg: read phase and proxyReadTimeout (Varnish on 127.0.0.2, backends reached from 127.0.0.1)', () => {
    const r = twoAnsweredThenTimeouts('127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.3').analyze([gatewayTimeout, noUpstreamConnect, unansweredRequest]);
    const found = ofKind(r, 'gateway-timeout');
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['read', 'read', 'read']);
    const d = r.diagnoses.find((x) => x.kind === 'gateway-timeout');
    expect(d?.inferred.proxyReadTimeout.value).toBeCloseTo(1, 2);
    // The upstream requests' closes are the proxy's timeout, not its local clients' (read by
    // unanswered-request alone: beside gateway-timeout they are in its diagnosis).
    const alone = twoAnsweredThenTimeouts('127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.3').analyze([unansweredRequest]);
    expect(Object.keys(alone.diagnoses.find((x) => x.kind === 'unanswered-request')?.inferred ?? {})).toEqual(['proxyReadTimeout']);
    expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request')).toEqual([]);
  });

  test('off loopback the same copies from the client\'s own address are a client asking two servers the same: not paired', () => {
    const r = twoAnsweredThenTimeouts('10.9.9.1', '10.9.9.2', '10.9.9.1', '10.9.9.3').analyze([gatewayTimeout, noUpstreamConnect]);
    expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible', 'invisible']);
  });

  test('copies that do not nest as a forward (answered after the proxy answered) teach nothing', () => {
    const cap = new Capture();
    for (const [i, uri] of ['/a', '/b', '/c'].entries()) {
      const at = i * 0.1;
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.2', sport: 80 });
      down.handshake(at).request(at + 0.001, get(uri)).response(at + 0.005, ok()).close(at + 0.02, 'c');
      const other = cap.connection({ client: '127.0.0.1', server: '127.0.0.3', sport: 8080 });
      other.handshake(at + 0.002).request(at + 0.003, get(uri)).response(at + 0.009, ok()).close(at + 0.02, 'c');
    }
    for (const [i, uri] of ['/slow1', '/slow2'].entries()) {
      loopbackScene(cap, 1 + i * 0.2, { client: '127.0.0.1', proxy: '127.0.0.2', via: '127.0.0.1', backend: '127.0.0.3', uri, delay: 1, answer: '503 Service Unavailable', upstream: 'read' });
    }
    const r = cap.analyze([gatewayTimeout, noUpstreamConnect]);
    expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible']);
  });

  test('a local client that gives up on the proxy itself is still a client, not the proxy', () => {
    const cap = twoAnsweredThenTimeouts('127.0.0.1', '127.0.0.2', '127.0.0.1', '127.0.0.3');
    // The client's own 0.5 s timeout on the proxy: it closes before any answer.
    for (const [i, uri] of ['/hang1', '/hang2', '/hang3'].entries()) {
      const at = 3 + i * 0.2;
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.2', sport: 80 });
      down.handshake(at).request(at + 0.001, get(uri)).close(at + 0.501, 'c');
    }
    const r = cap.analyze([gatewayTimeout, noUpstreamConnect, unansweredRequest]);
    const d = r.diagnoses.find((x) => x.kind === 'unanswered-request' && x.server === '127.0.0.2:80');
    expect(d).toBeDefined();
    expect(Object.keys(d?.inferred ?? {})).toEqual(['clientTimeout']);
  });
});

describe('timeouts on a coarse tick (Squid)', () => {
  function connectFailures(delays: readonly number[]): Capture {
    const cap = new Capture();
    for (const [i, uri] of ['/ok1', '/ok2'].entries()) loopbackScene(cap, i * 0.1, { client: '10.0.0.1', proxy: '10.0.0.2', via: '10.0.0.2', backend: '10.0.0.3', uri, delay: 0.005, answer: '200 OK', upstream: 'answered' });
    delays.forEach((delay, i) => {
      loopbackScene(cap, 1 + i * 4, { client: '10.0.0.1', proxy: '10.0.0.2', via: '10.0.0.2', backend: '10.0.0.3', uri: `/x/${i}`, delay, answer: '503 Service Unavailable', upstream: 'connect' });
    });
    return cap;
  }

  test('two waits that agree among five spread ones name no value, and all five 503s are reported', () => {
    const r = connectFailures([2.126, 2.22, 2.52, 2.824, 2.85]).analyze([gatewayTimeout, noUpstreamConnect]);
    expect(ofKind(r, 'gateway-timeout')).toHaveLength(5);
    expect(r.diagnoses.find((d) => d.kind === 'gateway-timeout')?.inferred).toEqual({});
  });

  test('a real cluster with a few outliers far from it keeps its value', () => {
    const r = connectFailures([2.0, 2.001, 2.002, 2.003, 6.5]).analyze([gatewayTimeout, noUpstreamConnect]);
    const d = r.diagnoses.find((x) => x.kind === 'gateway-timeout' && Object.keys(x.inferred).length > 0);
    expect(d?.inferred.proxyConnectTimeout.value).toBeCloseTo(2.0015, 3);
    expect(ofKind(r, 'gateway-timeout')).toHaveLength(5);
  });

  test('two different timeouts at one proxy are both named', () => {
    const r = connectFailures([1.0, 1.001, 1.002, 3.0, 3.001, 3.002]).analyze([gatewayTimeout, noUpstreamConnect]);
    const values = r.diagnoses.filter((x) => x.kind === 'gateway-timeout').map((x) => x.inferred.proxyConnectTimeout?.value).sort();
    expect(values.map((v) => Math.round((v ?? 0) * 10) / 10)).toEqual([1, 3]);
  });
});

describe('a keep-alive race on a proxy\'s backend leg', () => {
  /** The proxy (10.0.0.2:80, connecting from its own address) reuses a backend connection as the backend's idle FIN crosses it. */
  function raceBehindProxy(retry: boolean): Capture {
    const cap = new Capture();
    const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
    up.handshake(0);
    const uris = ['/p0', '/p1', '/p2'];
    uris.forEach((uri, i) => {
      const at = i * 0.5;
      const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
      down.handshake(at).request(at + 0.001, get(uri));
      up.exchange(at + 0.002, get(uri), ok());
      down.response(at + 0.004, ok()).close(at + 0.1, 'c');
    });
    // 2 s later: POST from the client, forwarded on the pooled connection as the backend closes it.
    const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
    down.handshake(3).request(3.001, post('/items', '{}'));
    up.request(3.002, post('/items', '{}'), { noAck: true });
    up.fin(3.0021, 's', { ack: undefined });
    up.rst(3.003, 's');
    if (retry) {
      const again = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
      again.handshake(3.004).request(3.005, post('/items', '{}')).response(3.006, ok('', [], 'HTTP/1.1', '201 Created')).close(4, 'c');
      down.response(3.007, ok('', [], 'HTTP/1.1', '201 Created'));
    } else {
      down.response(3.004, ok('', [], 'HTTP/1.1', '503 Service Unavailable'));
    }
    down.close(3.1, 'c');
    return cap;
  }

  test('says the proxy answered its client 503 when it did not retry', () => {
    const r = raceBehindProxy(false).analyze([keepaliveRace, retriedRequest]);
    expect(ofKind(r, 'keepalive-race')).toHaveLength(1);
    const d = r.diagnoses.find((x) => x.kind === 'keepalive-race');
    expect(d?.explanation).toContain('The client here is a proxy (10.0.0.2:80)');
    expect(d?.explanation).toContain('answered 503 for 1');
    expect(d?.remedy).toContain('its backend pool setting is the one to lower');
  });

  test('says the race was absorbed when the proxy retried and its client got the answer', () => {
    const r = raceBehindProxy(true).analyze([keepaliveRace, retriedRequest]);
    const d = r.diagnoses.find((x) => x.kind === 'keepalive-race');
    expect(d?.explanation).toContain('answered 201 for 1 (retried on a new connection)');
  });

  test('a client that forwards nothing gets the plain wording', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8080 });
    c.handshake(0).exchange(0.001, get('/a'), ok()).exchange(0.5, get('/b'), ok());
    c.request(2.5, get('/c'), { noAck: true });
    c.fin(2.5001, 's');
    c.rst(2.501, 's');
    const r = cap.analyze([keepaliveRace]);
    const d = r.diagnoses.find((x) => x.kind === 'keepalive-race');
    expect(d?.explanation).not.toContain('The client here is a proxy');
    expect(d?.explanation).toContain('a proxy in front turns them into a 502');
  });
});

describe('syn-unanswered when no attempt to a server is ever answered', () => {
  /** An attempt from port `sport` at `at`: SYN, retransmitted after 1 s, never answered. */
  function attempt(cap: Capture, at: number, sport: number): void {
    for (const t of [at, at + 1]) cap.add(t, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.3', sport, dport: 9009, seq: 1000 + sport, flags: TCP_SYN }));
  }

  test('bursts and lone attempts all unanswered: a dead or filtered server, not a burst overflowing a backlog', () => {
    const cap = new Capture();
    [0, 0.001, 0.002].forEach((t, i) => attempt(cap, t, 50001 + i));
    attempt(cap, 3, 50010);
    attempt(cap, 6, 50011);
    cap.add(12, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.9', sport: 40000, dport: 80, seq: 1, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered]);
    const d = r.diagnoses.find((x) => x.kind === 'syn-unanswered');
    expect(d?.explanation).toContain('No attempt to 10.0.0.3:9009 in the capture was answered');
    expect(d?.explanation).not.toContain('while many connections arrived at once');
  });

  test('a burst alone, never answered, is no backlog overflow either (one that overflows answers the first SYNs); reachability comes first in the remedy', () => {
    const cap = new Capture();
    [0, 0.001, 0.002].forEach((t, i) => attempt(cap, t, 50001 + i));
    cap.add(12, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.9', sport: 40000, dport: 80, seq: 1, flags: TCP_SYN }));
    const d = cap.analyze([synUnanswered]).diagnoses.find((x) => x.kind === 'syn-unanswered');
    expect(d?.explanation).toContain('No attempt to 10.0.0.3:9009 in the capture was answered, up to 3 of them waiting at once');
    expect(d?.remedy).toMatch(/^Check first that 10\.0\.0\.3 is up and reachable/);
  });

  test('a burst of which one attempt was answered keeps the backlog reading', () => {
    const cap = new Capture();
    [0, 0.001, 0.002].forEach((t, i) => attempt(cap, t, 50001 + i));
    // A fourth attempt of the burst is answered at its retry.
    cap.add(0.003, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.3', sport: 50009, dport: 9009, seq: 5000, flags: TCP_SYN }));
    cap.add(1.003, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.3', sport: 50009, dport: 9009, seq: 5000, flags: TCP_SYN }));
    cap.add(1.0031, buildTcpPacket({ src: '10.0.0.3', dst: '10.0.0.2', sport: 9009, dport: 50009, seq: 9000, ack: 5001, flags: TCP_SYN | TCP_ACK }));
    cap.add(1.0032, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.3', sport: 50009, dport: 9009, seq: 5001, ack: 9001, flags: TCP_ACK }));
    cap.add(12, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.9', sport: 40000, dport: 80, seq: 1, flags: TCP_SYN }));
    const d = cap.analyze([synUnanswered]).diagnoses.find((x) => x.kind === 'syn-unanswered');
    expect(d?.explanation).toContain('while many connections arrived at once');
    expect(d?.remedy).toMatch(/^On 10\.0\.0\.3: compare/);
  });

  test('when the clients that abandoned gave up: between their last SYN and the next one due', () => {
    const cap = new Capture();
    [0, 0.001, 0.002].forEach((t, i) => attempt(cap, t, 50001 + i));
    cap.add(12, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.9', sport: 40000, dport: 80, seq: 1, flags: TCP_SYN }));
    const r = cap.analyze([synUnanswered]);
    // One interval of 1 s: the next SYN was due 1 s (linear, Linux >= 6.5) or 2 s (doubling) later at the latest.
    expect(r.anomalies.map((f) => f.evidence.gaveUpWithin)).toEqual([[1, 3], [1, 3], [1, 3]]);
    expect(r.diagnoses[0].explanation).toContain('3 between 1.0 and 3.0 s after their first SYN');
  });
});

describe('idle-timeout-mismatch: a client that closes an idle connection as it opens another to the same server', () => {
  function scene(replace: boolean): Capture {
    const cap = new Capture();
    // The server's own idle closes (5 s), three of them: its idle timeout is known.
    for (let i = 0; i < 3; i++) {
      const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8080 });
      c.handshake(i * 0.01).exchange(i * 0.01 + 0.001, get(`/s${i}`), ok()).close(i * 0.01 + 5.002, 's');
    }
    // A reuse after 4.95 s idle, close to the server's 5 s: the diagnosis is made.
    cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8080 }).handshake(30).exchange(30.001, get('/r1'), ok()).exchange(34.95, get('/r2'), ok()).close(35, 'c');
    // The client's closes of idle connections after 1.3 s; with `replace`, each as it opens the next one (Squid, for a POST).
    for (let i = 0; i < 3; i++) {
      const at = 10 + i * 2;
      const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8080 });
      c.handshake(at).exchange(at + 0.001, get(`/c${i}`), ok());
      c.close(at + 1.302, 'c');
      if (replace) cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8080 }).handshake(at + 1.3023).exchange(at + 1.304, post(`/p${i}`, '{}'), ok());
    }
    return cap;
  }

  test('closes that replace the connection are no idle timer: no clientIdleTimeout', () => {
    const d = scene(true).analyze([idleTimeoutMismatch]).diagnoses.find((x) => x.kind === 'idle-timeout-mismatch');
    expect(d?.inferred.clientIdleTimeout).toBeUndefined();
  });

  test('the same closes alone infer the client\'s idle timeout', () => {
    const r = scene(false).analyze([idleTimeoutMismatch]);
    const d = r.diagnoses.find((x) => x.kind === 'idle-timeout-mismatch');
    expect(d?.inferred.clientIdleTimeout?.value).toBeCloseTo(1.301, 2);
  });
});
