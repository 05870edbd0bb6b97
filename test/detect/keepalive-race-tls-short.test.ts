import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { concat, records } from '../helpers/tls-hello-builder';
import { Https, HttpsOptions } from './https-kit';
import { Capture, ofKind } from './reuse-kit';

const KIND = 'keepalive-race';

/**
 * A reused HTTPS connection the server closed after 2 s idle (with `closeNotify`, its close_notify
 * before the FIN; else a bare FIN, as Node's https server sends), then the client's `after` (bytes
 * of TLS records) 0.1 s later, after it had acknowledged the FIN, and the server's RST.
 */
function staleReuse(options: HttpsOptions, after: Uint8Array, closeNotify = true) {
  const cap = new Capture();
  const h = new Https(cap, 0, options).request(0.01).answer(0.012);
  const alert = options.version === '1.2' ? records(21, 26) : records(23, 19);
  if (closeNotify) h.conn.send(2.012, 's', alert);
  h.conn.fin(2.0121, 's').ack(2.0122, 'c');
  h.conn.send(2.112, 'c', after).rst(2.1121, 's');
  return ofKind(cap.analyze([keepaliveRace]), KIND);
}

/** A short GET's record: 52 bytes (35 of request, the inner type, a 16-byte tag), 57 on the wire (nginx, Caddy in blind round 14's S8/S9). */
const SHORT_GET = records(23, 52);

describe('keepalive-race over TLS: a short request after the server\'s close is one (blind round 14 variants, S8/S9)', () => {
  test.each([
    ['TLS 1.3, close_notify and FIN (nginx, Caddy)', { version: '1.3' }, true],
    ['TLS 1.3, bare FIN (Node)', { version: '1.3' }, false],
    ['TLS 1.3, http/1.1 offered alone', { version: '1.3', offer: ['http/1.1'] }, true],
    ['TLS 1.2', { version: '1.2' }, true],
  ] as Array<[string, HttpsOptions, boolean]>)('%s: a 57-byte request is a stale reuse', (_name, options, closeNotify) => {
    const [f, ...rest] = staleReuse(options, SHORT_GET, closeNotify);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ form: 'stale-reuse' });
  });

  test('a long request stays one', () => {
    expect(staleReuse({ version: '1.3' }, records(23, 652))).toHaveLength(1);
  });

  test.each([
    ['close_notify and FIN', true],
    ['a bare FIN (Node)', false],
  ])('the client\'s own close_notify (24 bytes) after the server\'s close (%s) is no request', (_name, closeNotify) => {
    expect(staleReuse({ version: '1.3' }, records(23, 19), closeNotify)).toEqual([]);
  });

  test('a TLS 1.2 client\'s close_notify of any size (an alert record) is no request', () => {
    expect(staleReuse({ version: '1.2' }, records(21, 85))).toEqual([]);
  });

  test('a TLS 1.3 KeyUpdate (a 22-byte record) is no request', () => {
    expect(staleReuse({ version: '1.3' }, records(23, 22))).toEqual([]);
  });

  test('TLS 1.3 with h2 offered (the choice encrypted): a short record may be an HTTP/2 frame, still not taken', () => {
    expect(staleReuse({ version: '1.3', offer: ['h2', 'http/1.1'] }, SHORT_GET)).toEqual([]);
  });

  test('a TLS 1.3 client\'s Finished after the server closed an unused connection is no request', () => {
    const cap = new Capture();
    const h = new Https(cap, 0, { version: '1.3' });
    h.conn.send(2.003, 's', records(23, 19)).fin(2.0031, 's').ack(2.0032, 'c');
    // Change cipher spec and a SHA-256 Finished (53 bytes): 64 bytes, as long as the old floor.
    h.conn.send(2.103, 'c', concat(records(20, 1), records(23, 53))).rst(2.1031, 's');
    expect(ofKind(cap.analyze([keepaliveRace]), KIND)).toEqual([]);
  });
});
