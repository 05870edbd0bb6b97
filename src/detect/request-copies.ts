import { exactStatus } from '../http/exchange';
import { hostOfEndpoint } from '../decode/address';
import type { RememberedRequest } from './request-index';
import { proxyKey, sameTarget } from './request-target';
import { firstAtOrAfter } from './sorted-search';

/**
 * Which requests of a capture copy which: a proxy forwards the requests it receives, so a request
 * it sends upstream has the method and URI of one it received and leaves while that one waits
 * for its answer: until it is answered or its client gives up (waitEnd), and a proxy that answers
 * its client with its own status waits for its forward's answer (answeredUnwaited). From this, made once over all remembered requests (at the end of an analysis):
 *
 * - the other address a proxy connects to its backends from, when that is not the address it
 *   listens on (upstreamAddressOf);
 * - whether one request was its sender forwarding a request a server on its own host had
 *   received (forwardedByItsSender), which tells a proxy's upstream request even where the proxy
 *   shares its address with its clients.
 *
 * Requests are grouped by method and URI tail (a proxy may strip or add a path prefix, see
 * request-target.ts) and sorted by start, so each search is a window of one group; windows are
 * bounded (MAX_CANDIDATES) so a popular URI cannot make it quadratic.
 */

/**
 * Requests of the proxy an address must be seen copying to be taken for its upstream address;
 * it must also copy at least half of the requests the proxy answered itself with another status
 * than 502/503/504 (a proxy forwards most of what it answers; a client that happens to ask another
 * server for the same URIs at the same moments copies only some). Both are counted per listening
 * endpoint, not per host: a host that proxies on one port often serves other sites itself on
 * others (blind 14, S1: nginx proxying 10.14.0.1:8002 to 127.0.0.1:9002 while answering 557
 * requests on three ports of its own; 228 copies of 785 answers on the host kept its 7 upstream
 * read timeouts unpaired).
 */
export const MIN_COPIED_REQUESTS = 2;

/** Same-method-and-URI requests looked at per search, nearest in time first. */
const MAX_CANDIDATES = 1024;

function isGatewayStatus(status: number | null): boolean {
  return status === 502 || status === 503 || status === 504;
}

export class RequestCopies {
  private readonly hosts = new Map<string, string>();
  /** Requests by method and URI, each group by start time. */
  private readonly groups = new Map<string, RememberedRequest[]>();
  /** Proxy address → the other address it connects upstream from. */
  private readonly upstream = new Map<string, string>();
  /** That address → its proxy. */
  private readonly proxyOf = new Map<string, string>();
  /** Upstream addresses that also sent requests to their proxy (see sharedWithClients). */
  private readonly shared = new Set<string>();
  /** Answers of forwardsFromItsOwnAddress, by endpoint. */
  private readonly ownForwarders = new Map<string, boolean>();

  constructor(requests: readonly RememberedRequest[]) {
    for (const r of requests) {
      const key = proxyKey(r.method, r.uri);
      const group = this.groups.get(key);
      if (group === undefined) this.groups.set(key, [r]);
      else group.push(r);
    }
    for (const group of this.groups.values()) group.sort((a, b) => a.ts - b.ts);
    this.learnUpstreamAddresses();
  }

  /** The other address the proxy at `ip` connects to its backends from, or null. */
  upstreamAddressOf(ip: string): string | null {
    return this.upstream.get(ip) ?? null;
  }

  /**
   * Whether the server at `endpoint` ("ip:port") was seen forwarding from its own address: a request
   * it received was copied (same method and URI, while it waited for its answer) by a request from
   * its own host, from another endpoint than its sender, to another server. An address that serves
   * and also opens connections of its own is not a proxy by that alone: an application server calls
   * its database and other services, and a test client may share the host.
   */
  forwardsFromItsOwnAddress(endpoint: string): boolean {
    let known = this.ownForwarders.get(endpoint);
    if (known === undefined) {
      known = this.findOwnForward(endpoint);
      this.ownForwarders.set(endpoint, known);
    }
    return known;
  }

  private findOwnForward(endpoint: string): boolean {
    const host = this.host(endpoint);
    for (const group of this.groups.values()) {
      for (const down of group) {
        // Only a request it answered bounds the wait in which a copy must leave.
        if (down.server !== endpoint || down.responseStart === null) continue;
        const waitedUntil = waitEnd(down, down.responseStart);
        let looked = 0;
        for (let i = firstAtOrAfter(group, down.ts, requestStart); i < group.length && looked < MAX_CANDIDATES; i++, looked++) {
          const up = group[i];
          if (up.ts > waitedUntil) break;
          if (answeredUnwaited(down, up)) continue;
          if (up.server !== endpoint && up.client !== down.client && this.host(up.client) === host && sameTarget(up.uri, down.uri)) return true;
        }
      }
    }
    return false;
  }

  /**
   * Whether the proxy whose other upstream address `address` is was also seen getting requests
   * from that address (it shares its backend-facing address with its clients: a proxy on
   * 127.0.0.2 connecting from 127.0.0.1, a sidecar): that address's requests are then its
   * clients' as well as the proxy's, and each must be told by what it copies (forwardedByItsSender).
   */
  sharedWithClients(address: string): boolean {
    return this.shared.has(address);
  }

  /** The proxy whose other upstream address `address` is, or null. */
  proxyForwardingFrom(address: string): string | null {
    return this.proxyOf.get(address) ?? null;
  }

  /**
   * Whether a request was its sender forwarding one it had received: a server on the sender's own
   * host (another endpoint than the request's server) had received a request with the same method
   * and URI, from another endpoint than the request's sender, and had not begun answering it when
   * this one started, while that request still waited (its connection had not ended unanswered).
   */
  forwardedByItsSender(r: ForwardQuestion): boolean {
    return this.forwardedFrom(r) !== null;
  }

  /** The request `r` was its sender forwarding (see forwardedByItsSender), nearest first, or null. */
  forwardedFrom(r: ForwardQuestion): RememberedRequest | null {
    if (r.method === null || r.uri === null) return null;
    const group = this.groups.get(proxyKey(r.method, r.uri));
    if (group === undefined) return null;
    const host = this.host(r.client);
    // Received before it: walk back from its start, nearest first.
    let looked = 0;
    for (let i = upperBound(group, r.start) - 1; i >= 0 && looked < MAX_CANDIDATES; i--, looked++) {
      const down = group[i];
      if (down.server === r.server || down.client === r.client) continue;
      if (down.responseStart !== null && down.responseStart < r.start) continue;
      // A request its client had stopped waiting for (its connection ended without an answer)
      // was no longer anyone's to forward: the same request later is another call of its own.
      if (down.responseStart === null && down.endKnown && down.end < r.start) continue;
      // Nor one whose client had given up on it (closed) before, even if its server answered later.
      if (down.clientGaveUpAt !== null && down.clientGaveUpAt < r.start) continue;
      if (!sameTarget(down.uri, r.uri)) continue;
      const server = this.host(down.server);
      // A server on its own host, or a proxy that connects upstream from the sender's host.
      if (server !== host && this.upstream.get(server) !== host) continue;
      if (r.abandonedAt !== undefined && this.forwardedAlongside(down, r, r.abandonedAt, host)) continue;
      return down;
    }
    return null;
  }

  /**
   * Whether another request from `host` carried `down` while `r` ran (sent before `r` was given
   * up on at `abandonedAt`, answered after `r` began, and no later than `down` was): the proxy's
   * forward, whose answer it passed on. A proxy sends a request on once at a time (a retry leaves
   * after the attempt it replaces ended), so `r` was another program's on that host: a local client
   * asking the backend the same on 127.0.0.1, the proxy's upstream address and everyone's.
   */
  private forwardedAlongside(down: RememberedRequest, r: ForwardQuestion, abandonedAt: number, host: string): boolean {
    if (down.responseStart === null) return false;
    const group = this.groups.get(proxyKey(down.method, down.uri));
    if (group === undefined) return false;
    let looked = 0;
    for (let i = firstAtOrAfter(group, down.ts, requestStart); i < group.length && looked < MAX_CANDIDATES; i++, looked++) {
      const up = group[i];
      if (up.ts >= abandonedAt) break;
      if (up.client === r.client || up.client === down.client || up.server === down.server || this.host(up.client) !== host) continue;
      if (up.responseStart === null || up.responseStart <= r.start || up.responseStart > down.responseStart || !sameTarget(up.uri, down.uri)) continue;
      return true;
    }
    return false;
  }

  /**
   * For each proxy address, the address whose requests copy its own (see MIN_COPIED_REQUESTS):
   * each copy sent while the proxy's request waited, by a host other than the proxy and than the
   * one that sent it, to another server. The address copying the most wins; a tie names none.
   */
  private learnUpstreamAddresses(): void {
    /** Copies by proxy endpoint ("ip:port") and copying address. */
    const copied = new Map<string, Map<string, number>>();
    const forwardable = new Map<string, number>();
    /** Copies from a proxy's clients' own address that did not nest as its forwards, by proxy endpoint and address. */
    const contradicted = new Map<string, Map<string, number>>();
    /** The hosts the copies went to, by proxy endpoint and copying address (see dropLoops). */
    const copiedInto = new Map<string, Map<string, Set<string>>>();
    for (const group of this.groups.values()) {
      for (const down of group) {
        if (down.responseStart === null) continue;
        const endpoint = down.server;
        const proxy = this.host(endpoint);
        if (!isGatewayStatus(exactStatus(down))) forwardable.set(endpoint, (forwardable.get(endpoint) ?? 0) + 1);
        const from = this.host(down.client);
        const waitedUntil = waitEnd(down, down.responseStart);
        let counted: string[] | null = null;
        let looked = 0;
        for (let i = firstAtOrAfter(group, down.ts, requestStart); i < group.length && looked < MAX_CANDIDATES; i++, looked++) {
          const up = group[i];
          if (up.ts > waitedUntil) break;
          const address = this.host(up.client);
          if (address === proxy || this.host(up.server) === proxy || !sameTarget(up.uri, down.uri)) continue;
          // From the client's own address: a client that asks two servers the same, unless both
          // the proxy and that address are loopback addresses, which are all one host's: a proxy
          // listening on 127.0.0.2 connects to a backend on 127.0.0.3 from 127.0.0.1, its local
          // clients' address too (Varnish, which cannot choose its source address). Such a copy
          // must nest in the client's exchange as a forward does.
          if (address === from && !(isLoopback(proxy) && isLoopback(address) && nestsAsForward(down, up))) {
            // A copy answered only after the proxy had answered: the proxy did not wait for it, so
            // the client asked both; it counts against that address being the proxy's.
            if (address === from && up.responseStart !== null && up.client !== down.client && up.ts >= down.ts) {
              let against = contradicted.get(endpoint);
              if (against === undefined) contradicted.set(endpoint, (against = new Map()));
              against.set(address, (against.get(address) ?? 0) + 1);
            }
            continue;
          }
          if (answeredUnwaited(down, up)) continue;
          if (counted !== null && counted.includes(address)) continue;
          (counted ??= []).push(address);
          let byAddress = copied.get(endpoint);
          if (byAddress === undefined) copied.set(endpoint, (byAddress = new Map()));
          byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
          let into = copiedInto.get(endpoint);
          if (into === undefined) copiedInto.set(endpoint, (into = new Map()));
          let hosts = into.get(address);
          if (hosts === undefined) into.set(address, (hosts = new Set()));
          hosts.add(this.host(up.server));
        }
      }
    }
    // Each endpoint's own upstream address first; a host's is then the one that copied the most of
    // its endpoints' requests (two proxies on one host forwarding from two addresses: the busier).
    const learned = new Map<string, LearnedUpstream>();
    for (const [endpoint, byAddress] of copied) {
      let best: string | null = null;
      let bestCount = 0;
      let tie = false;
      for (const [address, count] of byAddress) {
        if (count > bestCount) {
          best = address;
          bestCount = count;
          tie = false;
        } else if (count === bestCount) {
          tie = true;
        }
      }
      if (best === null || tie || bestCount < MIN_COPIED_REQUESTS || bestCount * 2 < (forwardable.get(endpoint) ?? 0)) continue;
      if (bestCount <= (contradicted.get(endpoint)?.get(best) ?? 0)) continue;
      const proxy = this.host(endpoint);
      const known = learned.get(proxy);
      if (known === undefined || bestCount > known.count) {
        const share = bestCount / Math.max(bestCount, forwardable.get(endpoint) ?? 0);
        learned.set(proxy, { address: best, count: bestCount, share, into: copiedInto.get(endpoint)?.get(best) ?? new Set() });
      }
    }
    dropLoops(learned);
    for (const [proxy, { address: best }] of learned) {
      this.upstream.set(proxy, best);
      // An address serving two proxies' upstream legs keeps the first; its other proxy is still paired by upstreamAddressOf.
      if (!this.proxyOf.has(best)) this.proxyOf.set(best, proxy);
    }
    for (const group of this.groups.values()) {
      for (const r of group) {
        const address = this.host(r.client);
        if (this.upstream.get(this.host(r.server)) === address) this.shared.add(address);
      }
    }
  }

  private host(endpoint: string): string {
    let host = this.hosts.get(endpoint);
    if (host === undefined) {
      host = hostOfEndpoint(endpoint);
      this.hosts.set(endpoint, host);
    }
    return host;
  }
}

/** A proxy host's learned upstream address: its copies, their share of what the proxy answered itself, and the hosts they went to. */
interface LearnedUpstream {
  address: string;
  count: number;
  share: number;
  into: Set<string>;
}

/**
 * Two proxies each learned forwarding to the other (P's upstream address copying P's requests into
 * Q, Q's copying Q's into P) would send every request round in a loop: one of the two is no proxy,
 * its "copies" the other's clients asking again while its requests waited (a backend slow for some
 * requests, a client's next request for the same URI, answered sooner, falling in that wait; blind
 * 15, S17, where the clients' give-ups are now seen, made such a loop of a backend). A proxy
 * forwards what it answers, a client asking again copies only some: the one whose copies are the
 * smaller share of its answers is dropped, both on a tie.
 */
function dropLoops(learned: Map<string, LearnedUpstream>): void {
  const dropped = new Set<string>();
  for (const [p, a] of learned) {
    for (const [q, b] of learned) {
      if (p >= q || !a.into.has(q) || !b.into.has(p)) continue;
      if (a.share <= b.share) dropped.add(p);
      if (b.share <= a.share) dropped.add(q);
    }
  }
  for (const p of dropped) learned.delete(p);
}

/** A request asked about by forwardedFrom. */
export interface ForwardQuestion {
  client: string;
  server: string;
  method: string | null;
  uri: string | null;
  start: number;
  /**
   * When its sender gave up on it unanswered (closed its connection), if it did: a request on the
   * same host that carried the same front request meanwhile and was answered tells it apart.
   */
  abandonedAt?: number;
}

/** Whether an address is a loopback one (127.0.0.0/8, ::1, or IPv4-mapped 127/8): all of them are one host's. */
export function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.');
}

/**
 * Whether `up` nests in `down` as the proxy's forward of it: sent by another endpoint than down's
 * client, at or after down began, and answered no later than down was (a proxy answers after its
 * backend does; the caller has checked that up began before down's answer), or never answered and
 * closed as the proxy answered a gateway error (it gave up waiting for it).
 */
function nestsAsForward(down: RememberedRequest, up: RememberedRequest): boolean {
  if (up.client === down.client || up.ts < down.ts || down.responseStart === null) return false;
  if (up.responseStart !== null) return up.responseStart <= down.responseStart;
  // Never answered: the proxy gave up on it (its read timeout) and answered its client a gateway
  // error at the moment it closed that upstream connection (HAProxy `timeout server`: RST, then 504).
  return up.endKnown && isGatewayStatus(exactStatus(down)) && Math.abs(up.end - down.responseStart) <= GAVE_UP_TOGETHER;
}

/**
 * Until when `down` waited for its answer, answered at `answeredAt`: until then, or until its client
 * gave up on it, if that was earlier. A server slower than its client's timeout answers into a
 * closed socket (gunicorn finishing /sleep/3 for a proxy that had followed its client's 1 s timeout
 * and closed): that late answer ends no wait, and a request sent between the two, the next one of
 * a client that had given up, was nobody's forward of it (blind 15, S17: two clients' next requests
 * to the proxy, sent in the backend's 3 s, taken for the backend forwarding from the clients'
 * address, which made the clients a proxy and their timeouts a proxy's read timeout).
 */
function waitEnd(down: RememberedRequest, answeredAt: number): number {
  return down.clientGaveUpAt !== null && down.clientGaveUpAt < answeredAt ? down.clientGaveUpAt : answeredAt;
}

/**
 * Whether `up` got its answer only after `down`'s client had been answered in time with a status
 * of the proxy's own, no gateway error: a proxy answers with what its forward brought, so it did
 * not wait for that one, which was no forward of `down` (blind 15, S17b: h2o answered the backend's
 * 200 late into its clients' closed sockets; a client's next request, sent while a forward of the
 * one before waited at the backend, got that late answer 1.5 s after the backend had answered the
 * forward). A gateway error comes before the answer the proxy gave up on, if one comes at all.
 */
function answeredUnwaited(down: RememberedRequest, up: RememberedRequest): boolean {
  if (!down.answered || down.clientGaveUpAt !== null || down.responseStart === null || isGatewayStatus(exactStatus(down))) return false;
  return up.responseStart !== null && up.responseStart > down.responseStart;
}

/**
 * How far apart (seconds) a proxy's close of an upstream request it gave up on and its gateway error
 * to its client may lie: one event of the proxy's loop, the close and the answer written together.
 */
const GAVE_UP_TOGETHER = 0.05;

/** A remembered request's start (groups are sorted by it). */
const requestStart = (r: RememberedRequest): number => r.ts;


/** First index whose request started after `ts`. */
function upperBound(group: readonly RememberedRequest[], ts: number): number {
  let lo = 0;
  let hi = group.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (group[mid].ts <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
