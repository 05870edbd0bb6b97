/**
 * Who closed an HTTPS connection first, read from the TLS alerts that open each side's close
 * (blind round 13b), and curl's timeout over TLS 1.3 with h2 offered.
 */
import type { AnalysisResult } from '../../src/analyze';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { records } from '../helpers/tls-hello-builder';
import { Https, HttpsOptions } from './https-kit';
import { Capture, ofKind } from './reuse-kit';

const KIND = 'unanswered-request';
const only = [unansweredRequest];
const H1_13: HttpsOptions = { version: '1.3', offer: ['http/1.1'] };

function diagnosis(result: AnalysisResult) {
  return result.diagnoses.filter((d) => d.kind === KIND);
}

describe('unanswered-request on HTTPS: whose close_notify came first closed first', () => {
  /**
   * Go's WriteTimeout: the server's close_notify 3 s after the request, the client's close_notify
   * and FIN ~95 µs later (its TLS stack reacting), then the server's RST (Go resets what it had not
   * read); the server never sent a FIN.
   */
  function writeTimeouts(options: HttpsOptions): AnalysisResult {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, options).request(at + 0.01);
      const close = at + 3.01 + k * 0.001;
      const alert = options.version === '1.2' ? records(21, 26) : records(23, 19);
      h.conn.send(close, 's', alert).ack(close + 0.00002, 'c');
      h.conn.send(close + 0.000095, 'c', alert).fin(close + 0.0001, 'c');
      h.conn.rst(close + 0.003, 's');
    }
    return cap.analyze(only);
  }

  test.each([['1.3'], ['1.2']] as const)('TLS %s: the server\'s alert first, the client\'s FIN 95 µs after it: the server closed, its timer', (version) => {
    const result = writeTimeouts({ version, offer: ['http/1.1'] });
    const found = ofKind(result, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedBy: 'server', encrypted: true, halfClosed: false });
    expect(found[0].evidence.waitSeconds).toBeCloseTo(3, 2);
    expect(found[0].summary).not.toContain('the client closed');
    const [d] = diagnosis(result);
    expect(d.inferred.serverTimeout?.value).toBeCloseTo(3.001, 2);
    expect(d.inferred.clientTimeout).toBeUndefined();
  });

  test('near miss: the client\'s alert first, the server\'s after it: the client gave up, as before', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, H1_13).request(at + 0.01);
      const close = at + 2.01 + k * 0.001;
      h.conn.send(close, 'c', records(23, 19)).ack(close + 0.00002, 's');
      h.conn.send(close + 0.000095, 's', records(23, 19)).fin(close + 0.0001, 's').ack(close + 0.0002, 'c').fin(close + 0.0003, 'c');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedBy: 'client' });
    expect(found[0].evidence.waitSeconds).toBeCloseTo(2, 2);
  });

  test('a client that sends a turn and its close_notify and FIN at once (openssl s_client) waited for nothing: silent', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01, 30);
      h.conn.send(at + 0.010037, 'c', records(21, 26)).fin(at + 0.01004, 'c').ack(at + 0.0101, 's');
      h.conn.fin(at + 0.0102, 's').ack(at + 0.0103, 'c');
    }
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('near miss: the same client closing 2 s after its turn gave up on it: found', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01, 30).clientCloses(at + 2.01 + k * 0.001);
    }
    expect(ofKind(cap.analyze(only), KIND)).toHaveLength(3);
  });
});

describe('unanswered-request on TLS 1.3 with h2 offered (curl): data only after the client gave up', () => {
  /** `tickets`: the server's tickets after the client's Finished (Go sends its one in its own flight: none after). */
  function curlTimeouts(answerBeforeClose: boolean, tickets?: number[]): AnalysisResult {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.3', offer: ['h2', 'http/1.1'], tickets }).request(at + 0.01);
      if (answerBeforeClose) h.answer(at + 1.5);
      h.conn.send(at + 2.01 + k * 0.001, 'c', records(23, 19)).fin(at + 2.01001 + k * 0.001, 'c').ack(at + 2.0101 + k * 0.001, 's');
      if (answerBeforeClose) {
        h.conn.fin(at + 2.0102 + k * 0.001, 's').ack(at + 2.0103 + k * 0.001, 'c');
      } else {
        h.conn.send(at + 5.01, 's', records(23, 128));
        h.conn.rst(at + 5.0101, 'c');
      }
    }
    return cap.analyze(only);
  }

  test('the server sent nothing but its tickets until the client closed (an HTTP/2 server sends SETTINGS at once): a late answer, found', () => {
    const found = ofKind(curlTimeouts(false), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedBy: 'client', encrypted: true, tlsVersion: '1.3', sessionTicketsIgnored: 0 });
    expect(found[0].evidence.waitSeconds).toBeCloseTo(2, 2);
    expect(found[0].summary).toContain('the server answered with encrypted data only 5 s after the request');
  });

  test('near miss: the server had answered before the client closed (with tickets after the Finished or not): silent', () => {
    expect(ofKind(curlTimeouts(true), KIND)).toEqual([]);
    expect(ofKind(curlTimeouts(true, []), KIND)).toEqual([]);
  });

  test('no ticket after the Finished (Go\'s is in its flight): the one record after the client\'s close is a late answer, no ticket', () => {
    const found = ofKind(curlTimeouts(false, []), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedBy: 'client', sessionTicketsIgnored: 0 });
    expect(found[0].summary).toContain('the server answered with encrypted data only 5 s after the request');
  });
});

describe('unanswered-request on HTTPS: a later turn the client closed right behind', () => {
  /** nginx's `return 200` answers the head; the client writes its 11-byte body after it, then closes `closeAfter` s later. */
  function earlyAnswers(closeAfter: number): AnalysisResult {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01, 123).answer(at + 0.010185, 174);
      h.conn.send(at + 0.010238, 'c', records(23, 35)).ack(at + 0.01025, 's');
      h.conn.fin(at + 0.010238 + closeAfter, 'c').ack(at + 0.01025 + closeAfter, 's').fin(at + 0.0103 + closeAfter, 's').ack(at + 0.0104 + closeAfter, 'c');
    }
    return cap.analyze(only);
  }

  test('its FIN 381 µs after it: the client waited for nothing (the rest of an early-answered request): silent', () => {
    expect(ofKind(earlyAnswers(0.000381), KIND)).toEqual([]);
  });

  test('near miss: its FIN 2 s after it: a request given up on, found', () => {
    const found = ofKind(earlyAnswers(2), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ closedBy: 'client', exchangeIndex: 2 });
  });
});
