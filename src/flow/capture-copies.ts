import type { PacketView } from '../decode/packet-view';

/**
 * Packets a capture holds twice. `tcpdump -i any` on a host that bridges or routes traffic
 * (containers on veth pairs and a bridge, a Kubernetes node, a VM host) sees each packet once on
 * every interface it crosses, and a switch's SPAN session of two ports sees it on both. Counted as
 * segments, every copy is a retransmission, every copied ACK a duplicate ACK, every SYN sent twice:
 * Wireshark marks them so, and the TCP state would be fed each segment twice.
 *
 * A copy is told from a retransmission by three things together:
 * - Every header field a sender changes between two transmissions is the same: sequence and
 *   acknowledgement numbers, flags, window, length, the TCP checksum (over the payload and the
 *   options, timestamps included), and for IPv4 the identification, which Linux and Windows
 *   advance with every packet of a connection they send, retransmissions included (Linux sends
 *   SYN-ACKs with identification 0; one sent again a second later has a new timestamp).
 * - The peer sent nothing in between: a copy is taken on its way to the peer, so the peer cannot
 *   have answered it yet, while a fast retransmission follows the peer's duplicate ACKs.
 * - It follows the first copy by less than COPY_WINDOW.
 * A real retransmission identical in every byte (IPv6 without TCP timestamps) comes no sooner than
 * Linux's tail-loss probe, twice the round trip plus 2 ms.
 *
 * The TCP checksum of one copy may not be the other's: a packet sent with checksum offload holds
 * only the sum of its pseudo-header (addresses, protocol, length) until a device computes the rest,
 * and the kernel computes it in software before a device without transmit checksum offload (a tun
 * or VPN device, a NIC or a VXLAN device with `tx-checksum-ip-generic off`, a common workaround).
 * Captured on its way in from a container's veth and on its way out of such a device, the same
 * packet has both. A checksum that is that pseudo-header sum tells nothing about the payload, so it
 * is not compared; the identification and the timestamp still are.
 *
 * A copy may also come cut in pieces. A sender with segmentation offload (a container's veth)
 * hands over one segment of up to 64 KiB; before a device without it (`tso off`, a tun or VPN
 * device) the kernel cuts it into segments of the path's MSS, and that device's capture holds those.
 * A piece is taken for a copy when it lies within the last long data segment of its direction
 * (LONGEST_UNCUT), less than COPY_WINDOW before, with nothing from the peer in between, and carries what the cutting
 * copies into every piece: the acknowledgement number, window and timestamp, and for IPv4 the
 * identification, one more per piece (Linux's inet_gso_segment). Only in that order: the kernel
 * never joins the pieces again on the way out (GRO joins them on the way in, before the capture).
 *
 * The table is direct-mapped and bounded: a packet's slot is overwritten by the next packet that
 * hashes there. A copy arrives within a few packets of its original, so a lost slot costs at worst
 * a copy counted as a retransmission, as before this existed.
 */
export const COPY_WINDOW = 0.002;

const SLOT_BITS = 12;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const COPIED_MASK = (1 << 14) - 1;

// The fields of a slot.
const OWNER = 0; // connection id × 2 + direction (0: empty slot; connection ids start at 1)
const SEQ = 1;
const ACK = 2;
const SHAPE = 3; // flags, window and payload length
const IP_ID = 4; // IPv4 identification, or -1
const CHECKSUM = 5; // TCP checksum as captured
const TS_VAL = 6; // TCP timestamp value, or -1
const TIME = 7;
const PEER_SEGMENTS = 8; // segments the other side had sent when this one was seen
const TTL = 9; // IP TTL (hop limit) of the first copy: copies taken at two points on a routed path differ
const FIELDS = 10;

// The fields of a direction's last long data segment (a table by direction, for the pieces of a copy).
const WHOLE_OWNER = 0;
const WHOLE_SEQ = 1;
const WHOLE_LEN = 2;
const WHOLE_ACK = 3;
const WHOLE_WINDOW = 4;
const WHOLE_IP_ID = 5;
const WHOLE_TS_VAL = 6;
const WHOLE_TIME = 7;
const WHOLE_PEER_SEGMENTS = 8;
const WHOLE_TTL = 9;
const WHOLE_FIELDS = 10;

export class CaptureCopies {
  private readonly slots = new Float64Array((SLOT_MASK + 1) * FIELDS);
  private readonly wholes = new Float64Array((SLOT_MASK + 1) * WHOLE_FIELDS);
  /** Connections with a copy found, direct-mapped by id (a lost entry: a bare RST's copy counted as a RST). */
  private readonly copied = new Float64Array(COPIED_MASK + 1);
  /**
   * After isCopy returned true: the IP TTL and the time of the packet's first copy (for a piece,
   * of the segment it was cut from). The copy taken nearer the sender has the higher TTL: each
   * router between two capture points takes one off (Endpoint.noteCopy).
   */
  originalTtl = -1;
  originalTs = -1;

  /**
   * True when `v` is a copy of a segment seen just before on the same connection, in the same
   * direction; otherwise remembers it. `peerSegments` counts the segments (copies not included)
   * the other side has sent so far.
   */
  isCopy(connectionId: number, fromClient: boolean, v: PacketView, ts: number, peerSegments: number): boolean {
    const checksum = v.tcpChecksum;
    if (checksum < 0) return false; // snaplen cut it: nothing to tell the two apart by
    const seq = v.seq;
    const ipId = v.ipId;
    const tsVal = v.hasTimestamp === true ? v.tsVal : -1; // compared with true: see the owner below
    // Not by the checksum: the copies of a packet do not always carry the same (see above).
    const at = ((Math.imul(seq ^ v.ack, 0x9e3779b1) ^ Math.imul(ipId ^ tsVal, 0x85ebca6b)) >>> (32 - SLOT_BITS)) * FIELDS;
    // Compared with `true`: tested for truthiness, a parameter costs a ten-instruction test.
    const owner = fromClient === true ? connectionId * 2 : connectionId * 2 + 1;
    // Below 2^53: flags < 2^8, window < 2^16, payload length < 2^29.
    const shape = v.flags + v.window * 0x100 + v.payloadLen * 0x1000000;
    const slots = this.slots;
    if (
      slots[at + OWNER] === owner && slots[at + SEQ] === seq && slots[at + ACK] === v.ack && slots[at + SHAPE] === shape &&
      slots[at + IP_ID] === ipId && slots[at + TS_VAL] === tsVal && slots[at + PEER_SEGMENTS] === peerSegments &&
      (slots[at + CHECKSUM] === checksum || isPseudoHeaderSum(v, slots[at + CHECKSUM]) || isPseudoHeaderSum(v, checksum))
    ) {
      // Either order: copies from several interfaces are not always in time order.
      const apart = ts - slots[at + TIME];
      // The slot stays: a packet crossing three interfaces leaves two copies.
      if (apart < COPY_WINDOW && apart > -COPY_WINDOW) {
        // A RST without ACK and without timestamps is a kernel's answer to one segment for a socket
        // it no longer has, and its answer to the next segment is the same in every field (Linux: IP
        // identification 0, the sequence number that segment's ACK). Two of them are a copy only on
        // a connection whose other packets were captured twice (a capture on several interfaces).
        if ((v.flags & (RST | TCP_ACK)) !== RST || tsVal !== -1 || this.copied[connectionId & COPIED_MASK] === connectionId) {
          this.copied[connectionId & COPIED_MASK] = connectionId;
          this.originalTtl = slots[at + TTL];
          this.originalTs = slots[at + TIME];
          return true;
        }
      }
    }
    const len = v.payloadLen;
    if (len > 0 && (v.flags & (SYN | RST)) === 0) {
      const w = (Math.imul(owner, 0x9e3779b1) >>> (32 - SLOT_BITS)) * WHOLE_FIELDS;
      const wholes = this.wholes;
      // Cheap tests first: most data segments come long after their direction's last long one.
      const sinceWhole = ts - wholes[w + WHOLE_TIME];
      if (
        wholes[w + WHOLE_OWNER] === owner && sinceWhole < COPY_WINDOW && sinceWhole > -COPY_WINDOW &&
        this.isPiece(w, v, seq, len, ipId, tsVal, peerSegments)
      ) {
        this.originalTtl = wholes[w + WHOLE_TTL];
        this.originalTs = wholes[w + WHOLE_TIME];
        return true;
      }
      if (len > LONGEST_UNCUT) this.rememberWhole(w, owner, v, len, ipId, tsVal, ts, peerSegments);
    }
    slots[at + OWNER] = owner;
    slots[at + SEQ] = seq;
    slots[at + ACK] = v.ack;
    slots[at + SHAPE] = shape;
    slots[at + IP_ID] = ipId;
    slots[at + CHECKSUM] = checksum;
    slots[at + TS_VAL] = tsVal;
    slots[at + TIME] = ts;
    slots[at + PEER_SEGMENTS] = peerSegments;
    slots[at + TTL] = v.ttl;
    return false;
  }

  /** Remembers the data segment `v` as its direction's last whole, which may come again in pieces. */
  private rememberWhole(w: number, owner: number, v: PacketView, len: number, ipId: number, tsVal: number, ts: number, peerSegments: number): void {
    const wholes = this.wholes;
    wholes[w + WHOLE_OWNER] = owner;
    wholes[w + WHOLE_SEQ] = v.seq;
    wholes[w + WHOLE_LEN] = len;
    wholes[w + WHOLE_ACK] = v.ack;
    wholes[w + WHOLE_WINDOW] = v.window;
    wholes[w + WHOLE_IP_ID] = ipId;
    wholes[w + WHOLE_TS_VAL] = tsVal;
    wholes[w + WHOLE_TIME] = ts;
    wholes[w + WHOLE_PEER_SEGMENTS] = peerSegments;
    wholes[w + WHOLE_TTL] = v.ttl;
  }

  /** True when `v`, less than COPY_WINDOW after the data segment at `w`, is a piece of it cut by segmentation offload. */
  private isPiece(w: number, v: PacketView, seq: number, len: number, ipId: number, tsVal: number, peerSegments: number): boolean {
    const wholes = this.wholes;
    const wholeLen = wholes[w + WHOLE_LEN];
    if (len >= wholeLen) return false;
    const offset = (seq - wholes[w + WHOLE_SEQ]) >>> 0; // sequence space wraps
    if (offset + len > wholeLen) return false;
    if (wholes[w + WHOLE_ACK] !== v.ack || wholes[w + WHOLE_WINDOW] !== v.window || wholes[w + WHOLE_TS_VAL] !== tsVal) return false;
    if (wholes[w + WHOLE_PEER_SEGMENTS] !== peerSegments) return false;
    if (ipId < 0) return wholes[w + WHOLE_IP_ID] < 0;
    // Piece k (k × MSS bytes in) has the whole's identification plus k; pieces are no longer than the MSS.
    const k = (ipId - wholes[w + WHOLE_IP_ID]) & 0xffff;
    return offset === 0 ? k === 0 : k > 0 && k * len <= offset;
  }
}

/**
 * Only a segment longer than one Ethernet MSS (1 460 bytes) is remembered as a whole that may come
 * again in pieces: segmentation offload hands over super-segments of several MSS, and any segment
 * a device receives whole is no longer than its path's MSS. (Pieces of a super-segment no longer
 * than this, a path MSS below 730 bytes, stay retransmissions; remembering every data segment cost
 * 2 % of all instructions.)
 */
const LONGEST_UNCUT = 1460;

/** TCP flags that open or end a connection: never cut by segmentation offload. */
const SYN = 0x02;
const RST = 0x04;
const TCP_ACK = 0x10;

/**
 * True when `checksum` is what a sender using checksum offload leaves in the segment `v` for the
 * device to complete: the ones' complement sum, folded to 16 bits, of its pseudo-header (RFC 9293
 * 3.1; RFC 8200 8.1 for IPv6), as Linux's tcp_v4_send_check and tcp_v6_send_check write it. The
 * TCP header's length is not in the view: each of the 11 it can have (20 to 60 bytes) is tried, on
 * this path only when two copies' checksums differ. A full checksum equal to one of them by chance
 * (11 in 65 536) costs nothing: the other fields must still match.
 */
function isPseudoHeaderSum(v: PacketView, checksum: number): boolean {
  let sum = halves(v.src0) + halves(v.dst0) + TCP_PROTOCOL + v.payloadLen;
  if (v.ipVersion === 6) sum += halves(v.src1) + halves(v.src2) + halves(v.src3) + halves(v.dst1) + halves(v.dst2) + halves(v.dst3);
  for (let headerLength = 20; headerLength <= 60; headerLength += 4) {
    if (fold(sum + headerLength) === checksum) return true;
  }
  return false;
}

const TCP_PROTOCOL = 6;

/** The two 16-bit halves of a 32-bit address word, added. */
function halves(word: number): number {
  return (word >>> 16) + (word & 0xffff);
}

/** A ones' complement sum folded to 16 bits (a sum of 16-bit words stays far below 2^32 here). */
function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}
