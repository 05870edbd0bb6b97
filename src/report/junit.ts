/**
 * `--format junit`: JUnit XML for CI systems that gate on test results (GitLab, Jenkins, GitHub
 * test reporters). One test case per (anomaly kind, server endpoint); it fails when one of its
 * findings reaches `--fail-on`, and passes otherwise with the findings in system-out. A capture
 * with no findings still gives one passing case, so the job shows that the check ran.
 */
import type { AnalysisResult } from '../analyze';
import type { Diagnosis, Finding, Severity } from '../detect/finding';
import { coverageAndSnaplenWarnings, droppedByCapture, filteredCaptureWarning, noFindingsText, oneWayCount, oneWayWarning, uncoveredReasons } from './capture-coverage';
import { formatDuration, formatUtc } from './format-time';
import { truncate } from './text-wrap';
import { escapeXml as x, escapeXmlText } from './xml-escape';

export type JunitFailOn = Severity | 'none';

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };
/** Findings written out in one test case; a case for 10,000 findings stays readable. */
const MAX_FINDINGS_PER_CASE = 50;

interface Case {
  kind: string;
  server: string;
  findings: Finding[];
  diagnoses: Diagnosis[];
}

function reaches(f: Finding, failOn: JunitFailOn): boolean {
  return failOn !== 'none' && RANK[f.severity] >= RANK[failOn];
}

function findingLine(f: Finding): string {
  return `${f.id} [${f.severity}] ${formatUtc(f.ts)} ${f.client ?? '*'} → ${f.server}: ${f.summary} (frames ${f.frames.join(' ') || '-'})`;
}

function caseDetails(c: Case): string {
  const lines = c.findings.slice(0, MAX_FINDINGS_PER_CASE).map(findingLine);
  if (c.findings.length > MAX_FINDINGS_PER_CASE) lines.push(`… and ${c.findings.length - MAX_FINDINGS_PER_CASE} more`);
  for (const d of c.diagnoses) {
    lines.push('');
    const inferred = Object.entries(d.inferred).map(([name, v]) => `${name} ≈ ${formatDuration(v.value)} (${v.samples} sample${v.samples === 1 ? '' : 's'})`);
    if (inferred.length) lines.push(`Inferred: ${inferred.join('; ')}`);
    lines.push(`What happened: ${d.explanation}`);
    lines.push(`What to change: ${d.remedy}`);
  }
  return lines.join('\n');
}

function casesOf(result: AnalysisResult): Case[] {
  const byKey = new Map<string, Case>();
  for (const f of result.anomalies) {
    const key = `${f.kind}\u0000${f.server}`;
    let c = byKey.get(key);
    if (!c) {
      c = { kind: f.kind, server: f.server, findings: [], diagnoses: [] };
      byKey.set(key, c);
    }
    c.findings.push(f);
  }
  for (const d of result.diagnoses) byKey.get(`${d.kind}\u0000${d.server}`)?.diagnoses.push(d);
  return [...byKey.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.server.localeCompare(b.server));
}

/** The JUnit XML document. */
export function renderJunit(result: AnalysisResult, failOn: JunitFailOn, requireCoverage = false): string {
  const cases = casesOf(result);
  const names = result.input.files.map((f) => f.name).join(', ') || 'capture';
  const body: string[] = [];
  let failures = 0;
  for (const c of cases) {
    const failing = c.findings.filter((f) => reaches(f, failOn));
    const open = `    <testcase classname="conncheck.${x(c.kind)}" name="${x(`${c.kind} at ${c.server}`)}" time="0">`;
    const details = caseDetails(c);
    if (failing.length > 0) {
      failures++;
      const message = truncate(`${failing.length} of ${c.findings.length} finding${c.findings.length === 1 ? '' : 's'} reach --fail-on ${failOn}: ${failing[0].summary}`, 500);
      body.push(open, `      <failure type="${x(c.kind)}" message="${x(message)}">${escapeXmlText(details)}</failure>`, '    </testcase>');
    } else {
      body.push(open, `      <system-out>${escapeXmlText(details)}</system-out>`, '    </testcase>');
    }
  }
  if (cases.length === 0) {
    const { stats } = result;
    const facts = `${stats.packets} packets, ${stats.connections} connections, ${stats.exchanges} HTTP exchanges. ${noFindingsText(stats, result.input)}`;
    body.push('    <testcase classname="conncheck" name="no connection-reuse problems" time="0">', `      <system-out>${escapeXmlText(facts)}</system-out>`, '    </testcase>');
  }
  // What the capture does not hold, as its own case: skipped (CI shows it, and does not fail) when
  // connections were captured one way only, or the capture was filtered down to some kinds of
  // packets, and so could not be judged; passing with the warning when packets were dropped.
  const oneWayLines = [filteredCaptureWarning(result.stats), oneWayWarning(result.stats)].filter((w): w is string => w !== null);
  const oneWay = oneWayLines.join('\n') || null;
  // Every coverage warning (those two among them) and the snaplen's, as the other reports lead with them.
  const warnings = coverageAndSnaplenWarnings(result);
  // With --require-coverage every reason the run fails on fails this case, as the exit code does.
  const uncovered = requireCoverage ? uncoveredReasons(result) : [];
  const incomplete = warnings.length > oneWayLines.length || uncovered.length > 0;
  let skipped = 0;
  if (oneWay !== null || incomplete) {
    const text = (uncovered.length > 0 ? uncovered : warnings).join('\n');
    body.push('    <testcase classname="conncheck.capture" name="capture coverage" time="0">');
    if (uncovered.length > 0) {
      failures++;
      body.push(`      <failure type="coverage" message="${x(truncate(`--require-coverage: ${uncovered[0]}`, 500))}"/>`);
    } else if (oneWay !== null) {
      skipped++;
      body.push(`      <skipped message="${x(truncate(oneWay, 500))}"/>`);
    }
    body.push(`      <system-out>${escapeXmlText(text)}</system-out>`, '    </testcase>');
  }
  const tests = Math.max(1, cases.length) + (oneWay !== null || incomplete ? 1 : 0);
  const counts = `tests="${tests}" failures="${failures}" errors="0" skipped="${skipped}" time="0"`;
  const properties = [
    ['files', names],
    ['packets', String(result.stats.packets)],
    ['connections', String(result.stats.connections)],
    ['exchanges', String(result.stats.exchanges)],
    ['findings', String(result.anomalies.length)],
    ['one-way-connections', String(oneWayCount(result.stats))],
    ['capture-loss-bytes', String(result.stats.captureLoss.bytes)],
    ['capture-dropped-packets', String(droppedByCapture(result.input) ?? 'unknown')],
    ['fail-on', failOn],
    ['capture-start', formatUtc(result.input.firstTs)],
    ['capture-end', formatUtc(result.input.lastTs)],
  ].map(([name, value]) => `      <property name="${x(name)}" value="${x(value)}"/>`);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="conncheck" ${counts}>`,
    `  <testsuite name="${x(`conncheck: ${names}`)}" ${counts}>`,
    '    <properties>',
    ...properties,
    '    </properties>',
    ...body,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
