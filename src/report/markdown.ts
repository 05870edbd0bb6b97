/**
 * `--format markdown`: a summary for CI job pages ($GITHUB_STEP_SUMMARY) and pull-request
 * comments — diagnoses first, then the findings with their frames, connection states and the
 * capture's facts. GitHub-flavoured Markdown; everything taken from the capture is escaped.
 */
import type { AnalysisResult } from '../analyze';
import type { Diagnosis, Finding, Severity } from '../detect/finding';
import { coverageWarnings, droppedByCapture, filteredCapture, oneWayWarning } from './capture-coverage';
import { formatDuration, formatUtc } from './format-time';
import { ofCapture, STATE_MEANING } from './table';
import { tcpPacketsText } from './tunneled-packets';
import { timeWindowText } from './time-window';
import { unreadTraffic } from './unread-traffic';

/** Rows of the findings table: a PR comment must stay well under GitHub's 65,536 characters. */
const MAX_FINDING_ROWS = 100;
const MAX_SUMMARY_CHARS = 300;

/** Text safe in Markdown prose and table cells: no markup, no HTML, no line breaks. */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]|~]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * Prose written by the detectors (explanations, remedies): their `code spans` stay code, the
 * rest is escaped (it can quote request lines from the capture).
 */
function escapeProse(text: string): string {
  const parts = text.split('`');
  if (parts.length % 2 === 0) return escapeMarkdown(text);
  return parts.map((part, i) => (i % 2 === 1 && part ? code(part) : escapeMarkdown(part))).join('');
}

/** A code span that holds any text (endpoints, ids). */
function code(text: string): string {
  const clean = text.replace(/[\r\n]+/g, ' ').replace(/`/g, "'");
  return `\`${clean.replace(/\|/g, '\\|')}\``;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const SEVERITY_WORD: Record<Severity, string> = { error: '**ERROR**', warning: '**WARNING**', info: 'info' };

function headline(result: AnalysisResult, names: string): string {
  const count = (s: Severity): number => result.anomalies.filter((a) => a.severity === s).length;
  if (result.anomalies.length === 0) {
    const dropped = droppedByCapture(result.input) ?? 0;
    const coverage =
      filteredCapture(result.stats) !== null
        ? ' (most could not be seen: the capture was filtered)'
        : oneWayWarning(result.stats) !== null
        ? ' (none could be seen on connections captured one way only)'
        : dropped > 0
          ? ` (in what the capture kept: it dropped ${dropped} packet${dropped === 1 ? '' : 's'})`
          : '';
    return `## conncheck: no connection-reuse problems in ${escapeMarkdown(names)}${coverage}`;
  }
  const parts = [plural(count('error'), 'error'), plural(count('warning'), 'warning')];
  if (count('info') > 0) parts.push(`${count('info')} info`);
  return `## conncheck: ${parts.join(', ')} in ${escapeMarkdown(names)}`;
}

function diagnosisBlock(d: Diagnosis): string[] {
  const out = [`### ${SEVERITY_WORD[d.severity]} ${escapeMarkdown(d.kind)} at ${code(d.server)} — ${plural(d.anomalyIds.length, 'finding')}${ofCapture(d)}`, ''];
  const inferred = Object.entries(d.inferred).map(
    ([name, v]) => `${code(name)} ≈ ${formatDuration(v.value)} (${plural(v.samples, 'sample')}, spread ${formatDuration(v.spread)})`,
  );
  if (inferred.length) out.push(`Inferred: ${inferred.join('; ')}`, '');
  out.push(`**What happened.** ${escapeProse(d.explanation)}`, '');
  out.push(`**What to change.** ${escapeProse(d.remedy)}`, '');
  return out;
}

function summaryCell(f: Finding): string {
  const s = f.summary.length > MAX_SUMMARY_CHARS ? `${f.summary.slice(0, MAX_SUMMARY_CHARS - 1)}…` : f.summary;
  return escapeMarkdown(s);
}

function findingsTable(findings: readonly Finding[]): string[] {
  const out = ['| id | severity | time (UTC) | client → server | what | frames |', '| --- | --- | --- | --- | --- | --- |'];
  for (const f of findings.slice(0, MAX_FINDING_ROWS)) {
    const frames = f.frames.slice(0, 12).join(' ') + (f.frames.length > 12 ? ' …' : '');
    out.push(`| ${code(f.id)} | ${f.severity} | ${formatUtc(f.ts)} | ${code(f.client ?? '*')} → ${code(f.server)} | ${summaryCell(f)} | ${frames || '-'} |`);
  }
  if (findings.length > MAX_FINDING_ROWS) out.push('', `… and ${findings.length - MAX_FINDING_ROWS} more findings (see \`--format json\`).`);
  return out;
}

/** The Markdown document. */
export function renderMarkdown(result: AnalysisResult): string {
  const { input, stats } = result;
  const names = input.files.map((f) => f.name).join(', ') || 'capture';
  const out: string[] = [headline(result, names), ''];
  // What the capture does not hold comes first: it bounds what the rest can say.
  const coverage = coverageWarnings(result);
  for (const w of coverage) out.push(`> **Capture:** ${escapeMarkdown(w.replace(/^warning: /, ''))}`, '');
  if (result.diagnoses.length > 0) {
    for (const d of result.diagnoses) for (const line of diagnosisBlock(d)) out.push(line);
  } else if (result.anomalies.length > 0) {
    out.push('No diagnosis across connections; the findings are below.', '');
  }
  if (result.anomalies.length > 0) {
    out.push(`### Findings (${result.anomalies.length})`, '', ...findingsTable(result.anomalies), '');
    const example = result.anomalies[0].id;
    const file = input.files.length === 1 ? input.files[0].name : 'FILE';
    out.push(`Draw one: ${code(`conncheck explain ${file} ${example}`)}; frames are Wireshark's frame numbers.`, '');
  }
  out.push('### Connections', '');
  out.push(`${plural(stats.connections, 'connection')} (at most ${stats.peakLiveConnections} tracked at once), ${[`${stats.httpConnections} carrying HTTP`, ...unreadTraffic(stats)].join(', ')}, ${plural(stats.exchanges, 'HTTP exchange')}.`, '');
  const states = Object.entries(stats.connectionsByState).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0) || a[0].localeCompare(b[0]));
  if (states.length > 0) {
    out.push('| state | connections | meaning |', '| --- | ---: | --- |');
    for (const [state, count] of states) out.push(`| ${code(state)} | ${count ?? 0} | ${escapeMarkdown(STATE_MEANING[state] ?? '')} |`);
    out.push('');
  }
  out.push('### Capture', '');
  out.push(`${formatUtc(input.firstTs)} → ${formatUtc(input.lastTs)} (${formatDuration(input.duration)}), ${plural(stats.packets, 'packet')}, ${tcpPacketsText(stats)}.`, '');
  if (input.window !== undefined) out.push(`Window: ${escapeMarkdown(timeWindowText(input.window))}.`, '');
  if (input.filesReordered) out.push('Files read in the order of their first packets, not as given (frames are numbered in this order).', '');
  if (input.filesMerged) out.push('Files overlapping in time were merged by time; frames number the merge (`mergecap -w merged.pcap` with the files in this order).', '');
  out.push('| file | format | packets | link types | timestamps |', '| --- | --- | ---: | --- | --- |');
  for (const f of input.files) {
    out.push(`| ${code(f.name)} | ${f.format}${f.gzip ? ' (gzip)' : ''} | ${f.records} | ${f.linkTypes.join('/')} | ${f.tsResolution.join('/')} |`);
  }
  const notes: string[] = [];
  if (stats.notTcp) notes.push(`${stats.notTcp} not TCP`);
  if (stats.fragments) notes.push(`${stats.fragments} IP fragments`);
  if (stats.truncated) notes.push(`${stats.truncated} truncated`);
  if (stats.malformed) notes.push(`${stats.malformed} malformed`);
  if (stats.sampledOut) notes.push(`${stats.sampledOut} sampled out`);
  if (stats.filteredOut) notes.push(`${stats.filteredOut} filtered out`);
  if (stats.connectionsEvicted && stats.releasedEarly === undefined) notes.push(`${stats.connectionsEvicted} connections released early at the connection cap`);
  const notKept = Object.values(stats.findingsNotKept ?? {}).reduce((a, b) => a + b, 0);
  if (notKept > 0) notes.push(`${notKept} findings counted but not kept for this report`);
  const warnings = input.files.flatMap((f) => f.warnings.map((w) => `${f.name}: ${w}`));
  if (notes.length || warnings.length || input.files.some((f) => f.notes.length > 0)) out.push('');
  if (notes.length) out.push(`Skipped: ${escapeMarkdown(notes.join(', '))}.`);
  for (const w of warnings) out.push(`Warning: ${escapeMarkdown(w)}`);
  for (const n of input.files.flatMap((f) => f.notes.map((text) => `${f.name}: ${text}`))) out.push(`Note: ${escapeMarkdown(n)}`);
  return out.join('\n') + '\n';
}
