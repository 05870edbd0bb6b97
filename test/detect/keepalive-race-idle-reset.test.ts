import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import type { AnalysisResult } from '../../src/index';
import { Capture, get, ofKind, ok } from './reuse-kit';

/**
 * A server that aborts idle keep-alive connections (SO_LINGER 0: Go's SetLinger(0), HAProxy
 * `option nolinger`) ends them with a RST and no FIN: the same idle close as a FIN, told by the
 * same 2 s of silence after a complete response (blind round 15, tcpedge s02b vs s02c).
 */
const KIND = 'keepalive-race';
const both = [keepaliveRace, idleTimeoutMismatch];

function inferredOf(r: AnalysisResult): unknown[] {
  return r.diagnoses.map((d) => ({ kind: d.kind, server: d.server, inferred: d.inferred }));
}

describe('keepalive-race: an idle close by RST (no FIN)', () => {
  test('seen at the server: a request arriving after the RST that closed the connection idle is a failed reuse (ECONNRESET)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.rstAck(2.011, 's'); // the idle abort: ACK = all it had received
    c.request(2.05, get('/b'), { noAck: true }); // left the client before the RST reached it
    c.rst(2.0501, 's'); // the socket is gone: a RST without ACK
    const r = cap.analyze([keepaliveRace]);
    const [f] = ofKind(r, KIND);
    expect(f).toBeDefined();
    expect(f.evidence).toMatchObject({ form: 'crossing', closedWith: 'RST', finTs: null, outcome: 'reset', idleGap: 2 });
    expect(f.summary).toContain('ECONNRESET');
    const [d] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(d.inferred.serverIdleTimeout?.value).toBe(2);
    expect(d.explanation).toContain('a RST with no FIN');
    expect(d.explanation).not.toContain('saw EOF');
  });

  test('seen at the client: the request left just before the RST arrived (the RST does not acknowledge it)', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0, 0.02, 0.0001).exchange(0.05, get('/a'), ok());
    c.rstAck(2.0605, 's'); // emitted first: its ACK covers only what came before the request
    c.request(2.06, get('/b'), { noAck: true });
    const [f] = ofKind(cap.analyze([keepaliveRace]), KIND);
    expect(f).toBeDefined();
    expect(f.evidence).toMatchObject({ form: 'crossing', closedWith: 'RST' });
  });

  test('a healthy server closing idle connections by RST, no reuse after: the same idle-timeout inference as with FINs, no race', () => {
    const scene = (byReset: boolean): AnalysisResult => {
      const cap = new Capture();
      for (let k = 0; k < 4; k++) {
        const c = cap.connection();
        const t = k * 5;
        c.handshake(t).exchange(t + 0.01, get('/a'), ok());
        // Reused after 1.9 s idle (answered), then closed by the server after 2 s idle.
        c.exchange(t + 1.911, get('/b'), ok());
        if (byReset) c.rstAck(t + 3.912, 's');
        else c.close(t + 3.912, 's');
      }
      return cap.analyze(both);
    };
    const withFin = scene(false);
    const withRst = scene(true);
    expect(ofKind(withRst, KIND)).toEqual([]);
    expect(inferredOf(withFin).length).toBeGreaterThan(0);
    expect(inferredOf(withRst)).toEqual(inferredOf(withFin));
  });

  test('near miss: a RST right behind a response that announced the close (Connection: close): no idle close, no race', () => {
    const cap = new Capture();
    for (let k = 0; k < 4; k++) {
      const c = cap.connection();
      const t = k * 3;
      c.handshake(t).exchange(t + 0.01, get('/a'), ok('x', ['Connection: close']));
      c.rstAck(t + 2.011, 's');
    }
    const r = cap.analyze(both);
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });

  test('near miss: a RST answering a request the server had received (mid-flight): no keepalive-race', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.request(0.2, get('/b'));
    c.rstAck(0.5, 's');
    expect(ofKind(cap.analyze([keepaliveRace]), KIND)).toEqual([]);
  });

  test('near miss: a RST from a middlebox (another TTL) after 2 s idle, a request crossing it: not the server\'s idle close', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.rstAck(2.011, 's', { ttl: 50 });
    c.request(2.05, get('/b'), { noAck: true });
    const found = ofKind(cap.analyze([keepaliveRace]), KIND);
    expect(found.filter((f) => f.evidence.closedWith === 'RST' && f.evidence.form === 'crossing')).toEqual([]);
  });

  test('near miss: an upload answered early, its body still arriving when the server reset (rst-on-close): no idle close', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.send(0.5, 'c', 'POST /up HTTP/1.1\r\nHost: example\r\nContent-Length: 20000\r\n\r\n');
    c.response(0.501, ok('too big', [], 'HTTP/1.1', '413 Payload Too Large'));
    c.send(0.6, 'c', 'x'.repeat(1000));
    c.rstAck(2.7, 's');
    const r = cap.analyze(both);
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.diagnoses.filter((d) => d.inferred.serverIdleTimeout !== undefined)).toEqual([]);
  });

  test('near miss: a RST moments after the response (an abortive close after use, below minIdleTimeout): no idle close', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).exchange(0.01, get('/a'), ok());
    c.rstAck(0.05, 's');
    c.request(0.0502, get('/b'), { noAck: true });
    expect(ofKind(cap.analyze([keepaliveRace]), KIND)).toEqual([]);
  });
});
