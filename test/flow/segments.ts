import { PacketView } from '../../src/decode/packet-view';
import { ConnectionObserver, DEFAULT_TRACKER_OPTIONS, TcpTracker, TrackerOptions } from '../../src/flow/tcp-tracker';
import type { Connection } from '../../src/flow/connection';

export const F = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** A synthetic segment: from the client (10.0.0.1:40000) or the server (10.0.0.2:80). */
export interface Seg {
  from: 'c' | 's';
  flags: number;
  seq: number;
  ack?: number;
  len?: number;
  /** Payload text (sets len). */
  text?: string;
  win?: number;
  wscale?: number;
  ts: number;
  /** Overrides the client port (port reuse tests). */
  cport?: number;
  /** Payload bytes the capture kept (a snaplen cut): the first `captured` of it. */
  captured?: number;
}

const CLIENT = 0x0a000001;
const SERVER = 0x0a000002;

export function fillView(view: PacketView, s: Seg): Uint8Array {
  const payload = s.text !== undefined ? Buffer.from(s.text, 'latin1') : new Uint8Array(s.len ?? 0);
  const fromClient = s.from === 'c';
  const cport = s.cport ?? 40000;
  view.ipVersion = 4;
  view.src0 = fromClient ? CLIENT : SERVER;
  view.dst0 = fromClient ? SERVER : CLIENT;
  view.src1 = view.src2 = view.src3 = view.dst1 = view.dst2 = view.dst3 = 0;
  view.srcPort = fromClient ? cport : 80;
  view.dstPort = fromClient ? 80 : cport;
  view.seq = s.seq >>> 0;
  view.ack = (s.ack ?? 0) >>> 0;
  view.flags = s.flags;
  view.window = s.win ?? 1000;
  view.payloadLen = payload.length;
  view.capturedPayloadLen = Math.min(payload.length, s.captured ?? payload.length);
  view.payloadOffset = 0;
  view.hasWindowScale = s.wscale !== undefined;
  view.windowScale = s.wscale ?? 0;
  view.hasMss = false;
  return payload;
}

export interface Recorded {
  opened: number[];
  closed: Connection<null>[];
  payload: Map<string, string>;
  gaps: Array<[number, boolean, number]>;
  ends: Array<[number, boolean]>;
}

/** Runs segments through a tracker and records what it tells the observer. */
export function track(segs: Seg[], options: Partial<TrackerOptions> = {}): Recorded {
  const rec: Recorded = { opened: [], closed: [], payload: new Map(), gaps: [], ends: [] };
  const observer: ConnectionObserver<null> = {
    onOpen: (c) => void rec.opened.push(c.id),
    onPayload: (c, fromClient, data, off, len) => {
      const key = `${c.id}${fromClient ? 'c' : 's'}`;
      rec.payload.set(key, (rec.payload.get(key) ?? '') + Buffer.from(data.subarray(off, off + len)).toString('latin1'));
    },
    onGap: (c, fromClient, len) => void rec.gaps.push([c.id, fromClient, len]),
    onEndOfStream: (c, fromClient) => void rec.ends.push([c.id, fromClient]),
    onClose: (c) => void rec.closed.push(c),
  };
  const tracker = new TcpTracker<null>(observer, { ...DEFAULT_TRACKER_OPTIONS, ...options });
  const view = new PacketView();
  let frame = 0;
  for (const s of segs) {
    const data = fillView(view, s);
    tracker.segment(view, data, s.ts, ++frame, 54 + data.length);
  }
  tracker.finish();
  rec.closed.sort((a, b) => a.id - b.id);
  return rec;
}

/** A complete handshake at t=0 with ISNs c=1000 and s=5000. */
export function handshake(t = 0, cIsn = 1000, sIsn = 5000): Seg[] {
  return [
    { from: 'c', flags: F.SYN, seq: cIsn, ts: t },
    { from: 's', flags: F.SYN | F.ACK, seq: sIsn, ack: cIsn + 1, ts: t + 0.001 },
    { from: 'c', flags: F.ACK, seq: cIsn + 1, ack: sIsn + 1, ts: t + 0.002 },
  ];
}
