import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { zeroWindowStall } from '../../src/detect/detectors/zero-window-stall';
import { buildTcpPacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, ofKind, T0 } from './reuse-kit';

const KIND = 'zero-window-stall';
const only = [zeroWindowStall];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

/**
 * A scripted connection with explicit receive windows: `c`/`s` are each side's next sequence
 * number, advanced by what it sends, and every segment acknowledges all the peer sent so far.
 */
class Script {
  c = 1001;
  s = 5001;
  private readonly client: string;
  private readonly server: string;
  private readonly sport: number;
  /** `at`: when the handshake starts; the endpoints default to CLIENT:41000 and SERVER:80. */
  constructor(private readonly cap: Capture, endpoints: { client?: string; server?: string; sport?: number; at?: number } = {}) {
    this.client = endpoints.client ?? CLIENT;
    this.server = endpoints.server ?? SERVER;
    this.sport = endpoints.sport ?? 80;
    const at = endpoints.at ?? 0;
    this.seg(at, 'c', TCP_SYN, 1000, 0, '', 65535);
    this.seg(at + 0.0001, 's', TCP_SYN | TCP_ACK, 5000, 1001, '', 65535);
    this.seg(at + 0.0002, 'c', TCP_ACK, 1001, 5001, '', 65535);
  }

  private seg(ts: number, from: 'c' | 's', flags: number, seq: number, ack: number, payload: string, window: number): void {
    const c = from === 'c';
    this.cap.add(ts, buildTcpPacket({
      src: c ? this.client : this.server, dst: c ? this.server : this.client, sport: c ? 41000 : this.sport, dport: c ? this.sport : 41000,
      seq, ack, flags, payload, window,
    }));
  }

  send(ts: number, from: 'c' | 's', payload: string, window = 65535): this {
    const c = from === 'c';
    this.seg(ts, from, TCP_ACK | TCP_PSH, c ? this.c : this.s, c ? this.s : this.c, payload, window);
    if (c) this.c += payload.length;
    else this.s += payload.length;
    return this;
  }

  /** A bare ACK advertising `window` (0: the receiver's buffer is full). */
  window(ts: number, from: 'c' | 's', window: number): this {
    const c = from === 'c';
    this.seg(ts, from, TCP_ACK, c ? this.c : this.s, c ? this.s : this.c, '', window);
    return this;
  }

  /** A segment the capture dropped: its sender's sequence moves on, nothing is written. */
  unseen(from: 'c' | 's', payload: string): this {
    if (from === 'c') this.c += payload.length;
    else this.s += payload.length;
    return this;
  }

  /** A Linux zero-window probe: an empty segment at seq = next − 1. */
  probe(ts: number, from: 'c' | 's'): this {
    const c = from === 'c';
    this.seg(ts, from, TCP_ACK, (c ? this.c : this.s) - 1, c ? this.s : this.c, '', 65535);
    return this;
  }

  fin(ts: number, from: 'c' | 's'): this {
    const c = from === 'c';
    this.seg(ts, from, TCP_FIN | TCP_ACK, c ? this.c : this.s, c ? this.s : this.c, '', 65535);
    if (c) this.c += 1;
    else this.s += 1;
    return this;
  }
}

const REQUEST = 'GET /big HTTP/1.1\r\nHost: example\r\n\r\n';
const BODY = 'x'.repeat(3000);
const HEAD = `HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`;

/** A download the client stops reading at 0.1 s and resumes at `resumeAt` (or never). */
function stalledDownload(cap: Capture, resumeAt: number | null, probes: number[] = [0.3, 0.7, 1.5]): Script {
  const s = new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', HEAD + BODY.slice(0, 1000)).window(0.1, 'c', 0);
  for (const t of probes) s.probe(t, 's').window(t + 0.0001, 'c', 0);
  if (resumeAt !== null) {
    s.window(resumeAt, 'c', 65535).send(resumeAt + 0.0001, 's', BODY.slice(1000)).window(resumeAt + 0.0002, 'c', 65535);
    s.fin(resumeAt + 0.001, 's').fin(resumeAt + 0.0011, 'c');
  }
  return s;
}

describe('zero-window-stall on synthetic connections', () => {
  test('the client stops reading for 1.9 s: the server probes, then the transfer resumes', () => {
    const cap = new Capture();
    stalledDownload(cap, 2);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ client: `${CLIENT}:41000`, server: `${SERVER}:80`, severity: 'warning' });
    expect(f.ts).toBeCloseTo(T0 + 0.1, 6);
    expect(f.evidence).toMatchObject({
      receiver: 'client', duration: 1.9, startFrame: 6, endFrame: 13, openAtEnd: false, probes: 3,
      transferResumed: true, stalls: 1, request: 'GET /big', status: 200,
    });
    expect(f.frames).toEqual([6, 13]);
    expect(f.summary).toBe('the client stopped reading: zero window for 1.9 s while the server had data to send');
  });

  test('a window still zero when the connection ends: measured to its last packet', () => {
    const cap = new Capture();
    stalledDownload(cap, null, [0.3, 0.7, 1.5, 3.1]);
    const [f] = ofKind(cap.analyze(only), KIND);
    // The last packet is the client's zero-window answer to the probe at 3.1 s.
    expect(f.evidence).toMatchObject({ openAtEnd: true, endFrame: null, probes: 4, transferResumed: false });
    expect(f.evidence.duration).toBeCloseTo(3.0001, 3);
    expect(f.frames).toEqual([6]);
    expect(f.summary).toContain('(still zero at the end)');
  });

  test('the server stops reading an upload: receiver server', () => {
    const cap = new Capture();
    const s = new Script(cap).send(0.001, 'c', `POST /up HTTP/1.1\r\nHost: e\r\nContent-Length: 4000\r\n\r\n${'y'.repeat(1000)}`).window(0.05, 's', 0);
    for (const t of [0.3, 0.8, 1.8]) s.probe(t, 'c').window(t + 0.0001, 's', 0);
    s.window(2.5, 's', 65535).send(2.5001, 'c', 'y'.repeat(3000));
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ receiver: 'server', duration: 2.45, probes: 3, request: 'POST /up' });
    expect(f.summary).toContain('the server stopped reading');
  });

  test('the client gave up on an upload the server was not reading (blind round 13, S17: curl -m 1): its own timeout, not a server send timeout, and no truncated download', () => {
    const cap = new Capture();
    const s = new Script(cap).send(0.001, 'c', `POST /up HTTP/1.1\r\nHost: e\r\nUser-Agent: curl/7.88.1\r\nContent-Length: 4000\r\n\r\n${'y'.repeat(1000)}`).window(0.05, 's', 0);
    for (const t of [0.3, 0.8, 1.8]) s.probe(t, 'c').window(t + 0.0001, 's', 0);
    // curl gave up at 1 s; its FIN waited behind what its socket still held until the window reopened.
    s.window(4, 's', 65535).send(4.0001, 'c', 'y'.repeat(1500)).fin(4.0002, 'c');
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ receiver: 'server', senderGaveUp: 'fin' });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('the client gave up on its upload');
    expect(d.explanation).toContain('curl `--max-time`');
    expect(d.explanation).not.toContain('nginx `send_timeout`');
    expect(d.explanation).not.toContain('WriteTimeout');
    expect(d.explanation).not.toContain('truncated body');
    expect(d.remedy).not.toContain('send_timeout');
    expect(d.remedy).toContain("the client's own request timeout");
  });

  test('silent: a zero window shorter than the threshold', () => {
    const cap = new Capture();
    stalledDownload(cap, 0.6, [0.3]);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('the threshold is an option: a 1.9 s stall is not one at 3 s', () => {
    const cap = new Capture();
    stalledDownload(cap, 2);
    expect(ofKind(cap.analyze(only, { detect: { zeroWindowStall: 3 } }), KIND)).toEqual([]);
    expect(ofKind(cap.analyze(only, { detect: { zeroWindowStall: 1.5 } }), KIND)).toHaveLength(1);
  });

  test('silent: a full buffer while the sender had nothing left to send (no probe, no data after)', () => {
    const cap = new Capture();
    new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`)
      .window(0.1, 'c', 0).window(5, 'c', 65535).fin(6, 'c').fin(6.0001, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a response that all came and filled the buffer, then the next exchange after the window reopened', () => {
    const cap = new Capture();
    new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`)
      .window(0.1, 'c', 0).window(6, 'c', 65535)
      .send(6.5, 'c', REQUEST).send(6.501, 's', `HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789`).fin(7, 'c').fin(7.0001, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('diagnosis per server names the side that stopped reading', () => {
    const cap = new Capture();
    stalledDownload(cap, 2);
    const [d, ...more] = cap.analyze(only).diagnoses;
    expect(more).toEqual([]);
    expect(d).toMatchObject({ kind: KIND, server: `${SERVER}:80`, count: 1 });
    expect(d.explanation).toContain('the client stopped reading the response');
    expect(d.explanation).toContain('1.9 s');
    expect(d.remedy).toMatch(/^The client application must keep reading/);
  });
});

describe("a response the server's send timeout cut during the stall (blind round 15, s06b: nginx send_timeout 3 s, 612258 of 2000000 bytes)", () => {
  const both = [zeroWindowStall, responseTruncated];
  /**
   * The client stops reading at 0.1 s; the server gives up during the stall and closes: when the
   * window reopens at `reopen` its kernel sends what its socket buffer held (1000 of the 2000
   * bytes left), then its FIN; the client reads to the EOF and closes.
   */
  function cutBehindWindow(cap: Capture, head = HEAD, tail = BODY.slice(1000, 2000), reopen = 2): Script {
    const s = new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', head + BODY.slice(0, 1000)).window(0.1, 'c', 0);
    for (const t of [0.3, 0.7, 1.5]) s.probe(t, 's').window(t + 0.0001, 'c', 0);
    s.window(reopen, 'c', 65535).send(reopen + 0.0001, 's', tail).fin(reopen + 0.0002, 's').window(reopen + 0.0003, 'c', 65535).fin(reopen + 0.001, 'c');
    return s;
  }

  test('an error that says the response was cut (N of M bytes) and the server\'s send timeout fired; the timer at most from its last data to the reopening', () => {
    const cap = new Capture();
    cutBehindWindow(cap);
    const r = cap.analyze(both);
    expect(ofKind(r, 'response-truncated')).toEqual([]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.severity).toBe('error');
    expect(f.summary).toBe(
      "the response was cut at 2000 of 3000 body bytes: the client stopped reading (zero window for 1.9 s) and the server's send timeout closed the connection during the stall",
    );
    expect(f.evidence).toMatchObject({
      receiver: 'client', senderGaveUp: 'fin', transferResumed: false, responseCut: true, bodyReceived: 2000, bodyDeclared: 3000, sendTimeoutAtMost: 1.998,
    });
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(d).toMatchObject({ kind: KIND, severity: 'error', inferred: { senderSendTimeoutAtMost: { value: 1.998, samples: 1 } } });
    expect(d.inferred.senderSendTimeoutAtLeast).toBeUndefined();
    expect(d.explanation).toMatch(/^A response from 10\.0\.0\.2:80 was cut short while the client was not reading/);
    expect(d.explanation).toContain('cutting the response (2000 of 3000 body bytes)');
    for (const setting of ['nginx `send_timeout`, 60 s by default', 'Apache `Timeout`', 'HAProxy `timeout client`', "Node's `server.timeout`"]) expect(d.explanation).toContain(setting);
    // From the server's last data before the window closed (0.002 s) to its reopening (2 s).
    expect(d.explanation).toContain('at most about 1.998 s');
    expect(d.explanation).toContain('the request failed');
  });

  test('chunked, its last chunk never came: cut too', () => {
    const cap = new Capture();
    const chunk = (n: number): string => `${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`;
    cutBehindWindow(cap, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', chunk(500), 2);
    const [f] = ofKind(cap.analyze(both), KIND);
    expect(f.severity).toBe('error');
    expect(f.evidence).toMatchObject({ responseCut: true, bodyDeclared: -1 });
    expect(f.summary).toContain('without its last chunk');
  });

  test('a stall the server waited out on another connection bounds the timer below', () => {
    const cap = new Capture();
    cutBehindWindow(cap, HEAD, BODY.slice(1000, 2000), 3);
    // A second client stalls 1.9 s and the transfer goes on.
    const s = new Script(cap, { client: '10.0.0.3', at: 4 });
    s.send(4.001, 'c', REQUEST).send(4.002, 's', HEAD + BODY.slice(0, 1000)).window(4.1, 'c', 0);
    for (const t of [4.3, 4.7, 5.5]) s.probe(t, 's').window(t + 0.0001, 'c', 0);
    s.window(6, 'c', 65535).send(6.0001, 's', BODY.slice(1000)).window(6.0002, 'c', 65535).fin(6.001, 's').fin(6.0011, 'c');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.severity)).toEqual(['error', 'warning']);
    const [d] = r.diagnoses;
    expect(d.inferred).toMatchObject({ senderSendTimeoutAtMost: { value: 2.998 }, senderSendTimeoutAtLeast: { value: 1.9 } });
    expect(d.explanation).toContain('at most about 2.998 s');
    expect(d.explanation).toContain('longer than the 1.9 s stall it waited out on another connection');
  });

  test('near miss: the stall ends and the transfer completes: a warning, no cut, no timer', () => {
    const cap = new Capture();
    stalledDownload(cap, 2);
    const r = cap.analyze(both);
    expect(ofKind(r, 'response-truncated')).toEqual([]);
    const [f] = ofKind(r, KIND);
    expect(f.severity).toBe('warning');
    expect(f.evidence.responseCut).toBeUndefined();
    expect(r.diagnoses).toMatchObject([{ kind: KIND, severity: 'warning', inferred: {} }]);
  });

  test('near miss: the server closes mid-body while the client\'s window is open: response-truncated as before, no stall', () => {
    const cap = new Capture();
    new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', HEAD + BODY.slice(0, 1000)).window(0.003, 'c', 65535)
      .send(2.5, 's', BODY.slice(1000, 2000)).fin(2.5001, 's').window(2.5002, 'c', 65535).fin(2.501, 'c');
    const r = cap.analyze(both);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(ofKind(r, 'response-truncated')).toMatchObject([{ severity: 'error' }]);
  });

  test('near miss: a stall the transfer went on from, then a cut seconds later with the window open: the stall a warning, the cut response-truncated', () => {
    const cap = new Capture();
    const s = new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', HEAD + BODY.slice(0, 1000)).window(0.1, 'c', 0);
    for (const t of [0.3, 0.7, 1.5]) s.probe(t, 's').window(t + 0.0001, 'c', 0);
    s.window(2, 'c', 65535).send(2.0001, 's', BODY.slice(1000, 2000)).window(2.0002, 'c', 65535);
    // The server falls silent and closes 3 s later, its client's window open all along.
    s.fin(5, 's').window(5.0001, 'c', 65535).fin(5.001, 'c');
    const r = cap.analyze(both);
    expect(ofKind(r, KIND).map((f) => [f.severity, f.evidence.transferResumed, f.evidence.responseCut])).toEqual([['warning', true, undefined]]);
    expect(ofKind(r, 'response-truncated')).toMatchObject([{ severity: 'error', evidence: { bodyReceived: 2000, bodyDeclared: 3000, silenceBeforeClose: 3 } }]);
  });

  test('near miss: a body the close delimits (no Content-Length) ends with the FIN: not cut', () => {
    const cap = new Capture();
    cutBehindWindow(cap, 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n');
    const r = cap.analyze(both);
    expect(ofKind(r, 'response-truncated')).toEqual([]);
    expect(ofKind(r, KIND).map((f) => [f.severity, f.evidence.responseCut])).toEqual([['warning', undefined]]);
  });
});

describe('zero-window-stall through a proxy (blind round 13b, S21: HAProxy timeout client, both legs)', () => {
  const PROXY = '10.0.0.5';
  const BACKEND = '10.0.0.6';
  /**
   * A client (CLIENT) downloads /big through a proxy (PROXY:80) from a backend (BACKEND:8080); the
   * client stops reading at `clientStops`, the proxy's buffers fill and it stops reading from the
   * backend at `proxyStops`. The proxy gives up on its client at 3 s (its FIN queued behind the
   * window, flushed when the client reads again at 4 s).
   */
  function relayed(clientStops: number | null, proxyStops: number, uri = '/big'): AnalysisResult {
    const cap = new Capture();
    const down = new Script(cap, { server: PROXY }).send(0.001, 'c', REQUEST);
    const up = new Script(cap, { client: PROXY, server: BACKEND, sport: 8080, at: 0.0015 }).send(0.002, 'c', REQUEST.replace('/big', uri));
    up.send(0.003, 's', HEAD + BODY.slice(0, 500));
    down.send(0.004, 's', HEAD + BODY.slice(0, 500));
    if (clientStops !== null) down.window(clientStops, 'c', 0);
    up.window(proxyStops, 'c', 0);
    for (const t of [0.5, 1.0, 2.0]) {
      if (clientStops !== null) down.probe(t, 's').window(t + 0.0001, 'c', 0);
      up.probe(t + 0.01, 's').window(t + 0.0101, 'c', 0);
    }
    if (clientStops !== null) down.window(4, 'c', 65535).send(4.0001, 's', BODY.slice(500, 900)).fin(4.0002, 's').fin(4.0003, 'c');
    return cap.analyze(only);
  }

  test("the backend leg's stall is the proxy's client's, passed down: the backend is not blamed; the proxy's own send timeout is named", () => {
    const r = relayed(0.1, 0.3);
    expect(ofKind(r, KIND).length).toBe(2);
    const back = r.diagnoses.find((d) => d.server === `${BACKEND}:8080`)!;
    const front = r.diagnoses.find((d) => d.server === `${PROXY}:80`)!;
    const frontId = ofKind(r, KIND).find((f) => f.server === `${PROXY}:80`)!.id;
    expect(back.explanation).toContain(`the reader was a proxy (${PROXY}) relaying the response to its own client, which was not reading it either (${frontId})`);
    expect(back.remedy).toMatch(new RegExp(`^Nothing to change on ${BACKEND}:8080`));
    expect(front.explanation).toContain('HAProxy `timeout client`');
    expect(front.remedy).toMatch(/^The client application must keep reading/);
  });

  test("the proxy's window to its backend may close first (it stops reading once it cannot write, before its client's window is zero): still passed down", () => {
    const r = relayed(0.3, 0.1);
    const back = r.diagnoses.find((d) => d.server === `${BACKEND}:8080`)!;
    expect(back.explanation).toContain('relaying the response to its own client');
  });

  test("near misses: the proxy's client kept reading (the proxy itself stopped), or its stall was another request's: not passed down", () => {
    for (const r of [relayed(null, 0.1), relayed(0.1, 0.3, '/other')]) {
      const back = r.diagnoses.find((d) => d.server === `${BACKEND}:8080`)!;
      expect(back.explanation).not.toContain('relaying the response');
      expect(back.remedy).toMatch(/^The client application must keep reading/);
    }
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'zero-window-stall.pcap');
(fs.existsSync(SAMPLE) ? describe : describe.skip)('zero-window-stall on the recorded samples', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('the client that paused reading: duration and probes as measured by the recorder', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'zero-window-stall.meta.json'), 'utf8')) as SampleMeta & {
      measured?: Record<string, { zeroWindowSeconds: number; serverProbes: number[] }>;
    };
    const expected = (meta.expect ?? []).filter((e) => e.kind === KIND);
    const findings = ofKind(result, KIND);
    expect(findings.map((f) => f.client)).toEqual(expected.map((e) => e.client));
    const f = findings[0];
    const m = meta.measured![f.client!];
    expect(f.evidence).toMatchObject({ receiver: 'client', openAtEnd: false, transferResumed: true, request: 'GET /size/65536', status: 200 });
    expect(Math.abs((f.evidence.duration as number) - m.zeroWindowSeconds)).toBeLessThan(0.002);
    // Linux probes with empty segments at seq = next − 1 (tshark calls them keep-alives): counted as window probes.
    expect(f.evidence.probes).toBe(m.serverProbes.length);
  });

  test.each([
    'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'tcp-keepalive-probes', 'abortive-close-after-response',
    'retransmitted-fin', 'http10-keepalive-and-close', 'keepalive-node-agent', 'reset-before-response', 'syn-unanswered',
    'accept-queue-overflow', 'refused-connection',
    // Its server advertises a zero window for a fraction of a millisecond before it resets.
    'rst-on-close',
    // The 270 KB bodies fill the Java client's receive window on loopback; it reopens within 2 ms.
    'healthy-apache-lighttpd-java',
  ])('silent on %s', async (name) => {
    const file = path.join(SAMPLES_DIR, `${name}.pcap`);
    if (!fs.existsSync(file)) return;
    expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
  });
});

const MIME = path.resolve(__dirname, '../../../shared/corpus/public/suricata-verify/http-mime-truncated.pcap');
(fs.existsSync(MIME) ? test : test.skip)('silent on a public capture whose zero windows last a few ms (suricata-verify http-mime-truncated)', async () => {
  expect(ofKind(await analyzeFiles([MIME], { detectors: only }), KIND)).toEqual([]);
});

describe('zero-window-stall when the sender gives up during the stall (nginx send_timeout, zero-window-nginx-send-timeout)', () => {
  const file = path.join(SAMPLES_DIR, 'zero-window-nginx-send-timeout.pcap');
  (fs.existsSync(file) ? test : test.skip)('a stall that recovered, one nginx closed behind the window (FIN), one it reset; its send timeout from the reset', async () => {
    const r = await analyzeFiles([file]);
    const stalls = r.anomalies.filter((a) => a.kind === 'zero-window-stall');
    expect(stalls.map((f) => [f.evidence.senderGaveUp, f.evidence.transferResumed])).toEqual([
      [null, true],
      ['fin', false],
      ['reset', false],
    ]);
    const d = r.diagnoses.find((x) => x.kind === 'zero-window-stall')!;
    // nginx send_timeout 3s: it reset 3.05 s after the window closed.
    expect(d.inferred.senderSendTimeout.value).toBeGreaterThanOrEqual(3);
    expect(d.inferred.senderSendTimeout.value).toBeLessThan(3.1);
    // B: the response cut at 116800 of its 524288 bytes (curl exit 18): an error, the timer between A's stall (1.671 s, waited out) and B's (5.651 s).
    expect(stalls.map((f) => f.severity)).toEqual(['warning', 'error', 'warning']);
    expect(stalls[1].evidence).toMatchObject({ responseCut: true, bodyReceived: 116800, bodyDeclared: 524288 });
    expect(d.severity).toBe('error');
    // From nginx's last data before the window closed (7.003 s) to the reopening (12.654 s).
    expect(d.inferred.senderSendTimeoutAtMost.value).toBeCloseTo(5.651, 2);
    expect(d.inferred.senderSendTimeoutAtLeast.value).toBeCloseTo(1.671, 3);
    expect(d.explanation).toContain('cutting the response (116800 of 524288 body bytes)');
  });
});

describe('zero-window-stall: a stall whose end the capture may have lost', () => {
  /** The client stops reading at 0.1 s; at 1.5 s the window reopens and the rest comes (its first 1000 bytes dropped by the capture, when `lose`). */
  function build(lose: boolean): AnalysisResult {
    const cap = new Capture();
    const s = new Script(cap).send(0.001, 'c', REQUEST).send(0.002, 's', HEAD + BODY.slice(0, 1000)).window(0.1, 'c', 0);
    for (const t of [0.3, 0.7]) s.probe(t, 's').window(t + 0.0001, 'c', 0);
    if (lose) s.unseen('s', BODY.slice(1000, 2000)).send(1.5, 's', BODY.slice(2000)).window(1.5001, 'c', 65535);
    else s.window(1.5, 'c', 65535).send(1.5001, 's', BODY.slice(1000)).window(1.5002, 'c', 65535);
    s.fin(1.501, 's').fin(1.5011, 'c');
    return cap.analyze(only);
  }

  test('on a connection whose packets the capture lost: info, uncertain (the window update may have come sooner); whole, a warning', () => {
    const r = build(true);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.severity).toBe('info');
    expect(f.evidence).toMatchObject({ receiver: 'client', uncertain: true, captureLoss: 'connection' });
    expect(f.summary).toContain('the window update may have come sooner');
    expect(r.diagnoses).toMatchObject([{ kind: KIND, severity: 'info' }]);
    expect(r.diagnoses[0].explanation).toContain('uncertain: the capture lost packets of that connection');
    const whole = build(false);
    const [g] = ofKind(whole, KIND);
    expect(g.severity).toBe('warning');
    expect(g.evidence.uncertain).toBeUndefined();
    expect(whole.diagnoses).toMatchObject([{ kind: KIND, severity: 'warning' }]);
  });
});

(fs.existsSync(path.join(SAMPLES_DIR, 'zero-window-haproxy-relayed.pcap')) ? describe : describe.skip)('zero-window-stall on the recorded sample zero-window-haproxy-relayed (HAProxy timeout client 2 s, both legs)', () => {
  test("nginx's stalls are the clients' passed down by HAProxy; the front leg names HAProxy's timeout client for the one it gave up on", async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'zero-window-haproxy-relayed.pcap')], { detectors: only });
    const front = r.diagnoses.find((d) => d.server === '127.0.0.2:8390')!;
    const back = r.diagnoses.find((d) => d.server === '127.0.0.3:8380')!;
    // Two clients stalled (A 5 s, given up on by HAProxy: cD--; B 1.5 s, completed), and HAProxy's reads from nginx with them.
    expect(ofKind(r, KIND).filter((f) => f.server === '127.0.0.2:8390').length).toBe(2);
    expect(ofKind(r, KIND).filter((f) => f.server === '127.0.0.3:8380').length).toBe(2);
    expect(front.explanation).toContain('On 1 the sender gave up during the stall');
    expect(front.explanation).toContain('HAProxy `timeout client`');
    expect(back.explanation).toContain('On both the reader was a proxy (127.0.0.2)');
    expect(back.remedy).toMatch(/^Nothing to change on 127\.0\.0\.3:8380/);
  });
});

const CUT_SAMPLE = path.join(SAMPLES_DIR, 'zero-window-cut-nginx-python.pcap');
(fs.existsSync(CUT_SAMPLE) ? describe : describe.skip)('zero-window-stall on the recorded sample zero-window-cut-nginx-python (nginx send_timeout 2 s, Python clients)', () => {
  test("A's response cut by nginx's send timeout is an error with its bytes as the client read them; B's stall, waited out, a warning; the timer between the two", async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'zero-window-cut-nginx-python.meta.json'), 'utf8')) as SampleMeta & {
      configured: { nginxSendTimeout: number };
      observed: { clients: Record<'A' | 'B', { port: number; bodyBytes: number; contentLength: number; end: string }> };
    };
    const r = await analyzeFiles([CUT_SAMPLE]);
    const { A, B } = meta.observed.clients;
    expect(ofKind(r, 'response-truncated')).toEqual([]);
    const stalls = ofKind(r, KIND);
    expect(stalls.map((f) => [f.client, f.severity])).toEqual([
      [`127.0.0.1:${A.port}`, 'error'],
      [`127.0.0.1:${B.port}`, 'warning'],
    ]);
    expect(stalls[0].evidence).toMatchObject({ responseCut: true, bodyReceived: A.bodyBytes, bodyDeclared: A.contentLength, senderGaveUp: 'fin' });
    expect(stalls[1].evidence).toMatchObject({ transferResumed: true });
    expect(stalls[1].evidence.responseCut).toBeUndefined();
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.severity).toBe('error');
    const timer = meta.configured.nginxSendTimeout;
    expect(d.inferred.senderSendTimeoutAtLeast.value).toBeLessThan(timer);
    expect(d.inferred.senderSendTimeoutAtMost.value).toBeGreaterThan(timer);
    expect(d.explanation).toContain(`cutting the response (${A.bodyBytes} of ${A.contentLength} body bytes)`);
  });
});
