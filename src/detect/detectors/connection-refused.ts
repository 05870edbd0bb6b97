import { exactStatus, statusText } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition, FindingInput } from '../detector';
import { hostOf, ms, timeOfDay } from '../facts';
import { sharedGatewayAnswers } from '../gateway-answers';
import { float64Column, grownColumn } from '../grown-column';
import { sharedHostTtls } from '../host-ttls';
import { STOPPED_WITHIN } from '../server-stops';
import { PortOpens } from '../port-opens';
import { Attempt, attemptOf, PORT_SCANS, portList, PortScans, SCAN_WINDOW, ScanSummary } from '../port-scans';
import { failureKey, isGatewayStatus, LegRequest, PairedFailure, refusedConnect, relayedToClientsText, sharedProxyLegs } from '../proxy-legs';
import { REQUEST_INDEX, RememberedRequest, RequestIndex } from '../request-index';

/** Server endpoints whose accepted connections are remembered (to tell "down" from "not yet up"); more are not. */
const MAX_SERVERS_TRACKED = 65_536;

/** How soon after a refused connect a proxy's request to another backend is its moving that request on (seconds). */
const MOVED_ON_WITHIN = 1;
/** Refusals looked at for it (each a scan of the proxy's kept requests). */
const MOVED_ON_CHECKED = 64;

/**
 * How long after a refusal a proxy's immediate failures are taken for its having marked the
 * backend down (Apache mod_proxy's `retry=` defaults to 60 s, nginx's `fail_timeout` to 10 s).
 */
const MARKED_DOWN_WINDOW = 300;

/**
 * Refusals held back while a port scan could still show them to be its probes (PortScans): they
 * are reported once the capture clock is SCAN_WINDOW past them. Past this many held at once (a
 * flood of refusals) the oldest are reported without waiting.
 */
const MAX_HELD = 10_000;

/**
 * How soon after a refusal a connection to the same port over the other address family is the
 * client falling back to it (happy eyeballs, RFC 8305: after a refusal the next address is tried
 * at once; Go waits 300 ms only while the first attempt is still pending).
 */
const FALLBACK_WITHIN = 0.5;

/**
 * How soon after a refusal a connection from the same client host to the same server that was not
 * refused is the client getting through at once (seconds): a retry right after the refusal (a
 * reload's one-off, a connect retry), or HAProxy's next attempt after its pause of
 * min(`timeout connect`, 1 s). Its user saw at most a delay; the refusal stays a warning.
 */
const RECOVERED_WITHIN = 1.5;

/** Client hosts and servers whose refusals are counted (whether a client came back: failedClient). */
const MAX_PAIRS_COUNTED = 65_536;

/** Requests a proxy held across a refusal and retried, looked at per refusing server. */
const RETRIED_KEPT = 1000;

/** A client's request a proxy held across a refusal of its backend and then forwarded to it (retriedConnects). */
interface RetriedConnect {
  down: RememberedRequest;
  /** How long its client waited for the answer (seconds). */
  waited: number;
}

/** When a server endpoint accepted connections (answered a SYN with a SYN-ACK). */
interface Accepted {
  first: number;
  last: number;
  count: number;
  /** The last data the server sent on any connection it had accepted. */
  lastServed: number;
  /**
   * Each accepted connection's SYN-ACK time, in the order the connections ended (not sorted): a
   * SYN-ACK between two refusals proves the listener was up then, so they belong to separate
   * outages (outagesOf). Bounded by ACCEPT_TIMES_KEPT over all servers.
   */
  times: Float64Array;
  kept: number;
  /** The earliest refusal of this server noted so far (Infinity: none): where compaction may cut. */
  firstRefused: number;
  /**
   * When it reset accepted connections holding an unanswered request (the latest): resets right
   * before an outage are its process dying with them (reset-before-response's diagnosis).
   */
  resetsHolding: Array<{ ts: number; flowId: number }>;
  /**
   * The IP TTLs (hop limits) of its SYN-ACKs and of the RSTs that refused, lowest and highest
   * (-1: none seen): refusals whose TTL none of its SYN-ACKs has came from another hop (refusalsFromPath).
   */
  synAckTtlLow: number;
  synAckTtlHigh: number;
  refusalTtlLow: number;
  refusalTtlHigh: number;
  /**
   * With client and server captures merged (each packet that crossed the path there twice, see
   * Endpoint.ttlNear): the TTLs of its SYN-ACKs at the farther capture point (the client's), and
   * of the refusals seen once, their SYN too (-1: none). A SYN that never reached the server's
   * capture point was refused by something between the points, whose RST only the client's point
   * saw: its TTL is compared with the SYN-ACKs' there, not with the first copy's (the server's).
   */
  synAckFarTtlLow: number;
  synAckFarTtlHigh: number;
  oneRefusalTtlLow: number;
  oneRefusalTtlHigh: number;
}

/** Notes `ttl` (-1: unknown) in a lowest/highest pair. */
function widen(low: number, high: number, ttl: number): [number, number] {
  if (ttl < 0) return [low, high];
  return [low < 0 ? ttl : Math.min(low, ttl), Math.max(high, ttl)];
}

/**
 * The refusals of a server came from another hop than its accepted connections' SYN-ACKs: every
 * refusing RST's IP TTL lies outside the range of the SYN-ACKs' (each router on the path takes
 * one off, so one host's packets reach the capture point with one TTL). A firewall or load
 * balancer rejecting with a tcp reset (a connection limit: iptables `connlimit`, nftables `ct
 * count`; an ACL), not the server's closed listener. Equal TTLs (a capture on the server's host,
 * loopback) say nothing.
 */
/** Whether the TTL range low-high (low < 0: none) lies wholly outside sl-sh. */
function outside(low: number, high: number, sl: number, sh: number): boolean {
  return low < 0 || low > sh || high < sl;
}

/** A TTL range in words: "64", or "63-64". */
function ttlRange(low: number, high: number): string {
  return low === high ? `${low}` : `${low}-${high}`;
}

function refusalsFromPath(a: Accepted): boolean {
  if (a.synAckTtlLow < 0) return false;
  const [low, high] = comparedRefusals(a);
  const twoPoints = a.synAckFarTtlLow >= 0;
  if (low < 0 && !(twoPoints && a.oneRefusalTtlLow >= 0)) return false;
  return outside(low, high, a.synAckTtlLow, a.synAckTtlHigh) &&
    (!twoPoints || outside(a.oneRefusalTtlLow, a.oneRefusalTtlHigh, a.synAckFarTtlLow, a.synAckFarTtlHigh));
}

/**
 * The refusals of a port that accepted nothing came from another hop than its host's SYN-ACKs on
 * its other ports (`host`: their lowest and highest TTL): refusalsFromPath's rule, with the host's
 * TTL for the port's own. A firewall in front that rejects one port with a tcp reset while it
 * forwards another (blind round 13b, S2: RSTs at TTL 64 from the router, the server's packets at
 * 63) is no closed listener on the server. Captures of two points merged are left to the port's own.
 */
/** A loopback address (no hop, no firewall in a path between two hosts). */
function isLoopbackHost(host: string): boolean {
  return host.startsWith('127.') || host === '::1' || host === '[::1]';
}

function refusalsFromOtherHop(a: Accepted, host: readonly [number, number] | undefined): boolean {
  if (host === undefined || a.synAckFarTtlLow >= 0) return false;
  const [low, high] = comparedRefusals(a);
  return low >= 0 && outside(low, high, host[0], host[1]);
}

/**
 * The refusals compared with the SYN-ACKs' first copies: all of them on a capture from one point;
 * with two (synAckFarTtlLow), those seen at both, the others being compared with the far point's.
 */
function comparedRefusals(a: Accepted): [number, number] {
  if (a.synAckFarTtlLow >= 0) return [a.refusalTtlLow, a.refusalTtlHigh];
  const [low, high] = widen(a.refusalTtlLow, a.refusalTtlHigh, a.oneRefusalTtlLow);
  return widen(low, high, a.oneRefusalTtlHigh);
}

/** Resets holding a request kept per server (the latest). */
const RESETS_HOLDING_KEPT = 256;

/** SYN-ACK times kept over all servers (8 bytes each: 1 MiB); past it, compactAcceptTimes drops those no refusal can follow. */
const ACCEPT_TIMES_KEPT = 1 << 17;
/**
 * How far behind the latest connection end a refusal's own end can still come (its tracker linger
 * and more): SYN-ACK times older than that before a server's first refusal can no longer fall
 * between two of its refusals, and compaction drops them.
 */
const REFUSAL_END_LAG = 60;
/** Outages listed one by one in a diagnosis; the rest are counted. */
const OUTAGES_LISTED = 5;

/** A run of refusals with no connection accepted between them: one time the listener was down. */
interface Outage {
  first: number;
  last: number;
  count: number;
  /** The last SYN-ACK before its first refusal (-Infinity: none): the listener was up until then. */
  upBefore: number;
  /** The first SYN-ACK after its last refusal (Infinity: none): the listener was back then. */
  backAfter: number;
  /** Connections accepted between the previous outage's last refusal (or the capture's start) and this one's first. */
  acceptedBefore: number;
}

/**
 * Splits a server's refusal times (sorted) into outages: refusals with a connection accepted
 * between them are separate outages, however short the gap; refusals with none between are one,
 * however long. `accepted` is sorted.
 */
export function outagesOf(refusals: ArrayLike<number>, accepted: ArrayLike<number>): Outage[] {
  const out: Outage[] = [];
  let j = 0;
  let current: Outage | null = null;
  for (let i = 0; i < refusals.length; i++) {
    const r = refusals[i];
    let between = 0;
    let lastUp = -Infinity;
    while (j < accepted.length && accepted[j] < r) {
      lastUp = accepted[j++];
      between++;
    }
    if (current !== null && between === 0) {
      current.last = r;
      current.count++;
      continue;
    }
    if (current !== null) current.backAfter = accepted[j - between];
    current = { first: r, last: r, count: 1, upBefore: lastUp, backAfter: Infinity, acceptedBefore: between };
    out.push(current);
  }
  if (current !== null && j < accepted.length) current.backAfter = accepted[j];
  return out;
}

/** The refusals' times, sorted. */
function sortedTimes(items: ReadonlyArray<{ ts: number }>): Float64Array {
  const times = new Float64Array(items.length);
  for (let i = 0; i < items.length; i++) times[i] = items[i].ts;
  return times.sort();
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** A short lag in seconds for the text, "less than 1 ms" where milliseconds would round it to 0. */
const lag = (seconds: number): string => (seconds < 0.0005 ? 'less than 1 ms' : `${ms(seconds)} s`);

/**
 * The story of refusals that came in several outages: each one's window, count and when the
 * listener was back (its first connection accepted after), and the connections accepted between
 * them, which one sentence spanning them all would hide.
 */
function severalOutagesStory(server: string, n: number, clients: number, outages: readonly Outage[], ok: Accepted): string {
  const k = outages.length;
  // Every outage a single refusal amid accepted connections: the listener cannot go down and come
  // back between every two attempts; some hosts (or listeners) behind the address refuse.
  const shared = outages.every((o) => o.count === 1) && k >= 3;
  const listed = outages.slice(0, OUTAGES_LISTED).map((o, i) => {
    const window = o.count === 1 ? `1 refusal at ${timeOfDay(o.first)}` : `${o.count} refusals from ${timeOfDay(o.first)} to ${timeOfDay(o.last)} (${ms(o.last - o.first)} s)`;
    const between = i === 0 ? '' : `${plural(o.acceptedBefore, 'connection')} accepted since the previous one, then `;
    const back = Number.isFinite(o.backAfter)
      ? `, the next connection accepted ${lag(o.backAfter - o.last)} after ${shared ? 'it' : 'its last refusal (the listener back by then)'}`
      : ', no connection accepted after it in the capture';
    return `${i + 1}) ${between}${window}${back}`;
  });
  const firstOutage = outages[0];
  const before = firstOutage.acceptedBefore > 0
    ? ` Before the first it had accepted ${plural(firstOutage.acceptedBefore, 'connection')} (the last ${ms(firstOutage.first - firstOutage.upBefore)} s before it).`
    : '';
  const lastOutage = outages[k - 1];
  const after = ok.kept - outages.reduce((sum, o) => sum + o.acceptedBefore, 0);
  const afterText = after > 0 && Number.isFinite(lastOutage.backAfter) ? ` After the last it accepted ${plural(after, 'connection')}.` : '';
  if (shared) {
    // Told first, not after k "outages": a load balancer's round robin over a backend with nothing
    // listening refuses every 2nd connect, which read as a listener going down k times (blind round
    // 17, s05: DNAT round robin, one backend port closed).
    return (
      `${n} connection attempts were refused by ${server} from ${plural(clients, 'client host')}, one at a time, each between connections it accepted: ` +
      `the SYNs were answered by RST, so nothing was listening where each of them went, while a listener answered the attempts around them. ` +
      `No listener goes down and comes back between every two attempts: this is rather an address shared by hosts or listeners of which only some listen ` +
      `(a load-balanced or anycast address, SO_REUSEPORT listeners of which one closed) than ${k} restarts: ${listed.join('; ')}${k > OUTAGES_LISTED ? `; and ${k - OUTAGES_LISTED} more` : ''}.${before}${afterText}`
    );
  }
  const restarts = ' Each is the listener going down and coming back: a crash and restart, or a restart or reload that closes its listener before the new process opens one.';
  return (
    `${n} connection attempts were refused by ${server} from ${plural(clients, 'client host')}, in ${k} separate outages: the SYNs were answered by RST, ` +
    `so nothing was listening on that address and port then, but the server accepted connections between the outages (a SYN-ACK between two refusals shows its listener was up): ` +
    `its listener went down ${k} times, not once: ${listed.join('; ')}${k > OUTAGES_LISTED ? `; and ${k - OUTAGES_LISTED} more` : ''}.${before}${afterText}${restarts}`
  );
}

/**
 * Where an outage began right after the server reset connections holding unanswered requests
 * (within STOPPED_WITHIN, no connection accepted between): one event, the process going away with
 * requests in hand and its listener with it; reset-before-response tells the resets.
 */
function resetsBeforeNote(resets: readonly number[], outages: readonly Outage[]): string {
  const notes: string[] = [];
  outages.forEach((o, i) => {
    let count = 0;
    let lastReset = -Infinity;
    for (const t of resets) {
      if (t > o.first || t < o.first - STOPPED_WITHIN || t <= o.upBefore) continue;
      count++;
      lastReset = Math.max(lastReset, t);
    }
    // No count: reset-before-response counts its burst by its own rules, and two numbers would disagree.
    if (count === 0) return;
    notes.push(
      `${outages.length > 1 ? `Outage ${i + 1}` : 'It'} began ${lag(o.first - lastReset)} after the server reset connections holding unanswered requests ` +
        '(the reset-before-response diagnosis): one event, its process going away with those requests in hand and its listener with it.',
    );
  });
  return notes.length === 0 ? '' : ` ${notes.join(' ')}`;
}

/**
 * connection-refused: a SYN answered by a RST and no SYN-ACK — nothing listens on that address
 * and port (or a firewall rejects with tcp-reset). The client's connect fails with ECONNREFUSED.
 */
export const connectionRefused: DetectorDefinition = {
  id: 'connection-refused',
  meta: {
    description:
      'A SYN was answered by a RST instead of a SYN-ACK: nothing listens on that port (service down, not yet started, ' +
      'wrong port or address), or a firewall rejects the connection with a TCP reset.',
    severity: 'warning',
    messages: {
      refused: 'connection to {server} refused: the SYN was answered by RST {delay} ms later{retried}',
      scanned: 'port {port} of {serverHost} refused a probe of a port scan from {clientHost} (the SYN was answered by RST {delay} ms later)',
      fellBack: 'connection to {server} refused ({family}): the SYN was answered by RST {delay} ms later, and the client connected to {fallback} over {otherFamily} {after} ms after',
      proxyFailed: 'connection to {server} refused: the SYN was answered by RST {delay} ms later{retried}; the refused proxy answered its client {status} for it ({proxy}, frame {frame})',
      notThrough: 'connection to {server} refused: the SYN was answered by RST {delay} ms later{retried}; its client came back and its next connect to it within {within} s did not get through ({count} of its connects to it refused so far)',
    },
  },
  create(ctx: DetectContext) {
    const accepted = new Map<string, Accepted>();
    /** Each server host's SYN-ACK TTLs, lowest and highest, on a capture from one point (refusalsFromOtherHop). */
    const hostSynAckTtls = new Map<string, [number, number]>();
    /**
     * Each host's own packets' TTLs on any connection (shared, host-ttls.ts): a baseline for a port
     * whose host sent no SYN-ACK in the capture but answered on connections seen mid-stream.
     */
    const hostTtlsSeen = sharedHostTtls(ctx);
    /** Shared with the other detectors that ask about proxies: what a refused connect's proxy answered its clients. */
    const legs = sharedProxyLegs(ctx);
    /** The recent requests (shared): what a proxy forwarded to a refusing backend once it was back. */
    const index = ctx.shared(REQUEST_INDEX, () => new RequestIndex());
    const scans = ctx.shared(PORT_SCANS, () => new PortScans());
    const held: Array<{ attempt: Attempt; input: FindingInput }> = [];
    /** The gateway errors servers answered lately: a refused proxy's answer to its client (failedClient). */
    const gatewayAnswers = sharedGatewayAnswers(ctx);
    /** Refusals so far by client host and server ("clientHost>server"): a client that came back (failedClient). */
    const refusalsByPair = new Map<string, number>();
    /**
     * The latest capture time a connection ended at: what the held refusals wait on. Not the time
     * of the latest open: attempts are noted as they end, after the tracker's linger, and a refusal
     * judged at the opens' clock would miss the attempts that came after it.
     */
    let clock = -Infinity;
    /** Each scan's probes refused, by client and server host, with the first probe (for its summary). */
    const scanned = new Map<string, { first: Attempt; ids: string[] }>();
    /** Connection opens: when, to which server, over which family (for FALLBACK_WITHIN). */
    const opens = new PortOpens();
    /**
     * The connections refused lately (held, or released less than a window ago): a connection over
     * the other family that was refused too is no fallback that got through. Forgotten in order.
     */
    const refusedFlows = new Set<number>();
    const forget: Array<{ flowId: number; ts: number }> = [];
    /** Refusals each followed by a connection over the other family, by refusing server. */
    const fellBack = new Map<string, { ids: string[]; fallbacks: Set<string>; lags: number[] }>();

    /** A connection to the same port over the other address family, opened within FALLBACK_WITHIN after `ts`, or null. */
    const fallbackAfter = (serverHost: string, port: number, ts: number): { server: string; lag: number } | null => {
      const open = opens.otherFamilyBetween(port, serverHost.includes(':'), ts, ts + FALLBACK_WITHIN, refusedFlows);
      return open === null ? null : { server: open.server, lag: open.ts - ts };
    };

    /** Reports a held refusal: as a scan's probe (info, one diagnosis per scan), or as a refusal. */
    const release = (h: { attempt: Attempt; input: FindingInput }): void => {
      const a = h.attempt;
      if (h.input.flowId !== null) forget.push({ flowId: h.input.flowId, ts: a.ts });
      const fallback = fallbackAfter(a.serverHost, a.serverPort, h.input.ts);
      if (fallback !== null) {
        const v6 = a.serverHost.includes(':');
        const f = ctx.report({
          ...h.input,
          severity: 'info',
          message: 'fellBack',
          data: {
            server: h.input.server, delay: h.input.data?.delay ?? 0, family: v6 ? 'IPv6' : 'IPv4', otherFamily: v6 ? 'IPv4' : 'IPv6',
            fallback: fallback.server, after: Math.round(fallback.lag * 1e6) / 1e3,
          },
          evidence: { ...h.input.evidence, fallbackTo: fallback.server, fallbackAfter: Math.round(fallback.lag * 1e6) / 1e6 },
        });
        let entry = fellBack.get(h.input.server);
        if (entry === undefined) fellBack.set(h.input.server, (entry = { ids: [], fallbacks: new Set(), lags: [] }));
        entry.ids.push(f.id);
        entry.fallbacks.add(fallback.server);
        entry.lags.push(fallback.lag);
        return;
      }
      if (!scans.isProbe(a)) {
        ctx.report(failedClient(h) ?? h.input);
        return;
      }
      const f = ctx.report({
        ...h.input,
        severity: 'info',
        message: 'scanned',
        data: { port: a.serverPort, serverHost: a.serverHost, clientHost: a.clientHost, delay: h.input.data?.delay ?? 0 },
      });
      const key = `${a.clientHost}>${a.serverHost}`;
      const scan = scanned.get(key);
      if (scan === undefined) scanned.set(key, { first: a, ids: [f.id] });
      else scan.ids.push(f.id);
    };
    /**
     * The refusal as an error when it failed a client, else null (a warning as reported): its
     * refused client is a proxy that answered its own client a gateway error for it (a 502/503/504
     * from a server on the refused host, or on the proxy address it forwards for, to a request it
     * held when the connect failed, within MOVED_ON_WITHIN after the RST; any 5xx: a proxy's 502/503,
     * tinyproxy's 500); or its client came back
     * (another of its connects to the server was refused) and its next connect to it, within
     * RECOVERED_WITHIN, was refused too or never came: a client retrying in a loop met the failure
     * at each refusal but the last, whose next connect got through. Not an error: a proxy that moved the request on to another backend or
     * retried (its client saw no error), a client whose next connect succeeded at once (a reload's
     * one-off), a lone refusal nobody tried again (a probe, a health check); scans and address-family
     * fallbacks are told before this is asked. Decided as the refusal is released, SCAN_WINDOW after
     * it: the proxy's answer and the client's next connects have come by then.
     */
    const failedClient = (h: { attempt: Attempt; input: FindingInput }): FindingInput | null => {
      const input = h.input;
      const a = h.attempt;
      const client = input.client;
      if (client === null || input.flowId === null) return null;
      const clientHost = hostOf(client);
      const until = input.ts + MOVED_ON_WITHIN;
      let answer = gatewayAnswers.take([clientHost], a.ts, until, input.ts);
      // The proxy address it forwards for, when not its own (a lookup over every request kept): asked
      // only when some other host answered a 5xx then.
      if (answer === null && gatewayAnswers.anyFree(a.ts, until, input.ts)) {
        const forwarding = legs.proxyForwardingFrom(clientHost);
        if (forwarding !== null) answer = gatewayAnswers.take([forwarding], a.ts, until, input.ts);
      }
      const evidence = input.evidence;
      if (answer !== null) {
        return {
          ...input, severity: 'error', message: 'proxyFailed',
          data: { ...input.data, status: answer.status, proxy: answer.server, frame: answer.frame },
          evidence: { ...evidence, proxyAnsweredStatus: answer.status, proxyAnswerFrame: answer.frame, proxyAnsweredAfter: ms(answer.ts - input.ts) },
          frames: answer.frame > 0 ? [...input.frames, answer.frame] : input.frames,
        };
      }
      const key = `${clientHost}>${input.server}`;
      const count = refusalsByPair.get(key) ?? 0;
      if (count < 2) return null;
      // A proxy that sent the held request on to another backend: its client saw no error (movedOnNote).
      // Its own address's requests only (otherAddress false): the other one's lookup goes over every
      // request kept, too costly once per refusal while the capture is read.
      if (legs.movedOnAfter(clientHost, input.server, input.ts, MOVED_ON_WITHIN, null, false) !== null) return null;
      if (opens.nextToSameServerGotThrough(input.server, clientHost, input.ts, input.ts + RECOVERED_WITHIN, refusedFlows) >= 0) return null;
      return {
        ...input, severity: 'error', message: 'notThrough',
        data: { ...input.data, within: RECOVERED_WITHIN, count },
        evidence: { ...evidence, clientGotThroughWithin: false, refusedFromClientHost: count },
      };
    };
    const releaseUntil = (until: number): void => {
      while (held.length > 0 && (held[0].attempt.ts + SCAN_WINDOW < until || held.length > MAX_HELD)) release(held.shift() as { attempt: Attempt; input: FindingInput });
      // A refusal released is still asked about by those released after it, up to FALLBACK_WITHIN later.
      while (forget.length > 0 && (forget[0].ts + SCAN_WINDOW + 2 * FALLBACK_WITHIN < until || forget.length > MAX_HELD)) refusedFlows.delete((forget.shift() as { flowId: number }).flowId);
    };

    /**
     * When the refused client is a proxy (the failures of its own clients are known): the requests
     * it failed because this connect was refused, those it failed at once, without any SYN or
     * request upstream, after the first refusal — a proxy that marks a refusing backend down
     * answers at once until it tries again (Apache mod_proxy: a balancer member in error state for
     * `retry=` seconds; nginx: `max_fails` / `fail_timeout`; HAProxy: a server down by health
     * check) — and those it held while it tried its connect again and answered once the backend
     * was back (retriedConnects). Those are no timeout: saying so keeps a reader from looking for one.
     *
     * Proxies on one host connect from one address: the failures are a proxy's only at its fronts
     * (proxyFronts), the listening ports whose requests went to this backend.
     */
    const proxyNote = (
      server: string,
      items: ReadonlyArray<{ ts: number; client: string | null; flowId: number | null; server: string }>,
      pairs: readonly PairedFailure[],
    ): string => {
      const refusedFlows = new Set(items.flatMap((i) => (i.flowId === null ? [] : [i.flowId])));
      const proxies = new Set<string>();
      const upstreamHosts = new Set<string>();
      for (const i of items) {
        if (i.client === null) continue;
        const host = hostOf(i.client);
        upstreamHosts.add(host);
        // The refused host serves clients itself (an API calling its backend, the middle of a chain):
        // it is the proxy. A front one hop up may take that address for its own upstream address
        // (its requests' copies leave from there), so both are asked about.
        proxies.add(host);
        const forwarding = legs.proxyForwardingFrom(host);
        if (forwarding !== null) proxies.add(forwarding);
      }
      const refusalTimes = items.map((i) => i.ts).sort((a, b) => a - b);
      const first = refusalTimes[0];
      const last = refusalTimes[refusalTimes.length - 1];
      const retried = retriedConnects(server, upstreamHosts, refusalTimes);
      const fronts = proxyFronts(server, pairs, retried);
      const onRefusal: PairedFailure[] = [];
      const atOnce: PairedFailure[] = [];
      for (const p of pairs) {
        const f = p.failure;
        if (!proxies.has(f.serverIp) || (f.how === 'status' && !isGatewayStatus(f.status))) continue;
        if (refusedConnect(p, refusedFlows)) onRefusal.push(p);
        else if (p.phase === 'none' && f.delay <= ctx.options.spreadAbsolute && f.requestStart >= first && f.requestStart <= last + MARKED_DOWN_WINDOW) {
          if (fronts.size > 0 && !fronts.has(f.server)) continue; // another proxy on the same host
          // A refused SYN while the proxy held the request: its connect attempt, which pairing
          // gave to another of its requests at that moment; not an answer without any SYN.
          if (refusedBetween(refusalTimes, f.requestStart, f.failTs)) onRefusal.push(p);
          else atOnce.push(p);
        }
      }
      if (onRefusal.length + atOnce.length + retried.length === 0) return movedOnNote(items);
      const outcomes = (list: readonly PairedFailure[]): string =>
        [...new Set(list.map((p) => (p.failure.how === 'status' ? String(p.failure.status) : `a ${p.failure.how}`)))].join('/');
      const named = [...new Set([...onRefusal.map((p) => p.failure.server), ...atOnce.map((p) => p.failure.server), ...retried.map((r) => r.down.server)])];
      let note = ` The refused client is a proxy (${named.slice(0, 3).join(', ')}):`;
      const parts: string[] = [];
      let failed = onRefusal.length > 0 ? `it failed ${onRefusal.length} of its clients' request(s) with ${outcomes(onRefusal)} when its connect was refused` : '';
      if (atOnce.length > 0) {
        const slowest = Math.max(...atOnce.map((p) => p.failure.delay));
        failed +=
          `${onRefusal.length > 0 ? `, and ${atOnce.length} more` : `it failed ${atOnce.length}`} with ${outcomes(atOnce)} within ${ms(slowest * 1000)} ms, ` +
          `without any SYN or request upstream while it held them: it had marked the backend down after the refusal and answered at once ` +
          `(Apache mod_proxy: a balancer member in error state for \`retry=\` seconds, error log AH01170; nginx: \`max_fails\` / \`fail_timeout\`; HAProxy: a server down by its health checks; Varnish: \`backend_remote_error_holddown\`, 0.25 s by default, after a refused connect, or a probe that marked it sick)`;
      }
      if (failed !== '') parts.push(failed);
      // The fronts further up that passed those 502s on (relayedToClientsText): the refusal's too.
      const relayed = relayedToClientsText(legs, new Set([...onRefusal, ...atOnce].map((p) => failureKey(p.failure))));
      if (relayed !== '') parts.push(relayed);
      if (retried.length > 0) parts.push(retriedText(retried));
      note += ` ${parts.join('; ')}.`;
      // Failures at once or a held wait could be read as a timeout: say that none is at work.
      if (retried.length > 0) note += ' No timeout is at work: the wait is the proxy\'s pauses between its attempts.';
      else if (atOnce.length > 0) note += ' No timeout is at work in those failures.';
      return note;
    };

    /** Which of a server's refusals failed a client (errors, failedClient), in one sentence. */
    const failedNote = (failed: number, n: number, items: ReadonlyArray<{ id: string; failed: boolean }>): string => {
      const proxied = ctx.findings('connection-refused').filter((f) => f.severity === 'error' && f.evidence.proxyAnsweredStatus !== undefined && items.some((i) => i.id === f.id)).length;
      const parts: string[] = [];
      if (proxied > 0) parts.push(`${proxied} ${proxied === 1 ? 'was' : 'were'} answered by the refused proxy to its client with a 5xx`);
      if (failed - proxied > 0) parts.push(`after ${failed - proxied === 1 ? 'one' : `${failed - proxied} of them`} the client came back and its next connect within ${RECOVERED_WITHIN} s did not get through`);
      return (
        ` ${failed === n ? (n === 1 ? 'It' : `All ${n}`) : `${failed} of the ${n}`} failed a client, errors: ${parts.join('; ')}.` +
        (failed < n ? ' The others were followed at once by a connect that got through, a request sent to another backend, or no attempt again (warnings).' : '')
      );
    };

    /** Whether a refusal (`times`, sorted) came between `from` and `to`. */
    const refusedBetween = (times: readonly number[], from: number, to: number): boolean => {
      let lo = 0;
      let hi = times.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (times[mid] < from) lo = mid + 1;
        else hi = mid;
      }
      return lo < times.length && times[lo] <= to;
    };

    /**
     * The proxy's listening endpoints whose requests went to `server`: those of failures paired
     * with an upstream leg to it, and those of requests it held across the refusals and then sent
     * to it (retriedConnects). Empty: none seen.
     */
    const proxyFronts = (server: string, pairs: readonly PairedFailure[], retried: readonly RetriedConnect[]): Set<string> => {
      const fronts = new Set<string>();
      for (const p of pairs) if (p.leg !== null && p.leg.server === server) fronts.add(p.failure.server);
      for (const r of retried) fronts.add(r.down.server);
      return fronts;
    };

    /**
     * Requests a proxy held across a refusal of `server` and then sent to it on a connection it
     * opened after that refusal, answered: it tried its connect again until the backend was back
     * (HAProxy: `retries`, each after a pause of min(`timeout connect`, 1 s); nginx does not retry
     * one backend). Its client waited meanwhile.
     */
    const retriedConnects = (server: string, upstreamHosts: ReadonlySet<string>, refusalTimes: readonly number[]): RetriedConnect[] => {
      if (upstreamHosts.size === 0 || refusalTimes.length === 0) return [];
      const first = refusalTimes[0];
      const out: RetriedConnect[] = [];
      for (const r of index.all()) {
        if (r.server !== server || r.connectionStart <= first || r.index !== 1 || !upstreamHosts.has(hostOf(r.client))) continue;
        const down = legs.downstreamOf({ client: r.client, server: r.server, method: r.method, uri: r.uri, start: r.ts });
        if (down === null || !down.answered || down.responseStart === null || isGatewayStatus(exactStatus(down))) continue;
        if (!refusedBetween(refusalTimes, down.ts, r.connectionStart)) continue;
        out.push({ down, waited: down.responseStart - down.ts });
        if (out.length >= RETRIED_KEPT) break;
      }
      return out;
    };

    const retriedText = (retried: readonly RetriedConnect[]): string => {
      const waits = retried.map((r) => r.waited);
      const lo = Math.min(...waits);
      const hi = Math.max(...waits);
      const statuses = [...new Set(retried.map((r) => statusText(r.down) ?? '0'))].join('/');
      return (
        `it held ${retried.length} of its clients' request(s) while it tried its connect again and answered ${statuses} once the backend was back, ` +
        `${ms(lo)}${hi - lo >= 0.001 ? `-${ms(hi)}` : ''} s after ${retried.length === 1 ? 'it' : 'each'} came: the client waited that long while the proxy retried its connect ` +
        "(HAProxy: `retries`, 3 by default, each after a pause of min(`timeout connect`, 1 s) so as not to reconnect at once to a server restarting)"
      );
    };

    /**
     * A proxy that failed none of its clients' requests over these refusals but sent each request on
     * to another backend right after: its clients saw no error (nginx resends a request whose
     * connect was refused to the next upstream server, a POST too, and marks the refusing one down
     * for `fail_timeout`: dead-upstream-nginx). The backend is down all the same.
     */
    const movedOnNote = (items: ReadonlyArray<{ ts: number; client: string | null; server: string }>): string => {
      let moved = 0;
      let example: LegRequest | null = null;
      for (const i of items.slice(0, MOVED_ON_CHECKED)) {
        if (i.client === null) continue;
        const r = legs.movedOnAfter(hostOf(i.client), i.server, i.ts, MOVED_ON_WITHIN);
        if (r === null) continue;
        moved++;
        example ??= r;
      }
      if (example === null) return '';
      const checked = Math.min(items.length, MOVED_ON_CHECKED);
      return (
        ` The refused client is a proxy that failed none of its clients' requests for it: after ${moved === checked ? (checked === 1 ? 'the refusal' : `each of the ${checked} refusals`) : `${moved} of ${checked} refusals`} ` +
        `it sent the request on to another backend within ${ms(MOVED_ON_WITHIN)} s (${example.method ?? 'a request'} ${example.uri ?? ''} to ${example.leg.server}` +
        `${example.frame !== null ? `, frame ${example.frame}` : ''}), so its clients need not have seen an error, and it stops trying this one for a while ` +
        '(nginx: `max_fails`, 1, per `fail_timeout`, 10 s by default, and `proxy_next_upstream error`; HAProxy: `option redispatch` with health checks; ' +
        'Apache mod_proxy: a balancer member in error state for `retry=` seconds). The backend is down all the same, and every request sent to it first waits one more round trip.'
      );
    };

    /** One diagnosis for a scan's refused probes: what it was, so that nobody goes looking for an outage. */
    const diagnoseScan = (scan: ScanSummary, ids: string[]): void => {
      const open = scan.openPorts;
      ctx.diagnose({
        server: scan.serverHost,
        severity: 'info',
        count: ids.length,
        inferred: {},
        explanation:
          `${scan.clientHost} tried ${scan.ports} ports of ${scan.serverHost} within ${ms(scan.last - scan.first)} s, each once or twice and with no data` +
          `${scan.sourcePort !== null ? `, every SYN from source port ${scan.sourcePort}` : ''}: a port scan (nmap, a security scanner, a service-discovery sweep), not an outage. ` +
          // Ports as ports, refusals as refusals: a sweep that tries each port twice refuses twice per port.
          `${scan.refusedPorts} of those ports refused the connection (nothing listens there${ids.length !== scan.refusedPorts ? `; ${ids.length} refusals` : ''})` +
          (open.length > 0 ? `; ${open.length} answered (open: ${portList(open)})` : '') +
          (scan.filteredPorts.length > 0 ? `; ${scan.filteredPorts.length} never answered at all (filtered: ${portList(scan.filteredPorts)})` : '') +
          '.' +
          ' A client that needs a service tries its port again; a scanner moves on to the next port.',
        remedy:
          `Nothing to change on ${scan.serverHost} if the scan is expected (a security team's scanner, a monitoring sweep). ` +
          `If it is not, find who runs ${scan.clientHost}, and limit what it can reach with a firewall.`,
        anomalyIds: ids,
      });
    };

    /** One diagnosis per server whose refusals were each followed by the client's fallback to the other family. */
    const diagnoseFallback = (server: string, entry: { ids: string[]; fallbacks: Set<string>; lags: number[] }): void => {
      const v6 = server.startsWith('[');
      const family = v6 ? 'IPv6' : 'IPv4';
      const other = v6 ? 'IPv4' : 'IPv6';
      const n = entry.ids.length;
      const port = server.slice(server.lastIndexOf(':') + 1);
      ctx.diagnose({
        server,
        severity: 'info',
        count: n,
        inferred: {},
        explanation:
          `${n} connection attempt${n === 1 ? ' was' : 's were'} refused by ${server}, and each was followed within ${ms(entry.lags.reduce((m, x) => Math.max(m, x), 0) * 1000)} ms by a connection to the same port over ${other} ` +
          `(${[...entry.fallbacks].slice(0, 3).join(', ')}): clients falling back from one address family to the other, as happy eyeballs does (RFC 8305: curl, Go, Node, ` +
          `Python's socket.create_connection and browsers try the next address of a name at once after a refusal). Nothing listens on port ${port} over ${family} there, ` +
          `while the service answers over ${other}; the clients got through, each connect a round trip later.`,
        remedy:
          `Make the service listen on both families (nginx: \`listen [::]:${port};\` beside \`listen ${port};\`; a socket bound to :: with IPV6_V6ONLY off), ` +
          `or stop handing clients the ${family} address for it (its ${v6 ? 'AAAA' : 'A'} record, an /etc/hosts entry), so that they do not try it first.`,
        anomalyIds: entry.ids,
      });
    };

    /** SYN-ACK times kept over all servers (ACCEPT_TIMES_KEPT bounds it). */
    let acceptTimesKept = 0;
    const newAccepted = (t: number, lastServed: number, count = 1): Accepted => ({
      first: t, last: count === 0 ? -Infinity : t, count, lastServed, times: new Float64Array(16), kept: 0, firstRefused: Infinity,
      resetsHolding: [], synAckTtlLow: -1, synAckTtlHigh: -1, refusalTtlLow: -1, refusalTtlHigh: -1,
      synAckFarTtlLow: -1, synAckFarTtlHigh: -1, oneRefusalTtlLow: -1, oneRefusalTtlHigh: -1,
    });
    const keepAcceptTime = (a: Accepted, t: number): void => {
      if (acceptTimesKept >= ACCEPT_TIMES_KEPT) compactAcceptTimes();
      if (acceptTimesKept >= ACCEPT_TIMES_KEPT) return; // still full: outages separated only by this connection may merge
      if (a.kept === a.times.length) a.times = grownColumn(a.times, a.times.length * 2, float64Column);
      a.times[a.kept++] = t;
      acceptTimesKept++;
    };
    /**
     * Drops the SYN-ACK times that can no longer separate two refusals: those before a server's
     * first refusal, or before the latest end less REFUSAL_END_LAG where it refused none yet (a
     * refusal noted later came after them).
     */
    const compactAcceptTimes = (): void => {
      acceptTimesKept = 0;
      for (const a of accepted.values()) {
        const cut = Math.min(a.firstRefused, clock - REFUSAL_END_LAG);
        let kept = 0;
        for (let i = 0; i < a.kept; i++) if (a.times[i] >= cut) a.times[kept++] = a.times[i];
        a.kept = kept;
        acceptTimesKept += kept;
      }
    };
    /**
     * Whether `conn`'s last request was left unanswered (the server reset it before any response):
     * its last HTTP exchange, or where none was read (TLS), client data after the server's last.
     */
    const unansweredAtEnd = (conn: AnalyzedConnection): boolean => {
      const recent = conn.app?.recent;
      if (recent === undefined || recent.length === 0) return conn.client.lastDataTs > conn.server.lastDataTs && conn.client.lastDataTs > 0;
      const ex = recent[recent.length - 1];
      return ex.requestStart !== null && ex.responseStart === null;
    };
    /** Notes a server's reset of a connection holding an unanswered request (the latest RESETS_HOLDING_KEPT). */
    const noteResetHolding = (a: Accepted, ts: number, flowId: number): void => {
      if (a.resetsHolding.length >= RESETS_HOLDING_KEPT) a.resetsHolding.shift();
      a.resetsHolding.push({ ts, flowId });
    };
    /**
     * The resets reset-before-response diagnoses: not those another detector took at the
     * connection's end (the ones reset-before-response passes over too), which are known by now.
     */
    const resetsDiagnosedAsSuch = (entry: Accepted): number[] =>
      entry.resetsHolding
        .filter((r) => !ctx.reportedOn('keepalive-race', r.flowId) && !ctx.reportedOn('middlebox-idle-timeout', r.flowId) && !ctx.reportedOn('accept-queue-overflow', r.flowId))
        .map((r) => r.ts);

    return {
      onOpen(conn: AnalyzedConnection): void {
        opens.add(conn.startTs, conn.serverName, conn.sPort, conn.id, conn.clientHost);
      },

      /** A quiet live link: a refusal is not held until some later connection ends. */
      onClock(_now: number, settled: number): void {
        if (settled <= clock) return;
        clock = settled;
        releaseUntil(clock);
      },

      onConnectionEnd(conn: AnalyzedConnection): void {
        const c = conn.client;
        const s = conn.server;
        scans.note(conn);
        if (conn.lastTs > clock) clock = conn.lastTs;
        releaseUntil(clock);
        if (s.synAckCount > 0) {
          let a = accepted.get(conn.serverName);
          const t = s.synAckTimes[0];
          if (a) {
            a.first = Math.min(a.first, t);
            a.last = Math.max(a.last, t);
            a.count++;
            a.lastServed = Math.max(a.lastServed, s.lastDataTs);
          } else if (accepted.size < MAX_SERVERS_TRACKED) {
            accepted.set(conn.serverName, (a = newAccepted(t, s.lastDataTs)));
          }
          if (a) {
            keepAcceptTime(a, t);
            [a.synAckTtlLow, a.synAckTtlHigh] = widen(a.synAckTtlLow, a.synAckTtlHigh, s.firstTtl);
            [a.synAckFarTtlLow, a.synAckFarTtlHigh] = widen(a.synAckFarTtlLow, a.synAckFarTtlHigh, s.ttlFar);
          }
          if (s.firstTtl >= 0 && s.ttlFar < 0) {
            const host = conn.serverHost;
            const known = hostSynAckTtls.get(host);
            if (known !== undefined) [known[0], known[1]] = widen(known[0], known[1], s.firstTtl);
            else if (hostSynAckTtls.size < MAX_SERVERS_TRACKED) hostSynAckTtls.set(host, [s.firstTtl, s.firstTtl]);
          }
          // A reset with no FIN first (a FIN first is a close that a request crossed: keepalive-race's).
          if (a && s.rstTs > t && s.finCount === 0 && unansweredAtEnd(conn)) noteResetHolding(a, s.rstTs, conn.id);
          return;
        }
        if (c.synCount === 0 || c.synTimes.length === 0 || s.rstTs < 0 || s.payloadBytes > 0) return;
        if (s.rstTs < c.synTimes[0]) return; // a RST before any SYN belongs to an earlier incarnation
        let refusing = accepted.get(conn.serverName);
        if (refusing === undefined && accepted.size < MAX_SERVERS_TRACKED) accepted.set(conn.serverName, (refusing = newAccepted(Infinity, -Infinity, 0)));
        if (refusing !== undefined && s.rstTs < refusing.firstRefused) refusing.firstRefused = s.rstTs;
        if (refusing !== undefined) {
          // Seen once, its SYN too: at one capture point only (told apart only when the server's
          // SYN-ACKs show two: refusalsFromPath).
          if (!s.rstCopied && c.captureCopies === 0 && s.captureCopies === 0) {
            [refusing.oneRefusalTtlLow, refusing.oneRefusalTtlHigh] = widen(refusing.oneRefusalTtlLow, refusing.oneRefusalTtlHigh, s.rstTtl);
          } else {
            [refusing.refusalTtlLow, refusing.refusalTtlHigh] = widen(refusing.refusalTtlLow, refusing.refusalTtlHigh, s.rstTtl);
          }
        }
        // The SYN the RST answered: the last one sent before it.
        let answered = 0;
        for (let i = 0; i < c.synTimes.length; i++) if (c.synTimes[i] <= s.rstTs) answered = i;
        const synTs = c.synTimes[answered];
        const retries = answered;
        const delay = s.rstTs - synTs;
        refusedFlows.add(conn.id);
        const pair = `${conn.clientHost}>${conn.serverName}`;
        const seen = refusalsByPair.get(pair);
        if (seen !== undefined) refusalsByPair.set(pair, seen + 1);
        else if (refusalsByPair.size < MAX_PAIRS_COUNTED) refusalsByPair.set(pair, 1);
        held.push({ attempt: attemptOf(conn), input: {
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: s.rstTs,
          message: 'refused',
          data: {
            server: conn.serverName,
            delay: Math.round(delay * 1e6) / 1e3,
            retried: retries > 0 ? ` (after ${retries} unanswered SYN ${retries === 1 ? 'retry' : 'retries'} over ${ms(synTs - c.synTimes[0])} s)` : '',
          },
          evidence: {
            synFrame: c.synFrames[answered],
            rstFrame: s.rstFrame,
            timeToRst: ms(delay),
            retriesBefore: retries,
            waitedBeforeRst: ms(s.rstTs - c.synTimes[0]),
          },
          frames: [...c.synFrames.slice(0, answered + 1), s.rstFrame],
        } });
      },

      onFinish(): void {
        releaseUntil(Infinity);
        for (const scan of scanned.values()) diagnoseScan(scans.summary(scan.first), scan.ids);
        for (const [server, entry] of fellBack) diagnoseFallback(server, entry);
        const scanIds = new Set([...scanned.values(), ...fellBack.values()].flatMap((scan) => scan.ids));
        const byServer = new Map<string, Array<{ id: string; ts: number; client: string | null; flowId: number | null; server: string; failed: boolean }>>();
        const pairs = legs.pair();
        for (const f of ctx.findings('connection-refused')) {
          if (scanIds.has(f.id)) continue;
          const list = byServer.get(f.server) ?? [];
          list.push({ id: f.id, ts: f.ts, client: f.client, flowId: f.flowId, server: f.server, failed: f.severity === 'error' });
          byServer.set(f.server, list);
        }
        for (const [server, items] of byServer) {
          // Loops, not spreads: a flood of refusals to one port is tens of thousands of items.
          let first = Infinity;
          let last = -Infinity;
          for (const i of items) {
            if (i.ts < first) first = i.ts;
            if (i.ts > last) last = i.ts;
          }
          const clients = new Set(items.map((i) => (i.client ? hostOf(i.client) : ''))).size;
          const entry = accepted.get(server);
          const ok = entry !== undefined && entry.count > 0 ? entry : undefined;
          const port = server.slice(server.lastIndexOf(':') + 1);
          const n = items.length;
          const outages = outagesOf(sortedTimes(items), ok ? ok.times.slice(0, ok.kept).sort() : []);
          const fromPath = ok !== undefined && refusalsFromPath(ok);
          // A port that accepted nothing: its host's SYN-ACKs on other ports tell whose its RSTs are.
          const synAckTtls = ok === undefined && entry !== undefined ? hostSynAckTtls.get(hostOf(server)) : undefined;
          const hostTtls = synAckTtls ?? (ok === undefined && entry !== undefined ? hostTtlsSeen.rangeOf(hostOf(server)) : undefined);
          const fromOtherHop = hostTtls !== undefined && entry !== undefined && refusalsFromOtherHop(entry, hostTtls);
          // Nothing of the server's host but the refusals (no SYN-ACK, no other packet; not the
          // client's own host or loopback, where no hop lies between): a closed port and a firewall's
          // `reject with tcp reset` in its name look the same, and only a baseline TTL would tell.
          const refusalTtls = entry !== undefined ? comparedRefusals(entry) : [-1, -1];
          const serverHost = hostOf(server);
          const noBaseline = ok === undefined && hostTtls === undefined && entry !== undefined && refusalTtls[0] >= 0 && entry.synAckFarTtlLow < 0 &&
            !isLoopbackHost(serverHost) && items.every((i) => !i.client || hostOf(i.client) !== serverHost);
          let story: string;
          if (outages.length > 1) {
            story = severalOutagesStory(server, n, clients, outages, ok as Accepted);
          } else {
            const o = outages[0];
            story = `${n} connection attempt${n === 1 ? ' was' : 's were'} refused by ${server}` +
              (n > 1 ? ` over ${ms(last - first)} s from ${clients} client host${clients === 1 ? '' : 's'}` : '') +
              (fromPath || fromOtherHop
                ? ': the SYN was answered by RST.'
                : noBaseline
                  ? ': the SYN was answered by RST: nothing was listening on that address and port, or a firewall on the path rejected the connection with a tcp reset in its name. ' +
                    `This capture holds no other packet of ${serverHost} to compare the RSTs' IP TTL (${ttlRange(refusalTtls[0], refusalTtls[1])}) with: ` +
                    'one host\'s packets all arrive with one TTL, and a firewall\'s RST comes from another hop (a capture with a connection to another port of that host tells them apart).'
                  : ': the SYN was answered by RST, so nothing was listening on that address and port.');
            if (ok && ok.last < first) {
              story += ` It had accepted ${ok.count} connection${ok.count === 1 ? '' : 's'} until ${ms(first - ok.last)} s before the first refusal` +
                (ok.lastServed > last
                  ? `, and went on answering on ${ok.count === 1 ? 'it' : 'them'} until ${ms(ok.lastServed - last)} s after the last` +
                    (fromPath ? '.' : ': its process was alive but had closed its listener (a graceful shutdown draining its connections, a listener the application closed, or the port lost to another process).')
                  : fromPath ? '.' : ': the service stopped or crashed.');
            } else if (ok && ok.first > last) {
              story += ` It accepted connections from ${ms(ok.first - last)} s after the last refusal: the service was not listening yet (starting or restarting) while clients already connected.`;
            } else if (ok && ok.first <= first && ok.last >= last) {
              // When service came back is the first connection accepted after the last refusal, not the last one accepted.
              story += ` It accepted ${ok.count} connection${ok.count === 1 ? '' : 's'} in the capture, from ${ms(first - ok.first)} s before the first refusal to ${ms(ok.last - last)} s after the last` +
                (Number.isFinite(o.upBefore) && Number.isFinite(o.backAfter)
                  ? `; the last before the refusals ${lag(first - o.upBefore)} before the first, and the next ${lag(o.backAfter - last)} after the last refusal: service was back by then`
                  : '') +
                '. It was down in between (a restart), or the address is shared by hosts where only some listen.';
            } else if (ok) {
              story += ` It also accepted ${ok.count} connection${ok.count === 1 ? '' : 's'} in the same period: the listener was restarting, or the address is shared by hosts where only some listen.`;
            } else {
              story += ' No connection to it succeeded in the capture.';
            }
          }
          if (fromPath && ok !== undefined) {
            const [low, high] = comparedRefusals(ok);
            // Captures from two points merged: the refusals seen at the client's only, against the SYN-ACKs there.
            const ttls = low < 0
              ? `their IP TTL (${ttlRange(ok.oneRefusalTtlLow, ok.oneRefusalTtlHigh)}) is not that of its SYN-ACKs at the capture point that saw them (${ttlRange(ok.synAckFarTtlLow, ok.synAckFarTtlHigh)} there, ` +
                `${ttlRange(ok.synAckTtlLow, ok.synAckTtlHigh)} at its own: this capture holds both points, and those SYNs never reached its own)`
              : `their IP TTL (${ttlRange(low, high)}) is not that of its SYN-ACKs (${ttlRange(ok.synAckTtlLow, ok.synAckTtlHigh)})`;
            story +=
              ` The refusing RSTs did not come from its host, though: ${ttls}, ` +
              'and each router on the path takes one off, so one host\'s packets all arrive with one TTL: a firewall or load balancer on the way rejected these connections with a tcp reset ' +
              '(a connection limit: iptables `connlimit --connlimit-above`, nftables `ct count over`; an ACL, a rate limit), and the SYNs may never have reached the server.';
          }
          if (fromOtherHop && entry !== undefined && hostTtls !== undefined) {
            const [low, high] = comparedRefusals(entry);
            story +=
              ` The refusing RSTs did not come from its host, though: their IP TTL (${ttlRange(low, high)}) is not that of the ${synAckTtls !== undefined ? 'SYN-ACKs' : 'packets'} ${hostOf(server)} sent on its other ${synAckTtls !== undefined ? 'ports' : 'connections'} ` +
              `(${ttlRange(hostTtls[0], hostTtls[1])}), and each router on the path takes one off, so one host's packets all arrive with one TTL: a firewall or load balancer on the way ` +
              'rejected these connections with a tcp reset (`reject with tcp reset`, iptables `REJECT --reject-with tcp-reset`; an ACL, a connection limit), and the SYNs may never have reached the server.';
          }
          if (entry !== undefined) story += resetsBeforeNote(resetsDiagnosedAsSuch(entry), outages);
          story += proxyNote(server, items, pairs);
          const failed = items.reduce((k, i) => k + (i.failed ? 1 : 0), 0);
          if (failed > 0) story += failedNote(failed, n, items);
          ctx.diagnose({
            server,
            // A client saw the failure (failedClient): an outage, not only a port found closed.
            ...(failed > 0 ? { severity: 'error' as const } : {}),
            count: n,
            inferred: {},
            explanation: story,
            remedy: fromPath || fromOtherHop
              ? `Look at the firewall or load balancer on the path to ${server} first: its reject rules and their counters (\`iptables-save\` for \`connlimit\` and \`REJECT --reject-with tcp-reset\`, ` +
                '`nft list ruleset` for `ct count` and `reject with tcp reset`), and raise a connection limit above what the clients hold at once, or make the clients hold fewer. ' +
                (fromPath
                  ? `The listener on ${server} was up: it accepted connections then.`
                  : `Then check that a service listens on ${server}: the capture shows no connection to it, only the rejections in front of it.`)
              : (noBaseline ? `Check first whether it is the listener or a firewall: on ${hostOf(server)}, whether the RSTs leave it (\`tcpdump -ni any 'tcp port ${port}'\`) and the port listens; on the path, reject rules and their counters (\`nft list ruleset | grep -n reject\`, \`iptables-save | grep -- '--reject-with tcp-reset'\`). ` : '') +
              `Check that the service runs and listens on ${server} (\`ss -ltnp 'sport = :${port}'\` on ${hostOf(server)}: ` +
              `bound to that address${hostOf(server) === '127.0.0.1' ? '' : ', not only 127.0.0.1,'} and on that port); check the client configuration for a wrong ` +
              'port or host. If the server restarts, have clients wait for readiness (health checks, service dependencies) ' +
              'and retry with backoff; during reloads keep the listening socket open (socket activation, SO_REUSEPORT ' +
              'hand-over). A firewall rule with `reject --reject-with tcp-reset` also produces these RSTs.',
            anomalyIds: items.map((i) => i.id),
          });
        }
      },
    };
  },
};
