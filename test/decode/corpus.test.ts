import * as fs from 'fs';
import * as path from 'path';
import { formatEndpoint } from '../../src/decode/address';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView, TcpFlag } from '../../src/decode/packet-view';
import { readCaptureSync } from '../helpers/mini-reader';

/**
 * Decodes the public corpus and compares with tshark 4.0's reference (see corpus README):
 * per curated file, the number of TCP frames (tshark: frames given a tcp.stream), the total TCP
 * payload (sum of tcp.len), the SYN / SYN-ACK / FIN / RST totals, and the source endpoint text
 * of every stream's first frame. Records are read with test/helpers/mini-reader (not src/source),
 * so this checks the decoder alone.
 */
const CORPUS = path.resolve(__dirname, '../../../shared/corpus');
const INDEX = path.join(CORPUS, 'reference', 'index.json');
const present = fs.existsSync(INDEX);

/**
 * Files where the decoder deliberately differs from tshark. `tcpFrames` pins our count, so an
 * exception that stops applying (or changes) fails too and gets revisited.
 */
const EXCEPTIONS: Record<string, { tcpFrames: number; reason: string }> = {
  'pcapplusplus/frag_http_req.pcap': { tcpFrames: 0, reason: 'IPv4 fragments: tshark reassembles them and counts the reassembled segment; conncheck counts fragments and does not reassemble' },
  'zeek/ipv4/fragmented-syn.pcap': { tcpFrames: 0, reason: 'IPv4 fragments (a SYN split in two), reassembled by tshark only' },
  'zeek/ipv4/fragmented-4.pcap': { tcpFrames: 2, reason: 'IPv4 fragments (overlapping): tshark reassembles one more segment' },
  'suricata-verify/bug-6887-defrag-ipv4-tcp-syn.pcap': { tcpFrames: 0, reason: 'IPv4 fragments, reassembled by tshark only' },
  'suricata-verify/bug-6887-defrag-eth-vlan-ipv6-tcp.pcap': { tcpFrames: 0, reason: 'IPv6 fragments, reassembled by tshark only' },
  'libpcap/AH-IPcomp-IPv4.pcap': { tcpFrames: 6, reason: 'AH + IPComp (protocol 108): the TCP inside is DEFLATE-compressed; tshark inflates it, conncheck does not (the AH + IP-in-IP frames are decoded)' },
  'libpcap/AH-IPcomp-IPv6.pcap': { tcpFrames: 8, reason: 'as AH-IPcomp-IPv4, over IPv6' },
  'pcapplusplus/tcp-malformed.pcap': { tcpFrames: 0, reason: 'TCP data offset beyond the segment: Malformed here; tshark still assigns a stream index (but marks the frames malformed and leaves them out of its conversation table)' },
  'pcapplusplus/tcp-reassembly.pcap': { tcpFrames: 65, reason: 'frame 66 is an sFlow datagram (UDP) quoting sampled packet headers, which tshark dissects as TCP' },
  'suricata-verify/tcp-session-decode-malformed-ipv4.pcap': { tcpFrames: 11, reason: 'an IPv4 Security option of length 2: tshark throws (it wants 11 bytes); the option list is well-formed TLV and Linux accepts such packets, so the segment is counted' },
};

/** Robustness-set files where we see TCP that tshark 4.0 does not. */
const OVERCOUNT_EXCEPTIONS: Record<string, string> = {
  'suricata-verify/tcp-session-decode-malformed-ipv4.pcap': 'see EXCEPTIONS',
  'tcpdump/bigtcp-ipv6.pcap': 'IPv6 BIG TCP (payload length 0, no jumbo option): tshark 4.0 throws, the segment is sound',
  ...Object.fromEntries(
    ['ipv4-geneve-ipv4', 'ipv4-geneve-ipv6', 'ipv4-vxlan-ipv4', 'ipv4-vxlan-ipv6', 'ipv6-geneve-ipv4', 'ipv6-geneve-ipv6', 'ipv6-vxlan-ipv4', 'ipv6-vxlan-ipv6'].map((shape) => [
      `tcpdump/bigtcp-${shape}.pcap`,
      'BIG TCP through a VXLAN / GENEVE tunnel: a super-packet over 64 KiB, whose outer UDP length field the kernel leaves 0; tshark 4.0 stops at that "bogus" length, tcpdump (whose test file this is) and conncheck bound the inner packet by the outer IP datagram',
    ]),
  ),
};

interface IndexEntry {
  path: string;
  set: 'curated' | 'robustness';
  frames: number;
  tcp_frames: number;
}

interface StreamReference {
  a: string;
  first_frame: number;
  payload_bytes_a_to_b: number;
  payload_bytes_b_to_a: number;
  flags: Record<'syn' | 'synack' | 'fin' | 'rst', { a: number; b: number }>;
}

interface FileSummary {
  tcpFrames: number;
  payloadBytes: number;
  flags: [number, number, number, number];
  firstFrameSources: Map<number, string>;
  decoderErrors: number;
}

function decodeFile(relative: string, firstFrames: Set<number>): FileSummary {
  const view = new PacketView();
  const summary: FileSummary = { tcpFrames: 0, payloadBytes: 0, flags: [0, 0, 0, 0], firstFrameSources: new Map(), decoderErrors: 0 };
  let frame = 0;
  readCaptureSync(path.join(CORPUS, 'public', relative), (linkType, data, caplen, origLen) => {
    frame++;
    const status = decodePacket(linkType, data, caplen, origLen, view);
    if (view.issue === 'decoder-error') summary.decoderErrors++;
    if (status !== DecodeStatus.Tcp) return;
    summary.tcpFrames++;
    summary.payloadBytes += view.payloadLen;
    if (view.flags & TcpFlag.SYN) summary.flags[view.flags & TcpFlag.ACK ? 1 : 0]++;
    if (view.flags & TcpFlag.FIN) summary.flags[2]++;
    if (view.flags & TcpFlag.RST) summary.flags[3]++;
    if (firstFrames.has(frame)) summary.firstFrameSources.set(frame, formatEndpoint(view, 'src'));
  });
  return summary;
}

const index: IndexEntry[] = present ? (JSON.parse(fs.readFileSync(INDEX, 'utf8')) as { files: IndexEntry[] }).files : [];
const curated = index.filter((e) => e.set === 'curated');

(present ? describe : describe.skip)(`decoder against tshark on the corpus${present ? '' : ` (skipped: ${CORPUS} not found)`}`, () => {
  test('every exception names a curated file', () => {
    const names = new Set(curated.map((e) => e.path));
    expect(Object.keys(EXCEPTIONS).filter((p) => !names.has(p))).toEqual([]);
    expect(curated.length).toBeGreaterThan(300);
  });

  test.each(curated.map((e) => [e.path, e] as const))('%s', (relative, entry) => {
    const reference = JSON.parse(fs.readFileSync(path.join(CORPUS, 'reference', `${relative}.json`), 'utf8')) as { tcp_streams: StreamReference[] | null };
    const streams = reference.tcp_streams ?? [];
    const ours = decodeFile(relative, new Set(streams.map((s) => s.first_frame)));
    expect(ours.decoderErrors).toBe(0);

    const exception = EXCEPTIONS[relative];
    if (exception) {
      expect({ tcpFrames: ours.tcpFrames, tshark: entry.tcp_frames }).toEqual({ tcpFrames: exception.tcpFrames, tshark: entry.tcp_frames });
      expect(ours.tcpFrames).not.toBe(entry.tcp_frames); // else the exception is stale: remove it
      return;
    }
    const sum = (f: (s: StreamReference) => number): number => streams.reduce((n, s) => n + f(s), 0);
    expect({
      tcpFrames: ours.tcpFrames,
      payloadBytes: ours.payloadBytes,
      flags: ours.flags,
    }).toEqual({
      tcpFrames: entry.tcp_frames,
      payloadBytes: sum((s) => s.payload_bytes_a_to_b + s.payload_bytes_b_to_a),
      flags: [
        sum((s) => s.flags.syn.a + s.flags.syn.b),
        sum((s) => s.flags.synack.a + s.flags.synack.b),
        sum((s) => s.flags.fin.a + s.flags.fin.b),
        sum((s) => s.flags.rst.a + s.flags.rst.b),
      ],
    });
    for (const s of streams) expect(`${s.first_frame}: ${ours.firstFrameSources.get(s.first_frame)}`).toBe(`${s.first_frame}: ${s.a}`);
  });

  test('robustness set (830 fuzzed and odd tcpdump captures): no decoder errors, never more TCP frames than tshark', () => {
    const overcounts: string[] = [];
    let matching = 0;
    let total = 0;
    for (const entry of index) {
      const ours = decodeFile(entry.path, new Set());
      expect({ file: entry.path, decoderErrors: ours.decoderErrors }).toEqual({ file: entry.path, decoderErrors: 0 });
      total++;
      if (ours.tcpFrames === entry.tcp_frames) matching++;
      else if (ours.tcpFrames > entry.tcp_frames && !OVERCOUNT_EXCEPTIONS[entry.path]) overcounts.push(`${entry.path}: ${ours.tcpFrames} > ${entry.tcp_frames}`);
    }
    expect(overcounts).toEqual([]);
    expect(total).toBe(index.length);
    // Differences are fragments, tunnels in UDP (VXLAN, Geneve, sFlow) and link types out of scope.
    expect(matching / total).toBeGreaterThan(0.95);
  });
});
