import { formatEndpoint } from '../../src/decode/address';
import { renderTable } from '../../src/report/table';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import { analyzeSample, listSamples } from '../samples';
import { analyzeWithout, beyondWhole } from './sample-without';

/**
 * Captures of one direction: `tcpdump dst port 8080`, a tap or mirror port that sees one
 * direction, replies routed another way. Each sample is cut to its clients' packets, then to its
 * servers', and analyzed. The side left acknowledged packets the capture no longer holds, so every
 * connection that carried data must be counted one way only (AnalysisStats.oneWay) and said so in
 * the report. Nothing may be found that the whole capture does not show: before, a client-only
 * load read as hundreds of requests that failed and were retried (every request unanswered, the
 * next identical one its retry) and the report said no problem was found.
 */

const SAMPLES = listSamples().map((s) => s.name);

/**
 * Findings a capture of one direction shows with reason beyond the whole capture's: a SYN the
 * client sent again because its SYN-ACK was lost after the server-side capture point. The whole
 * capture holds that SYN-ACK and so no unanswered SYN; the client's packets alone show the retry,
 * and the finding says the SYN-ACK is not in the capture.
 */
const SHOWN_ONE_WAY: Record<string, string[]> = {
  'handshake-synack-lost-server-side': ['syn-unanswered 10.55.1.1:50688'],
  // Over a lossy path (2 % loss per wire): SYN-ACKs lost on the way back, and, next to the clients,
  // SYNs lost on the way out, whose lone retry the whole capture tells from a listener's drop by the
  // SYN-ACK's timestamp echo and by the path's other retransmissions, neither of which the clients'
  // packets alone hold.
  'healthy-lossy-path-client-side': ['syn-unanswered 10.55.1.1:34220', 'syn-unanswered 10.55.1.1:47828', 'syn-unanswered 10.55.1.1:55716'],
  'healthy-lossy-path-server-side': ['syn-unanswered 10.55.1.1:47828'],
  // SYN-ACKs dropped on the way back (nft in a router, synack-lost): the clients' packets alone show
  // each SYN sent again and then answered, which no capture of one direction tells from a dropped SYN.
  'synack-lost-client-side': ['syn-unanswered 10.55.1.1:45880', 'syn-unanswered 10.55.1.1:45962', 'syn-unanswered 10.55.1.1:46028'],
  'synack-lost-server-side': ['syn-unanswered 10.55.1.1:45880', 'syn-unanswered 10.55.1.1:45962', 'syn-unanswered 10.55.1.1:46028'],
  // ab over a path losing 3 % each way: the 4 connects that waited out a lost SYN or SYN-ACK mid-run,
  // answered in the end (the whole capture's lone retries on a lossy path, not reported).
  'syn-unanswered-client-stop-ab': ['syn-unanswered 10.91.1.1:59270', 'syn-unanswered 10.91.1.1:59232', 'syn-unanswered 10.91.1.1:58830', 'syn-unanswered 10.91.1.1:58714'],
  'healthy-lossy-path-heavy': [
    'syn-unanswered 10.55.1.1:58736', 'syn-unanswered 10.55.1.1:58744', 'syn-unanswered 10.55.1.1:37998',
    'syn-unanswered 10.55.1.1:38038', 'syn-unanswered 10.55.1.1:44214', 'syn-unanswered 10.55.1.1:44102',
  ],
};

describe.each(SAMPLES)('%s captured one way', (name) => {
  test('whole: no connection counted one way; each direction alone: every connection with data counted, nothing found beyond the whole', async () => {
    const whole = await analyzeSample(name);
    expect(whole.stats.oneWay).toEqual({ clientOnly: 0, serverOnly: 0 });
    const servers = new Set(whole.flows.map((f) => f.server));
    for (const kept of ['client', 'server'] as const) {
      const part = await analyzeWithout(name, (v) => servers.has(formatEndpoint(v, 'src')) !== (kept === 'server'));
      const flows = part.flows.filter((f) => f.sameConnectionAs === null);
      expect(flows.every((f) => (kept === 'client' ? f.packets.server : f.packets.client) === 0)).toBe(true);
      const counted = kept === 'client' ? part.stats.oneWay.clientOnly : part.stats.oneWay.serverOnly;
      const other = kept === 'client' ? part.stats.oneWay.serverOnly : part.stats.oneWay.clientOnly;
      const withData = flows.filter((f) => f.bytes[kept] > 0).length;
      expect(other).toBe(0);
      expect(counted).toBeGreaterThanOrEqual(withData);
      expect(counted).toBeLessThanOrEqual(flows.length);
      const beyond = beyondWhole(part, whole);
      expect(beyond).toEqual(kept === 'client' ? SHOWN_ONE_WAY[name] ?? [] : []);
    }
  });
});

describe('a load captured from its client side only', () => {
  test('no request reads as failed and retried; the report warns and does not call the capture clean', async () => {
    const name = 'healthy-load-node-ab';
    const whole = await analyzeSample(name);
    const servers = new Set(whole.flows.map((f) => f.server));
    const part = await analyzeWithout(name, (v) => servers.has(formatEndpoint(v, 'src')));
    expect(part.stats.oneWay.clientOnly).toBe(whole.stats.connections);
    expect(part.exchanges.length).toBeGreaterThan(100);
    // No response is in the capture, yet none of the requests is called unanswered: its answer cannot show.
    expect(part.exchanges.every((e) => e.state === 'no-response' && e.uncertain)).toBe(true);
    expect(part.anomalies).toEqual([]);
    const endpoints = new EndpointSummary();
    for (const f of part.flows) endpoints.addFlow(f);
    for (const e of part.exchanges) endpoints.addExchange(e, part.flows.find((f) => f.id === e.flowId)?.server ?? '');
    const text = renderTable(part, { flows: false, endpoints, top: 5 });
    expect(text).toContain(`warning: ${whole.stats.connections} of ${whole.stats.connections} connections are in the capture one way only (${whole.stats.connections} with only the client's packets)`);
    expect(text).toContain('No connection-reuse problems found, but none could be: every connection is in the capture one way only');
    expect(text).not.toContain('No connection-reuse problems found.');
    expect(endpoints.top(1)[0].unanswered).toBe(0);
  });
});
