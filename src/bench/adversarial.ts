/**
 * Adversarial traffic (issue 6): captures built to make an analyzer grow without bound, each
 * analysed in a child process that reports packets/s and its peak RSS.
 *
 *   npm run adversarial -- [--scale F] [--only case,case] [--cap MIB] [--heap MIB|node] [--keep]
 *
 * Cases (full scale): a SYN flood / port scan of 2 M half-open connections; one connection with
 * 1 M segments at random sequence numbers; 20 000 connections sending out-of-order segments
 * behind a hole that never fills, and 50 000 sending one-byte ones; never-ending chunked bodies; header blocks of megabytes; 5 000
 * connections pipelining 3 000 requests each that are never answered; a storm of 200 000 failed
 * requests (findings by the hundred thousand must not make the analysis quadratic). Each child runs the whole
 * analysis as `conncheck analyze FILE` (table output, written to /dev/null) does, with the CLI's
 * heap settings (heap-tuning.ts): flows and exchanges streamed into the endpoint summary, not
 * collected.
 *
 * Memory must stay under the cap (default 1200 MiB, see README "Limits"); what the bounds dropped
 * is printed from the result's counters. Exits 1 when a case goes over the cap, fails or times out.
 * Children run with `--max-old-space-size=1024` (`--heap`): the bounds cap live state, and the heap
 * limit decides how much garbage V8 lets RSS carry on top of it (`--heap node`: Node's default).
 * Captures are written to a temp directory and removed after each case (unless --keep).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyzeFiles } from '../analyze';
import { tuneHeap } from '../cli/heap-tuning';
import { openOutput, streamingCallbacks, writeFinalReport } from '../cli/output';
import { EndpointSummary } from '../report/endpoint-summary';

const LINKTYPE_RAW = 101;
const T0 = 1_700_000_000;
/** The child's default heap limit (MiB); growth past the bounds then shows as a heap-out-of-memory failure. */
const DEFAULT_CHILD_HEAP_MIB = '1024';
const CHILD_TIME_LIMIT_MS = 15 * 60 * 1000;
const DEFAULT_CAP_MIB = 1200;

// ------------------------------------------------------------------ capture writer

/** Deterministic xorshift32, so every run analyses the same bytes. */
class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }
  below(n: number): number {
    return this.u32() % n;
  }
}

const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/**
 * Streams a little-endian microsecond pcap of raw IPv4 TCP packets through one reused buffer.
 * Checksums are left zero: conncheck never checks them (offload makes them wrong anyway).
 */
class PcapStream {
  private readonly buf = Buffer.alloc(8 << 20);
  private at = 0;
  private readonly fd: number;
  packets = 0;
  bytes = 0;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'w');
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(LINKTYPE_RAW, 20);
    this.at = 24;
  }

  /** One segment; `payload` is copied (up to `length` bytes, repeated if shorter). */
  tcp(ts: number, src: number, dst: number, sport: number, dport: number, seq: number, ack: number, flags: number, payload: Uint8Array | null, length = payload?.length ?? 0): void {
    const size = 40 + length;
    if (this.at + 16 + size > this.buf.length) this.flush();
    const b = this.buf;
    let o = this.at;
    const sec = Math.floor(ts);
    b.writeUInt32LE(sec, o);
    b.writeUInt32LE(Math.min(999_999, Math.round((ts - sec) * 1e6)), o + 4);
    b.writeUInt32LE(size, o + 8);
    b.writeUInt32LE(size, o + 12);
    o += 16;
    b[o] = 0x45;
    b[o + 1] = 0;
    b.writeUInt16BE(size, o + 2);
    b.writeUInt32BE(0, o + 4);
    b[o + 8] = 64;
    b[o + 9] = 6;
    b.writeUInt16BE(0, o + 10);
    b.writeUInt32BE(src >>> 0, o + 12);
    b.writeUInt32BE(dst >>> 0, o + 16);
    o += 20;
    b.writeUInt16BE(sport, o);
    b.writeUInt16BE(dport, o + 2);
    b.writeUInt32BE(seq >>> 0, o + 4);
    b.writeUInt32BE(ack >>> 0, o + 8);
    b[o + 12] = 5 << 4;
    b[o + 13] = flags;
    b.writeUInt16BE(65535, o + 14);
    b.writeUInt32BE(0, o + 16);
    o += 20;
    if (payload !== null && length > 0) {
      for (let k = 0; k < length; k += payload.length) {
        const n = Math.min(payload.length, length - k);
        b.set(n === payload.length ? payload : payload.subarray(0, n), o + k);
      }
    }
    this.at = o + length;
    this.packets++;
  }

  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }

  private flush(): void {
    fs.writeSync(this.fd, this.buf, 0, this.at);
    this.bytes += this.at;
    this.at = 0;
  }
}

const ip = (a: number, b: number, c: number, d: number): number => ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
const SERVER = ip(192, 0, 2, 1);
const text = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** A client connection with its own sequence spaces, for the scripted cases. */
class Conn {
  cSeq: number;
  sSeq: number;
  constructor(
    readonly out: PcapStream,
    readonly client: number,
    readonly sport: number,
    readonly server = SERVER,
    readonly dport = 80,
    rnd = new Random(sport * 7919 + client),
  ) {
    this.cSeq = rnd.u32();
    this.sSeq = rnd.u32();
  }
  handshake(ts: number): void {
    this.out.tcp(ts, this.client, this.server, this.sport, this.dport, this.cSeq, 0, F.SYN, null);
    this.cSeq = (this.cSeq + 1) >>> 0;
    this.out.tcp(ts, this.server, this.client, this.dport, this.sport, this.sSeq, this.cSeq, F.SYN | F.ACK, null);
    this.sSeq = (this.sSeq + 1) >>> 0;
    this.out.tcp(ts, this.client, this.server, this.sport, this.dport, this.cSeq, this.sSeq, F.ACK, null);
  }
  sendClient(ts: number, data: Uint8Array, length = data.length): void {
    this.out.tcp(ts, this.client, this.server, this.sport, this.dport, this.cSeq, this.sSeq, F.ACK | F.PSH, data, length);
    this.cSeq = (this.cSeq + length) >>> 0;
  }
  sendServer(ts: number, data: Uint8Array, length = data.length): void {
    this.out.tcp(ts, this.server, this.client, this.dport, this.sport, this.sSeq, this.cSeq, F.ACK | F.PSH, data, length);
    this.sSeq = (this.sSeq + length) >>> 0;
  }
  serverAck(ts: number): void {
    this.out.tcp(ts, this.server, this.client, this.dport, this.sport, this.sSeq, this.cSeq, F.ACK, null);
  }
  clientAck(ts: number): void {
    this.out.tcp(ts, this.client, this.server, this.sport, this.dport, this.cSeq, this.sSeq, F.ACK, null);
  }
}

// ------------------------------------------------------------------ cases

interface Case {
  name: string;
  what: string;
  build(out: PcapStream, scale: number): void;
}

const n = (full: number, scale: number): number => Math.max(1, Math.round(full * scale));

const CASES: Case[] = [
  {
    name: 'syn-flood',
    what: '2 M SYNs from random addresses and ports, half to port 80, half scanning random ports; never answered',
    build(out, scale) {
      const rnd = new Random(1);
      const total = n(2_000_000, scale);
      for (let i = 0; i < total; i++) {
        const src = ip(10, rnd.below(256), rnd.below(256), rnd.below(256));
        const dport = (i & 1) === 0 ? 80 : 1 + rnd.below(65535);
        out.tcp(T0 + i * 1e-5, src, SERVER, 1024 + rnd.below(64512), dport, rnd.u32(), 0, F.SYN, null);
      }
    },
  },
  {
    name: 'random-seq',
    what: 'one connection, then 1 M client segments at random sequence numbers, the server acknowledging random numbers',
    build(out, scale) {
      const rnd = new Random(2);
      const c = new Conn(out, ip(10, 0, 0, 1), 40000);
      c.handshake(T0);
      c.sendClient(T0 + 0.001, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      const payload = text('GET /again HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(4));
      const total = n(1_000_000, scale);
      for (let i = 0; i < total; i++) {
        const ts = T0 + 0.01 + i * 1e-5;
        if (i % 10 === 9) out.tcp(ts, SERVER, c.client, 80, 40000, c.sSeq, rnd.u32(), F.ACK, null);
        else out.tcp(ts, c.client, SERVER, 40000, 80, rnd.u32(), c.sSeq, F.ACK | F.PSH, payload, 100);
      }
    },
  },
  {
    name: 'ooo-many-connections',
    what: '20 000 connections, each sending 50 segments of 400 bytes behind a 1000-byte hole that never fills',
    build(out, scale) {
      const conns: Conn[] = [];
      const count = n(20_000, scale);
      for (let i = 0; i < count; i++) {
        const c = new Conn(out, ip(10, 1, (i >> 8) & 0xff, i & 0xff), 10000 + (i % 50000));
        c.handshake(T0 + i * 1e-5);
        conns.push(c);
      }
      const payload = text('x'.repeat(400));
      let ts = T0 + 1;
      for (let round = 0; round < 50; round++) {
        for (const c of conns) {
          out.tcp(ts, c.client, SERVER, c.sport, 80, c.cSeq + 1000 + round * 400, c.sSeq, F.ACK | F.PSH, payload);
          ts += 1e-5;
        }
      }
    },
  },
  {
    name: 'ooo-tiny-segments',
    what: '50 000 connections, each sending 64 one-byte segments behind a hole (per-segment overhead, not bytes, dominates)',
    build(out, scale) {
      const conns: Conn[] = [];
      const count = n(50_000, scale);
      for (let i = 0; i < count; i++) {
        const c = new Conn(out, ip(10, 5, (i >> 8) & 0xff, i & 0xff), 10000 + (i % 50000));
        c.handshake(T0 + i * 1e-5);
        conns.push(c);
      }
      const payload = text('y');
      let ts = T0 + 1;
      for (let round = 0; round < 64; round++) {
        for (const c of conns) {
          out.tcp(ts, c.client, SERVER, c.sport, 80, c.cSeq + 10 + round, c.sSeq, F.ACK | F.PSH, payload);
          ts += 1e-6;
        }
      }
    },
  },
  {
    name: 'endless-chunked',
    what: '100 connections, each a response whose chunked body never ends (300 000 segments of 1315 bytes)',
    build(out, scale) {
      const conns: Conn[] = [];
      for (let i = 0; i < 100; i++) {
        const c = new Conn(out, ip(10, 2, 0, i), 30000 + i);
        c.handshake(T0);
        c.sendClient(T0 + 0.001, text('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n'));
        c.sendServer(T0 + 0.002, text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
        conns.push(c);
      }
      const chunk = `100\r\n${'c'.repeat(256)}\r\n`;
      const body = text(chunk.repeat(5));
      const total = n(300_000, scale);
      for (let i = 0; i < total; i++) {
        const c = conns[i % conns.length];
        const ts = T0 + 0.01 + i * 1e-4;
        c.sendServer(ts, body);
        if (i % 1000 === 999) c.clientAck(ts);
      }
    },
  },
  {
    name: 'huge-headers',
    what: '100 connections: requests and responses whose header block is 2 MB (short lines, or one line with no end)',
    build(out, scale) {
      const size = n(2 << 20, scale);
      const fieldLines = text('X-Filler: '.concat('f'.repeat(88), '\r\n'));
      const oneLine = text('X-Endless: '.concat('e'.repeat(1389)));
      for (let i = 0; i < 100; i++) {
        const c = new Conn(out, ip(10, 3, 0, i), 20000 + i);
        const ts = T0 + i * 0.1;
        c.handshake(ts);
        const fromServer = i % 2 === 1;
        const lines = i % 4 < 2 ? fieldLines : oneLine;
        if (fromServer) {
          c.sendClient(ts, text('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
          c.sendServer(ts, text('HTTP/1.1 200 OK\r\n'));
        } else {
          c.sendClient(ts, text('GET / HTTP/1.1\r\n'));
        }
        for (let sent = 0; sent < size; sent += 1400) {
          if (fromServer) c.sendServer(ts + 0.05, lines, 1400);
          else c.sendClient(ts + 0.05, lines, 1400);
        }
      }
    },
  },
  {
    name: 'long-lines',
    what: '20 000 connections, each sending a 15 000-byte header line over 11 segments, then going quiet mid-header',
    build(out, scale) {
      const count = n(20_000, scale);
      const fill = text('l'.repeat(1400));
      for (let i = 0; i < count; i++) {
        const c = new Conn(out, ip(10, 6, (i >> 8) & 0xff, i & 0xff), 10000 + (i % 50000));
        const ts = T0 + i * 1e-4;
        c.handshake(ts);
        c.sendClient(ts, text('GET / HTTP/1.1\r\nX-Long: '));
        for (let k = 0; k < 10; k++) c.sendClient(ts, fill);
        c.sendClient(ts, text('l'.repeat(1000).concat('\r\n')));
      }
    },
  },
  {
    name: 'pipelined-unanswered',
    what: '5 000 connections, each pipelining 3 000 requests (40-character paths) that are never answered, over 10 minutes',
    build(out, scale) {
      const count = n(5000, scale);
      const conns: Conn[] = [];
      for (let i = 0; i < count; i++) {
        const c = new Conn(out, ip(10, 4, (i >> 8) & 0xff, i & 0xff), 50000 + (i % 10000));
        c.handshake(T0 + i * 1e-4);
        conns.push(c);
      }
      const rnd = new Random(6);
      const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
      const perSegment = 20;
      const rounds = 3000 / perSegment;
      for (let round = 0; round < rounds; round++) {
        for (let ci = 0; ci < conns.length; ci++) {
          const c = conns[ci];
          let s = '';
          for (let k = 0; k < perSegment; k++) {
            let p = '';
            for (let j = 0; j < 40; j++) p += letters[rnd.below(letters.length)];
            s += `GET /${p} HTTP/1.1\r\nHost: h\r\n\r\n`;
          }
          const ts = T0 + 1 + (round * 600) / rounds + ci * 1e-6;
          c.sendClient(ts, text(s));
          c.serverAck(ts);
        }
      }
    },
  },
  {
    name: 'failure-storm',
    what: '200 000 connections over 10 minutes, each with one request the server ACKs and never answers: half given up by the client (FIN after 2 s), half reset by the server (after 1 s)',
    build(out, scale) {
      const count = n(200_000, scale);
      const request = text('POST /api/orders HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n');
      // Opened in order, each closed a few seconds later: written as two interleaved streams in time order.
      const spacing = 600 / count;
      const closing: Array<{ at: number; c: Conn; byServer: boolean }> = [];
      let next = 0;
      const flushUntil = (ts: number): void => {
        while (next < closing.length && closing[next].at <= ts) {
          const { at, c, byServer } = closing[next++];
          if (byServer) {
            out.tcp(at, c.server, c.client, c.dport, c.sport, c.sSeq, c.cSeq, F.RST | F.ACK, null);
          } else {
            out.tcp(at, c.client, c.server, c.sport, c.dport, c.cSeq, c.sSeq, F.FIN | F.ACK, null);
            c.cSeq = (c.cSeq + 1) >>> 0;
            out.tcp(at + 1e-4, c.server, c.client, c.dport, c.sport, c.sSeq, c.cSeq, F.FIN | F.ACK, null);
            c.sSeq = (c.sSeq + 1) >>> 0;
            out.tcp(at + 2e-4, c.client, c.server, c.sport, c.dport, c.cSeq, c.sSeq, F.ACK, null);
          }
        }
      };
      for (let i = 0; i < count; i++) {
        const ts = T0 + i * spacing;
        flushUntil(ts);
        const c = new Conn(out, ip(10, 5 + (i >> 16), (i >> 8) & 0xff, i & 0xff), 20000 + (i % 40000));
        c.handshake(ts);
        c.sendClient(ts + 1e-4, request);
        c.serverAck(ts + 2e-4);
        const byServer = i % 2 === 1;
        closing.push({ at: ts + (byServer ? 1 : 2), c, byServer });
        // The list is in closing-time order per kind; keep it sorted as the two kinds interleave.
        for (let k = closing.length - 1; k > next && closing[k].at < closing[k - 1].at; k--) [closing[k], closing[k - 1]] = [closing[k - 1], closing[k]];
      }
      flushUntil(Infinity);
    },
  },
];

// ------------------------------------------------------------------ child: one analysis

interface ChildReport {
  packets: number;
  seconds: number;
  maxRssMiB: number;
  stats: Record<string, unknown>;
  findings: number;
}

async function child(file: string): Promise<void> {
  tuneHeap(); // the CLI's heap settings, as bin/conncheck applies them
  const t0 = process.hrtime.bigint();
  let findings = 0;
  const out = openOutput('/dev/null');
  const endpoints = new EndpointSummary();
  const callbacks = streamingCallbacks('table', out, endpoints);
  const result = await analyzeFiles([file], {
    collect: false,
    ...callbacks,
    onFinding: (f) => {
      findings++;
      callbacks.onFinding?.(f);
    },
  });
  writeFinalReport(result, 'table', out, endpoints, false, 10);
  out.close();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const s = result.stats;
  const report: ChildReport = {
    packets: s.packets,
    seconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    findings,
    stats: {
      tcpPackets: s.tcpPackets,
      connections: s.connections,
      peakLiveConnections: s.peakLiveConnections,
      connectionsEvicted: s.connectionsEvicted,
      reassemblyRefused: s.reassemblyRefused,
      exchanges: s.exchanges,
      giveUps: Object.fromEntries(Object.entries(s.http.giveUps).filter(([, v]) => v > 0)),
      gaps: s.http.gaps,
    },
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function runChild(file: string, heap: string): Promise<ChildReport | string> {
  return new Promise((resolve) => {
    const heapFlag = heap === 'node' ? [] : [`--max-old-space-size=${heap}`];
    const p = spawn(process.execPath, [...heapFlag, __filename, '--child', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIME_LIMIT_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        try {
          resolve(JSON.parse(out) as ChildReport);
          return;
        } catch {
          // fall through to the failure report
        }
      }
      const last = err.trim().split('\n').slice(-3).join(' | ');
      resolve(`child failed (${signal ?? `exit ${code}`}): ${last}`);
    });
  });
}

// ------------------------------------------------------------------ parent

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]);
    return;
  }
  const scale = Number(argValue('--scale') ?? 1);
  const cap = Number(argValue('--cap') ?? DEFAULT_CAP_MIB);
  const only = argValue('--only')?.split(',');
  const keep = process.argv.includes('--keep');
  const heap = argValue('--heap') ?? DEFAULT_CHILD_HEAP_MIB;
  if (!(scale > 0) || !(cap > 0)) throw new Error('--scale and --cap take positive numbers');
  if (heap !== 'node' && !(Number(heap) > 0)) throw new Error('--heap takes a size in MiB or "node"');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-adversarial-'));
  let failed = false;
  console.log(`adversarial captures (scale ${scale}, cap ${cap} MiB, child heap ${heap === 'node' ? "Node's default" : `${heap} MiB`}) in ${dir}`);
  try {
    for (const c of CASES) {
      if (only && !only.includes(c.name)) continue;
      const file = path.join(dir, `${c.name}.pcap`);
      const out = new PcapStream(file);
      c.build(out, scale);
      out.close();
      const report = await runChild(file, heap);
      const mb = (out.bytes / 1e6).toFixed(0);
      if (typeof report === 'string') {
        failed = true;
        console.log(`${c.name.padEnd(22)} ${String(out.packets).padStart(9)} packets ${mb.padStart(5)} MB  FAILED: ${report}`);
      } else {
        const over = report.maxRssMiB > cap;
        if (over) failed = true;
        console.log(
          `${c.name.padEnd(22)} ${String(report.packets).padStart(9)} packets ${mb.padStart(5)} MB ` +
            `${report.seconds.toFixed(1).padStart(6)} s ${Math.round(report.packets / report.seconds).toLocaleString('en-US').padStart(10)} packets/s ` +
            `peak RSS ${report.maxRssMiB.toFixed(0).padStart(5)} MiB${over ? ' OVER CAP' : ''}  findings ${report.findings}  ${JSON.stringify(report.stats)}`,
        );
      }
      if (!keep) fs.rmSync(file, { force: true });
    }
  } finally {
    if (!keep) fs.rmSync(dir, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(`adversarial: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
});
