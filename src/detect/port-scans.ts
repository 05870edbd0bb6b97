import type { AnalyzedConnection } from './analyzed-connection';

/**
 * Port scans: one client host sending one SYN to each of many ports of one server host (nmap, a
 * vulnerability scanner, a service-discovery sweep). Each closed port answers with a RST and each
 * filtered one not at all, so counted one connection at a time a scan of 200 ports reads as 198
 * outages: a refusal is reported as such only when it is no probe of a scan.
 *
 * What tells a scan from an outage is how the ports were tried, not their number alone: a scanner
 * tries each port once or twice and moves on, while a client that needs a service (a proxy, an
 * application, a health checker) tries the same port again and again. So a connection attempt is a
 * scan's probe when its port was tried at most MAX_TRIES_PER_PORT times from its client host within
 * SCAN_WINDOW seconds either side, and that host tried at least MIN_SCANNED_PORTS such ports of the
 * same server host in that window. A host with twenty services that all went down at once is tried
 * again on each of them by whoever needs them, and stays an outage.
 *
 * Only attempts that carried no data count (a SYN refused or unanswered, or a handshake closed or
 * reset without a byte: a connect scan, or a half-open scan's RST after the SYN-ACK).
 */

/** Seconds either side of an attempt in which its client host's other attempts are looked at. */
export const SCAN_WINDOW = 5;
/** Distinct ports, each tried at most MAX_TRIES_PER_PORT times, that make a scan. */
export const MIN_SCANNED_PORTS = 10;
/** Tries of one port within the window that a scanner makes at most (nmap sends a probe again once when it gets no answer). */
const MAX_TRIES_PER_PORT = 2;
/** Attempts kept per client and server host pair (the oldest are dropped first): bounds a scan of all 65 535 ports. */
const KEPT_PER_PAIR = 1024;
/** Client and server host pairs followed; past it new pairs are not (their refusals are reported as refusals). */
const MAX_PAIRS = 8192;

interface PairAttempts {
  /** Capture times of the attempts, in the order noted, and their server ports. */
  ts: number[];
  port: number[];
  /** Source ports, for the report: a scanner often sends every probe from one. */
  sourcePort: number[];
}

/** One connection attempt, as kept past its connection's release. */
export interface Attempt {
  clientHost: string;
  serverHost: string;
  serverPort: number;
  /** Its first SYN. */
  ts: number;
}

/** What one scan did: for its diagnosis. */
export interface ScanSummary {
  clientHost: string;
  serverHost: string;
  first: number;
  last: number;
  ports: number;
  /** Ports that answered with a SYN-ACK (open) among those tried. */
  openPorts: number[];
  /** A single source port every probe came from, or null. */
  sourcePort: number | null;
}

export class PortScans {
  private readonly pairs = new Map<string, PairAttempts>();
  /** Ports that answered a probe's SYN with a SYN-ACK, per pair (for the report). */
  private readonly open = new Map<string, Set<number>>();

  /** Notes a connection as it ends, if it was an attempt that carried no data. */
  note(conn: AnalyzedConnection): void {
    const c = conn.client;
    const s = conn.server;
    if (c.synCount === 0 || c.synTimes.length === 0 || c.payloadBytes > 0 || s.payloadBytes > 0) return;
    const key = pairKey(conn.clientHost, conn.serverHost);
    let pair = this.pairs.get(key);
    if (pair === undefined) {
      if (this.pairs.size >= MAX_PAIRS) return;
      pair = { ts: [], port: [], sourcePort: [] };
      this.pairs.set(key, pair);
    }
    if (pair.ts.length >= KEPT_PER_PAIR) {
      pair.ts.shift();
      pair.port.shift();
      pair.sourcePort.shift();
    }
    const port = portOf(conn.serverName);
    pair.ts.push(c.synTimes[0]);
    pair.port.push(port);
    pair.sourcePort.push(portOf(conn.clientName));
    if (s.synAckCount > 0) {
      let open = this.open.get(key);
      if (open === undefined) this.open.set(key, (open = new Set()));
      if (open.size < 64) open.add(port);
    }
  }

  /**
   * Whether `attempt` (noted) was a probe of a scan, judged from its client host's attempts within
   * SCAN_WINDOW of it either side: ask once the capture clock is SCAN_WINDOW past it, or at the end.
   */
  isProbe(attempt: Attempt): boolean {
    const pair = this.pairs.get(pairKey(attempt.clientHost, attempt.serverHost));
    if (pair === undefined) return false;
    const tries = this.triesByPort(pair, attempt.ts);
    const own = tries.get(attempt.serverPort) ?? 0;
    if (own === 0 || own > MAX_TRIES_PER_PORT) return false;
    let scanned = 0;
    for (const n of tries.values()) if (n <= MAX_TRIES_PER_PORT) scanned++;
    return scanned >= MIN_SCANNED_PORTS;
  }

  /** What the scan `attempt` was a probe of did around it, for a diagnosis. */
  summary(attempt: Attempt): ScanSummary {
    const { clientHost, serverHost, ts } = attempt;
    const key = pairKey(clientHost, serverHost);
    const pair = this.pairs.get(key);
    const summary: ScanSummary = { clientHost, serverHost, first: ts, last: ts, ports: 0, openPorts: [], sourcePort: null };
    if (pair === undefined) return summary;
    const tries = this.triesByPort(pair, ts);
    const sources = new Set<number>();
    for (let i = 0; i < pair.ts.length; i++) {
      const t = pair.ts[i];
      if (t < ts - SCAN_WINDOW || t > ts + SCAN_WINDOW || (tries.get(pair.port[i]) ?? 0) > MAX_TRIES_PER_PORT) continue;
      summary.first = Math.min(summary.first, t);
      summary.last = Math.max(summary.last, t);
      sources.add(pair.sourcePort[i]);
    }
    for (const n of tries.values()) if (n <= MAX_TRIES_PER_PORT) summary.ports++;
    const open = this.open.get(key);
    if (open !== undefined) summary.openPorts = [...open].filter((p) => (tries.get(p) ?? 0) <= MAX_TRIES_PER_PORT).sort((a, b) => a - b);
    summary.sourcePort = sources.size === 1 ? [...sources][0] : null;
    return summary;
  }

  /** Tries per server port by the pair within SCAN_WINDOW of `ts`. */
  private triesByPort(pair: PairAttempts, ts: number): Map<number, number> {
    const tries = new Map<number, number>();
    for (let i = 0; i < pair.ts.length; i++) {
      const t = pair.ts[i];
      if (t < ts - SCAN_WINDOW || t > ts + SCAN_WINDOW) continue;
      tries.set(pair.port[i], (tries.get(pair.port[i]) ?? 0) + 1);
    }
    return tries;
  }
}

function pairKey(clientHost: string, serverHost: string): string {
  return `${clientHost}>${serverHost}`;
}

/** The attempt `conn` made, as kept past its release. */
export function attemptOf(conn: AnalyzedConnection): Attempt {
  return { clientHost: conn.clientHost, serverHost: conn.serverHost, serverPort: portOf(conn.serverName), ts: conn.client.synTimes[0] };
}

function portOf(endpoint: string): number {
  return Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
}

/** The analysis's one PortScans (DetectContext.shared). */
export const PORT_SCANS = 'port-scans';
