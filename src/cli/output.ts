import * as fs from 'node:fs';
import type { AnalysisResult, AnalyzeOptions } from '../analyze';
import { DETECTORS } from '../detect/registry';
import type { AnomalyKind } from '../detect/finding';
import { EndpointSummary } from '../report/endpoint-summary';
import { ndjsonLine, renderJson } from '../report/json';
import { renderTable } from '../report/table';

/** A problem with what the user asked for: one line on stderr, exit 2. */
export class UsageError extends Error {}

export type Format = 'table' | 'json' | 'ndjson';

export interface Output {
  write(s: string): void;
  close(): void;
}

/** Writes to stdout or to -o FILE. */
export function openOutput(file: string | undefined): Output {
  if (!file || file === '-') return { write: (s) => void process.stdout.write(s), close: () => undefined };
  let fd: number;
  try {
    fd = fs.openSync(file, 'w');
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { write: (s) => void fs.writeSync(fd, s), close: () => fs.closeSync(fd) };
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
export function writeFinalReport(result: AnalysisResult, format: Format, out: Output, endpoints: EndpointSummary, flows: boolean, top: number): void {
  if (format === 'json') out.write(renderJson(result));
  else if (format === 'ndjson') {
    for (const d of result.diagnoses) out.write(ndjsonLine('diagnosis', d));
    out.write(ndjsonLine('summary', { input: result.input, stats: result.stats }));
  } else out.write(renderTable(result, { flows, endpoints, top }));
}
