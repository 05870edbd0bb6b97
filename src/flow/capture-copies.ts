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
 * The table is direct-mapped and bounded: a packet's slot is overwritten by the next packet that
 * hashes there. A copy arrives within a few packets of its original, so a lost slot costs at worst
 * a copy counted as a retransmission, as before this existed.
 */
export const COPY_WINDOW = 0.002;

const SLOT_BITS = 12;
const SLOT_MASK = (1 << SLOT_BITS) - 1;

// The fields of a slot.
const OWNER = 0; // connection id × 2 + direction (0: empty slot; connection ids start at 1)
const SEQ = 1;
const ACK = 2;
const SHAPE = 3; // flags, window and payload length
const IDENTITY = 4; // IPv4 identification and TCP checksum
const TS_VAL = 5; // TCP timestamp value, or -1
const TIME = 6;
const PEER_SEGMENTS = 7; // segments the other side had sent when this one was seen
const FIELDS = 8;

export class CaptureCopies {
  private readonly slots = new Float64Array((SLOT_MASK + 1) * FIELDS);

  /**
   * True when `v` is a copy of a segment seen just before on the same connection, in the same
   * direction; otherwise remembers it. `peerSegments` counts the segments (copies not included)
   * the other side has sent so far.
   */
  isCopy(connectionId: number, fromClient: boolean, v: PacketView, ts: number, peerSegments: number): boolean {
    const checksum = v.tcpChecksum;
    if (checksum < 0) return false; // snaplen cut it: nothing to tell the two apart by
    const seq = v.seq;
    const at = ((Math.imul(seq ^ v.ack, 0x9e3779b1) ^ Math.imul(checksum + 1, 0x85ebca6b)) >>> (32 - SLOT_BITS)) * FIELDS;
    const owner = fromClient ? connectionId * 2 : connectionId * 2 + 1;
    // Below 2^53: flags < 2^8, window < 2^16, payload length < 2^29.
    const shape = v.flags + v.window * 0x100 + v.payloadLen * 0x1000000;
    const identity = (v.ipId + 1) * 0x10000 + checksum;
    const tsVal = v.hasTimestamp ? v.tsVal : -1;
    const slots = this.slots;
    if (
      slots[at + OWNER] === owner && slots[at + SEQ] === seq && slots[at + ACK] === v.ack && slots[at + SHAPE] === shape &&
      slots[at + IDENTITY] === identity && slots[at + TS_VAL] === tsVal && slots[at + PEER_SEGMENTS] === peerSegments
    ) {
      // Either order: copies from several interfaces are not always in time order.
      const apart = ts - slots[at + TIME];
      // The slot stays: a packet crossing three interfaces leaves two copies.
      if (apart < COPY_WINDOW && apart > -COPY_WINDOW) return true;
    }
    slots[at + OWNER] = owner;
    slots[at + SEQ] = seq;
    slots[at + ACK] = v.ack;
    slots[at + SHAPE] = shape;
    slots[at + IDENTITY] = identity;
    slots[at + TS_VAL] = tsVal;
    slots[at + TIME] = ts;
    slots[at + PEER_SEGMENTS] = peerSegments;
    return false;
  }
}
