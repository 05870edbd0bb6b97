import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { Capture, get, ok } from './reuse-kit';

/**
 * Blind round 16, chains S19/S20: nginx (keepalive_timeout 1 s) behind a queue on its uplink that
 * held some responses up to 0.8 s. Its idle closes, measured from the response's last byte on the
 * wire, were ten at 1.00 s and two far shorter: those responses had left late, and the closes came
 * as long after their requests as the others. The minimum (0.262 s) was taken for the timer, with
 * "no idle timer ... no client idle timeout below them is the fix".
 */
const only = [keepaliveRace, idleTimeoutMismatch];
const FRONT = '10.0.0.2';
const BACKEND = '10.0.0.3';

/** One connection: a request at `at`, answered `answerAfter` s later, closed by the server `idle` s after the answer's last byte. */
function closed(cap: Capture, at: number, answerAfter: number, idle: number, headers: string[]): void {
  const c = cap.connection({ server: FRONT });
  c.handshake(at).request(at + 0.001, get('/r'));
  c.response(at + 0.001 + answerAfter, ok('x', headers));
  c.close(at + 0.001 + answerAfter + idle, 's');
}

/** One connection reused after each of `gaps` (idle seconds), then closed by the client. */
function reuses(cap: Capture, at: number, gaps: number[], headers: string[]): void {
  const c = cap.connection({ server: FRONT });
  let t = at;
  c.handshake(t).exchange(t + 0.01, get('/k'), ok('x', headers));
  t += 0.0111;
  for (const gap of gaps) {
    t += gap;
    c.exchange(t, get('/k'), ok('x', headers));
    t += 0.0011;
  }
  c.close(t + 0.001, 'c');
}

/** Ten closes 1.0 s after quick answers, and two whose answers left `late` s late (or not: then a second, shorter timer). */
function scene(early: 'late answers' | 'quick answers', headers: string[] = ['Server: nginx/1.22.1']): Capture {
  const cap = new Capture();
  // At no regular moments: closes on one grid of the clock would be a timer's tick (closeGrid).
  for (let i = 0; i < 10; i++) closed(cap, 2.37 * i + 0.211 * (i % 5), 0.1, 1.0 + 0.0008 * i, headers);
  if (early === 'late answers') {
    closed(cap, 25.3, 0.849, 0.262, headers);
    closed(cap, 27.9, 0.36, 0.748, headers);
  } else {
    closed(cap, 25.3, 0.1, 0.262, headers);
    closed(cap, 27.9, 0.1, 0.748, headers);
  }
  reuses(cap, 31, [0.95, 0.97, 0.96], headers);
  return cap;
}

function mismatch(cap: Capture): { timeout: number; explanation: string } {
  const d = cap.analyze(only).diagnoses.find((x) => x.kind === 'idle-timeout-mismatch');
  expect(d).toBeDefined();
  return { timeout: d!.inferred.serverIdleTimeout.value, explanation: d!.explanation };
}

describe('idle timeout: closes a late response made look early', () => {
  test('a cluster at 1.0 s with two early closes whose answers left late is the 1 s timer, the two said apart', () => {
    const m = mismatch(scene('late answers'));
    expect(m.timeout).toBeCloseTo(1.004, 2);
    expect(m.explanation).not.toContain('at the shortest');
    expect(m.explanation).toContain('2 closes came 0.262-0.748 s after their responses\' last byte here but 1.108-1.111 s after their requests');
  });

  test('near miss: the same two closes after quick answers are a shorter timer, the shortest kept', () => {
    const m = mismatch(scene('quick answers'));
    expect(m.timeout).toBeCloseTo(0.262, 3);
    expect(m.explanation).toContain('at the shortest');
  });
});

describe('idle timeout: one close below the cluster bounds the timer unless its response left late', () => {
  /** Ten closes at 1.0 s and one at 0.748 s, its answer quick (`late` 0) or 0.36 s late. */
  function oneEarly(late: number): Capture {
    const cap = new Capture();
    const headers = ['Server: nginx/1.22.1'];
    for (let i = 0; i < 10; i++) closed(cap, 2.37 * i + 0.211 * (i % 5), 0.1, 1.0 + 0.0008 * i, headers);
    closed(cap, 27.9, 0.1 + late, 0.748, headers);
    reuses(cap, 31, [0.95, 0.97, 0.96], headers);
    return cap;
  }

  test('a single quick-answered close at 0.748 s below ten at 1.0 s: the timer is at most 0.748 s (it was the 1.0 s cluster before: one close beyond it was not enough)', () => {
    const m = mismatch(oneEarly(0));
    expect(m.timeout).toBeCloseTo(0.748, 3);
    expect(m.explanation).toContain('at the shortest');
  });

  test('near miss: the same close with its answer 0.36 s late (1.21 s after its request, as long as the others) is the 1 s timer seen early', () => {
    const m = mismatch(oneEarly(0.36));
    expect(m.timeout).toBeCloseTo(1.004, 2);
    expect(m.explanation).not.toContain('at the shortest');
    expect(m.explanation).toContain('one close came 0.748 s after its response\'s last byte here but 1.208 s after its request');
  });
});

describe('idle timeout: who closes, when a Via entry came from behind', () => {
  const viaVarnish = 'Via: 1.1 varnish (Varnish/7.1)';

  /** The front's backend leg: its host connecting to a backend whose answers carry `headers`. */
  function backendLeg(cap: Capture, headers: string[]): void {
    const up = cap.connection({ client: FRONT, server: BACKEND, sport: 8080 });
    up.handshake(45).exchange(45.01, get('/r'), ok('x', headers));
    up.close(45.1, 'c');
  }

  test('nginx in front of Varnish (its own Server, Varnish\'s Via passed on): named by its Server header', () => {
    const cap = scene('late answers', ['Server: nginx/1.22.1', viaVarnish]);
    backendLeg(cap, ['Server: pyapp/1', viaVarnish]);
    const m = mismatch(cap);
    expect(m.explanation).toContain('10.0.0.2:80 (Server: nginx/1.22.1) closed');
    expect(m.explanation).not.toContain('Varnish `timeout_idle`');
  });

  test('Varnish in front of nginx (the Via its own, its backend\'s answers carry none): still named Varnish', () => {
    const cap = scene('late answers', ['Server: nginx/1.22.1', viaVarnish]);
    backendLeg(cap, ['Server: nginx/1.22.1']);
    const m = mismatch(cap);
    expect(m.explanation).toContain(`10.0.0.2:80 (${viaVarnish}) closed`);
  });

  test('without the backend leg in the capture, the Via still names it', () => {
    const m = mismatch(scene('late answers', ['Server: nginx/1.22.1', viaVarnish]));
    expect(m.explanation).toContain(`10.0.0.2:80 (${viaVarnish}) closed`);
  });
});
