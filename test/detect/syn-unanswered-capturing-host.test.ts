import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { buildPcapFile, buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../helpers/packet-builder';

/**
 * `tcpdump -i any` on a router between client 10.0.1.2 and server 10.0.2.2:8080 (blind round 14,
 * scene 9): every packet it forwards is in the capture twice, on its way in (TTL 64) and 20 µs later
 * on its way out (TTL 63). A packet its firewall drops is there once, on its way in.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-router-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

const T = 1_700_000_000;
const CLIENT = '10.0.1.2';
const SERVER = '10.0.2.2';
/** 'both': forwarded (in and out); 'in': dropped on the router; 'once': a capture of one interface (no copies anywhere). */
type Seen = 'both' | 'in' | 'once';

class RouterCapture {
  readonly frames: Array<{ data: Uint8Array; ts: number }> = [];
  private ipId = 0x100;

  packet(from: 'c' | 's', port: number, ts: number, flags: number, seq: number, ack: number, payload: string, seen: Seen): void {
    const c = from === 'c';
    const spec = { src: c ? CLIENT : SERVER, dst: c ? SERVER : CLIENT, sport: c ? port : 8080, dport: c ? 8080 : port, seq, ack, flags, payload, ipId: this.ipId++ };
    this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 64 }), ts });
    if (seen === 'both') this.frames.push({ data: buildTcpPacket({ ...spec, ttl: 63 }), ts: ts + 20e-6 });
  }

  /**
   * SYNs at `synTimes` (same ISN): all but the last seen as `dropped`, the last too unless `answered`;
   * an answered one gets its SYN-ACK, a GET, its 200 and both FINs, seen as `all`.
   */
  connect(port: number, synTimes: number[], o: { dropped?: Seen; answered?: boolean; all?: Seen; synAck?: Seen } = {}): this {
    const all = o.all ?? 'both';
    const answered = o.answered ?? true;
    const isn = port * 1000;
    const sisn = port * 7000;
    synTimes.forEach((t, i) => this.packet('c', port, t, TCP_SYN, isn, 0, '', i === synTimes.length - 1 && answered ? all : (o.dropped ?? all)));
    if (!answered) return this;
    const at = synTimes[synTimes.length - 1] + 0.0003;
    this.packet('s', port, at, TCP_SYN | TCP_ACK, sisn, isn + 1, '', o.synAck ?? all);
    const req = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    this.packet('c', port, at + 0.0003, TCP_ACK, isn + 1, sisn + 1, '', all);
    this.packet('c', port, at + 0.001, TCP_ACK | TCP_PSH, isn + 1, sisn + 1, req, all);
    this.packet('s', port, at + 0.002, TCP_ACK | TCP_PSH, sisn + 1, isn + 1 + req.length, res, all);
    this.packet('c', port, at + 0.003, TCP_ACK | TCP_FIN, isn + 1 + req.length, sisn + 1 + res.length, '', all);
    this.packet('s', port, at + 0.004, TCP_ACK | TCP_FIN, sisn + 1 + res.length, isn + 2 + req.length, '', all);
    this.packet('c', port, at + 0.005, TCP_ACK, isn + 2 + req.length, sisn + 2 + res.length, '', all);
    return this;
  }

  /** A handshake whose first SYN-ACK is seen as `lost`, recovered by the client's SYN sent again 1 s later. */
  synAckLost(port: number, at: number, lost: Seen, all: Seen = 'both'): this {
    const isn = port * 1000;
    const sisn = port * 7000;
    this.packet('c', port, at, TCP_SYN, isn, 0, '', all);
    this.packet('s', port, at + 0.0003, TCP_SYN | TCP_ACK, sisn, isn + 1, '', lost);
    return this.connect(port, [at + 1], { all });
  }

  analyze(): Promise<AnalysisResult> {
    const sorted = [...this.frames].sort((a, b) => a.ts - b.ts);
    const file = path.join(dir, `router-${files++}.pcap`);
    fs.writeFileSync(file, buildPcapFile(LINKTYPE_ETHERNET, sorted.map((f) => ({ data: f.data, ts: f.ts, origLen: f.data.length }))));
    return analyzeFiles([file], { detectors: DETECTORS });
  }
}

/** Healthy connections before and after, two attempts whose SYNs are seen `dropped`, and one answered by its retransmission. */
function blackhole(dropped: Seen, all: Seen = 'both', after = true): RouterCapture {
  const cap = new RouterCapture();
  cap.connect(40001, [T], { all }).connect(40002, [T + 0.5], { all });
  cap.connect(40003, [T + 1, T + 2], { dropped, all, answered: false }).connect(40004, [T + 1.2, T + 2.2], { dropped, all, answered: false });
  cap.connect(40005, [T + 2.5, T + 3.5, T + 5.5], { dropped, all });
  if (after) cap.connect(40006, [T + 6], { all }).connect(40007, [T + 6.5], { all });
  else cap.connect(40008, [T + 9, T + 10], { dropped, all, answered: false }); // the drop goes on to the end
  return cap;
}

function diagnosis(r: AnalysisResult, kind: string): { explanation: string; remedy: string } {
  const d = r.diagnoses.find((x) => x.kind === kind);
  if (d === undefined) throw new Error(`no ${kind} diagnosis: ${r.diagnoses.map((x) => x.kind).join(', ')}`);
  return d;
}

describe('syn-unanswered: SYNs dropped on the capturing host (a capture on a router that forwards them)', () => {
  test('SYNs seen once on their way in, every other packet twice: dropped on the capturing host, its rules lead the remedy', async () => {
    const r = await blackhole('in').analyze();
    expect(r.anomalies.filter((a) => a.kind === 'syn-unanswered')).toHaveLength(3);
    const d = diagnosis(r, 'syn-unanswered');
    expect(d.explanation).toContain('these 6 unanswered SYNs were each seen only once, on their way in (with the TTL 10.0.1.2\'s packets have on their way in, 64; 63 on their way out');
    expect(d.explanation).toContain('dropped on the capturing host');
    expect(d.explanation).toContain('the retransmission that was answered in the end, for 1 of the attempts, was seen going out');
    expect(d.explanation).not.toContain('backlog was full');
    expect(d.remedy).toMatch(/^Look on the capturing host first, the one that forwards 10\.0\.1\.2 → 10\.0\.2\.2: these 6 SYNs to port 8080/);
    expect(d.remedy).toContain('nft list ruleset');
    expect(d.remedy).toContain('conntrack -S');
    expect(d.remedy).not.toContain('ss -ltn');
  });

  test('near miss: the unanswered SYNs were seen going out too (dropped beyond the router): the listener stays in question', async () => {
    const r = await blackhole('both').analyze();
    // Every attempt still reported, once each: the copies are not retransmissions.
    expect(r.anomalies.filter((a) => a.kind === 'syn-unanswered')).toHaveLength(3);
    const d = diagnosis(r, 'syn-unanswered');
    expect(d.explanation).not.toContain('capturing host');
    expect(d.remedy).toContain("ss -ltn 'sport = :8080'");
  });

  test('near miss: a capture of one interface, no copies anywhere: judged as before', async () => {
    const r = await blackhole('once', 'once').analyze();
    expect(r.anomalies.filter((a) => a.kind === 'syn-unanswered')).toHaveLength(3);
    const d = diagnosis(r, 'syn-unanswered');
    expect(d.explanation).not.toContain('capturing host');
    expect(d.remedy).toContain("ss -ltn 'sport = :8080'");
  });

  test('near miss: nothing crossed twice after the drops (the capture may have stopped seeing the way out): not claimed', async () => {
    const r = await blackhole('in', 'both', false).analyze();
    const d = diagnosis(r, 'syn-unanswered');
    expect(d.explanation).not.toContain('capturing host');
  });
});

describe('synack-lost: SYN-ACKs dropped on the capturing host', () => {
  function synAcks(lost: Seen, all: Seen = 'both'): RouterCapture {
    const cap = new RouterCapture();
    cap.connect(41001, [T], { all });
    cap.synAckLost(41002, T + 1, lost, all).synAckLost(41003, T + 3, lost, all);
    cap.connect(41004, [T + 6], { all });
    return cap;
  }

  test('SYN-ACKs seen once on their way in from the server, the rest twice: dropped on the capturing host', async () => {
    const d = diagnosis(await synAcks('in').analyze(), 'synack-lost');
    expect(d.explanation).toContain('each lost SYN-ACK only once, on its way in (TTL 64; 63 on the way out');
    expect(d.explanation).toContain('dropped on the capturing host');
    expect(d.remedy).toMatch(/^Look on the capturing host first, the one that forwards 10\.0\.2\.2 → 10\.0\.1\.2: the SYN-ACKs from port 8080/);
  });

  test('near miss: a capture of one interface (the server\'s side): the return path as before', async () => {
    const d = diagnosis(await synAcks('once', 'once').analyze(), 'synack-lost');
    expect(d.explanation).not.toContain('capturing host');
    expect(d.remedy).toMatch(/^Find where the SYN-ACKs are dropped/);
  });
});
