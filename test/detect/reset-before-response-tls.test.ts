import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { records } from '../helpers/tls-hello-builder';
import { Https, HttpsOptions, REQUEST } from './https-kit';
import { Capture, ofKind } from './reuse-kit';

const KIND = 'reset-before-response';
const detectors = [keepaliveRace, resetBeforeResponse];

/**
 * Three HTTPS connections, each with an answered request and then a second one sent at 1.0 s, all
 * reset by the server at 1.5 s within 0.2 ms (its process died). `alert`: the server's close_notify
 * before its RST.
 */
function resetTogether(options: HttpsOptions, alert = false) {
  const cap = new Capture();
  for (let k = 0; k < 3; k++) {
    const h = new Https(cap, k * 0.1, options).request(k * 0.1 + 0.01).answer(k * 0.1 + 0.02).request(1 + k * 0.01);
    if (alert) h.conn.send(1.5 + k * 0.0001, 's', options.version === '1.3' ? records(23, 19) : records(21, 26));
    h.conn.rstAck(1.5001 + k * 0.0001, 's');
  }
  return cap.analyze(detectors);
}

describe('reset-before-response on HTTPS', () => {
  test('requests outstanding on three connections, reset by the server in one moment: each found, the burst diagnosed', () => {
    const result = resetTogether({ version: '1.2', offer: ['http/1.1'] });
    const found = ofKind(result, KIND);
    expect(found).toHaveLength(3);
    expect(found[0].evidence).toMatchObject({ encrypted: true, requestBytes: REQUEST + 5, exchangeIndex: 2, requestAcked: true, burstSize: 3, tlsVersion: '1.2' });
    expect(found[0].summary).toContain(`an encrypted request (${REQUEST + 5} bytes of TLS application data) was reset by the server`);
    const [d] = result.diagnoses.filter((x) => x.kind === KIND);
    expect(d.count).toBe(3);
  });

  test('an HTTPS connection answered after the burst: another process held the port', () => {
    const answeredAfter = (answer: boolean): string => {
      const cap = new Capture();
      for (let k = 0; k < 3; k++) {
        new Https(cap, k * 0.1, { version: '1.2', offer: ['http/1.1'] }).request(k * 0.1 + 0.01).answer(k * 0.1 + 0.02).request(1 + k * 0.01).conn.rstAck(1.5 + k * 0.0001, 's');
      }
      const later = new Https(cap, 3, { version: '1.2', offer: ['http/1.1'] }).request(3.01);
      if (answer) later.answer(3.02);
      later.clientCloses(3.5);
      return cap.analyze(detectors).diagnoses.filter((x) => x.kind === KIND)[0].explanation;
    };
    expect(answeredAfter(true)).toContain('went on answering new connections afterwards');
    expect(answeredAfter(false)).not.toContain('went on answering');
  });

  test('TLS 1.3 with http/1.1 offered: the same', () => {
    expect(ofKind(resetTogether({ version: '1.3', offer: ['http/1.1'] }), KIND)).toHaveLength(3);
  });

  test('a server that sent its close_notify before the RST closed on purpose: silent', () => {
    expect(ofKind(resetTogether({ version: '1.2', offer: ['http/1.1'] }, true), KIND)).toEqual([]);
  });

  test('TLS 1.3 with h2 offered: the turns may be HTTP/2 frames nobody answers: silent', () => {
    expect(ofKind(resetTogether({ version: '1.3', offer: ['h2', 'http/1.1'] }), KIND)).toEqual([]);
  });

  test('an answered last turn, then a reset: nothing outstanding, silent', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      new Https(cap, k * 0.1, { version: '1.2', offer: ['http/1.1'] }).request(k * 0.1 + 0.01).answer(k * 0.1 + 0.02).conn.rstAck(1.5 + k * 0.0001, 's');
    }
    expect(ofKind(cap.analyze(detectors), KIND)).toEqual([]);
  });
});
