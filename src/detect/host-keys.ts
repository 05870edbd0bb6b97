import { formatIpv4, hostOfEndpoint } from '../decode/address';

/**
 * A host as a key of the detectors' per-host and per-host-pair tables: an IPv4 address as its
 * 32-bit word (an int32, which V8 keeps in the table's slot: no string, no object), any other host
 * as its text. One key per host text and back: the flow stage names an IPv4 endpoint only from its
 * words (formatIpv4), and the text of an IPv6 one never reads as a dotted quad.
 *
 * Why: a capture of a public server has a client host per connection or so, and tables keyed by
 * `${client} ${server}` kept, per entry, a concatenated key, its flattened copy and the host
 * strings it joined (a slice that holds the whole endpoint text): some 150 bytes before the value.
 */
export type HostKey = number | string;

/** What a connection's host keys are read from (AnalyzedConnection). */
interface HostWords {
  readonly ipVersion: 4 | 6;
  readonly c0: number;
  readonly s0: number;
  readonly clientHost: string;
  readonly serverHost: string;
}

export function clientHostKey(conn: HostWords): HostKey {
  return conn.ipVersion === 4 ? conn.c0 | 0 : conn.clientHost;
}

export function serverHostKey(conn: HostWords): HostKey {
  return conn.ipVersion === 4 ? conn.s0 | 0 : conn.serverHost;
}

/** The key of a host text ("10.0.0.1", "::1"): the same as the connection's side gives. */
export function hostKeyOfText(host: string): HostKey {
  let word = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || dots === 3) return host;
      word = word * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // formatIpv4 writes no leading zero: "010" is no text of ours for 10.
      if (digits === 1 && part === 0) return host;
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return host;
    } else return host;
  }
  if (dots !== 3 || digits === 0) return host;
  return (word * 256 + part) | 0;
}

/** The host text of a key: hostKeyOfText's inverse. */
export function hostKeyText(key: HostKey): string {
  return typeof key === 'number' ? formatIpv4(key >>> 0) : key;
}

/** The host key of an endpoint text ("10.0.0.1:80", "[::1]:80"). */
export function hostKeyOfEndpoint(endpoint: string): HostKey {
  return hostKeyOfText(hostOfEndpoint(endpoint));
}

/**
 * A table by server (its host key, or its endpoint text), then client host (numbers for IPv4: see
 * HostKey), with a count of its entries for a cap. A server's client map is made at its first
 * entry: few servers, many clients.
 */
export class HostPairMap<V> {
  private readonly byServer = new Map<HostKey, Map<HostKey, V>>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(server: HostKey, client: HostKey): V | undefined {
    return this.byServer.get(server)?.get(client);
  }

  set(server: HostKey, client: HostKey, value: V): void {
    let clients = this.byServer.get(server);
    if (clients === undefined) {
      clients = new Map();
      this.byServer.set(server, clients);
    }
    const before = clients.size;
    clients.set(client, value);
    this.count += clients.size - before;
  }
}
