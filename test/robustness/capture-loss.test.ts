import { AnalysisResult, Analyzer } from '../../src/analyze';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView, TcpFlag } from '../../src/decode/packet-view';
import { DETECTORS } from '../../src/detect/registry';
import { readCapture } from '../../src/source/open-capture';
import { analyzeSample, listSamples } from '../samples';

/**
 * Packets a capture misses (a busy host's tcpdump drops them: "packets dropped by kernel"). Here
 * the servers' FINs of real keep-alive race samples are taken out, as a capture that dropped them
 * would hold them. A FIN takes a sequence number, so it still shows: the server's RST one past its
 * last byte, or the client's acknowledgement of that number (Endpoint.finUnseen). The races are
 * then still races, not resets by a dying server (reset-before-response), as they were before.
 */

const SAMPLES = listSamples();

/** The sample without the packets `drop` picks, analyzed as the CLI would (frames renumbered as in the file left). */
async function analyzeWithout(name: string, drop: (view: PacketView) => boolean): Promise<AnalysisResult> {
  const sample = SAMPLES.find((s) => s.name === name);
  if (sample === undefined) throw new Error(`no sample ${name}`);
  const analyzer = new Analyzer({ detectors: DETECTORS });
  const view = new PacketView();
  let frame = 0;
  const info = await readCapture(sample.file, (p) => {
    if (decodePacket(p.linkType, p.data, p.caplen, p.origLen, view) === DecodeStatus.Tcp && drop(view)) return;
    analyzer.packet({ frame: ++frame, ts: p.ts, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, data: p.data });
  });
  analyzer.addFile(info);
  return analyzer.finish();
}

const ofKind = (r: AnalysisResult, kind: string): string[] => r.anomalies.filter((f) => f.kind === kind).map((f) => f.client ?? '');

describe.each(['keepalive-race-gunicorn', 'keepalive-race-go-client', 'keepalive-race-node-fetch', 'keepalive-race-nginx', 'keepalive-race-stale'])(
  '%s without the servers\' FINs',
  (name) => {
    test('the same keep-alive races, none taken for a dying server', async () => {
      const whole = await analyzeSample(name);
      const serverPorts = new Set(whole.flows.map((f) => Number(f.server.slice(f.server.lastIndexOf(':') + 1))));
      let dropped = 0;
      const lossy = await analyzeWithout(name, (v) => {
        const fin = (v.flags & TcpFlag.FIN) !== 0 && serverPorts.has(v.srcPort);
        if (fin) dropped++;
        return fin;
      });
      expect(dropped).toBeGreaterThan(0);
      expect(ofKind(whole, 'keepalive-race').length).toBeGreaterThan(0);
      expect(ofKind(lossy, 'keepalive-race').sort()).toEqual(ofKind(whole, 'keepalive-race').sort());
      expect(ofKind(lossy, 'reset-before-response')).toEqual([]);
    });
  },
);
