/**
 * connection-refused when the refused client is a proxy (Apache mod_proxy_balancer, a member whose
 * connect was refused and that it then holds in error state): the proxy failed one request when
 * its connect was refused, then answered the next ones 503 at once without any SYN upstream. The
 * diagnosis says so, and that no timeout is at work; no other detector invents one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DETECTORS } from '../../src/detect/registry';
import { SAMPLES_DIR, analyzeSample, listSamples } from '../samples';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { BACKEND, chain, CLIENT, FRONT_ENDPOINT, PROXY, PROXY_ENDPOINT, scene, throughChain } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

/** The proxy's SYN to the backend's port 9002, answered by RST,ACK. */
function refusedConnect(cap: Capture, at: number, port: number): void {
  cap.add(at, buildTcpPacket({ src: PROXY, dst: BACKEND, sport: port, dport: 9002, seq: 500, flags: TCP_SYN }));
  cap.add(at + 0.00002, buildTcpPacket({ src: BACKEND, dst: PROXY, sport: 9002, dport: port, seq: 0, ack: 501, flags: TCP_RST | TCP_ACK }));
}

function build(withFastFailures: boolean): Capture {
  const cap = new Capture();
  // The proxy forwards from its own address (seen with two answered requests).
  scene(cap, 0, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/1' });
  scene(cap, 0.5, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/2' });
  // A request whose connect is refused: answered 503 0.3 ms later.
  scene(cap, 1, { delay: 0.0003, upstream: 'none', answer: '503 Service Unavailable', uri: '/down/1' });
  refusedConnect(cap, 1.0011, 45000);
  if (withFastFailures) {
    for (const [i, t] of [1.3, 1.6, 1.9].entries()) scene(cap, t, { delay: 0.0002, upstream: 'none', answer: '503 Service Unavailable', uri: `/down/${i + 2}` });
  }
  return cap;
}

describe('connection-refused, the refused client being a proxy', () => {
  test("the proxy's 503s at once without any SYN are told apart from a timeout", () => {
    const r = build(true).analyze(DETECTORS);
    expect(ofKind(r, 'connection-refused')).toHaveLength(1);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain(`The refused client is a proxy (${PROXY_ENDPOINT}): it failed 1 of its clients' request(s) with 503 when its connect was refused`);
    expect(d.explanation).toContain('and 3 more with 503');
    expect(d.explanation).toContain('No timeout is at work');
    expect(r.diagnoses.map((x) => x.kind)).toEqual(['connection-refused']);
  });

  test('without such failures the diagnosis says nothing of a proxy marking the backend down', () => {
    const r = build(false).analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain('when its connect was refused');
    expect(d.explanation).not.toContain('marked the backend down');
  });
});

/**
 * Two proxies on one host, connecting upstream from one address (proxies s2: HAProxy on 8181 in
 * front of 9101, nginx on 8182 in front of 9102), both backends restarting: HAProxy holds its
 * client's request across the refusals and answers 200 once 9101 is back, ~2 s later; nginx
 * answers 502 on its refused connect, then 502 at once twice with no SYN upstream.
 */
function twoProxies(): Capture {
  const cap = new Capture();
  const front = (port: number) => cap.connection({ client: CLIENT, server: PROXY, sport: port });
  const back = (port: number) => cap.connection({ client: PROXY, server: BACKEND, sport: port });
  const refused = (at: number, sport: number, dport: number): void => {
    cap.add(at, buildTcpPacket({ src: PROXY, dst: BACKEND, sport, dport, seq: 500, flags: TCP_SYN }));
    cap.add(at + 0.00002, buildTcpPacket({ src: BACKEND, dst: PROXY, sport: dport, dport: sport, seq: 0, ack: 501, flags: TCP_RST | TCP_ACK }));
  };
  // Both forward answered requests first.
  for (const [i, [fport, bport]] of [[8181, 9101], [8182, 9102]].entries()) {
    const d = front(fport);
    d.handshake(i * 0.1).request(i * 0.1 + 0.001, get(`/ok/${fport}`));
    const u = back(bport);
    u.handshake(i * 0.1 + 0.0015).request(i * 0.1 + 0.002, get(`/ok/${fport}`)).response(i * 0.1 + 0.01, ok());
    u.close(i * 0.1 + 0.02, 'c');
    d.response(i * 0.1 + 0.0105, ok()).close(i * 0.1 + 0.03, 'c');
  }
  // HAProxy: /held waits across two refusals of 9101, then goes out on a new connection once it is back.
  const held = front(8181);
  held.handshake(1).request(1.001, get('/held'));
  refused(1.0015, 45001, 9101);
  refused(2.0015, 45002, 9101);
  const retry = back(9101);
  retry.handshake(3.0015).request(3.002, get('/held')).response(3.06, ok());
  held.response(3.0605, ok()).close(3.1, 'c');
  // nginx: a 502 on its refused connect, then two at once with no SYN.
  const d = front(8182);
  d.handshake(1.2).request(1.201, get('/ngx/1'));
  refused(1.2012, 45010, 9102);
  d.response(1.2014, ok('bad', [], 'HTTP/1.1', '502 Bad Gateway')).close(1.21, 'c');
  for (const t of [1.5, 1.8]) {
    const f = front(8182);
    f.handshake(t).request(t + 0.001, get(`/ngx/${t}`));
    f.response(t + 0.0012, ok('bad', [], 'HTTP/1.1', '502 Bad Gateway')).close(t + 0.01, 'c');
  }
  return cap;
}

describe('connection-refused, two proxies on one host', () => {
  test("each backend's refusals are told with its own proxy's requests: HAProxy's retried connect and its client's wait, nginx's 502s", () => {
    const r = twoProxies().analyze(DETECTORS);
    const byServer = new Map(r.diagnoses.filter((x) => x.kind === 'connection-refused').map((d) => [d.server, d.explanation]));
    const hap = byServer.get(`${BACKEND}:9101`) ?? '';
    expect(hap).toContain(`The refused client is a proxy (${PROXY}:8181): it held 1 of its clients' request(s) while it tried its connect again and answered 200`);
    expect(hap).toMatch(/2\.059 s after it came: the client waited that long while the proxy retried its connect/);
    expect(hap).not.toContain('8182');
    expect(hap).not.toContain('marked the backend down');
    const ngx = byServer.get(`${BACKEND}:9102`) ?? '';
    expect(ngx).toContain(`The refused client is a proxy (${PROXY}:8182): it failed 1 of its clients' request(s) with 502 when its connect was refused, and 2 more with 502`);
    expect(ngx).not.toContain('8181');
  });
});

/**
 * A chain client → front 10.0.0.9:80 → proxy 10.0.0.2:80 → backend 10.0.0.3:9002 (blind test 9,
 * run d: nginx → Go API → a backend killed and restarted). Requests 2–4 meet the backend down: the
 * proxy's connect is refused, it answers 502, and the front relays each 502 to its client. One
 * outage, one diagnosis: connection-refused counts the proxy's 502s and the front's relays of
 * them; intermittent-5xx reports neither tier. `frontOwn`: requests the front answers 502 itself
 * though the proxy answered 200 (its own failures: still intermittent-5xx).
 */
function refusedChain(frontOwn: readonly number[] = []): Capture {
  const cap = new Capture();
  const c = chain(cap, 0);
  for (let i = 0; i < 8; i++) {
    const t = 1 + i * 0.5;
    const request = get(`/d/${i + 1}`);
    if (i >= 2 && i <= 4) {
      refusedConnect(cap, t + 0.0004, 45000 + i);
      throughChain(c, t, request, t + 0.0007, '502 Bad Gateway');
    } else {
      const up = cap.connection({ client: PROXY, server: BACKEND, sport: 9002 });
      up.handshake(t + 0.0003).exchange(t + 0.0004, request, ok('created'));
      up.close(t + 0.1, 'c');
      throughChain(c, t, request, t + 0.002, '200 OK', frontOwn.includes(i) ? '502 Bad Gateway' : '200 OK');
    }
  }
  return cap;
}

describe('connection-refused behind a chain of proxies', () => {
  test("the proxy's 502s and the front's relays of them are the refusal's: counted in its diagnosis, no intermittent-5xx", () => {
    const r = refusedChain().analyze(DETECTORS);
    expect(ofKind(r, 'connection-refused')).toHaveLength(3);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain(`The refused client is a proxy (${PROXY_ENDPOINT}): it failed 3 of its clients' request(s) with 502 when its connect was refused`);
    expect(d.explanation).toContain(`${FRONT_ENDPOINT} relayed 3 of them to its clients`);
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
  });

  test("near miss: the front's own 502s while the proxy answered 200 are still intermittent-5xx, and not the refusal's", () => {
    const r = refusedChain([6, 7]).analyze(DETECTORS);
    const found = ofKind(r, 'intermittent-5xx');
    expect(found.map((f) => f.server)).toEqual([FRONT_ENDPOINT]);
    expect(found[0].evidence).toMatchObject({ failures: 2 });
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain(`${FRONT_ENDPOINT} relayed 3 of them to its clients`);
  });
});

describe('recorded: refused-behind-nginx-chain (nginx front → nginx inner tier → a backend down for 1 s)', () => {
  const name = 'refused-behind-nginx-chain';
  (listSamples().some((s) => s.name === name) ? test : test.skip)("the inner tier's 502s and the front's relays of them are counted in the refusal's diagnosis, and nowhere else", async () => {
    const m = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as { observed: { inner502: number; frontRelayed502: number } };
    const r = await analyzeSample(name);
    expect(r.diagnoses.map((d) => d.kind)).toEqual(['connection-refused']);
    const [d] = r.diagnoses;
    expect(d.explanation).toContain(`The refused client is a proxy (127.0.0.4:8081): it failed ${m.observed.inner502} of its clients' request(s) with 502 when its connect was refused`);
    expect(d.explanation).toContain(`127.0.0.2:8080 relayed ${m.observed.frontRelayed502} of them to its clients`);
  });
});

/**
 * A proxy and a plain client on one host (blind test 12, scene 1: curl and nginx on loopback).
 * The client's connect to 9002 is refused; 0.3 s later the proxy forwards an unrelated request
 * that its front received after the refusal. That forward is no proxy moving a refused request
 * on: the refused client failed its user, and the diagnosis must not call it a proxy. Near miss:
 * the proxy holding a front request when its connect is refused, then forwarding that request to
 * another backend (nginx proxy_next_upstream), keeps its proxy reading.
 */
describe('connection-refused: a plain client sharing the proxy\'s address', () => {
  const moved = 'it sent the request on to another backend';
  const build = (frontBeforeRefusal: boolean): Capture => {
    const cap = new Capture();
    scene(cap, 0, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/1' });
    scene(cap, 0.5, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/2' });
    refusedConnect(cap, 1, 45000);
    // Front request at at+0.001, its forward at at+0.002.
    scene(cap, frontBeforeRefusal ? 0.9985 : 1.3, { delay: 0.01, upstream: 'answered', backendStatus: '200 OK', answer: '200 OK', uri: '/ok/3' });
    return cap;
  };

  test('a forward of a request the front received after the refusal does not make the refused client a proxy', () => {
    const r = build(false).analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).not.toContain('is a proxy');
    expect(d.explanation).not.toContain(moved);
  });

  test('near miss: the proxy held the front request when its connect was refused and sent it on: still a proxy that moved on', () => {
    const r = build(true).analyze(DETECTORS);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).toContain(moved);
    expect(d.explanation).toContain('GET /ok/3');
  });
});

describe('recorded: shared-ip-nginx-curl (curl refused on the address nginx forwards from)', () => {
  const name = 'shared-ip-nginx-curl';
  (listSamples().some((s) => s.name === name) ? test : test.skip)("curl's refused connect is not a proxy's that moved the request on", async () => {
    const r = await analyzeSample(name);
    const [d] = r.diagnoses.filter((x) => x.kind === 'connection-refused');
    expect(d.explanation).not.toContain('is a proxy');
    expect(d.explanation).not.toContain('need not have seen an error');
  });
});
