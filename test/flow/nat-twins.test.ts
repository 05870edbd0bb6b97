/**
 * One connection captured before and after address translation (tcpdump -i any on a host that
 * NATs, e.g. a Kubernetes node) is analyzed once: the second view is listed with
 * `sameConnectionAs` and gets no exchanges and no findings. Connections that only look alike stay
 * two. Real frames through the whole analysis; samples/keepalive-race-nat-any.pcap is the recorded case.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles } from '../../src/analyze';
import { NAT_TWIN_WINDOW } from '../../src/flow/nat-twins';
import { buildPcapFile, buildTcpPacket, LINKTYPE_ETHERNET, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpOption } from '../helpers/packet-builder';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-nat-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let files = 0;

interface Frame {
  data: Uint8Array;
  ts: number;
}

interface Addresses {
  client: string;
  server: string;
  sport: number;
  dport: number;
}

const T = 1_700_000_000;
const SERVICE: Addresses = { client: '10.0.0.1', server: '10.96.0.10', sport: 40000, dport: 80 };
const POD: Addresses = { client: '10.0.0.1', server: '10.1.0.2', sport: 40000, dport: 8080 };

/**
 * One keep-alive exchange and a close, as seen with the given addresses, `delay` after the
 * moments of the first view; `ipId` numbers the client's packets (the server's follow 0x900).
 */
function view(a: Addresses, delay: number, ipId = 0x100, isn = 1000, t0 = T, timestamps = true, serverIsn = 5000, synWindow = 65535): Frame[] {
  const frames: Frame[] = [];
  const seq = { c: isn, s: serverIsn };
  const ids = { c: ipId, s: 0x900 };
  const send = (from: 'c' | 's', ts: number, flags: number, payload = ''): void => {
    const c = from === 'c';
    frames.push({
      data: buildTcpPacket({
        src: c ? a.client : a.server, dst: c ? a.server : a.client, sport: c ? a.sport : a.dport, dport: c ? a.dport : a.sport,
        seq: seq[from], ack: flags === TCP_SYN ? 0 : seq[c ? 's' : 'c'], flags, payload, ipId: ids[from]++,
        window: flags === TCP_SYN ? synWindow : 65535,
        // Each side's timestamp clock, echoing the other's: the same on every view, since a NAT
        // leaves options alone.
        options: timestamps ? [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp((c ? 77_000 : 99_000) + Math.round((ts - t0) * 1000), flags === TCP_SYN ? 0 : c ? 99_000 : 77_000)] : [],
      }),
      ts: ts + delay,
    });
    seq[from] += payload.length + ((flags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
  };
  send('c', t0, TCP_SYN);
  send('s', t0 + 0.001, TCP_SYN | TCP_ACK);
  send('c', t0 + 0.002, TCP_ACK);
  send('c', t0 + 0.01, TCP_ACK | TCP_PSH, 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n');
  send('s', t0 + 0.02, TCP_ACK | TCP_PSH, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  send('c', t0 + 0.5, TCP_ACK | TCP_FIN);
  send('s', t0 + 0.501, TCP_ACK | TCP_FIN);
  send('c', t0 + 0.502, TCP_ACK);
  return frames;
}

async function analyze(...views: Frame[][]): Promise<AnalysisResult> {
  const frames = views.flat().sort((x, y) => x.ts - y.ts);
  const file = path.join(dir, `case-${files++}.pcap`);
  fs.writeFileSync(file, buildPcapFile(LINKTYPE_ETHERNET, frames.map((f) => ({ data: f.data, ts: f.ts }))));
  return analyzeFiles([file]);
}

describe('a connection seen before and after address translation', () => {
  test('DNAT: analyzed once, the second view listed as the same connection', async () => {
    const r = await analyze(view(SERVICE, 0), view(POD, 30e-6));
    expect(r.flows.map((f) => [f.server, f.sameConnectionAs])).toEqual([['10.96.0.10:80', null], ['10.1.0.2:8080', 1]]);
    expect(r.exchanges.map((e) => [e.flowId, e.uri])).toEqual([[1, '/a']]);
    expect(r.flows[1].requests).toBe(0);
    expect(r.stats.natTwins).toBe(1);
    expect(r.stats.natTranslations).toEqual([{ seenAs: '10.0.0.1 → 10.96.0.10:80', translatedTo: '10.0.0.1 → 10.1.0.2:8080', connections: 1 }]);
    expect(r.stats.httpConnections).toBe(1);
    // Its own TCP facts are still there.
    expect(r.flows[1].state).toBe('SF');
    expect(r.flows[1].packets).toEqual(r.flows[0].packets);
  });

  test('masquerade as well: the client address and port translated too', async () => {
    const r = await analyze(view(SERVICE, 0), view({ client: '192.168.5.5', server: '10.1.0.2', sport: 61000, dport: 8080 }, 40e-6));
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
    expect(r.exchanges).toHaveLength(1);
    expect(r.stats.natTranslations).toEqual([{ seenAs: '10.0.0.1 → 10.96.0.10:80', translatedTo: '192.168.5.5 → 10.1.0.2:8080', connections: 1 }]);
  });

  test('a view of the server\'s packets only, half translated (a bridge between DNAT and masquerade): the same connection', async () => {
    // Docker-style port publishing captured with -i any: the client's view, the bridge's view
    // (both translations done), and on the bridge's ingress the server's packets with the
    // masquerade undone but not yet the DNAT, which starts with a SYN-ACK.
    const masqueraded = { client: '192.168.5.5', server: '10.1.0.2', sport: 61000, dport: 8080 };
    const half = view({ client: '10.0.0.1', server: '10.1.0.2', sport: 40000, dport: 8080 }, 50e-6);
    const serverPackets = half.filter((_, i) => [1, 4, 6].includes(i)); // SYN-ACK, response, FIN
    const r = await analyze(view(SERVICE, 0), view(masqueraded, 30e-6), serverPackets);
    expect(r.flows.map((f) => [f.client, f.server, f.sameConnectionAs])).toEqual([
      ['10.0.0.1:40000', '10.96.0.10:80', null],
      ['192.168.5.5:61000', '10.1.0.2:8080', 1],
      ['10.0.0.1:40000', '10.1.0.2:8080', 1],
    ]);
    expect(r.exchanges.map((e) => [e.flowId, e.uri, e.status])).toEqual([[1, '/a', 200]]);
    expect(r.stats.natTwins).toBe(2);
  });

  test('several connections through the NAT: each pair found, the pairs of addresses counted', async () => {
    const views: Frame[][] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = T + i;
      views.push(view({ ...SERVICE, sport: 40000 + i }, 0, 0x100 + 16 * i, 7000 + 100_000 * i, t0));
      views.push(view({ ...POD, sport: 40000 + i }, 20e-6, 0x100 + 16 * i, 7000 + 100_000 * i, t0));
    }
    const r = await analyze(...views);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1, null, 3, null, 5]);
    expect(r.stats.natTranslations).toEqual([{ seenAs: '10.0.0.1 → 10.96.0.10:80', translatedTo: '10.0.0.1 → 10.1.0.2:8080', connections: 3 }]);
    expect(r.exchanges).toHaveLength(3);
  });

  test('the first SYN lost before the NAT: the far view repeats the retransmitted SYN, the same connection', async () => {
    // Blind round 17, s10 (5 % loss): the near side saw the SYN a second before the one that
    // crossed, with the same sequence number, another identification and timestamp.
    const near = view(SERVICE, 0);
    const lost = buildTcpPacket({
      src: SERVICE.client, dst: SERVICE.server, sport: SERVICE.sport, dport: SERVICE.dport, seq: 1000, flags: TCP_SYN, ipId: 0x0ff, window: 65535,
      options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(76_000, 0)],
    });
    const r = await analyze([{ data: lost, ts: T - 1 }, ...near], view(POD, 30e-6));
    expect(r.flows.map((f) => [f.server, f.sameConnectionAs])).toEqual([['10.96.0.10:80', null], ['10.1.0.2:8080', 1]]);
    expect(r.exchanges).toHaveLength(1);
    expect(r.stats.natTwins).toBe(1);
  });

  test('near miss: a SYN with the same sequence number a second later on another 4-tuple, not sent again on the first: two connections', async () => {
    const r = await analyze(view(SERVICE, 0), view(POD, 1));
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.exchanges).toHaveLength(2);
  });

  describe('connections that only look alike stay two', () => {
    test('the same initial sequence number with another IP identification', async () => {
      const r = await analyze(view(SERVICE, 0), view(POD, 30e-6, 0x7777));
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
      expect(r.exchanges).toHaveLength(2);
      expect(r.stats.natTwins).toBe(0);
    });

    test('the same SYN, but later than a NAT forwards', async () => {
      const r = await analyze(view(SERVICE, 0), view(POD, NAT_TWIN_WINDOW + 0.05));
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    });

    test('a SYN-ACK acknowledging the same number without echoing the SYN\'s timestamp', async () => {
      const synAck = buildTcpPacket({
        src: '10.1.0.2', dst: '10.0.0.1', sport: 8080, dport: 40000, seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, ipId: 0,
        options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(99_000, 12_345)],
      });
      const r = await analyze(view(SERVICE, 0), [{ data: synAck, ts: T + 0.001 }]);
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
      const echoing = buildTcpPacket({
        src: '10.1.0.2', dst: '10.0.0.1', sport: 8080, dport: 40000, seq: 5000, ack: 1001, flags: TCP_SYN | TCP_ACK, ipId: 0,
        options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(99_000, 77_000)],
      });
      const r2 = await analyze(view(SERVICE, 0), [{ data: echoing, ts: T + 0.001 }]);
      expect(r2.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
    });

    test('another initial sequence number (a proxy opens its own connection)', async () => {
      const r = await analyze(view(SERVICE, 0), view(POD, 30e-6, 0x100, 99_999));
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    });

    test('a SYN sent again on the same 4-tuple is that connection\'s', async () => {
      const first = view(SERVICE, 0);
      // 10 ms later: past the copy window, inside the NAT's.
      const r = await analyze(first, [{ data: first[0].data, ts: T + 0.01 }]);
      expect(r.flows).toHaveLength(1);
      expect(r.flows[0].syns).toBe(2);
      expect(r.flows[0].sameConnectionAs).toBeNull();
      expect(r.stats.natTwins).toBe(0);
    });
  });
});

/** A bare segment of one view (no timestamp option: the candidate rule's traps). */
function seg(a: Addresses, fromClient: boolean, ts: number, flags: number, seq: number, ack: number, ipId: number, payload = ''): Frame {
  return {
    data: buildTcpPacket({
      src: fromClient ? a.client : a.server, dst: fromClient ? a.server : a.client, sport: fromClient ? a.sport : a.dport,
      dport: fromClient ? a.dport : a.sport, seq, ack, flags, payload, ipId,
    }),
    ts,
  };
}

describe('SYNs without the timestamp option (Windows clients by default): a candidate the server must confirm', () => {
  const plain = (a: Addresses, delay: number, ipId = 0x100, isn = 1000, serverIsn = 5000, synWindow = 65535): Frame[] =>
    view(a, delay, ipId, isn, T, false, serverIsn, synWindow);

  test('the same SYN on another 4-tuple, answered in both views by the same SYN-ACK: one connection', async () => {
    const r = await analyze(plain(SERVICE, 0), plain(POD, 30e-6));
    expect(r.flows.map((f) => [f.server, f.sameConnectionAs])).toEqual([['10.96.0.10:80', null], ['10.1.0.2:8080', 1]]);
    expect(r.exchanges.map((e) => [e.flowId, e.uri])).toEqual([[1, '/a']]);
    expect(r.stats.natTwins).toBe(1);
    expect(r.stats.natTranslations).toEqual([{ seenAs: '10.0.0.1 → 10.96.0.10:80', translatedTo: '10.0.0.1 → 10.1.0.2:8080', connections: 1 }]);
  });

  test('a masquerade (the client address translated, the server kept): one connection', async () => {
    const r = await analyze(plain(POD, 0), plain({ ...POD, client: '192.168.5.5', sport: 61000 }, 30e-6));
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
    expect(r.exchanges).toHaveLength(1);
  });

  test('views not one translation apart stay two, even with every number alike (a test kit\'s fixed numbers on both sides)', async () => {
    // Another client port to the same server: one client's two connections.
    const r1 = await analyze(plain(SERVICE, 0), plain({ ...SERVICE, sport: 40001 }, 30e-6));
    expect(r1.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r1.exchanges).toHaveLength(2);
    // Both ends differ: a proxy's two legs opened at one moment (or DNAT and masquerade at once).
    const r2 = await analyze(plain(SERVICE, 0), plain({ client: '192.168.5.5', server: '10.1.0.2', sport: 61000, dport: 8080 }, 30e-6));
    expect(r2.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r2.exchanges).toHaveLength(2);
  });

  test('the translated view\'s SYN-ACK seen first (routed DNAT, captured nearer the server): one connection', async () => {
    // The translated view 30 µs later, but its SYN-ACK 0.5 ms before the first view's.
    const second = plain(POD, 30e-6);
    second[1] = { ...second[1], ts: T + 0.0005 };
    const r = await analyze(plain(SERVICE, 0), second);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
    expect(r.exchanges).toHaveLength(1);
  });

  test('two connections that share ISN, IP identification, window and options: the servers\' ISNs differ, two connections', async () => {
    const r = await analyze(plain(SERVICE, 0), plain(POD, 30e-6, 0x100, 1000, 77_777));
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.exchanges.map((e) => e.flowId)).toEqual([1, 2]);
    expect(r.stats.natTwins).toBe(0);
    expect(r.stats.natTranslations).toEqual([]);
  });

  test('the same SYN-ACK number but another server IP identification: two connections', async () => {
    const second = plain(POD, 30e-6);
    const synAck = seg(POD, false, T + 0.001 + 30e-6, TCP_SYN | TCP_ACK, 5000, 1001, 0x4444);
    const r = await analyze(plain(SERVICE, 0), [second[0], synAck, ...second.slice(2)]);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.exchanges).toHaveLength(2);
  });

  test('another SYN window (or options): never a candidate', async () => {
    const r = await analyze(plain(SERVICE, 0), plain(POD, 30e-6, 0x100, 1000, 5000, 29_200));
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.exchanges).toHaveLength(2);
  });

  test('a scanner sending one fixed SYN to many ports: every port a connection of its own', async () => {
    // Ports 80 and 82 answer with their own ISNs, 81 resets, 83 stays silent.
    const to = (port: number): Addresses => ({ ...SERVICE, dport: port });
    const frames: Frame[] = [];
    for (let i = 0; i < 4; i++) frames.push(seg(to(80 + i), true, T + i * 1e-4, TCP_SYN, 1000, 0, 0x100));
    frames.push(seg(to(80), false, T + 0.001, TCP_SYN | TCP_ACK, 5000, 1001, 0));
    frames.push(seg(to(81), false, T + 0.0011, TCP_RST | TCP_ACK, 0, 1001, 0));
    frames.push(seg(to(82), false, T + 0.0012, TCP_SYN | TCP_ACK, 9000, 1001, 0));
    frames.push(seg(to(80), true, T + 0.002, TCP_RST, 1001, 0, 0x101));
    frames.push(seg(to(82), true, T + 0.0021, TCP_RST, 1001, 0, 0x102));
    const r = await analyze(frames);
    expect(r.flows.map((f) => [f.server, f.sameConnectionAs])).toEqual([
      ['10.96.0.10:80', null], ['10.96.0.10:81', null], ['10.96.0.10:82', null], ['10.96.0.10:83', null],
    ]);
    expect(r.stats.natTwins).toBe(0);
  });

  test('a scanner whose ports all answer with one fixed ISN, but with their own IP identifications: still connections of their own', async () => {
    const to = (port: number): Addresses => ({ ...SERVICE, dport: port });
    const r = await analyze([
      seg(to(80), true, T, TCP_SYN, 1000, 0, 0x100),
      seg(to(81), true, T + 1e-4, TCP_SYN, 1000, 0, 0x100),
      seg(to(80), false, T + 0.001, TCP_SYN | TCP_ACK, 5000, 1001, 0x2000),
      seg(to(81), false, T + 0.0011, TCP_SYN | TCP_ACK, 5000, 1001, 0x2001),
    ]);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
  });

  test('a candidate never answered (both views\' SYNs unanswered): analyzed as a connection of its own, as before the rule', async () => {
    const r = await analyze([seg(SERVICE, true, T, TCP_SYN, 1000, 0, 0x100)], [seg(POD, true, T + 30e-6, TCP_SYN, 1000, 0, 0x100)]);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.stats.natTwins).toBe(0);
  });

  test('payload on a candidate before any confirmation (its SYN-ACK not captured): analyzed from its start', async () => {
    const second = plain(POD, 30e-6).filter((_, i) => i !== 1);
    const r = await analyze(plain(SERVICE, 0), second);
    expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, null]);
    expect(r.exchanges.map((e) => [e.flowId, e.uri, e.status])).toEqual([[1, '/a', 200], [2, '/a', 200]]);
  });

  test('a SYN retransmitted in both views before the answer: one connection, two SYNs each', async () => {
    const late = 1; // the client's first SYN retransmission, 1 s later
    const first = plain(SERVICE, 0);
    const second = plain(POD, 30e-6);
    const shift = (f: Frame): Frame => ({ ...f, ts: f.ts + late });
    const r = await analyze(
      [first[0], { data: seg(SERVICE, true, 0, TCP_SYN, 1000, 0, 0x180).data, ts: T + late - 0.001 }, ...first.slice(1).map(shift)],
      [second[0], { data: seg(POD, true, 0, TCP_SYN, 1000, 0, 0x180).data, ts: T + late - 0.001 + 30e-6 }, ...second.slice(1).map(shift)],
    );
    expect(r.flows.map((f) => [f.syns, f.sameConnectionAs])).toEqual([[2, null], [2, 1]]);
    expect(r.exchanges).toHaveLength(1);
  });

  test('a SYN sent again on the same 4-tuple is that connection\'s', async () => {
    const first = plain(SERVICE, 0);
    const r = await analyze(first, [{ data: first[0].data, ts: T + 0.01 }]);
    expect(r.flows).toHaveLength(1);
    expect(r.flows[0].syns).toBe(2);
    expect(r.stats.natTwins).toBe(0);
  });
});

/**
 * Blind test 12, scene 2: a router DNATs 10.12.1.1:82 to a backend port nothing listens on, and a
 * capture on both its interfaces shows the refused connect twice. The remedy of a diagnosis of the
 * front address names the backend the translation sent it to, where the RST came from; without a
 * translated view, or with only the client translated (a masquerade), nothing is added.
 */
describe('a diagnosis of a translated server names the server behind the translation', () => {
  /** A SYN answered by RST, seen with the given addresses `delay` after the first view. */
  const refused = (a: Addresses, delay: number): Frame[] => {
    const syn = buildTcpPacket({
      src: a.client, dst: a.server, sport: a.sport, dport: a.dport, seq: 1000, flags: TCP_SYN, ipId: 0x100,
      options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(77_000, 0)],
    });
    const rst = buildTcpPacket({ src: a.server, dst: a.client, sport: a.dport, dport: a.sport, seq: 0, ack: 1001, flags: TCP_RST | TCP_ACK, ipId: 0 });
    return [{ data: syn, ts: T + delay }, { data: rst, ts: T + 0.0002 - delay }];
  };
  const remedy = (r: AnalysisResult): string => r.diagnoses.find((d) => d.kind === 'connection-refused')?.remedy ?? '';

  test('DNAT: the refusal of 10.96.0.10:80 is to be checked on 10.1.0.2, port 8080', async () => {
    const r = await analyze(refused(SERVICE, 0), refused(POD, 20e-6));
    expect(r.stats.natTranslations).toEqual([{ seenAs: '10.0.0.1 → 10.96.0.10:80', translatedTo: '10.0.0.1 → 10.1.0.2:8080', connections: 1 }]);
    expect(remedy(r)).toContain('10.96.0.10:80 is translated to 10.1.0.2:8080');
    expect(remedy(r)).toContain('is to be done on 10.1.0.2 (port 8080), not on 10.96.0.10');
  });

  /** A SYN answered by RST on client port `sport`, its own ISN and identification, at `t0`. */
  const refusedAt = (a: Addresses, delay: number, t0: number, isn: number, ipId: number): Frame[] => {
    const syn = buildTcpPacket({
      src: a.client, dst: a.server, sport: a.sport, dport: a.dport, seq: isn, flags: TCP_SYN, ipId,
      options: [tcpOption.nop(), tcpOption.nop(), tcpOption.timestamp(77_000 + ipId, 0)],
    });
    const rst = buildTcpPacket({ src: a.server, dst: a.client, sport: a.dport, dport: a.sport, seq: 0, ack: isn + 1, flags: TCP_RST | TCP_ACK, ipId: 0 });
    return [{ data: syn, ts: t0 + delay }, { data: rst, ts: t0 + 0.0002 - delay }];
  };
  /** Blind round 17 s05/s06: a round robin over a healthy backend and a failing one. */
  const roundRobin = (failedSeenPast: boolean): Frame[][] => {
    const views: Frame[][] = [];
    const dead: Addresses = { ...POD, server: '10.1.0.3', dport: 81 };
    for (let i = 0; i < 3; i++) {
      const t0 = T + i;
      views.push(view({ ...SERVICE, sport: 40000 + 2 * i }, 0, 0x100 + 16 * i, 7000 + 100_000 * i, t0));
      views.push(view({ ...POD, sport: 40000 + 2 * i }, 20e-6, 0x100 + 16 * i, 7000 + 100_000 * i, t0));
      views.push(refusedAt({ ...SERVICE, sport: 40001 + 2 * i }, 0, t0 + 0.6, 9000 + 100_000 * i, 0x400 + 16 * i));
      if (failedSeenPast) views.push(refusedAt({ ...dead, sport: 40001 + 2 * i }, 20e-6, t0 + 0.6, 9000 + 100_000 * i, 0x400 + 16 * i));
    }
    return views;
  };

  test('round robin: the refusals name the backend their own connections went to, not the healthy one', async () => {
    const r = await analyze(...roundRobin(true));
    expect(r.stats.natTwins).toBe(6);
    expect(remedy(r)).toContain('all 3 connections of these findings went to 10.1.0.3:81');
    expect(remedy(r)).toContain('none went to 10.1.0.2:8080');
    expect(remedy(r)).toContain('is to be done on 10.1.0.3 (port 81), not on 10.96.0.10');
  });

  test('the failing connections never seen past the translation: the healthy target is not where to look', async () => {
    const r = await analyze(...roundRobin(false));
    expect(r.stats.natTwins).toBe(3);
    expect(remedy(r)).toContain('none of the 3 connections of these findings is seen past the translation');
    expect(remedy(r)).not.toContain('is to be done on 10.1.0.2');
  });

  test('near miss: no translated view, or a masquerade only: the remedy names the address the clients used alone', async () => {
    expect(remedy(await analyze(refused(SERVICE, 0)))).not.toContain('translated to');
    const masqueraded = await analyze(refused(SERVICE, 0), refused({ ...SERVICE, client: '192.168.5.5', sport: 61000 }, 20e-6));
    expect(masqueraded.stats.natTwins).toBe(1);
    expect(remedy(masqueraded)).not.toContain('translated to');
  });
});

describe('recorded: refused-dnat-any (a router DNATs :82 to a backend port nothing listens on)', () => {
  const file = path.join(__dirname, '..', '..', 'samples', 'refused-dnat-any.pcap');
  (fs.existsSync(file) ? test : test.skip)("the DNAT'ed refusal names the backend that sent the RST; the router's own refusal stays on the router", async () => {
    const r = await analyzeFiles([file]);
    const of = (server: string): string => r.diagnoses.find((d) => d.kind === 'connection-refused' && d.server === server)?.remedy ?? '';
    expect(of('10.96.0.10:82')).toContain('is to be done on 10.98.1.2 (port 9999), not on 10.96.0.10');
    expect(of('10.98.0.254:81')).toContain('10.98.0.254:81');
    expect(of('10.98.0.254:81')).not.toContain('translated to');
  });
});
