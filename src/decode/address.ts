import { PacketView } from './packet-view';

/**
 * Address text as tshark prints it, built only when a connection is created (never per packet).
 * IPv6 follows RFC 5952 the way glibc's inet_ntop (used by Wireshark on Linux) does: lower-case
 * hex without leading zeros, the longest run of two or more zero groups (the first on a tie)
 * written "::", and IPv4-mapped (::ffff:a.b.c.d) / IPv4-compatible (::a.b.c.d) addresses with a
 * dotted tail.
 */

export type EndpointSide = 'src' | 'dst';

/** "1.2.3.4:80" or "[2001:db8::1]:443". */
export function formatEndpoint(view: PacketView, side: EndpointSide): string {
  return side === 'src'
    ? formatEndpointWords(view.ipVersion, view.src0, view.src1, view.src2, view.src3, view.srcPort)
    : formatEndpointWords(view.ipVersion, view.dst0, view.dst1, view.dst2, view.dst3, view.dstPort);
}

export function formatEndpointWords(version: 4 | 6, w0: number, w1: number, w2: number, w3: number, port: number): string {
  return version === 4 ? `${formatIpv4(w0)}:${port}` : `[${formatIpv6(w0, w1, w2, w3)}]:${port}`;
}

/** The host of an endpoint text: "1.2.3.4:80" → "1.2.3.4", "[::1]:80" → "::1". */
export function hostOfEndpoint(endpoint: string): string {
  const i = endpoint.lastIndexOf(':');
  const host = i < 0 ? endpoint : endpoint.slice(0, i);
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Address only: "1.2.3.4" or "2001:db8::1". */
export function formatAddress(view: PacketView, side: EndpointSide): string {
  if (side === 'src') {
    return view.ipVersion === 4 ? formatIpv4(view.src0) : formatIpv6(view.src0, view.src1, view.src2, view.src3);
  }
  return view.ipVersion === 4 ? formatIpv4(view.dst0) : formatIpv6(view.dst0, view.dst1, view.dst2, view.dst3);
}

/** Dotted quad of a 32-bit address word (network order value as read big-endian). */
export function formatIpv4(word: number): string {
  return `${(word >>> 24) & 0xff}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
}

/** RFC 5952 text of an IPv6 address given as four big-endian 32-bit words. */
export function formatIpv6(w0: number, w1: number, w2: number, w3: number): string {
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];

  // Longest run of zero groups; only runs of two or more are compressed (RFC 5952 4.2.2).
  let bestStart = -1;
  let bestLength = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }
  if (bestLength < 2) bestStart = -1;

  // ::a.b.c.d (compatible) and ::ffff:a.b.c.d (mapped) keep the IPv4 tail dotted.
  const dottedTail = bestStart === 0 && (bestLength === 6 || (bestLength === 5 && groups[5] === 0xffff));

  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += i === 0 ? '::' : ':';
      i += bestLength - 1;
      continue;
    }
    if (dottedTail && i === 6) {
      text += formatIpv4(w3);
      break;
    }
    text += groups[i].toString(16);
    if (i < 7) text += ':';
  }
  return text;
}
