/**
 * One measurement of the benchmark, run in a fresh process so that its peak RSS is its own:
 *
 *   node dist/bench/child.js analyze|analyze-core|analyze-tcp|live-heap|read|pcap-parser FILE
 *
 * analyze-core runs the analysis without detectors (source, decode, flow and HTTP stages only);
 * analyze-tcp without detectors and without the HTTP stage (source, decode and flow: what the
 * HTTP stage costs is the difference from analyze-core).
 * live-heap (run with --expose-gc) reads the whole file, then forces a full GC before the
 * analysis releases its connections: the note gives the live heap at that point, what memory
 * really holds (peak RSS also counts garbage V8 had not collected yet).
 *
 * Prints one JSON line: { packets, seconds, cpuSeconds, maxRssMb } (or { error }). The times cover
 * the reading and analysis only, not Node's start-up or module loading.
 */
import type { EventEmitter } from 'node:events';
import { Analyzer, analyzeFiles } from '../analyze';
import { tuneHeap } from '../cli/heap-tuning';
import { readCapture } from '../source/open-capture';

export interface ChildResult {
  packets: number;
  seconds: number;
  /** CPU time (user + system) of the process over the same span: what the work cost on a busy machine. */
  cpuSeconds: number;
  maxRssMb: number;
  /** One line about the run, e.g. connections and exchanges found. */
  note?: string;
}

/** The part of pcap-parser (a devDependency without types) that we use. */
interface PcapParserModule {
  parse(input: string): EventEmitter;
}

async function analyze(file: string, detect = true, http = true): Promise<{ packets: number; note: string }> {
  const result = await analyzeFiles([file], { collect: false, detectors: detect ? undefined : [], http });
  const s = result.stats;
  return {
    packets: s.packets,
    note: `${s.connections} connections, ${s.exchanges} exchanges, peak ${s.peakLiveConnections} live, ${result.anomalies.length} findings`,
  };
}

async function liveHeap(file: string): Promise<{ packets: number; note: string }> {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('live-heap needs node --expose-gc');
  const analyzer = new Analyzer({ collect: false });
  await readCapture(file, (p) => analyzer.packet(p));
  collect();
  const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
  const live = analyzer.liveConnections;
  analyzer.finish();
  return { packets: analyzer.packets, note: `live heap ${heapMb.toFixed(0)} MB after a full GC at the end, ${live} connections live` };
}

async function read(file: string): Promise<{ packets: number; note: string }> {
  let packets = 0;
  let bytes = 0;
  await readCapture(file, (p) => {
    packets++;
    bytes += p.caplen;
  });
  return { packets, note: `${(bytes / 2 ** 20).toFixed(0)} MiB of packet data` };
}

function pcapParser(file: string): Promise<{ packets: number; note: string }> {
  const parser = (require('pcap-parser') as PcapParserModule).parse(file);
  let packets = 0;
  return new Promise((resolve, reject) => {
    parser.on('packet', () => {
      packets++;
    });
    parser.on('error', (err: Error) => reject(err));
    parser.on('end', () => resolve({ packets, note: 'packet events counted' }));
  });
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  const run =
    mode === 'analyze' ? analyze
    : mode === 'analyze-core' ? (f: string) => analyze(f, false)
    : mode === 'analyze-tcp' ? (f: string) => analyze(f, false, false)
    : mode === 'live-heap' ? liveHeap
    : mode === 'read' ? read
    : mode === 'pcap-parser' ? pcapParser
    : null;
  if (run === null || !file) {
    console.error('usage: node dist/bench/child.js analyze|analyze-core|analyze-tcp|live-heap|read|pcap-parser FILE');
    process.exitCode = 2;
    return;
  }
  // The heap settings of bin/conncheck, so the library figures are the CLI's.
  if (mode === 'analyze' || mode === 'analyze-core' || mode === 'analyze-tcp' || mode === 'live-heap') tuneHeap();
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  try {
    const { packets, note } = await run(file);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    const result: ChildResult = { packets, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024, note };
    console.log(JSON.stringify(result));
  } catch (err) {
    console.log(JSON.stringify({ error: err instanceof Error ? err.message.split('\n')[0] : String(err) }));
  }
}

void main();
