import * as fs from 'node:fs';
import * as path from 'node:path';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { SAMPLES_DIR, SampleMeta, analyzeSample, listSamples } from '../samples';
import { busySlot, downstream, PROXY_ENDPOINT, scene, upstream } from './proxy-scenes';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { Capture, get, ofKind, ok } from './reuse-kit';
import { DETECTORS } from '../../src/detect/registry';
import { analyzeFiles } from '../../src/analyze';
import { PacketFilter } from '../../src/decode/packet-filter';

const only = [gatewayTimeout];
const KIND = 'gateway-timeout';

describe('gateway-timeout on synthetic proxies', () => {
  test('both legs: the forwarded requests were abandoned upstream at the same delay as the 504s', () => {
    const cap = new Capture();
    const a = scene(cap, 0, { delay: 1, upstream: 'read', uri: '/hang/1' });
    const b = scene(cap, 3, { delay: 1.002, upstream: 'read', uri: '/hang/2' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.client)).toEqual([a.clientName, b.clientName]);
    expect(found[0].server).toBe(PROXY_ENDPOINT);
    expect(found[0].evidence).toMatchObject({
      status: 504, upstreamPhase: 'read', upstreamServer: '10.0.0.3:8080', upstreamRequest: 'GET /hang/1', upstreamUriMatched: true,
      upstreamClosedBy: 'proxy', upstreamAnswered: false, delayClustered: true, delaySeconds: 1,
    });
    expect(typeof found[0].evidence.upstreamFlowId).toBe('number');
    expect(found[0].evidence.upstreamLeg).toMatch(/^10\.0\.0\.2:\d+$/);
    // Client request and 504, upstream request and the proxy's close of it.
    expect(found[0].frames).toHaveLength(4);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.server).toBe(PROXY_ENDPOINT);
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
    // Timed on the upstream leg, request to the backend → the proxy's close: 0.9988 and 1.0008 s.
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(0.9998, 4);
    expect(d.remedy).toContain('proxy_read_timeout');
    // A reverse proxy of one's own (Go's httputil.ReverseProxy answers 502, a Node proxy its handler's status): its client library's setting.
    for (const text of [d.explanation, d.remedy]) {
      expect(text).toContain("a proxy of one's own: Go http.Client `Timeout` or http.Transport `ResponseHeaderTimeout` (httputil.ReverseProxy answers 502; a handler calling through an http.Client answers what it chooses), Node http.request's `timeout` option or `req.setTimeout(ms)`");
    }
  });

  /** A POST whose client sends `sent` of its 100 declared body bytes; the proxy forwards them as they come and answers 504 after 2 s. */
  function uploadScene(cap: Capture, at: number, sent: number, withUpstream = true): void {
    const head = 'POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: 100\r\n\r\n';
    const down = downstream(cap);
    down.handshake(at).request(at + 0.001, head + 'x'.repeat(sent));
    if (withUpstream) {
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, head + 'x'.repeat(sent));
      up.rst(at + 2.0022, 'c');
    }
    down.response(at + 2.002, ok('upstream timed out', [], 'HTTP/1.1', '504 Gateway Time-out'));
    down.close(at + 2.01, 'c');
  }

  test('a client that never finished its request body: the backend waited for the body, not slow (HAProxy streams bodies)', () => {
    const cap = new Capture();
    uploadScene(cap, 0, 10);
    uploadScene(cap, 5, 10);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ upstreamPhase: 'read', requestBodyUnfinished: true, requestBodySent: 10, requestBodyDeclared: 100 });
    expect(found[0].summary).toContain('its body unfinished (10 of 100 body bytes sent)');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('had not finished sending the request body (10 of 100 body bytes sent)');
    expect(d.explanation).toContain('waiting for the body the client never finished sending');
    expect(d.explanation).not.toContain('hung or was too slow');
    expect(d.remedy).toContain('option http-buffer-request');
    expect(d.remedy).toContain('proxy_request_buffering');
    expect(d.remedy).not.toContain('is slow for these URIs');
  });

  test('an unfinished body seen on the client leg only (front capture) is told as well', () => {
    const cap = new Capture();
    uploadScene(cap, 0, 10, false);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)[0].evidence).toMatchObject({ upstreamPhase: 'invisible', requestBodyUnfinished: true });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('waiting for the body the client never finished sending');
    expect(d.remedy).toContain('option http-buffer-request');
  });

  test('near miss: the whole body sent and the backend silent is still the backend, slow', () => {
    const cap = new Capture();
    uploadScene(cap, 0, 100);
    uploadScene(cap, 5, 100);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence.requestBodyUnfinished).toBeUndefined();
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('The backend hung or was too slow');
    expect(d.explanation).not.toContain('finished sending');
    expect(d.remedy).toContain('is slow for these URIs');
  });

  test('a backend answer that came after the proxy had closed the leg (Go writes on its cancelled context) is no answer: still a gateway timeout', () => {
    const cap = new Capture();
    const clients = [0, 3].map((at, i) => {
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get(`/r/${i}`));
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, get(`/r/${i}`));
      // The proxy gives up at 1.4 s and closes the leg; the backend's 200 reaches it 0.1 ms after, its 504 leaves 0.15 ms after that.
      up.fin(at + 1.402, 'c');
      up.response(at + 1.4021, ok());
      up.rst(at + 1.4022, 'c');
      down.response(at + 1.40225, ok('upstream timed out', [], 'HTTP/1.1', '504 Gateway Time-out'));
      down.close(at + 1.41, 'c');
      return down;
    });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => [f.client, f.evidence.upstreamPhase, f.evidence.upstreamClosedBy])).toEqual(clients.map((c) => [c.clientName, 'read', 'proxy']));
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(1.4, 2);
  });

  test('a proxy that strips a path prefix (nginx location /api/ with proxy_pass http://backend/): its upstream requests still pair', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/api/hang/1', upstreamUri: '/hang/1' });
    scene(cap, 3, { delay: 1.002, upstream: 'read', uri: '/api/hang/2', upstreamUri: '/hang/2' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ upstreamPhase: 'read', upstreamRequest: 'GET /hang/1', upstreamUriMatched: true, upstreamClosedBy: 'proxy' });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(0.9998, 4);
  });

  test('tinyproxy: 500 Unable to connect after its connect attempt timed out is a gateway timeout, connect phase; a 500 without one is not', () => {
    const cap = new Capture();
    // Waits of 3.01-3.22 s for a 3 s timeout that fires late by varying amounts: one timer, not two.
    const waits = [3.011, 3.224, 3.173, 3.052, 3.061];
    waits.forEach((delay, i) => scene(cap, i * 5, { delay, upstream: 'connect', uri: `/x/${i}`, answer: '500 Unable to connect' }));
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(5);
    expect(found[0].evidence).toMatchObject({ status: 500, upstreamPhase: 'connect' });
    const diagnoses = r.diagnoses.filter((x) => x.kind === KIND);
    expect(diagnoses).toHaveLength(1);
    expect(diagnoses[0].inferred.proxyConnectTimeout.samples).toBe(5);
    expect(diagnoses[0].inferred.proxyConnectTimeout.value).toBeCloseTo(3.011, 3); // the shortest wait
    // A 500 from the same proxy that forwarded the request and got the backend's answer: an application error.
    const app = new Capture();
    for (const at of [0, 5]) scene(app, at, { delay: 3, upstream: 'answered', backendStatus: '500 Internal Server Error', answer: '500 Internal Server Error' });
    expect(ofKind(app.analyze(only), KIND)).toEqual([]);
  });

  test('a status line the snaplen cut inside its code (`HTTP/1.1 5`, `HTTP/1.1 50`: stored as 500) is no 504 nor tinyproxy\'s 500', () => {
    const waits = [3.011, 3.224, 3.173, 3.052, 3.061];
    for (const upstreamKind of ['connect', 'read'] as const) {
      for (const kept of [10, 11]) {
        const cap = new Capture();
        waits.forEach((delay, i) => scene(cap, i * 5, { delay, upstream: upstreamKind, uri: `/x/${i}`, answer: upstreamKind === 'connect' ? '500 Unable to connect' : '504 Gateway Time-out', answerKept: kept }));
        const r = cap.analyze(only);
        expect(r.exchanges.filter((e) => e.statusClass !== undefined).map((e) => e.statusClass)).toEqual(waits.map(() => (kept === 10 ? '5xx' : '50x')));
        expect(ofKind(r, KIND)).toEqual([]);
      }
    }
  });

  test('a proxy setting is named only for the proxy that answered (a 3 s connect by tinyproxy is no Caddy dial_timeout)', () => {
    const explanationOf = (server: string | null): string => {
      const cap = new Capture();
      // The proxy's answers: 504s with or without a Server header.
      for (const [i, delay] of [3.001, 3.003].entries()) {
        scene(cap, i * 5, { delay, upstream: 'connect', answer: server === null ? '504 Gateway Time-out' : `504 Gateway Time-out\r\nServer: ${server}` });
      }
      const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
      return d.explanation;
    };
    expect(explanationOf('Caddy')).toContain('This matches Caddy reverse_proxy transport http dial_timeout');
    expect(explanationOf('tinyproxy/1.11.1')).not.toContain('This matches Caddy');
    // Caddy names itself on its own answers: a proxy that named nothing (HAProxy's errors) is not Caddy either.
    expect(explanationOf(null)).not.toContain('This matches Caddy');
  });

  test("a backend that closed the forwarded request's connection itself (died, or its own write timeout): the proxy relayed it, no proxy timeout", () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get('/inflight'));
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, get('/inflight'));
      // The backend's FIN 0.49 s later, and Go's ReverseProxy's 502 right behind it.
      up.close(at + 0.492, 's');
      down.response(at + 0.4923, ok('', [], 'HTTP/1.1', '502 Bad Gateway')).close(at + 0.5, 'c');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.diagnoses.filter((d) => d.kind === KIND)).toEqual([]);
  });

  test('502s sent only after the client had closed (its own timeout, which the proxy followed upstream): no proxy timeout', () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get('/slow'));
      down.fin(at + 1.501, 'c').ack(at + 1.5011, 's');
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, get('/slow'));
      up.close(at + 1.5012, 'c');
      down.send(at + 1.5013, 's', ok('', [], 'HTTP/1.1', '502 Bad Gateway')).rst(at + 1.5014, 'c');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toEqual([]);
  });

  test('a client that half-closed right behind its request (it sends nothing more) still waited: the proxy timeout is found', () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get('/slow'));
      down.fin(at + 0.0012, 'c').ack(at + 0.0013, 's');
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, get('/slow'));
      up.close(at + 1.0008, 'c');
      down.send(at + 1.001, 's', ok('', [], 'HTTP/1.1', '504 Gateway Time-out')).fin(at + 1.0011, 's').ack(at + 1.0012, 'c');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(2);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(1, 2);
  });

  test('read timeouts too spread to share one value (a timer on a coarse tick): no value inferred, and none claimed', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 2.28, upstream: 'read', uri: '/hang/1' });
    scene(cap, 0.1, { delay: 2.48, upstream: 'read', uri: '/hang/2' });
    scene(cap, 0.2, { delay: 2.9, upstream: 'read', uri: '/hang/3' });
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.explanation).not.toMatch(/timeout is [\d.]+ s/);
    expect(d.explanation).toMatch(/fired after [\d.]+–[\d.]+ s, waits too spread to name one value/);
  });

  test('a proxy that shares its address with its clients (everything on 127.0.0.1): the upstream leg is told by its endpoint', () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 8080 });
      down.handshake(at).request(at + 0.001, get('/hang'));
      const up = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 9001 });
      up.handshake(at + 0.0015).request(at + 0.002, get('/hang'));
      up.close(at + 1.0008, 'c');
      down.response(at + 1.001, ok('', [], 'HTTP/1.1', '504 Gateway Time-out')).close(at + 1.002, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['read', 'read']);
    expect(found.every((f) => f.evidence.upstreamServer === '127.0.0.1:9001')).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
  });

  /**
   * HAProxy on 127.0.0.2:8080 connecting from 127.0.0.1, its clients' address, to a backend whose
   * SYNs a firewall drops: each request's attempts sent one SYN each, `interval` apart (timeout
   * connect shorter than the SYN RTO), and the 503 came one interval after the last. No request is
   * ever forwarded, so nothing else shows which address the proxy connects from.
   */
  function deadBackend(cap: Capture, starts: readonly number[], attempts: number, interval: number): void {
    let port = 53000;
    for (const [i, at] of starts.entries()) {
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.2', sport: 8080 });
      down.handshake(at).request(at + 0.001, get(`/dead/x${i}`));
      for (let k = 0; k < attempts; k++) {
        cap.add(at + 0.0015 + k * interval, buildTcpPacket({ src: '127.0.0.1', dst: '127.0.0.3', sport: port++, dport: 8083, seq: 7000 + k, ack: 0, flags: TCP_SYN }));
      }
      down.response(at + 0.0015 + attempts * interval, ok('', [], 'HTTP/1.1', '503 Service Unavailable')).close(at + 0.0015 + attempts * interval + 0.001, 's');
    }
  }

  test("unanswered SYNs from the clients' own address, at the connect timeout's interval: connect phase, every attempt counted, the backend unreachable", () => {
    const cap = new Capture();
    // Two requests at once: their series interleave (0, 0.3, 1.0, 1.3, 2.0, 2.3 s).
    deadBackend(cap, [0, 0.3], 3, 1.001);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => [f.evidence.upstreamPhase, f.evidence.upstreamAttempts])).toEqual([['connect', 3], ['connect', 3]]);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyConnectTimeout.value).toBeCloseTo(1.001, 3);
    expect(d.explanation).toContain('None of the 6 attempts got any answer');
    expect(d.explanation).toContain('3 attempts of 1.001 s each: 3.003 s');
    expect(d.explanation).not.toContain('does not show the proxy\'s upstream connections');
    expect(d.remedy).toContain('HAProxy `timeout connect` × (`retries` + 1)');
    expect(d.remedy).toContain('Envoy connect_timeout');
  });

  test('near miss: unanswered SYNs that began well after the request arrived were no attempt for it', () => {
    const cap = new Capture();
    const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.2', sport: 8080 });
    down.handshake(0).request(0.001, get('/dead/x'));
    // Attempts at 0.5 and 1.75, the 503 at 3.0: one interval apart and ending at the answer, but the proxy connects as the request arrives.
    for (const [k, t] of [0.5, 1.75].entries()) cap.add(t, buildTcpPacket({ src: '127.0.0.1', dst: '127.0.0.3', sport: 54000 + k, dport: 8083, seq: 1, ack: 0, flags: TCP_SYN }));
    down.response(3.0, ok('', [], 'HTTP/1.1', '503 Service Unavailable')).close(3.001, 's');
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.evidence.upstreamPhase)).not.toContain('connect');
  });

  test('a server on 127.0.0.1 whose only other connections are its own clients has no visible upstream', () => {
    const cap = new Capture();
    for (const at of [0, 3]) {
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 8080 });
      down.handshake(at).request(at + 0.001, get('/hang')).response(at + 2.001, ok('', [], 'HTTP/1.1', '504 Gateway Time-out')).close(at + 2.002, 's');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['invisible', 'invisible']);
  });

  test('upstream not in the capture: clustered 503/504 delays reveal an upstream timeout', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 3, upstream: 'none', answer: '504 Gateway Time-out' });
    scene(cap, 5, { delay: 3.01, upstream: 'none', answer: '503 Service Unavailable' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    expect(found.every((f) => f.evidence.upstreamPhase === 'invisible' && f.evidence.upstreamFlowId === null)).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.upstreamTimeout.value).toBeCloseTo(3.005, 3);
    expect(d.explanation).toContain('a timer of 3.005 s at the proxy');
  });

  test('upstream not in the capture: 502s (and a 503 beside them) sharing a delay are reported with it, but as no one timer of the proxy\'s', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 3, upstream: 'none', answer: '502 Bad Gateway' });
    scene(cap, 5, { delay: 3.01, upstream: 'none', answer: '503 Service Unavailable' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => [f.severity, f.evidence.upstreamPhase, f.evidence.delayClustered])).toEqual([['error', 'waited', true], ['error', 'waited', true]]);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(Object.keys(d.inferred)).toEqual(['gatewayErrorAfter']);
    expect(d.inferred.gatewayErrorAfter.value).toBeCloseTo(3.005, 3);
    expect(d.explanation).not.toContain('a timer of 3.005 s at the proxy');
    expect(d.explanation).toContain("A shared delay does not make it one timer of the proxy's");
    expect(d.explanation).toContain('or the backend ended the connection without a response after that time');
  });

  test('upstream not in the capture: two 502s that agree among four that do not are no timer (nginx\'s 502s for backends that reset kept-alive connections)', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 0.079, upstream: 'none', answer: '502 Bad Gateway' });
    scene(cap, 1, { delay: 0.0789, upstream: 'none', answer: '502 Bad Gateway' });
    scene(cap, 2, { delay: 0.024, upstream: 'none', answer: '502 Bad Gateway' });
    scene(cap, 3, { delay: 0.0235, upstream: 'none', answer: '502 Bad Gateway' });
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    // Three of four that agree are a timer.
    const more = new Capture();
    for (let i = 0; i < 3; i++) scene(more, i, { delay: 0.3 + i * 0.001, upstream: 'none', answer: '502 Bad Gateway' });
    scene(more, 3, { delay: 0.024, upstream: 'none', answer: '502 Bad Gateway' });
    expect(ofKind(more.analyze(only), KIND)).toHaveLength(3);
  });

  describe("a proxy's gateway error after a real wait, its upstream out of sight (blind round 13, proxies)", () => {
    test('a lone 502 from Caddy after 3.0 s (s13 single): reported as an error, its causes named, no value made up', () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 3.001, upstream: 'none', answer: '502 Bad Gateway', answerHeaders: ['Server: Caddy'] });
      const r = cap.analyze(only);
      const [f] = ofKind(r, KIND);
      expect(f.severity).toBe('error');
      expect(f.evidence).toMatchObject({ status: 502, upstreamPhase: 'waited', delayClustered: false, reason: 'Bad Gateway' });
      expect(f.summary).toContain('a gateway error after a real wait');
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.inferred).toEqual({});
      expect(d.explanation).toContain('The answers name the proxy: Server: Caddy');
      expect(d.explanation).toContain('Caddy answers 502 when its dial_timeout (3 s by default) fires or its backend ends the connection');
      expect(d.explanation).toContain('One wait names no value');
      expect(d.explanation).toContain('The wait matches Caddy reverse_proxy transport http dial_timeout (3 s default) (a hint: one wait)');
      expect(d.remedy).toContain('lb_try_duration');
    });

    test("a proxy that passes its backend's Server on (Apache mod_proxy) is named by its own 502s (blind round 15, stacks S5)", () => {
      const cap = new Capture();
      // Two answers proxied from gunicorn, then Apache's own 502 after 1.035 s (ProxyPass timeout=1).
      for (let i = 0; i < 2; i++) {
        const c = downstream(cap);
        c.handshake(i).request(i + 0.001, get('/ok')).response(i + 0.01, ok('fine', ['Server: gunicorn']));
        c.close(i + 0.02, 'c');
      }
      scene(cap, 3, { delay: 1.035, upstream: 'none', answer: '502 Proxy Error', answerHeaders: ['Server: Apache/2.4.71 (Debian)'] });
      const r = cap.analyze(only);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('The answers name the proxy: Server: Apache/2.4.71 (Debian)');
      expect(d.explanation).not.toContain('Server: gunicorn');
      expect(d.remedy).toContain('ProxyTimeout');
      // Near miss: a server whose errors name what its other answers name is named so.
      const same = new Capture();
      const c = downstream(same);
      c.handshake(0).request(0.001, get('/ok')).response(0.01, ok('fine', ['Server: Caddy']));
      c.close(0.02, 'c');
      scene(same, 3, { delay: 3.001, upstream: 'none', answer: '502 Bad Gateway', answerHeaders: ['Server: Caddy'] });
      const [d2] = same.analyze(only).diagnoses.filter((x) => x.kind === KIND);
      expect(d2.explanation).toContain('The answers name the proxy: Server: Caddy');
    });

    test('a lone 502 with no Server header is reported too: 502 is a gateway\'s status', () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 2, upstream: 'none', answer: '502 Bad Gateway' });
      const found = ofKind(cap.analyze(only), KIND);
      expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['waited']);
    });

    test("Traffic Server's 502 \"connect failed\" after 7.7 s (s3): its reason phrase says the connect failed", () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 7.669, upstream: 'none', answer: '502 connect failed', answerHeaders: ['Server: ATS/9.2.9'] });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => f.evidence.reason)).toEqual(['connect failed']);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('Its reason phrase ("connect failed") says the proxy never got a connection to its backend');
      expect(d.explanation).toContain('connect_attempts_timeout');
      expect(d.remedy).toContain('connect_attempts_max_retries');
    });

    test("Varnish's lone 503 after 3.0 s (s2a, first_byte_timeout) is a proxy's, named by its Via; its 503 at once beside it is counted apart", () => {
      const cap = new Capture();
      const via = ['Server: Varnish', 'Via: 1.1 varnish (Varnish/7.1)'];
      scene(cap, 0, { delay: 3.001, upstream: 'none', answer: '503 Backend fetch failed', answerHeaders: via });
      scene(cap, 4, { delay: 0.0006, upstream: 'none', answer: '503 Backend fetch failed', answerHeaders: via });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => [f.evidence.status, f.evidence.upstreamPhase, f.evidence.delaySeconds])).toEqual([[503, 'waited', 3.001]]);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('first_byte_timeout');
      expect(d.explanation).toContain('1 more answer (503) from it came at once');
    });

    test("HAProxy's lone 503 after 4.5 s (blind 14 S2c client leg: timeout connect 1.5 s, retries 2), its answers naming no software: the proxy's, its attempts named", () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 4.504, upstream: 'none', answer: '503 Service Unavailable' });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => [f.severity, f.evidence.status, f.evidence.upstreamPhase, f.evidence.delayClustered])).toEqual([['error', 503, 'waited', false]]);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.inferred).toEqual({});
      expect(d.explanation).toContain("as HAProxy's own error pages do");
      expect(d.explanation).toContain('timeout connect × (retries + 1)');
      expect(d.explanation).toContain('pausing min(timeout connect, 1 s) before each retry');
      expect(d.explanation).toContain('timeout queue');
      expect(d.explanation).toContain('Go http.TimeoutHandler');
    });

    test("near miss: a 503 whose head the snaplen cut names nothing for want of its bytes: not taken for HAProxy's unnamed 503 (a backend's own, Server: gunicorn, cut off at -s 96)", () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 2.5, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: [`X-Pad: ${'p'.repeat(120)}`, 'Server: gunicorn'] });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      expect(ofKind(cap.analyzeCut(96, only), KIND)).toEqual([]);
    });

    test("HAProxy's lone 503 beside its backend's named 200s (two writers, blind 14 S6b client leg): the unnamed 503 is the proxy's", () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 0.2, upstream: 'none', answer: '200 OK', answerHeaders: ['Server: BaseHTTP/0.6 Python/3.11.7'] });
      scene(cap, 1, { delay: 1.501, upstream: 'none', answer: '503 Service Unavailable' });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => f.evidence.upstreamPhase)).toEqual(['waited']);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('the software that header names did not write them');
      expect(d.explanation).not.toContain('The answers name the proxy: Server: BaseHTTP');
      expect(d.explanation).toContain('sQ--');
      // The backend's own 503 after a wait, passed on with its Server: no proxy's error.
      const passed = new Capture();
      scene(passed, 0, { delay: 0.2, upstream: 'none', answer: '200 OK', answerHeaders: ['Server: gunicorn'] });
      scene(passed, 1, { delay: 1.5, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: ['Server: gunicorn'] });
      expect(ofKind(passed.analyze(only), KIND)).toEqual([]);
    });

    test("HAProxy's 503 after 2 s beside refused connects from another address in its wait (blind 14 S2 run0, both legs): the refusals are named, not 'the capture does not show'", () => {
      const withRefusals = (times: number[]): Capture => {
        const cap = new Capture();
        scene(cap, 0, { delay: 2.005, upstream: 'none', answer: '503 Service Unavailable' });
        for (const [k, t] of times.entries()) {
          cap.add(t, buildTcpPacket({ src: '10.0.1.1', dst: '10.0.1.2', sport: 38000 + k, dport: 9101, seq: 7000, flags: TCP_SYN }));
          cap.add(t + 0.00002, buildTcpPacket({ src: '10.0.1.2', dst: '10.0.1.1', sport: 9101, dport: 38000 + k, seq: 0, ack: 7001, flags: TCP_RST | TCP_ACK }));
        }
        return cap;
      };
      const r = withRefusals([0.0015, 1.002, 2.003]).analyze(DETECTORS);
      expect(ofKind(r, KIND).map((f) => f.evidence.upstreamPhase)).toEqual(['waited']);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('The capture holds 3 refused connects within its wait');
      expect(d.explanation).not.toContain("the capture does not show the proxy's upstream connections");
      expect(d.remedy).toContain('Find why 10.0.1.2:9101 refuses connections');
      // Near miss: refusals after the 503 are no part of its wait.
      const [dl] = withRefusals([3, 4]).analyze(DETECTORS).diagnoses.filter((x) => x.kind === KIND);
      expect(dl.explanation).not.toContain('refused connect');
    });

    test("Apache mod_proxy's lone 503 after 2.5 s (blind 14 S2d client leg: connectiontimeout=2500ms) is its own; its 503 at once (refused) is counted apart", () => {
      const cap = new Capture();
      const apache = ['Server: Apache/2.4.71 (Debian)', 'Connection: close'];
      scene(cap, 0, { delay: 2.502, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: apache });
      scene(cap, 3, { delay: 0.0034, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: apache });
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => [f.evidence.status, f.evidence.upstreamPhase, f.evidence.delaySeconds])).toEqual([[503, 'waited', 2.502]]);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.explanation).toContain('The answers name the proxy: Server: Apache/2.4.71 (Debian)');
      expect(d.explanation).toContain('connectiontimeout=');
      expect(d.explanation).toContain('1 more answer (503) from it came at once');
      // Apache passes its backend's `Server` on (its 200s say the backend's): the 503's own connection names Apache.
      const beside = new Capture();
      scene(beside, 0, { delay: 0.01, upstream: 'none', answer: '200 OK', answerHeaders: ['Server: BaseHTTP/0.6 Python/3.11.7'] });
      scene(beside, 1, { delay: 2.501, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: apache });
      const rb = beside.analyze(only);
      expect(ofKind(rb, KIND).map((f) => f.evidence.upstreamPhase)).toEqual(['waited']);
      expect(rb.diagnoses.filter((x) => x.kind === KIND)[0].explanation).toContain('The answers name the proxy: Server: Apache/2.4.71 (Debian)');
      // Apache's 503s at once alone are no timeout (a refused backend, its retry= holddown).
      const fast = new Capture();
      scene(fast, 0, { delay: 0.0034, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: apache });
      scene(fast, 1, { delay: 0.003, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: apache });
      expect(ofKind(fast.analyze(only), KIND)).toEqual([]);
    });

    test('502s stacked by retries (s14: Caddy re-sent a GET uWSGI killed at 4 s): one diagnosis, the outlier counted, no 8 s timer', () => {
      const cap = new Capture();
      const caddy = ['Server: Caddy'];
      scene(cap, 0, { delay: 8.016, upstream: 'none', answer: '502 Bad Gateway', uri: '/slow/10', answerHeaders: caddy });
      scene(cap, 10, { delay: 7.987, upstream: 'none', answer: '502 Bad Gateway', uri: '/slow/11', answerHeaders: caddy });
      scene(cap, 20, { delay: 3.99, upstream: 'none', answer: '502 Bad Gateway', uri: '/slow/12', answerHeaders: caddy });
      const r = cap.analyze(only);
      const found = ofKind(r, KIND);
      expect(found.map((f) => [f.evidence.uri, f.evidence.upstreamPhase, f.evidence.delayClustered])).toEqual([
        ['/slow/10', 'waited', true], ['/slow/11', 'waited', true], ['/slow/12', 'waited', false],
      ]);
      const diagnoses = r.diagnoses.filter((x) => x.kind === KIND);
      expect(diagnoses).toHaveLength(1);
      const [d] = diagnoses;
      expect(d.count).toBe(3);
      expect(d.inferred.gatewayErrorAfter.value).toBeCloseTo(8.0, 1);
      expect(d.explanation).not.toMatch(/a timer of [\d.]+ s at the proxy/);
      expect(d.explanation).toContain('times its attempts (Caddy retries with lb_try_duration and lb_retries');
      expect(d.explanation).toContain('The longest wait (8.016 s) is about 2 times the shortest (3.99 s)');
      expect(d.remedy).not.toMatch(/^Capture the proxy's upstream side as well \(or read its error log\) to see which backend is slow/);
    });

    test("Varnish's 503s at its 3 s timer beside three 503s at once (s12 client leg): the timer stands, an error; the fast ones are another failure", () => {
      const cap = new Capture();
      const via = ['Server: Varnish', 'Via: 1.1 varnish (Varnish/7.1)'];
      for (let i = 0; i < 3; i++) scene(cap, i * 4, { delay: 3.0006 + i * 0.0015, upstream: 'none', answer: '503 Backend fetch failed', answerHeaders: via });
      for (let i = 0; i < 3; i++) scene(cap, 20 + i, { delay: 0.0006, upstream: 'none', answer: '503 Backend fetch failed', answerHeaders: via });
      const r = cap.analyze(DETECTORS);
      const found = ofKind(r, KIND);
      expect(found.map((f) => [f.severity, f.evidence.upstreamPhase, f.evidence.delayClustered])).toEqual(Array(3).fill(['error', 'invisible', true]));
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.inferred.upstreamTimeout.value).toBeCloseTo(3.002, 2);
      expect(d.explanation).toContain('3 more answers (503) from it came at once');
      expect(d.remedy).toContain('first_byte_timeout');
      // The fast ones are counted apart, as intermittent-5xx's proxy failing at once (Varnish's 503 is
      // its 502: blind round 15, stacks S4), not again among the timer's.
      expect(r.anomalies.filter((f) => f.kind === 'intermittent-5xx').map((f) => [f.evidence.fast, f.evidence.failures, f.evidence.statuses])).toEqual([[true, 3, [503]]]);
    });
  });

  test('a lone 504 is reported (the status says timeout), without an inferred value', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 2, upstream: 'none' });
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ status: 504, delayClustered: false });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
  });

  test('a backend connection that never carried the request: connect timeout', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 2, upstream: 'connect' });
    scene(cap, 4, { delay: 2.001, upstream: 'connect' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['connect', 'connect']);
    expect(found[0].evidence.upstreamEstablished).toBe(false);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(Object.keys(d.inferred)).toEqual(['proxyConnectTimeout']);
  });

  test('upstream traffic that is not HTTP (TLS to the backend): reported with the leg, phase opaque', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1.5, upstream: 'tls' });
    scene(cap, 3, { delay: 1.5, upstream: 'tls' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.upstreamPhase)).toEqual(['opaque', 'opaque']);
    expect(found.every((f) => typeof f.evidence.upstreamFlowId === 'number')).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.upstreamTimeout.value).toBeCloseTo(1.5, 3);
  });

  test('a 502 cut by a reload (HAProxy hard-stop-after): the proxy closed its idle connections at one moment, the error came its grace later', () => {
    const withIdleCloses = (ages: number[]): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      // Connections idle for different times, all closed by the proxy within 2 ms at 10.5 s.
      ages.forEach((age, k) => {
        const idle = downstream(cap);
        idle.handshake(1 + k * 0.1).exchange(10.5 - age, get(`/idle/${k}`), ok());
        idle.close(10.5 + k * 0.0005, 's');
      });
      // A request forwarded at 10 s, still waiting at the reload; the old process stops 1 s after it.
      scene(cap, 10, { delay: 1.5, upstream: 'read', uri: '/slow/1', answer: '502 Bad Gateway' });
      return cap.analyze(only);
    };
    const r = withIdleCloses([0.11, 0.3, 0.47, 2.5]);
    const [f] = ofKind(r, KIND);
    expect(f.summary).toContain('after it was reloaded or restarted (it closed 4 idle connections at one moment)');
    expect(f.evidence).toMatchObject({ status: 502, upstreamPhase: 'read', idleClosesAtReload: 4 });
    expect(f.evidence.sinceReload).toBeCloseTo(1.0, 2);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyHardStopAfter.value).toBeCloseTo(1.0, 2);
    expect(d.inferred.proxyReadTimeout).toBeUndefined();
    expect(d.explanation).toContain('Not an upstream read timeout');
    expect(d.remedy).toContain('hard-stop-after');
    // Idle closes at one moment of connections idle about as long: a timer on a tick, no reload.
    const ticked = withIdleCloses([5.0, 5.2, 5.4]);
    const [g] = ofKind(ticked, KIND);
    expect(g.summary).toContain('gave up waiting for the answer');
    expect(g.evidence.sinceReload).toBeUndefined();
  });

  describe('stays silent', () => {
    test("on a lone 503 after a wait whose answers name an application (it answers 503 itself), or nginx (its backend's, passed on)", () => {
      const app = new Capture();
      scene(app, 0, { delay: 3, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: ['Server: gunicorn'] });
      expect(ofKind(app.analyze(only), KIND)).toEqual([]);
      // nginx's slow 503 is its backend's, passed on: its timers answer 504, its backend's end 502.
      const nginx = new Capture();
      scene(nginx, 0, { delay: 3, upstream: 'none', answer: '503 Service Unavailable', answerHeaders: ['Server: nginx/1.22.1'] });
      expect(ofKind(nginx.analyze(only), KIND)).toEqual([]);
    });

    test('on a lone 502 answered at once (a refused backend, a pooled connection reset: intermittent-5xx\'s fast 502s)', () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 0.03, upstream: 'none', answer: '502 Bad Gateway', answerHeaders: ['Server: Caddy'] });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('on immediate 5xx (no timer at work: refused backend, no server available)', () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 0.002, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 1, { delay: 0.002, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 2, { delay: 0.003, upstream: 'none' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test("at the proxy, when it relays the backend's own error", () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 2, upstream: 'answered', answer: '503 Service Unavailable' });
      scene(cap, 4, { delay: 2, upstream: 'answered', answer: '503 Service Unavailable' });
      // The backend itself answered 503 after a fixed 2 s twice: a timer of its own (its upstream
      // is not in the capture), reported there; the proxy only passed the answer on.
      expect(ofKind(cap.analyze(only), KIND).map((f) => f.server)).toEqual(['10.0.0.3:8080', '10.0.0.3:8080']);
    });

    test('when the proxy sent nothing upstream for the request (no-upstream-connect reports it)', () => {
      const cap = new Capture();
      scene(cap, 0, { delay: 0.5, upstream: 'read', answer: '200 OK' }); // makes the proxy's upstream visible
      busySlot(cap, 1, 10);
      scene(cap, 2, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      scene(cap, 2.1, { delay: 1, upstream: 'none', answer: '503 Service Unavailable' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------- real samples

const samples = new Map(listSamples().filter((s) => s.meta !== null).map((s) => [s.name, s]));
const has = (name: string): boolean => samples.has(name);
function meta(name: string): SampleMeta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as SampleMeta;
}
const tolerance = (value: number): number => Math.max(0.02 * value, 0.02);

/** nginx connecting to its backend from the address it listens on, and from another one (learned from the requests it forwards). */
const nginx = ['gateway-timeout-nginx', 'gateway-timeout-nginx-other-address'].filter(has);

test.each(nginx)('%s: each 504 paired with its abandoned upstream leg; proxy_read_timeout inferred', async (name) => {
  const m = meta(name);
  const configured = m.configured?.proxyReadTimeout as number;
  const r = await analyzeSample(name);
  const found = ofKind(r, KIND);
  const expected = (m.expect ?? []).filter((e) => e.kind === KIND);
  expect(found.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
  for (const f of found) {
    const e = expected.find((x) => x.client === f.client)!;
    const upstreamLeg = (e.evidence as Record<string, unknown> | undefined)?.upstreamLeg;
    expect(f.evidence).toMatchObject({ status: 504, upstreamPhase: 'read', upstreamUriMatched: true, upstreamClosedBy: 'proxy', upstreamAnswered: false });
    if (upstreamLeg !== undefined) expect(f.evidence.upstreamLeg).toBe(upstreamLeg);
    expect(Math.abs((f.evidence.delaySeconds as number) - configured)).toBeLessThanOrEqual(tolerance(configured));
    // nginx closes the upstream connection and sends the 504 in the same instant.
    expect(Math.abs(f.evidence.upstreamCloseVsResponse as number)).toBeLessThanOrEqual(0.02);
  }
  const [d] = r.diagnoses.filter((x) => x.kind === KIND);
  expect(Math.abs(d.inferred.proxyReadTimeout.value - configured)).toBeLessThanOrEqual(tolerance(configured));
});

/** HAProxy forwards a body as it comes: a client that sends 10 of its 100 bytes holds the backend until timeout server (and a near miss: the whole body, a slow backend). */
describe("nginx's lone 502 after a wait, its upstream out of sight (blind round 11: gunicorn's lone worker kill, Go's WriteTimeout, a kill -9)", () => {
  const NGINX_502 = ok('bad gateway', ['Server: nginx/1.22.1'], 'HTTP/1.1', '502 Bad Gateway');
  const NGINX_200 = ok('fine', ['Server: nginx/1.22.1']);
  /** One request to nginx (10.0.0.2:80) answered `answer` after `delay` s, on its own connection. */
  function toNginx(cap: Capture, at: number, delay: number, answer: string): void {
    const down = downstream(cap);
    down.handshake(at).request(at + 0.001, get(`/r/${at}`)).response(at + 0.001 + delay, answer);
    down.close(at + 0.002 + delay, 'c');
  }

  test('one alone is a finding: the backend ended the connection after that wait; no time limit inferred from one', () => {
    const cap = new Capture();
    toNginx(cap, 0, 0.002, NGINX_200);
    toNginx(cap, 1, 3.31, NGINX_502);
    toNginx(cap, 6, 0.002, NGINX_200);
    const r = cap.analyze(only);
    // Before: no finding (a lone 502 was neither a 504 nor clustered).
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ status: 502, upstreamPhase: 'ended', delayClustered: false, backendEndedAfter: 3.31 });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('its own timers answer 504');
    expect(d.explanation).toContain('One such error names no time limit');
    expect(d.remedy).toContain("Raising nginx's proxy_read_timeout changes nothing");
  });

  test('one beside three that agree (a kill on a 1 s tick): one diagnosis of the four, the three\'s value', () => {
    const cap = new Capture();
    for (const [at, delay] of [[0, 3.882], [0.01, 3.908], [0.02, 3.912], [6, 3.31]] as const) toNginx(cap, at, delay, NGINX_502);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(4);
    const ds = r.diagnoses.filter((x) => x.kind === KIND);
    expect(ds).toHaveLength(1);
    expect(ds[0].count).toBe(4);
    expect(ds[0].inferred.backendEndedAfter).toMatchObject({ samples: 3 });
    expect(ds[0].inferred.backendEndedAfter.value).toBeCloseTo(3.9, 1);
  });

  test('near miss: a 502 at once (a refused connect, a pooled connection reset under the request) is no backend time', () => {
    const cap = new Capture();
    toNginx(cap, 0, 0.002, NGINX_200);
    toNginx(cap, 1, 0.06, NGINX_502);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: healthy answers of nginx, however slow, are nothing', () => {
    const cap = new Capture();
    for (let i = 0; i < 4; i++) toNginx(cap, i * 5, 3.3, NGINX_200);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

describe('HAProxy in front of a backend, clients that never finish their upload', () => {
  const recorded = has('gateway-timeout-haproxy-unfinished-body') && has('gateway-timeout-haproxy-slow-upload');
  (recorded ? test : test.skip)('the unfinished bodies are told as the client uploads the backend waited for', async () => {
    const r = await analyzeSample('gateway-timeout-haproxy-unfinished-body');
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    for (const f of found) expect(f.evidence).toMatchObject({ status: 504, upstreamPhase: 'read', requestBodyUnfinished: true, requestBodySent: 10, requestBodyDeclared: 100 });
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(1, 1);
    expect(d.explanation).toContain('waiting for the body the client never finished sending');
    expect(d.explanation).not.toContain('hung or was too slow');
    expect(d.remedy).toContain('option http-buffer-request');
  });
  (recorded ? test : test.skip)('near miss: whole bodies to a slow backend stay the backend\'s', async () => {
    const r = await analyzeSample('gateway-timeout-haproxy-slow-upload');
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    for (const f of found) expect(f.evidence.requestBodyUnfinished).toBeUndefined();
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('The backend hung or was too slow');
    expect(d.remedy).toContain('is slow for these URIs');
  });
});

const silent = [
  'no-upstream-connect-haproxy', 'no-upstream-connect-haproxy-loopback', 'no-upstream-connect-haproxy-other-address', 'intermittent-5xx-reuseport', 'unanswered-request-timeout', 'reset-before-response',
  'keepalive-node-agent', 'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'abortive-close-after-response',
  'http10-keepalive-and-close', 'connection-close-curl', 'pipelining', 'chunked-responses', 'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
].filter(has);

test.each(silent)('silent on %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});

describe('gateway-timeout seen from the client, a round trip of 40 ms from the proxy', () => {
  test("the proxy's timer is the delay seen less the round trip to it (the request reached it, and the 504 came back, 20 ms each way)", () => {
    const cap = new Capture();
    const waits: Array<[number, number]> = [[0, 1.0], [3, 1.001], [6, 1.0005]];
    for (const [t, wait] of waits) {
      const c = cap.connection();
      c.handshake(t, 0.04).request(t + 0.041, get('/hang'));
      c.response(t + 0.041 + 0.04 + wait, ok('', [], 'HTTP/1.1', '504 Gateway Time-out')).close(t + 0.041 + 0.04 + wait + 0.001, 'c');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.upstreamTimeout.value).toBeCloseTo(1.0005, 3);
    for (const f of ofKind(r, KIND)) expect(f.evidence.delaySeconds as number).toBeLessThan(1.002);
  });
});

describe("gateway-timeout seen from the client only: the remedy names the proxy's own settings where its answers name it", () => {
  /** Three 504s after 3 s carrying `headers`, each on a connection of its own, beside 200s carrying `okHeaders`. */
  function remedyWith(headers: string[], okHeaders: string[] = headers): string {
    const cap = new Capture();
    for (const t of [0, 5, 10]) {
      cap.connection().handshake(t).exchange(t + 0.01, get('/fast'), ok('ok', okHeaders)).close(t + 0.02, 'c');
      const c = cap.connection();
      c.handshake(t + 0.1).request(t + 0.11, get('/hang'));
      c.response(t + 3.111, ok('', headers, 'HTTP/1.1', '504 Gateway Time-out')).close(t + 3.12, 'c');
    }
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    return d.remedy;
  }

  test("nginx's 504 says `Server: nginx`: proxy_read_timeout and proxy_connect_timeout are named", () => {
    expect(remedyWith(['Server: nginx/1.22.1'])).toContain('its answers name it: nginx `proxy_read_timeout`');
  });

  test('near misses: no Server header, or 504s without one beside answers naming Apache (a proxy passing its backend\'s on): no product named', () => {
    expect(remedyWith([])).not.toContain('its answers name it');
    expect(remedyWith([], ['Server: Apache/2.4.62'])).not.toContain('its answers name it');
  });
});

describe("gateway-timeout: a server's own 504 for a handler of its own (Apache running a CGI script), no upstream leg anywhere", () => {
  /**
   * Two 504s after 3 s carrying `headers`, on a server that also answers 200s carrying them; with
   * `upstream`, its host also talks to a backend (10.0.0.3:8080) in between: a proxy's leg in sight.
   */
  function own504(headers: string[], upstream = false) {
    const cap = new Capture();
    for (const t of [0, 5]) {
      cap.connection().handshake(t).exchange(t + 0.01, get('/index.html'), ok('ok', headers)).close(t + 0.02, 'c');
      const c = cap.connection();
      c.handshake(t + 0.1).request(t + 0.11, get('/cgi-bin/slow.sh'));
      c.response(t + 3.112, ok('', headers, 'HTTP/1.1', '504 Gateway Timeout')).close(t + 3.12, 'c');
    }
    if (upstream) {
      // The server forwarding another request to its backend, answered at once: its upstream leg is in the capture.
      const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
      up.handshake(2).exchange(2.01, get('/api'), ok('ok')).close(2.02, 'c');
    }
    const r = cap.analyze(only);
    return { found: ofKind(r, KIND), d: r.diagnoses.find((x) => x.kind === KIND)! };
  }

  test("Apache's 504s, its host connecting nowhere: its own CGI timer leads (mod_cgid CGIDScriptTimeout), the proxy's second", () => {
    const { found, d } = own504(['Server: Apache/2.4.71 (Debian)']);
    expect(found).toHaveLength(2);
    expect(found[0].summary).toContain('by Apache itself as far as the capture shows');
    expect(d.explanation).not.toContain('the proxy gave up on its upstream');
    expect(d.explanation).toContain('it was seen proxying nothing, so the 504 is most likely its own');
    expect(d.explanation).toContain('mod_cgid `CGIDScriptTimeout` (when unset, `Timeout`, 60 s by default)');
    expect(d.explanation).toContain('Only if it proxies these URIs to a backend out of sight');
    // The remedy names the CGI timer first, the proxy's timeouts after it.
    expect(d.remedy.indexOf('CGIDScriptTimeout')).toBeGreaterThanOrEqual(0);
    expect(d.remedy.indexOf('CGIDScriptTimeout')).toBeLessThan(d.remedy.indexOf('ProxyTimeout'));
    expect(d.remedy).toContain('"Script timed out before returning headers"');
  });

  test('near miss: the same Apache with an upstream leg in sight stays a proxy, its CGI timer named beside ProxyTimeout', () => {
    const { found, d } = own504(['Server: Apache/2.4.71 (Debian)'], true);
    expect(found).toHaveLength(2);
    expect(found[0].summary).toContain('an upstream timeout at the proxy');
    expect(d.explanation).toContain('the proxy gave up on its upstream');
    expect(d.remedy.indexOf('ProxyTimeout')).toBeLessThan(d.remedy.indexOf('CGIDScriptTimeout'));
  });

  test('near misses: nginx (no handlers of its own) and answers naming no software stay a proxy\'s upstream timeout', () => {
    for (const headers of [['Server: nginx/1.22.1'], []]) {
      const { found, d } = own504(headers);
      expect(found[0].summary).toContain('an upstream timeout at the proxy');
      expect(d.explanation).toContain('the proxy gave up on its upstream');
      expect(d.remedy).not.toContain('CGIDScriptTimeout');
    }
  });

  const file = path.join(SAMPLES_DIR, 'gateway-timeout-apache-cgid.pcap');
  (fs.existsSync(file) ? test : test.skip)('gateway-timeout-apache-cgid (recorded): mod_cgid 504s after CGIDScriptTimeout 2 s, told as Apache\'s own', async () => {
    const r = await analyzeSample('gateway-timeout-apache-cgid');
    const found = r.anomalies.filter((a) => a.kind === KIND);
    expect(found).toHaveLength(2);
    expect(found.every((f) => f.summary.includes('by Apache itself'))).toBe(true);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain('CGIDScriptTimeout');
    expect(d.explanation).not.toContain('the proxy gave up on its upstream');
  });
});

describe('gateway-timeout and unanswered-request on lighttpd, whose read timeout is checked once a second', () => {
  const file = path.join(SAMPLES_DIR, 'gateway-timeout-lighttpd.pcap');
  (fs.existsSync(file) ? test : test.skip)('the waits one tick ended together are one timer, on both legs', async () => {
    const r = await analyzeSample('gateway-timeout-lighttpd');
    const proxy = r.diagnoses.filter((d) => d.kind === 'gateway-timeout');
    expect(proxy).toHaveLength(1);
    expect(proxy[0].count).toBe(r.anomalies.filter((a) => a.kind === 'gateway-timeout').length);
    // The upstream legs' unanswered requests are the same failures: listed in the proxy's diagnosis, none of their own.
    expect(r.diagnoses.filter((d) => d.kind === 'unanswered-request')).toEqual([]);
    const unanswered = r.anomalies.filter((a) => a.kind === 'unanswered-request').map((a) => a.id);
    expect(unanswered.length).toBeGreaterThan(0);
    expect(proxy[0].anomalyIds.filter((id) => id.startsWith('unanswered-request#')).sort()).toEqual(unanswered.sort());
    // The value is the shortest wait: a timer fires at its timeout or after it.
    expect(proxy[0].inferred.proxyReadTimeout.value).toBeCloseTo(5.006, 2);
  });
});

describe('gateway-timeout: two proxies on one host share the upstream source address', () => {
  /**
   * Client 10.0.0.1 → proxy A 10.0.0.2:80 and proxy B 10.0.0.2:81. A answers `GET /dead` 503 after
   * 3 s without sending it upstream (its connects refused); meanwhile B forwards its client's
   * `GET /stop` to 10.0.0.3:9203, which never answers, and gives up after 3 s (504).
   */
  function twoProxies(): Capture {
    const cap = new Capture();
    const dead = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
    dead.handshake(0.99).request(1, get('/dead'));
    const stop = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 81 });
    stop.handshake(1.49).request(1.5, get('/stop'));
    const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9203 });
    up.handshake(1.5001).request(1.5003, get('/stop'));
    dead.response(4.0, ok('no server', [], 'HTTP/1.1', '503 Service Unavailable'));
    up.fin(4.5, 'c');
    stop.response(4.5002, ok('timeout', [], 'HTTP/1.1', '504 Gateway Timeout'));
    return cap;
  }

  test('the GET /stop forwarded for B is not the copy of A\'s GET /dead: B\'s 504 pairs with it, A\'s 503 with nothing', () => {
    const found = ofKind(twoProxies().analyze([gatewayTimeout]), 'gateway-timeout');
    // A's 503 after 3 s naming no software is a proxy's error after a wait (HAProxy's own names none), its upstream unseen: never paired with B's leg.
    expect(found.filter((f) => f.summary.startsWith('GET /dead')).map((f) => [f.evidence.upstreamPhase, f.evidence.upstreamFlowId])).toEqual([['waited', null]]);
    const stop = found.filter((f) => f.summary.startsWith('GET /stop'));
    expect(stop).toHaveLength(1);
    expect(stop[0].summary).toContain('it had forwarded the request to 10.0.0.3:9203');
  });
});

describe('gateway-timeout: one failure seen on both legs is one diagnosis (blind test: nginx proxy_read_timeout on a long-poll backend)', () => {
  // Long polls the backend holds open past the proxy's read timeout: the proxy closes each upstream
  // connection and answers 504, 30 s after each request.
  function longPolls(upstreamKind: 'read' | 'backendEnds'): Capture {
    const cap = new Capture();
    for (const [i, at] of [0, 40, 80].entries()) {
      if (upstreamKind === 'read') {
        scene(cap, at, { delay: 30, upstream: 'read', uri: `/poll?i=${i}` });
        continue;
      }
      // Near miss: the backend ends each upstream connection (FIN, no answer) and the proxy relays it.
      const down = downstream(cap);
      down.handshake(at).request(at + 0.001, get(`/poll?i=${i}`));
      const up = upstream(cap);
      up.handshake(at + 0.0015).request(at + 0.002, get(`/poll?i=${i}`));
      up.fin(at + 30, 's').fin(at + 30.0002, 'c');
      down.response(at + 30.0005, ok('bad gateway', [], 'HTTP/1.1', '502 Bad Gateway')).close(at + 30.01, 'c');
    }
    return cap;
  }

  test('the 504 points at the upstream leg\'s unanswered request, and one diagnosis (the proxy\'s timer) holds both', () => {
    const r = longPolls('read').analyze(DETECTORS);
    const gateway = ofKind(r, KIND);
    const unanswered = ofKind(r, 'unanswered-request').filter((f) => f.server === '10.0.0.3:8080');
    expect(gateway).toHaveLength(3);
    expect(unanswered).toHaveLength(3);
    expect(gateway.map((f) => f.evidence.upstreamFinding).sort()).toEqual(unanswered.map((f) => f.id).sort());
    for (const f of gateway) expect(unanswered.find((u) => u.id === f.evidence.upstreamFinding)!.flowId).toBe(f.evidence.upstreamFlowId);
    expect(r.diagnoses.filter((d) => d.kind === 'unanswered-request')).toEqual([]);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.proxyReadTimeout.value).toBeCloseTo(30, 1);
    expect(d.anomalyIds.sort()).toEqual([...gateway, ...unanswered].map((f) => f.id).sort());
  });

  test('near miss: a backend that ended the connections itself keeps its own unanswered-request diagnosis, no proxy timer', () => {
    const r = longPolls('backendEnds').analyze(DETECTORS);
    expect(ofKind(r, KIND)).toEqual([]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.server).toBe('10.0.0.3:8080');
    // The 3 upstream waits, and the 3 502s the proxy relayed of them (on its client connections).
    const relayed = ofKind(r, 'unanswered-request').filter((f) => f.evidence.relayedBackendClose === true);
    expect(relayed.map((f) => f.server)).toEqual(['10.0.0.2:80', '10.0.0.2:80', '10.0.0.2:80']);
    expect(d.anomalyIds).toHaveLength(6);
    expect(d.explanation).toContain('answered its clients 502 for 3 of them');
  });

  test('without gateway-timeout in the run, unanswered-request diagnoses the upstream waits itself', () => {
    const r = longPolls('read').analyze(DETECTORS.filter((x) => x.id !== KIND));
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.anomalyIds).toHaveLength(3);
  });
});

/**
 * Blind test 12, scene 1 filtered to the proxy's front port and a direct client's port: nginx
 * answers GET /slow 504 after 1.018 s, its own upstream leg not in the capture, while curl on the
 * proxy's host (one address for both) sends GET /hang straight to a backend 0.77 s into that wait.
 * A different target is another request, not the proxy's copy: the 504 is not pinned on that
 * backend. Near miss: the proxy's leg visible with the same target under an added prefix keeps
 * its pairing.
 */
describe('gateway-timeout: a plain client on the proxy\'s host asks another URI during the wait', () => {
  const build = (proxyLegVisible: boolean): Capture => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1.018, upstream: proxyLegVisible ? 'read' : 'none', upstreamUri: '/app/slow', uri: '/slow' });
    const direct = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9001 });
    direct.handshake(0.768).request(0.769, get('/hang'));
    direct.close(1.963, 's');
    return cap;
  };
  const only = [gatewayTimeout];

  test('the direct GET /hang is not taken for the forwarded GET /slow', () => {
    const [f] = ofKind(build(false).analyze(only), 'gateway-timeout');
    expect(f.evidence.upstreamServer ?? null).toBeNull();
    expect(f.summary).not.toContain('10.0.0.3:9001');
  });

  test('the proxy seen forwarding other requests (--sample kept them, not this one): still no pairing, and no "nothing upstream" claim', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/1' });
    scene(cap, 0.5, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/2' });
    scene(cap, 1, { delay: 1.018, upstream: 'none', uri: '/slow' });
    const direct = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9001 });
    direct.handshake(1.768).request(1.769, get('/hang'));
    direct.close(2.963, 's');
    const r = cap.analyze(DETECTORS);
    const [f] = ofKind(r, 'gateway-timeout');
    expect(f.evidence.upstreamServer ?? null).toBeNull();
    expect(ofKind(r, 'no-upstream-connect')).toEqual([]);
  });

  test('near miss: the forwarded GET /app/slow is paired, the direct GET /hang is not', () => {
    const [f] = ofKind(build(true).analyze(only), 'gateway-timeout');
    expect(f.evidence).toMatchObject({ upstreamServer: '10.0.0.3:8080', upstreamRequest: 'GET /app/slow', upstreamUriMatched: true, upstreamPhase: 'read' });
  });
});

describe('recorded: shared-ip-nginx-curl (nginx and curl on one loopback address)', () => {
  const name = 'shared-ip-nginx-curl';
  const file = path.join(SAMPLES_DIR, `${name}.pcap`);
  const run = fs.existsSync(file) ? test : test.skip;
  run("the 504 stays on nginx's leg to 9000; filtered to 8080 and 9001 it is not pinned on curl's direct request to 9001", async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as { observed: { direct: number } };
    const [whole] = ofKind(await analyzeSample(name), 'gateway-timeout');
    expect(whole.evidence).toMatchObject({ upstreamServer: '127.0.0.1:9000', upstreamRequest: 'GET /hang/front', upstreamUriMatched: true });
    const filtered = await analyzeFiles([file], { detectors: DETECTORS, filter: new PacketFilter([], [8080, 9001]) });
    const [f] = ofKind(filtered, 'gateway-timeout');
    expect(f.evidence.upstreamServer ?? null).toBeNull();
    expect(f.summary).not.toContain(`127.0.0.1:${meta.observed.direct}`);
    // The refused connect was curl's own: no proxy reading.
    const refused = filtered.diagnoses.find((d) => d.kind === 'connection-refused');
    expect(refused?.explanation ?? '').not.toContain('is a proxy');
  });
});

describe('a 504 whose request the capture does not show', () => {
  const gatewayError = (status: number): string => `HTTP/1.1 ${status} Status\r\nContent-Length: 0\r\n\r\n`;
  /** A connection seen mid-stream: its request went before the capture began, then the proxy's answer. */
  const midStream = (status: number) => {
    const cap = new Capture();
    cap.connection({ cport: 40001 }).unseen('c', get('/slow')).response(5, gatewayError(status));
    return cap.analyze(only);
  };

  test('is reported (a proxy gave up upstream), with no wait or timer made up', () => {
    const r = midStream(504);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ status: 504, requestSeen: false });
    expect(f.evidence.delaySeconds).toBeUndefined();
    expect(f.summary).toContain('does not show');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred).toEqual({});
    expect(d.anomalyIds).toEqual([f.id]);
  });

  test('near misses: a 502 or a 200 without its request says no timeout', () => {
    expect(ofKind(midStream(502), KIND)).toEqual([]);
    expect(ofKind(midStream(200), KIND)).toEqual([]);
  });

  test('a 504 with its request in the capture is not told as request-less', () => {
    const cap = new Capture();
    cap.connection({ cport: 40002 }).handshake(0).request(0.01, get('/slow')).response(3.01, gatewayError(504));
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.length).toBe(1);
    expect(found[0].evidence.requestSeen).toBeUndefined();
    expect(found[0].evidence.delaySeconds).toBeCloseTo(3, 2);
  });

  const name = 'gateway-timeout-caddy';
  const file = path.join(SAMPLES_DIR, `${name}.pcap`);
  const run = fs.existsSync(file) ? test : test.skip;
  run('recorded: --since after the requests and before their 504s (a blind tester had none reported)', async () => {
    const whole = ofKind(await analyzeSample(name), KIND);
    expect(whole.length).toBeGreaterThan(0);
    const lastRequest = Math.max(...whole.map((f) => Number(f.evidence.requestStart)));
    const firstAnswer = Math.min(...whole.map((f) => f.ts));
    expect(lastRequest).toBeLessThan(firstAnswer);
    const since = (lastRequest + firstAnswer) / 2;
    const cut = await analyzeFiles([file], { detectors: DETECTORS, filter: new PacketFilter([], [], since) });
    const found = ofKind(cut, KIND);
    expect(found.map((f) => f.ts).sort()).toEqual(whole.map((f) => f.ts).sort());
    expect(found.every((f) => f.evidence.requestSeen === false)).toBe(true);
  });
});

describe('recorded: gateway errors after a wait on a proxy\'s client leg alone (blind round 13, proxies)', () => {
  (has('gateway-error-caddy-client-leg') ? test : test.skip)(
    "Caddy's 502s (a dial timeout, a GET it re-sent after uWSGI killed it, one killed once) are errors in one diagnosis, no timer made up; the application's own 503 stays silent",
    async () => {
      const r = await analyzeSample('gateway-error-caddy-client-leg');
      const found = ofKind(r, KIND);
      expect(found.map((f) => [f.evidence.uri, f.evidence.status, f.evidence.upstreamPhase, f.severity])).toEqual([
        ['/bh/1', 502, 'waited', 'error'], ['/slow/10', 502, 'waited', 'error'], ['/slow/11', 502, 'waited', 'error'],
      ]);
      const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(more).toEqual([]);
      expect(d.inferred).toEqual({});
      expect(d.explanation).toContain('Caddy answers 502 when its dial_timeout');
      expect(d.explanation).not.toMatch(/a timer of [\d.]+ s at the proxy/);
      expect(r.anomalies.filter((f) => f.evidence.uri === '/app503')).toEqual([]);
    },
  );

  (has('gateway-error-varnish-held-down-client-leg') ? test : test.skip)(
    "Varnish's 503s at its 1.5 s first_byte_timeout beside three at once: the timer's error, the fast ones counted apart as the proxy failing at once",
    async () => {
      const r = await analyzeSample('gateway-error-varnish-held-down-client-leg');
      expect(ofKind(r, KIND).map((f) => [f.evidence.status, f.evidence.upstreamPhase, f.severity])).toEqual([[503, 'invisible', 'error'], [503, 'invisible', 'error']]);
      const [d] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(d.inferred.upstreamTimeout.value).toBeCloseTo(1.5, 1);
      expect(d.explanation).toContain('3 more answers (503) from it came at once');
      expect(r.anomalies.filter((f) => f.kind === 'intermittent-5xx').map((f) => [f.severity, f.evidence.fast, f.evidence.failures])).toEqual([['warning', true, 3]]);
    },
  );
});

describe('gateway-timeout: 503s after one wait seen from the client leg alone', () => {
  // Blind 13b S8 (client leg): HAProxy's 503 sQ-- at its `timeout queue` (1 s) named only connect and
  // read timers; a queue timeout answers 503 without sending the request upstream at all.
  function fixedWaits(status: string, headers: string[] = []): ReturnType<Capture['analyze']> {
    const cap = new Capture();
    for (const at of [0, 2, 4]) scene(cap, at, { delay: 1.002, upstream: 'none', answer: status, answerHeaders: headers });
    return cap.analyze([gatewayTimeout]);
  }

  test('503s with no Server field name the queue timeout (HAProxy timeout queue, Apache acquire=)', () => {
    const [d] = fixedWaits('503 Service Unavailable').diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d.explanation).toContain('HAProxy timeout queue');
    expect(d.explanation).toContain('never sent upstream');
    expect(d.explanation).toContain('termination state sQ');
  });

  test('near miss: 504s, and 503s from a proxy that queues nothing (Varnish), name no queue', () => {
    const [d504] = fixedWaits('504 Gateway Time-out').diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(d504.explanation).not.toContain('timeout queue');
    const [varnish] = fixedWaits('503 Backend fetch failed', ['Via: 1.1 varnish (Varnish/7.1)']).diagnoses.filter((x) => x.kind === 'gateway-timeout');
    expect(varnish?.explanation ?? '').not.toContain('timeout queue');
  });
});

/**
 * Blind round 15, S5: Apache `ProxyPass /b/ http://gunicorn/ timeout=1` sends the mount point
 * `/b/` on as `/`. Its 502 for GET /b/ after the timer was told as "its upstream connections not in
 * the capture" although the upstream GET / sat in the same capture, unanswered, closed by Apache
 * with the 502: a bare `/` pairs with a directory only once the proxy is seen stripping that prefix
 * on another request to the same backend (GET /b/sleep/3 sent on as GET /sleep/3).
 */
describe('gateway-timeout: a proxy maps a prefix onto its backend\'s root (GET /b/ sent on as GET /)', () => {
  const APACHE_502 = { answer: '502 Proxy Error', answerHeaders: ['Server: Apache/2.4.71 (Debian)'] };

  test('the 502 for GET /b/ pairs with the upstream GET / when GET /b/sleep/3 was seen sent on as GET /sleep/3', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1.034, upstream: 'read', uri: '/b/sleep/3', upstreamUri: '/sleep/3', ...APACHE_502 });
    scene(cap, 3, { delay: 1.037, upstream: 'read', uri: '/b/', upstreamUri: '/', ...APACHE_502 });
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(2);
    expect(found[1].evidence).toMatchObject({ uri: '/b/', upstreamPhase: 'read', upstreamRequest: 'GET /', upstreamUriMatched: true, upstreamClosedBy: 'proxy' });
    expect(found[1].summary).not.toContain('not in the capture');
  });

  test('the other way round: a proxy that adds /v1 sends GET / on as GET /v1/', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/x', upstreamUri: '/v1/x' });
    scene(cap, 3, { delay: 1.002, upstream: 'read', uri: '/', upstreamUri: '/v1/' });
    const found = ofKind(cap.analyze(only), KIND);
    expect(found[1].evidence).toMatchObject({ uri: '/', upstreamPhase: 'read', upstreamRequest: 'GET /v1/', upstreamUriMatched: true });
  });

  test('near miss: no request shows the proxy stripping /b, so a GET / from its host is no copy of GET /b/', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1, upstream: 'read', uri: '/c/sleep/3', upstreamUri: '/sleep/3' });
    scene(cap, 3, { delay: 1.037, upstream: 'read', uri: '/b/', upstreamUri: '/', ...APACHE_502 });
    const found = ofKind(cap.analyze(only), KIND);
    const b = found.find((f) => f.evidence.uri === '/b/');
    expect(b?.evidence.upstreamServer ?? null).toBeNull();
  });

  test('near miss: the prefix is seen stripped, but this 502 had no upstream attempt at all', () => {
    const cap = new Capture();
    scene(cap, 0, { delay: 1.034, upstream: 'read', uri: '/b/sleep/3', upstreamUri: '/sleep/3', ...APACHE_502 });
    scene(cap, 3, { delay: 1.037, upstream: 'none', uri: '/b/', ...APACHE_502 });
    const found = ofKind(cap.analyze(only), KIND);
    const b = found.find((f) => f.evidence.uri === '/b/');
    expect(b?.evidence.upstreamServer ?? null).toBeNull();
    expect(b?.evidence.upstreamPhase).not.toBe('read');
  });
});

describe('recorded: gateway-timeout-apache-mount-root (ProxyPass /b/ onto the backend\'s root, one gunicorn sync worker)', () => {
  const name = 'gateway-timeout-apache-mount-root';
  const file = path.join(SAMPLES_DIR, `${name}.pcap`);
  const run = fs.existsSync(file) ? test : test.skip;
  run('both 502s pair with their upstream attempts, GET /b/ with the GET / it was sent on as; one read timeout of about 1 s', async () => {
    const r = await analyzeSample(name);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.uri)).toEqual(['/b/sleep/3/a', '/b/']);
    expect(found.map((f) => f.evidence.upstreamRequest)).toEqual(['GET /sleep/3/a', 'GET /']);
    for (const f of found) expect(f.evidence).toMatchObject({ status: 502, upstreamPhase: 'read', upstreamUriMatched: true, upstreamClosedBy: 'proxy' });
    const diagnoses = r.diagnoses.filter((d) => d.kind === KIND);
    expect(diagnoses).toHaveLength(1);
    expect(diagnoses[0].inferred.proxyReadTimeout.samples).toBe(2);
    expect(Math.abs(diagnoses[0].inferred.proxyReadTimeout.value - 1)).toBeLessThan(0.05);
    expect(diagnoses[0].explanation).not.toContain('does not show the proxy');
  });
});
