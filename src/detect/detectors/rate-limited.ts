import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, microsAsMs, ms } from '../facts';

/**
 * rate-limited: a server answered 429 Too Many Requests (RFC 6585): it, or a proxy or gateway in
 * front of it, refused a client's requests beyond a limit (nginx limit_req with limit_req_status
 * 429, HAProxy `http-request deny deny_status 429` on sc_http_req_rate, Envoy's local rate limit,
 * an API gateway's quota). Not a failure of the server and not an outage: a policy at work on
 * that client. Reported once per server at the end of the capture (info), with the client hosts
 * it limited, how many of their requests were refused, when, and the pace of their requests that
 * drew the refusals; hosts answered meanwhile without a 429 show the limit is per client.
 *
 * A 429 is no 5xx: intermittent-5xx and the endpoint table's 5xx column leave it out, so without
 * this a load test's rate limiting left no trace in the report.
 */

const TOO_MANY_REQUESTS = 429;
/** Servers and client hosts per server tallied (bounded tables; more are counted nowhere). */
const MAX_SERVERS = 1_000;
const MAX_HOSTS_PER_SERVER = 256;
const FRAMES_SHOWN = 5;
const PATHS_LISTED = 5;
const FLOWS_LISTED = 20;
const HOSTS_LISTED = 10;
/**
 * Slots by connection id for the tally of each connection's client host (a power of two): a
 * connection's later exchanges reach it without a lookup. Only live connections need one; a slot
 * taken by another connection costs a lookup again, nothing else.
 */
const SLOTS = 1 << 12;

/** What one client host sent one server, and how many of its requests were refused with 429. */
interface HostTally {
  server: ServerTally;
  host: string;
  /** Answered requests (any status). */
  requests: number;
  /** Request start of the first answered request, and the answer of the last one. */
  firstTs: number;
  lastTs: number;
  limited: number;
  first429Ts: number;
  last429Ts: number;
  /** Answered requests up to and with the last 429 (the pace that drew the refusals). */
  requestsToLast429: number;
  /**
   * Requests counted per whole second from the first (by request start): the current second, its
   * count, the most any second held so far, and that most as of the last 429. A limit is set per
   * second (nginx rate=5r/s); the busiest second is the rate that met it, where the average over
   * a long run of traffic would hide a burst. Constant memory per host.
   */
  second: number;
  inSecond: number;
  busiestSecond: number;
  busiestToLast429: number;
  frames: number[];
  lastFrame: number;
  paths: string[];
  flowIds: number[];
}

interface ServerTally {
  server: string;
  hosts: Map<string, HostTally>;
  limited: number;
  /** The 429s' Retry-After delay-seconds, fewest and most (-1: none carried one), and how many carried one. */
  retryAfterMin: number;
  retryAfterMax: number;
  withRetryAfter: number;
}

/** `/api/x?y=1` → `/api/x`. */
function pathOf(uri: string): string {
  const q = uri.indexOf('?');
  return q < 0 ? uri : uri.slice(0, q);
}

/** "0.255 ms" or "1.5 s": how long the refusals went on. */
function spanText(seconds: number): string {
  return seconds < 1 ? `${microsAsMs(seconds)} ms` : `${ms(seconds)} s`;
}

/** "15 requests in 0.004 s (3750/s)" for `n` requests over `seconds`. */
function paceText(n: number, seconds: number): string {
  const requests = `${n} request${n === 1 ? '' : 's'}`;
  if (n < 2 || seconds <= 0) return requests;
  const rate = n / seconds;
  const perSecond = rate >= 10 ? String(Math.round(rate)) : String(Math.round(rate * 10) / 10);
  return `${requests} in ${ms(seconds)} s (${perSecond}/s)`;
}

export const rateLimited: DetectorDefinition = {
  id: 'rate-limited',
  meta: {
    description:
      'A server (or a proxy in front of it) answered 429 Too Many Requests: a limit on a client\'s request rate or concurrency refused the requests beyond it (nginx limit_req, HAProxy deny_status 429, an API gateway quota). A policy at work, not an outage.',
    severity: 'info',
    messages: {
      limited: '{server} answered 429 Too Many Requests to {limited} of {requests} requests from {clients} ({paths}), within {span}: {pace}',
    },
  },
  create(ctx: DetectContext) {
    const servers = new Map<string, ServerTally>();
    /**
     * The tally each live connection's exchanges go to (null: its server or host was past the
     * bounds, and stays so: the tables only grow until onFinish). Every exchange of every server is
     * tallied, 429 or not (the pace and the hosts spared are read back when one comes), so this is
     * paid on every exchange of a capture that has none. Found through two maps by a host text made
     * by hostOf for each exchange (a slice, then hashed), it was 2.7 % of the analysis's time with
     * every detector; by the connection's slot, the lookup is made once per connection, by its
     * cached host text: 27 M of 10.9 G instructions fewer on the bench's first 500 000 packets. It
     * cannot wait for the first 429: the pace and the busiest second count every request since the
     * host's first.
     */
    const slotId = new Float64Array(SLOTS).fill(-1);
    const slotClient: string[] = new Array<string>(SLOTS).fill('');
    const slotTally: Array<HostTally | null> = new Array<HostTally | null>(SLOTS).fill(null);

    /** The tally of `conn`'s client host at `server`, made at its first answered exchange; null past the bounds. */
    function tallyOf(conn: AnalyzedConnection, start: number): HostTally | null {
      let tally = servers.get(conn.serverName);
      if (tally === undefined) {
        if (servers.size >= MAX_SERVERS) return null;
        tally = { server: conn.serverName, hosts: new Map(), limited: 0, retryAfterMin: -1, retryAfterMax: -1, withRetryAfter: 0 };
        servers.set(conn.serverName, tally);
      }
      const host = conn.clientHost;
      let h = tally.hosts.get(host);
      if (h === undefined) {
        if (tally.hosts.size >= MAX_HOSTS_PER_SERVER) return null;
        h = { server: tally, host, requests: 0, firstTs: start, lastTs: start, limited: 0, first429Ts: -1, last429Ts: -1, requestsToLast429: 0, second: 0, inSecond: 0, busiestSecond: 0, busiestToLast429: 0, frames: [], lastFrame: 0, paths: [], flowIds: [] };
        tally.hosts.set(host, h);
      }
      return h;
    }

    return {
      onExchange(ex, conn) {
        if (ex.uncertain || ex.status === null || ex.responseStart === null) return;
        const start = ex.requestStart ?? ex.responseStart;
        const slot = conn.id & (SLOTS - 1);
        let h: HostTally | null;
        // The client's name compared too: a connection whose roles were swapped has another client.
        if (slotId[slot] === conn.id && slotClient[slot] === conn.clientName) h = slotTally[slot];
        else {
          h = tallyOf(conn, start);
          slotId[slot] = conn.id;
          slotClient[slot] = conn.clientName;
          slotTally[slot] = h;
        }
        if (h === null) return;
        h.requests++;
        h.lastTs = ex.responseStart;
        const second = Math.floor(start - h.firstTs);
        if (second !== h.second) {
          h.second = second;
          h.inSecond = 0;
        }
        h.inSecond++;
        if (h.inSecond > h.busiestSecond) h.busiestSecond = h.inSecond;
        if (ex.status !== TOO_MANY_REQUESTS) return;
        const tally = h.server;
        tally.limited++;
        h.limited++;
        const retryAfter = ex.retryAfter;
        if (retryAfter !== undefined) {
          tally.withRetryAfter++;
          if (tally.retryAfterMin < 0 || retryAfter < tally.retryAfterMin) tally.retryAfterMin = retryAfter;
          if (retryAfter > tally.retryAfterMax) tally.retryAfterMax = retryAfter;
        }
        if (h.first429Ts < 0) h.first429Ts = ex.responseStart;
        h.last429Ts = ex.responseStart;
        h.requestsToLast429 = h.requests;
        h.busiestToLast429 = h.busiestSecond;
        const frame = ex.responseFrame ?? 0;
        if (h.frames.length < FRAMES_SHOWN) h.frames.push(frame);
        h.lastFrame = frame;
        if (ex.uri !== null && h.paths.length < PATHS_LISTED) {
          const path = `${ex.method ?? '?'} ${pathOf(ex.uri)}`;
          if (!h.paths.includes(path)) h.paths.push(path);
        }
        if (h.flowIds.length < FLOWS_LISTED && !h.flowIds.includes(conn.id)) h.flowIds.push(conn.id);
      },

      onFinish() {
        for (const tally of servers.values()) {
          if (tally.limited === 0) continue;
          const hosts = [...tally.hosts.values()];
          const limitedHosts = hosts.filter((h) => h.limited > 0).sort((a, b) => b.limited - a.limited);
          const first429 = Math.min(...limitedHosts.map((h) => h.first429Ts));
          const last429 = Math.max(...limitedHosts.map((h) => h.last429Ts));
          // Hosts answered during the refusals without one: the limit is per client, not the server's.
          const spared = hosts.filter((h) => h.limited === 0 && h.firstTs <= last429 && h.lastTs >= first429);
          // Their requests up to their last 429: what drew the refusals (later traffic of theirs is another matter).
          const requests = limitedHosts.reduce((n, h) => n + h.requestsToLast429, 0);
          const top = limitedHosts[0];
          const paths = [...new Set(limitedHosts.flatMap((h) => h.paths))].slice(0, PATHS_LISTED);
          const clients = limitedHosts.length === 1 ? top.host : `${limitedHosts.length} client hosts (most: ${top.host}, ${top.limited})`;
          const pace = limitedHosts
            .slice(0, 3)
            .map(
              (h) =>
                `${limitedHosts.length > 1 ? `${h.host} sent ` : 'the client sent '}${paceText(h.requestsToLast429, h.last429Ts - h.firstTs)} up to its last 429` +
                (h.requestsToLast429 > 1 ? `, ${h.busiestToLast429} in its busiest second` : ''),
            )
            .join('; ');
          const lastFrame = top.lastFrame;
          const frames = [...new Set([...limitedHosts.flatMap((h) => h.frames).slice(0, FRAMES_SHOWN), lastFrame])];
          const finding = ctx.report({
            flowId: null,
            client: limitedHosts.length === 1 ? top.host : null,
            server: tally.server,
            ts: first429,
            message: 'limited',
            data: {
              server: tally.server,
              limited: tally.limited,
              requests,
              clients,
              paths: paths.join(', '),
              span: spanText(last429 - first429),
              pace,
            },
            evidence: {
              responses429: tally.limited,
              requests,
              firstAt: at(first429),
              lastAt: at(last429),
              limitedClientHosts: limitedHosts.slice(0, HOSTS_LISTED).map((h) => h.host),
              limitedPerHost: limitedHosts.slice(0, HOSTS_LISTED).map((h) => h.limited),
              requestsPerHost: limitedHosts.slice(0, HOSTS_LISTED).map((h) => h.requestsToLast429),
              requestsToLast429: top.requestsToLast429,
              secondsToLast429: ms(top.last429Ts - top.firstTs),
              busiestSecondRequests: top.busiestToLast429,
              retryAfterSeconds: tally.withRetryAfter > 0 ? [tally.retryAfterMin, tally.retryAfterMax] : null,
              withRetryAfter: tally.withRetryAfter,
              paths,
              otherHostsServedMeanwhile: spared.length,
              flowIds: limitedHosts.flatMap((h) => h.flowIds).slice(0, FLOWS_LISTED),
            },
            frames,
          });
          const perClient =
            spared.length > 0
              ? ` ${spared.length} other client host${spared.length === 1 ? ' was' : 's were'} answered meanwhile without a 429: the limit is per client (its address, key or token), not the server's capacity.`
              : '';
          const range = tally.retryAfterMin === tally.retryAfterMax ? `${tally.retryAfterMax} s` : `${tally.retryAfterMin}–${tally.retryAfterMax} s`;
          const retryText =
            tally.withRetryAfter === 0
              ? ' The 429s carried no Retry-After (nginx limit_req sends none): the client gets no hint when to come back.'
              : ` ${tally.withRetryAfter === tally.limited ? 'The 429s' : `${tally.withRetryAfter} of the 429s`} asked the client to retry after ${range} (Retry-After).`;
          const onlyLimited = limitedHosts.every((h) => h.limited === h.requests) ? ' Every request of theirs in the capture got a 429.' : '';
          ctx.diagnose({
            server: tally.server,
            count: tally.limited,
            inferred: {},
            explanation:
              `${tally.server} answered 429 Too Many Requests to ${tally.limited} of ${requests} requests from ${clients} (${paths.join(', ')}) ` +
              `within ${spanText(last429 - first429)}: rate limiting — the server, or a proxy or gateway in front of it, refused the requests beyond a limit ` +
              `on the client's request rate or concurrent requests (nginx limit_req with limit_req_status 429, error log "limiting requests"; ` +
              `HAProxy deny_status 429 on sc_http_req_rate; Envoy's local rate limit; an API gateway's quota). ${pace[0].toUpperCase()}${pace.slice(1)}.${retryText}${onlyLimited}${perClient} ` +
              `Not an outage: the server answered, by policy.`,
            remedy:
              `Slow the client down to the limit (fewer parallel requests, a client-side rate limiter) and let it retry after a backoff (honouring Retry-After where the server sends it), ` +
              `or raise the limit for it where it is set (nginx limit_req_zone rate= and burst=, HAProxy's rate threshold, the gateway's quota) if this traffic is legitimate.`,
            anomalyIds: [finding.id],
          });
        }
        servers.clear();
        slotId.fill(-1);
        slotTally.fill(null);
      },
    };
  },
};
