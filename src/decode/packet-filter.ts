import { isIPv4, isIPv6 } from 'node:net';
import type { PacketView } from './packet-view';

/** An address as the PacketView holds it: version and four signed 32-bit words. */
export interface AddressWords {
  version: 4 | 6;
  words: [number, number, number, number];
}

/** Parses "10.0.0.1", "::1" or "[2001:db8::1]" into words; null when it is not an IP address. */
export function parseAddress(text: string): AddressWords | null {
  const t = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(t)) {
    const [a, b, c, d] = t.split('.').map(Number);
    return { version: 4, words: [(a << 24) | (b << 16) | (c << 8) | d, 0, 0, 0] };
  }
  if (!isIPv6(t)) return null;
  let text6 = t;
  // An IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text6);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text6 = text6.slice(0, -dotted[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text6.includes('::') ? text6.split('::') : [text6, null];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === null ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<string>(zeros).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
  const w = (i: number) => (groups[i] << 16) | groups[i + 1];
  return { version: 6, words: [w(0), w(2), w(4), w(6)] };
}

/**
 * Which packets an analysis looks at (`--host`, `--port`, `--since`, `--until`). A packet is kept
 * when either endpoint matches one of the hosts and either port matches one of the ports, and its
 * capture time is within [since, until]. Checked per packet without allocating.
 */
export class PacketFilter {
  private readonly hosts: AddressWords[];
  private readonly ports: Set<number>;

  constructor(
    hosts: readonly AddressWords[] = [],
    ports: readonly number[] = [],
    readonly since = -Infinity,
    readonly until = Infinity,
  ) {
    this.hosts = [...hosts];
    this.ports = new Set(ports);
  }

  get isEmpty(): boolean {
    return this.hosts.length === 0 && this.ports.size === 0 && this.since === -Infinity && this.until === Infinity;
  }

  /** It has a time bound (--since or --until). */
  get timeBounded(): boolean {
    return this.since !== -Infinity || this.until !== Infinity;
  }

  /** Time bounds only (checked before decoding). */
  inTime(ts: number): boolean {
    return ts >= this.since && ts <= this.until;
  }

  /** Host and port bounds (on a decoded TCP segment). */
  matches(v: PacketView): boolean {
    if (this.ports.size > 0 && !this.ports.has(v.srcPort) && !this.ports.has(v.dstPort)) return false;
    if (this.hosts.length === 0) return true;
    for (const h of this.hosts) {
      if (h.version !== v.ipVersion) continue;
      const [a, b, c, d] = h.words;
      if (v.src0 === a && v.src1 === b && v.src2 === c && v.src3 === d) return true;
      if (v.dst0 === a && v.dst1 === b && v.dst2 === c && v.dst3 === d) return true;
    }
    return false;
  }
}
