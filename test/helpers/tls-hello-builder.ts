/**
 * TLS hello records as clients and servers send them (RFC 8446 §4.1.2–4.1.3, RFC 7301), with the
 * fields the tests vary: the ALPN protocols offered or chosen, and TLS 1.3's supported_versions.
 */
import { concat } from './packet-builder';

export { concat };

function u16(n: number): number[] {
  return [(n >> 8) & 0xff, n & 0xff];
}

function u24(n: number): number[] {
  return [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

function extension(type: number, body: number[]): number[] {
  return [...u16(type), ...u16(body.length), ...body];
}

function alpnExtension(names: readonly string[]): number[] {
  const list = names.flatMap((name) => [name.length, ...Array.from(name, (ch) => ch.charCodeAt(0))]);
  return extension(16, [...u16(list.length), ...list]);
}

function record(type: number, minor: number, body: number[]): Uint8Array {
  return Uint8Array.from([type, 3, minor, ...u16(body.length), ...body]);
}

function handshake(type: number, body: number[]): number[] {
  return [type, ...u24(body.length), ...body];
}

export interface ClientHelloOptions {
  /** ALPN names offered; none: no ALPN extension. */
  alpn?: readonly string[];
  /** Offer TLS 1.3 (supported_versions) as well as 1.2. */
  tls13?: boolean;
  /** A server_name extension for this host, placed before ALPN as browsers do. */
  serverName?: string;
}

/** A ClientHello record (record-layer version 3.1, as TLS 1.3 clients send it). */
export function clientHelloRecord(options: ClientHelloOptions = {}): Uint8Array {
  const extensions: number[] = [];
  if (options.serverName !== undefined) {
    const name = Array.from(options.serverName, (ch) => ch.charCodeAt(0));
    const entry = [0, ...u16(name.length), ...name];
    extensions.push(...extension(0, [...u16(entry.length), ...entry]));
  }
  extensions.push(...extension(10, [0, 4, 0, 0x1d, 0, 0x17])); // supported_groups
  if (options.alpn !== undefined) extensions.push(...alpnExtension(options.alpn));
  if (options.tls13 === true) extensions.push(...extension(43, [4, 3, 4, 3, 3]));
  const suites = [0x13, 0x01, 0x13, 0x02, 0xc0, 0x2f, 0xc0, 0x30];
  const body = [
    3, 3,
    ...new Array<number>(32).fill(0xab), // random
    32, ...new Array<number>(32).fill(0xcd), // session id
    ...u16(suites.length), ...suites,
    1, 0, // compression: null
    ...u16(extensions.length), ...extensions,
  ];
  return record(22, 1, handshake(1, body));
}

export interface ServerHelloOptions {
  /** The ALPN protocol chosen (in clear in TLS 1.2 only). */
  alpn?: string;
  /** Choose TLS 1.3 (supported_versions 0x0304). */
  tls13?: boolean;
  /** The cipher suite chosen (default TLS_AES_128_GCM_SHA256, 0x1301). */
  cipherSuite?: number;
}

/** A ServerHello record. */
export function serverHelloRecord(options: ServerHelloOptions = {}): Uint8Array {
  const extensions: number[] = [];
  extensions.push(...extension(0xff01, [0])); // renegotiation_info
  if (options.alpn !== undefined) extensions.push(...alpnExtension([options.alpn]));
  if (options.tls13 === true) extensions.push(...extension(43, [3, 4]));
  const body = [
    3, 3,
    ...new Array<number>(32).fill(0xef), // random
    32, ...new Array<number>(32).fill(0xcd), // session id echoed
    ...u16(options.cipherSuite ?? 0x1301), // cipher suite
    0, // compression
    ...u16(extensions.length), ...extensions,
  ];
  return record(22, 3, handshake(2, body));
}

/** Records of the given type and body length, with filler bodies, one after another. */
export function records(type: number, ...lengths: number[]): Uint8Array {
  const parts = lengths.map((n) => record(type, 3, new Array<number>(n).fill(0x78)));
  return concat(...parts);
}
