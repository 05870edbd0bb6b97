/**
 * A proxy's 5xx for a request its backend closed without a response (blind 13, s4 and s14: uWSGI's
 * harakiri SIGKILLs the worker about 4 s into the request; h2o answers 502 on the EOF; Caddy sends
 * the GET again on a new upstream connection, which is killed too, and answers 502 after 8 s).
 * gateway-timeout leaves such a 502 out (no timer of the proxy's fired); before, nothing else named
 * it: the capture of both legs said "unanswered-request at the backend" and the client's 502, and
 * the 8 s it waited for two attempts, were in no finding. Now the 502 is an unanswered-request
 * finding on the client's connection (frames: its request, the 502, the backend's closes), listed
 * in the backend's diagnosis, which says what the proxy answered and after how many attempts.
 */
import { DETECTORS } from '../../src/detect/registry';
import { BACKEND_ENDPOINT, chain, CLIENT, downstream, FRONT_ENDPOINT, PROXY_ENDPOINT, throughChain, upstream } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

const BAD_GATEWAY = (server: string): string => ok('bad gateway', [`Server: ${server}`], 'HTTP/1.1', '502 Bad Gateway');

/**
 * GET `uri` through the proxy at `at`: forwarded at once; the backend closes each attempt (FIN)
 * `kill` s after it, unanswered; the proxy sends it again on a new connection `attempts - 1` times,
 * then answers 502 `answerAfter` s after the last close. The first attempt goes on a pooled
 * connection that served a request before (as Caddy's did), the others on new ones.
 */
function killedBehindProxy(cap: Capture, at: number, o: { uri: string; attempts: number; kill?: number; answerAfter?: number; server?: string }): void {
  const kill = o.kill ?? 4;
  const down = downstream(cap);
  down.handshake(at).request(at + 0.001, get(o.uri));
  let t = at + 0.0012;
  for (let i = 0; i < o.attempts; i++) {
    const up = upstream(cap);
    if (i === 0) up.handshake(at - 1).exchange(at - 0.99, get('/warm'), ok('warm'));
    else up.handshake(t - 0.0003);
    up.request(t, get(o.uri));
    up.fin(t + kill, 's').fin(t + kill + 0.0001, 'c').ack(t + kill + 0.0002, 's');
    t += kill + 0.0005;
  }
  down.response(t - 0.0005 + (o.answerAfter ?? 0.0003), BAD_GATEWAY(o.server ?? 'Caddy'));
  down.close(t + 0.01 + (o.answerAfter ?? 0), 'c');
}

const relayedOf = (r: ReturnType<Capture['analyze']>) => ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose === true);
const upstreamOf = (r: ReturnType<Capture['analyze']>) => ofKind(r, 'unanswered-request').filter((f) => f.server === BACKEND_ENDPOINT);

describe('unanswered-request: the 5xx a proxy relayed of its backend\'s close', () => {
  test('one attempt (h2o): the 502 is a finding on the client\'s connection, linked to the close, and the backend\'s diagnosis lists it', () => {
    const cap = new Capture();
    killedBehindProxy(cap, 10, { uri: '/slow/10', attempts: 1, server: 'h2o/2.2.5' });
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
    const [up] = upstreamOf(r);
    const relayed = relayedOf(r);
    expect(relayed).toHaveLength(1);
    const [f] = relayed;
    expect(f).toMatchObject({ severity: 'error', server: PROXY_ENDPOINT });
    expect(f.client?.startsWith(`${CLIENT}:`)).toBe(true);
    expect(f.evidence).toMatchObject({ status: 502, upstreamAttempts: 1, upstreamServer: BACKEND_ENDPOINT, upstreamFindings: [up.id], upstreamRetryFlowIds: [] });
    expect(f.evidence.delaySeconds).toBeCloseTo(4, 2);
    // Its frames: the client's request, the 502, and the backend's FIN (the upstream finding's).
    expect(f.frames).toHaveLength(3);
    expect(f.frames).toContain(up.frames[up.frames.length - 2]);
    expect(f.summary).toContain('answered 502 by the proxy');
    expect(f.summary).toContain('relayed that close');
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.server).toBe(BACKEND_ENDPOINT);
    expect(d.anomalyIds.sort()).toEqual([up.id, f.id].sort());
    expect(d.explanation).toContain(`The proxy h2o/2.2.5 (${PROXY_ENDPOINT}) answered its client 502 for 1 of these requests`);
    expect(d.explanation).toContain('No timer of the proxy\'s fired');
  });

  test('retried (Caddy): the proxy sent the GET again after the backend\'s close; the client waited for both attempts', () => {
    const cap = new Capture();
    killedBehindProxy(cap, 10, { uri: '/slow/10', attempts: 2 });
    killedBehindProxy(cap, 30, { uri: '/slow/12', attempts: 1 });
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
    const up = upstreamOf(r);
    expect(up).toHaveLength(3);
    const relayed = relayedOf(r);
    expect(relayed.map((f) => f.evidence.upstreamAttempts)).toEqual([2, 1]);
    const [twice, once] = relayed;
    // Both attempts are the pairing's: the first's close at the backend is no other client's request.
    expect(twice.evidence.upstreamRetryFlowIds).toHaveLength(1);
    expect(twice.evidence.upstreamFindings).toEqual([up[0].id, up[1].id]);
    expect((twice.evidence.upstreamAttemptWaits as number[]).map((w) => Math.round(w))).toEqual([4, 4]);
    expect(twice.evidence.delaySeconds).toBeCloseTo(8, 2);
    expect(twice.frames).toHaveLength(4);
    expect(twice.summary).toContain('2 times');
    expect(twice.summary).toContain('the client waited for every attempt');
    expect(once.evidence.upstreamFindings).toEqual([up[2].id]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.anomalyIds.sort()).toEqual([...up, ...relayed].map((f) => f.id).sort());
    expect(d.explanation).toContain(`The proxy Caddy (${PROXY_ENDPOINT}) answered its clients 502 for 2 of them`);
    expect(d.explanation).toContain('for 1 (GET /slow/12) right after the backend\'s close');
    expect(d.explanation).toMatch(/for 1 \(GET \/slow\/10\) it sent the request again on a new upstream connection after the backend closed the first attempt unanswered \(4(\.\d+)? s after it\); the second was closed too/);
    expect(d.explanation).toContain('the sum of both attempts');
  });

  test('three attempts: each one named with its wait', () => {
    const cap = new Capture();
    killedBehindProxy(cap, 10, { uri: '/slow/9', attempts: 3, kill: 2 });
    const r = cap.analyze(DETECTORS);
    const [f] = relayedOf(r);
    expect(f.evidence.upstreamAttempts).toBe(3);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.explanation).toMatch(/it sent the request 3 times, each on a new upstream connection .*\(first after 2 s, second after 2 s, third after 2 s\), and the client got 502 after 6(\.\d+)? s: the sum of the attempts/);
  });

  test('behind a chain: the front that passed the proxy\'s 502 on is counted too', () => {
    const cap = new Capture();
    const c = chain(cap, 9);
    const up = upstream(cap);
    up.handshake(10.0003).request(10.0004, get('/slow/10'));
    up.fin(14.0004, 's').fin(14.0005, 'c').ack(14.0006, 's');
    throughChain(c, 10, get('/slow/10'), 14.0008, '502 Bad Gateway');
    const r = cap.analyze(DETECTORS);
    const relayed = relayedOf(r);
    expect(relayed.map((f) => f.server)).toEqual([PROXY_ENDPOINT]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.explanation).toContain(`Further up, ${FRONT_ENDPOINT} relayed 1 of them to its clients.`);
  });

  test('near miss: the proxy\'s own read timeout closed the upstream connection: gateway-timeout\'s, no relay', () => {
    const cap = new Capture();
    for (const at of [10, 20]) {
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get('/slow'));
      const up = upstream(cap);
      up.handshake(at + 0.0012).request(at + 0.0015, get('/slow'));
      up.close(at + 3.0015, 'c');
      down.response(at + 3.002, ok('timeout', ['Server: Caddy'], 'HTTP/1.1', '504 Gateway Timeout')).close(at + 3.01, 'c');
    }
    const r = cap.analyze(DETECTORS);
    expect(ofKind(r, 'gateway-timeout')).toHaveLength(2);
    expect(relayedOf(r)).toEqual([]);
  });

  test('near miss: a backend closing on a direct client (no proxy in front) keeps its plain diagnosis', () => {
    const cap = new Capture();
    for (const at of [10, 20]) {
      const c = cap.connection({ client: CLIENT, server: '10.0.0.3', sport: 8080 });
      c.handshake(at).request(at + 0.001, get('/slow/10'));
      c.fin(at + 4.001, 's').fin(at + 4.0011, 'c').ack(at + 4.0012, 's');
    }
    const r = cap.analyze(DETECTORS);
    expect(upstreamOf(r)).toHaveLength(2);
    expect(relayedOf(r)).toEqual([]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.anomalyIds).toHaveLength(2);
    expect(d.explanation).not.toContain('answered its client');
  });

  test('near miss: a 502 long after the backend\'s close is not told as its relay (the proxy did something else meanwhile)', () => {
    const cap = new Capture();
    killedBehindProxy(cap, 10, { uri: '/slow/10', attempts: 1, answerAfter: 1 });
    const r = cap.analyze(DETECTORS);
    expect(upstreamOf(r)).toHaveLength(1);
    expect(relayedOf(r)).toEqual([]);
  });
});
