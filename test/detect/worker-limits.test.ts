/**
 * Worker limits of application servers: workers killed together at a per-request time limit's
 * check (gunicorn --timeout, uWSGI harakiri, PHP-FPM request_terminate_timeout), told from a
 * restart; requests queued behind a long one at a concurrency limit (pm.max_children, gunicorn
 * --workers), told from a server slow per request.
 */
import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { queuesOf, StalledRequest } from '../../src/detect/server-stalls';
import { agesFitTickedLimit, wholeSecondLimit } from '../../src/detect/worker-limits';
import { endRequest, join, record, request as fcgiRequest, STDOUT, stdout } from '../helpers/fastcgi-records';
import { buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from '../helpers/packet-builder';
import { Capture, get, ok } from './reuse-kit';

const TOLERANCE = { fraction: 0.02, absolute: 0.02 };

describe('worker-limits: ages a ticked time limit leaves', () => {
  test('cuts at least 1 s old and within one tick of each other fit; younger or wider ones do not', () => {
    expect(agesFitTickedLimit([2.158, 2.583, 2.423, 2.924])).toBe(true);
    // A graceful reload's old processes cut requests 0.03-0.45 s old (reload-apache-graceful).
    expect(agesFitTickedLimit([0.026, 0.445])).toBe(false);
    expect(agesFitTickedLimit([2.1, 3.3])).toBe(false);
  });

  test('the whole-second limit: after it, within one tick; none when none or several fit', () => {
    expect(wholeSecondLimit([2.158, 2.583, 2.423, 2.924])).toBe(2);
    expect(wholeSecondLimit([2.167, 2.665, 2.178])).toBe(2);
    expect(wholeSecondLimit([5.02, 5.9])).toBe(5);
    // uWSGI's harakiri 2 cut at 2.83-3.497 s: no single second fits one tick.
    expect(wholeSecondLimit([2.83, 3.494, 3.497])).toBeNull();
    expect(wholeSecondLimit([3.2])).toBe(3);
    // Counted from the accept, a little before the request's last byte came (behind nginx).
    expect(wholeSecondLimit([1.9996, 2.4])).toBe(2);
    expect(wholeSecondLimit([2.9, 3.9])).toBeNull();
  });
});

describe('worker-limits: requests queued behind a long one (queuesOf)', () => {
  /** Requests sent at `sent`, answered (late) at `answered`. */
  const reqs = (sent: readonly number[], answered: readonly number[]): StalledRequest[] =>
    sent.map((t, i) => ({ flowId: i + 1, requestEnd: t, closeTs: t + 4, lateTs: answered[i], firstOnConnection: true }));

  test('a long request, three sent while it ran answered one after another right after it: one queue', () => {
    const q = queuesOf(reqs([0, 0.5, 1.0, 1.5], [5.0, 5.3, 5.6, 5.9]), TOLERANCE);
    expect(q).toHaveLength(1);
    expect(q[0].head.flowId).toBe(1);
    expect(q[0].heads).toHaveLength(1);
    expect(q[0].queued.map((r) => r.flowId)).toEqual([2, 3, 4]);
  });

  test('two long requests on two workers, three queued behind them: the long ones are both heads', () => {
    const q = queuesOf(reqs([0, 0.2, 0.5, 1.0, 1.5], [5.0, 5.2, 5.3, 5.5, 5.6]), TOLERANCE);
    expect(q).toHaveLength(1);
    expect(q[0].heads.map((r) => r.flowId)).toEqual([1, 2]);
    expect(q[0].queued.map((r) => r.flowId)).toEqual([3, 4, 5]);
  });

  test('silent on a server slow per request: each answered about the same delay after it was sent', () => {
    expect(queuesOf(reqs([0, 0.5, 1.0, 1.5], [4.5, 5.0, 5.5, 6.0]), TOLERANCE)).toEqual([]);
    expect(queuesOf(reqs([0, 0.5, 1.0, 1.5], [5.0, 5.0 + 0.5 * 0.99, 6.0, 6.5]), TOLERANCE)).toEqual([]);
  });

  test('silent on answers out of the order sent, or far apart next to the waits', () => {
    expect(queuesOf(reqs([0, 0.5, 1.0, 1.5], [5.0, 5.6, 5.3, 5.9]), TOLERANCE)).toEqual([]);
    expect(queuesOf(reqs([0, 0.5, 1.0, 1.5], [5.0, 7.0, 8.5, 9.9]), TOLERANCE)).toEqual([]);
    // A request sent after the long one was answered is not queued behind it.
    expect(queuesOf(reqs([0, 0.5, 5.1, 5.2], [5.0, 5.3, 5.6, 5.9]), TOLERANCE)).toEqual([]);
  });
});

const KIND = 'unanswered-request';

/** A request sent at `at`, the server's close (FIN, or RST+ACK as over an unread body) at `closeAt`. */
function cut(cap: Capture, at: number, closeAt: number, how: 'fin' | 'rst', uri: string): void {
  const conn = cap.connection();
  conn.handshake(at - 0.001).request(at, get(uri));
  if (how === 'rst') conn.rstAck(closeAt, 's');
  else conn.close(closeAt, 's');
}

/** A refused connection attempt to 10.0.0.2:80 at `at`. */
function refuse(cap: Capture, at: number): void {
  cap.add(at, buildTcpPacket({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40999, dport: 80, seq: 500, flags: TCP_SYN }));
  cap.add(at + 0.0001, buildTcpPacket({ src: '10.0.0.2', dst: '10.0.0.1', sport: 80, dport: 40999, seq: 0, ack: 501, flags: TCP_RST | TCP_ACK }));
}

/**
 * Two workers busy with requests sent 0.4 s apart (at 10 and 10.4 s), both cut at one check
 * (12.9 s: 2.9 and 2.5 s old), then `after`: a new connection served 1.1 s later, a refusal, or
 * nothing.
 */
function killedTogether(how: 'fin' | 'rst', after: 'served' | 'refused' | 'nothing', ages: readonly [number, number] = [2.9, 2.5]): Capture {
  const cap = new Capture();
  cap.connection().handshake(9).exchange(9.001, get('/fast/before'), ok());
  const at = 12.9;
  cut(cap, at - ages[0], at, how, '/slow/a');
  cut(cap, at - ages[1], at + 0.0005, how, '/slow/b');
  if (after === 'served') cap.connection().handshake(13.999).exchange(14, get('/fast/after'), ok());
  if (after === 'refused') refuse(cap, 13.2);
  return cap;
}

describe('unanswered-request: workers killed together at a time limit, not a restart', () => {
  const diagnoses = (cap: Capture) => cap.analyze([unansweredRequest]).diagnoses.filter((d) => d.kind === KIND);

  test('two requests of different ages closed at one moment, the listener serving a new connection right after: a time limit of 2 s', () => {
    const [d, ...rest] = diagnoses(killedTogether('fin', 'served'));
    expect(rest).toEqual([]);
    expect(d.count).toBe(2);
    expect(d.explanation).toContain('That is no restart');
    expect(d.explanation).toContain('it answered 1 new connection within 5 s after, and refused none');
    expect(d.explanation).toContain('--timeout');
    expect(d.explanation).toContain('request_terminate_timeout');
    expect(d.explanation).not.toMatch(/restart, reload or crash/);
    expect(d.inferred.workerTimeLimit.value).toBe(2);
    expect(d.explanation).toContain('gunicorn `--timeout 2`');
  });

  test('the server\'s other cuts one at a time within the same tick join the diagnosis', () => {
    const cap = killedTogether('fin', 'served');
    cut(cap, 20, 22.3, 'fin', '/slow/c');
    const [d, ...rest] = diagnoses(cap);
    expect(rest).toEqual([]);
    expect(d.count).toBe(3);
    expect(d.inferred.workerTimeLimit.value).toBe(2);
  });

  test('requests sent at once, killed at one check (ages alike), and a lone kill later: one time limit of 3 s, not a 3.55 s timeout and a lone wait', () => {
    // Blind round 11 (gunicorn --timeout 3): three GET /slow/10 sent within 73 ms cut together at
    // 3.505-3.572 s, one sent alone cut at 3.408 s; reported as serverTimeout 3.552 s plus a
    // separate "one wait infers no timeout".
    const cap = new Capture();
    cap.connection().handshake(9).exchange(9.001, get('/fast/before'), ok());
    cut(cap, 10.0, 13.572, 'fin', '/slow/a');
    cut(cap, 10.073, 13.578, 'fin', '/slow/b');
    cut(cap, 10.026, 13.578, 'fin', '/slow/c');
    cap.connection().handshake(14.999).exchange(15, get('/fast/after'), ok());
    cut(cap, 16.0, 19.408, 'fin', '/slow/d');
    const [d, ...rest] = diagnoses(cap);
    expect(rest).toEqual([]);
    expect(d.count).toBe(4);
    expect(d.inferred.workerTimeLimit.value).toBe(3);
    expect(d.inferred.serverTimeout).toBeUndefined();
    expect(d.explanation).toContain('gunicorn `--timeout 3`');
  });

  test('the same without a new connection answered after the kills: the lone one taken and cut in turn shows the listener kept accepting', () => {
    // The blind capture's next answered connection came 7.4 s after the kills.
    const cap = new Capture();
    cap.connection().handshake(9).exchange(9.001, get('/fast/before'), ok());
    cut(cap, 10.0, 13.572, 'fin', '/slow/a');
    cut(cap, 10.073, 13.578, 'fin', '/slow/b');
    cut(cap, 10.026, 13.578, 'fin', '/slow/c');
    cut(cap, 15.6, 19.008, 'fin', '/slow/d');
    const [d, ...rest] = diagnoses(cap);
    expect(rest).toEqual([]);
    expect(d.count).toBe(4);
    expect(d.inferred.workerTimeLimit.value).toBe(3);
    expect(d.explanation).toContain('it took 1 new connection within 5 s after, whose request was cut at the same limit in turn');
  });

  test('a precise server timeout (closes spaced as the requests were) with one earlier cut stays a timeout', () => {
    const cap = new Capture();
    cap.connection().handshake(9).exchange(9.001, get('/fast/before'), ok());
    for (const [i, at] of [10, 10.3, 10.6].entries()) cut(cap, at, at + 3.55, 'fin', `/slow/${i}`);
    cap.connection().handshake(14.999).exchange(15, get('/fast/after'), ok());
    cut(cap, 16.0, 19.408, 'fin', '/slow/d');
    const ds = diagnoses(cap);
    expect(ds.some((d) => d.inferred.serverTimeout !== undefined)).toBe(true);
    expect(ds.every((d) => d.inferred.workerTimeLimit === undefined)).toBe(true);
  });

  test('near misses stay a restart: a refusal right after; no new connection served; requests younger than any time limit', () => {
    for (const cap of [killedTogether('fin', 'refused'), killedTogether('fin', 'nothing'), killedTogether('fin', 'served', [0.45, 0.05])]) {
      const [d] = diagnoses(cap);
      expect(d.explanation).toMatch(/restart, reload or crash/);
      expect(d.inferred).toEqual({});
    }
  });
});

describe('reset-before-response: workers killed together at a time limit (their bodies unread), not a restart', () => {
  const diagnoses = (cap: Capture) => cap.analyze([resetBeforeResponse]).diagnoses.filter((d) => d.kind === 'reset-before-response');

  test('two resets at one moment, ages 2.9 and 2.5 s, a new connection served right after: a time limit of 2 s', () => {
    const [d, ...rest] = diagnoses(killedTogether('rst', 'served'));
    expect(rest).toEqual([]);
    expect(d.count).toBe(2);
    expect(d.explanation).toContain('That is no restart');
    expect(d.explanation).toContain('the server reset each connection');
    expect(d.inferred.workerTimeLimit.value).toBe(2);
    expect(d.explanation).not.toContain('another process held the port');
  });

  test('near misses stay a dying process: a refusal right after; no new connection served; another port of the host reset with them', () => {
    const twoPorts = killedTogether('rst', 'served');
    const other = twoPorts.connection({ sport: 443 });
    other.handshake(10.5).request(10.6, get('/other-port'));
    other.rstAck(12.9003, 's');
    for (const cap of [killedTogether('rst', 'refused'), killedTogether('rst', 'nothing'), twoPorts]) {
      const [d] = diagnoses(cap).filter((x) => x.server === '10.0.0.2:80');
      expect(d.explanation).toContain('what a kernel does when the process that owns them dies');
      expect(d.inferred).toEqual({});
    }
  });
});

describe('unanswered-request: requests queued behind a long one, not a slow server', () => {
  /**
   * A client with a 4 s timeout; requests at `sent`, each answered (after the client gave up) at
   * `answered`, then reset by the client.
   */
  function lateAnswers(sent: readonly number[], answered: readonly number[]): Capture {
    const cap = new Capture();
    sent.forEach((at, i) => {
      const conn = cap.connection();
      conn.handshake(at - 0.001).request(at, get(i === 0 ? '/slow' : `/fast/${i}`));
      conn.fin(at + 4, 'c').ack(at + 4.0001, 's');
      conn.send(answered[i], 's', ok('late')).rst(answered[i] + 0.0001, 'c');
    });
    return cap;
  }
  const diagnosis = (cap: Capture) => cap.analyze([unansweredRequest]).diagnoses.filter((d) => d.kind === KIND);

  test('answers one after another right after the long one, waits shrinking in order: queued at a concurrency limit of 1', () => {
    const [d, ...rest] = diagnosis(lateAnswers([1, 1.5, 2, 2.5], [6, 6.3, 6.6, 6.9]));
    expect(rest).toEqual([]);
    expect(d.inferred.clientTimeout.value).toBeCloseTo(4, 3);
    expect(d.explanation).toContain('GET /slow, sent first, held the server for 5 s');
    expect(d.explanation).toContain('so their waits shrank in that order (4.8, 4.6, 4.4 s)');
    expect(d.explanation).toContain('`pm.max_children = 1`');
    expect(d.explanation).not.toContain('the server was slower than the timeout');
    expect(d.remedy).toContain('more concurrency');
  });

  test('silent on a server slow per request (each answered 4.5 s after it was sent)', () => {
    const [d] = diagnosis(lateAnswers([1, 1.5, 2, 2.5], [5.5, 6, 6.5, 7]));
    expect(d.explanation).toContain('the server was slower than the timeout, not hung');
    expect(d.explanation).not.toContain('queued');
  });

  test('the long request answered in time on another connection (its client waited): named as the one that held the worker, not the first queued', () => {
    // Blind round 11: gunicorn --workers 1, GET /slow/5 from a patient client, then three curl -m 2
    // requests: the first of those was named as the long request to make faster.
    const cap = lateAnswers([1.2, 1.5, 1.8], [6.0003, 6.0006, 6.0009]);
    cap.connection().handshake(0.999).request(1, get('/long')).response(5.998, ok());
    const [d] = diagnosis(cap);
    expect(d.explanation).toMatch(/a request on another connection, answered at \S+ 0.002 s before them, held the server: its client waited for it, and GET \/slow, sent first of these, queued behind it too/);
    expect(d.remedy).toMatch(/^Find the long request answered at \S+ on another connection/);
    expect(d.remedy).not.toContain('(GET /slow)');
  });

  test('silent when the server answered another connection while they waited (a worker was free)', () => {
    const cap = lateAnswers([1, 1.5, 2, 2.5], [6, 6.3, 6.6, 6.9]);
    cap.connection().handshake(3.999).exchange(4, get('/other'), ok());
    const [d] = diagnosis(cap);
    expect(d.explanation).not.toContain('queued');
  });
});

describe('unanswered-request: a php-fpm queue seen on the FastCGI leg alone (the php-fpm host\'s view)', () => {
  /** nginx (10.0.0.2) sends `uri` to php-fpm (10.0.0.3:9000) at `at` on a connection of its own. */
  function fastcgiCall(cap: Capture, at: number, uri: string) {
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    c.handshake(at - 0.001).send(at, 'c', fcgiRequest({ REQUEST_METHOD: 'GET', REQUEST_URI: uri, HTTP_HOST: 'shop.example', CONTENT_LENGTH: '' })).ack(at + 0.0001, 's');
    return c;
  }
  const answer = (text: string): Uint8Array => join(stdout(`Content-type: text/html\r\n\r\n${text}`), record(STDOUT, 1), endRequest());

  test('a long request answered in time, three sent while it ran given up by nginx at 2 s and answered back to back at its end: a queue at pm.max_children 1', () => {
    // Blind round 11, q2_leg9000: pm.max_children = 1; GET /?s=5 held the only child 5 s; /?q=1-3 (0.3 s apart)
    // were ACKed by the kernel, nginx closed them with its curl clients at 2 s, and the child answered each in no
    // time right after the long one: read as "the server was slower than the timeout, not hung".
    const cap = new Capture();
    const long = fastcgiCall(cap, 1, '/?s=5');
    long.send(6.0, 's', answer('slow')).ack(6.0001, 'c');
    long.close(6.001, 's');
    [1.3, 1.6, 1.9].forEach((at, k) => {
      const c = fastcgiCall(cap, at, `/?q=${k + 1}`);
      c.fin(at + 2, 'c').ack(at + 2.0001, 's');
      const late = 6.002 + k * 0.0003;
      c.send(late, 's', answer('fast')).rst(late + 0.0001, 'c');
    });
    const [d, ...rest] = cap.analyze([unansweredRequest]).diagnoses.filter((x) => x.kind === KIND);
    expect(rest).toEqual([]);
    expect(d.explanation).toContain('They queued: the server ran one request at a time');
    expect(d.explanation).toContain('`pm.max_children = 1`');
    expect(d.explanation).not.toContain('slower than the timeout');
    // Its client is the web server in front, not an end client's library.
    expect(d.explanation).toContain('their FastCGI client (10.0.0.2: the web server in front');
    expect(d.remedy).toContain('fastcgi_read_timeout');
    expect(d.remedy).not.toContain('AbortSignal');
  });
});

