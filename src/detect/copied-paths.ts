import type { Endpoint } from '../flow/endpoint';
import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext } from './detector';

/**
 * Where the capture holds the packets from one host to another twice (capture-copies.ts): taken on
 * a host that forwards them (`tcpdump -i any` on a router, a bridge, a Kubernetes node), each
 * packet is seen on its way in and again on its way out. A packet of that direction seen only once,
 * on its way in, while its neighbours in time were seen twice, entered that host and never left it:
 * the host dropped it between its two interfaces (a forward or raw firewall rule, rp_filter, a full
 * conntrack table, a policy route). The listener it was sent to never received it, so it cannot be
 * its backlog (blind round 14, scene 9: an nft forward-chain drop of SYNs to one port, read as a
 * full backlog on the server). Fed at connection end, like PathLossLog.
 */
export interface CopiedPath {
  /** The earliest and latest moments a packet of this direction was seen twice. */
  first: number;
  last: number;
  /** Connections with a packet of this direction seen twice. */
  connections: number;
  /**
   * The TTL its packets had on their way in and out (each routing hop takes one off: a router's
   * capture), -1 when every copy had one TTL (a bridge).
   */
  ttlIn: number;
  ttlOut: number;
}

/** Host pairs (each direction one) remembered; past it, new ones are not. */
const MAX_DIRECTIONS = 65_536;

export class CopiedPaths {
  private readonly paths = new Map<string, CopiedPath>();
  /** The connection noted last: each detector sharing the log notes every connection as it ends. */
  private lastNoted = -1;

  note(conn: AnalyzedConnection): void {
    if (conn.id === this.lastNoted) return;
    this.lastNoted = conn.id;
    this.noteSide(conn.client, conn.clientHost, conn.serverHost);
    this.noteSide(conn.server, conn.serverHost, conn.clientHost);
  }

  private noteSide(ep: Endpoint, from: string, to: string): void {
    if (ep.captureCopies === 0 || ep.firstCopiedTs < 0) return;
    const key = `${from}>${to}`;
    const path = this.paths.get(key);
    if (path === undefined) {
      if (this.paths.size >= MAX_DIRECTIONS) return;
      this.paths.set(key, { first: ep.firstCopiedTs, last: ep.lastCopiedTs, connections: 1, ttlIn: ep.ttlNear, ttlOut: ep.ttlFar });
      return;
    }
    path.first = Math.min(path.first, ep.firstCopiedTs);
    path.last = Math.max(path.last, ep.lastCopiedTs);
    path.connections++;
    if (path.ttlIn < 0 && ep.ttlNear >= 0) {
      path.ttlIn = ep.ttlNear;
      path.ttlOut = ep.ttlFar;
    }
  }

  /**
   * The path from `from` to `to` when packets of a connection between them sent from `since` to
   * `until` (each seen once, the first with IP TTL `ttl`) fell between packets of that direction
   * seen twice, before and after them: the capture was seeing that direction at both points then,
   * so those packets entered the capturing host (their TTL, when the copies tell in from out, is
   * the one packets have on the way in) and were dropped there. Null otherwise: no copies, none
   * after (the drop may have lasted past the capture, or the second point stopped seeing), or a
   * TTL that says the packet was seen on its way out only.
   */
  droppedBetween(from: string, to: string, since: number, until: number, ttl: number): CopiedPath | null {
    const path = this.paths.get(`${from}>${to}`);
    if (path === undefined || path.first >= since || path.last <= until) return null;
    if (path.ttlIn >= 0 && ttl !== path.ttlIn) return null;
    return path;
  }
}

/** The name under which detectors share one CopiedPaths per analysis (`ctx.shared`). */
export const COPIED_PATHS = 'copied-paths';

/** The analysis's CopiedPaths (syn-unanswered and synack-lost each note every connection's end in it). */
export function sharedCopiedPaths(ctx: Pick<DetectContext, 'shared'>): CopiedPaths {
  return ctx.shared(COPIED_PATHS, () => new CopiedPaths());
}

/**
 * Where to look on the capturing host for packets from `fromHost` to `toHost` it let in and never
 * sent on: the remedy's lead when a diagnosis finds them (CopiedPaths.droppedBetween).
 */
export function capturingHostRemedy(what: string, fromHost: string, toHost: string): string {
  return (
    `Look on the capturing host first, the one that forwards ${fromHost} → ${toHost}: ${what} entered it and never left it. ` +
    'List its rules with their counters and find the one whose count grows: `nft list ruleset` (counters on drop rules in the forward, prerouting and raw chains), ' +
    '`iptables -L FORWARD -v -n` and `iptables -t raw -L -v -n` (packet counts on DROP rules); `conntrack -S` (drop, insert_failed, early_drop; ' +
    'dmesg "nf_conntrack: table full, dropping packet"; net.netfilter.nf_conntrack_max); reverse-path filtering (`sysctl net.ipv4.conf.all.rp_filter` and the ' +
    `incoming interface's: strict mode drops packets whose reply would leave by another interface); and the route it takes (\`ip rule\`, \`ip route get ${toHost} from ${fromHost} iif <incoming interface>\`). `
  );
}
