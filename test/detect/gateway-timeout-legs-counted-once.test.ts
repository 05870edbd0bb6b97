/**
 * A proxy read timeout seen on both legs is one failure, counted once (blind round 17, the nightly
 * CI job, s03: 2 × 504 gave findingsBySeverity.error 4 and JUnit/JSON twice the impact). The
 * upstream leg's unanswered-request finding is listed in gateway-timeout's diagnosis and reported
 * at info (`proxyReadTimeout`), whether the proxy connects from the address it listens on or from
 * another that serves nothing (which escaped the deferral before: reported at its connection's end,
 * before the 504 was paired with it).
 */
import { DETECTORS } from '../../src/detect/registry';
import { PROXY, scene } from './proxy-scenes';
import { Capture, ofKind } from './reuse-kit';

function readTimeouts(via: string): Capture {
  const cap = new Capture();
  for (const [i, t] of [0, 2, 4].entries()) scene(cap, t, { delay: 1, upstream: 'read', uri: `/slow/${i}`, via });
  return cap;
}

describe('gateway-timeout: the upstream legs of a read timeout are counted once', () => {
  for (const [name, via] of [['from the address it listens on', PROXY], ['from another address of its own', '10.0.0.7']] as const) {
    test(`a proxy connecting ${name}: 3 × 504, 3 errors; the upstream legs info, in the 504s' diagnosis`, () => {
      const r = readTimeouts(via).analyze(DETECTORS);
      expect(ofKind(r, 'gateway-timeout').map((f) => f.severity)).toEqual(['error', 'error', 'error']);
      const legs = ofKind(r, 'unanswered-request');
      expect(legs).toHaveLength(3);
      expect(legs.every((f) => f.severity === 'info' && f.evidence.proxyReadTimeout === true)).toBe(true);
      expect(r.stats.findingsBySeverity.error).toBe(3);
      const d = r.diagnoses.find((x) => x.kind === 'gateway-timeout');
      expect(d?.count).toBe(3);
      for (const f of legs) expect(d?.anomalyIds).toContain(f.id);
      expect(r.diagnoses.filter((x) => x.kind === 'unanswered-request')).toEqual([]);
    });
  }
});
