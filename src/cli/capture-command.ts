import { Analyzer } from '../analyze';
import { CaptureMetrics } from '../report/prometheus';
import { EndpointSummary } from '../report/endpoint-summary';
import { LiveView } from '../report/live-view';
import { PcapngWriter } from '../source/capture-writer';
import { LiveCapture } from '../source/live-capture';
import type { RawPacket } from '../source/raw-packet';
import { AnalysisArgs, checkCommonArgs, unmatchedFlows } from './analyze-command';
import { buildFilter } from './filters';
import { exitCodeOf } from './fail-on';
import { checkWritable, needsCollect, openOutput, parseIgnore, streamingCallbacks, UsageError, writeFinalReport } from './output';

export interface CaptureArgs extends AnalysisArgs {
  iface: string;
  filter: string | undefined;
  snaplen: number;
  bufferKiB: number;
  duration: number | undefined;
  count: number | undefined;
  write: string | undefined;
  interval: number;
  metrics: string | undefined;
  tcpdump: string | undefined;
}

function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new UsageError(`--metrics takes HOST:PORT (e.g. 127.0.0.1:9464), got '${value}'`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** `conncheck capture IFACE`: live diagnosis until --duration, --count, Ctrl-C or SIGTERM. */
export async function runCapture(args: CaptureArgs): Promise<number> {
  checkCommonArgs(args);
  if (args.duration !== undefined && !(args.duration > 0)) throw new UsageError('--duration takes a positive number of seconds');
  if (args.count !== undefined && !(Number.isInteger(args.count) && args.count >= 1)) throw new UsageError('--count takes a whole number >= 1');
  if (!(Number.isInteger(args.snaplen) && args.snaplen >= 64 && args.snaplen <= 262144)) throw new UsageError('--snaplen takes 64 to 262144 bytes');
  if (!(Number.isInteger(args.bufferKiB) && args.bufferKiB >= 64)) throw new UsageError('--buffer takes a whole number of KiB >= 64');
  if (!(args.interval > 0)) throw new UsageError('--interval takes a positive number of seconds');
  const ignore = parseIgnore(args.ignore);
  if (args.write !== undefined) checkWritable(args.write, '-w');
  const metricsAddress = args.metrics ? parseHostPort(args.metrics) : null;

  const out = openOutput(args.output);
  const endpoints = new EndpointSummary();
  const view = new LiveView();
  const capture = new LiveCapture({
    iface: args.iface, filter: args.filter, snaplen: args.snaplen, bufferKiB: args.bufferKiB, count: args.count,
    teePcap: args.write && !args.write.endsWith('.pcapng') ? args.write : undefined,
    tcpdump: args.tcpdump,
    // Say when packets start being seen: the capture engine needs a moment to open the interface.
    onListening: (line) => process.stderr.write(`conncheck: ${line}${args.filter ? `, filter '${args.filter}'` : ''}\n`),
  });
  let metrics: CaptureMetrics | null = null;
  const streamed = streamingCallbacks(args.format, out, endpoints);
  const analyzer: Analyzer = new Analyzer({
    ignore,
    ...buildFilter(args),
    sample: args.sample,
    tracker: { idleTimeout: args.idleTimeout, maxConnections: args.maxConnections },
    collect: needsCollect(args.format, args.flows),
    onFlow: (flow) => {
      streamed.onFlow?.(flow);
      metrics?.onFlow(flow);
    },
    onExchange: (exchange, ends) => {
      streamed.onExchange?.(exchange, ends);
      if (exchange.method !== null) metrics?.onRequest(ends.server);
    },
    onFinding: (finding) => {
      streamed.onFinding?.(finding);
      metrics?.onFinding(finding);
      view.add(finding);
    },
  });
  if (metricsAddress) {
    metrics = new CaptureMetrics({
      packets: () => analyzer.packets,
      liveConnections: () => analyzer.liveConnections,
      kernelDrops: () => capture.counters?.droppedByKernel ?? 0,
      oneWayConnections: () => analyzer.oneWayConnections,
      captureLossBytes: () => analyzer.captureLossBytes,
    });
    try {
      await metrics.listen(metricsAddress.host, metricsAddress.port);
    } catch (e) {
      throw new UsageError(`--metrics ${args.metrics}: cannot listen (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  const pcapng = args.write?.endsWith('.pcapng') ? new PcapngWriter(args.write, args.snaplen) : null;

  // The capture clock keeps running on a quiet link: between packets it is estimated from the
  // last packet's kernel timestamp plus the wall time since, so idle connections still expire.
  let lastPacketTs = Date.now() / 1000;
  let lastPacketWall = Date.now();
  const onPacket = (p: RawPacket): void => {
    lastPacketTs = p.ts;
    lastPacketWall = Date.now();
    pcapng?.write(p);
    analyzer.packet(p);
  };
  const started = Date.now();
  const redraw = args.format === 'table' && !args.output && process.stdout.isTTY === true;
  const timer = setInterval(() => {
    capture.requestCounters();
    analyzer.tick(lastPacketTs + (Date.now() - lastPacketWall) / 1000);
    if (redraw) {
      process.stdout.write('\x1b[2J\x1b[H' + view.render({
        iface: args.iface, elapsed: (Date.now() - started) / 1000, packets: analyzer.packets,
        liveConnections: analyzer.liveConnections, kernelDrops: capture.counters?.droppedByKernel ?? null,
      }));
    }
  }, args.interval * 1000);
  const stop = (): void => capture.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const durationTimer = args.duration !== undefined ? setTimeout(stop, args.duration * 1000) : null;
  let failed = true;
  try {
    const info = await capture.run(onPacket);
    analyzer.addFile(info);
    // The capture ran until now, not until its last packet: a request still waiting has waited that long.
    analyzer.tick(lastPacketTs + (Date.now() - lastPacketWall) / 1000);
    failed = false;
  } finally {
    // The capture could not run (no such interface, no permission: exit 2): no report file.
    if (failed) out.discard();
    clearInterval(timer);
    if (durationTimer) clearTimeout(durationTimer);
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    pcapng?.close();
  }
  const result = analyzer.finish();
  const counters = capture.counters;
  // tcpdump's own count, the one a saved pcapng file would carry in its interface statistics.
  for (const file of result.input.files) file.droppedByCapture = counters?.droppedByKernel ?? null;
  result.input.live = {
    interface: args.iface,
    filter: args.filter ?? null,
    captured: counters?.captured ?? null,
    receivedByFilter: counters?.receivedByFilter ?? null,
    droppedByKernel: counters?.droppedByKernel ?? null,
  };
  metrics?.onDiagnoses(result.diagnoses);
  if (counters && counters.droppedByKernel > 0) {
    process.stderr.write(`conncheck: WARNING: the kernel dropped ${counters.droppedByKernel} of ${counters.receivedByFilter} packets: this capture is lossy, findings may be incomplete or wrong (raise --buffer, narrow -f)\n`);
  }
  // Live, a flow id not seen may simply not have come yet: a warning, not analyze's usage error.
  const unmatched = unmatchedFlows(result);
  if (unmatched !== null) process.stderr.write(`conncheck: warning: ${unmatched}\n`);
  if (redraw) process.stdout.write('\x1b[2J\x1b[H');
  writeFinalReport(result, args.format, out, endpoints, args.flows, args.top, { failOn: args.failOn, requireCoverage: args.requireCoverage });
  out.close();
  await metrics?.close();
  return exitCodeOf(result, args.failOn, args.requireCoverage);
}
