import { existsSync } from 'node:fs';
import path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import type { DetectorDefinition } from '../../src/detect/detector';
import { Alpn } from '../../src/http/tls-hello';

/**
 * The TLS hello reader (src/http/tls-hello.ts) on third parties' captures: every TLS connection of
 * the public corpus whose hellos are in it, against what tshark 4.0 reads from the same hellos:
 *
 *   tshark -r FILE -d tcp.port==PORT,tls -Y 'tls.handshake.type == 1 || tls.handshake.type == 2' \
 *     -T fields -e tcp.srcport -e tls.handshake.type -e tls.handshake.extensions_alpn_str \
 *     -e tls.handshake.extensions.supported_version
 *
 * (ALPN names other than h2 and http/1.1, such as spdy/3.1 and h2-14, are "other" here.)
 */
const PUBLIC = path.resolve(__dirname, '../../../shared/corpus/public');
const present = existsSync(PUBLIC);

interface Hellos {
  /** The ClientHello was read to the end of its extensions (always asserted). */
  complete?: boolean;
  offered: string[];
  /** The protocol the server chose in clear (a TLS 1.2 ServerHello), null for none; undefined: not asserted. */
  chosen?: string | null;
  /** Whether the server chose TLS 1.3; undefined: not asserted. */
  tls13?: boolean;
}

const EXPECTED: Array<{ file: string; client: string; hellos: Hellos }> = [
  { file: 'pcapplusplus/example.pcap', client: '10.0.0.6:57601', hellos: { offered: [], chosen: null, tls13: false } },
  { file: 'pcapplusplus/example.pcap', client: '10.0.0.6:36448', hellos: { offered: [], chosen: null, tls13: false } },
  { file: 'pcapplusplus/many_interfaces-1.pcapng', client: '192.168.1.139:50981', hellos: { offered: ['h2', 'http/1.1', 'other'], chosen: 'h2', tls13: false } },
  // This connection's ServerHello comes before its ClientHello in the file (interfaces merged out of order): only the offer is read.
  { file: 'pcapplusplus/many_interfaces-1.pcapng', client: '192.168.1.139:50982', hellos: { offered: ['h2', 'http/1.1', 'other'] } },
  { file: 'suricata-verify/bug-1450-04.pcap', client: '127.0.0.1:50802', hellos: { offered: [], chosen: null, tls13: false } },
  { file: 'suricata-verify/linktype-228.pcap', client: '192.168.0.2:15057', hellos: { offered: [], chosen: null, tls13: false } },
  { file: 'suricata-verify/tcp-empty-sack.pcap', client: '192.168.0.54:49506', hellos: { offered: ['h2', 'http/1.1'], chosen: 'http/1.1', tls13: false } },
  { file: 'suricata-verify/tcp-fastopen-11-reject-syn-data.pcap', client: '192.168.0.44:57282', hellos: { offered: ['h2', 'http/1.1'], chosen: null, tls13: true } },
  { file: 'zeek/pppoe-over-qinq.pcap', client: '1.1.1.1:20394', hellos: { offered: ['h2', 'http/1.1', 'other'], chosen: null, tls13: false } },
  { file: 'zeek/tls/openjdk-25.0.2-zeek.org.pcap', client: '192.168.64.6:55058', hellos: { offered: ['h2', 'http/1.1'], chosen: null, tls13: true } },
];

function names(bits: number): string[] {
  return [[Alpn.H2, 'h2'], [Alpn.Http11, 'http/1.1'], [Alpn.Other, 'other']].filter(([bit]) => (bits & (bit as number)) !== 0).map(([, name]) => name as string);
}

/** Each TLS connection's hellos as read, by client endpoint. */
async function hellosOf(file: string): Promise<Map<string, Hellos>> {
  const found = new Map<string, Hellos>();
  const probe: DetectorDefinition = {
    id: 'unanswered-request', // any registered id: only its hooks run here
    meta: { description: 'probe', severity: 'info', messages: {} },
    create: () => ({
      onConnectionEnd(conn) {
        const tls = conn.app?.tls;
        if (tls === null || tls === undefined) return;
        const server = tls.server.hello;
        found.set(conn.clientName, {
          complete: tls.client.hello.complete,
          offered: names(tls.client.hello.alpn),
          chosen: server.complete ? (names(server.alpn)[0] ?? null) : undefined,
          tls13: server.complete ? server.tls13 : undefined,
        });
      },
    }),
  };
  await analyzeFiles([path.join(PUBLIC, file)], { detectors: [probe] });
  return found;
}

(present ? describe : describe.skip)(`TLS hellos on the public corpus, against tshark 4.0${present ? '' : ` (skipped: ${PUBLIC} not found)`}`, () => {
  test.each(EXPECTED)('$file $client', async ({ file, client, hellos }) => {
    const read = (await hellosOf(file)).get(client);
    expect(read).toBeDefined();
    expect(read?.complete).toBe(true);
    expect(read?.offered).toEqual(hellos.offered);
    if (hellos.chosen !== undefined) expect(read?.chosen).toBe(hellos.chosen);
    if (hellos.tls13 !== undefined) expect(read?.tls13).toBe(hellos.tls13);
  });

  test('every TLS connection of these files is listed above (each of their ClientHellos read whole)', async () => {
    const files = [...new Set(EXPECTED.map((e) => e.file))];
    for (const file of files) {
      const read = [...(await hellosOf(file)).keys()].sort();
      expect(read).toEqual(EXPECTED.filter((e) => e.file === file).map((e) => e.client).sort());
    }
  });
});
