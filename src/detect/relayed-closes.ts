import type { HttpExchange } from '../http/exchange';
import { hostOf } from './facts';
import type { ProxyLegs, UpstreamLeg } from './proxy-legs';

/**
 * Idle closes that a proxy made on both of its legs at once. A proxy that relays connections
 * byte for byte (HAProxy in `mode tcp`, nginx `stream`, a cloud layer-4 load balancer) closes an
 * idle connection when its own idle timeout fires: it sends FIN to its client and closes its
 * connection to the backend in the same instant. On the client's leg that looks exactly like the
 * backend closing idle, and the responses carry the backend's `Server` and `Keep-Alive` headers,
 * so a diagnosis built on them blames the backend's setting, which never fired
 * (keepalive-race-haproxy-tcp, keepalive-race-nginx-stream: Node behind them announced 10 s, the
 * proxies closed after 2 s). When the capture holds the proxy's backend leg too, the two closes
 * show it: the backend connection that carried a copy of the client connection's last request,
 * closed by the proxy within CLOSED_TOGETHER of the client's FIN.
 *
 * An HTTP proxy keeps its backend connections in a pool of their own (or closes each after its
 * response): their closes do not fall on its clients' idle closes. One that ties a backend
 * connection to its client's and closes both at the client's idle timeout is told the same way,
 * and rightly: its own timeout closed the connection, not the backend's.
 */

/** The proxy's two closes, as the capture sees them: its clock's one instant, plus the paths to the capture point. */
const CLOSED_TOGETHER = 0.02;
/** How long after the client's request its copy may leave the proxy for the backend. */
const MAX_FORWARD_DELAY = 1;

/** An idle close by a server, with the last request the connection carried before it. */
export interface IdleCloseSample {
  finTs: number;
  finFrame: number;
  method: string | null;
  uri: string | null;
  requestStart: number | null;
  /** The last request's last byte: the server finished writing its answer after it (heldBelowCluster). */
  requestEnd: number | null;
}

/**
 * The idle closes kept per server to tell a relaying proxy: the most recent ones. A proxy relays
 * all its connections or none, so a few dozen decide; every server of a capture keeps these.
 */
export const RELAY_SAMPLES = 64;

/** Adds a sample to a server's ring of at most RELAY_SAMPLES (`next`: how many were ever added). */
export function addRelaySample(ring: IdleCloseSample[], next: number, sample: IdleCloseSample): number {
  if (ring.length < RELAY_SAMPLES) ring.push(sample);
  else ring[next % RELAY_SAMPLES] = sample;
  return next + 1;
}

/** The sample of a server's idle close that serverIdleClose (keepalive-race.ts) found, with what it needs here. */
export function idleCloseSample(finTs: number, finFrame: number, lastExchange: HttpExchange | null): IdleCloseSample {
  return {
    finTs,
    finFrame,
    method: lastExchange?.method ?? null,
    uri: lastExchange?.uri ?? null,
    requestStart: lastExchange?.requestStart ?? null,
    requestEnd: lastExchange?.requestEnd ?? null,
  };
}

/** A server whose idle closes were a relaying proxy's: how many of them, and one pair of frames to open. */
export interface RelayedProxy {
  relayed: number;
  /** Idle closes examined (the last RELAY_SAMPLES at most), of `total` seen. */
  of: number;
  total: number;
  /** The backend the proxy relays to, its address upstream (when it connects from another one), and the two closes of one example. */
  backend: string;
  upstreamFrom: string;
  clientFinFrame: number;
  backendCloseFrame: number;
}

/**
 * Whether the idle closes of `server` were those of a proxy relaying its connections (see above):
 * at least two of them, or the only one, and at least half, each with its backend connection closed
 * by the proxy together. Null otherwise, and when the capture shows no backend leg of it.
 */
export function relayedProxyOf(legs: ProxyLegs, server: string, closes: readonly IdleCloseSample[], total: number): RelayedProxy | null {
  if (closes.length === 0) return null;
  let relayed = 0;
  let example: { close: IdleCloseSample; leg: UpstreamLeg } | null = null;
  for (const close of closes) {
    if (close.method === null || close.requestStart === null) continue;
    const leg = legs.closedTogether(server, close.finTs, CLOSED_TOGETHER, {
      method: close.method,
      uri: close.uri,
      from: close.requestStart,
      to: close.requestStart + MAX_FORWARD_DELAY,
    });
    if (leg === null) continue;
    relayed++;
    if (example === null) example = { close, leg };
  }
  if (example === null || relayed * 2 < closes.length || (relayed < 2 && closes.length > 1)) return null;
  return {
    relayed,
    of: closes.length,
    total,
    backend: example.leg.server,
    upstreamFrom: hostOf(example.leg.client),
    clientFinFrame: example.close.finFrame,
    backendCloseFrame: example.leg.closeFrame,
  };
}

/**
 * Whether a server's close that looked idle came with the proxy giving up on a response in
 * progress on its backend leg of the same request (closed together, that response unfinished): a
 * response cut off, not an idle close. On the client's leg it looks idle only where the snaplen
 * cut the response's head before its framing fields, so that its end was taken where its bytes
 * stopped (a proxy at -s 256 cutting event streams its backend stalled: taken for a 2 s idle timer).
 */
export function closedMidResponse(legs: ProxyLegs, server: string, close: IdleCloseSample): boolean {
  if (close.method === null || close.requestStart === null) return false;
  const leg = legs.closedTogether(server, close.finTs, CLOSED_TOGETHER, {
    method: close.method,
    uri: close.uri,
    from: close.requestStart,
    to: close.requestStart + MAX_FORWARD_DELAY,
  });
  return leg !== null && leg.cutMidResponse;
}

/** The sentence that says so, for a diagnosis's explanation. */
export function relayedProxyText(server: string, relay: RelayedProxy, backendHeaders: string | null): string {
  const from = relay.upstreamFrom !== hostOf(server) ? ` from ${relay.upstreamFrom}` : '';
  return (
    `${server} is a proxy that relays these connections: at ${whichCloses(relay)} ` +
    `it also closed its own connection${from} to the backend ${relay.backend} at the same moment (e.g. frames ${relay.backendCloseFrame} and ${relay.clientFinFrame}), ` +
    `so the idle timeout is the proxy's, not the backend's${backendHeaders !== null ? ` (the ${backendHeaders} in its responses ${backendHeaders.includes(' and ') ? 'are' : 'is'} the backend's)` : ''}.`
  );
}

/** "each of its 37 idle closes", "30 of the last 64 of its 200 idle closes", "its idle close". */
function whichCloses(relay: RelayedProxy): string {
  if (relay.total === 1) return 'its idle close';
  const share = relay.relayed === relay.of ? 'each of' : `${relay.relayed} of`;
  return relay.of === relay.total ? `${share} its ${relay.total} idle closes` : `${share} the last ${relay.of} of its ${relay.total} idle closes`;
}
