/**
 * Two client programs on one host (Go with a 1 s timeout, aiohttp with 1.5 s) ask a proxy that
 * connects to its backend from another address for a URI the backend answers in 3 s (blind 15,
 * S17 through Caddy, S17b through h2o). Each client gives up on its own timer; the proxy either
 * cancels its forward with its client (Caddy) or waits for the backend and writes the late answer
 * into the closed client socket (h2o). No proxy timer fires and no 5xx is sent.
 *
 * While a forward waited at the backend, the clients' next requests for the same URI left for the
 * proxy: taken for copies of the backend's requests, they made the backend a proxy forwarding from
 * the clients' address, so the clients' own timeouts were reported as a proxy's read timeout
 * ("checked on a periodic tick", "504s"). A request is only waited for until its client gives up
 * or it is answered, and a proxy that answered its client in time waited for its forward's answer.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { analyzeFiles, type AnalysisResult } from '../../src/analyze';
import { SAMPLES_DIR } from '../samples';
import { BACKEND, CLIENT, PROXY } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

/** The proxy's backend-facing address. */
const VIA = '10.0.1.2';
const GO = 'Go-http-client/1.1';
const AIOHTTP = 'Python/3.11 aiohttp/3.8.4';
const SLOW = 3;

type ProxyKind = 'cancels' | 'waits' | 'times-out';

/**
 * One request of `agent` at `at` for /sleep/3, which the client gives up on after `timeout` s:
 * - cancels: the proxy closes its forward with its client's close, answers into the closed socket;
 * - waits: it waits for the backend's answer (3 s) and writes it into the closed client socket;
 * - times-out: its own read timeout of `proxyTimeout` s fires first: it closes the forward and
 *   answers 504, which the client reads.
 */
function request(cap: Capture, kind: ProxyKind, at: number, agent: string, timeout: number, proxyTimeout = 1): void {
  const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  down.handshake(at).request(at + 0.001, get('/sleep/3', [`User-Agent: ${agent}`]));
  const up = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
  up.handshake(at + 0.002).request(at + 0.003, get('/sleep/3', [`User-Agent: ${agent}`, `X-Forwarded-For: ${CLIENT}`]));
  const answered = at + 0.003 + SLOW;
  if (kind === 'times-out') {
    const cut = at + 0.001 + proxyTimeout;
    up.fin(cut, 'c');
    down.response(cut + 0.0002, ok('', [], 'HTTP/1.1', '504 Gateway Timeout')).close(cut + 0.001, 'c');
    up.send(answered, 's', ok()).rst(answered + 0.0001, 'c');
    return;
  }
  const gaveUp = at + 0.001 + timeout;
  down.fin(gaveUp, 'c');
  if (kind === 'cancels') {
    up.fin(gaveUp + 0.0002, 'c');
    down.send(gaveUp + 0.0004, 's', ok('')).fin(gaveUp + 0.0005, 's').rst(gaveUp + 0.03, 'c');
    up.send(answered, 's', ok()).rst(answered + 0.0001, 'c');
  } else {
    up.response(answered, ok());
    down.send(answered + 0.001, 's', ok()).rst(answered + 0.03, 'c');
  }
}

/** As in S17: Go twice (1 s), then aiohttp (1.5 s): /sleep/3, / (answered), /sleep/3. */
function twoClients(kind: ProxyKind, goTimeout = 0.97, aioTimeout = 1.5): Capture {
  const cap = new Capture();
  request(cap, kind, 0, GO, goTimeout);
  request(cap, kind, 1.5, GO, goTimeout);
  request(cap, kind, 3.15, AIOHTTP, aioTimeout);
  const quick = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  quick.handshake(5.15).request(5.151, get('/', [`User-Agent: ${AIOHTTP}`]));
  const quickUp = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
  quickUp.handshake(5.152).exchange(5.153, get('/', [`X-Forwarded-For: ${CLIENT}`]));
  quick.response(5.155, ok()).close(5.16, 'c');
  quickUp.close(5.17, 'c');
  request(cap, kind, 5.75, AIOHTTP, aioTimeout);
  return cap;
}

function explanations(r: AnalysisResult): string {
  return r.diagnoses.map((d) => d.explanation).join('\n');
}

describe('two client programs with different timeouts behind one proxy, both legs captured', () => {
  test.each<ProxyKind>(['cancels', 'waits'])('the proxy %s: the clients are clients, their timeouts no proxy read timeout', (kind) => {
    const r = twoClients(kind).analyze([unansweredRequest, gatewayTimeout]);
    const text = explanations(r);
    expect(text).not.toContain(`${CLIENT}, the address proxy`);
    expect(text).not.toMatch(/periodic tick/);
    expect(r.diagnoses.flatMap((d) => Object.keys(d.inferred))).not.toContain('proxyReadTimeout');
    expect(ofKind(r, 'gateway-timeout')).toEqual([]);
    // Every client-leg failure (Go's and aiohttp's) is in a diagnosis of the client's own timeout.
    const clientLeg = r.diagnoses.filter((d) => d.kind === 'unanswered-request' && d.server === `${PROXY}:80`);
    expect(clientLeg.reduce((n, d) => n + d.count, 0)).toBe(4);
    for (const d of clientLeg) expect(d.explanation).toContain(`their client (${CLIENT}`);
    // Go's group names Go's knob, aiohttp's its own: two clients, two timeouts.
    expect(clientLeg.map((d) => /Go-http-client/.test(d.explanation) ? 'go' : /aiohttp/.test(d.explanation) ? 'aiohttp' : '?').sort()).toEqual(['aiohttp', 'go']);
  });

  test('near miss: the proxy\'s own 1 s read timeout (504) before either client\'s: still the proxy\'s timer, paired upstream', () => {
    const r = twoClients('times-out', 2, 3).analyze([unansweredRequest, gatewayTimeout]);
    const [gw] = r.diagnoses.filter((d) => d.kind === 'gateway-timeout');
    expect(gw.inferred.proxyReadTimeout.value).toBeCloseTo(1, 2);
    expect(ofKind(r, 'gateway-timeout').map((f) => f.evidence.upstreamPhase)).toEqual(['read', 'read', 'read', 'read']);
    // The upstream leg's unanswered requests are the same failures, told by the 504s (gateway-timeout lists them).
    expect(r.diagnoses.map((d) => d.kind)).toEqual(['gateway-timeout']);
    expect(r.diagnoses.flatMap((d) => Object.keys(d.inferred))).not.toContain('clientTimeout');
  });
});

describe('sample client-timeouts-two-clients-go-reverseproxy (Go 1 s and curl 1.5 s through httputil.ReverseProxy from 127.0.0.4)', () => {
  const file = path.join(SAMPLES_DIR, 'client-timeouts-two-clients-go-reverseproxy.pcap');

  test('each client its own timeout; the upstream closes follow them; no proxy timer, no role swap', async () => {
    if (!fs.existsSync(file)) return;
    const r = await analyzeFiles([file]);
    const clientLeg = r.diagnoses.filter((d) => d.server === '127.0.0.2:8090');
    expect(clientLeg.map((d) => [d.count, Math.round(d.inferred.clientTimeout.value * 10) / 10])).toEqual([[2, 1], [2, 1.5]]);
    // Each give-up is one failure, told on its client program's diagnosis with the proxy's cancellation of it upstream.
    expect(r.diagnoses.filter((d) => d.server === '127.0.0.3:8091')).toEqual([]);
    for (const d of clientLeg) {
      expect(d.anomalyIds).toHaveLength(4);
      expect(d.explanation).toContain('had forwarded them to 127.0.0.3:8091');
      expect(d.explanation).toContain('the same failure seen on the upstream leg');
    }
    expect(explanations(r)).not.toContain('the address proxy 127.0.0.3');
    expect(r.diagnoses.flatMap((d) => Object.keys(d.inferred))).not.toContain('proxyReadTimeout');
  });
});
