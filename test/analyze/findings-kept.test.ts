import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { DEFAULT_DETECT_OPTIONS } from '../../src/detect/detector';
import type { Finding } from '../../src/detect/finding';
import { reachesFailOn } from '../../src/cli/fail-on';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import { renderTable } from '../../src/report/table';

/** Five unanswered requests (error), one finding each. */
const SAMPLE = path.resolve(__dirname, '../../samples/unanswered-request-timeout.pcap');

describe('findings past maxFindingsKept are streamed and counted, not kept', () => {
  test('the first ones are kept; every one is streamed and counted by kind and severity', async () => {
    const all = await analyzeFiles([SAMPLE]);
    expect(all.anomalies).toHaveLength(5);
    expect(all.stats.findingsBySeverity).toEqual({ info: 0, warning: 0, error: 5 });
    expect(all.stats.findingsNotKept).toEqual({});

    const streamed: Finding[] = [];
    const capped = await analyzeFiles([SAMPLE], { detect: { ...DEFAULT_DETECT_OPTIONS, maxFindingsKept: 2 }, onFinding: (f) => streamed.push(f) });
    expect(capped.anomalies.map((f) => f.id)).toEqual(all.anomalies.slice(0, 2).map((f) => f.id));
    expect(streamed.map((f) => f.id)).toEqual(all.anomalies.map((f) => f.id));
    expect(capped.stats.findingsBySeverity).toEqual({ info: 0, warning: 0, error: 5 });
    expect(capped.stats.findingsNotKept).toEqual({ 'unanswered-request': 3 });
    // The diagnosis still covers all five (it is built from the detector's own samples).
    expect(capped.diagnoses.find((d) => d.kind === 'unanswered-request')?.count).toBe(5);
    const table = renderTable(capped, { flows: false, endpoints: new EndpointSummary(), top: 5 });
    expect(table).toContain('warning: 3 findings past the first 2 were counted and streamed, not kept for this report (unanswered-request 3)');
  });

  test('with flowIds (--flow) the counts are those connections\' findings, kept or not', async () => {
    const all = await analyzeFiles([SAMPLE]);
    const flows = [...new Set(all.anomalies.map((a) => a.flowId as number))].slice(-2);
    // Two kept, of other connections: the two shown are past the bound, counted all the same.
    const capped = await analyzeFiles([SAMPLE], { flowIds: flows, detect: { ...DEFAULT_DETECT_OPTIONS, maxFindingsKept: 2 } });
    expect(capped.anomalies).toEqual([]);
    expect(capped.stats.findingsBySeverity).toEqual({ info: 0, warning: 0, error: 2 });
    expect(capped.stats.findingsNotKept).toEqual({ 'unanswered-request': 2 });
    expect(capped.stats.flowFilter).toEqual({ flowIds: [...flows].sort((a, b) => a - b), unmatched: [], captureFindingsBySeverity: { info: 0, warning: 0, error: 5 } });
    expect(reachesFailOn(capped.anomalies, 'error', capped.stats.findingsBySeverity)).toBe(true);
  });

  test('--fail-on counts the findings that were not kept', async () => {
    const none = await analyzeFiles([SAMPLE], { detect: { ...DEFAULT_DETECT_OPTIONS, maxFindingsKept: 0 } });
    expect(none.anomalies).toEqual([]);
    expect(reachesFailOn(none.anomalies, 'error')).toBe(false);
    expect(reachesFailOn(none.anomalies, 'error', none.stats.findingsBySeverity)).toBe(true);
  });
});
