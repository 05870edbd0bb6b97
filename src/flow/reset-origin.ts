import type { Endpoint } from './endpoint';

/** The IP TTL (hop limit) of an endpoint's own packets: its first data's, else its first packet's; -1 unknown. */
export function ownTtl(ep: Endpoint): number {
  return ep.firstDataTtl >= 0 ? ep.firstDataTtl : ep.firstTtl;
}

/**
 * The TTL ep's own packets have at the capture point where its RST was seen: ownTtl, or, for a RST
 * placed at the farther of two capture points (seenAtOnePoint), the TTL they have there.
 */
export function ownTtlWhereReset(ep: Endpoint): number {
  return ep.rstTs >= 0 && seenAtOnePoint(ep) === true ? ep.ttlFar : ownTtl(ep);
}

/**
 * The RST in `ep`'s name did not come from ep's host: its IP TTL (hop limit) is neither that of
 * ep's data nor of its handshake on the same connection. Each router on the path takes one off,
 * so one host's packets all reach the capture point with one TTL; a firewall (`reject with tcp
 * reset`), NAT gateway or load balancer that forges a RST in its name sends it from another hop,
 * or from another initial value. Equal TTLs (a capture on that host, loopback: all 64) say
 * nothing, nor does a RST that is ep's first packet (nothing to compare it with): false then. A
 * SYN proxy answers the handshake from another hop than the server's data: a RST with either TTL
 * is taken as the server's.
 */
export function resetFromOtherHost(ep: Endpoint): boolean {
  if (ep.rstTs < 0 || ep.rstTtl < 0) return false;
  const atOnePoint = seenAtOnePoint(ep);
  if (atOnePoint !== null) return atOnePoint;
  const own = ownTtl(ep);
  return own >= 0 && ep.rstTtl !== own && ep.rstTtl !== ep.firstTtl;
}

/**
 * Whether a RST seen at only one of two capture points came from another host, or null when the
 * TTLs answer as on one capture point. A capture that holds ep's packets twice, from a point near
 * it and a farther one (client and server captures merged), keeps each packet's first copy: the
 * near point's TTL (ttlNear; the server's packets reach the server's capture before any router
 * takes one off). A RST forged between the two points (a firewall's `reject with tcp reset`) is
 * seen only at the far point, where ep's own packets have ttlFar, and a firewall next to the far
 * end sends it with the TTL ep's packets have at the near one: compared with the kept TTL, it
 * passes for ep's. So a RST with no copy is placed by its TTL: ttlFar, ep's own seen at the far
 * point only; ttlNear, ep's own lost before the far point, unless something says ep never sent
 * it: it answered a packet of the peer's that never reached the second point (the firewall
 * dropped it and answered in ep's name), or ep went on sending data after it (a socket that
 * reset sends nothing more: blind round 11, S2a/S2b/S2e merged).
 */
function seenAtOnePoint(ep: Endpoint): boolean | null {
  if (ep.ttlFar < 0 || ep.rstCopied) return null;
  const ttl = ep.rstTtl;
  if (ttl === ep.ttlFar) return false;
  if (ttl !== ep.ttlNear) return null;
  return ep.rstAnswersUncopied || Math.max(ep.lastDataTs, ep.lastRetransmissionTs) > ep.rstTs;
}
