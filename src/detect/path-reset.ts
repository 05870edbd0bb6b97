import type { AnalyzedConnection } from './analyzed-connection';
import { resetFromOtherHost } from '../flow/reset-origin';
import { peerResetAfterReceivingAll, roundTripToServer } from './facts';

// Where a RST came from is a fact of the two endpoints alone (the flow records tell it too).
export { ownTtl, ownTtlWhereReset, resetFromOtherHost } from '../flow/reset-origin';

/**
 * A round trip from the capture point to the server below which a reset's timing says nothing of
 * where it came from (the capture is on the server's host or its switch).
 */
const MIN_TIMED_RTT = 0.001;

/**
 * Where a reset in the server's name that answered a request came from, when not from the server:
 * 'ttl' (its IP TTL is neither that of the server's data nor of its handshake: each router on the
 * path takes one off, so the server's own packets reach the capture point with one TTL, and a NAT
 * gateway or firewall that forgot the connection resets it from fewer hops away, or from another
 * initial value), 'too-soon' (it answered the request — no ACK flag, as a reply to a segment, or an
 * ACK covering the request — sooner after the capture saw the request than half the round trip to
 * the server: it cannot have been the server's reply), or null (nothing says it was not the
 * server's).
 *
 * A server's own reset of a connection it closed crosses the request without acknowledging it, so
 * timing judges only resets that acknowledge it. Recorded with a NAT gateway's conntrack timeout in
 * middlebox-idle-reset-nat; a reviewer's captures of a NAT gateway 31 ms from its servers showed
 * the timing (RST 0.6 ms after the request).
 */
export function resetFromPath(conn: AnalyzedConnection, requestTs: number): 'ttl' | 'too-soon' | null {
  const s = conn.server;
  if (s.rstTs < requestTs) return null;
  if (resetFromOtherHost(s)) return 'ttl';
  const answersRequest = !s.rstHasAck || peerResetAfterReceivingAll(conn.client, s);
  const rtt = roundTripToServer(conn);
  return answersRequest && rtt >= MIN_TIMED_RTT && s.rstTs - requestTs < rtt / 2 ? 'too-soon' : null;
}
