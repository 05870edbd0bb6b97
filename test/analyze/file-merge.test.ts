import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AnalysisResult, analyzeFiles, locateFrames } from '../../src/analyze';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { SAMPLES_DIR } from '../samples';

/**
 * Files captured at the same time, one per interface or host, are analyzed as one capture merged
 * by time (source/capture-merge.ts). Each sample here, recorded through a proxy or across address
 * translation, is cut into one file per server port, as two tcpdumps on a proxy's two sides
 * would write it; the analysis of those files must be the analysis of the whole capture, frame
 * numbers included. Read one after the other, as before the merge, a proxy's upstream legs came
 * after its downstream legs were judged: haproxy's and Apache's forwarded requests were reported
 * as keep-alive races the proxy lost, the translated views of a connection were not paired
 * (its findings reported twice), and nginx's 502s were taken for an intermittent failure.
 */

const SAMPLES = [
  'keepalive-race-haproxy', // the proxy's legs: 127.0.0.2:8080 downstream, 10.99.0.2:9001 upstream
  'keepalive-race-apache-proxy',
  'keepalive-race-nginx-upstream',
  'keepalive-race-nat-any-no-timestamps', // one connection seen before (10.96.0.10:80) and after (10.98.1.2:8080) DNAT
  'gateway-timeout-nginx',
  'no-upstream-connect-haproxy',
];

const mergecap = spawnSync('mergecap', ['-v'], { timeout: 10_000 }).status === 0;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-merge-samples-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The sample's records (a little-endian pcap), one file per server port of the connections, written beside each other. */
function splitByServerPort(sample: string, serverPorts: ReadonlySet<number>): string[] {
  const data = fs.readFileSync(path.join(SAMPLES_DIR, `${sample}.pcap`));
  const linkType = data.readUInt32LE(20);
  const view = new PacketView();
  const byPort = new Map<number, Buffer[]>();
  for (let o = 24; o + 16 <= data.length; ) {
    const caplen = data.readUInt32LE(o + 8);
    const record = data.subarray(o, o + 16 + caplen);
    let port = -1;
    if (decodePacket(linkType, record.subarray(16), caplen, data.readUInt32LE(o + 12), view) === DecodeStatus.Tcp) {
      port = serverPorts.has(view.dstPort) ? view.dstPort : serverPorts.has(view.srcPort) ? view.srcPort : -1;
    }
    let records = byPort.get(port);
    if (records === undefined) byPort.set(port, (records = []));
    records.push(record);
    o += 16 + caplen;
  }
  return [...byPort].map(([port, records]) => {
    const file = path.join(dir, `${sample}.${port}.pcap`);
    fs.writeFileSync(file, Buffer.concat([data.subarray(0, 24), ...records]));
    return file;
  });
}

/** The analysis without its `input` section (file names and counts differ). */
const analysis = (r: AnalysisResult): unknown => ({ flows: r.flows, exchanges: r.exchanges, anomalies: r.anomalies, diagnoses: r.diagnoses });

describe.each(SAMPLES)('%s cut into one file per server port', (sample) => {
  let whole: AnalysisResult;
  let parts: string[];
  beforeAll(async () => {
    whole = await analyzeFiles([path.join(SAMPLES_DIR, `${sample}.pcap`)]);
    const ports = new Set(whole.flows.map((f) => Number(f.server.slice(f.server.lastIndexOf(':') + 1))));
    parts = splitByServerPort(sample, ports);
  });

  test('is analyzed as the whole capture, frames included', async () => {
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(whole.anomalies.length).toBeGreaterThan(0);
    const merged = await analyzeFiles([...parts].reverse());
    expect(merged.input.filesMerged).toBe(true);
    expect(merged.input.files.reduce((n, f) => n + f.records, 0)).toBe(whole.input.files[0].records);
    expect(merged.stats.timestampsBackwards).toBe(0);
    expect(analysis(merged)).toEqual(analysis(whole));
  });

  test('numbers frames as mergecap numbers them in the file it writes', async () => {
    if (!mergecap) {
      console.warn('skipped: mergecap not found (apt-get install wireshark-common); the comparison with its merge did not run');
      return;
    }
    const merged = await analyzeFiles(parts);
    const file = path.join(dir, `${sample}.mergecap.pcap`);
    const order = merged.input.files.map((f) => path.join(dir, f.name));
    // Nanosecond pcap: the samples' precision (mergecap's default pcap is microseconds).
    const r = spawnSync('mergecap', ['-F', 'nsecpcap', '-w', file, ...order], { timeout: 60_000 });
    expect(r.status).toBe(0);
    expect(analysis(await analyzeFiles([file]))).toEqual(analysis(merged));
  });

  test('a second read (explain, ladders) finds the frames where the analysis put them', async () => {
    const frames = [...new Set(whole.anomalies.flatMap((a) => a.frames))].slice(0, 50);
    expect([...(await locateFrames(parts, frames)).entries()]).toEqual([...(await locateFrames([path.join(SAMPLES_DIR, `${sample}.pcap`)], frames)).entries()]);
  });
});
