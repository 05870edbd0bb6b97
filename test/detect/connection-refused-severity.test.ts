/**
 * connection-refused's severity: an error where a refusal failed a client (blind round 17, the
 * nightly CI job: nginx's backend down for 2 s gave 16 × 502 to users, and a proxy down whole
 * refused all 25 connects, both exit 0 under the default --fail-on error), a warning where the
 * client saw no failure (it got through at once, the proxy moved the request on or retried it) or
 * nobody tried again (a probe).
 */
import { DETECTORS } from '../../src/detect/registry';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { BACKEND, CLIENT, PROXY } from './proxy-scenes';
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'connection-refused';

function refused(cap: Capture, at: number, src: string, dst: string, sport: number, dport: number): void {
  cap.add(at, buildTcpPacket({ src, dst, sport, dport, seq: 500, flags: TCP_SYN }));
  cap.add(at + 0.00002, buildTcpPacket({ src: dst, dst: src, sport: dport, dport: sport, seq: 0, ack: 501, flags: TCP_RST | TCP_ACK }));
}

/** A client that needs the service and tries again every 0.4 s: `n` refusals, then (if `back`) a connection accepted and answered. */
function directClient(n: number, back: boolean, retryGap = 0.4): Capture {
  const cap = new Capture();
  for (let i = 0; i < n; i++) refused(cap, i * retryGap, CLIENT, BACKEND, 40000 + i, 8080);
  if (back) {
    const c = cap.connection({ client: CLIENT, server: BACKEND, cport: 41000, sport: 8080 });
    const t = (n - 1) * retryGap + 0.05;
    c.handshake(t).request(t + 0.001, get('/')).response(t + 0.01, ok()).close(t + 0.02, 'c');
  }
  return cap;
}

/** nginx-like proxy: forwards two answered requests, then its connects are refused and it answers each client 502 (`moved`: it sends the request to another backend instead, 200). */
function proxyScene(refusals: number, moved: boolean): Capture {
  const cap = new Capture();
  const front = (cport: number) => cap.connection({ client: CLIENT, server: PROXY, cport, sport: 80 });
  const back = (cport: number, sport = 8080) => cap.connection({ client: PROXY, server: BACKEND, cport, sport });
  for (let i = 0; i < 2; i++) {
    const t = i * 0.1;
    const d = front(30000 + i);
    d.handshake(t).request(t + 0.001, get(`/ok/${i}`));
    const u = back(45000 + i);
    u.handshake(t + 0.0015).request(t + 0.002, get(`/ok/${i}`)).response(t + 0.01, ok()).close(t + 0.02, 'c');
    d.response(t + 0.0105, ok()).close(t + 0.03, 'c');
  }
  for (let i = 0; i < refusals; i++) {
    const t = 1 + i * 0.2;
    const d = front(31000 + i);
    d.handshake(t).request(t + 0.001, get(`/down/${i}`));
    refused(cap, t + 0.0012, PROXY, BACKEND, 46000 + i, 8080);
    if (moved) {
      const other = back(47000 + i, 8081);
      other.handshake(t + 0.0013).request(t + 0.0014, get(`/down/${i}`)).response(t + 0.005, ok()).close(t + 0.006, 'c');
      d.response(t + 0.0052, ok()).close(t + 0.01, 'c');
    } else {
      d.response(t + 0.0014, ok('bad', [], 'HTTP/1.1', '502 Bad Gateway')).close(t + 0.01, 'c');
    }
  }
  return cap;
}

describe('connection-refused: an error where a refusal failed a client', () => {
  test('a proxy that answered its client 502 for each refused connect: each refusal an error, and the diagnosis', () => {
    const r = proxyScene(4, false).analyze(DETECTORS);
    const fs = ofKind(r, KIND);
    expect(fs).toHaveLength(4);
    expect(fs.map((f) => f.severity)).toEqual(['error', 'error', 'error', 'error']);
    expect(fs[0].summary).toContain(`the refused proxy answered its client 502 for it (${PROXY}:80, frame`);
    expect(fs[0].evidence.proxyAnsweredStatus).toBe(502);
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('error');
    expect(d.explanation).toContain('All 4 failed a client, errors: 4 were answered by the refused proxy to its client with a 5xx.');
    expect(d.explanation).toContain("it failed 4 of its clients' request(s) with 502");
  });

  test('near miss: a proxy that sent each refused request on to another backend (nginx proxy_next_upstream): warnings', () => {
    const r = proxyScene(4, true).analyze(DETECTORS);
    const fs = ofKind(r, KIND);
    expect(fs).toHaveLength(4);
    expect(fs.every((f) => f.severity === 'warning')).toBe(true);
    expect(r.diagnoses.find((x) => x.kind === KIND)?.severity).toBe('warning');
  });

  test('a client refused again and again that never got through (the service down whole): errors', () => {
    const r = directClient(6, false).analyze(DETECTORS);
    const fs = ofKind(r, KIND);
    expect(fs).toHaveLength(6);
    expect(fs.every((f) => f.severity === 'error')).toBe(true);
    expect(fs[0].summary).toContain('its client came back and its next connect to it within 1.5 s did not get through');
    expect(r.diagnoses.find((x) => x.kind === KIND)?.severity).toBe('error');
  });

  test('near miss: a client whose next connect got through at once (a reload\'s one-off): a warning', () => {
    const r = directClient(1, true).analyze(DETECTORS);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['warning']);
  });

  test('a client retrying every 0.4 s through a 2.4 s outage: each refusal whose next connect was refused too is an error, the last (its next connect got through at once) a warning', () => {
    const r = directClient(7, true).analyze(DETECTORS);
    const sev = ofKind(r, KIND).map((f) => f.severity);
    expect(sev).toEqual(['error', 'error', 'error', 'error', 'error', 'error', 'warning']);
    const d = r.diagnoses.find((x) => x.kind === KIND);
    expect(d?.severity).toBe('error');
    expect(d?.explanation).toContain('6 of the 7 failed a client');
  });

  test('near miss: a retry 0.4 s apart that got through: the second refusal a warning, the first an error (its next connect was refused)', () => {
    const r = directClient(2, true).analyze(DETECTORS);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['error', 'warning']);
  });

  test('near miss: a lone refusal nobody tried again (a probe, a health check): a warning', () => {
    const r = directClient(1, false).analyze(DETECTORS);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['warning']);
  });
});
