/**
 * `conncheck explain`: one finding (or one connection) told in full for a terminal — what the
 * detector concluded, the connection's ladder diagram with the decisive moments marked, the
 * diagnosis it belongs to, and a Wireshark filter for the same packets.
 */
import type { Diagnosis, Finding } from '../detect/finding';
import type { FlowRecord } from '../flow/flow-record';
import { paint, Paint } from './ansi';
import { formatDuration, formatUtc } from './format-time';
import { renderLadderText } from './ladder';
import { Ladder, printable } from './ladder-model';
import { STATE_MEANING } from './table';
import { wrapText } from './text-wrap';

const WIDTH = 80;

export interface ExplainOptions {
  colour: boolean;
}

function indented(text: string, indent: string, p: (s: string) => string = (s) => s): string[] {
  return wrapText(printable(text), WIDTH - indent.length).map((l) => indent + p(l));
}

function labelled(label: string, text: string): string[] {
  const pad = ' '.repeat(label.length);
  return wrapText(printable(text), WIDTH - label.length).map((l, i) => (i === 0 ? label : pad) + l);
}

function hostOf(endpoint: string): string {
  const colon = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, colon);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

function portOf(endpoint: string): string {
  return endpoint.slice(endpoint.lastIndexOf(':') + 1);
}

/** A Wireshark display filter for a connection's packets. */
export function wiresharkFlowFilter(flow: FlowRecord): string {
  const proto = flow.client.startsWith('[') ? 'ipv6' : 'ip';
  const [a, b] = [hostOf(flow.client), hostOf(flow.server)];
  const hosts = a === b ? `${proto}.addr==${a}` : `${proto}.addr==${a} && ${proto}.addr==${b}`;
  return `${hosts} && tcp.port==${portOf(flow.client)} && tcp.port==${portOf(flow.server)}`;
}

/** "Wireshark: <filter>" lines, the filters aligned under each other. */
function wiresharkLines(p: Paint, filters: readonly string[]): string[] {
  return filters.flatMap((f, i) => labelled(i === 0 ? 'Wireshark: ' : '           ', f)).map((l) => p.dim(l));
}

/** The side a reset label names (Zeek: RSTO* the originator, the client; RSTR* the responder), or null. */
function labelSide(state: string): 'client' | 'server' | null {
  return state.startsWith('RSTO') ? 'client' : state.startsWith('RSTR') ? 'server' : null;
}

function flowHeader(p: Paint, ladder: Ladder): string[] {
  const f = ladder.flow;
  const byPath = f.resetFromPath;
  const closed =
    f.closedBy === null ? 'not closed'
    : byPath !== undefined ? `reset by the path in the ${f.closedBy}'s name (IP TTL ${byPath.rstTtl}, the ${f.closedBy}'s packets ${byPath.ownTtl})`
    : `closed by ${f.closedBy} (${f.close})`;
  const facts = [
    // Zeek's label names the side whose address the RST bore; where the path sent it, its meaning
    // ("server reset") would contradict the close told right after it.
    `${f.state} (${byPath !== undefined && f.closedBy !== null && labelSide(f.state) === f.closedBy ? `a RST in the ${f.closedBy}'s name, sent by the path` : STATE_MEANING[f.state] ?? f.state})`,
    `history ${f.history || '-'}`,
    `${ladder.totalPackets} packets`,
    formatDuration(f.duration),
    closed,
  ];
  const shown = ladder.drawnPackets + ladder.copies < ladder.totalPackets ? [`${ladder.drawnPackets} of ${ladder.totalPackets} packets drawn`] : [];
  if (ladder.copies > 0) shown.push(`${ladder.copies} captured twice (on two interfaces), not drawn again`);
  return [
    ...wrapText(`flow ${f.id}${f.directionInferred ? ' (roles inferred: no SYN seen)' : ''}: client ${f.client} → server ${f.server}`, WIDTH).map((l) => p.bold(l)),
    ...indented(`started ${formatUtc(f.start)}; ${[...facts, ...shown].join(' · ')}`, '  '),
  ];
}

function ladderBlock(p: Paint, ladder: Ladder, options: ExplainOptions, frames: readonly number[]): string[] {
  const out = [...flowHeader(p, ladder), ''];
  out.push(...renderLadderText(ladder, options));
  for (const note of ladder.unplaced) out.push(...indented(note, '  ', p.dim));
  const filters = [wiresharkFlowFilter(ladder.flow)];
  if (frames.length > 0) filters.push(`frame.number in {${frames.join(' ')}}`);
  out.push('', ...wiresharkLines(p, filters));
  return out;
}

function diagnosisBlock(p: Paint, d: Diagnosis): string[] {
  const out = [p.bold(`Diagnosis: ${d.kind} at ${d.server} (${d.anomalyIds.length} finding${d.anomalyIds.length === 1 ? '' : 's'})`)];
  const inferred = Object.entries(d.inferred)
    .map(([name, v]) => `${name} ≈ ${formatDuration(v.value)} (${v.samples} sample${v.samples === 1 ? '' : 's'}, spread ${formatDuration(v.spread)})`)
    .join('; ');
  if (inferred) out.push(...labelled('  inferred: ', inferred));
  out.push(...labelled('  what happened: ', d.explanation));
  out.push(...labelled('  what to change: ', d.remedy));
  return out;
}

function severityColour(p: Paint, severity: Finding['severity']): (s: string) => string {
  return severity === 'error' ? p.red : severity === 'warning' ? p.yellow : p.blue;
}

/** The explanation of one finding drawn on its connection(s). */
export function renderFindingExplanation(finding: Finding, ladders: readonly Ladder[], diagnoses: readonly Diagnosis[], options: ExplainOptions): string {
  const p = paint(options.colour);
  const out: string[] = [];
  const where = finding.flowId === null ? `  at ${finding.server}` : '';
  out.push(`${p.bold(finding.id)}  ${severityColour(p, finding.severity)(finding.severity)}  ${formatUtc(finding.ts)}${where}`);
  out.push(...indented(finding.summary, '  '));
  out.push(...labelled('  frames: ', finding.frames.join(' ')));
  for (const ladder of ladders) out.push('', ...ladderBlock(p, ladder, options, finding.frames));
  if (ladders.length === 0) {
    out.push('', p.dim('  (no connection of this finding could be drawn)'));
    if (finding.frames.length > 0) out.push(...wiresharkLines(p, [`frame.number in {${finding.frames.join(' ')}}`]));
  }
  for (const d of diagnoses.filter((x) => x.anomalyIds.includes(finding.id))) out.push('', ...diagnosisBlock(p, d));
  return out.join('\n') + '\n';
}

/** The explanation of one connection: its ladder with every finding on it. */
export function renderFlowExplanation(ladder: Ladder, findings: readonly Finding[], diagnoses: readonly Diagnosis[], options: ExplainOptions): string {
  const p = paint(options.colour);
  const out: string[] = [];
  if (findings.length === 0) out.push(p.dim('No findings on this connection.'), '');
  for (const f of findings) {
    out.push(`${p.bold(f.id)}  ${severityColour(p, f.severity)(f.severity)}  ${formatUtc(f.ts)}`);
    out.push(...indented(f.summary, '  '));
  }
  if (findings.length > 0) out.push('');
  out.push(...ladderBlock(p, ladder, options, []));
  const ids = new Set(findings.map((f) => f.id));
  for (const d of diagnoses.filter((x) => x.anomalyIds.some((id) => ids.has(id)))) out.push('', ...diagnosisBlock(p, d));
  return out.join('\n') + '\n';
}
