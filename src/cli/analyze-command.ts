import { AnalysisResult, analyzeFiles } from '../analyze';
import { EndpointSummary } from '../report/endpoint-summary';
import { EXIT_FINDINGS, EXIT_OK } from './exit-codes';
import { buildFilter, FilterArgs } from './filters';
import { FailOn, reachesFailOn } from './fail-on';
import { Format, openOutput, parseIgnore, streamingCallbacks, UsageError, writeFinalReport } from './output';

export interface AnalyzeArgs extends FilterArgs {
  files: string[];
  format: Format;
  flows: boolean;
  output: string | undefined;
  failOn: FailOn;
  ignore: string[];
  idleTimeout: number;
  maxConnections: number;
  sample: number;
  top: number;
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
  const result: AnalysisResult = await analyzeFiles(args.files, {
    ignore,
    ...buildFilter(args),
    sample: args.sample,
    tracker: { idleTimeout: args.idleTimeout, maxConnections: args.maxConnections },
    collect: args.format === 'json' || (args.format === 'table' && args.flows),
    ...streamingCallbacks(args.format, out, endpoints),
  });
  for (const file of result.input.files) {
    for (const w of file.warnings) process.stderr.write(`conncheck: warning: ${file.name}: ${w}\n`);
  }
  writeFinalReport(result, args.format, out, endpoints, args.flows, args.top);
  out.close();
  return reachesFailOn(result.anomalies, args.failOn) ? EXIT_FINDINGS : EXIT_OK;
}
