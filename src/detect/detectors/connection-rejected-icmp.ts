import type { IcmpErrorNote } from '../../flow/endpoint';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { hostOf, ms } from '../facts';
import type { Finding } from '../finding';

/** What an ICMP error means, and what a Linux client's connect() returned on it (tcp_v4_err / tcp_v6_err abort a SYN-SENT socket with sk_err). */
interface Meaning {
  words: string;
  errno: string;
  text: string;
  /** port: nothing accepts the port there (a REJECT rule's default); admin: a policy rejects; route: no way to the host or network; ttl: a loop or too small a TTL. */
  family: 'port' | 'admin' | 'route' | 'ttl' | 'other';
}

const ECONNREFUSED = { errno: 'ECONNREFUSED', text: 'Connection refused' };
const EHOSTUNREACH = { errno: 'EHOSTUNREACH', text: 'No route to host' };
const ENETUNREACH = { errno: 'ENETUNREACH', text: 'Network is unreachable' };
const EACCES = { errno: 'EACCES', text: 'Permission denied' };

/** ICMPv4 destination unreachable codes (RFC 792, 1122, 1812) with Linux's icmp_err_convert errno. */
const V4_UNREACHABLE: Record<number, Meaning> = {
  0: { words: 'net unreachable', ...ENETUNREACH, family: 'route' },
  1: { words: 'host unreachable', ...EHOSTUNREACH, family: 'route' },
  2: { words: 'protocol unreachable', errno: 'ENOPROTOOPT', text: 'Protocol not available', family: 'other' },
  3: { words: 'port unreachable', ...ECONNREFUSED, family: 'port' },
  5: { words: 'source route failed', errno: 'EOPNOTSUPP', text: 'Operation not supported', family: 'route' },
  6: { words: 'destination network unknown', ...ENETUNREACH, family: 'route' },
  7: { words: 'destination host unknown', errno: 'EHOSTDOWN', text: 'Host is down', family: 'route' },
  8: { words: 'source host isolated', errno: 'ENONET', text: 'Machine is not on the network', family: 'route' },
  9: { words: 'network administratively prohibited', ...ENETUNREACH, family: 'admin' },
  10: { words: 'host administratively prohibited', ...EHOSTUNREACH, family: 'admin' },
  11: { words: 'network unreachable for type of service', ...ENETUNREACH, family: 'route' },
  12: { words: 'host unreachable for type of service', ...EHOSTUNREACH, family: 'route' },
  13: { words: 'communication administratively prohibited', ...EHOSTUNREACH, family: 'admin' },
  14: { words: 'host precedence violation', ...EHOSTUNREACH, family: 'admin' },
  15: { words: 'precedence cutoff in effect', ...EHOSTUNREACH, family: 'admin' },
};

/** ICMPv6 destination unreachable codes (RFC 4443) with Linux's icmpv6_err_convert errno. */
const V6_UNREACHABLE: Record<number, Meaning> = {
  0: { words: 'no route to destination', ...ENETUNREACH, family: 'route' },
  1: { words: 'communication administratively prohibited', ...EACCES, family: 'admin' },
  2: { words: 'beyond scope of source address', ...EHOSTUNREACH, family: 'route' },
  3: { words: 'address unreachable', ...EHOSTUNREACH, family: 'route' },
  4: { words: 'port unreachable', ...ECONNREFUSED, family: 'port' },
  5: { words: 'source address failed ingress/egress policy', ...EACCES, family: 'admin' },
  6: { words: 'reject route to destination', ...EACCES, family: 'admin' },
};

/** ICMP fragmentation needed (v4 type 3 code 4) is path MTU discovery, not a rejection: Linux lowers the MTU and carries on. */
const FRAGMENTATION_NEEDED = 4;

function meaningOf(e: IcmpErrorNote): Meaning | null {
  if (!e.v6) {
    if (e.type === 11) return { words: 'time exceeded in transit (TTL reached 0: a routing loop, or too small a TTL)', ...EHOSTUNREACH, family: 'ttl' };
    if (e.type !== 3 || e.code === FRAGMENTATION_NEEDED) return null;
    return V4_UNREACHABLE[e.code] ?? { words: `unreachable (code ${e.code})`, ...EHOSTUNREACH, family: 'other' };
  }
  if (e.type === 3) return { words: 'time exceeded in transit (hop limit reached 0: a routing loop, or too small a hop limit)', ...EHOSTUNREACH, family: 'ttl' };
  if (e.type !== 1) return null;
  return V6_UNREACHABLE[e.code] ?? { words: `unreachable (code ${e.code})`, ...EHOSTUNREACH, family: 'other' };
}

/**
 * Whether the connection's SYN was rejected by an ICMP error: one quoting the client's ISN, that a
 * Linux client aborts its connect on, and no SYN-ACK. syn-unanswered leaves such attempts to this detector.
 */
export function rejectedByIcmp(conn: AnalyzedConnection): boolean {
  const e = conn.client.icmpError;
  return e !== null && e.quotesIsn && conn.client.synCount > 0 && conn.server.synAckTimes.length === 0 && meaningOf(e) !== null;
}

/** Rejected attempts kept for the diagnosis (all servers together); more are counted, not listed. */
const MAX_KEPT = 10_000;

interface Rejection {
  finding: Finding;
  server: string;
  from: string;
  byServerHost: boolean;
  meaning: Meaning;
  /** Seconds from the first SYN to the first error. */
  delay: number;
}

/**
 * A reject rule answers within a round trip; an unreachable seconds after the SYN is neighbour
 * discovery that got no answer (Linux: 3 ARP probes 1 s apart, about 3 s). From the server's own
 * address, that address forwards the connection (a DNAT, a load balancer, a router) to a host behind
 * it that is down or off its link: it cannot fail to reach itself (blind round 17, s06: a DNAT to an
 * absent backend read as "a rule on its host").
 */
const NEIGHBOUR_FAILED_AFTER = 1;

/**
 * connection-rejected-icmp: a client's SYN was answered by an ICMP destination unreachable (or time
 * exceeded) quoting it, and no SYN-ACK: a firewall's REJECT rule (iptables' default reject-with is
 * icmp-port-unreachable, nft `reject`), a router without a route or ARP answer, or kube-proxy for a
 * Service with no ready endpoints, rejected the connect on the way. A Linux client aborts a SYN-SENT
 * socket on it: connect() fails with ECONNREFUSED for port unreachable, EHOSTUNREACH for host
 * unreachable and most prohibitions (EACCES for ICMPv6 administratively prohibited). At once, with
 * no SYN retransmission, unless the error came while connect() still held the socket (an error
 * within microseconds: Linux keeps it as a soft error); then the SYN is resent at its RTO (1 s) and
 * its error aborts the connect (the sample's IPv6 attempts). Not a drop: syn-unanswered
 * leaves such attempts alone. An ICMP error on an established connection (a route lost
 * mid-connection) is a soft error to TCP and is not reported.
 */
export const connectionRejectedIcmp: DetectorDefinition = {
  id: 'connection-rejected-icmp',
  meta: {
    description:
      'A SYN was answered by an ICMP destination unreachable quoting it, not a SYN-ACK: a REJECT rule, a router or kube-proxy refused the connection ' +
      'on the way (port unreachable, host unreachable, administratively prohibited). Names who sent it and what the client saw (ECONNREFUSED, EHOSTUNREACH).',
    severity: 'error',
    messages: {
      rejected: 'SYN to {server} rejected with ICMP {words} from {from} ({sender}), no SYN-ACK: the client\'s connect failed with {errno} "{errnoText}"',
    },
  },
  create(ctx: DetectContext) {
    const rejections: Rejection[] = [];
    let unkept = 0;
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        const c = conn.client;
        const e = c.icmpError;
        // Only a SYN the error quoted (its ISN: Linux ignores an error quoting anything else in
        // SYN-SENT) and no handshake after it: a rejected connect.
        if (e === null || !rejectedByIcmp(conn)) return;
        const meaning = meaningOf(e);
        if (meaning === null) return;
        const byServerHost = e.from === conn.serverHost;
        // SYNs the client sent up to the last error (a SYN resent after an error its connect did not
        // act on: see the class comment), and any it sent after (a stack that does not abort on ICMP).
        const synsBefore = c.synTimes.filter((t) => t <= e.lastTs).length;
        const synsAfter = c.synTimes.length - synsBefore + Math.max(0, c.synCount - c.synTimes.length);
        const firstSyn = c.synTimes.length > 0 ? c.synTimes[0] : conn.startTs;
        const synFrames = c.synFrames.filter((_, i) => c.synTimes[i] <= e.lastTs);
        const finding = ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: e.ts,
          message: 'rejected',
          data: {
            server: conn.serverName,
            sender: byServerHost ? "the server's own host" : 'a hop on the path, not the server',
            from: e.from,
            words: meaning.words,
            errno: meaning.errno,
            errnoText: meaning.text,
          },
          evidence: {
            icmpFrom: e.from,
            icmpSender: byServerHost ? 'server-host' : 'path',
            icmpType: e.type,
            icmpCode: e.code,
            icmpVersion: e.v6 ? 'ICMPv6' : 'ICMP',
            icmp: meaning.words,
            icmpErrors: e.count,
            clientError: meaning.errno,
            synsSent: synsBefore,
            // When the error the connect failed on came: the first, or the one answering a resent SYN.
            rejectedAfter: ms(e.lastTs - firstSyn),
            ...(synsAfter > 0 ? { synsAfter } : {}),
          },
          frames: e.lastFrame !== e.frame ? [...synFrames, e.frame, e.lastFrame].sort((a, b) => a - b) : [...synFrames, e.frame].sort((a, b) => a - b),
        });
        if (rejections.length < MAX_KEPT) rejections.push({ finding, server: conn.serverName, from: e.from, byServerHost, meaning, delay: e.ts - firstSyn });
        else unkept++;
      },

      onFinish(): void {
        const byServer = new Map<string, Rejection[]>();
        for (const r of rejections) {
          const list = byServer.get(r.server);
          if (list === undefined) byServer.set(r.server, [r]);
          else list.push(r);
        }
        for (const [server, items] of byServer) {
          const kinds = new Map<string, { n: number; r: Rejection }>();
          for (const r of items) {
            const key = `${r.from} ${r.meaning.words}`;
            const k = kinds.get(key);
            if (k === undefined) kinds.set(key, { n: 1, r });
            else k.n++;
          }
          const list = [...kinds.values()].map(({ n, r }) => `${n} by ${r.byServerHost ? "the server's own host" : 'another hop'} ${r.from} (ICMP ${r.meaning.words}: ${r.meaning.errno} "${r.meaning.text}")`);
          const families = new Set(items.map((r) => r.meaning.family));
          const fromPath = items.some((r) => !r.byServerHost);
          // Host unreachable from the server's own address, seconds after the SYN: it forwards the connection.
          const forwarded = items.filter((r) => r.byServerHost && r.meaning.family === 'route' && r.delay >= NEIGHBOUR_FAILED_AFTER);
          const host = hostOf(server);
          const port = server.slice(server.lastIndexOf(':') + 1);
          const remedy: string[] = [];
          if (families.has('port') || families.has('admin')) {
            remedy.push(
              `Find the rule that rejects connections to port ${port} of ${host}${fromPath ? ` on the hop that sent the error (${[...new Set(items.filter((r) => !r.byServerHost).map((r) => r.from))].join(', ')})` : ' on that host'}: ` +
              '`nft list ruleset | grep -n reject`, `iptables-save | grep REJECT` (REJECT\'s default answer is icmp-port-unreachable), a security group, network policy or ACL. ' +
              `In Kubernetes, a Service whose port has no ready endpoints is answered this way by kube-proxy (\`kubectl get endpointslices\` for the Service of ${host}, its pods' readiness).`,
            );
          }
          if (forwarded.length > 0) {
            remedy.push(
              `Find where ${host} forwards connections to port ${port} (a DNAT or load-balancer rule, a Service: \`nft list ruleset\`, \`iptables -t nat -S\`, its backends list) ` +
              `and which target is down or off its link (\`ip neigh\` on ${host} shows it FAILED or INCOMPLETE); remove it or bring it back, and have the balancer health-check its targets.`,
            );
          }
          if (families.has('route')) {
            remedy.push(
              `Check the route to ${host} on the hop that sent the error (\`ip route get ${host}\`, \`ip neigh\`: a host unreachable after about 3 s is an ARP or neighbour discovery that got no answer, the host down or off its link), ` +
              'and its firewall: a reject rule may answer host unreachable too (`nft list ruleset | grep -n reject`, firewalld\'s icmp-host-prohibited).',
            );
          }
          if (families.has('ttl')) remedy.push(`Look for a routing loop towards ${host} (\`traceroute -T -p ${port} ${host}\`).`);
          if (remedy.length === 0) remedy.push(`Ask the hop that sent the error why it refuses traffic to ${server}.`);
          ctx.diagnose({
            server,
            count: items.length,
            inferred: {},
            explanation:
              `${items.length} connection attempt${items.length === 1 ? '' : 's'} to ${server} ${items.length === 1 ? 'was' : 'were'} rejected with an ICMP error quoting the SYN, instead of a SYN-ACK: ${list.join('; ')}${unkept > 0 ? ` (${unkept} more attempts across servers not listed)` : ''}. ` +
              'A rejection, not a drop: the SYN was refused where the error came from and the client was told (a Linux client aborts its connect on it, at once, or on the ' +
              'error answering its SYN resent 1 s later when the first came while connect() still held the socket; ' +
              `curl says "Couldn't connect to server", exit 7). ${fromPath ? 'The error came from another address than the server: a firewall, router or node on the path, so the server itself may never have seen the SYN.' : forwarded.length > 0 ? `The error came from the server's own address, host unreachable ${forwarded.length === items.length ? "" : `(${forwarded.length} of them) `}at least ${ms(Math.min(...forwarded.map((r) => r.delay)))} s after the SYN: no rule answers that late, and no host fails to reach itself, so ${host} forwards these connections (a DNAT, a load balancer, a router on that address) to a host behind it that did not answer ARP or neighbour discovery (down, or off its link).` : "The error came from the server's own address: a rule on its host (a listener with no such rule would have answered with a RST)."}`,
            remedy: remedy.join(' '),
            anomalyIds: items.map((r) => r.finding.id),
          });
        }
      },
    };
  },
};
