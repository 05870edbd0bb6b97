/**
 * Which upstream request is a proxy's copy of the request it failed, when a server behind the
 * proxy is also called directly at the same moment from the same host (blind round 11, s3): curl
 * asks a Go server (WriteTimeout 2 s, handler 4 s) for GET /gslow directly and, through nginx
 * (location /g/), for GET /g/gslow; Go closes both at 4 s without an answer and nginx answers 502.
 * Everything is on 127.0.0.1, so addresses tell nothing: the pairing must not turn the direct
 * request into a proxy's client leg (Go "forwarding" to nginx), nor take the direct request for
 * nginx's copy.
 */
import { sharedProxyLegs, type PairedFailure, type ProxyLegs } from '../../src/detect/proxy-legs';
import { DETECTORS } from '../../src/detect/registry';
import type { DetectorDefinition } from '../../src/detect/detector';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { analyzeSample } from '../samples';
import { Capture, Conn, get, ofKind, ok } from './reuse-kit';

const HOST = '127.0.0.1';
const NGINX = 8180;
const GO = 8200;

/** nginx's upstream request as it sends it by default: HTTP/1.0, its own Connection: close, the client's User-Agent passed on. */
function nginxCopy(uri: string): string {
  return `GET ${uri} HTTP/1.0\r\nHost: ${HOST}:${GO}\r\nConnection: close\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
}
function curl(uri: string, port: number): string {
  return `GET ${uri} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
}

/** The analysis with every detector, and the proxy-legs tracker they shared. */
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

interface Scene {
  front: Conn;
  direct: Conn;
  upstream: Conn;
}

/**
 * The scene at `t`: nginx's client connects first; the direct request to Go comes at `directAt`
 * (relative), nginx's client request at +0.0022 and nginx's copy at +0.0025 on a new connection.
 * Go closes both of its connections 4 s later without a byte; nginx answers 502 right after.
 */
function goWriteTimeoutScene(cap: Capture, t: number, directAt: number, i = 0, plain = false): Scene {
  const front = cap.connection({ client: HOST, server: HOST, sport: NGINX });
  const direct = cap.connection({ client: HOST, server: HOST, sport: GO });
  const upstream = cap.connection({ client: HOST, server: HOST, sport: GO });
  // plain: nginx with proxy_http_version 1.1 and no prefix (its copy says nothing of a proxy, the
  // targets are one), its client connecting only after the direct request was sent.
  front.handshake(plain ? t + directAt + 0.0001 : t);
  direct.handshake(t + directAt - 0.0001).request(t + directAt, curl(`/gslow?s=4&i=${i}`, GO));
  front.request(t + 0.0022, curl(`${plain ? '' : '/g'}/gslow?s=4&i=${i}`, NGINX));
  upstream.handshake(t + 0.0024).request(t + 0.0025, plain ? curl(`/gslow?s=4&i=${i}`, GO) : nginxCopy(`/g/gslow?s=4&i=${i}`));
  direct.fin(t + directAt + 4, 's').fin(t + directAt + 4.0001, 'c').ack(t + directAt + 4.0002, 's');
  upstream.fin(t + 4.0025, 's').fin(t + 4.0035, 'c').ack(t + 4.0036, 's');
  front.response(t + 4.0037, ok('<html>502</html>', ['Server: nginx/1.22.1'], 'HTTP/1.1', '502 Bad Gateway'));
  front.close(t + 4.004, 'c');
  return { front, direct, upstream };
}

function pairingOf(legs: ProxyLegs, conn: Conn): PairedFailure | undefined {
  return legs.pair().find((p) => p.failure.client === conn.clientName && p.failure.server === conn.serverName);
}

describe('proxy pairing: a backend called directly and through a proxy on one host', () => {
  test('the direct request, sent first, is no proxy client leg: Go forwarded nothing to nginx', () => {
    const cap = new Capture();
    const s = goWriteTimeoutScene(cap, 0, 0.002);
    const { result, legs } = analyzeWithLegs(cap);
    // The direct request's close is Go's own: no upstream copy of it.
    const direct = pairingOf(legs, s.direct);
    expect(direct?.legRequest?.leg.client ?? null).not.toBe(s.front.clientName);
    // nginx's 502 is paired with nginx's own copy (HTTP/1.0, Connection: close), the same target.
    const front = pairingOf(legs, s.front);
    expect(front?.legRequest?.leg.client).toBe(s.upstream.clientName);
    const unanswered = ofKind(result, 'unanswered-request');
    const onDirect = unanswered.find((f) => f.client === s.direct.clientName);
    expect(onDirect?.evidence.forwardedOnFlow).toBeNull();
    // Both of Go's closes, one server's doing, diagnosed together; no proxy at Go. nginx's 502 is
    // listed with them: the relay of its own copy's close, not of the direct request's.
    const atGo = result.diagnoses.filter((d) => d.kind === 'unanswered-request' && d.server === `${HOST}:${GO}`);
    expect(atGo.map((d) => d.anomalyIds.length)).toEqual([3]);
    const relayed = unanswered.filter((f) => f.evidence.relayedBackendClose === true);
    expect(relayed.map((f) => f.client)).toEqual([s.front.clientName]);
    expect(relayed[0].evidence.upstreamFindings).toEqual([unanswered.find((f) => f.client === s.upstream.clientName)!.id]);
    expect(atGo[0].explanation).not.toContain('the proxy forwarded');
    expect(atGo[0].explanation).toContain('WriteTimeout');
  });

  test('without any tell in the copy or the target, the order of the ends decides: Go closed first, nginx answered 502 after', () => {
    const cap = new Capture();
    const s = goWriteTimeoutScene(cap, 0, 0.002, 0, true);
    const { result, legs } = analyzeWithLegs(cap);
    expect(pairingOf(legs, s.direct)?.legRequest?.leg.client ?? null).not.toBe(s.front.clientName);
    expect(pairingOf(legs, s.front)?.legRequest?.leg.client).toBe(s.upstream.clientName);
    expect(ofKind(result, 'unanswered-request').find((f) => f.client === s.direct.clientName)?.evidence.forwardedOnFlow).toBeNull();
  });

  test("the direct request sent between nginx's client request and nginx's copy is not taken for the copy", () => {
    const cap = new Capture();
    const s = goWriteTimeoutScene(cap, 0, 0.0023);
    const { legs } = analyzeWithLegs(cap);
    const front = pairingOf(legs, s.front);
    expect(front?.legRequest?.leg.client).toBe(s.upstream.clientName);
    expect(front?.uriMatched).toBe(true);
  });

  test('near miss: two clients asking a proxy on one host for the same URI are each paired with their own copy', () => {
    // Proxy 127.0.0.1:8180 -> backend 127.0.0.1:8200, HTTP/1.1 copies without a proxy header; the
    // second client's request reaches the proxy while the first one's copy waits: no loop.
    const cap = new Capture();
    const fronts: Conn[] = [];
    const copies: Conn[] = [];
    for (const [k, at] of [0, 0.01].entries()) {
      const front = cap.connection({ client: HOST, server: HOST, sport: NGINX });
      const copy = cap.connection({ client: HOST, server: HOST, sport: GO });
      front.handshake(at).request(at + 0.001, curl('/slow', NGINX));
      copy.handshake(at + 0.0015).request(at + 0.002, get('/slow'));
      copy.close(at + 2.002, 'c');
      front.response(at + 2.0025, ok('timeout', [], 'HTTP/1.1', '504 Gateway Time-out'));
      front.close(at + 2.003 + k * 0.0001, 'c');
      fronts.push(front);
      copies.push(copy);
    }
    const { result, legs } = analyzeWithLegs(cap);
    expect(fronts.map((f) => pairingOf(legs, f)?.legRequest?.leg.client)).toEqual(copies.map((c) => c.clientName));
    expect(ofKind(result, 'gateway-timeout').map((f) => f.client)).toEqual(fronts.map((f) => f.clientName));
  });

  test('sample nginx-502-go-writetimeout-direct-client: Go closed all four, no request forwarded to nginx', async () => {
    const r = await analyzeSample('nginx-502-go-writetimeout-direct-client');
    const unanswered = ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose !== true);
    expect(unanswered).toHaveLength(4);
    expect(unanswered.map((f) => f.evidence.forwardedOnFlow)).toEqual([null, null, null, null]);
    // nginx's two 502s, each the relay of Go's close of nginx's own copy (not of the direct requests).
    const relayed = ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose === true);
    expect(relayed.map((f) => f.server)).toEqual(['127.0.0.1:8180', '127.0.0.1:8180']);
    const copies = unanswered.filter((f) => String(f.evidence.uri).startsWith('/g/')).map((f) => [f.id]);
    expect(relayed.map((f) => f.evidence.upstreamFindings)).toEqual(copies);
    const diagnoses = r.diagnoses.filter((d) => d.kind === 'unanswered-request');
    expect(diagnoses).toHaveLength(1);
    expect(Object.keys(diagnoses[0].inferred)).toEqual(['serverTimeout']);
    expect(diagnoses[0].explanation).toContain('WriteTimeout');
    // Go is no proxy; nginx is, and relayed 2 of the closes.
    expect(diagnoses[0].explanation).not.toContain('the proxy forwarded');
    expect(diagnoses[0].explanation).toContain('(127.0.0.1:8180) answered its clients 502 for 2 of them');
  });
});

/**
 * blind 13, s14: Caddy sent GET /slow/10 on a pooled upstream connection; uWSGI's harakiri killed
 * the worker at 4 s (FIN, no response) and Go's Transport sent the GET again on a new connection,
 * killed too; the client got 502 after 8 s. The first attempt's close is itself a failure at the
 * backend (a request closed unanswered): it must not pass for another client's identical request,
 * which ended the chain of attempts at one.
 */
describe('proxy pairing: a request the proxy sent again after the backend closed it', () => {
  test('the second attempt is the failure\'s retry', () => {
    const cap = new Capture();
    const front = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
    front.handshake(9).request(10, get('/slow/10'));
    const first = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
    first.handshake(8).exchange(8.001, get('/a'), ok()).request(10.0002, get('/slow/10'));
    first.fin(14.0002, 's').fin(14.0003, 'c').ack(14.0004, 's');
    const second = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
    second.handshake(14.0005).request(14.0007, get('/slow/10'));
    second.fin(18.0007, 's').fin(18.0008, 'c').ack(18.0009, 's');
    front.response(18.001, ok('bad gateway', ['Server: Caddy'], 'HTTP/1.1', '502 Bad Gateway'));
    const { legs } = analyzeWithLegs(cap);
    const p = pairingOf(legs, front);
    expect(p?.phase).toBe('read');
    expect(p?.leg?.client).toBe(first.clientName);
    expect(p?.retries.map((a) => a.leg.client)).toEqual([second.clientName]);
  });
});
