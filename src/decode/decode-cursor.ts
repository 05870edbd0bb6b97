import type { DecodeIssue } from './decode-issue';
import type { DecodeStatus, PacketView } from './packet-view';

/**
 * Where the decoder stands inside one packet. One instance lives in decode-packet.ts and is
 * reset per packet, so the layers pass positions to each other without allocating.
 *
 * Two ends matter and are kept apart, as Wireshark keeps "captured" and "reported" lengths:
 * `limit` is where the captured bytes stop (snaplen), `wireEnd` where the packet stopped on the
 * wire. Running past `limit` is truncation; a header that claims to run past `wireEnd` is malformed.
 */
export class DecodeCursor {
  /** Where the packet starts in the buffer (packets are decoded in place inside the reader's chunk). */
  base = 0;
  /** Offset of the next header to decode. */
  offset = 0;
  /** End of the captured bytes: base + min(caplen, data.length - base). */
  limit = 0;
  /** End of the enclosing packet on the wire (origLen; for a tunnelled header, the outer datagram's end). */
  wireEnd = 0;
  /** EtherType of the header at `offset` (ETHERTYPE_IPV4 / ETHERTYPE_IPV6), set by the link layer. */
  network = 0;
  /** IP protocol number of the header at `offset`, set by the IP layers. */
  protocol = 0;
  /** End of the IP datagram by its length fields, clamped to `wireEnd`. */
  ipEnd = 0;

  reset(base: number, limit: number, wireEnd: number): void {
    this.base = base;
    this.offset = base;
    this.limit = limit;
    this.wireEnd = wireEnd;
    this.network = 0;
    this.protocol = 0;
    this.ipEnd = 0;
  }
}

/** A layer either finishes the packet with a DecodeStatus or hands on to the next layer. */
export const enum Step {
  Continue = -1,
}

export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_IPV6 = 0x86dd;

/** Ends decoding of a packet: names the issue on the view and returns the status (one line at each exit). */
export function stop(view: PacketView, status: DecodeStatus, issue: DecodeIssue): DecodeStatus {
  view.issue = issue;
  return status;
}
