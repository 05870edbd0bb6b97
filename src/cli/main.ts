import yargs, { Argv } from 'yargs';
import { CaptureError } from '../source/capture-error';
import { runAnalyze } from './analyze-command';
import { runCapture } from './capture-command';
import { runExplain } from './explain-command';
import { EXIT_OK, EXIT_USAGE } from './exit-codes';
import type { FailOn } from './fail-on';
import { parseWholeNumber } from './filters';
import { Format, FORMATS, UsageError } from './output';

/** Options shared by every command that analyzes packets. */
function analysisOptions<T>(y: Argv<T>) {
  return y
    .option('format', { alias: 'F', choices: FORMATS, default: 'table' as Format, describe: 'output format (html, junit: use with -o FILE)' })
    .option('flows', { type: 'boolean', default: false, describe: 'list every connection (like Zeek conn.log) in the table' })
    .option('output', { alias: 'o', type: 'string', describe: 'write the report to a file instead of stdout' })
    .option('fail-on', { choices: ['error', 'warning', 'info', 'none'] as const, default: 'error' as FailOn, describe: 'exit 1 when a finding of this severity or worse is found' })
    .option('require-coverage', {
      type: 'boolean', default: false,
      describe: 'exit 1 also when the capture cannot show all it should (filtered, connections one way only, packets lost or dropped)',
    })
    .option('ignore', { type: 'string', array: true, default: [] as string[], describe: 'anomaly kinds not to report (comma-separated)' })
    .option('idle-timeout', { type: 'number', default: 900, describe: 'seconds (capture clock) an idle connection is remembered' })
    .option('max-connections', { type: 'number', default: 250_000, describe: 'most connections held at once (memory bound)' })
    .option('sample', { type: 'number', default: 1, describe: 'keep 1 in N connections (symmetric 4-tuple hash, whole connections)' })
    // Strings, checked by hand: yargs turns "abc" into NaN, and the message should say what was given.
    .option('top', { type: 'string', default: '10', describe: 'rows in the top endpoints table (0: none)' })
    .option('host', { type: 'string', array: true, default: [] as string[], describe: 'only packets to or from these IP addresses' })
    .option('port', { type: 'string', array: true, default: [] as string[], describe: 'only packets to or from these TCP ports' })
    .option('flow', { type: 'string', array: true, default: [] as string[], describe: 'only report these connections (flow ids, see --flows): findings, counts and the exit code are theirs' })
    .option('since', { type: 'string', describe: 'only packets at or after this capture time (epoch seconds or ISO 8601)' })
    .option('until', { type: 'string', describe: 'only packets at or before this capture time' });
}

/** yargs drops a bare "-" from positional arrays, so stdin travels under another name. */
const STDIN_PLACEHOLDER = '\u0000stdin';

/** Runs the CLI; resolves to the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const parser = yargs(argv.map((arg) => (arg === '-' ? STDIN_PLACEHOLDER : arg)))
    .scriptName('conncheck')
    .usage('$0 <command> [options]\n\nDiagnose why reused TCP/HTTP connections fail (keep-alive races, unanswered requests, resets, stalls).')
    .command(
      'analyze <files..>',
      'analyze pcap / pcapng capture files (gzip is fine; "-" reads stdin)',
      (y) => analysisOptions(y.positional('files', { type: 'string', array: true, demandOption: true, describe: 'capture files, or - for stdin' })),
      async (a) => {
        exitCode = await runAnalyze({
          files: (a.files as string[]).map((f) => (f === STDIN_PLACEHOLDER ? '-' : f)), format: a.format, flows: a.flows, output: a.output, failOn: a['fail-on'],
          requireCoverage: a['require-coverage'], ignore: a.ignore, idleTimeout: a['idle-timeout'], maxConnections: a['max-connections'], sample: a.sample, top: parseWholeNumber(a.top, '--top', 0),
          host: a.host, port: a.port, flow: a.flow, since: a.since, until: a.until,
        });
      },
    )
    .command(
      'explain <files..>',
      'draw the ladder diagram of one finding (e.g. keepalive-race#1) or one connection (a flow id): explain FILE... ID',
      (y) =>
        y
          // FILE... ID: yargs cannot put a positional after a variadic one, so the id is the last of them.
          .positional('files', { type: 'string', array: true, demandOption: true, describe: 'capture files (read twice: not stdin; several are analyzed as one capture, as analyze does), then the finding id (kind#n) or flow id (number)' })
          .option('ignore', { type: 'string', array: true, default: [] as string[], describe: 'anomaly kinds not to report (comma-separated)' })
          .option('idle-timeout', { type: 'number', default: 900, describe: 'seconds (capture clock) an idle connection is remembered' })
          .option('max-connections', { type: 'number', default: 250_000, describe: 'most connections held at once (memory bound)' })
          .option('sample', { type: 'number', default: 1, describe: 'keep 1 in N connections (as given to analyze: flow ids depend on it)' })
          .option('host', { type: 'string', array: true, default: [] as string[], describe: 'only packets to or from these IP addresses' })
          .option('port', { type: 'string', array: true, default: [] as string[], describe: 'only packets to or from these TCP ports' })
          .option('since', { type: 'string', describe: 'only packets at or after this capture time' })
          .option('until', { type: 'string', describe: 'only packets at or before this capture time' }),
      async (a) => {
        const words = (a.files as (string | number)[]).map((f) => (f === STDIN_PLACEHOLDER ? '-' : String(f)));
        if (words.length < 2) throw new UsageError('explain needs a capture file and a finding or flow id: conncheck explain FILE... ID');
        exitCode = await runExplain({
          files: words.slice(0, -1), id: words[words.length - 1], ignore: a.ignore,
          idleTimeout: a['idle-timeout'], maxConnections: a['max-connections'], sample: a.sample,
          host: a.host, port: a.port, since: a.since, until: a.until,
        });
      },
    )
    .command(
      'capture <interface>',
      'capture live traffic (root or CAP_NET_RAW; uses tcpdump) and diagnose it as it happens',
      (y) =>
        analysisOptions(y.positional('interface', { type: 'string', demandOption: true, describe: 'interface, or "any"' }))
          .option('filter', { alias: 'f', type: 'string', describe: "BPF capture filter, e.g. 'tcp port 80'" })
          .option('snaplen', { alias: 's', type: 'number', default: 65535, describe: 'bytes kept per packet (HTTP headers need a few KiB)' })
          .option('buffer', { alias: 'B', type: 'number', default: 32768, describe: 'kernel capture buffer, KiB (raise it if packets are dropped)' })
          .option('duration', { type: 'number', describe: 'stop after this many seconds' })
          .option('count', { alias: 'c', type: 'number', describe: 'stop after this many packets' })
          .option('write', { alias: 'w', type: 'string', describe: 'also save the packets (.pcap as captured, or .pcapng)' })
          .option('interval', { type: 'number', default: 2, describe: 'seconds between refreshes of the live view' })
          .option('metrics', { type: 'string', describe: 'serve Prometheus metrics on HOST:PORT (/metrics)' })
          .option('tcpdump', { type: 'string', describe: 'path of the tcpdump binary (default: from PATH)' }),
      async (a) => {
        exitCode = await runCapture({
          iface: a.interface as string, filter: a.filter, snaplen: a.snaplen, bufferKiB: a.buffer, duration: a.duration,
          count: a.count, write: a.write, interval: a.interval, metrics: a.metrics, tcpdump: a.tcpdump,
          format: a.format, flows: a.flows, output: a.output, failOn: a['fail-on'], requireCoverage: a['require-coverage'], ignore: a.ignore,
          idleTimeout: a['idle-timeout'], maxConnections: a['max-connections'], sample: a.sample, top: parseWholeNumber(a.top, '--top', 0),
          host: a.host, port: a.port, flow: a.flow, since: a.since, until: a.until,
        });
      },
    )
    .demandCommand(1, 'name a command (analyze, explain, capture)')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((msg, err) => {
      // Throwing stops yargs before any handler runs; the catch below prints one line.
      // yargs words some of its messages on two lines ("Invalid values:\n  Argument: ..."): one line.
      throw err ?? new UsageError(`${msg.replace(/:?\s*\n\s*/g, ': ')} (see conncheck --help)`);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    process.stderr.write(`conncheck: ${describeError(e)}\n`);
    return EXIT_USAGE;
  }
  return exitCode;
}

function describeError(e: unknown): string {
  if (e instanceof CaptureError || e instanceof UsageError) return e.message;
  if (e instanceof Error) {
    if (process.env.CONNCHECK_DEBUG) return e.stack ?? e.message;
    return `internal error: ${e.message.split('\n')[0]} (set CONNCHECK_DEBUG=1 for details)`;
  }
  return String(e);
}
