/**
 * A paused server process (server-pauses) as a fact every detector it explains reads before it
 * reports: syn-unanswered's dropped SYNs and accept-queue-overflow's dropped handshakes that fell
 * in it are a backlog that filled because no accept() ran (blind round 11: a SIGSTOP's pause was
 * found by unanswered-request in its onFinish, after those two had said nothing of it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { acceptQueueOverflow } from '../../src/detect/detectors/accept-queue-overflow';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, TCP_ACK, TCP_PSH, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR } from '../samples';
import { Capture, get, ok } from './reuse-kit';

const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';
const C_ISN = 1_000_000;
const S_ISN = 5_000_000;
const REQUEST = get('/queued');

function seg(cap: Capture, ts: number, from: 'c' | 's', cport: number, flags: number, seq: number, ack = 0, payload = ''): void {
  const c = from === 'c';
  cap.add(ts, buildTcpPacket({ src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? cport : 80, dport: c ? 80 : cport, seq, ack, flags, payload }));
}

/**
 * Three keep-alive connections whose requests (at 0.5, 0.53, 0.56 s) their clients give up on
 * 1 s later; the server answers each at `answerAt(k, requestTs)`, into the closed connection.
 */
function stalled(cap: Capture, answerAt: (k: number, requestTs: number) => number): void {
  for (let k = 0; k < 3; k++) {
    const conn = cap.connection();
    const requestTs = 0.5 + 0.03 * k;
    conn.handshake(0.1 + k * 0.01).exchange(0.2 + k * 0.01, get(`/p${k}/warm`), ok());
    conn.request(requestTs, get(`/p${k}/stalled`));
    conn.fin(requestTs + 1, 'c').ack(requestTs + 1.0001, 's');
    const answer = answerAt(k, requestTs);
    conn.send(answer, 's', ok('late')).rst(answer + 0.0001, 'c');
  }
}

const atOneInstant = (k: number): number => 3.5 + k * 0.0005;
const eachSlow = (_k: number, requestTs: number): number => requestTs + 2.5;

/**
 * New connections whose SYNs at 1.0, 1.2 and 1.4 s were dropped, resent 1 s later (dropped again),
 * and answered at once when resent 2 s after that, the pause over (at 4.0, 4.2, 4.4 s). A listener
 * whose accept queue is full drops a SYN rather than answer it late: a SYN-ACK long after the last
 * SYN is the server's resend of one the path lost (path-loss.ts), not a paused server's.
 */
function droppedSyns(cap: Capture): void {
  [1.0, 1.2, 1.4].forEach((t, k) => {
    const cport = 42000 + k;
    seg(cap, t, 'c', cport, TCP_SYN, C_ISN);
    seg(cap, t + 1, 'c', cport, TCP_SYN, C_ISN);
    seg(cap, t + 3, 'c', cport, TCP_SYN, C_ISN);
    const at = t + 3.0001;
    seg(cap, at, 's', cport, TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1);
    seg(cap, at + 0.0001, 'c', cport, TCP_ACK, C_ISN + 1, S_ISN + 1);
  });
}

/**
 * One connection whose handshake completed on the client's side at 0.9 s while the listener's
 * accept queue was full: the SYN-ACK repeated at 1.9 s and 3.9 s, the request ignored until 4.5 s.
 */
function overflowed(cap: Capture): void {
  const p = 43000;
  seg(cap, 0.9, 'c', p, TCP_SYN, C_ISN);
  seg(cap, 0.9001, 's', p, TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1);
  seg(cap, 0.9002, 'c', p, TCP_ACK, C_ISN + 1, S_ISN + 1);
  seg(cap, 0.9003, 'c', p, TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 1, REQUEST);
  seg(cap, 1.2, 'c', p, TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 1, REQUEST);
  seg(cap, 1.9, 's', p, TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1);
  seg(cap, 1.9001, 'c', p, TCP_ACK, C_ISN + 1 + REQUEST.length, S_ISN + 1);
  seg(cap, 2.0, 'c', p, TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 1, REQUEST);
  seg(cap, 3.9, 's', p, TCP_SYN | TCP_ACK, S_ISN, C_ISN + 1);
  seg(cap, 3.9001, 'c', p, TCP_ACK, C_ISN + 1 + REQUEST.length, S_ISN + 1);
  seg(cap, 4.5, 'c', p, TCP_ACK | TCP_PSH, C_ISN + 1, S_ISN + 1, REQUEST);
  seg(cap, 4.5001, 's', p, TCP_ACK, S_ISN + 1, C_ISN + 1 + REQUEST.length);
  seg(cap, 4.501, 's', p, TCP_ACK | TCP_PSH, S_ISN + 1, C_ISN + 1 + REQUEST.length, ok());
}

describe('server-pauses: a listener\'s drops in a paused process', () => {
  const diagnosis = (cap: Capture, kind: 'syn-unanswered' | 'accept-queue-overflow') => {
    const found = cap.analyze(kind === 'syn-unanswered' ? [synUnanswered] : [acceptQueueOverflow]).diagnoses.filter((d) => d.kind === kind);
    expect(found).toHaveLength(1);
    return found[0];
  };

  test('syn-unanswered: SYNs dropped while the server answered nothing, then answered every client at one instant: they fell in its pause', () => {
    const cap = new Capture();
    stalled(cap, atOneInstant);
    droppedSyns(cap);
    const d = diagnosis(cap, 'syn-unanswered');
    expect(d.explanation).toMatch(/Every one of them began while 10\.0\.0\.2:80's process was paused: from \S+ to \S+ \(3 s\) it answered nothing on any connection/);
    expect(d.explanation).toContain('it ran no accept(): its listen backlog filled, and the kernel dropped the SYNs beyond it');
    expect(d.inferred.serverPause.value).toBeCloseTo(3, 2);
    expect(d.remedy).toMatch(/^Find what froze 10\.0\.0\.2's server process for 3 s first/);
  });

  test('syn-unanswered near misses: a server slow per request (no common instant), or one that answered another connection meanwhile, is no pause', () => {
    const slow = new Capture();
    stalled(slow, eachSlow);
    droppedSyns(slow);
    const running = new Capture();
    stalled(running, atOneInstant);
    running.connection().handshake(1.9).exchange(2, get('/meanwhile'), ok());
    droppedSyns(running);
    for (const cap of [slow, running]) {
      const d = diagnosis(cap, 'syn-unanswered');
      expect(d.explanation).not.toContain('paused');
      expect(d.inferred.serverPause).toBeUndefined();
      expect(d.remedy).not.toContain('froze');
    }
  });

  test('accept-queue-overflow: a handshake dropped in the pause says the queue filled because no accept() ran', () => {
    const cap = new Capture();
    stalled(cap, atOneInstant);
    overflowed(cap);
    const d = diagnosis(cap, 'accept-queue-overflow');
    expect(d.explanation).toContain("It began while 10.0.0.2:80's process was paused");
    expect(d.explanation).toContain("the kernel dropped the handshakes' last ACKs and the data beyond it");
    expect(d.inferred.serverPause.value).toBeCloseTo(3, 2);
    expect(d.remedy).toMatch(/^Find what froze/);
  });

  test('accept-queue-overflow near miss: the same overflow beside a server slow per request says nothing of a pause', () => {
    const cap = new Capture();
    stalled(cap, eachSlow);
    overflowed(cap);
    const d = diagnosis(cap, 'accept-queue-overflow');
    expect(d.explanation).not.toContain('paused');
    expect(d.inferred).toEqual({});
  });
});

const BACKLOG_SAMPLE = path.join(SAMPLES_DIR, 'server-paused-backlog.pcap');
(fs.existsSync(BACKLOG_SAMPLE) ? test : test.skip)('server-paused-backlog: the SYNs dropped while the SIGSTOPped server\'s backlog was full fell in the pause unanswered-request infers', async () => {
  const r = await analyzeFiles([BACKLOG_SAMPLE]);
  const [syn] = r.diagnoses.filter((d) => d.kind === 'syn-unanswered');
  const [unanswered] = r.diagnoses.filter((d) => d.kind === 'unanswered-request');
  expect(syn.explanation).toContain("Every one of them began while 127.0.0.1:8080's process was paused");
  // One pause, one value: a lower bound of the 4 s SIGSTOP.
  expect(syn.inferred.serverPause.value).toBe(unanswered.inferred.serverPause.value);
  expect(syn.inferred.serverPause.value).toBeGreaterThan(3.5);
  expect(syn.inferred.serverPause.value).toBeLessThan(4.1);
  expect(syn.remedy).toMatch(/^Find what froze 127\.0\.0\.1's server process/);
});
