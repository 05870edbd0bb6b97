import { u16, u32 } from './bytes';
import { stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';
import { decodeTcpOptions } from './tcp-options';

const MIN_HEADER = 20;
/**
 * Captured bytes needed to use a segment: ports(4) seq(4) ack(4) offset+flags(2) window(2).
 * With fewer the packet is Truncated. With at least these but less than the data offset, the
 * segment is Tcp with headerTruncated: everything flow tracking needs is there, only options
 * (or checksum / urgent pointer, which conncheck never uses) are missing. A cut window would be
 * worse than none: a guessed 0 would look like a zero-window event.
 */
const USABLE_HEADER = 16;
/** Captured bytes that include the checksum. */
const CHECKSUM_END = 18;

/** Option bytes of the layout NOP (1), NOP (1), Timestamps (kind 8, length 10). */
const TIMESTAMP_LAYOUT = 12;
/** Its first four bytes, big-endian: NOP, NOP, kind 8, length 10. */
const TIMESTAMP_LAYOUT_START = 0x0101080a;

function isTimestampLayout(data: Uint8Array, at: number): boolean {
  return ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) === TIMESTAMP_LAYOUT_START;
}

/**
 * TCP header at `offset`; the segment ends at `ipEnd` (by the IP lengths), the capture at `limit`.
 * payloadLen comes from the IP lengths (what the sender sent: sequence accounting);
 * capturedPayloadLen is what the capture holds of it.
 */
export function decodeTcp(
  data: Uint8Array,
  offset: number,
  ipEnd: number,
  limit: number,
  view: PacketView,
): DecodeStatus {
  const segmentLength = ipEnd - offset;
  if (segmentLength < MIN_HEADER) return stop(view, DecodeStatus.Malformed, 'tcp-segment-too-short');
  const capturedEnd = limit < ipEnd ? limit : ipEnd;
  const captured = capturedEnd - offset;
  if (captured < USABLE_HEADER) return stop(view, DecodeStatus.Truncated, 'tcp-header-truncated');
  const headerLength = (data[offset + 12] >> 4) * 4;
  if (headerLength < MIN_HEADER) return stop(view, DecodeStatus.Malformed, 'tcp-data-offset-invalid');
  if (headerLength > segmentLength) return stop(view, DecodeStatus.Malformed, 'tcp-header-beyond-segment');

  view.srcPort = u16(data, offset);
  view.dstPort = u16(data, offset + 2);
  view.seq = u32(data, offset + 4);
  view.ack = u32(data, offset + 8);
  view.flags = data[offset + 13];
  view.window = u16(data, offset + 14);
  view.tcpChecksum = captured >= CHECKSUM_END ? u16(data, offset + 16) : -1;

  const payloadOffset = offset + headerLength;
  view.payloadOffset = payloadOffset;
  view.payloadLen = segmentLength - headerLength;
  view.capturedPayloadLen = capturedEnd > payloadOffset ? capturedEnd - payloadOffset : 0;

  if (captured < headerLength) {
    view.headerTruncated = true;
    view.issue = 'tcp-options-truncated';
  }
  if (headerLength === MIN_HEADER + TIMESTAMP_LAYOUT && capturedEnd >= payloadOffset && isTimestampLayout(data, offset + MIN_HEADER)) {
    // Past the handshake Linux sends exactly NOP, NOP, Timestamps: read here, that layout costs
    // what the option walk spends on one of its three rounds.
    view.hasTimestamp = true;
    view.tsVal = u32(data, offset + MIN_HEADER + 4);
    view.tsEcr = u32(data, offset + MIN_HEADER + 8);
  } else if (headerLength > MIN_HEADER) {
    decodeTcpOptions(data, offset + MIN_HEADER, payloadOffset, capturedEnd, view);
  }
  return DecodeStatus.Tcp;
}
