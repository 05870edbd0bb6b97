import type { AnalysisStats } from '../../src/analyze';
import { captureLossWarning, noFindingsText, oneWayWarning } from '../../src/report/capture-coverage';
import { renderHtml } from '../../src/report/html';
import { hostileResult } from './hostile-result';

/** What the reports say about traffic the capture does not hold: one direction missing, packets dropped. */

function statsWith(change: Partial<AnalysisStats>): AnalysisStats {
  return { ...hostileResult().stats, connections: 10, natTwins: 2, ...change };
}

describe('capture coverage in the reports', () => {
  test('a capture that holds both directions and dropped nothing: no warning, the plain headline', () => {
    const stats = statsWith({});
    expect(oneWayWarning(stats)).toBeNull();
    expect(captureLossWarning(stats)).toBeNull();
    expect(noFindingsText(stats)).toBe('No connection-reuse problems found.');
  });

  test('every connection one way: counted against the connections analyzed (address-translated twins left out), and no clean bill', () => {
    const stats = statsWith({ oneWay: { clientOnly: 5, serverOnly: 3 } });
    expect(oneWayWarning(stats)).toMatch(/^warning: 8 of 8 connections are in the capture one way only \(5 with only the client's packets, 3 with only the server's\)/);
    expect(noFindingsText(stats)).toBe('No connection-reuse problems found, but none could be: every connection is in the capture one way only (see the warning).');
  });

  test('some connections one way: the headline says how many were judged', () => {
    const stats = statsWith({ oneWay: { clientOnly: 0, serverOnly: 1 } });
    expect(oneWayWarning(stats)).toMatch(/^warning: 1 of 8 connections are in the capture one way only \(1 with only the server's\)/);
    expect(noFindingsText(stats)).toBe('No connection-reuse problems found on the 7 connections captured both ways; the 1 captured one way only could not be judged.');
  });

  test('packets dropped: the bytes and connections they were on', () => {
    const stats = statsWith({ captureLoss: { connections: 3, bytes: 2048 } });
    expect(captureLossWarning(stats)).toMatch(/^warning: the capture misses 2048 B of data sent on 3 of 8 connections /);
    expect(noFindingsText(stats)).toBe('No connection-reuse problems found.');
  });

  test('the HTML report shows both warnings at the top of its diagnoses', () => {
    const result = hostileResult();
    result.stats = statsWith({ oneWay: { clientOnly: 1, serverOnly: 0 }, captureLoss: { connections: 2, bytes: 10 } });
    const html = renderHtml(result);
    const diagnoses = html.slice(html.indexOf('<section id="diagnoses">'));
    expect(diagnoses).toMatch(/^<section id="diagnoses"><h2>Diagnoses<\/h2><p class="capture-warning">warning: 1 of 8 connections .*<\/p><p class="capture-warning">warning: the capture misses 10 B /);
  });
});
