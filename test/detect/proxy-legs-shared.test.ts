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
    // In the registry's order: unanswered-request reports the upstream legs it held in its onFinish,
    // before gateway-timeout's gathers them into its 504's diagnosis.
    const both = await analyzeFiles([sample.file], { detectors: [unansweredRequest, gatewayTimeout, noUpstreamConnect] });
    // Beside each other, gateway-timeout links the upstream leg's unanswered request of each read
    // timeout (evidence upstreamFinding, its diagnosis's anomalyIds) and unanswered-request leaves
    // those waits to its diagnosis (GatewayClaims): what each finds on its own is the same.
    const mine = (r: typeof alone) => ({
      anomalies: r.anomalies
        .filter((a) => a.kind === detector.id)
        // A read timeout's upstream leg gateway-timeout owns is counted once: info, proxyReadTimeout (checked below).
        .map((a) => ({ ...a, severity: null, evidence: Object.fromEntries(Object.entries(a.evidence).filter(([k]) => k !== 'upstreamFinding' && k !== 'proxyReadTimeout')) })),
      diagnoses: r.diagnoses
        .filter((d) => d.kind === detector.id && d.anomalyIds.some((id) => !claimedOf(r).has(id)))
        .map((d) => ({
          ...d,
          anomalyIds: d.anomalyIds.filter((id) => id.startsWith(`${detector.id}#`)),
          explanation: d.explanation.replace(/ (Each|\d+ of them) is one failure seen on both legs: .*? not another failure\./, ''),
        })),
    });
    /** unanswered-request findings a gateway-timeout diagnosis holds. */
    const claimedOf = (r: typeof alone) =>
      new Set(r.diagnoses.filter((d) => d.kind === 'gateway-timeout').flatMap((d) => d.anomalyIds.filter((id) => id.startsWith('unanswered-request#'))));
    expect(mine(alone).anomalies.length).toBeGreaterThan(0);
    expect(mine(both).anomalies).toEqual(mine(alone).anomalies);
    if (detector.id === 'unanswered-request') {
      // Every upstream wait of a read timeout is in gateway-timeout's diagnosis, and those of its own (none here) stay.
      expect([...claimedOf(both)].sort()).toEqual(mine(alone).anomalies.map((a) => a.id).sort());
      expect(mine(both).diagnoses).toEqual([]);
      // Alone, each wait is an error; beside gateway-timeout, the 504's leg of one failure: info.
      expect(mine(alone).anomalies.length).toBe(alone.anomalies.filter((a) => a.kind === 'unanswered-request' && a.severity === 'error').length);
      const claimed = claimedOf(both);
      expect(both.anomalies.filter((a) => claimed.has(a.id)).map((a) => [a.severity, a.evidence.proxyReadTimeout])).toEqual([...claimed].map(() => ['info', true]));
    } else {
      expect(mine(both).diagnoses).toEqual(mine(alone).diagnoses);
    }
  });
});
