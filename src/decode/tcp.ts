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

  const payloadOffset = offset + headerLength;
  view.payloadOffset = payloadOffset;
  view.payloadLen = segmentLength - headerLength;
  view.capturedPayloadLen = capturedEnd > payloadOffset ? capturedEnd - payloadOffset : 0;

  if (captured < headerLength) {
    view.headerTruncated = true;
    view.issue = 'tcp-options-truncated';
  }
  if (headerLength > MIN_HEADER) {
    decodeTcpOptions(data, offset + MIN_HEADER, payloadOffset, capturedEnd, view);
  }
  return DecodeStatus.Tcp;
}
