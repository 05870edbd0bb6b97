import * as fs from 'node:fs';
import { AnalysisResult, analyzeFiles } from '../analyze';
import { EndpointSummary } from '../report/endpoint-summary';
import { CaptureError } from '../source/capture-error';
import { buildFilter, FilterArgs } from './filters';
import { exitCodeOf, FailOn } from './fail-on';
import { laddersOfFindings } from './ladders';
import { Format, needsCollect, openOutput, parseIgnore, streamingCallbacks, UsageError, writeFinalReport } from './output';
import { MAX_LADDERS } from '../report/html';
import type { Ladder } from '../report/ladder-model';
import { ProgressDisplay } from '../report/progress';
import { interruptStopsStdin } from './stdin-interrupt';

/** Options every command that analyzes packets takes (analyze, capture). */
export interface AnalysisArgs extends FilterArgs {
  format: Format;
  flows: boolean;
  output: string | undefined;
  failOn: FailOn;
  /** Exit 1 also when the capture cannot show part of what is looked for (fail-on.ts exitCodeOf). */
  requireCoverage: boolean;
  ignore: string[];
  idleTimeout: number;
  maxConnections: number;
  sample: number;
  top: number;
}

export interface AnalyzeArgs extends AnalysisArgs {
  files: string[];
}

/** Checks the options analyze and capture share. */
export function checkCommonArgs(a: { sample: number; idleTimeout: number; maxConnections: number }): void {
  if (!(Number.isInteger(a.sample) && a.sample >= 1)) throw new UsageError('--sample takes a whole number >= 1');
  if (!(a.idleTimeout > 0)) throw new UsageError('--idle-timeout takes a positive number of seconds');
  if (!(Number.isInteger(a.maxConnections) && a.maxConnections >= 1)) throw new UsageError('--max-connections takes a whole number >= 1');
}

/** `conncheck analyze FILE...`: resolves to the exit code. */
export async function runAnalyze(args: AnalyzeArgs): Promise<number> {
  if (args.files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be given only once');
  checkCommonArgs(args);
  const ignore = parseIgnore(args.ignore);
  const out = openOutput(args.output);
  const endpoints = new EndpointSummary();
  const progress = process.stderr.isTTY === true ? new ProgressDisplay(fileSizes(args.files), (s) => void process.stderr.write(s)) : null;
  const interrupt = interruptStopsStdin(args.files);
  let result: AnalysisResult;
  let failed = true;
  try {
    result = await analyzeFiles(args.files, {
      ignore,
      ...buildFilter(args),
      sample: args.sample,
      tracker: { idleTimeout: args.idleTimeout, maxConnections: args.maxConnections },
      collect: needsCollect(args.format, args.flows),
      ...streamingCallbacks(args.format, out, endpoints),
      onProgress: progress?.update,
    });
    failed = false;
  } finally {
    progress?.done();
    interrupt?.release();
    if (failed) out.discard();
  }
  if (interrupt?.cutShort === true) {
    for (const file of result.input.files) {
      if (file.name === '-') file.warnings.push('reading stopped by the interrupt while the writer still held the pipe open: what it sent after that was not read');
    }
  }
  for (const file of result.input.files) {
    for (const w of file.warnings) process.stderr.write(`conncheck: warning: ${file.name}: ${w}\n`);
  }
  const undecodable = undecodableInput(result);
  if (undecodable !== null) {
    out.discard();
    throw new CaptureError(undecodable);
  }
  const unmatched = unmatchedFlows(result);
  if (unmatched !== null) {
    out.discard();
    throw new UsageError(unmatched);
  }
  const ladders = args.format === 'html' ? await htmlLadders(args.files, result) : undefined;
  writeFinalReport(result, args.format, out, endpoints, args.flows, args.top, { failOn: args.failOn, requireCoverage: args.requireCoverage, ladders });
  out.close();
  return exitCodeOf(result, args.failOn, args.requireCoverage);
}

/**
 * Input of which not one packet could be decoded, every one of a link type conncheck does not read
 * (editcap -T user0, 802.11 radiotap): bad input, one line and exit 2, as a file that is no capture.
 * A report of it would say "no problems found" of traffic never looked at, and pass a CI gate.
 */
function undecodableInput(result: AnalysisResult): string | null {
  const s = result.stats;
  if (s.packets === 0 || s.unsupportedLink !== s.packets) return null;
  const files = result.input.files.filter((f) => f.records > 0);
  const types = [...new Set(files.flatMap((f) => f.linkTypes))].sort((a, b) => a - b);
  return (
    `${files.map((f) => f.name).join(', ')}: no packet could be decoded: link type ${types.join(', ')} is not one conncheck reads ` +
    '(Ethernet, Linux cooked SLL and SLL2, raw IP, BSD NULL and LOOP, NFLOG, PKTAP); if the packets are Ethernet frames ' +
    'under another link type, `editcap -T ether IN OUT` relabels them'
  );
}

/**
 * --flow ids that matched no connection: a typo or a flow id of another capture (or of another
 * --sample). Reported on would be "no problems found" and exit 0 about nothing: a usage error, as
 * explain's unknown flow id is (NDJSON has streamed the matched connections' lines by then).
 */
export function unmatchedFlows(result: AnalysisResult): string | null {
  const unmatched = result.stats.flowFilter?.unmatched ?? [];
  if (unmatched.length === 0) return null;
  const n = result.stats.connections;
  return `--flow ${unmatched.join(',')}: no such connection (the analysis has ${n} connection${n === 1 ? '' : 's'}: see analyze --flows)`;
}

/** Packets drawn per connection in the HTML report: enough context around each finding's frames. */
const HTML_COLLECT_LIMITS = { head: 40, around: 8, tail: 12 };

/**
 * Ladder diagrams of the first findings, from a second read of the files. Stdin cannot be read
 * again: the report then has no ladders (it says so).
 */
export async function htmlLadders(files: readonly string[], result: AnalysisResult): Promise<Map<string, Ladder[]> | undefined> {
  if (files.includes('-')) return undefined;
  return laddersOfFindings(files, result, result.anomalies.slice(0, MAX_LADDERS), HTML_COLLECT_LIMITS);
}

/** Sizes of the input files for the progress display (null for stdin or what cannot be stat'ed). */
function fileSizes(files: readonly string[]): Array<number | null> {
  return files.map((f) => {
    if (f === '-') return null;
    try {
      return fs.statSync(f).size;
    } catch {
      return null;
    }
  });
}
