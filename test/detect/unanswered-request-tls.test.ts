import type { AnalysisResult } from '../../src/analyze';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { records } from '../helpers/tls-hello-builder';
import { Https, HttpsOptions, REQUEST } from './https-kit';
import { Capture, get, ofKind } from './reuse-kit';
import { analyzeSample, listSamples } from '../samples';

const KIND = 'unanswered-request';
const only = [unansweredRequest];

/** `n` connections whose request waits `wait` s and is given up by the client. */
function givenUp(cap: Capture, n: number, wait: number, options: HttpsOptions = {}, from = 0): void {
  for (let k = 0; k < n; k++) {
    const at = from + k * 10;
    new Https(cap, at, options).request(at + 0.01).clientCloses(at + 0.01 + wait + k * 0.001);
  }
}

function diagnosis(result: AnalysisResult) {
  return result.diagnoses.filter((d) => d.kind === KIND);
}

describe('unanswered-request on HTTPS: a turn of application data the server never answered', () => {
  test.each([
    ['TLS 1.2, http/1.1 offered', { version: '1.2', offer: ['http/1.1'] }],
    ['TLS 1.2, no ALPN (Node https)', { version: '1.2' }],
    ['TLS 1.2, h2 offered, http/1.1 chosen in clear', { version: '1.2', offer: ['h2', 'http/1.1'], choose: 'http/1.1' }],
    ['TLS 1.3, http/1.1 offered: the two session tickets after the request are no answer', { version: '1.3', offer: ['http/1.1'] }],
    ['TLS 1.3, no ALPN', { version: '1.3' }],
    // The choice is encrypted, but a first turn was owed an answer either way (an HTTP/2 server sends SETTINGS at once).
    ['TLS 1.3, h2 offered: a first request the server answered with nothing but its tickets', { version: '1.3', offer: ['h2', 'http/1.1'] }],
  ] as Array<[string, HttpsOptions]>)('%s: each request found, the client\'s timeout inferred', (_name, options) => {
    const cap = new Capture();
    givenUp(cap, 4, 2, options);
    const result = cap.analyze(only);
    const found = ofKind(result, KIND);
    expect(found).toHaveLength(4);
    const [f] = found;
    expect(f.evidence).toMatchObject({
      encrypted: true,
      requestBytes: REQUEST + 5,
      closedBy: 'client',
      closedWith: 'FIN',
      serverAcked: true,
      method: null,
      exchangeIndex: 1,
      tlsVersion: options.version,
      alpnOffered: options.offer === undefined ? [] : [...options.offer],
      sessionTicketsIgnored: options.version === '1.3' ? 2 : 0,
    });
    expect(f.evidence.waitSeconds).toBeCloseTo(2, 2);
    expect(f.summary).toContain(`an encrypted request (${REQUEST + 5} bytes of TLS application data) got no response`);
    // The request record, the client's close_notify, its FIN, the server's FIN.
    expect(f.frames).toHaveLength(4);
    expect(f.frames).toContain(f.evidence.closeNotifyFrame);
    const [d, ...more] = diagnosis(result);
    expect(more).toEqual([]);
    expect(d.inferred.clientTimeout.value).toBeCloseTo(2.0015, 2);
    expect(d.inferred.clientTimeout.samples).toBe(4);
    expect(d.explanation).toContain('(encrypted: TLS application data)');
  });

  test('a request on a reused connection: its index and the idle time before it', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01).answer(at + 0.02).request(at + 1.02).clientCloses(at + 2.52);
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ exchangeIndex: 2 });
    expect(found[0].evidence.idleBefore).toBeCloseTo(1, 2);
    expect(found[0].evidence.waitSeconds).toBeCloseTo(1.5, 2);
  });

  test('the server ACKed the request though it answered the client\'s close_notify and FIN with a RST (nginx does, to curl)', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.3', offer: ['http/1.1'] }).request(at + 0.01);
      h.conn.send(at + 2.01 + k * 0.001, 'c', records(23, 19)).fin(at + 2.01001 + k * 0.001, 'c').rst(at + 2.0102 + k * 0.001, 's');
    }
    const result = cap.analyze(only);
    const found = ofKind(result, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ serverAcked: true, closedWith: 'FIN' });
    expect(diagnosis(result)[0].explanation).toContain('The server ACKed every one of them');
  });

  describe('an answer that began only after the client had given up (a server slower than the timeout)', () => {
    /** The client gives up 2 s after its request (close_notify, FIN); the server answers 3 s after it; `reset`: the client's kernel resets it. */
    function lateAnswers(version: '1.2' | '1.3', reset: boolean) {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) {
        const at = k * 10;
        const h = new Https(cap, at, { version, offer: ['http/1.1'] }).request(at + 0.01);
        h.conn.send(at + 2.01 + k * 0.001, 'c', version === '1.3' ? records(23, 19) : records(21, 26)).fin(at + 2.01001 + k * 0.001, 'c').ack(at + 2.0101 + k * 0.001, 's');
        h.conn.send(at + 3.01, 's', records(23, 420));
        if (reset) h.conn.rst(at + 3.0101, 'c');
        else h.conn.ack(at + 3.0101, 'c');
      }
      return cap.analyze(only);
    }

    test.each(['1.2', '1.3'] as const)('TLS %s: found, the late answer and the client\'s reset named, the timeout inferred', (version) => {
      const result = lateAnswers(version, true);
      const found = ofKind(result, KIND);
      expect(found).toHaveLength(3);
      expect(found[0].summary).toContain('the server answered with encrypted data only 3 s after the request, and the client, which had closed its socket, reset it');
      expect(found[0].evidence).toMatchObject({ encrypted: true, lateResponseStatus: null, lateResponseAfter: 3, idleBefore: null });
      const [d] = diagnosis(result);
      expect(d.inferred.clientTimeout.value).toBeCloseTo(2.001, 2);
      expect(d.explanation).toContain('got its response later');
    });

    test('a client that goes on reading the late answer (no reset) did not give up on it: silent', () => {
      expect(ofKind(lateAnswers('1.2', false), KIND)).toEqual([]);
    });
  });

  describe('stays silent', () => {
    test('answered requests, then connections the client closes idle at one fixed time (a pool\'s idle timeout)', () => {
      for (const version of ['1.2', '1.3'] as const) {
        const cap = new Capture();
        for (let k = 0; k < 4; k++) {
          const at = k * 10;
          new Https(cap, at, { version, offer: ['http/1.1'] }).request(at + 0.01).answer(at + 0.0105).clientCloses(at + 2.0105);
        }
        expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      }
    });

    test('a turn still unanswered when the capture ended (a stream or a WebSocket looks the same): no open request', () => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) new Https(cap, k * 0.1, { version: '1.2', offer: ['http/1.1'] }).request(k * 0.1 + 0.01);
      // The capture goes on long after them (another connection), past the open-request age.
      new Https(cap, 900, { version: '1.2', offer: ['http/1.1'] }).request(900.01).answer(900.02).clientCloses(900.5);
      expect(ofKind(cap.analyze(only, { detect: { openRequestAge: 30 } }), KIND)).toEqual([]);
    });

    test('TLS 1.3 with h2 offered: the server\'s choice is encrypted, a later turn may be HTTP/2 frames nobody answers', () => {
      const cap = new Capture();
      for (let k = 0; k < 4; k++) {
        const at = k * 10;
        new Https(cap, at, { version: '1.3', offer: ['h2', 'http/1.1'] }).request(at + 0.01).answer(at + 0.02).request(at + 1.02, 30).clientCloses(at + 3.02 + k * 0.001);
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      // The same turns where the client offered only http/1.1 are requests.
      const h1 = new Capture();
      for (let k = 0; k < 4; k++) {
        const at = k * 10;
        new Https(h1, at, { version: '1.3', offer: ['http/1.1'] }).request(at + 0.01).answer(at + 0.02).request(at + 1.02, 30).clientCloses(at + 3.02 + k * 0.001);
      }
      expect(ofKind(h1.analyze(only), KIND)).toHaveLength(4);
    });

    test('TLS 1.3 with h2 offered: a first turn the server answered (an HTTP/2 server\'s SETTINGS) before the client gave up', () => {
      const cap = new Capture();
      for (let k = 0; k < 4; k++) {
        const at = k * 10;
        new Https(cap, at, { version: '1.3', offer: ['h2', 'http/1.1'] }).request(at + 0.01).answer(at + 0.02, 40).clientCloses(at + 2.01 + k * 0.001);
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      // Data only after the client's close_notify and FIN, which it resets: on HTTP/1.1 a late answer
      // (found, above); on HTTP/2 the server would have sent its SETTINGS at once, so it answered
      // neither in time: found too (curl -m over TLS 1.3, blind round 13b; had been silent).
      const late = new Capture();
      for (let k = 0; k < 3; k++) {
        const at = k * 10;
        const h = new Https(late, at, { version: '1.3', offer: ['h2', 'http/1.1'] }).request(at + 0.01);
        h.conn.send(at + 2.01 + k * 0.001, 'c', records(23, 19)).fin(at + 2.01001 + k * 0.001, 'c').ack(at + 2.0101 + k * 0.001, 's');
        h.conn.send(at + 3.01, 's', records(23, 40));
        h.conn.rst(at + 3.0101, 'c');
      }
      expect(ofKind(late.analyze(only), KIND)).toHaveLength(3);
    });

    test('no ALPN to a port of a TLS service that is not HTTP (MQTTS, syslog over TLS): its messages need no answer', () => {
      for (const sport of [8883, 6514]) {
        const cap = new Capture();
        givenUp(cap, 4, 2, { version: '1.2', sport });
        expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
      }
      // The same on another port is judged (Node's https offers no ALPN).
      const cap = new Capture();
      givenUp(cap, 4, 2, { version: '1.2', sport: 9443 });
      expect(ofKind(cap.analyze(only), KIND)).toHaveLength(4);
    });

    test('TLS 1.2 where the server chose h2', () => {
      const cap = new Capture();
      givenUp(cap, 4, 2, { version: '1.2', offer: ['h2', 'http/1.1'], choose: 'h2' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a hello that cannot be read (a record of filler): not judged', () => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) {
        const c = cap.connection({ sport: 443 });
        const at = k * 10;
        c.handshake(at).send(at + 0.001, 'c', records(22, 300)).ack(at + 0.0011, 's');
        c.send(at + 0.002, 's', records(22, 80, 600, 100, 4)).ack(at + 0.0021, 'c');
        c.send(at + 0.01, 'c', records(23, REQUEST)).ack(at + 0.0101, 's');
        c.send(at + 2.01, 'c', records(21, 26)).fin(at + 2.01001, 'c').ack(at + 2.0102, 's').fin(at + 2.0103, 's').ack(at + 2.0104, 'c');
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a server that had begun to send its answer (half a record) when the client closed', () => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) {
        const at = k * 10;
        const h = new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01);
        // The header of a 400-byte record and 100 bytes of it.
        h.conn.send(at + 1, 's', records(23, 400).subarray(0, 105)).ack(at + 1.0001, 'c');
        h.clientCloses(at + 2.01);
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a later turn the server closed on after a silence: it may be a WebSocket message, which nobody answers', () => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) {
        const at = k * 100;
        new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01).answer(at + 0.02).request(at + 1).serverCloses(at + 61);
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });

  test('the server closing on a first request it never answered is reported, as a server-side timeout', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01).serverCloses(at + 3.01 + k * 0.001);
    }
    const result = cap.analyze(only);
    expect(ofKind(result, KIND)).toHaveLength(3);
    expect(ofKind(result, KIND)[0].evidence).toMatchObject({ closedBy: 'server', encrypted: true });
    expect(diagnosis(result)[0].inferred.serverTimeout.value).toBeCloseTo(3.001, 2);
  });

  describe('TLS 1.3 with a single session ticket (Go sends one)', () => {
    test('unconfirmed, one record after the request may be a one-record answer: not judged', () => {
      const cap = new Capture();
      givenUp(cap, 3, 2, { version: '1.3', offer: ['http/1.1'], tickets: [150] });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('confirmed by an earlier connection where the same length came before an answer: judged', () => {
      const cap = new Capture();
      new Https(cap, 0, { version: '1.3', offer: ['http/1.1'], tickets: [150] }).request(0.01).answer(0.012).clientCloses(0.5);
      givenUp(cap, 3, 2, { version: '1.3', offer: ['http/1.1'], tickets: [150] }, 10);
      const found = ofKind(cap.analyze(only), KIND);
      expect(found).toHaveLength(3);
      expect(found[0].evidence).toMatchObject({ sessionTicketsIgnored: 1 });
    });

    test('a length confirmed on another server confirms nothing here', () => {
      const cap = new Capture();
      new Https(cap, 0, { version: '1.3', offer: ['http/1.1'], tickets: [150], sport: 8443 }).request(0.01).answer(0.012).clientCloses(0.5);
      givenUp(cap, 3, 2, { version: '1.3', offer: ['http/1.1'], tickets: [150] }, 10);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });

  test('a request that met the server\'s idle close (its close_notify came first) is keepalive-race\'s, not unanswered', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01).answer(at + 0.02);
      h.conn.send(at + 2.02, 's', records(21, 26)).ack(at + 2.0201, 'c');
      h.request(at + 2.021).clientCloses(at + 4.03);
    }
    expect(ofKind(cap.analyze([unansweredRequest, keepaliveRace]), KIND)).toEqual([]);
  });
});

describe('a proxy that terminates TLS and follows its client\'s close upstream', () => {
  /** Clients give up on HTTPS requests to the proxy (10.0.0.2:443) after 2 s; the proxy closes its plaintext upstream leg `follow` s later (null: at 3 s, by itself). */
  function scene(follow: number | null) {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const at = k * 10;
      const h = new Https(cap, at, { version: '1.2', offer: ['http/1.1'] }).request(at + 0.01);
      const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
      up.handshake(at + 0.011).request(at + 0.012, get(`/slow/${k}`));
      h.clientCloses(at + 2.01);
      up.close(follow === null ? at + 3.012 : at + 2.01 + follow, 'c');
    }
    return cap.analyze(only).diagnoses.filter((d) => d.kind === KIND);
  }

  test('the upstream leg closed 1 ms after the client\'s: the client\'s timeout, no proxy timer', () => {
    const ds = scene(0.001);
    // One failure each, told on the client leg's diagnosis, which lists the cancellations upstream.
    expect(ds.filter((d) => d.server === '10.0.0.3:8080')).toEqual([]);
    const [clientLeg, ...others] = ds.filter((d) => d.server === '10.0.0.2:443');
    expect(others).toEqual([]);
    expect(clientLeg.count).toBe(3);
    expect(clientLeg.anomalyIds).toHaveLength(6);
    expect(clientLeg.explanation).toContain('the same failure seen on the upstream leg');
    expect(ds.flatMap((d) => Object.keys(d.inferred))).not.toContain('proxyReadTimeout');
  });

  test('closed by the proxy itself a second later: its read timeout', () => {
    const upstream = scene(null).filter((d) => d.server === '10.0.0.3:8080');
    expect(upstream[0].inferred.proxyReadTimeout.value).toBeCloseTo(3, 2);
  });
});

describe('recorded: curl, requests and Node giving up on HTTPS requests nginx never answered', () => {
  const NAME = 'unanswered-request-tls-client-timeouts';
  const meta = listSamples().find((s) => s.name === NAME)?.meta;
  const expected = (meta?.expect ?? []).filter((e) => e.kind === KIND);
  /** Each server's client timers, as the recording set them (the meta's evidence, from the programs' logs). */
  const timersByServer = new Map<string, Set<number>>();
  for (const e of expected) {
    const timer = (e.evidence as { clientTimer?: number } | undefined)?.clientTimer;
    if (e.server === undefined || timer === undefined) continue;
    const timers = timersByServer.get(e.server) ?? new Set<number>();
    timers.add(timer);
    timersByServer.set(e.server, timers);
  }

  test('the sample holds what this test reads', () => {
    expect(expected.length).toBeGreaterThanOrEqual(12);
    expect(timersByServer.size).toBe(2);
  });

  test('every client timer is inferred on its server, and no other (2 % or 20 ms)', async () => {
    const result = await analyzeSample(NAME);
    const near = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(0.02 * b, 0.02);
    for (const [server, timers] of timersByServer) {
      const diagnoses = diagnosis(result).filter((d) => d.server === server);
      // A timeout that covers the connect is the timer where it was inferred from the SYN.
      const inferred = diagnoses.map((d) => (d.inferred.clientTimeoutFromConnect ?? d.inferred.clientTimeout).value);
      for (const timer of timers) expect(inferred.some((v) => near(v, timer))).toBe(true);
      for (const v of inferred) expect([...timers].some((timer) => near(v, timer))).toBe(true);
    }
  });
});
