import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, ms, timeOfDay } from '../facts';
import type { KeepAliveGaveUp } from '../../flow/endpoint';
import type { Finding, InferredValue } from '../finding';

/** Findings kept for the diagnoses (the findings themselves are reported as connections end). */
const MAX_KEPT = 10_000;
/**
 * Keep-alive timers count whole seconds (Linux TCP_KEEPIDLE and TCP_KEEPINTVL are at least 1 s;
 * Node's keepAliveMsecs and Go's KeepAlive are rounded to seconds), so the idle time before the
 * first probe, the spacing of the probes and the wait from the last one to the RST are each a
 * second or more; half of that leaves room for where the capture sits (a round trip either way).
 * An empty ACK one behind the sender's next number that comes sooner is something else: one sent
 * before a FIN and reordered behind it on a lossy path (sample healthy-lossy-path-heavy).
 */
const MIN_KEEPALIVE_TIMER = 0.5;

type Side = 'client' | 'server';

interface Kept {
  id: string;
  server: string;
  prober: Side;
  probes: number;
  idle: number;
  /** Seconds between probes (from their spacing; with one probe, from the probe to the RST). */
  interval: number;
  resetTs: number;
}

/**
 * tcp-keepalive-dead-peer: one side's TCP keep-alive found its peer or the path gone. On a
 * connection idle for the keep-alive time (Linux tcp_keepalive_time, 7200 s by default; the
 * application's TCP_KEEPIDLE, Node's keepAliveMsecs, Go's net.Dialer.KeepAlive 15 s) a side sends
 * probes (seq = next − 1, no new byte: Endpoint.noteKeepAliveProbe) every interval
 * (tcp_keepalive_intvl / TCP_KEEPINTVL); when tcp_keepalive_probes (TCP_KEEPCNT) of them go
 * unanswered, Linux resets the connection and the application gets ETIMEDOUT. Nothing at all came
 * back: the peer's host is down or unplugged, or a NAT, firewall or load balancer on the path
 * dropped the connection's state, or a link failed. The side that reset is the one that noticed,
 * not the one at fault (blind round 15, s04b: a client's "client reset"; s14: a server's reset
 * counted as a "server reset" against it). Answered probes are a healthy idle connection (silent);
 * a RST without probes before it is an ordinary reset. A peer that answers a probe with its own
 * RST (a rebooted host, a NAT that forgot the connection and says so) is the peer's reset, not this.
 * Recorded in tcp-keepalive-dead-peer (two namespaces, nft drop rules on the path).
 */
export const tcpKeepaliveDeadPeer: DetectorDefinition = {
  id: 'tcp-keepalive-dead-peer',
  meta: {
    description:
      "One side's TCP keep-alive found its peer or the path dead: on an idle connection it sent keep-alive probes that were never answered, then reset the connection (the application got ETIMEDOUT). " +
      'The other side or the path (a host gone, a NAT or firewall that dropped the state, a link down) is at fault, not the side that reset; the probe count, interval and idle time show its keep-alive settings.',
    severity: 'warning',
    messages: {
      probes:
        "the {prober}'s TCP keep-alive gave up on the connection: after {idle} s idle it sent {probes} keep-alive probes {interval} s apart that the {peer} never answered, and reset the connection {rstGap} s after the last one ({settings}); " +
        "the {peer} or the path to it was gone (its host down or unplugged, a NAT or firewall that dropped the connection's state, a link down): the RST is the {prober}'s kernel declaring it dead, not a fault of the {prober}",
      probe:
        "the {prober}'s TCP keep-alive gave up on the connection: after {idle} s idle it sent a keep-alive probe that the {peer} never answered, and reset the connection {rstGap} s later ({settings}); " +
        "the {peer} or the path to it was gone (its host down or unplugged, a NAT or firewall that dropped the connection's state, a link down): the RST is the {prober}'s kernel declaring it dead, not a fault of the {prober}",
    },
  },
  create(ctx: DetectContext) {
    const kept: Kept[] = [];
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        const prober = proberOf(conn);
        if (prober === null) return;
        const g = (prober === 'client' ? conn.client : conn.server).keepAliveGaveUp();
        if (g === null || !timedLikeKeepAlive(g)) return;
        const finding = report(ctx, conn, prober, g);
        if (kept.length < MAX_KEPT) {
          kept.push({ id: finding.id, server: conn.serverName, prober, probes: g.probes, idle: g.idle, interval: intervalOf(g), resetTs: g.resetTs });
        }
      },

      onFinish(): void {
        const groups = new Map<string, Kept[]>();
        for (const k of kept) {
          const key = `${k.prober} ${k.server}`;
          const list = groups.get(key);
          if (list === undefined) groups.set(key, [k]);
          else list.push(k);
        }
        for (const list of groups.values()) diagnose(ctx, list);
      },
    };
  },
};

/** The side whose keep-alive reset the connection first (FlowRecord.keepAliveGaveUp), or null. */
function proberOf(conn: AnalyzedConnection): Side | null {
  const c = conn.client.keepAliveGaveUpReset;
  const s = conn.server.keepAliveGaveUpReset;
  if (c && (!s || conn.client.rstTs <= conn.server.rstTs)) return 'client';
  return s ? 'server' : null;
}

/** Whether the probes and the RST kept a keep-alive timer's pace (MIN_KEEPALIVE_TIMER). */
function timedLikeKeepAlive(g: KeepAliveGaveUp): boolean {
  return g.idle >= MIN_KEEPALIVE_TIMER && intervalOf(g) >= MIN_KEEPALIVE_TIMER && g.resetTs - g.lastTs >= MIN_KEEPALIVE_TIMER;
}

/** Seconds between probes: their mean spacing, or with one probe the wait from it to the RST (Linux resets at the next probe's time). */
function intervalOf(g: KeepAliveGaveUp): number {
  return g.probes > 1 ? (g.lastTs - g.firstTs) / (g.probes - 1) : g.resetTs - g.lastTs;
}

/** The keep-alive settings the probes show, in the kernel's and the socket options' names. */
function settingsText(g: KeepAliveGaveUp): string {
  return `tcp_keepalive_time / TCP_KEEPIDLE ≈ ${ms(g.idle)} s, tcp_keepalive_intvl / TCP_KEEPINTVL ≈ ${ms(intervalOf(g))} s, tcp_keepalive_probes / TCP_KEEPCNT = ${g.probes}`;
}

function report(ctx: DetectContext, conn: AnalyzedConnection, prober: Side, g: KeepAliveGaveUp): Finding {
  const peer: Side = prober === 'client' ? 'server' : 'client';
  const interval = intervalOf(g);
  return ctx.report({
    flowId: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    ts: g.resetTs,
    message: g.probes > 1 ? 'probes' : 'probe',
    data: {
      prober,
      peer,
      idle: ms(g.idle),
      probes: g.probes,
      interval: ms(interval),
      rstGap: ms(g.resetTs - g.lastTs),
      settings: settingsText(g),
    },
    evidence: {
      detectedBy: prober,
      blame: `${peer} or path`,
      keepAliveProbes: g.probes,
      probeInterval: ms(interval),
      idleBeforeFirstProbe: ms(g.idle),
      resetAfterLastProbe: ms(g.resetTs - g.lastTs),
      firstProbeAt: at(g.firstTs),
      lastProbeAt: at(g.lastTs),
      resetAt: at(g.resetTs),
      peerSilentFor: ms(g.resetTs - g.firstTs + g.idle),
    },
    frames: [...new Set([g.firstFrame, g.lastFrame, g.resetFrame])].filter((f) => f > 0).sort((a, b) => a - b),
  });
}

function inferred(values: readonly number[]): InferredValue | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return { value: ms(sorted[Math.floor(sorted.length / 2)]), samples: sorted.length, spread: ms(sorted[sorted.length - 1] - sorted[0]) };
}

/** One diagnosis per server and probing side: whose keep-alive noticed, what it shows, where to look. */
function diagnose(ctx: DetectContext, list: readonly Kept[]): void {
  const first = list[0];
  const n = list.length;
  const prober = first.prober;
  const peer: Side = prober === 'client' ? 'server' : 'client';
  const idle = inferred(list.map((k) => k.idle));
  const interval = inferred(list.map((k) => k.interval));
  const probes = [...new Set(list.map((k) => k.probes))].sort((a, b) => a - b);
  const times = list.map((k) => k.resetTs);
  const when = n === 1 ? `at ${timeOfDay(times[0])} UTC` : `between ${timeOfDay(Math.min(...times))} and ${timeOfDay(Math.max(...times))} UTC`;
  const inferredValues: Record<string, InferredValue> = {};
  if (idle !== null) inferredValues[`${prober}TcpKeepAliveIdle`] = idle;
  if (interval !== null) inferredValues[`${prober}TcpKeepAliveInterval`] = interval;
  const who = prober === 'client' ? `clients of ${first.server}` : `the server ${first.server}`;
  const explanation =
    `The TCP keep-alive of ${who} reset ${n} idle connection${n === 1 ? '' : 's'} ${when} after ${probes.join(' or ')} keep-alive probe${probes.length === 1 && probes[0] === 1 ? '' : 's'} ` +
    `that the ${peer} never answered` +
    (idle !== null ? `, the first after ${idle.value} s idle` : '') +
    (interval !== null ? `, ${interval.value} s apart` : '') +
    ` (the ${prober}'s tcp_keepalive_time / TCP_KEEPIDLE, tcp_keepalive_intvl / TCP_KEEPINTVL and tcp_keepalive_probes / TCP_KEEPCNT). ` +
    `Nothing at all came back from the ${peer}: its host was down, restarted or unplugged, or the path to it failed (a NAT gateway, firewall or load balancer that dropped the connection's state, a route or link down). ` +
    `The ${prober}'s resets are its kernel declaring the ${peer} dead (the application got ETIMEDOUT), not a fault of the ${prober}.`;
  const remedy =
    `Look at the ${peer} and the path, not at the ${prober}: was the ${peer} host up ${when}, did a NAT, firewall or load balancer between them forget the connection ` +
    '(an idle timeout shorter than the keep-alive idle time: lower TCP_KEEPIDLE below it so the probes keep its state alive), did a link or route fail? ' +
    (prober === 'client'
      ? "The client's keep-alive did its job: a pool that reuses idle connections should expect ETIMEDOUT on such a connection and retry on a new one."
      : "The server's keep-alive did its job, freeing the connection of a client that was gone; nothing to change on the server.");
  ctx.diagnose({ server: first.server, count: n, inferred: inferredValues, explanation, remedy, anomalyIds: list.map((k) => k.id) });
}
