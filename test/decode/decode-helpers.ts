import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';

export interface Decoded {
  status: DecodeStatus;
  view: PacketView;
}

/** Decodes one frame into a fresh view; caplen defaults to the whole buffer, origLen to caplen. */
export function decode(linkType: number, frame: Uint8Array, caplen = frame.length, origLen = frame.length): Decoded {
  const view = new PacketView();
  const status = decodePacket(linkType, frame, caplen, origLen, view);
  return { status, view };
}

export const STATUS_NAMES: Record<DecodeStatus, string> = {
  [DecodeStatus.Tcp]: 'Tcp',
  [DecodeStatus.NotTcp]: 'NotTcp',
  [DecodeStatus.Fragment]: 'Fragment',
  [DecodeStatus.Truncated]: 'Truncated',
  [DecodeStatus.Malformed]: 'Malformed',
  [DecodeStatus.UnsupportedLink]: 'UnsupportedLink',
  [DecodeStatus.IcmpError]: 'IcmpError',
};

/** Invariants every Tcp result must satisfy, whatever the input bytes were. */
export function tcpInvariantViolations(view: PacketView, caplen: number): string[] {
  const problems: string[] = [];
  const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
  const u16 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffff;
  if (!u16(view.srcPort) || !u16(view.dstPort)) problems.push('port out of range');
  if (!u32(view.seq) || !u32(view.ack)) problems.push('seq/ack not unsigned 32-bit');
  if (!u16(view.window)) problems.push('window out of range');
  if (!(view.flags >= 0 && view.flags <= 0xff)) problems.push('flags out of range');
  if (!(view.payloadLen >= 0)) problems.push('negative payloadLen');
  if (!(view.capturedPayloadLen >= 0)) problems.push('negative capturedPayloadLen');
  if (view.capturedPayloadLen > view.payloadLen) problems.push('capturedPayloadLen > payloadLen');
  if (view.capturedPayloadLen > 0 && view.payloadOffset + view.capturedPayloadLen > caplen) problems.push('captured payload beyond caplen');
  for (const w of [view.src0, view.src1, view.src2, view.src3, view.dst0, view.dst1, view.dst2, view.dst3]) {
    if (!(Number.isInteger(w) && w === (w | 0))) problems.push('address word not a signed 32-bit integer');
  }
  if (view.hasTimestamp && (!u32(view.tsVal) || !u32(view.tsEcr))) problems.push('timestamp not unsigned');
  return problems;
}
