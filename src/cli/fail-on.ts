import type { Finding, Severity } from '../detect/finding';

export type FailOn = Severity | 'none';

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/** True when a finding is severe enough to fail the run. */
export function reachesFailOn(findings: readonly Finding[], failOn: FailOn): boolean {
  if (failOn === 'none') return false;
  return findings.some((f) => RANK[f.severity] >= RANK[failOn]);
}
