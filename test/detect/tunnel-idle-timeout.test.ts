import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { tunnelIdleTimeout } from '../../src/detect/detectors/tunnel-idle-timeout';
import { DETECTORS } from '../../src/detect/registry';
import { analyzeSample } from '../samples';
import { Capture, Conn, get, ofKind, ok, tlsRecord } from './reuse-kit';

const KIND = 'tunnel-idle-timeout';
const only = [tunnelIdleTimeout];

const upgrade = (uri: string): string =>
  `GET ${uri} HTTP/1.1\r\nHost: example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
const SWITCHING =
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';
/** A small WebSocket frame (unmasked text from the server, masked from the client: the bytes do not matter here). */
const frame = (n: number): string => `\x81${String.fromCharCode(n)}${'m'.repeat(n)}`;
const CLOSE_FRAME = '\x88\x02\x03\xe8';

/** A WebSocket opened at `t`, a message each way, then silent; closed by `closer` after `silence` s (a close frame first when `goodbye`). */
function webSocket(cap: Capture, t: number, silence: number, options: { closer?: 'c' | 's'; goodbye?: boolean; server?: string; client?: string; uri?: string } = {}): Conn {
  const c = cap.connection({ server: options.server, client: options.client });
  c.handshake(t).request(t + 0.01, upgrade(options.uri ?? '/ws')).response(t + 0.011, SWITCHING);
  c.send(t + 0.2, 'c', frame(10)).ack(t + 0.2001, 's');
  c.send(t + 0.3, 's', frame(20)).ack(t + 0.3001, 'c');
  const end = t + 0.3 + silence;
  if (options.goodbye === true) {
    c.send(end - 0.001, options.closer ?? 's', CLOSE_FRAME);
    c.send(end - 0.0005, options.closer === 'c' ? 's' : 'c', CLOSE_FRAME);
  }
  c.close(end, options.closer ?? 's');
  return c;
}

/**
 * A WebSocket through a proxy (10.0.0.2:80, forwarding from 10.0.0.5 to 10.0.0.3:9001), opened at
 * t, the backend's last frame at t + 0.2 passed on to the client; both legs left open.
 */
function proxiedWebSocket(cap: Capture, t: number): { down: Conn; up: Conn } {
  const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2' });
  const up = cap.connection({ client: '10.0.0.5', server: '10.0.0.3', sport: 9001 });
  down.handshake(t).request(t + 0.01, upgrade('/chat'));
  up.handshake(t + 0.011).request(t + 0.012, upgrade('/chat')).response(t + 0.013, SWITCHING);
  down.response(t + 0.014, SWITCHING);
  up.send(t + 0.2, 's', frame(12)).ack(t + 0.2001, 'c');
  down.send(t + 0.2002, 's', frame(12)).ack(t + 0.2003, 'c');
  return { down, up };
}

describe('tunnel-idle-timeout on synthetic connections', () => {
  test('WebSockets closed by the server with a bare FIN after the same silence: its tunnel idle timeout, inferred', () => {
    const cap = new Capture();
    webSocket(cap, 0, 3.0);
    webSocket(cap, 1, 3.004);
    webSocket(cap, 2.5, 3.002);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ tunnel: 'websocket', request: 'GET /ws', closedWith: 'FIN', silence: 3 });
    expect(found[0].summary).toContain('without a close frame');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.tunnelIdleTimeout.value).toBeCloseTo(3.002, 3);
    expect(d.explanation).toContain('1006');
  });

  test('the silence counts from the last byte either way, not from the upgrade: a tunnel busy for a while, then idle, is timed from its last frame', () => {
    const cap = new Capture();
    for (const t of [0, 20, 40]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.01, upgrade('/ws')).response(t + 0.011, SWITCHING);
      // Busy for a varying time (a frame every second), then silent 3 s.
      const busy = t === 0 ? 2 : t === 20 ? 5 : 9;
      for (let k = 1; k <= busy; k++) c.send(t + k, k % 2 === 0 ? 's' : 'c', frame(8)).ack(t + k + 0.0001, k % 2 === 0 ? 'c' : 's');
      c.close(t + busy + 3, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(3);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.inferred.tunnelIdleTimeout.value).toBeCloseTo(3, 3);
  });

  test('silent: tunnels their ends closed with a close frame, whatever their lengths (the goodbye is data right before the FIN)', () => {
    const cap = new Capture();
    webSocket(cap, 0, 3.0, { goodbye: true });
    webSocket(cap, 1, 3.0, { goodbye: true });
    webSocket(cap, 2, 3.0, { goodbye: true, closer: 'c' });
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('one silent close, or silences that do not agree, infer no timer: each is told as a cut the capture holds one leg of', () => {
    const one = new Capture();
    webSocket(one, 0, 3.0);
    const r = one.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.evidence.cut)).toEqual(['one-leg']);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('one cut cannot tell a timer from a process that ended');
    const spread = new Capture();
    webSocket(spread, 0, 2.0);
    webSocket(spread, 1, 4.5);
    webSocket(spread, 2, 9.0);
    const s = spread.analyze(only);
    expect(ofKind(s, KIND)).toHaveLength(3);
    expect(s.diagnoses.filter((x) => x.kind === KIND).map((x) => x.inferred)).toEqual([{}]);
    expect(s.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('silences that do not agree');
  });

  test('silent: one CONNECT tunnel closed after a silence (a target server\'s keep-alive closing the connection inside it ends it that way, normally)', () => {
    const cap = new Capture();
    const c = cap.connection({ sport: 3128 });
    c.handshake(0).request(0.01, 'CONNECT api.example:80 HTTP/1.1\r\nHost: api.example:80\r\n\r\n');
    c.response(0.05, 'HTTP/1.1 200 Connection established\r\n\r\n');
    c.exchange(0.06, get('/a'), ok());
    c.close(5.06, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('idle tunnels their client closed after the same silence are the client\'s timeout (a proxy seen on its upstream leg), not the server\'s', () => {
    const cap = new Capture();
    webSocket(cap, 0, 3.0, { closer: 'c' });
    webSocket(cap, 1, 3.0, { closer: 'c' });
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.evidence.closedBy)).toEqual(['client', 'client']);
    expect(found[0].summary).toContain('closed by its client 10.0.0.1');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.tunnelIdleTimeout.value).toBeCloseTo(3, 2);
    expect(d.explanation).toMatch(/^10\.0\.0\.1 closed 2 WebSockets it had opened to 10\.0\.0\.2:80/);
  });

  test('silent: tunnels their client closed with a close frame, or after silences that do not agree', () => {
    const bye = new Capture();
    webSocket(bye, 0, 3.0, { closer: 'c', goodbye: true });
    webSocket(bye, 1, 3.0, { closer: 'c', goodbye: true });
    expect(ofKind(bye.analyze(only), KIND)).toEqual([]);
    const spread = new Capture();
    webSocket(spread, 0, 1.5, { closer: 'c' });
    webSocket(spread, 1, 3.0, { closer: 'c' });
    webSocket(spread, 2, 7.0, { closer: 'c' });
    expect(ofKind(spread.analyze(only), KIND)).toEqual([]);
  });

  test("a proxy's upstream legs alone (the capture holds no front leg): its tunnel idle timeout, told on the legs it closed, by its address", () => {
    const cap = new Capture();
    for (const t of [0, 1, 2.5]) {
      const { up } = proxiedWebSocket(cap, t);
      up.close(t + 3.2002, 'c');
    }
    // The same proxy, seen on both legs: its front legs tell it, the upstream legs are not told twice.
    const both = new Capture();
    for (const t of [0, 1]) {
      const { down, up } = proxiedWebSocket(both, t);
      up.close(t + 3.2002, 'c');
      down.close(t + 3.2005, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => `${f.client} ${f.server}`)).toEqual(Array(3).fill(null).map((_, i) => `10.0.0.5:${40000 + 2 * i + 1} 10.0.0.3:9001`));
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('10.0.0.5 is most likely a proxy');
    expect(ofKind(both.analyze(only), KIND).map((f) => f.server)).toEqual(['10.0.0.2:80', '10.0.0.2:80']);
  });

  test('a proxy closing both legs: the upstream leg of each tunnel (same request, forwarded while the client waited) is in the finding', () => {
    const cap = new Capture();
    for (const t of [0, 1]) {
      const { down, up } = proxiedWebSocket(cap, t);
      // nginx: the upstream leg first, then the client's, 3 s after the last frame.
      up.close(t + 3.2002, 'c');
      down.close(t + 3.2005, 's');
    }
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.server)).toEqual(['10.0.0.2:80', '10.0.0.2:80']);
    expect(found[0].evidence).toMatchObject({ upstreamServer: '10.0.0.3:9001', upstreamClosedWith: 'FIN' });
    expect(found[0].summary).toMatch(/its upstream leg to 10\.0\.0\.3:9001 was closed 0\.3 ms before \(FIN\)/);
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('closed the upstream leg of each at the same moment');
  });

  test('a backend that closed its tunnels itself, relayed by the proxy: the timeout is the backend\'s, not the proxy\'s', () => {
    const cap = new Capture();
    for (const t of [0, 1]) {
      const { down, up } = proxiedWebSocket(cap, t);
      // The backend's own idle timer (a bare FIN, 5 s), and the proxy passing the close on.
      up.close(t + 5.2, 's');
      down.close(t + 5.2008, 's');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.server)).toEqual(['10.0.0.3:9001', '10.0.0.3:9001']);
    expect(r.diagnoses.filter((x) => x.kind === KIND).map((x) => x.server)).toEqual(['10.0.0.3:9001']);
  });

  test('one WebSocket a proxy closed on both legs at once after a silence (blind round 15, s02/s03): its timer, at most that silence, told from one sample', () => {
    for (const upstreamClose of ['FIN', 'RST'] as const) {
      const cap = new Capture();
      const { down, up } = proxiedWebSocket(cap, 0);
      // nginx: FIN upstream, then to the client; HAProxy: FIN to the client, RST upstream.
      if (upstreamClose === 'FIN') {
        up.close(8.2002, 'c');
        down.close(8.2005, 's');
      } else {
        down.close(8.2002, 's');
        up.rst(8.2005, 'c');
      }
      const r = cap.analyze(only);
      const found = ofKind(r, KIND);
      expect(found.map((f) => `${f.server} ${f.severity} ${f.evidence.cut}`)).toEqual(['10.0.0.2:80 warning proxy-both-legs']);
      expect(found[0].evidence).toMatchObject({ upstreamServer: '10.0.0.3:9001', upstreamClosedWith: upstreamClose, silence: 8 });
      const d = r.diagnoses.find((x) => x.kind === KIND)!;
      expect(d.inferred).toMatchObject({ tunnelIdleTimeoutAtMost: { value: expect.closeTo(8, 3), samples: 1, spread: 0 } });
      expect(d.inferred).not.toHaveProperty('tunnelIdleTimeout');
      expect(d.explanation).toContain("the proxy's own timer cut the tunnel on both legs");
      expect(d.explanation).toContain('One cut is one sample');
      expect(d.explanation).toContain('1006');
    }
  });

  test('one WebSocket whose backend closed first and the proxy relayed (s27, s15x): the backend is told, no timer of the proxy\'s', () => {
    const cap = new Capture();
    const { down, up } = proxiedWebSocket(cap, 0);
    up.close(11.7, 's');
    down.close(11.7002, 's');
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    const front = r.flows.find((x) => x.server === '10.0.0.2:80')!;
    expect(found.map((f) => `${f.server} ${f.evidence.cut} ${f.evidence.relayedByFlowId}`)).toEqual([`10.0.0.3:9001 backend-relayed ${front.id}`]);
    expect(found[0].summary).toContain('the proxy 10.0.0.2:80 passed the close on to its client 10.0.0.1:40000');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred).toEqual({});
    expect(d.explanation).toContain('the backend ended the tunnel, not a timer of the proxy');
  });

  test('one cut of a tunnel that had lived through silences: the timer lies above the longest of them; below it, no idle timer cut it (s21, s15x)', () => {
    // Silent 1 s (and lived on), a frame, then cut 3 s later on both legs: a timer between 1 and 3 s.
    const bounded = new Capture();
    const a = proxiedWebSocket(bounded, 0);
    a.up.send(1.2, 's', frame(8)).ack(1.2001, 'c');
    a.down.send(1.2002, 's', frame(8)).ack(1.2003, 'c');
    a.up.close(4.2, 'c');
    a.down.close(4.2003, 's');
    const d = bounded.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.tunnelIdleTimeoutAtMost.value).toBeCloseTo(3, 3);
    expect(d.inferred.tunnelIdleTimeoutAtLeast.value).toBeCloseTo(1, 2);
    expect(d.explanation).toContain('and above 1 s: the tunnel had already stayed silent 1 s in both directions and lived on');
    // Silent 25 s (pings that far apart) and lived on, then closed by the backend 9.7 s after a frame, relayed by the proxy.
    for (const closer of ['backend', 'proxy'] as const) {
      const cap = new Capture();
      const b = proxiedWebSocket(cap, 0);
      b.up.send(25.2, 's', frame(8)).ack(25.2001, 'c');
      b.down.send(25.2002, 's', frame(8)).ack(25.2003, 'c');
      if (closer === 'backend') {
        b.up.close(34.9, 's');
        b.down.close(34.9002, 's');
      } else {
        b.up.close(34.9, 'c');
        b.down.close(34.9002, 's');
      }
      const r = cap.analyze(only);
      expect(ofKind(r, KIND).map((f) => f.evidence.cut)).toEqual([closer === 'backend' ? 'backend-relayed' : 'proxy-both-legs']);
      const x = r.diagnoses.find((y) => y.kind === KIND)!;
      expect(x.inferred).toEqual({});
      expect(x.explanation).toContain('No idle timer cut it: the tunnel had already stayed silent 25 s in both directions and lived on');
    }
  });

  test('WebSockets a proxy closed at one moment after different silences: one event of the proxy (a reload, an exit), no idle timer', () => {
    const cap = new Capture();
    const a = proxiedWebSocket(cap, 0);
    const b = proxiedWebSocket(cap, 4);
    // Silent 9.8 s and 5.8 s, both legs of both closed at 10 s.
    a.up.close(10.0, 'c');
    a.down.close(10.0003, 's');
    b.up.close(10.0006, 'c');
    b.down.close(10.0009, 's');
    const r = cap.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.evidence.cut)).toEqual(['proxy-both-legs', 'proxy-both-legs']);
    const ds = r.diagnoses.filter((x) => x.kind === KIND);
    expect(ds.map((d) => d.inferred)).toEqual([{}]);
    expect(ds[0].explanation).toContain('at one moment');
    expect(ds[0].explanation).toContain('one event of the proxy, not an idle timer');
  });

  test('one WebSocket cut by a proxy, then written into by its client and reset (s20): the message was lost, an error', () => {
    const cap = new Capture();
    const { down, up } = proxiedWebSocket(cap, 0);
    down.fin(7.2, 's').ack(7.2001, 'c');
    up.rst(7.2003, 'c');
    down.send(10.2, 'c', frame(16));
    down.rst(10.2001, 's');
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.severity).toBe('error');
    expect(f.evidence.clientWroteAfterClose).toBe(3);
    expect(f.summary).toContain('that message was lost');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.severity).toBe('error');
    expect(d.explanation).toContain('the message was lost');
    // The write after the close ends no silence the tunnel lived through.
    expect(d.inferred.tunnelIdleTimeoutAtLeast.value).toBeLessThan(0.2);
  });

  test('silent: a client killed beside its proxy on one address (s26, s15): its close and the proxy\'s relayed close upstream are one event, not two samples of a timer', () => {
    const killed = (cap: Capture, t: number, silence: number): void => {
      const down = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 8005 });
      const up = cap.connection({ client: '127.0.0.1', server: '127.0.0.1', sport: 9001 });
      down.handshake(t).request(t + 0.01, upgrade('/ws'));
      up.handshake(t + 0.011).request(t + 0.012, upgrade('/ws')).response(t + 0.013, SWITCHING);
      down.response(t + 0.014, SWITCHING);
      up.send(t + 0.2, 's', frame(12)).ack(t + 0.2001, 'c');
      down.send(t + 0.2002, 's', frame(12)).ack(t + 0.2003, 'c');
      // The client's kernel closes the killed process's socket; nginx passes the FIN on 0.1 ms later.
      down.close(t + 0.2 + silence, 'c');
      up.close(t + 0.2 + silence + 0.0001, 'c');
    };
    const one = new Capture();
    killed(one, 0, 11.5);
    expect(ofKind(one.analyze(only), KIND)).toEqual([]);
    // Two clients gone after the same silence: two samples (the front legs), and the proxy is not blamed.
    const two = new Capture();
    killed(two, 0, 11.5);
    killed(two, 20, 11.5);
    const r = two.analyze(only);
    expect(ofKind(r, KIND).map((f) => f.server)).toEqual(['127.0.0.1:8005', '127.0.0.1:8005']);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.tunnelIdleTimeout.samples).toBe(2);
    expect(d.explanation).toContain('127.0.0.1:8005 passed these closes on to its own upstream leg at once: it is the proxy');
    expect(d.explanation).not.toContain('The capture holds only these legs');
  });

  test('silent: a WebSocket kept alive by pings through a proxy, and one its client closed itself (a close frame, or gone without one)', () => {
    const cap = new Capture();
    const { down, up } = proxiedWebSocket(cap, 0);
    for (let k = 1; k <= 5; k++) {
      down.send(0.2 + k, 'c', '\x89\x00').ack(0.2 + k + 0.0001, 's');
      up.send(0.2 + k + 0.0002, 'c', '\x89\x00').ack(0.2 + k + 0.0003, 's');
      up.send(0.2 + k + 0.0004, 's', '\x8a\x00').ack(0.2 + k + 0.0005, 'c');
      down.send(0.2 + k + 0.0006, 's', '\x8a\x00').ack(0.2 + k + 0.0007, 'c');
    }
    down.send(6.3, 'c', CLOSE_FRAME).ack(6.3001, 's');
    up.send(6.3002, 'c', CLOSE_FRAME).ack(6.3003, 's');
    up.send(6.3004, 's', CLOSE_FRAME).ack(6.3005, 'c');
    down.send(6.3006, 's', CLOSE_FRAME).ack(6.3007, 'c');
    up.close(6.301, 's');
    down.close(6.3012, 's');
    webSocket(cap, 10, 3.0, { closer: 'c', goodbye: true });
    webSocket(cap, 20, 3.0, { closer: 'c' });
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('a CONNECT tunnel timed out the same way is told as one', () => {
    const cap = new Capture();
    for (const t of [0, 2]) {
      const c = cap.connection({ sport: 3128 });
      c.handshake(t).request(t + 0.01, 'CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n');
      c.response(t + 0.05, 'HTTP/1.1 200 Connection established\r\n\r\n');
      c.send(t + 0.06, 'c', '\x16\x03\x01\x00\x05hello').ack(t + 0.0601, 's');
      c.send(t + 0.07, 's', '\x16\x03\x03\x00\x05world').ack(t + 0.0701, 'c');
      c.close(t + 0.07 + 4, 's');
    }
    const found = ofKind(cap.analyze(only), KIND);
    expect(found).toHaveLength(2);
    expect(found[0].evidence).toMatchObject({ tunnel: 'connect', request: 'CONNECT api.example:443', silence: 4, clientWroteAfterClose: null });
    expect(found[0].summary).toContain('with no goodbye from either end');
  });

  test('a client that wrote into a tunnel after the close was reset: named in the finding (a TLS close_notify answering the close is not)', () => {
    const cap = new Capture();
    // The request a whole record (its header says 32 bytes): a lone record of a TLS 1.3 alert's size answers the close.
    for (const [t, late] of [[0, tlsRecord(0x17, 32)], [10, '\x15\x03\x03\x00\x1aalert']] as const) {
      const c = cap.connection({ sport: 8888 });
      c.handshake(t).request(t + 0.01, 'CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n');
      c.response(t + 0.02, 'HTTP/1.0 200 Connection established\r\n\r\n');
      c.send(t + 0.03, 'c', '\x17\x03\x03\x00\x05hello').ack(t + 0.0301, 's');
      c.fin(t + 3.03, 's').ack(t + 3.0301, 'c');
      const wrote = t === 0 ? 2 : 0.001; // a stale reuse 2 s later; Node's close_notify within a millisecond
      c.send(t + 3.03 + wrote, 'c', late);
      c.rst(t + 3.03 + wrote + 0.0001, 's');
    }
    const [stale, alert] = ofKind(cap.analyze(only), KIND);
    expect(stale.evidence.clientWroteAfterClose).toBe(2);
    expect(stale.summary).toContain('the client wrote into the closed tunnel 2 s later and was reset');
    expect(stale.frames).toHaveLength(5);
    expect(alert.evidence.clientWroteAfterClose).toBeNull();
    // The request written into the dead tunnel was lost: an error, the other close a warning.
    expect([stale.severity, alert.severity]).toEqual(['error', 'warning']);
  });

  /**
   * A CONNECT tunnel through a forward proxy (10.0.0.2:3128, connecting from 10.0.0.5 to the target
   * 10.0.0.3:9005) carrying GET /a, then silent; the proxy's close after `silence` by `closer`
   * ('proxy': both legs at once; 'target': the target closes the upstream leg, the proxy passes it
   * on; 'none': the upstream leg is not in the capture). The client writes `late` (a GET /b, or TLS
   * records) `after` s after the FIN reached it, and is reset. Blind round 15, s12b.
   */
  function connectTunnel(
    cap: Capture, t: number, silence: number,
    options: { closer?: 'proxy' | 'target' | 'none'; after?: number | null; late?: string; clientCloses?: boolean } = {},
  ): { down: Conn; up: Conn | null } {
    const closer = options.closer ?? 'proxy';
    const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 3128 });
    const up = closer === 'none' ? null : cap.connection({ client: '10.0.0.5', server: '10.0.0.3', sport: 9005 });
    down.handshake(t).request(t + 0.001, 'CONNECT 10.0.0.3:9005 HTTP/1.1\r\nHost: 10.0.0.3:9005\r\n\r\n');
    up?.handshake(t + 0.002);
    down.response(t + 0.003, 'HTTP/1.1 200 Connection established\r\n\r\n');
    down.send(t + 0.004, 'c', get('/a')).ack(t + 0.0041, 's');
    up?.send(t + 0.0042, 'c', get('/a')).ack(t + 0.0043, 's');
    up?.send(t + 0.01, 's', ok()).ack(t + 0.0101, 'c');
    down.send(t + 0.0102, 's', ok()).ack(t + 0.0103, 'c');
    const end = t + 0.0102 + silence;
    if (options.clientCloses === true) {
      down.close(end, 'c');
      up?.close(end + 0.0001, 'c');
      return { down, up };
    }
    if (closer === 'target') {
      up?.fin(end - 0.0002, 's').ack(end - 0.0001, 'c');
      down.fin(end, 's').ack(end + 0.0001, 'c');
      up?.fin(end + 0.0002, 'c').ack(end + 0.0003, 's');
    } else {
      down.fin(end, 's').ack(end + 0.0001, 'c');
      up?.fin(end + 0.00005, 'c').ack(end + 0.0001, 's');
      up?.fin(end + 0.0003, 's').ack(end + 0.0004, 'c');
    }
    const after = options.after === undefined ? 4 : options.after;
    if (after !== null) {
      down.send(end + after, 'c', options.late ?? get('/b'));
      down.rst(end + after + 0.0001, 's');
    }
    return { down, up };
  }

  test('a CONNECT tunnel the proxy closed idle, reused by its client 4 s later and reset (s12b): a stale reuse of the tunnel, the proxy\'s timer at most that silence', () => {
    const cap = new Capture();
    connectTunnel(cap, 0, 6);
    const r = cap.analyze(only);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].severity).toBe('error');
    expect(found[0].evidence).toMatchObject({ tunnel: 'connect', request: 'CONNECT 10.0.0.3:9005', silence: 6, clientWroteAfterClose: 4, cut: 'proxy-both-legs', upstreamServer: '10.0.0.3:9005', upstreamClosedBy: 'proxy' });
    expect(found[0].summary).toContain('reused by its client 4 s later');
    expect(found[0].summary).toContain('starts like an HTTP request line');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.severity).toBe('error');
    expect(d.inferred).toEqual({ tunnelIdleTimeoutAtMost: { value: 6, samples: 1, spread: 0 } });
    expect(d.explanation).toContain('stale reuse of the tunnel');
    expect(d.explanation).toContain('its own tunnel idle timer');
  });

  test('the target closed the upstream leg first and the proxy passed it on: the target\'s keep-alive timeout, not the proxy\'s; no upstream leg: either, told as such', () => {
    const cap = new Capture();
    connectTunnel(cap, 0, 5, { closer: 'target' });
    const r = cap.analyze(only);
    const [found] = ofKind(r, KIND);
    expect(found.evidence).toMatchObject({ cut: 'target-relayed', upstreamClosedBy: 'target' });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred).toEqual({ serverIdleTimeoutAtMost: { value: 5, samples: 1, spread: 0 } });
    expect(d.explanation).toContain("the target's own keep-alive idle timeout");

    const alone = new Capture();
    connectTunnel(alone, 0, 6, { closer: 'none', late: tlsRecord(0x17, 40) });
    const a = alone.analyze(only);
    expect(ofKind(a, KIND)[0].evidence.cut).toBe('one-leg');
    expect(ofKind(a, KIND)[0].summary).toContain('TLS records');
    expect(a.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('who closed cannot be told');
  });

  test('silent: a CONNECT tunnel reused within the proxy\'s idle time (s12a), one its client closed itself, one cut with no later write, one answered by a close_notify', () => {
    // Each in a capture of its own: two cuts after one silence are a timer told as such (above).
    const scenes: Array<(cap: Capture) => void> = [
      // s12a: the client closes the tunnel itself after 3 s (its GET /b would have been answered).
      (cap) => void connectTunnel(cap, 0, 3, { clientCloses: true }),
      // Cut idle, and no client turn after it: a target's keep-alive close ends a tunnel so, normally.
      (cap) => void connectTunnel(cap, 0, 6, { after: null }),
      // The client's TLS close_notify answering the close is no request; under TLS 1.3 it is a 19-byte application-data record.
      (cap) => void connectTunnel(cap, 0, 6, { after: 0.0005, late: tlsRecord(0x15, 26) }),
      (cap) => void connectTunnel(cap, 0, 6, { after: 0.0005, late: tlsRecord(0x17, 19) }),
    ];
    for (const scene of scenes) {
      const cap = new Capture();
      scene(cap);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    }
    // And keepalive-race, which reads no tunnel, stays out of it.
    const race = new Capture();
    connectTunnel(race, 0, 6);
    expect(ofKind(race.analyze([keepaliveRace]), 'keepalive-race')).toEqual([]);
  });

  test('WebSockets are no idle keep-alive connections: their closes infer no idle timeout (websocket-fixed-length-sessions)', () => {
    // Before tunnels were left out, sessions of one length read as idle closes timed from the 101,
    // and idle-timeout-mismatch inferred a server idle timeout from them, against the keep-alive
    // its plain responses advertise.
    const cap = new Capture();
    for (const t of [0, 1, 2, 3]) {
      const c = cap.connection();
      c.handshake(t).request(t + 0.01, upgrade('/ws')).response(t + 0.011, SWITCHING);
      c.send(t + 0.2, 'c', 'abc').ack(t + 0.2001, 's');
      c.close(t + 2.5, 's');
    }
    const plain = cap.connection();
    plain.handshake(0);
    for (const t of [0.1, 1.1, 2.1, 3.1]) plain.exchange(t, get('/p'), ok('x', ['Keep-Alive: timeout=30']));
    plain.close(4, 'c');
    expect(cap.analyze([keepaliveRace, idleTimeoutMismatch]).anomalies.map((f) => f.summary)).toEqual([]);
  });
});

describe('flows[].tunnel', () => {
  test('a 101 makes the flow an upgrade tunnel, a 2xx to CONNECT a connect tunnel; a refused CONNECT and plain requests are no tunnel', () => {
    const cap = new Capture();
    webSocket(cap, 0, 0.5, { goodbye: true });
    const connect = cap.connection({ sport: 3128 });
    connect.handshake(1).request(1.01, 'CONNECT api.example:443 HTTP/1.1\r\nHost: api.example:443\r\n\r\n');
    connect.response(1.05, 'HTTP/1.1 200 Connection established\r\n\r\n').close(1.5, 'c');
    const refused = cap.connection({ sport: 3128 });
    refused.handshake(2).request(2.01, 'CONNECT blocked.example:443 HTTP/1.1\r\nHost: blocked.example:443\r\n\r\n');
    refused.response(2.02, ok('denied', [], 'HTTP/1.1', '403 Forbidden')).exchange(2.1, get('/'), ok()).close(2.5, 'c');
    const r = cap.analyze(only);
    expect(r.flows.map((f) => f.tunnel)).toEqual(['upgrade', 'connect', undefined]);
    expect(JSON.parse(JSON.stringify(r.flows[2]))).not.toHaveProperty('tunnel');
  });
});

describe('tunnel-idle-timeout on recorded WebSockets', () => {
  test('websocket-idle-proxy-timeout: nginx proxy_read_timeout 3s and HAProxy timeout tunnel 3s, each tunnel with its upstream leg', async () => {
    const r = await analyzeSample('websocket-idle-proxy-timeout');
    const found = ofKind(r, KIND);
    expect(found.map((f) => f.server).sort()).toEqual([...Array(4).fill('127.0.0.2:8080'), ...Array(3).fill('127.0.0.2:8081')]);
    // nginx closes the upstream leg with a FIN, HAProxy resets it.
    expect(new Set(found.filter((f) => f.server === '127.0.0.2:8080').map((f) => f.evidence.upstreamClosedWith))).toEqual(new Set(['FIN']));
    expect(new Set(found.filter((f) => f.server === '127.0.0.2:8081').map((f) => f.evidence.upstreamClosedWith))).toEqual(new Set(['RST']));
    for (const d of r.diagnoses.filter((x) => x.kind === KIND)) expect(d.inferred.tunnelIdleTimeout.value).toBeCloseTo(3, 1);
    // HAProxy passes its backend's Server header on: the proxy is not named by it.
    expect(r.diagnoses.find((x) => x.server === '127.0.0.2:8081')!.explanation).toContain('127.0.0.2:8081 (a proxy)');
  });

  test('websocket-idle-proxy-timeout-backend-leg: nginx proxy_read_timeout 3s seen on the upstream leg alone, by nginx\'s address; the pinging and the closed-with-a-handshake sessions silent', async () => {
    const r = await analyzeSample('websocket-idle-proxy-timeout-backend-leg');
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(3);
    expect(new Set(found.map((f) => f.client?.replace(/:\d+$/, '')))).toEqual(new Set(['127.0.0.2']));
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.tunnelIdleTimeout.value).toBeCloseTo(3, 1);
    expect(d.explanation).toContain('127.0.0.2 is most likely a proxy');
  });

  test('websocket-single-idle-cut: one WebSocket cut by nginx proxy_read_timeout 2s, told as one sample; the client killed beside nginx on 127.0.0.1 is no timer', async () => {
    const r = await analyzeSample('websocket-single-idle-cut');
    const found = ofKind(r, KIND);
    expect(found.map((f) => `${f.server} ${f.severity} ${f.evidence.cut} ${f.evidence.upstreamServer}`)).toEqual(['127.0.0.1:8080 warning proxy-both-legs 127.0.0.1:9001']);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    // nginx re-arms its timer only for bytes 0.3 s apart: the cut came 1.7-2.0 s after the last frame for 2 s.
    expect(d.inferred.tunnelIdleTimeoutAtMost.samples).toBe(1);
    expect(d.inferred.tunnelIdleTimeoutAtMost.value).toBeGreaterThan(1.65);
    expect(d.inferred.tunnelIdleTimeoutAtMost.value).toBeLessThanOrEqual(2.02);
    expect(d.explanation).toContain('nginx/1.22.1');
    expect(r.diagnoses.filter((x) => x.kind === KIND)).toHaveLength(1);
  });

  test.each(['websocket-healthy', 'websocket-fixed-length-sessions'])('%s: silent', async (name) => {
    const r = await analyzeSample(name);
    expect(r.anomalies.map((f) => `${f.kind} ${f.summary}`)).toEqual([]);
    expect(DETECTORS.some((d) => d.id === KIND)).toBe(true);
  });
});
