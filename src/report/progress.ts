/**
 * A one-line progress display for long reads, redrawn in place on a terminal's stderr:
 * "reading 45% · 1.2 GiB of 2.6 GiB · 812,340 packets/s · ETA 12 s". Short reads show nothing:
 * it appears only after a second. The CLI creates it only when stderr is a terminal.
 */
import type { ReadProgress } from '../analyze';
import { formatBytes } from './format-time';

export interface ProgressOptions {
  /** Milliseconds clock (tests pass their own). */
  now?: () => number;
  /** Nothing is drawn before this many ms. */
  delayMs?: number;
  /** Least ms between two redraws. */
  intervalMs?: number;
}

function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export class ProgressDisplay {
  private readonly start: number;
  private lastDraw = -Infinity;
  private drawn = false;
  private readonly now: () => number;
  private readonly delayMs: number;
  private readonly intervalMs: number;
  /** Bytes read of each input so far: files merged by time are read at the same time. */
  private readonly read: number[];
  /** Bytes of all inputs (null when one's size is unknown: stdin). */
  private readonly total: number | null;

  /**
   * @param sizes bytes of each input file, null when unknown (stdin)
   * @param write where the line goes (stderr)
   */
  constructor(
    sizes: ReadonlyArray<number | null>,
    private readonly write: (s: string) => void,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.delayMs = options.delayMs ?? 1000;
    this.intervalMs = options.intervalMs ?? 250;
    this.start = this.now();
    this.read = sizes.map(() => 0);
    this.total = sizes.every((size) => size !== null) ? sizes.reduce<number>((sum, size) => sum + (size ?? 0), 0) : null;
  }

  /** Called after each chunk read (AnalyzeOptions.onProgress). */
  readonly update = (p: ReadProgress): void => {
    this.note(p);
    const t = this.now();
    if (t - this.start < this.delayMs || t - this.lastDraw < this.intervalMs) return;
    this.lastDraw = t;
    this.drawn = true;
    this.write(`\r${this.line(p, (t - this.start) / 1000)}\u001b[K`);
  };

  /** Takes note of an input's bytes read so far. */
  note(p: ReadProgress): void {
    if (p.index >= 0 && p.index < this.read.length) this.read[p.index] = p.bytesRead;
  }

  /** The text of the progress line, after `p` was noted. */
  line(p: ReadProgress, elapsedSeconds: number): string {
    const rate = elapsedSeconds > 0 ? Math.round(p.packets / elapsedSeconds) : 0;
    const parts: string[] = [];
    if (this.total !== null && this.total > 0) {
      const done = this.read.reduce((sum, bytes) => sum + bytes, 0);
      const fraction = Math.min(1, done / this.total);
      parts.push(`reading ${Math.floor(fraction * 100)}%`, `${formatBytes(done)} of ${formatBytes(this.total)}`);
      parts.push(`${rate.toLocaleString('en-US')} packets/s`);
      const bytesPerSecond = done / elapsedSeconds;
      parts.push(`ETA ${eta((this.total - done) / bytesPerSecond)}`);
    } else {
      parts.push(`reading ${formatBytes(p.bytesRead)}`, `${rate.toLocaleString('en-US')} packets/s`);
    }
    if (this.read.length > 1) parts.push(`file ${p.index + 1} of ${this.read.length}`);
    return `conncheck: ${parts.join(' · ')}`;
  }

  /** Clears the line, if anything was drawn. */
  done(): void {
    if (this.drawn) this.write('\r\u001b[K');
    this.drawn = false;
  }
}
