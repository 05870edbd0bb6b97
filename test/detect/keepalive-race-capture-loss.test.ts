import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { DETECTORS } from '../../src/detect/registry';
import { lossyDownload } from '../helpers/lossy-download';
import { Capture, get, ofKind } from './reuse-kit';

const KIND = 'keepalive-race';

/**
 * A keep-alive connection whose earlier response lost bytes in the capture (a busy host's tcpdump
 * dropped packets during a download), then idle until the server's FIN, a stale request and the
 * server's RST.
 */
function lossyThenRace(cap: Capture, hole: 'body' | 'whole-response' | 'none' = 'body'): void {
  const c = lossyDownload(cap, hole === 'whole-response' ? 'response' : hole);
  c.fin(2.503, 's');
  c.ack(2.5031, 'c');
  c.request(2.55, get('/stale'), { noAck: true });
  c.rst(2.5501, 's');
}

describe('keepalive-race: a connection that lost bytes earlier in the capture', () => {
  test('baseline: the same connection without the hole is a race', () => {
    const cap = new Capture();
    lossyThenRace(cap, 'none');
    expect(ofKind(cap.analyze([keepaliveRace]), KIND)).toHaveLength(1);
  });

  test('a hole in the middle of an earlier response body: the idle FIN, stale request and RST past it are a race', () => {
    const cap = new Capture();
    lossyThenRace(cap, 'body');
    const r = cap.analyze([...DETECTORS]);
    expect(r.stats.captureLoss.bytes).toBe(1000);
    const races = ofKind(r, KIND);
    expect(races).toHaveLength(1);
    expect(races[0].severity).toBe('error');
    expect(r.anomalies.filter((f) => f.kind === 'unanswered-request' || f.kind === 'reset-before-response')).toEqual([]);
  });

  test('near miss: a hole that swallowed the whole earlier response (head included): no race, no unanswered request', () => {
    const cap = new Capture();
    lossyThenRace(cap, 'whole-response');
    const r = cap.analyze([...DETECTORS]);
    expect(r.stats.captureLoss.bytes).toBeGreaterThan(0);
    expect(r.anomalies.filter((f) => f.severity !== 'info').map((f) => f.kind)).toEqual([]);
  });
});
