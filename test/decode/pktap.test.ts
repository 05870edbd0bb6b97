import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatEndpoint } from '../../src/decode/address';
import { DecodeStatus } from '../../src/decode/packet-view';
import { analyzeFiles } from '../../src/analyze';
import { buildIpPacket, buildTcpSegment, TCP_ACK, TcpPacketSpec, wrapLink, wrapPktap } from '../helpers/packet-builder';
import { decode, STATUS_NAMES, tcpInvariantViolations } from './decode-helpers';

/**
 * LINKTYPE_PKTAP (258), what macOS's tcpdump writes without `-i` or with `-i pktap`: a
 * little-endian header (length, record type, DLT, interface, process), then the interface's own
 * link layer. Built after the layout tcpdump and Wireshark read; the corpus's real macOS capture
 * (tcpdump/LINKTYPE_PKTAP.pcap, a DNS query on en0) is read at the end.
 */
const PKTAP = 258;
const V4 = { src: '192.168.1.20', dst: '93.184.216.34' };
const V6 = { src: '2001:db8::1', dst: '2001:db8::2' };
const BASE: TcpPacketSpec = { sport: 50123, dport: 80, seq: 1, ack: 2, flags: TCP_ACK, payload: 'x'.repeat(30) };
const ipv4 = (): Uint8Array => buildIpPacket(V4, 6, buildTcpSegment(BASE, V4.src, V4.dst));
const ipv6 = (): Uint8Array => buildIpPacket(V6, 6, buildTcpSegment(BASE, V6.src, V6.dst));

describe('PKTAP (macOS tcpdump without -i)', () => {
  test.each([
    ['Ethernet (en0)', wrapPktap(wrapLink(ipv4()), { dlt: 1 }), '192.168.1.20:50123'],
    ['BSD loopback (lo0), IPv4', wrapPktap(wrapLink(ipv4(), { linkType: 0 }), { dlt: 0, ifname: 'lo0' }), '192.168.1.20:50123'],
    ["BSD loopback (lo0), IPv6 as macOS's family 30", wrapPktap(wrapLink(ipv6(), { linkType: 0, nullFamily: 30 }), { dlt: 0, ifname: 'lo0' }), '[2001:db8::1]:50123'],
    ['raw IP (utun, DLT_RAW 12)', wrapPktap(ipv4(), { dlt: 12, ifname: 'utun3' }), '192.168.1.20:50123'],
    ['a header longer than its fixed part (a later macOS)', wrapPktap(wrapLink(ipv4()), { headerLength: 156 }), '192.168.1.20:50123'],
  ])('%s: the packet behind the header', (_name, frame, client) => {
    const { status, view } = decode(PKTAP, frame);
    expect(STATUS_NAMES[status]).toBe('Tcp');
    expect(formatEndpoint(view, 'src')).toBe(client);
    expect(view.payloadLen).toBe(30);
  });

  test.each([
    ['a record without a packet (PKT_REC_NONE)', wrapPktap(wrapLink(ipv4()), { recordType: 0 }), 'NotTcp', 'not-ip'],
    ['a header length below the fixed part', wrapPktap(wrapLink(ipv4()), { headerLength: 64 }), 'Malformed', 'link-header-invalid'],
    ['a header length past the packet', wrapPktap(new Uint8Array(0), { headerLength: 200 }).subarray(0, 150), 'Malformed', 'link-header-invalid'],
    ['a PKTAP header inside a PKTAP header', wrapPktap(wrapPktap(wrapLink(ipv4())), { dlt: PKTAP }), 'Malformed', 'link-header-invalid'],
    ['an inner link type conncheck does not decode (802.11 radiotap)', wrapPktap(wrapLink(ipv4()), { dlt: 127 }), 'UnsupportedLink', 'unsupported-link-type'],
  ])('%s', (_name, frame, status, issue) => {
    const decoded = decode(PKTAP, frame);
    expect(STATUS_NAMES[decoded.status]).toBe(status);
    expect(decoded.view.issue).toBe(issue);
  });

  test('cut at every length: truncated, never a wrong connection', () => {
    const frame = wrapPktap(wrapLink(ipv4()));
    for (let caplen = 0; caplen < frame.length; caplen++) {
      const { status, view } = decode(PKTAP, frame, caplen, frame.length);
      if (status === DecodeStatus.Tcp) {
        expect(formatEndpoint(view, 'src')).toBe('192.168.1.20:50123');
        expect(tcpInvariantViolations(view, caplen)).toEqual([]);
      } else {
        expect(STATUS_NAMES[status]).toBe('Truncated');
      }
    }
  });

  const corpusFile = path.join(__dirname, '../../../shared/corpus/public/tcpdump/LINKTYPE_PKTAP.pcap');
  const corpusTest = fs.existsSync(corpusFile) ? test : test.skip;
  if (!fs.existsSync(corpusFile)) console.log(`skipped the macOS capture: ${corpusFile} is not there (../shared/corpus is beside the repository in CI)`);
  corpusTest("tcpdump's macOS capture: its one packet (a DNS query over UDP) is decoded and counted as not TCP, as tshark does", async () => {
    const result = await analyzeFiles([corpusFile]);
    expect(result.input.files[0].linkTypes).toEqual([PKTAP]);
    expect(result.stats).toMatchObject({ packets: 1, notTcp: 1, unsupportedLink: 0, malformed: 0, truncated: 0 });
  });
});
