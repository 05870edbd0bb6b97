import { ms } from './facts';
import { FAST_GATEWAY_FAILURE, type LegRequest, type PairedFailure, type ProxyLegs, type UpstreamLeg } from './proxy-legs';

/**
 * A proxy's 5xx to its client for a request whose every upstream attempt the backend closed
 * without a response: the proxy relayed that close (h2o's and Caddy's 502 on the backend's EOF,
 * nginx's "upstream prematurely closed connection"), no timer of its own fired. gateway-timeout
 * leaves such an error out (no proxy timer); the upstream leg's unanswered request is the failure,
 * and this is what the proxy's client got of it. A proxy that sent the request again after the
 * backend's close (Go's Transport re-sends a GET that failed on a reused connection: Caddy) made
 * its client wait for every attempt: the client's wait is their sum (blind 13, s14: uWSGI's
 * harakiri killed each attempt at 4 s, Caddy's client got 502 after 8 s; no 8 s timer exists).
 */
export interface BackendCloseRelay {
  paired: PairedFailure;
  /** Every upstream attempt, in order: the paired one, then the proxy's retries. */
  attempts: Array<{ leg: UpstreamLeg; request: LegRequest }>;
  /** Each attempt's wait: from the end of its request to the backend's close. */
  waits: number[];
}

/**
 * The proxies' 5xx that relayed a backend's close (see BackendCloseRelay): paired in phase `read`
 * with a forwarded request, every attempt of it unanswered and closed by the backend before the
 * 5xx, the 5xx right after the last close (within FAST_GATEWAY_FAILURE: the proxy answers as it
 * reads the EOF; a proxy that answered later did something else meanwhile). A close by the proxy
 * (its read timeout: gateway-timeout's) makes none; nor does a backend's close with no proxy's 5xx
 * paired with it (a direct client).
 */
export function backendCloseRelays(legs: ProxyLegs): BackendCloseRelay[] {
  const out: BackendCloseRelay[] = [];
  for (const p of legs.pair()) {
    const f = p.failure;
    if (f.how !== 'status' || f.status === null || p.phase !== 'read' || p.leg === null || p.legRequest === null) continue;
    // Each attempt as its connection ended (a copy from another address may have been taken while open).
    const settled: LegRequest[] = [legs.settled(p.legRequest)];
    for (const a of p.retries) if (a.request !== null) settled.push(legs.settled(a.request));
    if (settled.length !== 1 + p.retries.length) continue;
    if (!settled.every((r) => r.responseStart === null && r.leg.closedBy === 'backend' && r.leg.closeTs <= f.failTs)) continue;
    if (f.failTs - settled[settled.length - 1].leg.closeTs > FAST_GATEWAY_FAILURE) continue;
    out.push({ paired: p, attempts: settled.map((r) => ({ leg: r.leg, request: r })), waits: settled.map((r) => r.leg.closeTs - (r.end ?? r.start)) });
  }
  return out;
}

/** "4 s" or "3.979–4.014 s". */
function rangeOf(values: readonly number[]): string {
  const lo = ms(Math.min(...values));
  const hi = ms(Math.max(...values));
  return lo === hi ? `${lo} s` : `${lo}–${hi} s`;
}

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth'];

/** Requests named in a group at most. */
const REQUESTS_NAMED = 3;

/** " (GET /a, GET /b, …)" for a group of relays, or '' when no request line was readable. */
function requestsOf(relays: readonly BackendCloseRelay[]): string {
  const lines = [...new Set(relays.map((r) => r.paired.failure).filter((f) => f.method !== null).map((f) => `${f.method} ${f.uri ?? ''}`.trim()))];
  if (lines.length === 0) return '';
  return ` (${lines.slice(0, REQUESTS_NAMED).join(', ')}${lines.length > REQUESTS_NAMED ? ', …' : ''})`;
}

/**
 * What the proxies answered their clients for relayed backend closes, for the diagnosis of those
 * unanswered upstream requests: one sentence per proxy, naming its software when its answers did
 * (`softwareOf`: null when unknown), how many clients got which status after how long, and for
 * requests it sent again, that the client waited for every attempt. Starts with a space.
 */
export function backendCloseRelayWords(relays: readonly BackendCloseRelay[], softwareOf: (proxy: string) => string | null): string {
  const byProxy = new Map<string, BackendCloseRelay[]>();
  for (const r of relays) {
    const proxy = r.paired.failure.server;
    const list = byProxy.get(proxy);
    if (list === undefined) byProxy.set(proxy, [r]);
    else list.push(r);
  }
  const parts: string[] = [];
  for (const [proxy, mine] of byProxy) {
    const software = softwareOf(proxy);
    const name = software !== null ? `${software} (${proxy})` : proxy;
    const statuses = [...new Set(mine.map((r) => r.paired.failure.status))].join('/');
    const n = mine.length;
    const byAttempts = new Map<number, BackendCloseRelay[]>();
    for (const r of mine) {
      const list = byAttempts.get(r.attempts.length);
      if (list === undefined) byAttempts.set(r.attempts.length, [r]);
      else list.push(r);
    }
    const mixed = byAttempts.size > 1;
    const groups = [...byAttempts].sort((a, b) => a[0] - b[0]).map(([k, rs]) => {
      const delays = rangeOf(rs.map((r) => r.paired.failure.failTs - (r.paired.failure.requestEnd ?? r.paired.failure.requestStart)));
      const status = [...new Set(rs.map((r) => r.paired.failure.status))].join('/');
      const who = rs.length === 1 ? 'the client' : 'the clients';
      const prefix = mixed ? `for ${rs.length}${requestsOf(rs)} ` : '';
      const waitsAt = (i: number): string => rangeOf(rs.map((r) => r.waits[i]));
      if (k === 1) return `${prefix}right after the backend's close, ${delays} after the request`;
      if (k === 2) {
        return (
          `${prefix}it sent the request again on a new upstream connection after the backend closed the first attempt unanswered (${waitsAt(0)} after it); ` +
          `the second was closed too (${waitsAt(1)} after it), and ${who} got ${status} after ${delays}: the sum of both attempts`
        );
      }
      const each = Array.from({ length: k }, (_, i) => `${ORDINALS[i] ?? `attempt ${i + 1}`} after ${waitsAt(i)}`).join(', ');
      return (
        `${prefix}it sent the request ${k} times, each on a new upstream connection after the backend had closed the one before unanswered (${each}), ` +
        `and ${who} got ${status} after ${delays}: the sum of the attempts`
      );
    });
    const retried = mine.some((r) => r.attempts.length > 1);
    parts.push(
      ` The proxy ${name} answered its client${n === 1 ? '' : 's'} ${statuses} for ${n === 1 ? '1 of these requests' : `${n} of them`} ` +
        `(the unanswered-request finding${n === 1 ? '' : 's'} on its client connection${n === 1 ? '' : 's'}, listed here): ${groups.join('; ')}. ` +
        `No timer of the proxy's fired: it relayed the backend's close, so raising its timeouts changes nothing` +
        (retried
          ? `; its retries of a request the backend cuts multiply its client's wait (and the backend's work) by the attempts: the backend's cut is what to fix, or the proxy's retries to limit.`
          : '.'),
    );
  }
  return parts.join('');
}
