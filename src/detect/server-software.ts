import type { AnalyzedConnection } from './analyzed-connection';

/** Server endpoints whose software is remembered (one string each; more are not named). */
const SERVERS_KEPT = 4096;

/**
 * What software answered on each server endpoint, from the `Server` header of its responses
 * (HttpSession.serverSoftware), so that a diagnosis names that server's own setting rather than
 * every server's. Noted at each connection's end, while its HTTP session is still there. One per
 * analysis (ctx.shared); several detectors note the same connection: the second is a no-op.
 */
export class ServerSoftware {
  private readonly byServer = new Map<string, string>();
  private lastNoted = -1;

  note(conn: AnalyzedConnection): void {
    if (conn.id === this.lastNoted) return;
    this.lastNoted = conn.id;
    const software = conn.app?.session?.serverSoftware ?? null;
    if (software === null || this.byServer.size >= SERVERS_KEPT || this.byServer.has(conn.serverName)) return;
    this.byServer.set(conn.serverName, software);
  }

  /** The `Server` value `server` ("ip:port") answered with first, or null. */
  of(server: string): string | null {
    return this.byServer.get(server) ?? null;
  }
}

export const SERVER_SOFTWARE = 'server-software';
