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
 *
 * A scan is recognised by its refusals (connection-refused asks isProbe). The filtered ports it
 * tried (SYNs never answered, neither SYN-ACK nor RST) are its probes too once it is: those tried at
 * most MAX_TRIES_PER_PORT times within SCAN_WINDOW, within SCAN_WINDOW of the scan's span
 * (silentProbes). They belong to the scan's diagnosis, not to syn-unanswered's outages.
 *
 * Per client and server host pair, the attempts are kept in the order noted and a window slides
 * over them as the attempts asked about move on in time, counting tries per port and the ports
 * tried at most MAX_TRIES_PER_PORT times: each attempt enters and leaves the window once, so a scan
 * of all 65 535 ports costs linear time (a first version kept the last 1 024 attempts per pair and
 * counted them again for each question: it lost the start of any faster scan).
 */

/** Seconds either side of an attempt in which its client host's other attempts are looked at. */
export const SCAN_WINDOW = 5;
/** Distinct ports, each tried at most MAX_TRIES_PER_PORT times, that make a scan. */
export const MIN_SCANNED_PORTS = 10;
/** Tries of one port within the window that a scanner makes at most (nmap sends a probe again once when it gets no answer). */
const MAX_TRIES_PER_PORT = 2;
/** Attempts kept per pair ahead of the window's start (the oldest are dropped first). */
const KEPT_PER_PAIR = 1 << 17;
/** Client and server host pairs followed; past it new pairs are not (their refusals are reported as refusals). */
const MAX_PAIRS = 8192;
/** Open ports remembered per pair for a scan's summary. */
const OPEN_PORTS_KEPT = 1024;
/** Unanswered attempts (no SYN-ACK, no RST) remembered per pair, for a scan's filtered ports. */
const SILENT_KEPT = 4096;

/** One connection attempt, as kept past its connection's release. */
export interface Attempt {
  clientHost: string;
  serverHost: string;
  serverPort: number;
  /** The client's port (a scanner often sends every probe from one). */
  sourcePort: number;
  /** Its first SYN. */
  ts: number;
}

/** What one scan did: for its diagnosis. */
export interface ScanSummary {
  clientHost: string;
  serverHost: string;
  first: number;
  last: number;
  /** Ports probed: those refused as the scan's probes, the open ones and the filtered ones it tried at most twice. */
  ports: number;
  /** Ports that refused the scan's probes (each may have refused twice: the refusals are the probes' findings). */
  refusedPorts: number;
  /** Ports the scan tried that never answered at all (filtered), sorted. */
  filteredPorts: number[];
  /** Ports that answered with a SYN-ACK (open) among those tried. */
  openPorts: number[];
  /** A single source port every probe came from, or null. */
  sourcePort: number | null;
}

/** One client host's attempts at one server host, and the window sliding over them. */
class PairAttempts {
  readonly ts: number[] = [];
  readonly port: number[] = [];
  /** Attempts dropped from the front of the arrays (indices below are absolute minus this). */
  dropped = 0;
  /** The window: attempts [lo, hi) (absolute indices), their tries per port, and the ports tried at most MAX_TRIES_PER_PORT times. */
  lo = 0;
  hi = 0;
  readonly tries = new Map<number, number>();
  light = 0;
  /** The scan's probes found so far (refusals asked about and found to be probes). */
  probes = 0;
  readonly probedPorts = new Set<number>();
  first = Infinity;
  last = -Infinity;
  /** Source ports of the probes: one only, or several (null). */
  sourcePort: number | null | undefined = undefined;
  /** Open ports tried, with their tries. */
  readonly open = new Map<number, number>();
  /** Attempts never answered (no SYN-ACK, no RST), in the order noted: port, first SYN, flow. */
  readonly silent: Array<{ port: number; ts: number; flowId: number }> = [];

  enter(port: number): void {
    const n = (this.tries.get(port) ?? 0) + 1;
    this.tries.set(port, n);
    if (n === 1) this.light++;
    else if (n === MAX_TRIES_PER_PORT + 1) this.light--;
  }

  leave(port: number): void {
    const n = (this.tries.get(port) ?? 1) - 1;
    if (n === 0) {
      this.tries.delete(port);
      this.light--;
    } else {
      this.tries.set(port, n);
      if (n === MAX_TRIES_PER_PORT) this.light++;
    }
  }

  /** Slides the window to [ts - SCAN_WINDOW, ts + SCAN_WINDOW] (it only moves forward). */
  slideTo(ts: number): void {
    const end = this.dropped + this.ts.length;
    while (this.hi < end && this.ts[this.hi - this.dropped] <= ts + SCAN_WINDOW) this.enter(this.port[this.hi++ - this.dropped]);
    while (this.lo < this.hi && this.ts[this.lo - this.dropped] < ts - SCAN_WINDOW) this.leave(this.port[this.lo++ - this.dropped]);
  }

  /** Drops attempts before the window's start once they are many (and, past the bound, the window's oldest). */
  trim(): void {
    while (this.dropped + this.ts.length - this.lo > KEPT_PER_PAIR) {
      if (this.lo < this.hi) this.leave(this.port[this.lo - this.dropped]);
      this.lo++;
      if (this.hi < this.lo) this.hi = this.lo;
    }
    const dead = this.lo - this.dropped;
    if (dead > 4096 && dead * 2 > this.ts.length) {
      this.ts.splice(0, dead);
      this.port.splice(0, dead);
      this.dropped += dead;
    }
  }
}

export class PortScans {
  private readonly pairs = new Map<string, PairAttempts>();
  /** silentProbes, once worked out. */
  private silentFound: Map<PairAttempts, Array<{ port: number; flowId: number }>> | null = null;

  /** Notes a connection as it ends, if it was an attempt that carried no data. */
  note(conn: AnalyzedConnection): void {
    const c = conn.client;
    const s = conn.server;
    if (c.synCount === 0 || c.synTimes.length === 0 || c.payloadBytes > 0 || s.payloadBytes > 0) return;
    const key = pairKey(conn.clientHost, conn.serverHost);
    let pair = this.pairs.get(key);
    if (pair === undefined) {
      if (this.pairs.size >= MAX_PAIRS) return;
      pair = new PairAttempts();
      this.pairs.set(key, pair);
    }
    const port = conn.sPort;
    pair.ts.push(c.synTimes[0]);
    pair.port.push(port);
    pair.trim();
    if (s.synAckCount > 0 && (pair.open.has(port) || pair.open.size < OPEN_PORTS_KEPT)) pair.open.set(port, (pair.open.get(port) ?? 0) + 1);
    if (s.synAckCount === 0 && s.rstTs < 0 && pair.silent.length < SILENT_KEPT) pair.silent.push({ port, ts: c.synTimes[0], flowId: conn.id });
  }

  /**
   * The flows (ids) of recognised scans' unanswered probes, by pair: a filtered port a scan tried
   * once or twice while it ran. Ask at the end, once every refusal was asked about (isProbe).
   */
  silentProbes(): ReadonlyMap<PairAttempts, ReadonlyArray<{ port: number; flowId: number }>> {
    if (this.silentFound !== null) return this.silentFound;
    const found = new Map<PairAttempts, Array<{ port: number; flowId: number }>>();
    for (const pair of this.pairs.values()) {
      if (pair.probes === 0 || pair.silent.length === 0) continue;
      const byPort = new Map<number, number[]>();
      for (const a of pair.silent) {
        const list = byPort.get(a.port);
        if (list === undefined) byPort.set(a.port, [a.ts]);
        else list.push(a.ts);
      }
      const probes: Array<{ port: number; flowId: number }> = [];
      for (const a of pair.silent) {
        if (a.ts < pair.first - SCAN_WINDOW || a.ts > pair.last + SCAN_WINDOW || pair.open.has(a.port)) continue;
        // A port tried again and again (a health checker's) is no probe, as with refusals.
        const tries = (byPort.get(a.port) ?? []).filter((t) => Math.abs(t - a.ts) <= SCAN_WINDOW).length;
        if (tries <= MAX_TRIES_PER_PORT) probes.push({ port: a.port, flowId: a.flowId });
      }
      if (probes.length > 0) found.set(pair, probes);
    }
    this.silentFound = found;
    return found;
  }

  /** The flow ids of every recognised scan's unanswered probes (silentProbes). */
  silentProbeFlows(): Set<number> {
    const flows = new Set<number>();
    for (const probes of this.silentProbes().values()) for (const p of probes) flows.add(p.flowId);
    return flows;
  }

  /**
   * Whether `attempt` (noted) was a probe of a scan, judged from its client host's attempts within
   * SCAN_WINDOW of it either side: ask once the capture clock is SCAN_WINDOW past it, or at the
   * end, in the order of the attempts' times. A probe counts into its scan's summary.
   */
  isProbe(attempt: Attempt): boolean {
    const pair = this.pairs.get(pairKey(attempt.clientHost, attempt.serverHost));
    if (pair === undefined) return false;
    pair.slideTo(attempt.ts);
    const own = pair.tries.get(attempt.serverPort) ?? 0;
    if (own === 0 || own > MAX_TRIES_PER_PORT || pair.light < MIN_SCANNED_PORTS) return false;
    pair.probes++;
    if (pair.probedPorts.size < 65_536) pair.probedPorts.add(attempt.serverPort);
    if (attempt.ts < pair.first) pair.first = attempt.ts;
    if (attempt.ts > pair.last) pair.last = attempt.ts;
    pair.sourcePort = pair.sourcePort === undefined || pair.sourcePort === attempt.sourcePort ? attempt.sourcePort : null;
    return true;
  }

  /** What the scan `attempt` was a probe of did, for a diagnosis (ask at the end). */
  summary(attempt: Attempt): ScanSummary {
    const { clientHost, serverHost, ts } = attempt;
    const pair = this.pairs.get(pairKey(clientHost, serverHost));
    const summary: ScanSummary = { clientHost, serverHost, first: ts, last: ts, ports: 0, refusedPorts: 0, filteredPorts: [], openPorts: [], sourcePort: null };
    if (pair === undefined) return summary;
    // Open ports the scan tried once or twice (a health checker's port, tried all along, is no probe).
    const open = [...pair.open].filter(([, n]) => n <= MAX_TRIES_PER_PORT).map(([port]) => port).sort((a, b) => a - b);
    summary.first = Math.min(pair.first, ts);
    summary.last = Math.max(pair.last, ts);
    const filtered = [...new Set((this.silentProbes().get(pair) ?? []).map((p) => p.port))].filter((p) => !pair.probedPorts.has(p)).sort((a, b) => a - b);
    summary.ports = pair.probedPorts.size + open.filter((p) => !pair.probedPorts.has(p)).length + filtered.length;
    summary.refusedPorts = pair.probedPorts.size;
    summary.filteredPorts = filtered;
    summary.openPorts = open;
    summary.sourcePort = pair.sourcePort ?? null;
    return summary;
  }
}

function pairKey(clientHost: string, serverHost: string): string {
  return `${clientHost}>${serverHost}`;
}

/** The attempt `conn` made, as kept past its release. */
export function attemptOf(conn: AnalyzedConnection): Attempt {
  const client = conn.clientName;
  return { clientHost: conn.clientHost, serverHost: conn.serverHost, serverPort: conn.sPort, sourcePort: Number(client.slice(client.lastIndexOf(':') + 1)), ts: conn.client.synTimes[0] };
}

/** The analysis's one PortScans (DetectContext.shared). */
export const PORT_SCANS = 'port-scans';

/** Up to ten ports of a scan's summary, in order, "…" past them. */
export function portList(ports: readonly number[]): string {
  return `${ports.slice(0, 10).join(', ')}${ports.length > 10 ? ', …' : ''}`;
}
