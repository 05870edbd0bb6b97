/**
 * The analysis of one capture file with no event loop in the way, for counting instructions:
 *
 *   valgrind --tool=cachegrind --cache-sim=no node --predictable --no-incremental-marking \
 *     dist/bench/replay.js FILE [all|none|tcp|DETECTOR-ID,...]
 *
 * It applies the heap flags of src/cli/heap-tuning.ts itself, as the CLI and the benchmark do, so
 * the count is of the heap users run (until round 11 the command line here also gave a 32 MiB
 * young generation, which the CLI never had: see heap-tuning.ts). --no-incremental-marking makes
 * the count repeat. `tcp` runs no detector and no HTTP stage
 * (AnalyzeOptions.http false): the HTTP stage's count is none's minus tcp's.
 *
 * The CLI and the benchmark read files asynchronously, so when the garbage collector runs (and
 * so how much it does) depends on I/O timing: the same build measured under cachegrind varied
 * by several percent between runs on a busy machine. Here the file is read synchronously in
 * fixed 1 MiB chunks into the same parsers and analysis, and with V8's `--predictable` and
 * `--no-incremental-marking` (incremental marking's steps follow wall time) the count repeats
 * exactly. Wall time is printed but means little under cachegrind. Uncompressed pcap or pcapng
 * only.
 */
import * as fs from 'node:fs';
import { Analyzer } from '../analyze';
import { tuneHeap } from '../cli/heap-tuning';
import { DETECTORS } from '../detect/registry';
import { detectContainer } from '../source/capture-format';
import { PcapReader } from '../source/pcap-reader';
import { PcapngReader } from '../source/pcapng-reader';
import { pageAlignedBuffers } from '../source/page-aligned';
import type { RawPacket } from '../source/raw-packet';

const CHUNK = 1 << 20;

function main(): void {
  tuneHeap();
  const [file, mode = 'all'] = process.argv.slice(2);
  // A list of detector ids runs only those: what each detector costs is its count minus none's.
  const ids = mode === 'all' || mode === 'none' || mode === 'tcp' ? [] : mode.split(',');
  const detectors = mode === 'all' ? DETECTORS : DETECTORS.filter((d) => ids.includes(d.id));
  if (file === undefined || ids.some((id) => !DETECTORS.some((d) => d.id === id))) {
    console.error('usage: node dist/bench/replay.js FILE [all|none|tcp|DETECTOR-ID,...]');
    process.exit(2);
  }
  const analyzer = new Analyzer({ collect: false, detectors, http: mode !== 'tcp' });
  const onPacket = (p: RawPacket): void => analyzer.packet(p);
  const fd = fs.openSync(file, 'r');
  // Page-aligned as the CLI's reads (source/page-aligned.ts): the kernel's copy is five times faster.
  const [chunk] = pageAlignedBuffers(1, CHUNK);
  let n = fs.readSync(fd, chunk, 0, CHUNK, null);
  const kind = detectContainer(chunk.subarray(0, n));
  if (kind !== 'pcap' && kind !== 'pcapng') {
    console.error(`${file}: not an uncompressed pcap or pcapng file`);
    process.exit(2);
  }
  const options = { name: file, firstFrame: 1, reorder: true };
  const parser = kind === 'pcap' ? new PcapReader(options, onPacket) : new PcapngReader(options, onPacket);
  const started = process.hrtime.bigint();
  while (n > 0 && !parser.stopped) {
    parser.push(n === CHUNK ? chunk : chunk.subarray(0, n));
    n = fs.readSync(fd, chunk, 0, CHUNK, null);
  }
  fs.closeSync(fd);
  analyzer.addFile(parser.finish());
  const result = analyzer.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const s = result.stats;
  console.log(
    `${mode}: ${s.packets} packets, ${s.connections} connections, ${s.exchanges} exchanges, ` +
      `${result.anomalies.length} findings, ${seconds.toFixed(2)} s`,
  );
}

main();
