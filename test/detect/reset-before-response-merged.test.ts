/**
 * Client and server captures merged into one file (mergecap): each packet that crossed the path is
 * there twice, first at the point near its sender (TTL 64) and then at the far one (TTL 63, one
 * router between), and the analysis keeps the first copy. A firewall on the router that forges a
 * RST in the server's name (`reject with tcp reset`, TTL 64) is seen at the client's point only:
 * compared with the kept copies (64) it passed for the server's own (blind round 11, S2a/S2b/S2e
 * merged: "the server's socket was already closed" / "the server aborted mid-response"). It is
 * compared with the TTL the server's packets have where it was seen; the server's own RST, seen at
 * both points or lost after its own, stays the server's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { buildPcapFile, buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_PSH, TCP_RST, TCP_SYN } from '../helpers/packet-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-merged-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

const T = 1_700_000_000;
/** One way between the two capture points (the router's forwarding time). */
const HOP = 40e-6;

type Where = 'both' | 'client' | 'server';

interface Frame { data: Uint8Array; ts: number }

/** One connection as two capture points see it: client 10.0.1.2 — router — server 10.0.2.2:8080. */
class MergedCapture {
  readonly frames: Frame[] = [];
  private readonly seq = { c: 1000, s: 5000 };
  private readonly ipId = { c: 0x100, s: 0x900 };

  /** A packet sent by `from`, seen at its own point at `ts` (TTL 64) and, unless lost or dropped on the way, at the other's (TTL 63). */
  send(from: 'c' | 's', ts: number, flags: number, payload = '', where: Where = 'both'): this {
    const c = from === 'c';
    const spec = {
      src: c ? '10.0.1.2' : '10.0.2.2', dst: c ? '10.0.2.2' : '10.0.1.2', sport: c ? 40000 : 8080, dport: c ? 8080 : 40000,
      seq: this.seq[from], ack: (flags & TCP_SYN) !== 0 && c ? 0 : this.seq[c ? 's' : 'c'], flags, payload, ipId: this.ipId[from]++,
    };
    const own = c ? 'client' : 'server';
    if (where === 'both' || where === own) this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 64 }), ts });
    if (where === 'both') this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 63 }), ts: ts + HOP });
    this.seq[from] += payload.length + ((flags & TCP_SYN) !== 0 ? 1 : 0);
    return this;
  }

  /** The router's RST in the server's name, seen at the client's point only: no ACK, at the sequence number the client expects. */
  forgedRst(ts: number): this {
    const data = buildTcpPacket({
      src: '10.0.2.2', dst: '10.0.1.2', sport: 8080, dport: 40000, seq: this.seq.s, ack: 0, flags: TCP_RST, ipId: 0, ttl: 64,
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

  async analyze(): Promise<AnalysisResult> {
    const sorted = [...this.frames].sort((a, b) => a.ts - b.ts);
    const file = path.join(dir, `merged-${files++}.pcap`);
    fs.writeFileSync(file, buildPcapFile(LINKTYPE_ETHERNET, sorted.map((f) => ({ data: f.data, ts: f.ts, origLen: f.data.length }))));
    return analyzeFiles([file], { detectors: DETECTORS });
  }
}

const resets = (r: AnalysisResult) => r.anomalies.filter((f) => f.kind === 'reset-before-response');
const BODY = 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1200);

describe('reset-before-response: client and server captures merged', () => {
  test("a request dropped by the firewall and answered with its RST is the path's, with the TTL the server's packets have at the client", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /blocked HTTP/1.1\r\nHost: x\r\n\r\n', 'client')
      .forgedRst(T + 0.50005);
    const r = await cap.analyze();
    expect(r.stats.duplicates).toBeGreaterThan(0);
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/blocked');
    expect(f.evidence.resetFrom).toBe('path');
    expect([f.evidence.rstTtl, f.evidence.serverTtl]).toEqual([64, 63]);
    expect(r.diagnoses.find((d) => d.kind === 'reset-before-response')?.explanation).not.toMatch(/socket was already closed/);
  });

  test("a download cut by the firewall while the server went on sending is the path's, not an abort mid-response", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      // The client's ACK that crossed the byte limit: rejected (dropped, a RST sent back in the server's name).
      .send('c', T + 0.5012, TCP_ACK, '', 'client')
      .forgedRst(T + 0.50125)
      // The server never knew: its next segment, seen at its own point, not acknowledged.
      .send('s', T + 0.5014, TCP_ACK | TCP_PSH, 'y'.repeat(1200), 'server');
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBe('path');
    expect(r.diagnoses.find((d) => d.kind === 'reset-before-response')?.explanation).not.toMatch(/aborted the connection mid-response/);
  });

  test("the server's own RST seen at both points (64 there, 63 at the client) stays the server's", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      .send('c', T + 0.5012, TCP_ACK)
      .send('s', T + 0.8, TCP_RST | TCP_ACK);
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBeUndefined();
    expect(f.summary).toMatch(/was reset by the server/);
  });

  test("the server's own RST lost after its capture point, the client unaware and sending again, stays the server's", async () => {
    const cap = new MergedCapture().opened()
      .send('c', T + 0.5, TCP_ACK | TCP_PSH, 'GET /dl HTTP/1.1\r\nHost: x\r\n\r\n')
      .send('s', T + 0.501, TCP_ACK | TCP_PSH, BODY)
      .send('c', T + 0.5012, TCP_ACK)
      .send('s', T + 0.8, TCP_RST | TCP_ACK, '', 'server')
      .send('c', T + 1.5, TCP_ACK, '', 'client');
    const r = await cap.analyze();
    const [f] = resets(r);
    expect(f.evidence.uri).toBe('/dl');
    expect(f.evidence.resetFrom).toBeUndefined();
  });
});
