import type { HttpExchange } from '../../src/http/exchange';
import { HttpCounters } from '../../src/http/http-counters';
import { HttpSession, HttpSessionOptions, PendingBudget } from '../../src/http/session';
import { bytes, req, res } from './http-test-kit';

/**
 * An analysis reuses the HTTP session (and its two parsers) of a released connection for a new
 * one. A reset session must be indistinguishable from a new one: every field of the session and
 * of its parsers given back, nothing of the previous connection's traffic left behind.
 */

type Step = ['c' | 's', string] | ['gap-c' | 'gap-s', number] | ['end-c' | 'end-s'];

/** Traffic that leaves marks everywhere: pipelining, chunked body with trailer, interim response, a bad start line, a split line, a gap, a request left pending. */
const BUSY: Step[] = [
  ['c', req('GET', '/one') + req('POST', '/two', ['Content-Length: 3'], 'abc')],
  ['s', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'],
  ['s', res(201, 'ok', ['Keep-Alive: timeout=5'])],
  ['c', '\x01\x02 not a request line\r\n'],
  ['c', 'GET /three HTTP/1.1\r\nHo'],
  ['c', 'st: split.example\r\n\r\n'],
  ['gap-s', 40],
  ['s', 'HTTP/1.1 204 No Content\r\n\r\n'],
  ['c', 'GET /left-pending HTTP/1.1\r\nHost: x\r\n'],
  ['end-s'],
];

function drive(session: HttpSession, steps: Step[], t0: number): void {
  let ts = t0;
  let frame = 1;
  for (const step of steps) {
    ts += 0.01;
    frame++;
    if (step[0] === 'c' || step[0] === 's') {
      const data = bytes(step[1]);
      if (step[0] === 'c') session.clientData(data, 0, data.length, ts, frame);
      else session.serverData(data, 0, data.length, ts, frame);
    } else if (step[0] === 'gap-c') session.clientGap(step[1]);
    else if (step[0] === 'gap-s') session.serverGap(step[1]);
    else if (step[0] === 'end-c') session.clientEnd(ts, frame);
    else session.serverEnd(ts, frame);
  }
  session.finish(ts + 1);
}

describe('HttpSession.reset', () => {
  const deliver = (_ex: HttpExchange): void => undefined;

  test.each([
    ['from the start', false],
    ['mid-stream', true],
  ])('a used session, reset %s, equals a new one', (_name, midstream) => {
    const counters = new HttpCounters();
    const budget = new PendingBudget();
    const options: HttpSessionOptions = { counters, budget, midstream };
    const used = new HttpSession(1, 100, deliver, { counters: new HttpCounters(), budget });
    drive(used, BUSY, 100);
    expect(used.exchangeCount).toBeGreaterThan(2); // it really carried traffic
    const reused = used.reset(9, 200, deliver, options);
    expect(reused).toBe(used);
    expect(reused).toStrictEqual(new HttpSession(9, 200, deliver, options));
  });

  test('an unfinished session gives back what it held of the shared budget', () => {
    const budget = new PendingBudget();
    const session = new HttpSession(1, 100, deliver, { budget });
    const data = bytes(req('GET', '/a') + req('GET', '/b'));
    session.clientData(data, 0, data.length, 100.1, 2);
    expect(budget.held).toBeGreaterThan(0);
    session.reset(2, 200, deliver, { budget });
    expect(budget.held).toBe(0);
  });

  test('connections one after another tell the same story on one reused session as on new ones', () => {
    const variants: Step[][] = [
      BUSY,
      [['c', req('GET', '/a')], ['s', res(200, 'hello')], ['c', req('HEAD', '/a')], ['s', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'], ['end-c']],
      [['c', 'SSH-2.0-OpenSSH_9.6\r\n'], ['s', 'SSH-2.0-OpenSSH_9.6\r\n']],
      [['s', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'], ['c', req('GET', '/late')]],
      [['c', req('GET', '/close', ['Connection: close'])], ['s', 'HTTP/1.0 200 OK\r\n\r\nbody until close'], ['end-s']],
    ];
    const run = (reuse: boolean): { exchanges: HttpExchange[]; counters: HttpCounters } => {
      const exchanges: HttpExchange[] = [];
      const counters = new HttpCounters();
      let session: HttpSession | null = null;
      for (let i = 0; i < 3 * variants.length; i++) {
        const options: HttpSessionOptions = { counters, midstream: i % variants.length === 3 };
        const onExchange = (ex: HttpExchange): void => void exchanges.push(ex);
        session = reuse && session !== null ? session.reset(i + 1, 100 * i, onExchange, options) : new HttpSession(i + 1, 100 * i, onExchange, options);
        drive(session, variants[i % variants.length], 100 * i);
      }
      return { exchanges, counters };
    };
    const fresh = run(false);
    const reused = run(true);
    expect(fresh.exchanges.length).toBeGreaterThan(15);
    expect(reused.exchanges).toEqual(fresh.exchanges);
    expect(reused.counters).toEqual(fresh.counters);
  });
});
