/**
 * A rate limit on new connections told apart from a full accept queue (blind round 11, S5b against
 * S5a; recorded: samples/syn-dropped-rate-limit). Both answer handshakes at a steady pace while they
 * drop the SYNs between them; only the full queue holds connections waiting for the application
 * when it drops them (new-connection-rate.ts). 8080: nft `limit rate over 1/second burst 2` before
 * an idle Node server; 8081: listen(1) with one accept() per second, no firewall.
 */
import * as path from 'path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';

const SAMPLE = path.join(__dirname, '..', '..', 'samples', 'syn-dropped-rate-limit.pcap');

describe('syn-unanswered: a rate limit on new connections, not a full backlog', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });
  const diagnosisOf = (server: string) => result.diagnoses.find((d) => d.kind === 'syn-unanswered' && d.server === server);

  test('8080: the rate limit is named, with its pace (about one per second) and burst, and its remedy', () => {
    const d = diagnosisOf('127.0.0.1:8080');
    expect(d).toBeDefined();
    expect(d!.explanation).toContain('rate limit on new connections');
    expect(d!.explanation).toContain('burst of about 2');
    expect(d!.explanation).not.toContain('backlog was full');
    const interval = d!.inferred.newConnectionInterval;
    expect(interval).toBeDefined();
    expect(interval.value).toBeGreaterThanOrEqual(0.95);
    expect(interval.value).toBeLessThan(1.15);
    expect(d!.remedy.startsWith('Find the rate limit on new connections to port 8080')).toBe(true);
  });

  test('8081 (near miss): connections waited in the full accept queue, so no rate limit is named', () => {
    const d = diagnosisOf('127.0.0.1:8081');
    expect(d).toBeDefined();
    expect(d!.explanation).not.toContain('rate limit');
    expect(d!.inferred.newConnectionInterval).toBeUndefined();
    expect(d!.explanation).toContain('backlog was full');
  });
});
