/** What the test needs to know about one endpoint. */
export interface EndpointSighting {
  /** Segments of this endpoint the capture holds. */
  packets: number;
  /** Whether this endpoint sent an ACK (a SYN-ACK included): it acknowledged something of its peer's. */
  hasAck: boolean;
  /** Its first and highest acknowledgement numbers (meaningful with hasAck). */
  firstAck: number;
  highestAck: number;
  /** SYNs and SYN-ACKs it sent in the capture. */
  synCount: number;
  synAckCount: number;
  /** When it sent its first RST (-1: none), and whether that RST carried an ACK (a refusal acknowledges the SYN). */
  rstTs: number;
  rstHasAck: boolean;
}

/**
 * Whether the endpoint acknowledged something its peer sent while the capture ran: an ACK after its
 * own SYN (of the SYN-ACK), a SYN-ACK (of the SYN), or acknowledgements that moved on. A connection
 * seen mid-stream acknowledges, from its first packet, bytes sent before the capture began: a client
 * whose one request (or its copies sent again) found no answer, because the path dropped what came
 * back or the server sent nothing, shows an unchanging acknowledgement, which says nothing of a
 * capture that holds one direction (blind round 11: one such request after a firewall forgot its
 * connection was blamed on a capture filter).
 */
function acknowledgedPeer(e: EndpointSighting): boolean {
  if (e.hasAck && (e.synCount > 0 || e.synAckCount > 0 || e.highestAck !== e.firstAck)) return true;
  return e.rstTs >= 0 && e.rstHasAck;
}

/**
 * The side of a connection whose packets the capture never holds although the other side
 * acknowledged them: 'server' when only the client's segments are there and one of them
 * acknowledged the server (its SYN-ACK, its data), 'client' the other way round (a refusal's
 * RST with ACK included: it acknowledged a SYN), null otherwise.
 *
 * A capture filtered on one direction (`tcpdump dst port 8080`), a mirror port or tap that sees
 * one direction, or a route that takes the replies another way gives every connection this shape.
 * Such a connection shows nothing of what its unseen side did: its requests were not unanswered,
 * the capture just cannot show the answers. A client's SYNs with no ACK of its own are not this:
 * they are SYNs nobody answered, which the capture does show.
 */
export function unseenSide(client: EndpointSighting, server: EndpointSighting): 'client' | 'server' | null {
  if (server.packets === 0 && client.packets > 0 && acknowledgedPeer(client)) return 'server';
  if (client.packets === 0 && server.packets > 0 && acknowledgedPeer(server)) return 'client';
  return null;
}
