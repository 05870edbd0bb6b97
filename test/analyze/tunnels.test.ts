import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { readCaptureSync } from '../helpers/mini-reader';
import { SAMPLES_DIR } from '../samples';

/**
 * samples/keepalive-race-vxlan.pcap is the underlay of a VXLAN overlay (two hosts' veth, every TCP
 * packet inside VXLAN, plus the overlay's ARP); samples/keepalive-race-vxlan-overlay.pcap is the
 * same traffic captured at the same time on the client host's VXLAN device, and
 * samples/keepalive-race-vxlan-any.pcap both at once with "tcpdump -i any", as on a Kubernetes node
 * (samples/record/keepalive-race-vxlan.sh; vxlan-meta.py checked with tshark that they hold the
 * same TCP packets in the same order). conncheck must say the same of all three: the same
 * connections, exchanges, findings and diagnoses, under the inner addresses, each packet once.
 * Frame numbers differ (ARP in between, copies), so they are compared as the overlay packet they
 * are; times differ by the microseconds between the capture points.
 */

const TIME_SLACK = 0.002; // seconds: a duration rounded to the millisecond may move by one

interface View {
  result: AnalysisResult;
  /** Frame number → position of the same TCP packet in the overlay capture. */
  frames: Map<number, number>;
}

let overlay: View;
let underlay: View;
let both: View;

beforeAll(async () => {
  const overlayKeys = tcpPacketKeys('keepalive-race-vxlan-overlay.pcap');
  const position = new Map<string, number>();
  for (const key of overlayKeys.values()) position.set(key, position.size);
  const view = async (file: string): Promise<View> => {
    const frames = new Map<number, number>();
    for (const [frame, key] of tcpPacketKeys(file)) frames.set(frame, position.get(key) ?? -frame);
    return { result: await analyzeFiles([path.join(SAMPLES_DIR, file)]), frames };
  };
  overlay = await view('keepalive-race-vxlan-overlay.pcap');
  underlay = await view('keepalive-race-vxlan.pcap');
  both = await view('keepalive-race-vxlan-any.pcap');
});

/** Frame number → the TCP packet's identity (addresses, ports, sequence numbers, flags, length, IP id). */
function tcpPacketKeys(file: string): Map<number, string> {
  const keys = new Map<number, string>();
  const v = new PacketView();
  let frame = 0;
  readCaptureSync(path.join(SAMPLES_DIR, file), (linkType, data, caplen, origLen) => {
    frame++;
    if (decodePacket(linkType, data, caplen, origLen, v) === DecodeStatus.Tcp) {
      keys.set(frame, [v.src0, v.dst0, v.srcPort, v.dstPort, v.seq, v.ack, v.flags, v.payloadLen, v.ipId].join(' '));
    }
  });
  return keys;
}

/** A value with frames mapped to overlay packet positions and times kept apart for a tolerant comparison. */
function comparable(value: unknown, frames: Map<number, number>, times: number[], key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => comparable(v, frames, times, key));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = comparable(v, frames, times, k);
    return out;
  }
  if (typeof value === 'number' && /frame/i.test(key)) return `packet#${frames.get(value) ?? `?${value}`}`;
  if (typeof value === 'number' && !Number.isInteger(value)) {
    times.push(value);
    return 'time';
  }
  if (typeof value === 'string') return value.replace(/\d+(?:\.\d+)?(?:-\d+(?:\.\d+)?)? ?(ms|s)\b/g, 'T$1'); // durations in messages
  return value;
}

function expectSame(a: unknown, aFrames: Map<number, number>, b: unknown, bFrames: Map<number, number>): void {
  const timesA: number[] = [];
  const timesB: number[] = [];
  expect(comparable(a, aFrames, timesA)).toEqual(comparable(b, bFrames, timesB));
  expect(timesA.length).toBe(timesB.length);
  const apart = timesA.map((t, i) => Math.abs(t - timesB[i]));
  expect(Math.max(0, ...apart)).toBeLessThan(TIME_SLACK);
}

const flowFacts = (r: AnalysisResult): unknown =>
  r.flows.map(({ client, server, state, history, closedBy, close, bytes, requests, start, end }) => ({ client, server, state, history, closedBy, close, bytes, requests, start, end }));

test('the underlay capture is read as the overlay: every TCP packet from inside VXLAN', () => {
  const stats = underlay.result.stats;
  expect(stats.tcpPackets).toBe(overlay.result.stats.tcpPackets);
  expect(stats.tunneled).toEqual({ vxlan: stats.tcpPackets });
  expect(overlay.result.stats.tunneled).toEqual({});
  // The overlay's ARP and IPv6 neighbour discovery cross the tunnel too: opened, and not TCP.
  expect(stats.decodeIssues['not-ip']).toBeGreaterThan(0);
  expect(Object.keys(stats.decodeIssues).sort()).toEqual(['not-ip', 'not-tcp']);
  expect(stats.decodeIssues['not-ip'] + stats.decodeIssues['not-tcp']).toBe(stats.notTcp);
  for (const f of underlay.result.flows) expect(f.server).toBe('172.31.0.2:8080');
  expect([...underlay.frames.values()].every((p) => p >= 0)).toBe(true);
});

test('"any" on the overlay host holds each packet plain and tunnelled: the tunnelled one is a copy', () => {
  const stats = both.result.stats;
  const overlayPackets = overlay.result.stats.tcpPackets;
  expect(stats.tcpPackets).toBe(2 * overlayPackets);
  expect(stats.tunneled).toEqual({ vxlan: overlayPackets });
  expect(stats.duplicates).toBe(overlayPackets);
  both.result.flows.forEach((f, i) => {
    const o = overlay.result.flows[i];
    expect(f.packets).toEqual({ client: 2 * o.packets.client, server: 2 * o.packets.server });
    expect(f.duplicates).toEqual(o.packets);
  });
});

test.each([
  ['underlay', (): View => underlay],
  ['any', (): View => both],
])('%s: same connections', (_name, get) => {
  expectSame(flowFacts(get().result), get().frames, flowFacts(overlay.result), overlay.frames);
});

test.each([
  ['underlay', (): View => underlay],
  ['any', (): View => both],
])('%s: same exchanges', (_name, get) => {
  expect(get().result.exchanges.length).toBeGreaterThan(0);
  expectSame(get().result.exchanges, get().frames, overlay.result.exchanges, overlay.frames);
});

test.each([
  ['underlay', (): View => underlay],
  ['any', (): View => both],
])('%s: same findings and diagnoses (the keep-alive race inside the tunnel)', (_name, get) => {
  expect(get().result.anomalies.map((a) => a.kind)).toContain('keepalive-race');
  expectSame(get().result.anomalies, get().frames, overlay.result.anomalies, overlay.frames);
  expectSame(get().result.diagnoses, get().frames, overlay.result.diagnoses, overlay.frames);
});
