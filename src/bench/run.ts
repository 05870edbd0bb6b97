/**
 * `npm run bench`: throughput and memory of `conncheck analyze` on a large synthetic HTTP/1.1
 * capture, beside the source reader alone, pcap-parser and tshark on the same file.
 *
 *   node dist/bench/run.js [--packets N] [--skip-tshark] [--profile]
 *
 * The capture (default 2 M packets, see make-capture.ts) and its 1/4 and 1/2 prefixes are
 * written once to bench/out/ (gitignored) and reused. Every measurement runs in its own process
 * (child.js, or the CLI / tshark under /usr/bin/time) so each peak RSS is that tool's own.
 * `--profile` adds a CPU profile of the analysis (node --cpu-prof) and prints the functions with
 * the most self time.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CLI_NODE_FLAGS } from '../cli/heap-tuning';
import type { ChildResult } from './child';
import { CaptureMade, makeCapture } from './make-capture';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, 'bench', 'out');
const CHILD = path.join(__dirname, 'child.js');
/** Run as users run it (`npx conncheck`): by its first line, which gives node the CLI's flags (heap-tuning.ts). */
const CLI = path.join(ROOT, 'bin', 'conncheck');
/** Bump when make-capture.ts changes what it writes, so cached captures are rebuilt. */
const GENERATOR_VERSION = 1;
const TSHARK_BUDGET_S = 120;
const TARGET_PPS = 2.5e6;
const TARGET_RSS_MB = 200;

interface Options {
  packets: number;
  skipTshark: boolean;
  profile: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { packets: 2_000_000, skipTshark: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--skip-tshark') options.skipTshark = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--packets' || arg.startsWith('--packets=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1000) throw new Error(`--packets wants an integer >= 1000, got ${value}`);
      options.packets = n;
    } else {
      throw new Error(`unknown argument ${arg} (use --packets N, --skip-tshark, --profile)`);
    }
  }
  return options;
}

interface Capture {
  file: string;
  packets: number;
  bytes: number;
}

/** The capture of `packets` packets and its prefixes, built once and cached. */
function captures(packets: number): { full: Capture; prefixes: Capture[]; made: CaptureMade } {
  mkdirSync(OUT, { recursive: true });
  const base = path.join(OUT, `http-v${GENERATOR_VERSION}-${packets}`);
  const sizes = [Math.floor(packets / 4), Math.floor(packets / 2)];
  const prefixFiles = sizes.map((n) => ({ file: `${base}-first-${n}.pcap`, packets: n }));
  const meta = `${base}.json`;
  const all = [`${base}.pcap`, ...prefixFiles.map((p) => p.file)];
  let made: CaptureMade;
  if (existsSync(meta) && all.every((f) => existsSync(f))) {
    made = JSON.parse(readFileSync(meta, 'utf8')) as CaptureMade;
    console.log(`capture: ${path.relative(ROOT, `${base}.pcap`)} (cached)`);
  } else {
    const start = Date.now();
    process.stdout.write(`capture: writing ${path.relative(ROOT, `${base}.pcap`)} ... `);
    made = makeCapture(`${base}.pcap`, { packets, prefixes: prefixFiles });
    writeFileSync(meta, JSON.stringify(made));
    console.log(`done in ${((Date.now() - start) / 1000).toFixed(1)} s`);
  }
  console.log(
    `  ${made.packets} packets, ${(made.bytes / 2 ** 20).toFixed(0)} MiB, ${made.connections} connections, ${made.exchanges} HTTP exchanges, ` +
      `${made.duration.toFixed(0)} s of capture time, up to ${made.peakOpen} connections open at once`,
  );
  const capture = (file: string, n: number): Capture => ({ file, packets: n, bytes: statSync(file).size });
  return { full: capture(`${base}.pcap`, packets), prefixes: prefixFiles.map((p) => capture(p.file, p.packets)), made };
}

interface Measurement {
  tool: string;
  packets: number;
  seconds: number | null;
  /** CPU seconds (user + system); on a machine shared with other work this is the fairer figure. */
  cpuSeconds: number | null;
  rssMb: number | null;
  note: string;
}

function failed(tool: string, packets: number, reason: string): Measurement {
  return { tool, packets, seconds: null, cpuSeconds: null, rssMb: null, note: `failed: ${reason}` };
}

function runChild(mode: 'analyze' | 'analyze-core' | 'analyze-tcp' | 'live-heap' | 'read' | 'pcap-parser', capture: Capture, tool: string, nodeArgs: string[] = []): Measurement {
  // The analyses run under the CLI's heap settings (child.ts applies its run-time flags; these V8
  // reads only as it starts): what `conncheck analyze` does, less its report.
  const cliFlags = mode === 'read' || mode === 'pcap-parser' ? [] : CLI_NODE_FLAGS;
  const run = spawnSync(process.execPath, [...cliFlags, ...nodeArgs, CHILD, mode, capture.file], { encoding: 'utf8', maxBuffer: 1 << 24, timeout: 15 * 60_000 });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    const parsed = JSON.parse(line) as ChildResult | { error: string };
    if ('error' in parsed) return failed(tool, capture.packets, parsed.error);
    return { tool, packets: parsed.packets, seconds: parsed.seconds, cpuSeconds: parsed.cpuSeconds, rssMb: parsed.maxRssMb, note: parsed.note ?? '' };
  } catch {
    const why = run.error?.message ?? (run.stderr.trim().split('\n').pop() || `exit ${run.status ?? run.signal}`);
    return failed(tool, capture.packets, why);
  }
}

const HAS_TIME = existsSync('/usr/bin/time');

/** Runs an external command under /usr/bin/time: wall seconds and peak RSS (when /usr/bin/time exists). */
function runTimed(
  command: string, args: string[], timeoutS: number,
): { ok: boolean; seconds: number; cpuSeconds: number | null; rssMb: number | null; stdout: string; why: string } {
  const start = process.hrtime.bigint();
  const run = HAS_TIME
    ? spawnSync('/usr/bin/time', ['-f', '@@time %e %M %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutS * 1000 })
    : spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutS * 1000 });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const timed = /@@time ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(run.stderr ?? '');
  const timedOut = run.error !== undefined && /ETIMEDOUT/.test(run.error.message);
  return {
    ok: run.error === undefined && run.status !== null && run.status <= 1 && !timedOut,
    seconds: timed ? Number(timed[1]) : wall,
    cpuSeconds: timed ? Number(timed[3]) + Number(timed[4]) : null,
    rssMb: timed ? Number(timed[2]) / 1024 : null,
    stdout: run.stdout ?? '',
    why: timedOut ? `over ${timeoutS} s` : run.error?.message ?? (run.stderr ?? '').trim().split('\n')[0] ?? `exit ${run.status}`,
  };
}

function runCli(capture: Capture): Measurement {
  const tool = 'conncheck analyze --format table (CLI)';
  const r = runTimed(CLI, ['analyze', capture.file, '--format', 'table'], 15 * 60);
  if (!r.ok) return failed(tool, capture.packets, r.why);
  return { tool, packets: capture.packets, seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssMb: r.rssMb, note: 'times incl. start-up and report' };
}

/** The CLI reading the capture from a pipe (`cat FILE | conncheck analyze -`): stdin's own path. */
function runCliStdin(capture: Capture): Measurement {
  const tool = 'conncheck analyze - (CLI, stdin from a pipe)';
  const r = runTimed('sh', ['-c', 'cat "$1" | "$2" analyze - --format table', 'sh', capture.file, CLI], 15 * 60);
  if (!r.ok) return failed(tool, capture.packets, r.why);
  return { tool, packets: capture.packets, seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssMb: r.rssMb, note: 'peak RSS of the larger of cat and conncheck; CPU of both' };
}

/** The capture compressed by `gzip -1` (made once beside it), and null where gzip is missing. */
function gzipped(capture: Capture): Capture | null {
  const file = `${capture.file}.gz`;
  if (!existsSync(file) || statSync(file).mtimeMs < statSync(capture.file).mtimeMs) {
    const out = openSync(`${file}.part`, 'w');
    const made = spawnSync('gzip', ['-1', '-c', capture.file], { stdio: ['ignore', out, 'inherit'] });
    closeSync(out);
    if (made.status !== 0) {
      rmSync(`${file}.part`, { force: true });
      return null;
    }
    renameSync(`${file}.part`, file);
  }
  return { file, packets: capture.packets, bytes: statSync(file).size };
}

/** The CLI reading a gzipped capture (decompressed by zlib's stream). */
function runCliGzip(capture: Capture): Measurement {
  const tool = 'conncheck analyze FILE.gz (CLI, gzip -1)';
  const gz = gzipped(capture);
  if (gz === null) return { tool, packets: capture.packets, seconds: null, cpuSeconds: null, rssMb: null, note: 'skipped: no gzip to compress the capture with' };
  const r = runTimed(CLI, ['analyze', gz.file, '--format', 'table'], 15 * 60);
  if (!r.ok) return failed(tool, capture.packets, r.why);
  return { tool, packets: capture.packets, seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssMb: r.rssMb, note: `${(gz.bytes / 2 ** 20).toFixed(0)} MiB compressed` };
}

function hasTshark(): boolean {
  return spawnSync('tshark', ['-v'], { encoding: 'utf8' }).status === 0;
}

/** tshark on the smallest prefix first; on the whole file only if that should fit the budget. */
function runTshark(full: Capture, smallest: Capture): Measurement {
  const tool = 'tshark -q -z conv,tcp';
  const args = (file: string): string[] => ['-q', '-n', '-z', 'conv,tcp', '-r', file];
  const probe = runTimed('tshark', args(smallest.file), TSHARK_BUDGET_S);
  if (!probe.ok) return failed(tool, smallest.packets, probe.why);
  const estimate = (probe.seconds * full.packets) / smallest.packets;
  if (estimate > TSHARK_BUDGET_S) {
    return {
      tool, packets: smallest.packets, seconds: probe.seconds, cpuSeconds: probe.cpuSeconds, rssMb: probe.rssMb,
      note: `on the first ${smallest.packets} packets only: the whole file would take ~${estimate.toFixed(0)} s (> ${TSHARK_BUDGET_S} s)`,
    };
  }
  const r = runTimed('tshark', args(full.file), TSHARK_BUDGET_S);
  if (!r.ok) {
    // Slower than the prefix promised (a busy machine): keep the prefix figure, and say so.
    return {
      tool, packets: smallest.packets, seconds: probe.seconds, cpuSeconds: probe.cpuSeconds, rssMb: probe.rssMb,
      note: `on the first ${smallest.packets} packets only: the whole file failed (${r.why})`,
    };
  }
  const conversations = r.stdout.split('\n').filter((l) => /<->/.test(l)).length;
  return { tool, packets: full.packets, seconds: r.seconds, cpuSeconds: r.cpuSeconds, rssMb: r.rssMb, note: `${conversations} conversations; times incl. start-up` };
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

function rate(m: Measurement, cpu = false): string {
  const seconds = cpu ? m.cpuSeconds : m.seconds;
  return seconds === null ? '-' : `${(m.packets / seconds / 1e6).toFixed(2)} M/s`;
}

function printTable(title: string, rows: Measurement[]): void {
  const headers = ['tool', 'packets', 'wall s', 'CPU s', 'packets/s wall', 'packets/s CPU', 'peak RSS', 'note'];
  const cells = rows.map((m) => [
    m.tool,
    String(m.packets),
    m.seconds === null ? '-' : m.seconds.toFixed(2),
    m.cpuSeconds === null ? '-' : m.cpuSeconds.toFixed(2),
    rate(m),
    rate(m, true),
    m.rssMb === null ? '-' : `${m.rssMb.toFixed(0)} MB`,
    m.note,
  ]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]): string => c.map((v, i) => pad(v, widths[i], i >= 1 && i <= 6)).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (file:function), most first. */
function hotSpots(profileFile: string, top: number): string[] {
  const profile = JSON.parse(readFileSync(profileFile, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]);
    const dt = profile.timeDeltas[i] ?? 0;
    if (!node) continue;
    total += dt;
    const f = node.callFrame;
    const file = f.url ? path.relative(ROOT, f.url.replace(/^file:\/\//, '')) : '(native)';
    const key = `${file}:${f.functionName || '(anonymous)'}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, t]) => `${((100 * t) / total).toFixed(1).padStart(5)} %  ${key}`);
}

function profileAnalysis(capture: Capture): void {
  const dir = path.join(OUT, 'profile');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const m = runChild('analyze', capture, 'analyze (profiled)', ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  console.log(`\nCPU profile of the analysis of ${capture.packets} packets (${rate(m)} under the profiler): self time by function`);
  if (!file) {
    console.log('  no profile written');
    return;
  }
  for (const line of hotSpots(path.join(dir, file), 25)) console.log(`  ${line}`);
  console.log(`  (profile: ${path.relative(ROOT, path.join(dir, file))}, open it in Chrome DevTools)`);
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  console.log(`conncheck benchmark — node ${process.version}, ${options.packets} packets`);
  const { full, prefixes } = captures(options.packets);

  const rows: Measurement[] = [];
  rows.push(runChild('analyze', full, 'conncheck analyzeFiles (library, collect:false)'));
  rows.push(runChild('analyze-core', full, 'conncheck analyzeFiles, no detectors (core stages)'));
  // An ablation, not a way to use the tool: what the stages before HTTP cost (the HTTP stage's
  // cost is the difference from the row above).
  rows.push(runChild('analyze-tcp', full, 'conncheck analyzeFiles, no detectors, no HTTP (read, decode, TCP)'));
  rows.push(runCli(full));
  const cliRows = [rows[rows.length - 1], runCliStdin(full), runCliGzip(full)];
  rows.push(cliRows[1], cliRows[2]);
  rows.push(runChild('read', full, 'conncheck source reader alone (readCapture)'));
  rows.push(runChild('pcap-parser', full, 'pcap-parser 0.2 (count packet events)'));
  if (options.skipTshark) rows.push({ tool: 'tshark -q -z conv,tcp', packets: full.packets, seconds: null, cpuSeconds: null, rssMb: null, note: 'skipped (--skip-tshark)' });
  else if (!hasTshark()) rows.push({ tool: 'tshark -q -z conv,tcp', packets: full.packets, seconds: null, cpuSeconds: null, rssMb: null, note: 'skipped: tshark not installed' });
  else rows.push(runTshark(full, prefixes[0]));
  printTable(`Throughput on ${path.relative(ROOT, full.file)} (${(full.bytes / 2 ** 20).toFixed(0)} MiB; one core per tool)`, rows);

  const flat = [...prefixes, full].map((c) => {
    const m = c === full ? rows[0] : runChild('analyze', c, 'conncheck analyzeFiles (library, collect:false)');
    // Peak RSS counts garbage not yet collected; the live heap is what the analysis holds.
    const live = runChild('live-heap', c, 'live heap', ['--expose-gc']);
    return { ...m, tool: `analyze first ${c.packets} packets`, note: live.note };
  });
  printTable('Peak RSS as the capture grows (library, collect:false)', flat);

  const rssValues = flat.map((m) => m.rssMb ?? 0);
  const growth = rssValues[rssValues.length - 1] - rssValues[0];
  console.log('\nTargets');
  for (const [label, m] of [['all detectors', rows[0]], ['core stages ', rows[1]]] as const) {
    const best = Math.min(m.seconds ?? Infinity, m.cpuSeconds ?? Infinity);
    console.log(`  ${label}: >= ${TARGET_PPS / 1e6} M packets/s on one core : ${rate(m)} wall, ${rate(m, true)} CPU — ${m.packets / best >= TARGET_PPS ? 'met' : 'NOT met'}`);
    console.log(`  ${label}: peak RSS < ${TARGET_RSS_MB} MB              : ${m.rssMb?.toFixed(0) ?? '-'} MB — ${m.rssMb !== null && m.rssMb < TARGET_RSS_MB ? 'met' : 'NOT met'}`);
  }
  for (const m of cliRows) {
    if (m.rssMb === null) continue;
    console.log(`  ${m.tool}: peak RSS < ${TARGET_RSS_MB} MB : ${m.rssMb.toFixed(0)} MB — ${m.rssMb < TARGET_RSS_MB ? 'met' : 'NOT met'}`);
  }
  const tcp = rows[2];
  console.log(`  no HTTP stage (an ablation)    : ${rate(tcp)} wall, ${rate(tcp, true)} CPU — the HTTP stage costs the difference from the core stages`);
  console.log(`  RSS flat as the file grows     : ${rssValues.map((v) => v.toFixed(0)).join(' → ')} MB (+${growth.toFixed(0)} MB from ${flat[0].packets} to ${full.packets} packets)`);
  // A run's time includes a fixed part (start-up, compiling the analysis, its first data
  // structures) that a longer capture dilutes: the rate over the packets a longer prefix adds is
  // what a long capture converges to.
  const half = flat[flat.length - 2];
  if (half.seconds !== null && flat[flat.length - 1].seconds !== null) {
    const added = full.packets - half.packets;
    const extra = (flat[flat.length - 1].seconds ?? 0) - half.seconds;
    const steady = extra > 0 ? `${(added / extra / 1e6).toFixed(2)} M packets/s` : 'not measurable (the longer run was not slower)';
    console.log(`  steady state, all detectors    : ${steady} over the ${added} packets from ${half.packets} to ${full.packets} (wall, separate runs)`);
  }

  if (options.profile) profileAnalysis(full);
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
