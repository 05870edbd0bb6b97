import * as path from 'node:path';
import { analyzeFiles, collectFlowPackets } from '../../src/analyze';
import { buildLadder } from '../../src/report/ladder-model';
import { readProxyHeader } from '../../src/http/proxy-protocol';
import { Capture, get, ok } from '../detect/reuse-kit';
import { SAMPLES_DIR } from '../samples';

/**
 * The PROXY protocol header (HAProxy's spec, versions 1 and 2) a proxy or load balancer writes
 * before the client's bytes: read off the client's stream (src/http/proxy-protocol.ts, called by
 * analyze.ts), its addresses kept in flows[].proxyProtocol, and the HTTP after it parsed.
 * samples/keepalive-race-proxy-protocol.pcap is HAProxy send-proxy-v2 in front of nginx.
 */

const bytes = (...parts: (number[] | string)[]): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'latin1')] : p)));
const SIGNATURE = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
/** A version 2 header: command (0 LOCAL, 1 PROXY), family, address block, TLVs. */
const v2 = (command: number, family: number, addresses: number[], tlvs: number[] = []): number[] => {
  const length = addresses.length + tlvs.length;
  return [...SIGNATURE, 0x20 | command, family, length >> 8, length & 0xff, ...addresses, ...tlvs];
};
// 10.1.2.3:4660 -> 10.9.8.7:80 (every byte below 0x80: the scripted connections carry text)
const TCP4 = [10, 1, 2, 3, 10, 9, 8, 7, 0x12, 0x34, 0x00, 0x50];
const TCP6 = [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 0x01, 0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 0x02, 0xc0, 0x01, 0x01, 0xbb];

describe('readProxyHeader', () => {
  test.each([
    ['v1 TCP4', bytes('PROXY TCP4 198.51.100.7 10.0.0.5 51234 443\r\nGET / HTTP/1.1\r\n'), { version: 1, source: '198.51.100.7:51234', destination: '10.0.0.5:443', length: 44 }],
    ['v1 TCP6', bytes('PROXY TCP6 2001:DB8::7 2001:db8::5 51234 80\r\n'), { version: 1, source: '[2001:db8::7]:51234', destination: '[2001:db8::5]:80', length: 45 }],
    ['v1 UNKNOWN (a health check)', bytes('PROXY UNKNOWN\r\n'), { version: 1, source: null, destination: null, length: 15 }],
    ['v2 PROXY TCP over IPv4', bytes(v2(1, 0x11, TCP4)), { version: 2, source: '10.1.2.3:4660', destination: '10.9.8.7:80', length: 28 }],
    ['v2 PROXY TCP over IPv6', bytes(v2(1, 0x21, TCP6)), { version: 2, source: '[2001:db8::1]:49153', destination: '[2001:db8::2]:443', length: 52 }],
    ['v2 with TLVs (AWS NLB adds its endpoint id)', bytes(v2(1, 0x11, TCP4, [0xea, 0, 4, 0x01, 0x61, 0x62, 0x63])), { version: 2, source: '10.1.2.3:4660', destination: '10.9.8.7:80', length: 35 }],
    ['v2 LOCAL (the proxy\'s own health check)', bytes(v2(0, 0x00, [])), { version: 2, source: null, destination: null, length: 16 }],
    ['v2 over a UNIX socket family', bytes(v2(1, 0x31, new Array<number>(216).fill(0x41))), { version: 2, source: null, destination: null, length: 232 }],
  ])('%s', (_name, data, expected) => {
    expect(readProxyHeader(data, 0, data.length)).toEqual(expected);
  });

  test.each([
    ['an HTTP request', bytes('GET / HTTP/1.1\r\n\r\n')],
    ['a request for the PROXY method without CRLF in 107 bytes', bytes(`PROXY ${'x'.repeat(120)}\r\n`)],
    ['v1 with a bad address', bytes('PROXY TCP4 300.1.1.1 10.0.0.5 1 2\r\n')],
    ['v1 with a bad port', bytes('PROXY TCP4 1.1.1.1 10.0.0.5 1 70000\r\n')],
    ['v1 with a bare LF', bytes('PROXY TCP4 1.1.1.1 10.0.0.5 1 2\n')],
    ['v2 version 1 in the version nibble', bytes([...SIGNATURE, 0x11, 0x11, 0, 12, ...TCP4])],
    ['v2 with an unknown command', bytes([...SIGNATURE, 0x22, 0x11, 0, 12, ...TCP4])],
    ['v2 cut inside its fixed part', bytes(SIGNATURE, [0x21, 0x11])],
  ])('not a header: %s', (_name, data) => {
    expect(readProxyHeader(data, 0, data.length)).toBeNull();
  });

  test('reads at an offset inside a larger buffer', () => {
    const data = bytes('xxxx', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n');
    expect(readProxyHeader(data, 4, data.length - 4)?.source).toBe('1.2.3.4:1');
  });
});

describe('the analysis reads the header off and parses the HTTP after it', () => {
  test('v1 in the same segment as the request', () => {
    const cap = new Capture();
    const conn = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 }).handshake(0);
    conn.request(0.01, `PROXY TCP4 198.51.100.7 10.0.0.2 51234 80\r\n${get('/a')}`).response(0.02, ok());
    const result = cap.analyze([]);
    expect(result.exchanges.map((e) => [e.method, e.uri, e.status])).toEqual([['GET', '/a', 200]]);
    // Frames 1-3 are the handshake: the header came with the request, in frame 4.
    expect(result.flows[0].proxyProtocol).toEqual({ version: 1, source: '198.51.100.7:51234', destination: '10.0.0.2:80', frame: 4 });
    expect(result.stats.http.proxyProtocolConnections).toBe(1);
  });

  test('v2 in a segment of its own, then keep-alive requests', () => {
    const cap = new Capture();
    const conn = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 }).handshake(0);
    conn.send(0.005, 'c', Buffer.from(bytes(v2(1, 0x11, TCP4))).toString('latin1'));
    conn.request(0.01, get('/a')).response(0.02, ok()).request(1.01, get('/b')).response(1.02, ok());
    const result = cap.analyze([]);
    expect(result.exchanges.map((e) => [e.uri, e.state])).toEqual([['/a', 'complete'], ['/b', 'complete']]);
    expect(result.flows[0].proxyProtocol).toEqual({ version: 2, source: '10.1.2.3:4660', destination: '10.9.8.7:80', frame: 4 });
    expect(result.stats.http.notHttpDirections).toBe(0);
  });

  test('a v2 header longer than its first segment is skipped across segments', () => {
    const header = Buffer.from(bytes(v2(1, 0x11, TCP4, [0x04, 0, 40, ...new Array<number>(40).fill(0x61)]))).toString('latin1');
    const cap = new Capture();
    const conn = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 }).handshake(0);
    conn.send(0.005, 'c', header.slice(0, 30));
    conn.request(0.01, header.slice(30) + get('/split')).response(0.02, ok());
    const result = cap.analyze([]);
    expect(result.exchanges.map((e) => [e.uri, e.state])).toEqual([['/split', 'complete']]);
    expect(result.flows[0].proxyProtocol?.source).toBe('10.1.2.3:4660');
    expect(result.flows[0].proxyProtocol?.frame).toBe(4); // where the header starts, not where it ends
  });

  test('TLS after the header is still recognised (a load balancer passing TLS through)', () => {
    const cap = new Capture();
    const conn = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 443 }).handshake(0);
    conn.send(0.005, 'c', Buffer.from(bytes(v2(1, 0x11, TCP4))).toString('latin1'));
    conn.send(0.006, 'c', Buffer.from(bytes([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])).toString('latin1'));
    const result = cap.analyze([]);
    expect(result.stats.http.tlsConnections).toBe(1);
    expect(result.flows[0].proxyProtocol?.version).toBe(2);
  });

  test('"PROXY" later in a stream is not a header', () => {
    const cap = new Capture();
    const conn = cap.connection({ server: '10.0.0.3', sport: 8080 }).handshake(0);
    conn.request(0.01, get('/a')).response(0.02, ok()).request(0.03, 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n\r\n');
    const result = cap.analyze([]);
    expect(result.flows[0].proxyProtocol).toBeNull();
    expect(result.exchanges[1]?.method).toBe('PROXY'); // a (strange) request, as any other method token
  });
});

test('keepalive-race-proxy-protocol: each backend connection names the front-leg client it serves', async () => {
  const result = await analyzeFiles([path.join(SAMPLES_DIR, 'keepalive-race-proxy-protocol.pcap')]);
  const front = result.flows.filter((f) => f.server === '127.0.0.2:8080');
  const back = result.flows.filter((f) => f.server === '127.0.0.3:9001');
  expect(back.length).toBe(front.length);
  expect(back.map((f) => f.proxyProtocol?.source).sort()).toEqual(front.map((f) => f.client).sort());
  expect(front.every((f) => f.proxyProtocol === null)).toBe(true);
  // Every backend request parsed (version 2 used to make the whole direction "not HTTP").
  expect(result.stats.http.giveUps['not-http']).toBe(0);
  expect(result.anomalies.filter((a) => a.kind === 'keepalive-race' && a.server === '127.0.0.3:9001').length).toBe(2);
  // The header's own segment (HAProxy writes it alone) is the frame named.
  for (const f of back) expect(f.proxyProtocol?.frame).toBeGreaterThan(0);
});

test('the ladder of a backend connection labels the PROXY header\'s packet with the client it names', async () => {
  const file = path.join(SAMPLES_DIR, 'keepalive-race-proxy-protocol.pcap');
  const result = await analyzeFiles([file]);
  const flow = result.flows.find((f) => f.proxyProtocol !== null);
  if (flow === undefined || flow.proxyProtocol === null) throw new Error('no proxied flow');
  const packets = (await collectFlowPackets([file], [{ id: flow.id, client: flow.client, server: flow.server, start: flow.start, end: flow.end }])).get(flow.id);
  if (packets === undefined) throw new Error('no packets');
  const ladder = buildLadder({ flow, packets, exchanges: result.exchanges, findings: [] });
  const row = ladder.rows.find((r) => r.type === 'packet' && r.frame === flow.proxyProtocol?.frame);
  expect(JSON.stringify(row)).toContain(`PROXY v2 header: for ${flow.proxyProtocol.source}`);
});
