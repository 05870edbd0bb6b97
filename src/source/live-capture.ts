import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Transform, TransformCallback } from 'node:stream';
import { CaptureError } from './capture-error';
import { readCaptureStream } from './open-capture';
import type { CaptureFileInfo, PacketHandler } from './raw-packet';

/** Wall time without new data after which a live capture's packets held for time order are handed on. */
const LIVE_RELEASE_HELD_MS = 100;

/**
 * Live capture through tcpdump as a child process writing pcap to its stdout, parsed by the same
 * reader as files. Why tcpdump and not the `cap` addon: kernel timestamps in nanoseconds, the
 * original length, BPF filters, SLL2 for `-i any`, a settable buffer, and kernel drop counts —
 * `cap` has no timestamps at all and corrupted its heap under load (README, "Live capture").
 */
export interface LiveCaptureOptions {
  iface: string;
  filter?: string;
  snaplen: number;
  /** Kernel capture buffer (tcpdump -B), KiB. */
  bufferKiB: number;
  /** Stop after this many packets (tcpdump -c). */
  count?: number;
  /** Save the raw pcap bytes tcpdump writes to this file as well. */
  teePcap?: string;
  /** tcpdump binary (default: found on PATH). */
  tcpdump?: string;
  /** Called once the capture engine is listening, with its own line ("listening on lo, link-type ..."). */
  onListening?: (line: string) => void;
}

/** tcpdump's own counters, as it reports them on SIGUSR1 and at exit. */
export interface CaptureCounters {
  captured: number;
  receivedByFilter: number;
  droppedByKernel: number;
}

const STATS = /(\d+) packets? captured[\s\S]*?(\d+) packets? received by filter[\s\S]*?(\d+) packets? dropped by kernel/g;

/** Turns tcpdump's complaints into the one-line errors users need. */
export function explainTcpdumpError(stderr: string, iface: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('tcpdump:') && !l.includes('listening on')) ?? stderr.trim().split('\n')[0] ?? '';
  if (/permission|Operation not permitted|not permitted/i.test(stderr)) {
    return `capture on ${iface}: permission denied — run as root or give the capture engine CAP_NET_RAW (setcap cap_net_raw,cap_net_admin+eip $(command -v tcpdump))`;
  }
  if (/No such device|doesn't exist|no suitable device|SIOCGIFHWADDR/i.test(stderr)) {
    return `capture on ${iface}: no such interface (list them with: ip -br link)`;
  }
  if (/syntax error|unknown (host|port|proto)|illegal|expression rejects|parse error|can't parse filter/i.test(stderr)) {
    return `bad capture filter: ${line.replace(/^tcpdump:\s*/, '')}`;
  }
  return `capture on ${iface} failed: ${line.replace(/^tcpdump:\s*/, '') || 'tcpdump exited without a reason'}`;
}

export class LiveCapture {
  private child: ChildProcessWithoutNullStreams | null = null;
  private stderrText = '';
  private stopping = false;
  private listening = false;
  counters: CaptureCounters | null = null;

  constructor(private readonly options: LiveCaptureOptions) {}

  /** The tcpdump command line (for the README, tests and error messages). */
  args(): string[] {
    const o = this.options;
    const args = ['-i', o.iface, '-w', '-', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-n',
      '-s', String(o.snaplen), '-B', String(o.bufferKiB)];
    // `any` captures in SLL2, which also names the interface of each packet.
    if (o.iface === 'any') args.push('-y', 'LINUX_SLL2');
    if (o.count !== undefined) args.push('-c', String(o.count));
    if (o.filter) args.push(o.filter);
    return args;
  }

  /**
   * Runs the capture until tcpdump ends (stop(), -c, or an error). Resolves with the stream's facts;
   * rejects with a one-line CaptureError when tcpdump cannot start or capture.
   */
  async run(onPacket: PacketHandler): Promise<CaptureFileInfo> {
    const tcpdump = this.options.tcpdump ?? 'tcpdump';
    const child = spawn(tcpdump, this.args(), { stdio: ['ignore', 'pipe', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams;
    this.child = child;
    const spawnError = new Promise<never>((_, reject) => {
      child.once('error', (e: NodeJS.ErrnoException) => {
        reject(new CaptureError(e.code === 'ENOENT'
          ? `capture engine missing: '${tcpdump}' not found (install it: apt-get install tcpdump)`
          : `cannot start ${tcpdump}: ${e.message}`));
      });
    });
    spawnError.catch(() => undefined);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      this.stderrText = (this.stderrText + text).slice(-8192);
      if (!this.listening) {
        const line = /listening on [^\n]*/.exec(this.stderrText);
        if (line) {
          this.listening = true;
          this.options.onListening?.(line[0]);
        }
      }
      // Counters come on one line after SIGUSR1 and on three at exit, possibly split across
      // chunks: read the latest complete report from what has arrived so far.
      let m: RegExpExecArray | null;
      let last: RegExpExecArray | null = null;
      STATS.lastIndex = 0;
      while ((m = STATS.exec(this.stderrText)) !== null) last = m;
      if (last) this.counters = { captured: Number(last[1]), receivedByFilter: Number(last[2]), droppedByKernel: Number(last[3]) };
    });
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

    let source: NodeJS.ReadableStream = child.stdout;
    let tee: fs.WriteStream | null = null;
    /** Why the copy stopped (a full disk, a file removed under it): the capture goes on without it. */
    let teeFailure: string | null = null;
    if (this.options.teePcap) {
      tee = fs.createWriteStream(this.options.teePcap);
      const file = tee;
      file.on('error', (e: NodeJS.ErrnoException) => {
        teeFailure ??= e.code ?? e.message;
      });
      source = child.stdout.pipe(new Transform({
        transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
          if (teeFailure === null) file.write(chunk);
          done(null, chunk);
        },
      }));
    }
    let info: CaptureFileInfo;
    try {
      // A quiet link must not keep its last packets back for ordering (jitter-window.ts): 0.1 s without data releases them.
      info = await Promise.race([readCaptureStream(source, `live:${this.options.iface}`, onPacket, { releaseHeldAfterMs: LIVE_RELEASE_HELD_MS }), spawnError]);
    } catch (e) {
      await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 2000))]);
      if (e instanceof CaptureError && /empty file/.test(e.message)) {
        // tcpdump wrote nothing: it failed before capturing; say why in its words.
        throw new CaptureError(explainTcpdumpError(this.stderrText, this.options.iface));
      }
      throw e;
    } finally {
      if (tee) await new Promise<void>((r) => (teeFailure === null ? tee!.end(r) : (tee!.destroy(), r())));
    }
    if (teeFailure !== null) info.warnings.push(`the copy of the packets to ${this.options.teePcap} stopped: ${teeFailure}; it holds only those before`);
    const code = await exited;
    if (code !== 0 && code !== null && !this.stopping && info.records === 0) {
      throw new CaptureError(explainTcpdumpError(this.stderrText, this.options.iface));
    }
    return info;
  }

  /** Asks tcpdump for its counters (answered on stderr, parsed into `counters`). */
  requestCounters(): void {
    if (this.child?.pid && this.child.exitCode === null) this.child.kill('SIGUSR1');
  }

  /** Stops the capture: tcpdump flushes, prints its counters and exits; run() then resolves. */
  stop(): void {
    this.stopping = true;
    if (this.child?.pid && this.child.exitCode === null) this.child.kill('SIGINT');
  }
}
