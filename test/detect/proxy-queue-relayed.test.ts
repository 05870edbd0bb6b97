/**
 * A proxy's queue timeout behind a connection limit (blind round 13b, S8): HAProxy with `maxconn 1`
 * on its server and `timeout queue 1s` forwards one request at a time; the others wait in its queue
 * and those still there after 1 s get its 503 without ever leaving it. Meanwhile the requests that
 * did get the slot went upstream, same method and URI, and were answered 200 and relayed to their
 * own clients. Those upstream requests are not the failed ones' copies: the proxy would have
 * relayed their answers. Before, pairing took one of them (answered right after the 503) as a
 * failure's copy and read "proxy read timeout (HAProxy timeout server)" of its service time.
 */
import { sharedProxyLegs, type ProxyLegs } from '../../src/detect/proxy-legs';
import { DETECTORS } from '../../src/detect/registry';
import type { DetectorDefinition } from '../../src/detect/detector';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { Capture, Conn, get, ofKind, ok } from './reuse-kit';
import { BACKEND, CLIENT, downstream, PROXY, upstream } from './proxy-scenes';
import { buildTcpPacket, TCP_ACK, TCP_RST } from '../helpers/packet-builder';

function analyzeWithLegs(cap: Capture): { result: ReturnType<Capture['analyze']>; legs: ProxyLegs } {
  let legs: ProxyLegs | null = null;
  const probe: DetectorDefinition = {
    ...gatewayTimeout,
    create(ctx) {
      legs = sharedProxyLegs(ctx);
      return gatewayTimeout.create(ctx);
    },
  };
  const result = cap.analyze(DETECTORS.map((d) => (d.id === gatewayTimeout.id ? probe : d)));
  if (legs === null) throw new Error('no proxy legs');
  return { result, legs };
}

/**
 * `n` clients ask GET /slow at once; the proxy forwards `served` of them one after another (the
 * backend takes `service` s each, its answer relayed at once) and answers the others 503 at 1 s
 * (`relay`: whether the proxy passed the answers on to their clients; false, the proxy kept the
 * slot's answers to itself: no client got them).
 */
function queueScene(n: number, served: number, service: number, relay = true): { fronts: Conn[]; failed: Conn[] } {
  const cap = new Capture();
  const fronts: Conn[] = [];
  for (let i = 0; i < n; i++) {
    const down = downstream(cap);
    down.handshake(i * 0.001).request(i * 0.001 + 0.0005, get('/slow'));
    fronts.push(down);
  }
  for (let k = 0; k < served; k++) {
    const sent = 0.002 + k * (service + 0.001);
    const up = upstream(cap);
    up.handshake(sent - 0.0005).request(sent, get('/slow', ['X-Forwarded-For: ' + CLIENT]));
    up.response(sent + service, ok('slow done'));
    up.close(sent + service + 0.0002, 'c');
    if (relay) fronts[k].response(sent + service + 0.0003, ok('slow done'));
    fronts[k].close(sent + service + 0.001, 'c');
  }
  const failed = fronts.slice(served);
  failed.forEach((down, j) => {
    const at = (served + j) * 0.001 + 0.0005 + 1.001;
    down.response(at, ok('<html><body><h1>503 Service Unavailable</h1></body></html>', ['Cache-Control: no-cache', 'Connection: close'], 'HTTP/1.1', '503 Service Unavailable'));
    down.close(at + 0.0002, 's');
  });
  (queueScene as { last?: Capture }).last = cap;
  return { fronts, failed };
}

function lastCapture(): Capture {
  const cap = (queueScene as { last?: Capture }).last;
  if (cap === undefined) throw new Error('no scene');
  return cap;
}

describe('proxy pairing: requests answered and relayed to other clients are not a failed request\'s copy', () => {
  test('a queue timeout: the 503s pair with nothing upstream, and no read timeout of the backend\'s service time is inferred', () => {
    // 0.21 s each: the fifth copy is answered 0.05 s after the 503s, as in S8 (0.018 s there).
    const { failed } = queueScene(8, 5, 0.21);
    const { result, legs } = analyzeWithLegs(lastCapture());
    const paired = legs.pair().filter((p) => failed.some((c) => c.clientName === p.failure.client));
    expect(paired).toHaveLength(3);
    expect(paired.map((p) => p.legRequest)).toEqual([null, null, null]);
    expect(paired.map((p) => p.phase)).toEqual(['none', 'none', 'none']);
    expect(ofKind(result, 'gateway-timeout')).toHaveLength(0);
    expect(ofKind(result, 'no-upstream-connect').map((f) => f.client).sort()).toEqual(failed.map((c) => c.clientName).sort());
    const queue = result.diagnoses.find((d) => d.kind === 'no-upstream-connect');
    expect(queue?.explanation).toContain('HAProxy timeout queue');
    // Its finding does not say nothing went upstream meanwhile: others' requests did.
    expect(ofKind(result, 'no-upstream-connect')[0].summary).toContain("carried other clients' requests");
    expect(result.diagnoses.map((d) => d.explanation).join('\n')).not.toContain('timeout server');
  });

  test('near miss: upstream answers no client got (the proxy relayed none of them) stay the failures\' possible copies, as before', () => {
    const { failed } = queueScene(8, 5, 0.21, false);
    const { legs } = analyzeWithLegs(lastCapture());
    const paired = legs.pair().filter((p) => failed.some((c) => c.clientName === p.failure.client));
    // Each still pairs with an upstream copy of GET /slow, as before the change.
    expect(paired).toHaveLength(3);
    expect(paired.every((p) => p.legRequest !== null && p.uriMatched)).toBe(true);
  });
});

describe('proxy pairing: a backend connection seen only by its end is no connect attempt', () => {
  test("a lone RST of the proxy's to its backend during the wait (its SYN not in the capture) leaves the 503 unpaired", () => {
    const { failed } = queueScene(8, 5, 0.21);
    const cap = lastCapture();
    // blind 13b S8: `-i any` kept only the RST of one of HAProxy's backend connections, mid-wait.
    cap.add(1.0, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: 53448, dport: 8080, seq: 9000, ack: 7000, flags: TCP_RST | TCP_ACK }));
    const { result, legs } = analyzeWithLegs(cap);
    const paired = legs.pair().filter((p) => failed.some((c) => c.clientName === p.failure.client));
    expect(paired.map((p) => p.phase)).toEqual(['none', 'none', 'none']);
    expect(ofKind(result, 'gateway-timeout')).toHaveLength(0);
  });
});
