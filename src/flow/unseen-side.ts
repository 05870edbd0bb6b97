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
  /** When it sent its first RST (-1: none), whether that RST carried an ACK, and its sequence number. */
  rstTs: number;
  rstHasAck: boolean;
  rstSeq: number;
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
  return refusedSyn(e);
}

/**
 * Whether its RST answered a SYN: a refusal, which acknowledges the SYN and has sequence number 0
 * (RFC 9293 3.5.2: a reset answering a segment without ACK takes sequence number 0 and the ACK
 * flag). A RST with ACK of a synchronized connection carries where its sender stood, and its
 * acknowledgement may date from before the capture: the last packet of a connection that began
 * earlier (a proxy resetting an idle pooled connection, a socket closed with unread data) whose
 * peer had nothing to send while the capture ran, in a capture that holds both directions (blind
 * round 15: one such RST made a complete capture read as filtered to one direction).
 */
function refusedSyn(e: EndpointSighting): boolean {
  return e.rstTs >= 0 && e.rstHasAck && e.rstSeq === 0;
}

/**
 * The side of a connection whose packets the capture never holds although the other side
 * acknowledged them: 'server' when only the client's segments are there and one of them
 * acknowledged the server (its SYN-ACK, its data), 'client' the other way round (a refusal's
 * RST included: it acknowledged a SYN), null otherwise. One side's lone close of a connection older
 * than the capture (a RST, a FIN, an ACK whose acknowledgement never moves) is not this: it shows
 * no traffic of its peer's during the capture, only that the peer had none to send.
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
