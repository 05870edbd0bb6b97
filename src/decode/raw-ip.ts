import { DecodeCursor, ETHERTYPE_IPV4, ETHERTYPE_IPV6, Step, stop } from './decode-cursor';
import { DecodeStatus, PacketView } from './packet-view';

/**
 * Raw IP (LINKTYPE_RAW and the old DLT_RAW values 12/14): no link header, the IP version
 * nibble says IPv4 or IPv6.
 */
export function decodeRawIp(data: Uint8Array, cur: DecodeCursor, view: PacketView): DecodeStatus | Step {
  if (cur.limit - cur.base < 1) return stop(view, DecodeStatus.Truncated, 'link-header-truncated'); // empty packet
  const version = data[cur.base] >> 4;
  if (version === 4) return rawAs(ETHERTYPE_IPV4, cur);
  if (version === 6) return rawAs(ETHERTYPE_IPV6, cur);
  return stop(view, DecodeStatus.Malformed, 'ip-version-invalid');
}

/** True when the first byte could start an IP header (used to tell DLT_RAW from OpenBSD's DLT_LOOP for value 12). */
export function looksLikeRawIp(data: Uint8Array, cur: DecodeCursor): boolean {
  if (cur.limit - cur.base < 1) return true;
  const version = data[cur.base] >> 4;
  return version === 4 || version === 6;
}

/** LINKTYPE_IPV4 / LINKTYPE_IPV6: the link type fixes the version; the IP layer checks the nibble. */
export function rawAs(network: number, cur: DecodeCursor): Step {
  cur.offset = cur.base;
  cur.network = network;
  return Step.Continue;
}
