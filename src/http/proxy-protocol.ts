/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) that a load balancer or proxy
 * writes at the start of each connection to a backend, before the first request: HAProxy
 * `send-proxy` / `send-proxy-v2`, AWS NLB and Classic ELB with proxy protocol enabled, nginx
 * `proxy_protocol on` towards its upstream, Envoy, Traefik. It names the client the proxy serves
 * (the backend sees only the proxy's address). Read as an HTTP start line it is garbage: version 1
 * ("PROXY TCP4 ...") looked like a request with method PROXY, and version 2 (binary) made the
 * whole client direction "not HTTP", so that every response on the connection had no request.
 * So the analysis reads it off the client's first bytes, keeps the addresses, and hands the HTTP
 * session what follows.
 */

import { formatEndpointWords } from '../decode/address';
import { i32 } from '../decode/bytes';

/** What a PROXY header said. */
export interface ProxyHeader {
  version: 1 | 2;
  /**
   * The client the proxy serves and the address it was connected to (`ip:port`, IPv6 in
   * brackets), or null when the header carries none: version 1 `UNKNOWN`, version 2 `LOCAL`
   * (health checks) or an address family other than TCP over IPv4 or IPv6.
   */
  source: string | null;
  destination: string | null;
  /** Bytes of the header in the stream (version 2's may run past the segment that starts it). */
  length: number;
}

/** "PROXY " */
const V1_START = [0x50, 0x52, 0x4f, 0x58, 0x59, 0x20];
/** A version 1 header is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
/** \r\n\r\n\0\r\nQUIT\n */
const V2_SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V2_FIXED = 16;
const V2_TCP4 = 0x11;
const V2_TCP6 = 0x21;

/**
 * The PROXY header at the start of `data[offset, offset + length)`, or null when these bytes do
 * not start with a complete version 1 line or a version 2 fixed part (a header split before those
 * is not recognised: proxies write it in one piece, and it then arrives in one segment).
 */
export function readProxyHeader(data: Uint8Array, offset: number, length: number): ProxyHeader | null {
  if (startsWith(data, offset, length, V2_SIGNATURE)) return readV2(data, offset, length);
  if (startsWith(data, offset, length, V1_START)) return readV1(data, offset, length);
  return null;
}

function startsWith(data: Uint8Array, offset: number, length: number, prefix: readonly number[]): boolean {
  if (length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[offset + i] !== prefix[i]) return false;
  return true;
}

function readV1(data: Uint8Array, offset: number, length: number): ProxyHeader | null {
  const end = offset + Math.min(length, V1_MAX);
  let lf = -1;
  for (let i = offset + V1_START.length; i < end; i++) {
    if (data[i] === 0x0a) {
      lf = i;
      break;
    }
    if (data[i] < 0x20 && data[i] !== 0x0d) return null; // a control byte: not a header line
  }
  if (lf < 0 || data[lf - 1] !== 0x0d) return null;
  const words = Buffer.from(data.buffer, data.byteOffset + offset, lf - 1 - offset).toString('latin1').split(' ');
  const headerLength = lf + 1 - offset;
  // PROXY TCP4|TCP6 source destination sourcePort destinationPort
  if ((words[1] === 'TCP4' || words[1] === 'TCP6') && words.length === 6) {
    const v6 = words[1] === 'TCP6';
    const source = endpoint(words[2], words[4], v6);
    const destination = endpoint(words[3], words[5], v6);
    if (source !== null && destination !== null) return { version: 1, source, destination, length: headerLength };
  }
  return words[1] === 'UNKNOWN' ? { version: 1, source: null, destination: null, length: headerLength } : null;
}

function endpoint(address: string, port: string, v6: boolean): string | null {
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return null;
  if (v6 ? !/^[0-9a-fA-F:.]+$/.test(address) || !address.includes(':') : !/^\d{1,3}(\.\d{1,3}){3}$/.test(address) || address.split('.').some((octet) => Number(octet) > 255)) {
    return null;
  }
  return v6 ? `[${address.toLowerCase()}]:${Number(port)}` : `${address}:${Number(port)}`;
}

function readV2(data: Uint8Array, offset: number, length: number): ProxyHeader | null {
  if (length < V2_FIXED) return null;
  const versionCommand = data[offset + 12];
  if (versionCommand >> 4 !== 2) return null;
  const command = versionCommand & 0x0f; // 0 LOCAL, 1 PROXY
  if (command > 1) return null;
  const family = data[offset + 13];
  const addressLength = (data[offset + 14] << 8) | data[offset + 15];
  const header: ProxyHeader = { version: 2, source: null, destination: null, length: V2_FIXED + addressLength };
  const a = offset + V2_FIXED;
  if (command === 1 && family === V2_TCP4 && addressLength >= 12 && length >= V2_FIXED + 12) {
    header.source = formatEndpointWords(4, i32(data, a), 0, 0, 0, port(data, a + 8));
    header.destination = formatEndpointWords(4, i32(data, a + 4), 0, 0, 0, port(data, a + 10));
  } else if (command === 1 && family === V2_TCP6 && addressLength >= 36 && length >= V2_FIXED + 36) {
    header.source = formatEndpointWords(6, i32(data, a), i32(data, a + 4), i32(data, a + 8), i32(data, a + 12), port(data, a + 32));
    header.destination = formatEndpointWords(6, i32(data, a + 16), i32(data, a + 20), i32(data, a + 24), i32(data, a + 28), port(data, a + 34));
  }
  return header;
}

function port(data: Uint8Array, at: number): number {
  return (data[at] << 8) | data[at + 1];
}
