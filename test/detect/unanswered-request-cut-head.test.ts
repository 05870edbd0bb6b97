import { DETECTORS } from '../../src/detect/registry';
import { Capture, get } from './reuse-kit';

/**
 * A request whose head the snaplen cut (tcpdump -s 96 / -s 128) and that the server then closed
 * without a byte of answer (blind test 12: a backend killed during GET /hang). A bodiless request
 * written in one segment and followed by nothing was all sent: unanswered whatever the snaplen.
 * A head or body that may still have been arriving (a slow client) stays unjudged.
 */
const kinds = (cap: Capture, snaplen: number): string[] => cap.analyzeCut(snaplen, [...DETECTORS]).anomalies.map((f) => f.kind);
const LONG_HEAD = ['User-Agent: curl/7.88.1', 'Accept: */*', 'X-Request-Id: 0123456789abcdef0123456789abcdef'];

describe.each([96, 128])('snaplen %i', (snaplen) => {
  test('a GET in one segment, the server\'s FIN 2 s later without a byte: unanswered-request, as in the whole capture', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, get('/hang', LONG_HEAD));
    c.close(2.01, 's');
    expect(kinds(cap, Infinity)).toContain('unanswered-request');
    expect(kinds(cap, snaplen)).toContain('unanswered-request');
  });

  test('near miss: a PUT whose head (and Content-Length) was cut, its body stalled, closed by the server: not unanswered', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, `PUT /upload HTTP/1.1\r\nHost: example\r\n${LONG_HEAD.join('\r\n')}\r\nContent-Length: 100000\r\n\r\n`);
    c.request(0.3, 'x'.repeat(1000));
    c.close(2.3, 's');
    expect(kinds(cap, snaplen)).not.toContain('unanswered-request');
  });

  test('near miss: a GET head sent in two pieces (a slow client), closed by the server: not unanswered', () => {
    const cap = new Capture();
    const c = cap.connection();
    const head = get('/slow-head', LONG_HEAD);
    c.handshake(0).request(0.01, head.slice(0, 100));
    c.request(0.5, head.slice(100, 110));
    c.close(2.5, 's');
    expect(kinds(cap, snaplen)).not.toContain('unanswered-request');
  });
});
