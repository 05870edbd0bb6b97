import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult, Analyzer } from '../../src/analyze';
import type { Finding } from '../../src/detect/finding';
import { connectionRefused, outagesOf } from '../../src/detect/detectors/connection-refused';
import { buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, ok, T0 } from './reuse-kit';

const KIND = 'connection-refused';
const only = [connectionRefused];
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

function seg(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0, payload = ''): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({
    src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 8081, dport: c ? 8081 : cport, seq, ack, flags, payload,
  }));
}

/** A SYN (or several, same ISN) answered by RST,ACK `after` seconds after the last. */
function refused(cap: Capture, cport: number, synTimes: number[], after = 0.00002): void {
  for (const t of synTimes) seg(cap, t, 'c', cport, TCP_SYN, 100);
  seg(cap, synTimes[synTimes.length - 1] + after, 's', cport, TCP_RST | TCP_ACK, 0, 101);
}

/** A connection to the same port that the server accepts. */
function accepted(cap: Capture, cport: number, at: number): void {
  seg(cap, at, 'c', cport, TCP_SYN, 100);
  seg(cap, at + 0.0001, 's', cport, TCP_SYN | TCP_ACK, 900, 101);
  seg(cap, at + 0.0002, 'c', cport, TCP_ACK, 101, 901);
}

describe('connection-refused on synthetic handshakes', () => {
  test('a SYN answered by RST,ACK: nothing listens', () => {
    const cap = new Capture();
    refused(cap, 41000, [0], 0.000014);
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ client: `${CLIENT}:41000`, server: `${SERVER}:8081`, severity: 'warning', frames: [1, 2] });
    expect(f.ts).toBeCloseTo(T0 + 0.000014, 6);
    expect(f.evidence).toEqual({ synFrame: 1, rstFrame: 2, timeToRst: 0, retriesBefore: 0, waitedBeforeRst: 0 });
    expect(f.summary).toBe(`connection to ${SERVER}:8081 refused: the SYN was answered by RST 0.014 ms later`);
  });

  test('a RST only after SYN retries: the retries and the wait are in the evidence', () => {
    const cap = new Capture();
    refused(cap, 41000, [0, 1, 3], 0.18);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ synFrame: 3, rstFrame: 4, timeToRst: 0.18, retriesBefore: 2, waitedBeforeRst: 3.18 });
    expect(f.frames).toEqual([1, 2, 3, 4]);
    expect(f.summary).toContain('after 2 unanswered SYN retries over 3 s');
  });

  test('silent: a server that accepted and then reset the connection', () => {
    const cap = new Capture();
    accepted(cap, 41000, 0);
    seg(cap, 0.01, 'c', 41000, TCP_ACK | TCP_PSH, 101, 901, get('/'));
    seg(cap, 0.02, 's', 41000, TCP_RST, 901);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a RST on a connection seen mid-stream (no SYN)', () => {
    const cap = new Capture();
    seg(cap, 0, 'c', 41000, TCP_ACK | TCP_PSH, 101, 901, get('/'));
    seg(cap, 0.01, 's', 41000, TCP_RST | TCP_ACK, 901, 101 + get('/').length);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('diagnosis: refused, then accepted — the service was not listening yet', () => {
    const cap = new Capture();
    refused(cap, 41000, [0]);
    refused(cap, 41001, [0.2]);
    accepted(cap, 41002, 1.5);
    const r = cap.analyze(only);
    const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(more).toEqual([]);
    expect(d).toMatchObject({ server: `${SERVER}:8081`, count: 2, inferred: {} });
    expect(d.explanation).toContain('2 connection attempts were refused');
    expect(d.explanation).toContain('not listening yet');
    expect(d.remedy).toContain("ss -ltnp 'sport = :8081'");
    expect(d.anomalyIds).toEqual(ofKind(r, KIND).map((f) => f.id));
  });

  test('diagnosis: accepted, then refused — the service stopped', () => {
    const cap = new Capture();
    accepted(cap, 41002, 0);
    refused(cap, 41000, [2]);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('stopped or crashed');
  });

  test('diagnosis: accepted, then refused, while the accepted connection went on being answered — a listener closed, not a crash', () => {
    const cap = new Capture();
    accepted(cap, 41002, 0);
    refused(cap, 41000, [2]);
    const req = get('/later');
    seg(cap, 5, 'c', 41002, TCP_ACK | TCP_PSH, 101, 901, req);
    seg(cap, 5.001, 's', 41002, TCP_ACK | TCP_PSH, 901, 101 + req.length, ok());
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).not.toContain('stopped or crashed');
    expect(d.explanation).toContain('went on answering on it until 3.001 s after the last: its process was alive but had closed its listener');
  });

  test('diagnosis: accepted before and after the refusals — down in between, not "in the same period"', () => {
    const cap = new Capture();
    accepted(cap, 41002, 0);
    refused(cap, 41000, [2]);
    refused(cap, 41001, [2.5]);
    accepted(cap, 41003, 3);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('It accepted 2 connections in the capture, from 2 s before the first refusal to 0.5 s after the last');
    expect(d.explanation).toContain('It was down in between (a restart)');
  });

  test('diagnosis: when service came back is the first connection accepted after the last refusal, not the last accepted', () => {
    const cap = new Capture();
    accepted(cap, 41002, 0);
    refused(cap, 41000, [2]);
    refused(cap, 41001, [2.5]);
    accepted(cap, 41003, 2.6);
    accepted(cap, 41004, 9);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('from 2 s before the first refusal to 6.5 s after the last; the last before the refusals 2 s before the first, and the next 0.1 s after the last refusal: service was back by then');
  });
});

describe('connection-refused: refusals with an accepted connection between them are separate outages', () => {
  test('two outages of one listener, 7 s of service between: each one counted, its window and its recovery', () => {
    const cap = new Capture();
    accepted(cap, 41000, 0);
    for (let i = 0; i < 4; i++) refused(cap, 41100 + i, [1 + i * 0.1]);
    accepted(cap, 41001, 1.5);
    accepted(cap, 41002, 5);
    for (let i = 0; i < 3; i++) refused(cap, 41200 + i, [8 + i * 0.2]);
    accepted(cap, 41003, 8.45);
    accepted(cap, 41004, 12);
    const ds = cap.analyze(only).diagnoses;
    expect(ds).toHaveLength(1);
    const d = ds[0];
    expect(d.count).toBe(7);
    expect(d.explanation).toContain('7 connection attempts were refused by 10.0.0.2:8081 from 1 client host, in 2 separate outages');
    expect(d.explanation).toContain('its listener went down 2 times, not once');
    expect(d.explanation).toMatch(/1\) 4 refusals from \S+ to \S+ \(0\.3 s\), the next connection accepted 0\.2 s after its last refusal/);
    expect(d.explanation).toMatch(/2\) 2 connections accepted since the previous one, then 3 refusals from \S+ to \S+ \(0\.4 s\), the next connection accepted 0\.05 s after its last refusal/);
    expect(d.explanation).toContain('Before the first it had accepted 1 connection (the last 1 s before it). After the last it accepted 2 connections.');
    expect(d.explanation).not.toContain('over 7.4 s');
  });

  test('a connection accepted between two refusals splits them even when it ends after them (a keep-alive connection)', () => {
    const cap = new Capture();
    refused(cap, 41100, [1]);
    accepted(cap, 41001, 1.5); // stays open past the second refusal
    refused(cap, 41101, [3]);
    seg(cap, 6, 'c', 41001, TCP_RST, 101);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('in 2 separate outages');
  });

  test('near miss: refusals 20 s apart with no connection accepted between are one outage, however long the gap', () => {
    const cap = new Capture();
    accepted(cap, 41000, 0);
    accepted(cap, 41010, 0.5); // opened before, still open through the outage
    refused(cap, 41100, [1]);
    refused(cap, 41101, [21]);
    seg(cap, 21.5, 'c', 41010, TCP_RST, 101);
    accepted(cap, 41001, 22);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).not.toContain('separate outages');
    expect(d.explanation).toContain('2 connection attempts were refused by 10.0.0.2:8081 over 20 s');
  });

  test('single refusals alternating with accepted connections: a shared address, not restarts', () => {
    const cap = new Capture();
    for (let i = 0; i < 4; i++) {
      accepted(cap, 41000 + i, i);
      refused(cap, 41100 + i, [i + 0.5]);
    }
    const [d] = cap.analyze(only).diagnoses;
    // Told first (blind round 17, s05: a round robin over a backend with nothing listening read as 5 outages).
    expect(d.explanation).toMatch(/^4 connection attempts were refused by 10\.0\.0\.2:8081 from 1 client host, one at a time, each between connections it accepted: .* rather an address shared by hosts or listeners of which only some listen .* than 4 restarts: 1\) 1 refusal at /);
    expect(d.explanation).not.toContain('went down');
  });

  test('outagesOf: split at each accepted time strictly between two refusals', () => {
    const o = outagesOf([1, 2, 3, 10, 11], [0, 0.5, 5, 6, 12]);
    expect(o).toEqual([
      { first: 1, last: 3, count: 3, upBefore: 0.5, backAfter: 5, acceptedBefore: 2 },
      { first: 10, last: 11, count: 2, upBefore: 6, backAfter: 12, acceptedBefore: 2 },
    ]);
    expect(outagesOf([1, 2], [])).toEqual([{ first: 1, last: 2, count: 2, upBefore: -Infinity, backAfter: Infinity, acceptedBefore: 0 }]);
  });

  test('an outage right after the server reset connections holding requests names the resets (the same stop)', () => {
    const cap = new Capture();
    const req = get('/');
    accepted(cap, 41000, 0);
    seg(cap, 1, 'c', 41000, TCP_ACK | TCP_PSH, 101, 901, req);
    seg(cap, 1.0001, 's', 41000, TCP_ACK, 901, 101 + req.length);
    seg(cap, 2, 's', 41000, TCP_RST | TCP_ACK, 901, 101 + req.length);
    refused(cap, 41100, [2.01]);
    refused(cap, 41101, [2.5]);
    accepted(cap, 41001, 3);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('It began 0.01 s after the server reset connections holding unanswered requests (the reset-before-response diagnosis)');
  });
});

describe('connection-refused in a live capture on a quiet link', () => {
  /** Feeds the capture to an analyzer, as live capture would, then lets capture time pass with no packet. */
  function live(cap: Capture, quietUntil: number): { streamed: Finding[]; result: AnalysisResult } {
    const streamed: Finding[] = [];
    const analyzer = new Analyzer({ detectors: only, onFinding: (f) => streamed.push(f) });
    const sorted = [...cap.packets].sort((x, y) => x.ts - y.ts || x.order - y.order);
    sorted.forEach((p, i) => analyzer.packet({ frame: i + 1, ts: p.ts, caplen: p.data.length, origLen: p.data.length, linkType: LINKTYPE_ETHERNET, data: p.data }));
    for (let t = sorted[sorted.length - 1].ts; t <= T0 + quietUntil; t += 2) analyzer.tick(t);
    const before = [...streamed];
    return { streamed: before, result: analyzer.finish() };
  }

  test('a refusal is reported once the capture clock is past the scan window, not only when the capture stops', () => {
    const cap = new Capture();
    refused(cap, 40001, [1]);
    // Held while a scan could still show up around it, then reported with nothing else happening.
    expect(live(cap, 8).streamed).toEqual([]);
    const { streamed, result } = live(cap, 20);
    expect(streamed.map((f) => [f.kind, f.severity, f.frames])).toEqual([[KIND, 'warning', [1, 2]]]);
    expect(ofKind(result, KIND)).toHaveLength(1);
  });

  test('probes of a scan spread over several ticks are still one scan, and an outage\'s refusals graded as read from a file', () => {
    const cap = new Capture();
    for (let i = 0; i < 30; i++) {
      const t = 1 + i * 0.2;
      cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 50000 + i, dport: 20001 + i, seq: 100, flags: TCP_SYN }));
      cap.add(t + 0.00002, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: 20001 + i, dport: 50000 + i, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK }));
    }
    for (let i = 0; i < 5; i++) refused(cap, 41000 + i, [2 + i]);
    const fromFile = ofKind(cap.analyze(only), KIND).map((f) => [f.frames[0], f.severity]);
    expect(fromFile.filter(([, severity]) => severity === 'info')).toHaveLength(30);
    const { streamed, result } = live(cap, 40);
    expect(streamed.map((f) => [f.frames[0], f.severity])).toEqual(fromFile);
    // The outage's client tried 5 times and never got through: errors (connection-refused-severity.test.ts).
    expect(result.diagnoses.map((d) => d.severity).sort()).toEqual(['error', 'info']);
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'refused-connection.pcap');
(fs.existsSync(SAMPLE) ? describe : describe.skip)('connection-refused on the recorded samples', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('each refused attempt, SYN and RST frames, answered within a millisecond on loopback', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'refused-connection.meta.json'), 'utf8')) as SampleMeta;
    const expected = (meta.expect ?? []).filter((e) => e.kind === KIND).map((e) => e.client);
    const findings = ofKind(result, KIND);
    expect(findings.map((f) => f.client)).toEqual(expected);
    expect(findings.map((f) => f.frames)).toEqual([[1, 2], [3, 4], [5, 6]]);
    for (const f of findings) expect(f.evidence).toMatchObject({ retriesBefore: 0, timeToRst: 0 });
  });

  test('one diagnosis for the closed port; the open one is not blamed', () => {
    const d = result.diagnoses.filter((x) => x.kind === KIND);
    expect(d.map((x) => [x.server, x.count])).toEqual([['127.0.0.1:8081', 3]]);
    expect(d[0].explanation).toContain('over 0.434 s from 1 client host');
  });

  test.each([
    'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'tcp-keepalive-probes', 'abortive-close-after-response',
    'retransmitted-fin', 'http10-keepalive-and-close', 'keepalive-node-agent', 'reset-before-response', 'rst-on-close',
    'syn-unanswered', 'accept-queue-overflow',
    'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
  ])('silent on %s', async (name) => {
    const file = path.join(SAMPLES_DIR, `${name}.pcap`);
    if (!fs.existsSync(file)) return;
    expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
  });
});

describe('connection-refused when the refused client is a proxy that moved the request on', () => {
  test('nginx sent each refused request to another upstream server (dead-upstream-nginx); curl on the same host as a server did not (refused-connection)', async () => {
    const moved = "it sent the request on to another backend within 1 s";
    const viaProxy = path.join(SAMPLES_DIR, 'dead-upstream-nginx.pcap');
    if (fs.existsSync(viaProxy)) {
      const d = (await analyzeFiles([viaProxy])).diagnoses.find((x) => x.kind === 'connection-refused')!;
      expect(d.explanation).toContain(moved);
      expect(d.explanation).toContain('`fail_timeout`');
    }
    const direct = path.join(SAMPLES_DIR, 'refused-connection.pcap');
    if (fs.existsSync(direct)) {
      const d = (await analyzeFiles([direct])).diagnoses.find((x) => x.kind === 'connection-refused')!;
      expect(d.explanation).not.toContain('is a proxy');
    }
  });
});

describe('connection-refused on sample connection-refused-two-outages (a server killed and restarted twice, another once)', () => {
  const file = path.join(SAMPLES_DIR, 'connection-refused-two-outages.pcap');
  const run = fs.existsSync(file) ? test : test.skip;
  run("8080's two outages are told apart by the connections accepted between them, each with the recording's count; 8081's one restart stays one outage", async () => {
    const meta = JSON.parse(fs.readFileSync(file.replace(/\.pcap$/, '.meta.json'), 'utf8')) as SampleMeta & {
      observed: { outages: Record<string, Array<{ refusals: number }>>; acceptedBetween8080Outages: number };
    };
    const r = await analyzeFiles([file]);
    const of = (port: number) => r.diagnoses.find((d) => d.kind === KIND && d.server === `127.0.0.1:${port}`)!;
    const [first, second] = meta.observed.outages['8080'];
    expect(of(8080).explanation).toContain('in 2 separate outages');
    expect(of(8080).explanation).toContain(`1) ${first.refusals} refusals from`);
    expect(of(8080).explanation).toContain(`2) ${meta.observed.acceptedBetween8080Outages} connections accepted since the previous one, then ${second.refusals} refusals from`);
    expect(of(8081).explanation).not.toContain('separate outages');
    expect(of(8081).explanation).toContain(`${meta.observed.outages['8081'][0].refusals} connection attempts were refused by 127.0.0.1:8081 over`);
  });
});

describe('connection-refused: a port scan is told from an outage by how the ports were tried', () => {
  /** One SYN to each of `ports` (from the client's port sportBase + i), `spacing` apart, each refused. */
  const scan = (cap: Capture, ports: readonly number[], spacing: number, start = 0, sportBase = 50000): void => {
    ports.forEach((port, i) => {
      const t = start + i * spacing;
      cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: sportBase + i, dport: port, seq: 100, flags: TCP_SYN }));
      cap.add(t + 0.00002, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: port, dport: sportBase + i, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK }));
    });
  };
  const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);

  test('30 ports tried once each within a second: info findings and one scan diagnosis, no warning', () => {
    const cap = new Capture();
    scan(cap, range(20001, 30), 0.02);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(30);
    expect(found.every((f) => f.severity === 'info')).toBe(true);
    expect(found[0].summary).toBe(`port 20001 of ${SERVER} refused a probe of a port scan from ${CLIENT} (the SYN was answered by RST 0.02 ms later)`);
    const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(more).toEqual([]);
    expect(d).toMatchObject({ server: SERVER, severity: 'info', count: 30 });
    expect(d.explanation).toContain(`${CLIENT} tried 30 ports of ${SERVER} within 0.58 s`);
    expect(d.explanation).toContain('a port scan');
  });

  test('a scan of 3 000 ports in 0.3 s, and a slow one of 300 ports at 10 a second: every probe found, the whole scan summed up', () => {
    for (const [n, spacing] of [[3000, 0.0001], [300, 0.1]] as const) {
      const cap = new Capture();
      // Source ports cycle through 20 000 (a scanner's), never the same 4-tuple twice.
      range(1, n).forEach((port, i) => {
        const t = i * spacing;
        const sport = 30000 + (i % 20000);
        cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport, dport: port, seq: 100, flags: TCP_SYN }));
        cap.add(t + 0.00002, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: port, dport: sport, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK }));
      });
      const r = cap.analyze(only);
      expect([n, ofKind(r, KIND).filter((f) => f.severity !== 'info').length]).toEqual([n, 0]);
      const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
      expect(more).toEqual([]);
      expect(d.explanation).toContain(`${CLIENT} tried ${n} ports of ${SERVER} within ${Math.round((n - 1) * spacing * 1000) / 1000} s`);
    }
  });

  test('not a scan: the same 12 ports each tried again and again (a proxy whose backends on one host are all down)', () => {
    const cap = new Capture();
    for (let round = 0; round < 4; round++) scan(cap, range(9001, 12), 0.01, round * 1, 50000 + round * 100);
    const r = cap.analyze(only);
    // Outages, not probes: tried again and again and never got through, so errors (a scan's would be info).
    expect(ofKind(r, KIND).every((f) => f.severity === 'error')).toBe(true);
    expect(r.diagnoses.filter((x) => x.kind === KIND).map((d) => d.severity)).toEqual(Array(12).fill('error'));
  });

  test('not a scan: fewer than ten ports', () => {
    const cap = new Capture();
    scan(cap, range(20001, 9), 0.02);
    expect(ofKind(cap.analyze(only), KIND).every((f) => f.severity === 'warning')).toBe(true);
  });

  test('a scan and an outage from the same host: the port tried again and again stays an outage', () => {
    const cap = new Capture();
    scan(cap, range(20001, 20), 0.02);
    refused(cap, 41000, [0.05]);
    refused(cap, 41001, [0.35]);
    refused(cap, 41002, [0.65]);
    const r = cap.analyze(only);
    const outage = ofKind(r, KIND).filter((f) => f.server === `${SERVER}:8081`);
    // Not probes: the client came back twice and never got through (errors, not the scan's info).
    expect(outage.map((f) => f.severity)).toEqual(['error', 'error', 'error']);
    const severities = r.diagnoses.filter((x) => x.kind === KIND).map((d) => `${d.server} ${d.severity} ${d.count}`);
    expect(severities).toEqual([`${SERVER}:8081 error 3`, `${SERVER} info 20`]);
  });

  test('port-scan-and-outage: the scan of 40 closed ports and one open one, the restart of 8081, and its stale reuse', async () => {
    const file = path.join(SAMPLES_DIR, 'port-scan-and-outage.pcap');
    if (!fs.existsSync(file)) return;
    const r = await analyzeFiles([file]);
    const refusals = ofKind(r, KIND);
    const scanned = refusals.filter((f) => f.client?.startsWith('127.0.0.5:'));
    expect(scanned).toHaveLength(40);
    expect(scanned.every((f) => f.severity === 'info')).toBe(true);
    const outage = refusals.filter((f) => f.server === '127.0.0.1:8081');
    expect(outage.length).toBeGreaterThanOrEqual(3);
    // The client's /health calls met a refusal each (errors), but the last, whose next connect got through at once (a warning).
    expect(outage.map((f) => f.severity)).toEqual([...Array(outage.length - 1).fill('error'), 'warning']);
    const scanDiagnosis = r.diagnoses.find((d) => d.kind === KIND && d.server === '127.0.0.1')!;
    expect(scanDiagnosis.severity).toBe('info');
    expect(scanDiagnosis.explanation).toContain('127.0.0.5 tried 41 ports of 127.0.0.1');
    expect(scanDiagnosis.explanation).toContain('(open: 8080)');
    // Worst first: the restart's race and refusals before the scan's note.
    expect(r.diagnoses.map((d) => d.severity)).toEqual(['error', 'error', 'info']);
    // The request that met the stopped server's close is a race with a restart, not an idle timeout of 0.3 s.
    const race = r.diagnoses.find((d) => d.kind === 'keepalive-race')!;
    expect(race.inferred).toEqual({});
    expect(race.explanation).toContain('closed at a reload or restart');
  });
});

describe('connection-refused: a refusal the client fell back from to the other address family (happy eyeballs)', () => {
  /** A SYN to `server` port `port` from `client`:`cport`, refused, at `t`. */
  const refuse = (cap: Capture, t: number, client: string, server: string, cport: number, port: number): void => {
    cap.add(t, buildTcpPacket({ src: client, dst: server, sport: cport, dport: port, seq: 100, flags: TCP_SYN }));
    cap.add(t + 0.00002, buildTcpPacket({ src: server, dst: client, sport: port, dport: cport, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK }));
  };
  /** A handshake to `server` port `port` at `t`. */
  const connect = (cap: Capture, t: number, client: string, server: string, cport: number, port: number): void => {
    cap.add(t, buildTcpPacket({ src: client, dst: server, sport: cport, dport: port, seq: 100, flags: TCP_SYN }));
    cap.add(t + 0.0001, buildTcpPacket({ src: server, dst: client, sport: port, dport: cport, seq: 900, ack: 101, flags: TCP_SYN | TCP_ACK }));
    cap.add(t + 0.0002, buildTcpPacket({ src: client, dst: server, sport: cport, dport: port, seq: 101, ack: 901, flags: TCP_ACK }));
  };

  test('refused over IPv6, connected over IPv4 to the same port at once: info, one diagnosis naming the fallback', () => {
    const cap = new Capture();
    refuse(cap, 0, 'fd00::1', 'fd00::2', 40000, 8081);
    connect(cap, 0.0005, '10.0.0.1', '10.0.0.2', 40001, 8081);
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f).toMatchObject({ severity: 'info', server: '[fd00::2]:8081' });
    expect(f.evidence).toMatchObject({ fallbackTo: '10.0.0.2:8081', fallbackAfter: 0.00048 });
    expect(f.summary).toBe('connection to [fd00::2]:8081 refused (IPv6): the SYN was answered by RST 0.02 ms later, and the client connected to 10.0.0.2:8081 over IPv4 0.48 ms after');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d).toMatchObject({ severity: 'info', count: 1 });
    expect(d.remedy).toContain('`listen [::]:8081;`');
  });

  test('no fallback: the other family on another port, the same family, or a second later', () => {
    for (const [client, server, port, at] of [
      ['10.0.0.1', '10.0.0.2', 9000, 0.0005], // another port
      ['fd00::1', 'fd00::3', 8081, 0.0005], // the same family
      ['10.0.0.1', '10.0.0.2', 8081, 1.2], // too late to be the client's next address
    ] as const) {
      const cap = new Capture();
      refuse(cap, 0, 'fd00::1', 'fd00::2', 40000, 8081);
      connect(cap, at, client, server, 40001, port);
      expect([server, port, at, ofKind(cap.analyze(only), KIND).map((x) => x.severity)]).toEqual([server, port, at, ['warning']]);
    }
  });

  test('happy-eyeballs-fallback: curl, Python and Node refused on ::1, each connected to 127.0.0.1 at once; on a port refused on both families, no fallback', async () => {
    const file = path.join(SAMPLES_DIR, 'happy-eyeballs-fallback.pcap');
    const r = await analyzeFiles([file]);
    const found = ofKind(r, KIND);
    const fellBack = found.filter((x) => x.server === '[::1]:8081');
    expect(fellBack).toHaveLength(6);
    expect(fellBack.every((x) => x.severity === 'info' && x.evidence.fallbackTo === '127.0.0.1:8081')).toBe(true);
    // 8082: refused on ::1, then on 127.0.0.1: the fallback got nowhere, both are refusals.
    const bothRefused = found.filter((x) => x.server.endsWith(':8082'));
    expect(bothRefused).toHaveLength(12);
    // curl exit 7, ECONNREFUSED: the clients failed, errors.
    expect(bothRefused.every((x) => x.severity === 'error' && x.evidence.fallbackTo === undefined)).toBe(true);
    expect(found).toHaveLength(18);
    expect(r.diagnoses.map((d) => `${d.kind} ${d.server} ${d.severity} ${d.count}`).sort()).toEqual([
      'connection-refused 127.0.0.1:8082 error 6',
      'connection-refused [::1]:8081 info 6',
      'connection-refused [::1]:8082 error 6',
    ]);
    // Refused on 127.0.0.1 itself: the remedy does not suggest binding beyond it.
    const local = r.diagnoses.find((d) => d.server === '127.0.0.1:8082');
    expect(local?.remedy).not.toMatch(/not only 127\.0\.0\.1/);
    expect(r.diagnoses.find((d) => d.server === '[::1]:8082')?.remedy).toMatch(/not only 127\.0\.0\.1/);
  });
});

describe('connection-refused: refusals from another hop than the server (a firewall rejecting with a tcp reset)', () => {
  /** A packet from the server's address with IP TTL `ttl`: its SYN-ACK, or a RST,ACK refusing a SYN. */
  function fromServer(cap: Capture, ts: number, cport: number, flags: number, seq: number, ack: number, ttl: number): void {
    cap.add(ts, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: 8081, dport: cport, seq, ack, flags, ttl }));
  }
  /** Three connections the server accepts (SYN-ACK TTL 63, a router between), then three SYNs refused by RSTs of TTL `rstTtl`. */
  function scene(rstTtl: number): AnalysisResult {
    const cap = new Capture();
    for (const [i, at] of [0, 0.1, 0.2].entries()) {
      seg(cap, at, 'c', 42000 + i, TCP_SYN, 100);
      fromServer(cap, at + 0.0001, 42000 + i, TCP_SYN | TCP_ACK, 900, 101, 63);
      seg(cap, at + 0.0002, 'c', 42000 + i, TCP_ACK, 101, 901);
    }
    for (const [i, at] of [0.5, 0.6, 0.7].entries()) {
      seg(cap, at, 'c', 43000 + i, TCP_SYN, 100);
      fromServer(cap, at + 0.00002, 43000 + i, TCP_RST | TCP_ACK, 0, 101, rstTtl);
    }
    return cap.analyze(only);
  }

  test('RSTs whose TTL none of the SYN-ACKs has: a firewall on the way (connlimit), not a closed listener', () => {
    // Blind round 11: iptables `connlimit --connlimit-above 3 ... REJECT --reject-with tcp-reset` on a
    // router read as "its process was alive but had closed its listener (a graceful shutdown)".
    const d = scene(64).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('The refusing RSTs did not come from its host');
    expect(d.explanation).toContain('their IP TTL (64) is not that of its SYN-ACKs (63)');
    expect(d.explanation).not.toContain('nothing was listening');
    expect(d.explanation).not.toContain('graceful shutdown');
    expect(d.remedy).toContain('connlimit');
  });

  test('near miss: RSTs with the SYN-ACKs\' TTL are the server\'s own refusals, told as before', () => {
    const d = scene(63).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('nothing was listening on that address and port');
    expect(d.explanation).not.toContain('did not come from its host');
  });

  /** The host accepts on port 8081 (SYN-ACK TTL 63); port 8082, which accepts nothing, is refused by RSTs of TTL `rstTtl`. */
  function otherPort(rstTtl: number): AnalysisResult {
    const cap = new Capture();
    for (const [i, at] of [0, 0.1].entries()) {
      seg(cap, at, 'c', 42000 + i, TCP_SYN, 100);
      fromServer(cap, at + 0.0001, 42000 + i, TCP_SYN | TCP_ACK, 900, 101, 63);
      seg(cap, at + 0.0002, 'c', 42000 + i, TCP_ACK, 101, 901);
    }
    for (const [i, at] of [0.5, 0.6].entries()) {
      cap.add(at, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: 43000 + i, dport: 8082, seq: 100, ack: 0, flags: TCP_SYN }));
      cap.add(at + 0.00002, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: 8082, dport: 43000 + i, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK, ttl: rstTtl }));
    }
    return cap.analyze(only);
  }

  test("a port that accepted nothing, refused by RSTs whose TTL is not that of the host's SYN-ACKs on another port: a firewall in front (blind round 13b, S2)", () => {
    const d = otherPort(64).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('their IP TTL (64) is not that of the SYN-ACKs 10.0.0.2 sent on its other ports (63)');
    expect(d.explanation).not.toContain('nothing was listening');
    expect(d.remedy).toContain('no connection to it, only the rejections in front of it');
    // Near miss: the host's own TTL, its own closed port.
    const own = otherPort(63).diagnoses.find((x) => x.kind === KIND)!;
    expect(own.explanation).toContain('nothing was listening on that address and port');
  });
});

describe('connection-refused: a port whose host sent nothing else (blind round 17, s07)', () => {
  // A firewall's `reject with tcp reset` and a closed port look alike when the capture holds no
  // other packet of the server's host: the verdict is hedged, naming both, and the remedy asks to
  // tell them apart first. A baseline (the host's SYN-ACKs or data on other connections, with the
  // RSTs' TTL) or a loopback address lets it stand.
  test('no other packet of the host: "nothing was listening, or a firewall on the path"', () => {
    const cap = new Capture();
    refused(cap, 41000, [0]);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toMatch(/nothing was listening on that address and port, or a firewall on the path rejected the connection with a tcp reset in its name/);
    expect(d.explanation).toMatch(/no other packet of 10\.0\.0\.2 to compare the RSTs' IP TTL \(64\) with/);
    expect(d.explanation).not.toMatch(/so nothing was listening/);
    expect(d.remedy).toMatch(/^Check first whether it is the listener or a firewall/);
  });

  test('near miss: the host answered on another connection with the RSTs\' TTL: nothing was listening', () => {
    const cap = new Capture();
    // Seen mid-stream (no SYN-ACK): the host's data gives its TTL (host-ttls.ts).
    cap.connection({ client: CLIENT, server: SERVER, sport: 443 }).request(0, get('/')).response(0.001, ok());
    refused(cap, 41000, [1]);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('so nothing was listening on that address and port');
    expect(d.remedy).not.toMatch(/Check first whether/);
  });

  test('the host\'s data on another connection with another TTL than the RSTs: a firewall in front', () => {
    const cap = new Capture();
    cap.connection({ client: CLIENT, server: SERVER, sport: 443 }).request(0, get('/')).response(0.001, ok());
    seg(cap, 1, 'c', 41000, TCP_SYN, 100);
    cap.add(1.00002, buildTcpPacket({ src: SERVER, dst: CLIENT, sport: 8081, dport: 41000, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK, ttl: 60 }));
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toMatch(/did not come from its host, though: their IP TTL \(60\) is not that of the packets 10\.0\.0\.2 sent on its other connections \(64\)/);
  });

  test('loopback: no hop between, the old verdict stands', () => {
    const cap = new Capture();
    cap.add(0, buildTcpPacket({ src: '127.0.0.1', dst: '127.0.0.1', sport: 41000, dport: 8081, seq: 100, ack: 0, flags: TCP_SYN }));
    cap.add(0.00002, buildTcpPacket({ src: '127.0.0.1', dst: '127.0.0.1', sport: 8081, dport: 41000, seq: 0, ack: 101, flags: TCP_RST | TCP_ACK }));
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('so nothing was listening on that address and port');
  });
});
