/**
 * `--format html`: one self-contained page (inline CSS and SVG; no scripts, fonts or network)
 * that a person opens from a CI artifact: the capture in numbers, the diagnoses with what to
 * change, when findings happened, idle gaps against the inferred timeouts, response times, and
 * a ladder diagram of each finding's connection.
 */
import type { AnalysisResult } from '../analyze';
import type { Diagnosis, Finding, Severity } from '../detect/finding';
import { EndpointSummary, requestCell } from './endpoint-summary';
import { formatBytes, formatDuration, formatUtc } from './format-time';
import type { Ladder } from './ladder-model';
import { renderLadderSvg } from './ladder-svg';
import { histogramSvg, Marker, timelineSvg } from './svg-charts';
import { ofCapture, STATE_MEANING } from './table';
import { idleSamples, quantile, responseTimes } from './timing-samples';
import { escapeXml as x } from './xml-escape';
import { coverageWarnings, noFindingsText } from './capture-coverage';
import { skippedPackets } from './skipped-packets';
import { tcpPacketsText } from './tunneled-packets';
import { timeWindowText } from './time-window';
import { unreadTraffic } from './unread-traffic';

export interface HtmlOptions {
  /** Ladder diagrams by finding id (those drawn; see MAX_LADDERS). */
  ladders?: ReadonlyMap<string, readonly Ladder[]>;
  endpoints?: EndpointSummary;
  /** Findings drawn as ladders (the first ones); the rest are listed. */
  maxLadders?: number;
}

/** Findings given a ladder diagram: the page stays light with thousands of findings. */
export const MAX_LADDERS = 50;
/** Findings given their own section; the rest are only rows of the table. */
const MAX_FINDING_SECTIONS = 200;
const MAX_TABLE_ROWS = 2000;
const MAX_TIMELINE_POINTS = 100_000;
const MAX_IDLE_CHARTS = 4;

const SEVERITY_COLOUR: Record<Severity, string> = { error: '#c62828', warning: '#ef6c00', info: '#1565c0' };

const CSS = `
:root { color-scheme: light; --fg: #1d2329; --muted: #5f6b76; --line: #dde3e8; --bg: #f5f7f9; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header { background: #16202a; color: #fff; padding: 20px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header .sub { margin: 4px 0 0; color: #b8c4ce; }
main { max-width: 1080px; margin: 0 auto; padding: 8px 24px 40px; }
h2 { font-size: 18px; margin: 32px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 0 0 6px; }
section > p, .muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(128px, 1fr)); gap: 12px; margin-top: 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .v { font-size: 22px; font-weight: 600; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.capture-warning { color: #ef6c00; }
.card.bad .v { color: #c62828; } .card.warn .v { color: #ef6c00; } .card.good .v { color: #2e7d32; }
.diag { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--sev); border-radius: 8px; padding: 14px 18px; margin: 12px 0; }
.diag p { margin: 6px 0; }
.diag .label { font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; background: var(--sev); text-transform: uppercase; letter-spacing: .03em; vertical-align: 1px; }
.sev-error { --sev: #c62828; } .sev-warning { --sev: #ef6c00; } .sev-info { --sev: #1565c0; }
.inferred { display: flex; flex-wrap: wrap; gap: 8px; margin: 8px 0; }
.inferred span { background: #eef2f5; border-radius: 6px; padding: 2px 8px; font-size: 13px; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); border-radius: 8px; overflow: hidden; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef2f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.figure { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 12px 0; overflow-x: auto; }
.figure h3 { margin-bottom: 4px; }
.figure p { margin: 2px 0 8px; color: var(--muted); font-size: 13px; }
.finding { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--sev); border-radius: 8px; padding: 14px 18px; margin: 14px 0; }
.finding p { margin: 6px 0; }
.ladder-wrap { overflow-x: auto; margin-top: 10px; border-top: 1px solid var(--line); padding-top: 8px; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; }
svg .tick { font-size: 11px; fill: #5f6b76; }
svg .axis-label, svg .legend { font-size: 12px; fill: #37424c; }
svg .marker { font-size: 12px; font-weight: 600; paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
svg .grid { stroke: #e8edf1; stroke-width: 1; }
svg .axis { stroke: #8a96a1; stroke-width: 1; }
svg.ladder text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
svg.ladder .who { font-size: 12px; font-weight: 700; fill: #37424c; font-family: system-ui, "DejaVu Sans", sans-serif; }
svg.ladder .ep { font-size: 12px; fill: #37424c; }
svg.ladder .colhead { font-size: 11px; fill: #8a96a1; }
svg.ladder .life { stroke: #37424c; stroke-width: 2; }
svg.ladder .frame { font-size: 12px; fill: #37424c; }
svg.ladder .dt { font-size: 11px; fill: #8a96a1; }
svg.ladder .lbl { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 4px; stroke-linejoin: round; }
svg.ladder .note { font-size: 12px; fill: #37424c; }
svg.ladder .note.http { font-weight: 700; fill: #1d2329; }
svg.ladder .note.finding { font-weight: 700; fill: #b71c1c; }
svg.ladder .note.info { fill: #8a96a1; }
svg.ladder .decisive { fill: #c62828; fill-opacity: .07; }
svg.ladder .gap { font-size: 11px; fill: #8a96a1; font-style: italic; }
svg.ladder .gapmark { font-size: 16px; fill: #37424c; }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
`;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function findingAnchor(id: string): string {
  return `finding-${id.replace(/[^a-zA-Z0-9-]/g, '-')}`;
}

function card(label: string, value: string, tone = ''): string {
  return `<div class="card ${tone}"><div class="v">${x(value)}</div><div class="k">${x(label)}</div></div>`;
}

function summaryCards(result: AnalysisResult): string {
  const bySeverity = (s: Severity): number => result.anomalies.filter((a) => a.severity === s).length;
  const errors = bySeverity('error');
  const warnings = bySeverity('warning');
  return (
    '<section class="cards">' +
    card('errors', String(errors), errors > 0 ? 'bad' : 'good') +
    card('warnings', String(warnings), warnings > 0 ? 'warn' : 'good') +
    card('info', String(bySeverity('info'))) +
    card('connections', String(result.stats.connections)) +
    card('HTTP exchanges', String(result.stats.exchanges)) +
    card('packets', String(result.stats.packets)) +
    card('capture span', formatDuration(result.input.duration)) +
    '</section>'
  );
}

/** Detector prose: escaped, its `code spans` (option names) set as code. */
function prose(text: string): string {
  const parts = text.split('`');
  if (parts.length % 2 === 0) return x(text);
  return parts.map((part, i) => (i % 2 === 1 && part ? `<code>${x(part)}</code>` : x(part))).join('');
}

function diagnosisHtml(d: Diagnosis): string {
  const inferred = Object.entries(d.inferred)
    .map(([name, v]) => `<span><b>${x(name)}</b> ≈ ${x(formatDuration(v.value))} <span class="muted">(${plural(v.samples, 'sample')}, spread ${x(formatDuration(v.spread))})</span></span>`)
    .join('');
  const links = d.anomalyIds
    .slice(0, 12)
    .map((id) => `<a href="#${findingAnchor(id)}">${x(id)}</a>`)
    .join(', ');
  return (
    `<div class="diag sev-${d.severity}">` +
    `<h3><span class="badge">${d.severity}</span> ${x(d.kind)} at <code>${x(d.server)}</code> <span class="muted">— ${plural(d.anomalyIds.length, 'finding')}${x(ofCapture(d))}</span></h3>` +
    (inferred ? `<div class="inferred">${inferred}</div>` : '') +
    `<p><span class="label">What happened.</span> ${prose(d.explanation)}</p>` +
    `<p><span class="label">What to change.</span> ${prose(d.remedy)}</p>` +
    `<p class="muted">Findings: ${links}${d.anomalyIds.length > 12 ? ', …' : ''}</p>` +
    '</div>'
  );
}

function timelineSection(result: AnalysisResult): string {
  const { firstTs, lastTs } = result.input;
  if (result.anomalies.length === 0 || firstTs === null || lastTs === null) return '';
  const shown = result.anomalies.slice(0, MAX_TIMELINE_POINTS);
  const points = shown.map((f) => ({
    ts: f.ts,
    row: f.kind,
    colour: SEVERITY_COLOUR[f.severity],
    href: `#${findingAnchor(f.id)}`,
    title: `${f.id} (${f.severity}) at ${formatUtc(f.ts)}: ${f.summary}`,
  }));
  const more = result.anomalies.length > shown.length ? ` The first ${shown.length} of ${result.anomalies.length} are drawn.` : '';
  return (
    '<section id="timeline"><h2>Findings over time</h2>' +
    (shown.length <= 600
      ? `<p>Each dot is a finding, coloured by severity (red error, orange warning, blue info); click one for its ladder diagram.${more}</p>`
      : `<p>Findings per slice of capture time, one row per kind (bar height: count in the slice).${more}</p>`) +
    `<div class="figure">${timelineSvg(points, firstTs, lastTs)}</div></section>`
  );
}

const TIMEOUT_COLOURS: Record<string, string> = { serverIdleTimeout: '#c62828', advertisedKeepAliveTimeout: '#546e7a' };

function idleSection(result: AnalysisResult): string {
  const samples = idleSamples(result);
  if (samples.length === 0) {
    return '<section id="idle"><h2>Idle gaps: server closes and client reuses</h2><p>No idle closes by a server and no reused connections in this capture.</p></section>';
  }
  const figures = samples.slice(0, MAX_IDLE_CHARTS).map((s) => {
    const markers: Marker[] = s.timeouts.map((t) => ({
      value: t.seconds,
      label: `${t.name} ≈ ${formatDuration(t.seconds)}`,
      colour: TIMEOUT_COLOURS[t.name] ?? '#6a1b9a',
    }));
    const svg = histogramSvg({
      title: `Idle gaps at ${s.server}`,
      series: [
        { name: 'idle before the server closed', colour: '#e57373', values: s.serverCloses },
        { name: 'idle before a client reused', colour: '#42a5f5', values: s.reuses },
      ],
      markers,
      scale: 'linear',
      xLabel: 'seconds the connection was idle',
      width: 1000,
    });
    return (
      `<div class="figure"><h3><code>${x(s.server)}</code></h3>` +
      `<p>${plural(s.serverCloses.length, 'idle close')} by the server, ${plural(s.reuses.length, 'reuse')} by clients.` +
      `${s.timeouts.length > 0 ? ' Reuses at or past the server’s idle timeout race its FIN.' : ''}</p>` +
      `${svg}</div>`
    );
  });
  const more = samples.length > MAX_IDLE_CHARTS ? `<p>${samples.length - MAX_IDLE_CHARTS} more server endpoints not drawn.</p>` : '';
  return (
    '<section id="idle"><h2>Idle gaps: server closes and client reuses</h2>' +
    '<p>How long connections sat idle before the server closed them (red), and before clients sent another request on them (blue). ' +
    'Dashed lines are the timeouts inferred or advertised.</p>' +
    figures.join('') +
    more +
    '</section>'
  );
}

function responseSection(result: AnalysisResult): string {
  const perServer = responseTimes(result);
  if (perServer.length === 0) return '<section id="response-times"><h2>Response times</h2><p>No answered HTTP requests in this capture.</p></section>';
  const all = perServer.flatMap((s) => s.values);
  const svg = histogramSvg({
    title: 'Response times',
    series: [{ name: 'responses', colour: '#5c6bc0', values: all }],
    scale: 'log',
    xLabel: 'from the end of the request to the first byte of the response (log scale)',
    width: 1000,
  });
  const rows = perServer
    .slice(0, 20)
    .map(
      (s) =>
        `<tr><td><code>${x(s.server)}</code></td><td class="num">${s.values.length}</td>` +
        [0.5, 0.9, 0.99, 1].map((q) => `<td class="num">${x(formatDuration(quantile(s.values, q)))}</td>`).join('') +
        '</tr>',
    )
    .join('');
  return (
    '<section id="response-times"><h2>Response times</h2>' +
    `<div class="figure">${svg}</div>` +
    `<table><thead><tr><th>server endpoint</th><th class="num">responses</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">max</th></tr></thead><tbody>${rows}</tbody></table>` +
    '</section>'
  );
}

function findingTable(findings: readonly Finding[]): string {
  const rows = findings
    .slice(0, MAX_TABLE_ROWS)
    .map(
      (f) =>
        `<tr class="sev-${f.severity}"><td><a href="#${findingAnchor(f.id)}">${x(f.id)}</a></td><td><span class="badge">${f.severity}</span></td>` +
        `<td class="mono">${x(formatUtc(f.ts))}</td><td class="mono">${x(f.client ?? '*')} → ${x(f.server)}</td><td>${x(f.summary)}</td>` +
        `<td class="mono">${x(f.frames.slice(0, 12).join(' ') + (f.frames.length > 12 ? ' …' : ''))}</td></tr>`,
    )
    .join('');
  const more = findings.length > MAX_TABLE_ROWS ? `<p>${findings.length - MAX_TABLE_ROWS} more findings not listed (see --format json).</p>` : '';
  return `<table><thead><tr><th>id</th><th>severity</th><th>time (UTC)</th><th>client → server</th><th>what</th><th>frames</th></tr></thead><tbody>${rows}</tbody></table>${more}`;
}

/** Whether a finding's ladders were looked for: yes, no (past the cap), or not at all (no file to read again). */
type LadderState = 'drawn' | 'capped' | 'unavailable';

function findingSection(f: Finding, ladders: readonly Ladder[] | undefined, state: LadderState, command: string): string {
  let body = '';
  if (ladders && ladders.length > 0) {
    body = ladders
      .map((l) => {
        const notes = l.unplaced.map((u) => `<p class="muted">${x(u)}</p>`).join('');
        const drawnOf =
          (l.drawnPackets + l.copies < l.totalPackets ? `; ${l.drawnPackets} of ${l.totalPackets} packets drawn` : '') +
          (l.copies > 0 ? `; ${l.copies} captured twice, not drawn again` : '');
        return (
          `<div class="ladder-wrap"><p class="muted">flow ${l.flow.id}: ${x(l.flow.state)} (${x(STATE_MEANING[l.flow.state] ?? '')}), history <code>${x(l.flow.history || '-')}</code>, ` +
          `${plural(l.totalPackets, 'packet')}, ${x(formatDuration(l.flow.duration))}${drawnOf}</p>` +
          `${renderLadderSvg(l, `Ladder diagram of ${f.id} on flow ${l.flow.id}`)}${notes}</div>`
        );
      })
      .join('');
  } else if (state === 'drawn') body = '<p class="muted">No connection of this finding could be drawn.</p>';
  else if (state === 'capped') body = `<p class="muted">Ladder diagrams are drawn for the first ${MAX_LADDERS} findings; run <code>${x(command)}</code> for this one.</p>`;
  else body = `<p class="muted">No ladder diagram: it needs the capture file read a second time (not stdin or a live capture); run <code>${x(command)}</code> on a saved file.</p>`;
  return (
    `<article class="finding sev-${f.severity}" id="${findingAnchor(f.id)}">` +
    `<h3><span class="badge">${f.severity}</span> ${x(f.id)} <span class="muted">· ${x(formatUtc(f.ts))} · <code>${x(f.client ?? '*')}</code> → <code>${x(f.server)}</code></span></h3>` +
    `<p>${x(f.summary)}</p>` +
    `<p class="muted">Frames ${x(f.frames.join(' ') || '-')} · <code>${x(command)}</code></p>` +
    body +
    '</article>'
  );
}

function findingsSection(result: AnalysisResult, options: HtmlOptions): string {
  const findings = result.anomalies;
  if (findings.length === 0) return '';
  const file = result.input.files.length === 1 ? result.input.files[0].name : 'FILE';
  const limit = options.maxLadders ?? MAX_LADDERS;
  const sections = findings
    .slice(0, MAX_FINDING_SECTIONS)
    .map((f, i) => findingSection(f, options.ladders?.get(f.id), options.ladders === undefined ? 'unavailable' : i < limit ? 'drawn' : 'capped', `conncheck explain ${file} ${f.id}`))
    .join('');
  const more = findings.length > MAX_FINDING_SECTIONS ? `<p>${findings.length - MAX_FINDING_SECTIONS} more findings are only in the table above.</p>` : '';
  return `<section id="findings"><h2>Findings (${findings.length})</h2>${findingTable(findings)}${sections}${more}</section>`;
}

function connectionsSection(result: AnalysisResult, options: HtmlOptions): string {
  const { stats } = result;
  const states = Object.entries(stats.connectionsByState)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))
    .map(([s, count]) => `<tr><td><code>${x(s)}</code></td><td class="num">${count ?? 0}</td><td>${x(STATE_MEANING[s] ?? '')}</td></tr>`)
    .join('');
  let endpoints = '';
  const top = options.endpoints?.top(20) ?? [];
  if (top.length > 0) {
    const rows = top
      .map(
        (e) =>
          `<tr><td><code>${x(e.server)}</code></td><td class="num">${e.connections}</td><td class="num">${requestCell(e, e.requests)}</td><td class="num">${requestCell(e, e.serverErrors)}</td>` +
          `<td class="num">${requestCell(e, e.unanswered)}</td><td class="num">${e.refused}</td><td class="num">${e.resets}</td><td class="num">${x(formatBytes(e.bytes))}</td></tr>`,
      )
      .join('');
    endpoints =
      '<h3 style="margin-top:16px">Server endpoints</h3>' +
      `<table><thead><tr><th>server endpoint</th><th class="num">connections</th><th class="num">requests</th><th class="num">5xx</th><th class="num">unanswered</th><th class="num">refused</th><th class="num">server resets</th><th class="num">bytes</th></tr></thead><tbody>${rows}</tbody></table>`;
  }
  return (
    '<section id="connections"><h2>Connections</h2>' +
    `<p>${plural(stats.connections, 'connection')} (at most ${stats.peakLiveConnections} tracked at once), ${x([`${stats.httpConnections} carrying HTTP`, ...unreadTraffic(stats)].join(', '))}, ${plural(stats.exchanges, 'HTTP exchange')}.</p>` +
    (states ? `<table><thead><tr><th>state</th><th class="num">connections</th><th>meaning</th></tr></thead><tbody>${states}</tbody></table>` : '') +
    endpoints +
    '</section>'
  );
}

function captureSection(result: AnalysisResult): string {
  const { input, stats } = result;
  const files = input.files
    .map(
      (f) =>
        `<tr><td><code>${x(f.name)}</code></td><td>${f.format}${f.gzip ? ' (gzip)' : ''}</td><td class="num">${f.records}</td><td>${x(f.linkTypes.join('/'))}</td>` +
        `<td>${x(f.tsResolution.join('/'))}</td><td>${x([...f.warnings, ...f.notes.map((n) => `note: ${n}`)].join('; ') || '-')}</td></tr>`,
    )
    .join('');
  const skipped = skippedPackets(stats);
  const issues = Object.entries(stats.decodeIssues).map(([k, v]) => `${k}: ${v}`);
  return (
    '<section id="capture"><h2>Capture</h2>' +
    `<p>${x(formatUtc(input.firstTs))} → ${x(formatUtc(input.lastTs))} (${x(formatDuration(input.duration))}), ${plural(stats.packets, 'packet')}, ${x(tcpPacketsText(stats))}` +
    `${skipped.length ? `; skipped: ${x(skipped.join(', '))}` : ''}${issues.length ? `; decode issues: ${x(issues.join(', '))}` : ''}.</p>` +
    (input.window !== undefined ? `<p>Window: ${x(timeWindowText(input.window))}.</p>` : '') +
    `<table><thead><tr><th>file</th><th>format</th><th class="num">packets</th><th>link types</th><th>timestamps</th><th>warnings</th></tr></thead><tbody>${files}</tbody></table>` +
    '</section>'
  );
}

/** The whole page. */
export function renderHtml(result: AnalysisResult, options: HtmlOptions = {}): string {
  const names = result.input.files.map((f) => f.name).join(', ') || 'capture';
  const problems = result.anomalies.length;
  const coverage = coverageWarnings(result)
    .map((w) => `<p class="capture-warning">${x(w)}</p>`)
    .join('');
  const headline =
    problems === 0
      ? noFindingsText(result.stats, result.input)
      : `${result.diagnoses.length} diagnos${result.diagnoses.length === 1 ? 'is' : 'es'} from ${plural(problems, 'finding')}.`;
  const diagnoses =
    result.diagnoses.length > 0
      ? result.diagnoses.map(diagnosisHtml).join('')
      : `<p>${problems === 0 ? x(noFindingsText(result.stats, result.input)) : 'No diagnosis across connections; see the findings below.'}</p>`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>conncheck: ${x(names)}</title><style>${CSS}</style></head><body>` +
    `<header><h1>conncheck: ${x(names)}</h1><p class="sub">${x(formatUtc(result.input.firstTs))} → ${x(formatUtc(result.input.lastTs))} · ${x(headline)}</p></header>` +
    '<main>' +
    summaryCards(result) +
    `<section id="diagnoses"><h2>Diagnoses</h2>${coverage}${diagnoses}</section>` +
    timelineSection(result) +
    idleSection(result) +
    responseSection(result) +
    findingsSection(result, options) +
    connectionsSection(result, options) +
    captureSection(result) +
    '<footer>Made by conncheck from capture times only; this page loads nothing from the network.</footer>' +
    '</main></body></html>\n'
  );
}
