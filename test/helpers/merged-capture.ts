/**
 * Client and server captures merged into one file (mergecap), built packet by packet: each packet
 * that crossed the path is there twice, at the point near its sender (TTL 64) and, HOP later, at
 * the far one (TTL 63, one router between); a packet dropped or forged on the router is at one
 * point only. Client 10.0.1.2 — router — server 10.0.2.2:8080.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { buildPcapFile, buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from './packet-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-merged-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

export const T = 1_700_000_000;
/** One way between the two capture points (the router's forwarding time). */
const HOP = 40e-6;

export type Where = 'both' | 'client' | 'server';

interface Frame { data: Uint8Array; ts: number }

/** One connection as two capture points see it: client 10.0.1.2 — router — server 10.0.2.2:8080. */
export class MergedCapture {
  readonly frames: Frame[] = [];
  private readonly seq = { c: 1000, s: 5000 };
  private readonly ipId = { c: 0x100, s: 0x900 };

  constructor(private readonly clientPort = 40000) {}

  /** A packet sent by `from`, seen at its own point at `ts` (TTL 64) and, unless lost or dropped on the way, at the other's (TTL 63). */
  send(from: 'c' | 's', ts: number, flags: number, payload = '', where: Where = 'both'): this {
    const c = from === 'c';
    const spec = {
      src: c ? '10.0.1.2' : '10.0.2.2', dst: c ? '10.0.2.2' : '10.0.1.2', sport: c ? this.clientPort : 8080, dport: c ? 8080 : this.clientPort,
      seq: this.seq[from], ack: (flags & TCP_SYN) !== 0 && c ? 0 : this.seq[c ? 's' : 'c'], flags, payload, ipId: this.ipId[from]++,
    };
    const own = c ? 'client' : 'server';
    if (where === 'both' || where === own) this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 64 }), ts });
    if (where === 'both') this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 63 }), ts: ts + HOP });
    this.seq[from] += payload.length + ((flags & TCP_SYN) !== 0 ? 1 : 0);
    return this;
  }

  /** The router's RST in the server's name, seen at the client's point only: no ACK, at the sequence number the client expects. */
  forgedRst(ts: number, ack = -1): this {
    const data = buildTcpPacket({
      src: '10.0.2.2', dst: '10.0.1.2', sport: 8080, dport: this.clientPort, seq: ack < 0 ? this.seq.s : 0, ack: ack < 0 ? 0 : ack,
      flags: ack < 0 ? TCP_RST : TCP_RST | TCP_ACK, ipId: 0, ttl: 64,
    });
    this.frames.push({ data, ts });
    return this;
  }

  /** The handshake and one complete exchange (GET /ok) on the keep-alive connection. */
  opened(): this {
    return this.send('c', T, TCP_SYN).send('s', T + 0.0002, TCP_SYN | TCP_ACK).send('c', T + 0.0004, TCP_ACK)
      .send('c', T + 0.01, TCP_ACK | TCP_PSH, 'GET /ok HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.012, TCP_ACK | TCP_PSH, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      .send('c', T + 0.0122, TCP_ACK);
  }

  /** The client's sequence number after its last segment (what a refusal acknowledges). */
  get clientNext(): number {
    return this.seq.c;
  }

  analyze(): Promise<AnalysisResult> {
    return analyzeAll([this]);
  }
}

/** The connections' frames in one pcap, in time order, through the whole analysis. */
export async function analyzeAll(caps: MergedCapture[]): Promise<AnalysisResult> {
  const sorted = caps.flatMap((c) => c.frames).sort((a, b) => a.ts - b.ts);
  const file = path.join(dir, `merged-${files++}.pcap`);
  fs.writeFileSync(file, buildPcapFile(LINKTYPE_ETHERNET, sorted.map((f) => ({ data: f.data, ts: f.ts, origLen: f.data.length }))));
  return analyzeFiles([file], { detectors: DETECTORS });
}

