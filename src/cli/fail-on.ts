import type { AnalysisResult } from '../analyze';
import type { Finding, Severity } from '../detect/finding';
import { uncoveredReasons } from '../report/capture-coverage';
import { EXIT_FINDINGS, EXIT_OK } from './exit-codes';

export type FailOn = Severity | 'none';

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/**
 * True when a finding is severe enough to fail the run. `reported` counts every finding by
 * severity, also those past the bound of findings kept (the list alone could miss them).
 */
export function reachesFailOn(findings: readonly Finding[], failOn: FailOn, reported?: Record<Severity, number>): boolean {
  if (failOn === 'none') return false;
  if (reported !== undefined && (Object.keys(RANK) as Severity[]).some((s) => RANK[s] >= RANK[failOn] && reported[s] > 0)) return true;
  return findings.some((f) => RANK[f.severity] >= RANK[failOn]);
}

/**
 * The exit code of an analysis: 1 when a finding reaches `--fail-on`, and with `--require-coverage`
 * also when the capture cannot show part of what conncheck looks for (capture-coverage.ts
 * uncoveredReasons: filtered down to some kinds of packets, connections one way only, data the
 * capture lost or the capturing tool dropped, heads the snaplen cut, a file cut short, nothing
 * analyzed at all). A nightly job fed a misconfigured capture (`dst port 80`, a flags-only filter, a
 * buffer too small) otherwise passes night after night on traffic it never saw. Says why on stderr.
 */
export function exitCodeOf(
  result: Pick<AnalysisResult, 'anomalies' | 'stats' | 'input'>,
  failOn: FailOn,
  requireCoverage: boolean,
  warn: (line: string) => void = (line) => void process.stderr.write(line),
): number {
  if (reachesFailOn(result.anomalies, failOn, result.stats.findingsBySeverity)) return EXIT_FINDINGS;
  if (!requireCoverage) return EXIT_OK;
  const gaps = uncoveredReasons(result);
  if (gaps.length === 0) return EXIT_OK;
  warn(`conncheck: --require-coverage: the capture cannot show all it should: ${gaps[0].split(': ')[0]}${gaps.length > 1 ? ` (and ${gaps.length - 1} more reason${gaps.length === 2 ? '' : 's'})` : ''}\n`);
  return EXIT_FINDINGS;
}
