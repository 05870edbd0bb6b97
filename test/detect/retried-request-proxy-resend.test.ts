/**
 * One client resend a proxy forwarded is one retry (blind round 16, pools S20: urllib3 -> HAProxy
 * -> Node, both legs merged): HAProxy closed its client's connection after a keep-alive race
 * upstream, urllib3 sent the GET again on a new connection, and HAProxy forwarded it on a new
 * backend connection. Before: retried-request on both legs, two retries for one. Now: the client
 * leg's, naming the proxy's forward of it (retryForwardedOnFlow; the race upstream names it as retriedOnFlow).
 */
import { DETECTORS } from '../../src/detect/registry';
import { Capture, Conn, get, ofKind, ok } from './reuse-kit';

const CLIENT = '10.0.0.1';
const PROXY = '10.0.0.2';
const VIA = '10.0.1.2';
const BACKEND = '10.0.0.3';

/**
 * At `t`: a first GET forwarded and answered on a pooled backend connection; 1 s later the next GET
 * on the kept-alive client connection, forwarded as the backend's idle FIN crosses it (RST); the
 * proxy closes its client's connection. With `resend`, the client sends the GET again on a new
 * connection at once and the proxy forwards it on a new backend connection (answered); without, the
 * proxy itself sends it again upstream (its own retry) and answers the same client connection.
 */
function scene(cap: Capture, t: number, i: number, resend: boolean): { up2: Conn; down2: Conn | null } {
  const down = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  const up = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
  down.handshake(t).request(t + 0.01, get(`/first${i}`));
  up.handshake(t + 0.0105).exchange(t + 0.011, get(`/first${i}`), ok('first'));
  down.response(t + 0.0125, ok('first'));
  down.request(t + 1.0126, get(`/r?i=${i}`));
  up.fin(t + 1.0125, 's');
  up.request(t + 1.0131, get(`/r?i=${i}`), { sawFin: false, noAck: true });
  up.rst(t + 1.0132, 's');
  const up2 = cap.connection({ client: VIA, server: BACKEND, sport: 8080 });
  if (!resend) {
    up2.handshake(t + 1.0134).exchange(t + 1.0136, get(`/r?i=${i}`), ok('again'));
    down.response(t + 1.014, ok('again'));
    down.close(t + 1.1, 'c');
    up2.close(t + 1.2, 'c');
    return { up2, down2: null };
  }
  down.fin(t + 1.0134, 's').fin(t + 1.0135, 'c').ack(t + 1.0136, 's');
  const down2 = cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
  down2.handshake(t + 1.014).request(t + 1.0142, get(`/r?i=${i}`));
  up2.handshake(t + 1.0143).exchange(t + 1.0146, get(`/r?i=${i}`), ok('again'));
  down2.response(t + 1.015, ok('again'));
  down2.close(t + 1.1, 'c');
  up2.close(t + 1.2, 'c');
  return { up2, down2 };
}

describe('a client resend a proxy forwarded', () => {
  test("is one retry, on the client leg, naming the proxy's forward of it, which the race upstream names too", () => {
    const cap = new Capture();
    const scenes = [0, 5, 10].map((t, i) => scene(cap, t, i, true));
    const r = cap.analyze(DETECTORS);
    const retries = ofKind(r, 'retried-request');
    expect(retries.map((f) => f.client)).toEqual(scenes.map((s) => s.down2?.clientName));
    const races = ofKind(r, 'keepalive-race');
    expect(races).toHaveLength(3);
    const flowOf = (client: string): number | undefined => r.flows.find((f) => f.client === client)?.id;
    expect(retries.map((f) => f.evidence.retryForwardedOnFlow)).toEqual(scenes.map((s) => flowOf(s.up2.clientName)));
    // The race upstream names the same forward as the request it sent again.
    expect(races.map((f) => f.evidence.retriedOnFlow)).toEqual(retries.map((f) => f.evidence.retryForwardedOnFlow));
  });

  test('near miss: a proxy that resends its client\'s one request upstream itself keeps its retry on the upstream leg', () => {
    const cap = new Capture();
    const scenes = [0, 5, 10].map((t, i) => scene(cap, t, i, false));
    const r = cap.analyze(DETECTORS);
    const retries = ofKind(r, 'retried-request');
    expect(retries.map((f) => f.client)).toEqual(scenes.map((s) => s.up2.clientName));
  });
});
