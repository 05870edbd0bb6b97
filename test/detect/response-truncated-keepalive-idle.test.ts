import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { responseTruncated } from '../../src/detect/detectors/response-truncated';
import { closesAtKeepAlive, keepAliveTimerOf } from '../../src/detect/keep-alive-timer';
import { SAMPLES_DIR } from '../samples';
import { Capture, get, ofKind, ok, post } from './reuse-kit';

const KIND = 'response-truncated';
const only = [responseTruncated];
const OPTIONS = { fraction: 0.02, absolute: 0.05, minIdle: 0.1 };

/** A chunked 200 head and its first chunk, with `headers` (a Server, a Keep-Alive hint). */
const cutChunked = (headers: string[] = []): string =>
  `HTTP/1.1 200 OK\r\n${headers.map((h) => `${h}\r\n`).join('')}Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nok\n\r\n`;

/** A whole response, then the server's FIN `idle` s later (its keep-alive idle timer). */
function idleClose(cap: Capture, t: number, idle: number, headers: string[] = []): void {
  cap.connection().handshake(t).exchange(t + 0.001, get('/index.html'), ok('hello\n', headers)).close(t + 0.002 + idle, 's');
}

/** A POST whose chunked body stops after its first chunk, the server's FIN `silence` s after it. */
function cut(cap: Capture, t: number, silence: number, headers: string[] = []): void {
  const c = cap.connection();
  c.handshake(t).request(t + 0.001, post('/cgi-bin/early-exit.sh', 'x'.repeat(100))).response(t + 0.004, cutChunked(headers));
  c.close(t + 0.004 + silence, 's');
}

describe('keep-alive-timer', () => {
  test('the densest cluster of idle closes is the timer; closes right after a response are no timer', () => {
    const timer = keepAliveTimerOf([0.001, 2.001, 2.003, 0.6], null, OPTIONS)!;
    expect(timer.source).toBe('idle-closes');
    expect(timer.value).toBeCloseTo(2.002, 3);
    expect(timer.closes).toBe(2);
    expect(timer.total).toBe(3);
  });

  test('a close after a cut matches within the jitter, and up to twice it late (the failed response ends after its last byte)', () => {
    const timer = keepAliveTimerOf([2.001, 2.002], null, OPTIONS)!;
    expect(closesAtKeepAlive(2.037, timer, OPTIONS)).toBe(true);
    expect(closesAtKeepAlive(1.96, timer, OPTIONS)).toBe(true);
    expect(closesAtKeepAlive(1.9, timer, OPTIONS)).toBe(false);
    expect(closesAtKeepAlive(2.2, timer, OPTIONS)).toBe(false);
    expect(closesAtKeepAlive(3.0, timer, OPTIONS)).toBe(false);
  });

  test('without idle closes the Keep-Alive hint is the timer, a Node server closing a second after it too', () => {
    const timer = keepAliveTimerOf([], 5, OPTIONS)!;
    expect(timer.source).toBe('keep-alive-header');
    expect(closesAtKeepAlive(5.01, timer, OPTIONS)).toBe(true);
    expect(closesAtKeepAlive(6.002, timer, OPTIONS)).toBe(true);
    expect(closesAtKeepAlive(2.0, timer, OPTIONS)).toBe(false);
    expect(keepAliveTimerOf([0.01], null, OPTIONS)).toBeNull();
  });
});

describe('response-truncated: a close at the server keep-alive timer after a cut', () => {
  test('cuts closed one idle timeout after their last byte, as the server closes idle connections: no stall timer, the cut at the last byte', () => {
    const cap = new Capture();
    idleClose(cap, 0, 2.001, ['Server: Apache/2.4.71 (Debian)']);
    idleClose(cap, 0.5, 2.002, ['Server: Apache/2.4.71 (Debian)']);
    cut(cap, 1, 2.012, ['Server: Apache/2.4.71 (Debian)']);
    cut(cap, 5, 2.035, ['Server: Apache/2.4.71 (Debian)']);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    for (const f of found) {
      expect(f.evidence).toMatchObject({ closedAtKeepAliveTimeout: true, keepAliveTimeoutFrom: 'idle-closes' });
      expect(f.summary).toContain('one keep-alive idle timeout later');
    }
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(2.0, 2);
    expect(d.inferred.responseStallTimeout).toBeUndefined();
    expect(d.inferred.responseTimeLimit).toBeUndefined();
    expect(d.explanation).toContain('no timer cut them mid-body');
    expect(d.explanation).toContain('closed 2 other connections idle');
    expect(d.explanation).not.toContain('ProxyTimeout');
    expect(d.remedy).toContain('not at the close');
    expect(d.remedy).toContain('AH00574');
  });

  test('near miss: cuts closed 3 s after their last byte by a server whose idle closes come at 2 s are a stall timer', () => {
    const cap = new Capture();
    idleClose(cap, 0, 2.001, ['Server: nginx/1.22.1']);
    idleClose(cap, 0.5, 2.002, ['Server: nginx/1.22.1']);
    cut(cap, 1, 3.0, ['Server: nginx/1.22.1']);
    cut(cap, 5, 3.001, ['Server: nginx/1.22.1']);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(2);
    for (const f of found) expect(f.evidence.closedAtKeepAliveTimeout).toBeUndefined();
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverIdleTimeout).toBeUndefined();
    expect(d.explanation).not.toContain('keep-alive idle timeout');
    expect(d.explanation).toContain('proxy_read_timeout');
  });

  test('a close at the responses\' advertised Keep-Alive timeout, with no idle close to compare: the keep-alive timer', () => {
    const cap = new Capture();
    cut(cap, 0, 5.012, ['Keep-Alive: timeout=5, max=100']);
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ closedAtKeepAliveTimeout: true, keepAliveTimeout: 5, keepAliveTimeoutFrom: 'keep-alive-header' });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.advertisedKeepAliveTimeout.value).toBe(5);
    expect(d.explanation).toContain('Keep-Alive: timeout=5');
  });

  test('one cut with no evidence: the keep-alive close is named as a possibility, leading where it is the named server\'s default', () => {
    const apache = new Capture();
    cut(apache, 0, 5.012, ['Server: Apache/2.4.71 (Debian)']);
    const d = apache.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('KeepAliveTimeout (5 s default), and no timer need have cut it mid-body');
    expect(d.explanation).toContain('frame');
    expect(d.remedy.startsWith('First look in')).toBe(true);
    expect(d.remedy).toContain('when the body stopped');

    const other = new Capture();
    cut(other, 0, 3.5, ['Server: Apache/2.4.71 (Debian)']);
    const e = other.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(e.explanation).toContain('One cut infers no timer');
    expect(e.explanation).toContain('Or no timer cut it mid-body');
    expect(e.remedy).toContain('If no timeout is logged at the close');
  });
});

describe('response-truncated-keepalive-idle-apache sample', () => {
  test('the Apache cuts close at its keep-alive timer; nginx\'s proxy_read_timeout cut (near miss) does not', async () => {
    const r = await analyzeFiles([path.join(SAMPLES_DIR, 'response-truncated-keepalive-idle-apache.pcap')]);
    const found = ofKind(r, KIND);
    const apache = found.filter((f) => f.server === '127.0.0.1:8080');
    const nginx = found.filter((f) => f.server === '127.0.0.1:8081');
    expect(apache).toHaveLength(2);
    expect(nginx).toHaveLength(1);
    for (const f of apache) expect(f.evidence.closedAtKeepAliveTimeout).toBe(true);
    expect(nginx[0].evidence.closedAtKeepAliveTimeout).toBeUndefined();
    const d = r.diagnoses.find((x) => x.kind === KIND && x.server === '127.0.0.1:8080')!;
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(2.0, 2);
    expect(d.inferred.responseStallTimeout).toBeUndefined();
  });
});
