import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { connectionRefused } from '../../src/detect/detectors/connection-refused';
import { buildTcpPacket, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, T0 } from './reuse-kit';

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

  test('diagnosis: accepted before and after the refusals — down in between, not "in the same period"', () => {
    const cap = new Capture();
    accepted(cap, 41002, 0);
    refused(cap, 41000, [2]);
    refused(cap, 41001, [2.5]);
    accepted(cap, 41003, 3);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toContain('It accepted 2 connections from 2 s before the first refusal to 0.5 s after the last: the listener was down in between');
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
