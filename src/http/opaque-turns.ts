import { ReuseGaps } from './reuse-gaps';

/**
 * Turns on a connection whose payload is neither HTTP nor TLS (a database's, a cache's): the HTTP
 * session gave it up, and only who spoke when is read. A client turn begins with the client's data
 * after the server's; each one after the client's first (which opens the connection) reuses it,
 * after the silence since the server's last answer (reuses). The request bytes are not read, beyond
 * the client's first byte, which names the protocol with the server's port (plain-protocols.ts).
 */
/** Server data this long after its previous data, with no client turn open, came unasked (seconds; the detectors' shortest idle timeout). */
const UNASKED_AFTER = 0.1;

export class OpaqueTurns {
  readonly reuses = new ReuseGaps();
  /** The first byte the client sent after the session gave up (-1: none yet). */
  clientFirstByte = -1;
  private lastClientTs = -1;
  private lastServerTs = -1;
  private clientTurnOpen = false;

  reset(): this {
    this.reuses.reset();
    this.clientFirstByte = -1;
    this.lastClientTs = -1;
    this.lastServerTs = -1;
    this.clientTurnOpen = false;
    return this;
  }

  /**
   * Begun when the HTTP session gave up on a connection whose client had already sent data at
   * `clientTs` (0: none): that data opened the client's first turn, so the client's data after the
   * server's answer reuses the connection. (Giving up as the server's first answer arrives would
   * otherwise take the client's second turn for its first, and lose the first reuse.)
   */
  startAfter(clientTs: number): this {
    if (clientTs > 0) {
      this.lastClientTs = clientTs;
      this.clientTurnOpen = true;
    }
    return this;
  }

  client(ts: number, frame: number, firstByte: number): void {
    if (this.clientFirstByte < 0) this.clientFirstByte = firstByte;
    if (!this.clientTurnOpen) {
      if (this.lastClientTs >= 0 && this.lastServerTs >= 0) this.reuses.add(ts - this.lastServerTs, ts, frame);
      this.clientTurnOpen = true;
    }
    this.lastClientTs = ts;
  }

  server(ts: number): void {
    // Data the server sends unasked, after a silence (PostgreSQL's notice as its idle timer fires, a
    // pushed message), answers nothing: the client's next turn reuses the connection as long after
    // the answer before it.
    if (!this.clientTurnOpen && this.lastServerTs >= 0 && ts - this.lastServerTs >= UNASKED_AFTER) return;
    this.clientTurnOpen = false;
    this.lastServerTs = ts;
  }
}
