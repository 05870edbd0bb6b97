import { DETECTORS } from '../../src/detect/registry';
import { lossyDownload } from '../helpers/lossy-download';
import { Capture, get } from './reuse-kit';

const kindsOf = (cap: Capture): string[] => cap.analyze([...DETECTORS]).anomalies.filter((f) => f.severity !== 'info').map((f) => f.kind).sort();

describe.each(['none', 'body'] as const)('after an earlier response (capture hole: %s)', (hole) => {
  test('the server resets the next request unanswered: reset-before-response', () => {
    const cap = new Capture();
    const c = lossyDownload(cap, hole);
    c.request(0.6, get('/next'));
    c.rstAck(0.7, 's');
    expect(kindsOf(cap)).toContain('reset-before-response');
  });

  test('the server closes 5 s after the next request, unanswered: unanswered-request', () => {
    const cap = new Capture();
    const c = lossyDownload(cap, hole);
    c.request(0.6, get('/next'));
    c.close(5.6, 's');
    expect(kindsOf(cap)).toContain('unanswered-request');
  });

  test('the next response ends before its Content-Length with the server\'s FIN: response-truncated', () => {
    const cap = new Capture();
    const c = lossyDownload(cap, hole);
    c.request(0.6, get('/next'));
    c.response(0.601, `HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${'x'.repeat(1000)}`);
    c.close(0.602, 's');
    expect(kindsOf(cap)).toContain('response-truncated');
  });
});

describe('near misses: a hole that swallowed the earlier response\'s head', () => {
  test('its tail seen, the next request reset by the server: nothing said (which request went unanswered is unknown)', () => {
    const cap = new Capture();
    const c = lossyDownload(cap, 'head');
    c.request(0.6, get('/next'));
    c.rstAck(0.7, 's');
    expect(kindsOf(cap)).toEqual([]);
  });

  test('the whole response lost, shown only by the sequence number of the server\'s RST after the next request: nothing said', () => {
    // Before, GET /big read as reset before any response (reset-before-response): the capture
    // counted no loss, the RST being the only packet past the unseen bytes (Endpoint.unseenBeforeRst).
    const cap = new Capture();
    const c = lossyDownload(cap, 'response');
    c.request(0.6, get('/next'));
    c.rstAck(0.7, 's');
    expect(kindsOf(cap)).toEqual([]);
  });

  test.each(['head', 'response'] as const)('hole %s, the server closes 5 s later: the request whose response the hole swallowed is not unanswered', (hole) => {
    const cap = new Capture();
    const c = lossyDownload(cap, hole);
    c.close(5.6, 's');
    expect(kindsOf(cap)).toEqual([]);
  });

});
