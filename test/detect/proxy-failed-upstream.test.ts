/**
 * A proxy that closes its client's connection without an answer because the request it forwarded
 * failed upstream (Apache mod_proxy after a keep-alive race on a reused backend connection:
 * AH01102, then AH01104 "Closing connection to client"), when the proxy connects to its backends
 * from another address than the one it listens on (a backend-facing interface). Which address
 * that is can be learned only from the whole capture; the close is told forwarded by the failed
 * copy of the request itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { SAMPLES_DIR } from '../samples';
import { Capture, Conn, get, ofKind, ok, post } from './reuse-kit';

const CLIENT = '10.0.0.1';
const PROXY = '10.0.0.2';
const VIA = '10.0.1.2';
const BACKEND = '10.0.0.3';

/**
 * At `t`: the client's first request is forwarded and answered on a new backend connection; 1 s
 * later the client POSTs on its kept-alive connection, the proxy forwards it on the pooled backend
 * connection just as the backend's idle FIN crosses it; the backend resets, and the proxy closes
 * the client's connection `closeAfter` s after the request.
 */
function failedUpstream(cap: Capture, t: number, i: number, closeAfter: number, via = VIA): { down: Conn; up: Conn } {
  const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  const up = cap.connection({ client: via, server: BACKEND, sport: 8080 });
  down.handshake(t).request(t + 0.01, get(`/a${i}`));
  up.handshake(t + 0.0105).exchange(t + 0.011, get(`/a${i}`), ok('first'));
  down.response(t + 0.0125, ok('first'));
  down.request(t + 1.0126, post('/items', `{"i":${i}}`));
  up.fin(t + 1.0125, 's');
  up.request(t + 1.0131, post('/items', `{"i":${i}}`), { sawFin: false, noAck: true });
  up.rst(t + 1.0132, 's');
  down.fin(t + 1.0126 + closeAfter, 's').fin(t + 1.0127 + closeAfter, 'c').ack(t + 1.0128 + closeAfter, 's');
  return { down, up };
}

describe('a proxy that closes the client connection after its forwarded request failed upstream, from another address', () => {
  test('only the upstream legs are keep-alive races; the client requests are unanswered, forwarded, and infer no proxy timeout', () => {
    const cap = new Capture();
    // Close delays that agree closely: they would otherwise make a "server timeout" of ~2 ms.
    const scenes = [0, 5, 10].map((t, i) => failedUpstream(cap, t, i, 0.002 + i * 0.0001));
    const r = cap.analyze(DETECTORS);
    const races = ofKind(r, 'keepalive-race');
    expect(races.map((f) => f.client)).toEqual(scenes.map((s) => s.up.clientName));
    const unanswered = ofKind(r, 'unanswered-request');
    expect(unanswered.map((f) => f.client)).toEqual(scenes.map((s) => s.down.clientName));
    expect(unanswered.map((f) => f.evidence.forwardedOnFlow)).toEqual(races.map((f) => f.flowId));
    expect(unanswered.map((f) => f.evidence.forwardedTo)).toEqual(scenes.map((s) => s.up.serverName));
    // Each client-leg close is the race's other leg (blind round 16, chains S2): one failure, told
    // once, by the race's diagnosis, which lists the close as part of it and counts it once.
    expect(unanswered.map((f) => f.evidence.upstreamFinding)).toEqual(races.map((f) => f.id));
    expect(unanswered.map((f) => f.severity)).toEqual(scenes.map(() => 'info'));
    expect(unanswered[0].summary).toContain(`(${races[0].id}: the same failure, counted there)`);
    expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request')).toEqual([]);
    const [d, ...more] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(more).toEqual([]);
    expect(d.severity).toBe('error');
    expect(d.count).toBe(scenes.length);
    expect(d.anomalyIds).toEqual([...races.map((f) => f.id), ...unanswered.map((f) => f.id)]);
    expect(r.stats.findingsBySeverity.error).toBe(scenes.length);
    // Apache's condition is its CLIENT connection's reuse (mod_proxy_http checks c->keepalives), not
    // the backend connection's (blind round 15, S5: a new backend connection, a reused client one).
    expect(d.explanation).toContain("closed the client's connection without a response for 3");
    expect(d.explanation).toContain('not more failures');
    expect(d.explanation).toContain('that was not the first on that connection');
    expect(d.explanation).toContain('AH01104');
  });

  test('a copy the backend answered before the proxy closed does not explain the close', () => {
    const cap = new Capture();
    const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
    const up = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
    down.handshake(0).request(0.01, get('/x'));
    up.handshake(0.0105).exchange(0.011, get('/x'), ok('answered'));
    down.fin(0.05, 's').fin(0.0501, 'c').ack(0.0502, 's');
    up.close(0.06, 'c');
    const r = cap.analyze(DETECTORS);
    const [unanswered] = ofKind(r, 'unanswered-request');
    expect(unanswered.client).toBe(down.clientName);
    expect(unanswered.evidence.forwardedOnFlow).toBeNull();
  });

  test("a copy sent by the client's own host (a client asking two servers) does not explain the close", () => {
    const cap = new Capture();
    const { down } = failedUpstream(cap, 0, 0, 0.002, CLIENT);
    const r = cap.analyze(DETECTORS);
    // The close stays the server's own doing: reported on the client's leg (as a close on arrival
    // or an unanswered request), and never as forwarded.
    const onDown = r.anomalies.filter((f) => f.client === down.clientName);
    expect(onDown.map((f) => f.kind)).not.toEqual([]);
    expect(onDown.filter((f) => f.evidence.forwardedOnFlow !== undefined && f.evidence.forwardedOnFlow !== null)).toEqual([]);
  });
});

describe('a proxy on loopback that connects to its backend from its clients\' own address (HAProxy on 127.0.0.2 sending from 127.0.0.1)', () => {
  const L_CLIENT = '127.0.0.1';
  const L_PROXY = '127.0.0.2';
  const L_BACKEND = '127.0.0.3';

  /**
   * At `t`: a first request (forwarded and answered, when `forwardFirst`, else answered by the
   * proxy itself); `idle` s later a second one, forwarded on the pooled backend connection, which
   * the backend's lazy idle close resets `closeAfter` s after it came, unread; the proxy closes its
   * client's connection 0.2 ms later without an answer.
   */
  function lazyRelay(cap: Capture, t: number, i: number, idle: number, closeAfter: number, forwardFirst = true): { down: Conn; up: Conn } {
    const down = cap.connection({ client: L_CLIENT, server: L_PROXY, sport: 8080 });
    const up = cap.connection({ client: L_CLIENT, server: L_BACKEND, sport: 8085 });
    down.handshake(t).request(t + 0.01, get(`/l/a${i}`));
    if (forwardFirst) up.handshake(t + 0.0105).exchange(t + 0.011, get(`/l/a${i}`), ok('first'));
    else up.handshake(t + 0.0105).exchange(t + 0.011, get(`/other${i}`), ok('first'));
    down.response(t + 0.0125, ok('first'));
    const reqTs = t + 0.0125 + idle;
    down.request(reqTs, get(`/l/b${i}`));
    up.request(reqTs + 0.0003, get(`/l/b${i}`));
    up.rstAck(reqTs + 0.0003 + closeAfter, 's');
    down.fin(reqTs + 0.0005 + closeAfter, 's').fin(reqTs + 0.0007 + closeAfter, 'c').ack(reqTs + 0.0008 + closeAfter, 's');
    return { down, up };
  }

  test('its client-leg closes after the backend\'s lazy resets (9-82 ms after the requests) are the races\' relay: unanswered and forwarded, no idle race or timeout of the proxy\'s', () => {
    const cap = new Capture();
    const scenes = [[1.092, 0.0091], [1.022, 0.082], [1.061, 0.041], [1.028, 0.075]].map(([idle, after], i) => lazyRelay(cap, i * 5, i, idle, after));
    const r = cap.analyze(DETECTORS);
    const atProxy = r.anomalies.filter((f) => f.server === `${L_PROXY}:8080`);
    expect(atProxy.map((f) => f.kind)).toEqual(scenes.map(() => 'unanswered-request'));
    expect(atProxy.map((f) => f.evidence.forwardedTo)).toEqual(scenes.map((s) => s.up.serverName));
    // Told as part of the races upstream (their diagnosis lists them), not as failures of their own.
    const races = ofKind(r, 'keepalive-race');
    expect(atProxy.map((f) => f.evidence.upstreamFinding)).toEqual(races.map((f) => f.id));
    expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request' && x.server === `${L_PROXY}:8080`)).toEqual([]);
    const d = r.diagnoses.find((x) => x.kind === 'keepalive-race')!;
    expect(d.anomalyIds).toEqual(expect.arrayContaining(atProxy.map((f) => f.id)));
    expect(d.count).toBe(races.length);
  });

  test('near miss: the proxy never seen forwarding from 127.0.0.1 (the copies are another call of the client\'s): not told forwarded', () => {
    const cap = new Capture();
    const scenes = [[1.092, 0.0091], [1.061, 0.041], [1.028, 0.075]].map(([idle, after], i) => lazyRelay(cap, i * 5, i, idle, after, false));
    const r = cap.analyze(DETECTORS);
    const onDown = r.anomalies.filter((f) => scenes.some((s) => s.down.clientName === f.client));
    expect(onDown).not.toEqual([]);
    expect(onDown.filter((f) => f.evidence.forwardedOnFlow !== undefined && f.evidence.forwardedOnFlow !== null)).toEqual([]);
  });
});

describe('a proxy that gives up on a backend that does not answer and closes its client connection with no status (tinyproxy at its Timeout)', () => {
  /** At `t`: the request forwarded and acknowledged upstream; `wait` s later the proxy closes the backend connection, then its client's. */
  function gaveUp(cap: Capture, t: number, i: number, wait: number, from = PROXY): { down: Conn; up: Conn } {
    const down = cap.connection({ client: CLIENT, server: PROXY, sport: 8080 });
    const up = cap.connection({ client: from, server: BACKEND, sport: 9001 }); // tinyproxy's Bind: its own address by default
    down.handshake(t).request(t + 0.01, get(`/hang?i=${i}`));
    up.handshake(t + 0.0105).request(t + 0.011, get(`/hang?i=${i}`));
    up.close(t + 0.011 + wait, 'c');
    down.close(t + 0.0112 + wait, 's');
    return { down, up };
  }

  test.each([
    ['its own address', PROXY],
    ['another address', VIA],
  ])('connecting from %s: the proxy\'s read timeout fired (waits 3.04-3.23 s late for 3 s), no upstream failure', (_label, from) => {
    const cap = new Capture();
    // First two requests it forwarded and relayed the answers of: what shows which address it forwards from.
    for (let i = 0; i < 2; i++) {
      const down = cap.connection({ client: CLIENT, server: PROXY, sport: 8080 });
      const up = cap.connection({ client: from, server: BACKEND, sport: 9001 });
      down.handshake(i).request(i + 0.01, get(`/get?i=${i}`));
      up.handshake(i + 0.0105).exchange(i + 0.011, get(`/get?i=${i}`), ok('fine'));
      down.response(i + 0.013, ok('fine'));
      up.close(i + 0.014, 'c');
      down.close(i + 0.015, 's');
    }
    const waits = [3.228, 3.187, 3.144, 3.04, 3.058];
    const scenes = waits.map((wait, i) => gaveUp(cap, 5 + i * 5, i, wait, from));
    const r = cap.analyze(DETECTORS);
    const onClients = ofKind(r, 'unanswered-request').filter((f) => f.server === `${PROXY}:8080`);
    expect(onClients.map((f) => f.client)).toEqual(scenes.map((s) => s.down.clientName));
    const d = r.diagnoses.find((x) => x.kind === 'unanswered-request' && x.server === `${PROXY}:8080`)!;
    expect(d.explanation).toContain('got no response at all');
    expect(d.explanation).toContain('its upstream read timeout fired');
    expect(d.explanation).not.toContain('no timeout of the proxy');
    expect(d.inferred.proxyReadTimeout.samples).toBe(5);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(3.04, 2);
    // The backend legs: one timeout, its shortest wait, not two clusters of the late-firing timer.
    const onBackend = r.diagnoses.filter((x) => x.kind === 'unanswered-request' && x.server === `${BACKEND}:9001`);
    expect(onBackend).toHaveLength(1);
    expect(onBackend[0].inferred.proxyReadTimeout.samples).toBe(5);
    expect(onBackend[0].inferred.proxyReadTimeout.value).toBeCloseTo(3.04, 2);
  });
});

describe('tinyproxy recorded connecting to its backend from another address (Bind) than it listens on', () => {
  const file = path.join(SAMPLES_DIR, 'gateway-timeout-tinyproxy-other-address.pcap');
  (fs.existsSync(file) ? test : test.skip)('every empty reply is its read timeout, none an upstream failure, on both legs', async () => {
    const r = await analyzeFiles([file]);
    const atProxy = r.diagnoses.filter((d) => d.kind === 'unanswered-request' && d.server === '127.0.0.2:8080');
    expect(atProxy).toHaveLength(1);
    expect(atProxy[0].count).toBe(5);
    expect(atProxy[0].explanation).toContain('its upstream read timeout fired');
    expect(atProxy[0].explanation).not.toContain('no timeout of the proxy');
    expect(atProxy[0].inferred.proxyReadTimeout.value).toBeGreaterThanOrEqual(3);
    expect(atProxy[0].inferred.proxyReadTimeout.value).toBeLessThan(3.1);
    const atBackend = r.diagnoses.filter((d) => d.kind === 'unanswered-request' && d.server === '127.0.0.3:9001');
    expect(atBackend).toHaveLength(1);
    expect(atBackend[0].explanation).toContain('the address proxy 127.0.0.2 connects to its backends from');
  });
});
