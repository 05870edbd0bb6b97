/**
 * The packets of a few chosen connections, copied out of a second read of the capture so that a
 * report can draw them (ladder diagrams). The analysis itself keeps no packets; once it has named
 * a connection (its two endpoints and its first and last packet times), this collector picks that
 * connection's segments out of the capture again.
 *
 * Bounded per connection: the first `head` packets, `around` packets either side of each focus
 * frame (the frames a finding names), and the last `tail` packets. What is left out is counted,
 * so a drawing can say "… 12,345 packets not shown …" in the right place.
 */
import { combineEndpointHashes, endpointHash, flowHash } from './flow-hash';
import { formatEndpoint } from './address';
import { AddressWords, parseAddress } from './packet-filter';
import type { PacketView } from './packet-view';

/** One TCP segment of a connection, copied (the reader's buffers are reused). */
export interface FlowPacket {
  frame: number;
  ts: number;
  /** Capture time of the connection's previous packet, kept or not (null for its first). */
  prevTs: number | null;
  fromClient: boolean;
  /** TCP flag bits as on the wire. */
  flags: number;
  seq: number;
  ack: number;
  /** Window field as on the wire (unscaled). */
  window: number;
  /** Payload length by the IP header. */
  payloadLen: number;
  /** A capture's second copy of a packet of this connection (as the analysis counts them: flow/capture-copies.ts). */
  copy: boolean;
  /** Packets of this connection left out just before this one. */
  skippedBefore: number;
}

export interface FlowPackets {
  flowId: number;
  packets: FlowPacket[];
  /** Packets of the connection seen in the capture (kept or not). */
  total: number;
}

/**
 * Whether a packet of flow `flowId` is a capture's copy of one before it; `peerSegments` counts the
 * segments (copies aside) the other side has sent so far. Remembers the packet otherwise.
 */
export type CopyCheck = (flowId: number, fromClient: boolean, view: PacketView, ts: number, peerSegments: number) => boolean;

/** A connection to collect, as the analysis reported it. */
export interface FlowPacketRequest {
  id: number;
  /** "ip:port" or "[v6]:port" as in FlowRecord. */
  client: string;
  server: string;
  /** Capture times of the connection's first and last packet. */
  start: number;
  end: number;
  /** Frames to keep with their neighbours wherever they fall. */
  focusFrames?: readonly number[];
}

export interface CollectLimits {
  head: number;
  around: number;
  tail: number;
}

/** Enough for a terminal ladder of an ordinary keep-alive connection, whole. */
export const DEFAULT_COLLECT_LIMITS: CollectLimits = { head: 400, around: 20, tail: 100 };

interface Endpoint {
  version: 4 | 6;
  w: [number, number, number, number];
  port: number;
}

/** "10.0.0.1:80" / "[::1]:80" → words and port; null when it is not an address with a port. */
export function parseEndpoint(text: string): Endpoint | null {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  const address: AddressWords | null = parseAddress(text.slice(0, colon));
  if (!address) return null;
  return { version: address.version, w: address.words, port };
}

function endpointKey(e: Endpoint): number {
  return endpointHash(e.version, e.w[0], e.w[1], e.w[2], e.w[3], e.port);
}

function isSource(view: PacketView, e: Endpoint): boolean {
  return view.ipVersion === e.version && view.srcPort === e.port && view.src0 === e.w[0] && view.src1 === e.w[1] && view.src2 === e.w[2] && view.src3 === e.w[3];
}

function isDestination(view: PacketView, e: Endpoint): boolean {
  return view.ipVersion === e.version && view.dstPort === e.port && view.dst0 === e.w[0] && view.dst1 === e.w[1] && view.dst2 === e.w[2] && view.dst3 === e.w[3];
}

function blankPacket(): FlowPacket {
  return { frame: 0, ts: 0, prevTs: null, fromClient: false, flags: 0, seq: 0, ack: 0, window: 0, payloadLen: 0, copy: false, skippedBefore: 0 };
}

/** Collection state of one connection. */
class Wanted {
  readonly kept: FlowPacket[] = [];
  total = 0;
  private lastTs: number | null = null;
  /** Packets dropped since the last kept one. */
  private dropped = 0;
  private keepAfter = 0;
  /** Recent packets not kept (reused objects): context before a focus frame, and the tail. */
  private readonly ring: FlowPacket[];
  private ringStart = 0;
  private ringLength = 0;
  private readonly focus: Set<number>;
  private readonly scratch = blankPacket();

  /** Segments each side sent, copies aside: client, server. */
  private readonly segments = [0, 0];

  constructor(
    readonly request: FlowPacketRequest,
    readonly client: Endpoint,
    readonly server: Endpoint,
    private readonly limits: CollectLimits,
    private readonly isCopy: CopyCheck | null,
  ) {
    this.focus = new Set(request.focusFrames ?? []);
    const size = Math.max(limits.around, limits.tail, 1);
    this.ring = Array.from({ length: size }, blankPacket);
  }

  offer(view: PacketView, fromClient: boolean, frame: number, ts: number): void {
    this.total++;
    const p = this.scratch;
    p.frame = frame;
    p.ts = ts;
    p.prevTs = this.lastTs;
    p.fromClient = fromClient;
    p.flags = view.flags;
    p.seq = view.seq;
    p.ack = view.ack;
    p.window = view.window;
    p.payloadLen = view.payloadLen;
    p.copy = this.isCopy !== null && this.isCopy(this.request.id, fromClient, view, ts, this.segments[fromClient ? 1 : 0]);
    if (!p.copy) this.segments[fromClient ? 0 : 1]++;
    p.skippedBefore = 0;
    this.lastTs = ts;
    if (this.focus.has(frame)) {
      this.flushRing(this.limits.around);
      this.keep(p);
      this.keepAfter = this.limits.around;
      return;
    }
    const inHead = this.kept.length < this.limits.head && this.dropped === 0 && this.ringLength === 0;
    if (inHead || this.keepAfter > 0) {
      if (!inHead) this.keepAfter--;
      this.keep(p);
      return;
    }
    // Into the ring; when it is full, the oldest entry is dropped and its object reused.
    const size = this.ring.length;
    if (this.ringLength < size) {
      Object.assign(this.ring[(this.ringStart + this.ringLength) % size], p);
      this.ringLength++;
    } else {
      Object.assign(this.ring[this.ringStart], p);
      this.ringStart = (this.ringStart + 1) % size;
      this.dropped++;
    }
  }

  finish(): FlowPackets {
    this.flushRing(this.limits.tail);
    return { flowId: this.request.id, packets: this.kept, total: this.total };
  }

  private keep(p: FlowPacket): void {
    this.kept.push({ ...p, skippedBefore: this.dropped });
    this.dropped = 0;
  }

  /** Keeps the last `n` packets of the ring, drops the rest. */
  private flushRing(n: number): void {
    const drop = Math.max(0, this.ringLength - n);
    this.dropped += drop;
    for (let i = drop; i < this.ringLength; i++) this.keep(this.ring[(this.ringStart + i) % this.ring.length]);
    this.ringStart = 0;
    this.ringLength = 0;
  }
}

/**
 * Picks the packets of the requested connections out of a stream of decoded TCP packets.
 * Packets of other connections cost one hash and one map lookup, and allocate nothing.
 */
export class FlowPacketCollector {
  private readonly byHash = new Map<number, Wanted[]>();
  private readonly all: Wanted[] = [];

  /**
   * `isCopy` tells the packets the capture holds twice, by the analysis's own rule (the flow stage's
   * CaptureCopies, handed in by analyze.ts): drawings then leave out what the analysis did not count.
   */
  constructor(requests: readonly FlowPacketRequest[], limits: Partial<CollectLimits> = {}, isCopy: CopyCheck | null = null) {
    const full: CollectLimits = { ...DEFAULT_COLLECT_LIMITS, ...limits };
    for (const r of requests) {
      const client = parseEndpoint(r.client);
      const server = parseEndpoint(r.server);
      if (!client || !server) continue;
      const wanted = new Wanted(r, client, server, full, isCopy);
      const key = combineEndpointHashes(endpointKey(client), endpointKey(server));
      const list = this.byHash.get(key);
      if (list) list.push(wanted);
      else this.byHash.set(key, [wanted]);
      this.all.push(wanted);
    }
  }

  /** Offers one decoded TCP packet. */
  offer(view: PacketView, frame: number, ts: number): void {
    if (this.all.length === 0) return;
    const list = this.byHash.get(flowHash(view));
    if (list === undefined) return;
    for (const w of list) {
      if (ts < w.request.start || ts > w.request.end) continue;
      if (isSource(view, w.client) && isDestination(view, w.server)) w.offer(view, true, frame, ts);
      else if (isSource(view, w.server) && isDestination(view, w.client)) w.offer(view, false, frame, ts);
    }
  }

  /** The collected packets, by flow id. */
  finish(): Map<number, FlowPackets> {
    const out = new Map<number, FlowPackets>();
    for (const w of this.all) out.set(w.request.id, w.finish());
    return out;
  }
}

/** Where one frame belongs: its two endpoints and time. */
export interface FrameLocation {
  frame: number;
  ts: number;
  source: string;
  destination: string;
}

/**
 * Finds the endpoints of a few frames (findings about a server as a whole name frames of
 * several connections without naming the connections).
 */
export class FrameLocator {
  private readonly frames: Set<number>;
  private readonly found = new Map<number, FrameLocation>();

  constructor(frames: readonly number[]) {
    this.frames = new Set(frames);
  }

  offer(view: PacketView, frame: number, ts: number): void {
    if (!this.frames.has(frame)) return;
    this.found.set(frame, { frame, ts, source: formatEndpoint(view, 'src'), destination: formatEndpoint(view, 'dst') });
  }

  finish(): Map<number, FrameLocation> {
    return this.found;
  }
}

/** The connection (of those given) a located frame belongs to, or null. */
export function flowOfFrame<F extends { client: string; server: string; start: number; end: number }>(location: FrameLocation, flows: readonly F[]): F | null {
  for (const f of flows) {
    if (location.ts < f.start || location.ts > f.end) continue;
    if ((f.client === location.source && f.server === location.destination) || (f.client === location.destination && f.server === location.source)) return f;
  }
  return null;
}
