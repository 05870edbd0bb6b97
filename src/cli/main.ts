import * as fs from 'node:fs';
import yargs from 'yargs';
import { AnalysisResult, AnalyzeOptions, analyzeFiles } from '../analyze';
import { DETECTORS } from '../detect/registry';
import type { AnomalyKind } from '../detect/finding';
import { EndpointSummary } from '../report/endpoint-summary';
import { ndjsonLine, renderJson } from '../report/json';
import { renderTable } from '../report/table';
import { CaptureError } from '../source/capture-error';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE } from './exit-codes';
import { FailOn, reachesFailOn } from './fail-on';

/** A problem with what the user asked for: one line on stderr, exit 2. */
export class UsageError extends Error {}

type Format = 'table' | 'json' | 'ndjson';

interface AnalyzeArgs {
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

function parseIgnore(values: string[]): AnomalyKind[] {
  const known = new Set<string>(DETECTORS.map((d) => d.id));
  const kinds: AnomalyKind[] = [];
  for (const v of values.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    if (!known.has(v)) throw new UsageError(`--ignore: unknown kind '${v}' (known: ${[...known].join(', ') || 'none yet'})`);
    kinds.push(v as AnomalyKind);
  }
  return kinds;
}

/** Writes to stdout or to -o FILE. */
function openOutput(file: string | undefined): { write(s: string): void; close(): void } {
  if (!file || file === '-') return { write: (s) => void process.stdout.write(s), close: () => undefined };
  let fd: number;
  try {
    fd = fs.openSync(file, 'w');
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return { write: (s) => fs.writeSync(fd, s), close: () => fs.closeSync(fd) };
}

async function runAnalyze(args: AnalyzeArgs): Promise<number> {
  if (args.files.filter((f) => f === '-').length > 1) throw new UsageError('stdin (-) can be given only once');
  if (!(args.sample >= 1)) throw new UsageError('--sample takes a whole number >= 1');
  if (!(args.idleTimeout > 0)) throw new UsageError('--idle-timeout takes a positive number of seconds');
  if (!(args.maxConnections >= 1)) throw new UsageError('--max-connections takes a whole number >= 1');
  const out = openOutput(args.output);
  const endpoints = new EndpointSummary();
  const streaming = args.format === 'ndjson';
  const options: AnalyzeOptions = {
    ignore: parseIgnore(args.ignore),
    sample: args.sample,
    tracker: { idleTimeout: args.idleTimeout, maxConnections: args.maxConnections },
    collect: args.format === 'json' || (args.format === 'table' && args.flows),
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
  const result: AnalysisResult = await analyzeFiles(args.files, options);
  for (const file of result.input.files) {
    for (const w of file.warnings) process.stderr.write(`conncheck: warning: ${file.name}: ${w}\n`);
  }
  if (args.format === 'json') out.write(renderJson(result));
  else if (args.format === 'ndjson') {
    for (const d of result.diagnoses) out.write(ndjsonLine('diagnosis', d));
    out.write(ndjsonLine('summary', { input: result.input, stats: result.stats }));
  } else out.write(renderTable(result, { flows: args.flows, endpoints, top: args.top }));
  out.close();
  return reachesFailOn(result.anomalies, args.failOn) ? EXIT_FINDINGS : EXIT_OK;
}

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  let usageFailure: string | null = null;
  const parser = yargs(argv)
    .scriptName('conncheck')
    .usage('$0 <command> [options]\n\nDiagnose why reused TCP/HTTP connections fail (keep-alive races, unanswered requests, resets, stalls).')
    .command(
      'analyze <files..>',
      'analyze pcap / pcapng capture files (gzip is fine; "-" reads stdin)',
      (y) =>
        y
          .positional('files', { type: 'string', array: true, demandOption: true, describe: 'capture files, or - for stdin' })
          .option('format', { alias: 'F', choices: ['table', 'json', 'ndjson'] as const, default: 'table' as Format, describe: 'output format' })
          .option('flows', { type: 'boolean', default: false, describe: 'list every connection (like Zeek conn.log) in the table' })
          .option('output', { alias: 'o', type: 'string', describe: 'write the report to a file instead of stdout' })
          .option('fail-on', { choices: ['error', 'warning', 'info', 'none'] as const, default: 'error' as FailOn, describe: 'exit 1 when a finding of this severity or worse is found' })
          .option('ignore', { type: 'string', array: true, default: [] as string[], describe: 'anomaly kinds not to report (comma-separated)' })
          .option('idle-timeout', { type: 'number', default: 900, describe: 'seconds (capture clock) an idle connection is remembered' })
          .option('max-connections', { type: 'number', default: 250_000, describe: 'most connections held at once (memory bound)' })
          .option('sample', { type: 'number', default: 1, describe: 'keep 1 in N connections (symmetric 4-tuple hash)' })
          .option('top', { type: 'number', default: 10, describe: 'rows in the top endpoints table' }),
      async (a) => {
        exitCode = await runAnalyze({
          files: a.files as string[],
          format: a.format as Format,
          flows: a.flows,
          output: a.output,
          failOn: a['fail-on'] as FailOn,
          ignore: a.ignore,
          idleTimeout: a['idle-timeout'],
          maxConnections: a['max-connections'],
          sample: a.sample,
          top: a.top,
        });
      },
    )
    .demandCommand(1, 'name a command (analyze)')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageFailure = msg;
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    process.stderr.write(`conncheck: ${describeError(e)}\n`);
    return EXIT_USAGE;
  }
  if (usageFailure !== null) {
    process.stderr.write(`conncheck: ${usageFailure} (see conncheck --help)\n`);
    return EXIT_USAGE;
  }
  return exitCode;
}

function describeError(e: unknown): string {
  if (e instanceof CaptureError || e instanceof UsageError) return e.message;
  if (e instanceof Error) {
    if (process.env.CONNCHECK_DEBUG) return e.stack ?? e.message;
    return `internal error: ${e.message} (set CONNCHECK_DEBUG=1 for details)`;
  }
  return String(e);
}
