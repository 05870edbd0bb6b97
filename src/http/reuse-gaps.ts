/**
 * The idle gaps after which a client reused a connection whose payload conncheck does not frame
 * into requests (TLS records, a database's or a cache's protocol): each client turn that began
 * after the server's answer, and how long the connection had been silent since that answer. Kept as
 * a count, the shortest and the longest (with where the longest began): what idle-timeout-mismatch
 * weighs against the server's idle timeout, as it weighs each HTTP exchange's idle gap.
 */
export class ReuseGaps {
  count = 0;
  shortest = 0;
  longest = 0;
  /** When the longest reuse's first data came, and in which frame. */
  longestTs = 0;
  longestFrame = 0;
  /** The last turn's start (a client's goodbye after the server's close is no reuse: see longestBeforeLast). */
  lastTs = 0;
  /** The longest of the turns before the last one (count > 1). */
  private earlierLongest = 0;
  private earlierLongestTs = 0;
  private earlierLongestFrame = 0;
  private lastGap = 0;
  private lastFrame = 0;

  reset(): void {
    this.count = 0;
    this.shortest = 0;
    this.longest = 0;
    this.longestTs = 0;
    this.longestFrame = 0;
    this.lastTs = 0;
    this.earlierLongest = 0;
    this.earlierLongestTs = 0;
    this.earlierLongestFrame = 0;
    this.lastGap = 0;
    this.lastFrame = 0;
  }

  /** A client turn began at (ts, frame), `gap` seconds after the server's last data before it. */
  add(gap: number, ts: number, frame: number): void {
    if (this.count > 0 && (this.count === 1 || this.lastGap > this.earlierLongest)) {
      this.earlierLongest = this.lastGap;
      this.earlierLongestTs = this.lastTs;
      this.earlierLongestFrame = this.lastFrame;
    }
    if (this.count === 0 || gap < this.shortest) this.shortest = gap;
    if (this.count === 0 || gap > this.longest) {
      this.longest = gap;
      this.longestTs = ts;
      this.longestFrame = frame;
    }
    this.lastGap = gap;
    this.lastTs = ts;
    this.lastFrame = frame;
    this.count++;
  }

  /** The longest turn before the last one (null: there was only one), for when the last is a goodbye, no reuse. */
  longestBeforeLast(): { gap: number; ts: number; frame: number } | null {
    return this.count < 2 ? null : { gap: this.earlierLongest, ts: this.earlierLongestTs, frame: this.earlierLongestFrame };
  }
}
