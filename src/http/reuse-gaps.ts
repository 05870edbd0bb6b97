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

  reset(): void {
    this.count = 0;
    this.shortest = 0;
    this.longest = 0;
    this.longestTs = 0;
    this.longestFrame = 0;
  }

  /** A client turn began at (ts, frame), `gap` seconds after the server's last data before it. */
  add(gap: number, ts: number, frame: number): void {
    if (this.count === 0 || gap < this.shortest) this.shortest = gap;
    if (this.count === 0 || gap > this.longest) {
      this.longest = gap;
      this.longestTs = ts;
      this.longestFrame = frame;
    }
    this.count++;
  }
}
