import Table from 'cli-table3';
import type { AnalysisResult } from '../analyze';
import type { Diagnosis, Finding } from '../detect/finding';
import type { FlowRecord } from '../flow/flow-record';
import { EndpointSummary, requestCell } from './endpoint-summary';
import { formatBytes, formatDuration, formatUtc } from './format-time';
import { skippedPackets } from './skipped-packets';
import { tcpPacketsText } from './tunneled-packets';
import { timeWindowText } from './time-window';
import { coverageWarnings, noFindingsText } from './capture-coverage';
import { snaplenFramingWarning, translatedAddresses, unreadTraffic } from './unread-traffic';

/**
 * Zeek's conn_state meanings, for the summary. Zeek's own text for RSTRH and SHR names a SYN-ACK,
 * but it gives them to any connection whose client sent no SYN and counts as inactive or partial:
 * one seen mid-stream that the server reset or closed gets them too, and has no SYN-ACK.
 */
export const STATE_MEANING: Record<string, string> = {
  S0: 'SYN, no reply',
  S1: 'established, still open',
  SF: 'normal open and close',
  REJ: 'rejected (SYN answered by RST)',
  S2: 'established, client closed, no server close seen',
  S3: 'established, server closed, no client close seen',
  RSTO: 'client reset',
  RSTR: 'server reset',
  RSTOS0: 'client SYN then RST, no SYN-ACK',
  RSTRH: 'server reset, no client SYN seen (SYN-ACK then RST, or seen mid-stream)',
  SH: 'client SYN then FIN, no SYN-ACK',
  SHR: 'server closed, no client SYN seen (SYN-ACK then FIN, or seen mid-stream)',
  OTH: 'no SYN seen (mid-stream)',
};

export interface TableOptions {
  flows: boolean;
  endpoints: EndpointSummary;
  /** Rows of the top-endpoints table. */
  top: number;
  /** Terminal width to fit long text columns into (default 120). */
  width?: number;
}

function plainTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [] }, wordWrap: true });
}

/** Wraps prose to `width` columns with a hanging indent. */
function wrap(text: string, width: number, indent: string): string {
  const lead = /^\s*/.exec(text)?.[0] ?? '';
  const lines: string[] = [];
  let line = lead;
  for (const word of text.trim().split(/\s+/)) {
    if (line.trim() && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line.trim() ? `${line} ${word}` : line + word;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** A diagnosis --flow narrowed: its explanation still speaks of the whole capture's findings. */
export function ofCapture(d: Diagnosis): string {
  return d.anomaliesInCapture !== undefined ? ` shown (of ${d.anomaliesInCapture} in the capture, which the explanation covers)` : '';
}

/**
 * One line per diagnosis, before their prose: what an engineer who has thirty seconds reads first
 * (blind round 14: a busy capture's remedies ran to a hundred lines before the first table row).
 * Only where there are several: one diagnosis's header says as much.
 */
function diagnosisOverview(diagnoses: Diagnosis[], width: number): string[] {
  if (diagnoses.length < 2) return [];
  const kindWidth = Math.max(...diagnoses.map((d) => d.kind.length));
  const serverWidth = Math.max(...diagnoses.map((d) => d.server.length));
  const countWidth = Math.max(...diagnoses.map((d) => String(d.anomalyIds.length).length));
  return diagnoses.map((d) => {
    const n = d.anomalyIds.length;
    const inferred = Object.entries(d.inferred).map(([name, v]) => `${name} ≈ ${formatDuration(v.value)}`).join('; ');
    const line =
      `  ${d.severity.toUpperCase().padEnd(7)} ${d.kind.padEnd(kindWidth)}  ${d.server.padEnd(serverWidth)}  ${String(n).padStart(countWidth)} finding${n === 1 ? ' ' : 's'}` +
      (inferred === '' ? '' : `  ${inferred}`);
    return line.length > width ? `${line.slice(0, width - 1)}…` : line.trimEnd();
  });
}

function renderDiagnoses(diagnoses: Diagnosis[], width: number): string[] {
  const out: string[] = diagnosisOverview(diagnoses, width);
  if (out.length > 0) out.push('');
  for (const d of diagnoses) {
    out.push(`[${d.severity.toUpperCase()}] ${d.kind} at ${d.server} — ${d.anomalyIds.length} finding${d.anomalyIds.length === 1 ? '' : 's'}${ofCapture(d)}`);
    const inferred = Object.entries(d.inferred)
      .map(([name, v]) => `${name} ≈ ${formatDuration(v.value)} (${v.samples} sample${v.samples === 1 ? '' : 's'}, spread ${formatDuration(v.spread)})`)
      .join('; ');
    if (inferred) out.push(`  inferred: ${inferred}`);
    out.push(wrap(`  what happened: ${d.explanation}`, width, '    '));
    out.push(wrap(`  what to change: ${d.remedy}`, width, '    '));
    out.push('');
  }
  return out;
}

/** Findings listed per (kind, server) in the table; the rest are counted in one line. */
const FINDINGS_SHOWN_PER_GROUP = 10;

/** Keeps the first findings of each (kind, server), in capture order, and counts the others. */
function foldFindings(findings: Finding[], perGroup: number, diagnoses: readonly Diagnosis[] = []): { shown: Finding[]; folded: Array<{ kind: string; server: string; more: number }> } {
  // Findings one diagnosis gathers fold together, under its server (a port scan's probes of 200
  // ports are one group, not 200); the others by kind and server.
  const groupOf = new Map<string, string>();
  for (const d of diagnoses) for (const id of d.anomalyIds) groupOf.set(id, `${d.kind} ${d.server}`);
  const counts = new Map<string, number>();
  const shown: Finding[] = [];
  for (const f of findings) {
    const key = groupOf.get(f.id) ?? `${f.kind} ${f.server}`;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    if (n <= perGroup) shown.push(f);
  }
  const folded = [...counts].filter(([, n]) => n > perGroup).map(([key, n]) => {
    const [kind, server] = key.split(' ');
    return { kind, server, more: n - perGroup };
  });
  return { shown, folded };
}

function renderFindings(findings: Finding[], width: number): string {
  // Fixed columns take about 75 characters; the summary wraps into what is left.
  const what = Math.max(30, width - 78);
  const t = new Table({
    head: ['id', 'severity', 'time (UTC)', 'client → server', 'what', 'frames'],
    colWidths: [null, null, 14, null, what, 14] as unknown as number[],
    style: { head: [], border: [] },
    wordWrap: true,
  });
  for (const f of findings) {
    t.push([f.id, f.severity, formatUtc(f.ts).replace(' UTC', '').replace(' ', '\n'), `${f.client ?? '*'}\n→ ${f.server}`, f.summary, f.frames.slice(0, 12).join(' ') + (f.frames.length > 12 ? ' …' : '')]);
  }
  return t.toString();
}

function renderFlows(flows: FlowRecord[]): string {
  const t = plainTable(['id', 'start (UTC)', 'client', 'server', 'state', 'history', 'closed', 'pkts c/s', 'bytes c/s', 'req', 'duration']);
  let copies = false;
  let twins = false;
  let proxied = false;
  let inferred = false;
  let pathResets = false;
  for (const f of flows) {
    const serving = f.proxyProtocol?.source ?? null;
    proxied ||= serving !== null;
    const sameAs = f.sameConnectionAs;
    const copied = f.duplicates.client + f.duplicates.server > 0;
    copies ||= copied;
    twins ||= sameAs !== null;
    inferred ||= f.directionInferred;
    const fromPath = f.resetFromPath !== undefined;
    pathResets ||= fromPath;
    t.push([
      String(f.id) + (f.directionInferred ? '*' : '') + (sameAs !== null ? ` =${sameAs}` : ''),
      formatUtc(f.start),
      serving !== null ? `${f.client}\n(for ${serving})` : f.client,
      f.server,
      f.state,
      f.history,
      // A RST in a side's name that the side's host did not send is the path's (FlowRecord.resetFromPath).
      f.closedBy ? (fromPath ? `path rst\n(as ${f.closedBy})` : `${f.closedBy} ${f.close}`) : 'open',
      `${f.packets.client}/${f.packets.server}` + (copied ? `\n(${f.duplicates.client}/${f.duplicates.server} twice)` : ''),
      `${f.bytes.client}/${f.bytes.server}`,
      String(f.requests),
      formatDuration(f.duration),
    ]);
  }
  // Each note only under a table with a row it explains.
  const notes: string[] = [];
  if (inferred) notes.push('(* direction inferred: no SYN seen)');
  if (twins) notes.push('(=N: the same connection as N, seen again after address translation: not analyzed again)');
  if (copies) notes.push('(twice: packets the capture holds twice, on two interfaces; counted in pkts, not as retransmissions)');
  if (pathResets) notes.push("(path rst: a RST in the named side's address with another IP TTL than that side's packets: a middlebox on the path sent it)");
  if (proxied) notes.push('(for X: the client is a proxy or load balancer whose PROXY protocol header names the client X it serves)');
  return notes.length === 0 ? t.toString() : `${t.toString()}\n${notes.join('\n')}`;
}

/** The default human summary: capture facts, diagnoses and findings first, then connections, HTTP and endpoints. */
export function renderTable(result: AnalysisResult, options: TableOptions): string {
  const out: string[] = [];
  const { input, stats } = result;
  if (input.filesReordered) out.push('files read in the order of their first packets, not as given (frames are numbered in this order):');
  if (input.filesMerged) out.push('files overlapping in time merged by time; frames number the merge (mergecap -w merged.pcap with the files in this order):');
  for (const file of input.files) {
    out.push(`${file.name}: ${file.format}${file.gzip ? ' (gzip)' : ''}, ${file.records} packets, link ${file.linkTypes.join('/')}, timestamps ${file.tsResolution.join('/')}`);
    for (const w of file.warnings) out.push(`  warning: ${w}`);
    for (const n of file.notes) out.push(`  note: ${n}`);
  }
  out.push(`capture: ${formatUtc(input.firstTs)} → ${formatUtc(input.lastTs)} (${formatDuration(input.duration)}), ${stats.packets} packets, ${tcpPacketsText(stats)}`);
  if (input.window !== undefined) out.push(`window: ${timeWindowText(input.window)}`);
  const skipped = skippedPackets(stats);
  if (skipped.length) out.push(`skipped: ${skipped.join(', ')}`);
  // The snaplen's warning goes with its file's (analyze.ts); here only when no file carries it.
  const framing = input.files.some((f) => f.snaplenCut > 0) ? null : snaplenFramingWarning(stats);
  if (framing !== null) out.push(framing);
  out.push(...coverageWarnings(result));
  // With connections that came back, coverageWarnings says it (releasedEarlyWarning).
  if (stats.connectionsEvicted && stats.releasedEarly === undefined) out.push(`warning: ${stats.connectionsEvicted} connections released early at the connection cap (raise --max-connections)`);
  const notKept = Object.values(stats.findingsNotKept ?? {}).reduce((a, b) => a + b, 0);
  const narrowed = stats.flowFilter;
  if (narrowed !== undefined) {
    const all = narrowed.captureFindingsBySeverity.error + narrowed.captureFindingsBySeverity.warning + narrowed.captureFindingsBySeverity.info;
    out.push(`note: --flow ${narrowed.flowIds.join(',')}: findings, counts and the exit code are of ${narrowed.flowIds.length === 1 ? 'this connection' : 'these connections'} only (the whole capture has ${all} finding${all === 1 ? '' : 's'})`);
  }
  if (notKept > 0) out.push(`warning: ${notKept} findings past the first ${result.anomalies.length} were counted and streamed, not kept for this report (${Object.entries(stats.findingsNotKept).map(([k, n]) => `${k} ${n}`).join(', ')})`);
  out.push('');

  if (result.diagnoses.length === 0 && result.anomalies.length === 0) {
    out.push(noFindingsText(stats, input));
  } else {
    if (result.diagnoses.length) {
      out.push('DIAGNOSES');
      // One line at a time: a spread of a scan's thousands of lines overflowed the call stack.
      for (const line of renderDiagnoses(result.diagnoses, options.width ?? 120)) out.push(line);
    }
    if (result.anomalies.length) {
      out.push(`FINDINGS (${result.anomalies.length})`);
      const { shown, folded } = foldFindings(result.anomalies, FINDINGS_SHOWN_PER_GROUP, result.diagnoses);
      out.push(renderFindings(shown, options.width ?? 120));
      for (const f of folded) out.push(`… and ${f.more} more ${f.kind} at ${f.server} (all of them: --format json / ndjson; one by one: conncheck explain FILE ID)`);
    }
  }
  out.push('');

  const states = plainTable(['state', 'connections', 'meaning']);
  for (const [state, n] of Object.entries(stats.connectionsByState).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))) {
    states.push([state, String(n), STATE_MEANING[state] ?? '']);
  }
  out.push(`CONNECTIONS: ${stats.connections} (at most ${stats.peakLiveConnections} tracked at once), ${[`${stats.httpConnections} carrying HTTP`, ...unreadTraffic(stats)].join(', ')}, ${stats.exchanges} HTTP exchanges`);
  const translated = translatedAddresses(stats);
  if (translated !== null) out.push(translated);
  if (stats.connections) out.push(states.toString());
  const stopAtGap = (result.input.fileGaps ?? []).reduce((n, gap) => n + gap.openBefore, 0);
  // "Still open" is the capture's word for no close seen: a close in a hole between files is not seen either.
  if (stopAtGap > 0) out.push(`of the connections not closed (S1, S2, S3), ${stopAtGap} stop before a gap between files (see the warning): whether they closed in it is unknown`);

  const top = options.endpoints.top(options.top);
  if (top.length) {
    const t = plainTable(['server endpoint', 'connections', 'requests', '5xx', 'unanswered', 'refused', 'server resets', 'bytes']);
    for (const e of top) {
      t.push([e.server, String(e.connections), requestCell(e, e.requests), requestCell(e, e.serverErrors), requestCell(e, e.unanswered), String(e.refused), String(e.resets), formatBytes(e.bytes)]);
    }
    out.push('');
    out.push(`TOP SERVER ENDPOINTS (${top.length} of ${options.endpoints.size})`);
    out.push(t.toString());
    if (top.some((e) => requestCell(e, 0) === '-')) out.push(`  -: no HTTP request seen (TLS, a protocol conncheck does not parse${stats.snaplenCut > 0 ? ', requests cut off by the snaplen' : ''}, or requests before the capture began)`);
  }
  if (options.flows) {
    out.push('');
    out.push('FLOWS');
    out.push(renderFlows(result.flows));
  }
  return out.join('\n') + '\n';
}
