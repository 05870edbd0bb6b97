import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { records } from '../helpers/tls-hello-builder';
import { Https, HttpsOptions } from './https-kit';
import { Capture, ofKind } from './reuse-kit';

const KIND = 'keepalive-race';

/**
 * A reused HTTPS connection: one answered request, 2 s of silence, then 34 bytes of client
 * application data (a request, or an HTTP/2 GOAWAY: 17 bytes of frame) and the server's FIN 0.6 ms
 * later. With `goodbye`, the client's close_notify comes between them.
 */
function lastTurnThenServerFin(options: HttpsOptions, goodbye: boolean) {
  const cap = new Capture();
  const h = new Https(cap, 0, options).request(0.01).answer(0.02);
  h.conn.send(2.02, 'c', records(23, 34));
  if (goodbye) h.conn.send(2.0205, 'c', records(23, 19));
  h.conn.fin(2.0206, 's').fin(2.0207, 'c').ack(2.0208, 's');
  return ofKind(cap.analyze([keepaliveRace]), KIND);
}

describe('keepalive-race closed on arrival over TLS: a client\'s goodbye is no request', () => {
  test('HTTP/1.1 for sure (only http/1.1 offered): the server\'s instant close met the request', () => {
    const [f, ...rest] = lastTurnThenServerFin({ version: '1.3', offer: ['http/1.1'] }, false);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ form: 'closed-on-arrival' });
  });

  test('the client\'s close_notify came before the server\'s close: the server followed the client', () => {
    expect(lastTurnThenServerFin({ version: '1.3', offer: ['http/1.1'] }, true)).toEqual([]);
  });

  test.each([
    ['TLS 1.3 with h2 offered (the choice encrypted)', { version: '1.3', offer: ['h2', 'http/1.1'] }],
    ['TLS 1.2 with h2 chosen', { version: '1.2', offer: ['h2', 'http/1.1'], choose: 'h2' }],
  ] as Array<[string, HttpsOptions]>)('%s: the last turn may be a GOAWAY, which a server answers by closing', (_name, options) => {
    expect(lastTurnThenServerFin(options, false)).toEqual([]);
  });

  test('TLS 1.2 with h2 offered and http/1.1 chosen in clear: judged as HTTP/1.1', () => {
    expect(lastTurnThenServerFin({ version: '1.2', offer: ['h2', 'http/1.1'], choose: 'http/1.1' }, false)).toHaveLength(1);
  });
});
