import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import type { Connection } from '../../src/flow/connection';
import type { Endpoint } from '../../src/flow/endpoint';
import { ConnectionObserver, DEFAULT_TRACKER_OPTIONS, TcpTracker, TrackerOptions } from '../../src/flow/tcp-tracker';
import { readCapture } from '../../src/source/open-capture';
import { listSamples } from '../samples';
import { F, fillView, handshake, Seg } from './segments';

/**
 * The tracker handles the plain packet (an ACK, alone or with in-order bytes, on an established
 * connection) in `updateEstablished`, an ordinary connection's handshake and close packets in
 * `updateOpenClose`, and everything else in the general `update`. The two must
 * leave exactly the same state and tell the observer exactly the same things. These tests run
 * the same packets through a normal tracker and through one whose plain-case path is switched
 * off, and compare every event and every field of every connection when it is released.
 */

/** A tracker that sends every packet down the general path. */
class GeneralPathTracker<T> extends TcpTracker<T> {
  protected override updateEstablished(): boolean {
    return false;
  }
  protected override updateOpenClose(): boolean {
    return false;
  }
}

/** A normal tracker that counts the packets its plain-case path and its handshake-and-close path took. */
class CountingTracker<T> extends TcpTracker<T> {
  plain = 0;
  openClose = 0;
  protected override updateEstablished(...args: Parameters<TcpTracker<T>['updateEstablished']>): boolean {
    const taken = super.updateEstablished(...args);
    if (taken) this.plain++;
    return taken;
  }
  protected override updateOpenClose(...args: Parameters<TcpTracker<T>['updateOpenClose']>): boolean {
    const taken = super.updateOpenClose(...args);
    if (taken) this.openClose++;
    return taken;
  }
}

const ENDPOINT_GETTERS = [
  'isn', 'nextSeq', 'maxSeqEnd', 'finTs', 'finSeq', 'finAck', 'rstTs', 'firstTs', 'lastTs',
  'firstDataTs', 'lastDataTs', 'prevDataTs', 'highestAck', 'holding',
] as const;
const CONNECTION_GETTERS = ['startTs', 'lastTs', 'lastClock', 'handshakeAckTs', 'clientHost', 'serverHost'] as const;
/** Fields that are links to other objects or the shared number block (read through the getters). */
const SKIPPED = new Set(['f', 'heldSegments', 'bucketNext', 'listPrev', 'listNext', 'client', 'server', 'app']);

function plainFields(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!SKIPPED.has(k)) out[k] = v;
  return out;
}

function endpointState(ep: Endpoint): Record<string, unknown> {
  const out = plainFields(ep);
  for (const g of ENDPOINT_GETTERS) out[g] = ep[g];
  return out;
}

/** Everything a released connection shows its consumers. */
function connectionState(conn: Connection<unknown>): Record<string, unknown> {
  const out = plainFields(conn);
  for (const g of CONNECTION_GETTERS) out[g] = conn[g];
  out.client = endpointState(conn.client);
  out.server = endpointState(conn.server);
  return out;
}

/** FNV-1a over a payload slice: the event log records what was delivered without keeping it. */
function digest(data: Uint8Array, offset: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = offset; i < offset + length; i++) h = Math.imul(h ^ data[i], 0x01000193);
  return h >>> 0;
}

interface Run {
  tracker: TcpTracker<null>;
  events: string[];
}

function recordingRun(general: boolean, options: Partial<TrackerOptions> = {}): Run {
  const events: string[] = [];
  const observer: ConnectionObserver<null> = {
    onOpen: (c) => void events.push(`open ${c.id} ${c.clientName} ${c.serverName} ${c.directionInferred}`),
    onPayload: (c, fromClient, data, off, len, ts, frame) =>
      void events.push(`data ${c.id} ${fromClient} ${len} ${digest(data, off, len)} ${ts} ${frame} ${c.client.nextSeq} ${c.server.nextSeq}`),
    onGap: (c, fromClient, len) => void events.push(`gap ${c.id} ${fromClient} ${len}`),
    onEndOfStream: (c, fromClient, ts, frame) => void events.push(`end ${c.id} ${fromClient} ${ts} ${frame}`),
    onClose: (c) => void events.push(`close ${JSON.stringify(connectionState(c as Connection<unknown>))}`),
  };
  const opts = { ...DEFAULT_TRACKER_OPTIONS, reuseConnections: true, ...options };
  const tracker = general ? new GeneralPathTracker<null>(observer, opts) : new CountingTracker<null>(observer, opts);
  return { tracker, events };
}

/** Runs a capture file through both trackers; returns both event logs and how many packets took the plain path. */
async function bothPaths(file: string): Promise<{ general: string[]; plain: string[]; plainPackets: number; openClosePackets: number; packets: number }> {
  const general = recordingRun(true);
  const plain = recordingRun(false);
  const view = new PacketView();
  let packets = 0;
  await readCapture(file, (p) => {
    const bytes = p.bytes ?? p.data;
    const start = p.bytes !== undefined ? (p.offset ?? 0) : 0;
    if (decodePacket(p.linkType, bytes, p.caplen, p.origLen, view, start) !== DecodeStatus.Tcp) return;
    packets++;
    general.tracker.segment(view, bytes, p.ts, p.frame, p.origLen);
    plain.tracker.segment(view, bytes, p.ts, p.frame, p.origLen);
  });
  general.tracker.finish();
  plain.tracker.finish();
  const counting = plain.tracker as CountingTracker<null>;
  return { general: general.events, plain: plain.events, plainPackets: counting.plain, openClosePackets: counting.openClose, packets };
}

function bothPathsOnSegments(segs: Seg[], cut?: (s: Seg, view: PacketView) => void): { general: string[]; plain: string[]; plainPackets: number; openClosePackets: number } {
  const general = recordingRun(true);
  const plain = recordingRun(false);
  const view = new PacketView();
  let frame = 0;
  for (const s of segs) {
    const data = fillView(view, s);
    cut?.(s, view);
    frame++;
    general.tracker.segment(view, data, s.ts, frame, 54 + data.length);
    plain.tracker.segment(view, data, s.ts, frame, 54 + data.length);
  }
  general.tracker.finish();
  plain.tracker.finish();
  const counting = plain.tracker as CountingTracker<null>;
  return { general: general.events, plain: plain.events, plainPackets: counting.plain, openClosePackets: counting.openClose };
}

describe('TCP tracker: the plain-packet path leaves what the general path leaves', () => {
  const samples = listSamples();
  test('there are samples to compare on', () => expect(samples.length).toBeGreaterThan(20));

  test.each(samples.map((s) => [s.name, s.file]))('sample %s', async (_name, file) => {
    const { general, plain } = await bothPaths(file);
    expect(plain).toEqual(general);
  });

  const corpus = path.resolve(__dirname, '../../../shared/corpus/public');
  const corpusFiles = ['zeek/http', 'suricata-verify', 'pcapplusplus']
    .map((dir) => path.join(corpus, dir))
    .filter((dir) => fs.existsSync(dir))
    .flatMap((dir) => fs.readdirSync(dir).map((f) => path.join(dir, f)))
    .filter((f) => fs.statSync(f).isFile());
  const corpusCases = corpusFiles.length > 0 ? corpusFiles.map((f) => [path.relative(corpus, f), f]) : [['(corpus absent: ../shared/corpus not beside the repository)', '']];

  test.each(corpusCases)('public capture %s', async (_name, file) => {
    if (file === '') return;
    let result: Awaited<ReturnType<typeof bothPaths>>;
    try {
      result = await bothPaths(file);
    } catch {
      return; // not a capture this reader accepts: the corpus tests cover that
    }
    expect(result.plain).toEqual(result.general);
  });

  test('most packets of keep-alive traffic take the plain path', async () => {
    const sample = samples.find((s) => s.name === 'keepalive-node-agent');
    expect(sample).toBeDefined();
    const { plainPackets, packets } = await bothPaths(sample!.file);
    expect(plainPackets / packets).toBeGreaterThan(0.3);
  });

  test('the handshake and close packets of short connections take the handshake-and-close path', async () => {
    const sample = samples.find((s) => s.name === 'connection-churn');
    expect(sample).toBeDefined();
    const { openClosePackets, packets } = await bothPaths(sample!.file);
    expect(openClosePackets / packets).toBeGreaterThan(0.3);
  });

  /**
   * Seeded random traffic on a few established connections, with the cases at the edge of the
   * plain path mixed in: keep-alive probes, zero windows, out-of-order and repeated segments,
   * segments cut by snaplen, sequence wraparound, and FINs.
   */
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('seeded random traffic %i', (seed) => {
    let a = seed;
    const random = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const segs: Seg[] = [];
    const cuts = new Set<Seg>();
    let ts = 0;
    for (let c = 0; c < 4; c++) {
      const cport = 40000 + c;
      const cIsn = c === 0 ? 0xfffff000 : 1000 + c * 100000; // connection 0 wraps past 2^32
      const sIsn = 5000 + c * 100000;
      // The handshake, with repeated SYNs and SYN-ACKs, and an ACK that is a probe or a zero window, at random.
      const [syn, synAck, hsAck] = handshake(ts, cIsn, sIsn).map((s) => ({ ...s, cport }));
      segs.push(syn);
      if (random() < 0.2) segs.push({ ...syn, wscale: 7 });
      segs.push(synAck);
      if (random() < 0.2) segs.push(synAck);
      const h = random();
      if (h < 0.1) segs.push({ ...hsAck, seq: cIsn });
      else if (h < 0.2) segs.push({ ...hsAck, win: 0 });
      segs.push(hsAck);
      if (random() < 0.1) segs.push(synAck);
      let cNext = (cIsn + 1) >>> 0;
      let sNext = (sIsn + 1) >>> 0;
      for (let i = 0; i < 60; i++) {
        ts += 0.001;
        const fromClient = random() < 0.5;
        const next = fromClient ? cNext : sNext;
        const ack = fromClient ? sNext : cNext;
        const r = random();
        const base = { from: fromClient ? 'c' as const : 's' as const, ack, ts, cport };
        if (r < 0.35) {
          const len = 1 + Math.floor(random() * 300);
          const seg: Seg = { ...base, flags: F.ACK | F.PSH, seq: next, len };
          segs.push(seg);
          if (random() < 0.1) cuts.add(seg);
          if (fromClient) cNext = (cNext + len) >>> 0;
          else sNext = (sNext + len) >>> 0;
        } else if (r < 0.6) {
          segs.push({ ...base, flags: F.ACK, seq: next });
        } else if (r < 0.67) {
          segs.push({ ...base, flags: F.ACK, seq: (next - 1) >>> 0 }); // keep-alive probe
        } else if (r < 0.72) {
          segs.push({ ...base, flags: F.ACK, seq: next, win: 0 }); // zero window
        } else if (r < 0.8) {
          const len = 1 + Math.floor(random() * 100);
          segs.push({ ...base, flags: F.ACK | F.PSH, seq: (next + 50) >>> 0, len }); // ahead of a hole
        } else if (r < 0.87) {
          segs.push({ ...base, flags: F.ACK | F.PSH, seq: (next - 20) >>> 0, len: 20 }); // repeated bytes
        } else if (r < 0.9) {
          segs.push({ ...base, flags: F.ACK | F.PSH, seq: (next - 1) >>> 0, len: 1 }); // probe with a byte
        } else {
          segs.push({ ...base, flags: F.ACK, seq: next, win: 1000 + Math.floor(random() * 1000) });
        }
      }
      // The close: FINs (in sequence, ahead of a hole, repeated, with data), the ACKs around them
      // (probes and zero windows among them), data after a FIN, and now and then a RST.
      let cFin = false;
      let sFin = false;
      for (let i = 0; i < 8; i++) {
        ts += 0.0001;
        const fromClient = random() < 0.5;
        const next = fromClient ? cNext : sNext;
        const ack = fromClient ? sNext : cNext;
        const base = { from: fromClient ? 'c' as const : 's' as const, ack, ts, cport };
        const r = random();
        if (r < 0.3) {
          const ahead = random() < 0.15 ? 30 : 0;
          const len = random() < 0.15 ? 5 : 0;
          const seq = (next + ahead) >>> 0;
          segs.push({ ...base, flags: F.FIN | F.ACK, seq, len });
          const after = (seq + len + 1) >>> 0;
          if (fromClient) { if (!cFin) cNext = after; cFin = true; } else { if (!sFin) sNext = after; sFin = true; }
        } else if (r < 0.7) {
          segs.push({ ...base, flags: F.ACK, seq: next });
        } else if (r < 0.77) {
          segs.push({ ...base, flags: F.ACK, seq: (next - 1) >>> 0 }); // keep-alive probe
        } else if (r < 0.84) {
          segs.push({ ...base, flags: F.ACK, seq: next, win: 0 }); // zero window
        } else if (r < 0.94) {
          segs.push({ ...base, flags: F.ACK | F.PSH, seq: next, len: 10 }); // data, after a FIN or not
          if (fromClient) cNext = (cNext + 10) >>> 0;
          else sNext = (sNext + 10) >>> 0;
        } else if (r < 0.97) {
          segs.push({ ...base, flags: F.ACK, seq: (next + 40) >>> 0 }); // beyond what was seen
        } else {
          segs.push({ ...base, flags: F.RST | F.ACK, seq: next });
        }
      }
    }
    const result = bothPathsOnSegments(segs, (s, view) => {
      if (cuts.has(s)) view.capturedPayloadLen = Math.floor(view.payloadLen / 2);
    });
    const { general, plain, plainPackets } = result;
    const { openClosePackets } = result;
    expect(plainPackets).toBeGreaterThan(20);
    expect(openClosePackets).toBeGreaterThan(10);
    expect(plain).toEqual(general);
  });
});
