import * as fs from 'node:fs';
import type { AnalysisResult, AnalyzeOptions } from '../analyze';
import { DETECTORS } from '../detect/registry';
import type { AnomalyKind } from '../detect/finding';
import { EndpointSummary } from '../report/endpoint-summary';
import { ndjsonLine, writeJson } from '../report/json';
import { renderHtml } from '../report/html';
import { renderJunit } from '../report/junit';
import type { Ladder } from '../report/ladder-model';
import { renderMarkdown } from '../report/markdown';
import { renderTable } from '../report/table';
import type { FailOn } from './fail-on';

/** A problem with what the user asked for: one line on stderr, exit 2. */
export class UsageError extends Error {}

export const FORMATS = ['table', 'json', 'ndjson', 'html', 'junit', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

/** Whether a format needs every flow and exchange kept in the result (the rest stream). */
export function needsCollect(format: Format, flows: boolean): boolean {
  return format === 'json' || format === 'html' || (format === 'table' && flows);
}

export interface FinalReportExtras {
  /** For JUnit: which findings are failures. */
  failOn?: FailOn;
  /** For HTML: ladder diagrams by finding id. */
  ladders?: ReadonlyMap<string, readonly Ladder[]>;
  /** `--require-coverage`: JUnit's capture-coverage case fails where the run does. */
  requireCoverage?: boolean;
}

export interface Output {
  write(s: string): void;
  /** The report is whole: -o FILE now holds it. */
  close(): void;
  /** The run failed (exit 2): no report, and no empty or half-written -o FILE left behind. */
  discard(): void;
}

/**
 * Writes to stdout or to -o FILE. A regular file is written beside it under a temporary name and
 * renamed over it only when the report is whole: a run that fails (a file that is no capture, exit
 * 2) leaves no empty or half-written report for a CI job's JUnit or JSON publisher to read as one
 * (blind round 12). A device or pipe (`-o /dev/stdout`) is written directly.
 */
export function openOutput(file: string | undefined): Output {
  if (!file || file === '-') return { write: (s) => void process.stdout.write(s), close: () => undefined, discard: () => undefined };
  const fail = (e: unknown): never => {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  };
  let direct = false;
  try {
    direct = !fs.statSync(file).isFile();
  } catch {
    // Not there yet: a new regular file.
  }
  const target = direct ? file : `${file}.conncheck-${process.pid}.tmp`;
  let fd = -1;
  try {
    fd = fs.openSync(target, 'w');
  } catch (e) {
    fail(e);
  }
  let closed = false;
  const closeFd = (): void => {
    if (closed) return;
    closed = true;
    fs.closeSync(fd);
  };
  return {
    write: (s) => void fs.writeSync(fd, s),
    close: () => {
      closeFd();
      if (direct) return;
      try {
        fs.renameSync(target, file);
      } catch (e) {
        fs.rmSync(target, { force: true });
        fail(e);
      }
    },
    discard: () => {
      closeFd();
      if (direct) return;
      fs.rmSync(target, { force: true });
      // The report this run was to write does not exist: an older one left there would pass for it.
      fs.rmSync(file, { force: true });
    },
  };
}

/** Fails now, with one line, if `file` cannot be written (before a capture starts, not at its first packet). */
export function checkWritable(file: string, option: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'w'));
  } catch (e) {
    throw new UsageError(`${option} ${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export function parseIgnore(values: readonly string[]): AnomalyKind[] {
  const known = new Set<string>(DETECTORS.map((d) => d.id));
  const kinds: AnomalyKind[] = [];
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    if (!known.has(v)) throw new UsageError(`--ignore: unknown kind '${v}' (known: ${[...known].join(', ')})`);
    kinds.push(v as AnomalyKind);
  }
  return kinds;
}

/**
 * The streaming half of a report: what flows, exchanges and findings do as they are decided
 * (NDJSON lines, the endpoint summary). Returns the AnalyzeOptions callbacks.
 */
export function streamingCallbacks(format: Format, out: Output, endpoints: EndpointSummary): Pick<AnalyzeOptions, 'onFlow' | 'onExchange' | 'onFinding'> {
  const streaming = format === 'ndjson';
  return {
    onFlow: (flow) => {
      endpoints.addFlow(flow);
      if (streaming) out.write(ndjsonLine('flow', flow));
    },
    onExchange: (exchange, ends) => {
      endpoints.addExchange(exchange, ends.server);
      if (streaming) out.write(ndjsonLine('exchange', exchange));
    },
    onFinding: (finding) => {
      if (streaming) out.write(ndjsonLine('anomaly', finding));
    },
  };
}

/** The closing part of a report, once the analysis is finished. */
export function writeFinalReport(
  result: AnalysisResult,
  format: Format,
  out: Output,
  endpoints: EndpointSummary,
  flows: boolean,
  top: number,
  extras: FinalReportExtras = {},
): void {
  switch (format) {
    case 'json':
      writeJson(result, (text) => out.write(text));
      break;
    case 'ndjson':
      for (const d of result.diagnoses) out.write(ndjsonLine('diagnosis', d));
      out.write(ndjsonLine('summary', { input: result.input, stats: result.stats }));
      break;
    case 'html':
      out.write(renderHtml(result, { ladders: extras.ladders, endpoints }));
      break;
    case 'junit':
      out.write(renderJunit(result, extras.failOn ?? 'error', extras.requireCoverage ?? false));
      break;
    case 'markdown':
      out.write(renderMarkdown(result));
      break;
    default:
      out.write(renderTable(result, { flows, endpoints, top }));
  }
}
