/** An analysis result whose capture text is hostile: markup, control characters, lone surrogates. */
import type { AnalysisResult } from '../../src/analyze';
import type { Finding } from '../../src/detect/finding';

export const NASTY = 'GET /a|b<script>alert("x")</script>&`rm -rf`\u0001\ud800 *bold* [link](http://x)';

export function hostileResult(): AnalysisResult {
  const finding: Finding = {
    id: 'keepalive-race#1', kind: 'keepalive-race', severity: 'error', flowId: 1, client: '10.0.0.1:5000', server: '10.0.0.2:80',
    ts: 1_700_000_000, summary: NASTY, evidence: {}, frames: [3, 4],
  };
  const info: Finding = { ...finding, id: 'rst-on-close#1', kind: 'rst-on-close', severity: 'info', summary: 'ok' };
  return {
    input: {
      files: [{ name: 'x<b>.pcap', format: 'pcap', gzip: false, linkTypes: [1], tsResolution: ['us'], snaplen: 65535, records: 4, snaplenCut: 0, droppedByCapture: null, warnings: [], notes: [], truncated: false }],
      filesReordered: false, filesMerged: false, packets: 4, firstTs: 1_700_000_000, lastTs: 1_700_000_001, duration: 1,
    },
    stats: {
      packets: 4, tcpPackets: 4, tcpWithoutPayload: 3, tcpWithoutControl: 2, notTcp: 0, fragments: 0, truncated: 0, malformed: 0, unsupportedLink: 0, decodeIssues: {}, tunneled: {}, snaplenCut: 0,
      timestampsBackwards: 0, duplicates: 0, connections: 1, connectionsByState: { RSTR: 1 }, oneWay: { clientOnly: 0, serverOnly: 0 }, captureLoss: { connections: 0, bytes: 0 }, peakLiveConnections: 1, natTwins: 0, natTranslations: [], portReusesUnseen: 0, connectionsEvicted: 0, reassemblyRefused: 0,
      sampledOut: 0, filteredOut: 0, exchanges: 1, httpConnections: 1, http: {} as AnalysisResult['stats']['http'],
      findingsBySeverity: { info: 1, warning: 0, error: 1 }, findingsNotKept: {},
    },
    flows: [],
    exchanges: [],
    anomalies: [finding, info],
    diagnoses: [{
      kind: 'keepalive-race', severity: 'error', server: '10.0.0.2:80', count: 1, inferred: {},
      explanation: `saw ${NASTY}`, remedy: 'set `keepalive_timeout` lower', anomalyIds: ['keepalive-race#1'],
    }],
  };
}
