import { analyzeFiles } from '../../src/analyze';
import { gatewayTimeout } from '../../src/detect/detectors/gateway-timeout';
import { noUpstreamConnect } from '../../src/detect/detectors/no-upstream-connect';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import type { DetectorDefinition } from '../../src/detect/detector';
import { listSamples } from '../samples';

/**
 * gateway-timeout, no-upstream-connect and unanswered-request share one proxy-legs tracker per
 * analysis and all hand it every event: each must find exactly what it finds alone (an event
 * counted twice would double request counts and change pairings).
 */
describe('the shared proxy-legs tracker', () => {
  const pairs = [
    ['gateway-timeout-nginx', gatewayTimeout],
    ['no-upstream-connect-haproxy', noUpstreamConnect],
    ['gateway-timeout-nginx-other-address', gatewayTimeout],
    ['gateway-timeout-nginx-other-address', unansweredRequest],
    ['no-upstream-connect-haproxy-other-address', noUpstreamConnect],
  ] as const;

  test.each(pairs)('%s: the same findings and diagnoses alone and beside the other detectors', async (name, detector: DetectorDefinition) => {
    const sample = listSamples().find((s) => s.name === name);
    if (sample === undefined) throw new Error(`no sample ${name}`);
    const alone = await analyzeFiles([sample.file], { detectors: [detector] });
    const both = await analyzeFiles([sample.file], { detectors: [gatewayTimeout, noUpstreamConnect, unansweredRequest] });
    const mine = (r: typeof alone) => ({
      anomalies: r.anomalies.filter((a) => a.kind === detector.id),
      diagnoses: r.diagnoses.filter((d) => d.kind === detector.id),
    });
    expect(mine(alone).anomalies.length).toBeGreaterThan(0);
    expect(mine(both)).toEqual(mine(alone));
  });
});
