import { AnalysisResult, Analyzer } from '../../src/analyze';
import { decodePacket } from '../../src/decode/decode-packet';
import { DecodeStatus, PacketView } from '../../src/decode/packet-view';
import { DETECTORS } from '../../src/detect/registry';
import { readCapture } from '../../src/source/open-capture';
import { listSamples } from '../samples';

/**
 * The sample without the packets `drop` picks, analyzed as the CLI would (frames renumbered as in
 * the file left). `kept` hears each packet left, with its new frame number.
 */
export async function analyzeWithout(
  name: string,
  drop: (view: PacketView, data: Uint8Array, originalFrame: number) => boolean,
  kept?: (frame: number, view: PacketView) => void,
): Promise<AnalysisResult> {
  const sample = listSamples().find((s) => s.name === name);
  if (sample === undefined) throw new Error(`no sample ${name}`);
  const analyzer = new Analyzer({ detectors: DETECTORS });
  const view = new PacketView();
  let frame = 0;
  let originalFrame = 0;
  const info = await readCapture(sample.file, (p) => {
    originalFrame++;
    const tcp = decodePacket(p.linkType, p.data, p.caplen, p.origLen, view) === DecodeStatus.Tcp;
    if (tcp && drop(view, p.data, originalFrame)) return;
    analyzer.packet({ frame: ++frame, ts: p.ts, caplen: p.caplen, origLen: p.origLen, linkType: p.linkType, data: p.data });
    if (tcp) kept?.(frame, view);
  });
  analyzer.addFile(info);
  return analyzer.finish();
}

/**
 * Findings of the lossy capture that the whole one does not have, by kind and connection (its
 * client; a server's for a server-wide kind). A retry by the request that failed: a load of
 * identical requests offers several new connections' first requests as its retry, and the
 * capture losing the first one's response moves the choice to the next.
 */
export function beyondWhole(lossy: AnalysisResult, whole: AnalysisResult): string[] {
  const key = (f: AnalysisResult['anomalies'][number]): string =>
    `${f.kind} ${f.kind === 'retried-request' ? `after ${String(f.evidence.failedOn)}` : f.client ?? f.server ?? ''}`;
  const seen = new Set(whole.anomalies.map(key));
  return lossy.anomalies.map(key).filter((k) => !seen.has(k));
}
