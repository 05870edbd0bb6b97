import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import type { Finding } from '../../src/detect/finding';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import { renderTable } from '../../src/report/table';

const SAMPLE = path.resolve(__dirname, '../../samples/syn-unanswered.pcap');

function finding(i: number, kind: Finding['kind'], server: string): Finding {
  return { id: `${kind}#${i}`, kind, severity: 'error', flowId: i, client: `10.0.0.1:${40000 + i}`, server, ts: 1795299660 + i, summary: `finding ${i}`, evidence: {}, frames: [i] };
}

describe('table report', () => {
  test('lists at most 10 findings per kind and server, and counts the rest in one line', async () => {
    const result = await analyzeFiles([SAMPLE]);
    result.anomalies = [
      ...Array.from({ length: 25 }, (_, i) => finding(i + 1, 'syn-unanswered', '10.0.0.2:80')),
      ...Array.from({ length: 3 }, (_, i) => finding(i + 1, 'connection-refused', '10.0.0.3:81')),
    ];
    result.diagnoses = [];
    const text = renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5, width: 120 });
    expect(text).toContain('FINDINGS (28)');
    expect(text).toContain('syn-unanswered#10');
    expect(text).not.toContain('syn-unanswered#11 ');
    expect(text).toContain('connection-refused#3');
    expect(text).toContain('… and 15 more syn-unanswered at 10.0.0.2:80');
    expect(text).not.toContain('more connection-refused');
  });

  test('a diagnosis\'s header counts its findings, not what its count counts (6 failed responses of one intermittent-5xx finding)', async () => {
    const result = await analyzeFiles([SAMPLE]);
    result.anomalies = [finding(1, 'intermittent-5xx', '10.0.0.2:80')];
    result.diagnoses = [{ kind: 'intermittent-5xx', severity: 'warning', server: '10.0.0.2:80', count: 6, inferred: {}, explanation: 'e', remedy: 'r', anomalyIds: ['intermittent-5xx#1'] }];
    const text = renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5, width: 120 });
    expect(text).toContain('[WARNING] intermittent-5xx at 10.0.0.2:80 — 1 finding\n');
  });

  test('several diagnoses: one line each (severity, kind, server, findings, inferred values) before their prose; one diagnosis: no overview', async () => {
    const result = await analyzeFiles([SAMPLE]);
    result.anomalies = [finding(1, 'keepalive-race', '10.0.0.2:80'), finding(2, 'keepalive-race', '10.0.0.2:80'), finding(3, 'connection-refused', '10.0.0.3:8003')];
    const race = { value: 3, samples: 4, spread: 0.005 };
    result.diagnoses = [
      { kind: 'keepalive-race', severity: 'error', server: '10.0.0.2:80', count: 2, inferred: { serverIdleTimeout: race }, explanation: 'e', remedy: 'r', anomalyIds: ['keepalive-race#1', 'keepalive-race#2'] },
      { kind: 'connection-refused', severity: 'warning', server: '10.0.0.3:8003', count: 1, inferred: {}, explanation: 'e', remedy: 'r', anomalyIds: ['connection-refused#3'] },
    ];
    const text = renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5, width: 120 });
    expect(text).toContain(
      'DIAGNOSES\n' +
        '  ERROR   keepalive-race      10.0.0.2:80    2 findings  serverIdleTimeout ≈ 3 s\n' +
        '  WARNING connection-refused  10.0.0.3:8003  1 finding\n\n' +
        '[ERROR] keepalive-race at 10.0.0.2:80',
    );
    result.diagnoses = result.diagnoses.slice(0, 1);
    expect(renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5, width: 120 })).toContain('DIAGNOSES\n[ERROR] keepalive-race at 10.0.0.2:80');
  });

  test('findings one diagnosis gathers fold as one group, whatever their server endpoints (a port scan\'s probes)', async () => {
    const result = await analyzeFiles([SAMPLE]);
    result.anomalies = Array.from({ length: 30 }, (_, i) => finding(i + 1, 'connection-refused', `10.0.0.3:${2001 + i}`));
    result.diagnoses = [
      { kind: 'connection-refused', severity: 'info', server: '10.0.0.3', count: 30, inferred: {}, explanation: 'a port scan', remedy: '-', anomalyIds: result.anomalies.map((f) => f.id) },
    ];
    const text = renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5, width: 120 });
    expect(text).toContain('connection-refused#10');
    expect(text).not.toContain('connection-refused#11 ');
    expect(text).toContain('… and 20 more connection-refused at 10.0.0.3 (');
  });

  test('a capture through a NAT: the translation named, the second views marked, endpoints counted once', async () => {
    const result = await analyzeFiles([path.resolve(__dirname, '../../samples/keepalive-race-nat-any.pcap')]);
    const endpoints = new EndpointSummary();
    for (const f of result.flows) endpoints.addFlow(f);
    const text = renderTable(result, { flows: true, endpoints, top: 5, width: 160 });
    expect(text).toContain('4 seen again after address translation (analyzed once)');
    expect(text).toContain('address translation seen: 10.98.0.1 → 10.96.0.10:80 seen as 10.98.0.1 → 10.98.1.2:8080 (4 connections)');
    expect(text).toMatch(/│ 2 =1 +│/);
    expect(text).toContain('(=N: the same connection as N');
    expect(text).toContain('TOP SERVER ENDPOINTS (1 of 1)');
    expect(text).not.toContain('twice: packets the capture holds twice');
  });

  test('a capture holding every packet twice: said on the skipped line and per flow', async () => {
    const result = await analyzeFiles([path.resolve(__dirname, '../../samples/keepalive-race-bridge-any.pcap')]);
    const text = renderTable(result, { flows: true, endpoints: new EndpointSummary(), top: 5, width: 160 });
    expect(text).toContain(`skipped: ${result.stats.duplicates} captured twice (the same packet on two interfaces)`);
    expect(text).toContain('(5/5 twice)');
    expect(text).toContain('(twice: packets the capture holds twice');
    expect(text).not.toContain('(=N:');
  });

  test('the "direction inferred" note only under a flows table with a row marked * (blind round 15: printed under every one)', async () => {
    const whole = await analyzeFiles([path.resolve(__dirname, '../../samples/pipelining.pcap')]);
    expect(whole.flows.some((f) => f.directionInferred)).toBe(false);
    const plain = renderTable(whole, { flows: true, endpoints: new EndpointSummary(), top: 5, width: 160 });
    expect(plain).toContain('FLOWS');
    expect(plain).not.toContain('direction inferred');
    // A capture begun mid-stream: its rows are marked, and the note says why.
    const midstream = await analyzeFiles([path.resolve(__dirname, '../../samples/midstream-start.pcap')]);
    expect(midstream.flows.some((f) => f.directionInferred)).toBe(true);
    const marked = renderTable(midstream, { flows: true, endpoints: new EndpointSummary(), top: 5, width: 160 });
    expect(marked).toMatch(/│ \d+\* /);
    expect(marked).toContain('(* direction inferred: no SYN seen)');
  });

  test('an endpoint that carried no HTTP (memcached) shows no request counts, not zeros', async () => {
    const result = await analyzeFiles([path.resolve(__dirname, '../../samples/keepalive-race-memcached.pcap')]);
    const endpoints = new EndpointSummary();
    for (const f of result.flows) endpoints.addFlow(f);
    const text = renderTable(result, { flows: false, endpoints, top: 5, width: 160 });
    expect(text).toMatch(/│ 10\.99\.0\.2:11211 │ 13 +│ - +│ - +│ - +│ 0 +│ 12 +│/);
    expect(text).toContain('-: no HTTP request seen (TLS, a protocol conncheck does not parse');
    // An HTTP endpoint keeps its numbers.
    const http = await analyzeFiles([path.resolve(__dirname, '../../samples/keepalive-race-nginx.pcap')]);
    const httpEndpoints = new EndpointSummary();
    for (const f of http.flows) httpEndpoints.addFlow(f);
    for (const ex of http.exchanges) httpEndpoints.addExchange(ex, '127.0.0.1:8080');
    const httpText = renderTable(http, { flows: false, endpoints: httpEndpoints, top: 5, width: 160 });
    expect(httpText).toMatch(/│ 127\.0\.0\.1:8080 +│ 4 +│ 6 +│ 0 +│ 2 +│/);
    expect(httpText).not.toContain('no HTTP request seen');
  });

  test('refused attempts have their own column, apart from the resets of accepted connections', async () => {
    const result = await analyzeFiles([path.resolve(__dirname, '../../samples/connection-refused-two-outages.pcap')]);
    const endpoints = new EndpointSummary();
    for (const f of result.flows) endpoints.addFlow(f);
    const refused = result.flows.filter((f) => f.server === '127.0.0.1:8080' && f.state === 'REJ').length;
    expect(refused).toBeGreaterThan(0);
    const text = renderTable(result, { flows: false, endpoints, top: 5, width: 160 });
    expect(text).toContain('│ refused │ server resets │');
    expect(text).toMatch(new RegExp(`│ 127\\.0\\.0\\.1:8080 +│ \\d+ +│ [\\d-]+ +│ [\\d-]+ +│ [\\d-]+ +│ ${refused} +│ 0 +│`));
  });

  test('a capture with nothing wrong says so in one line', async () => {
    const result = await analyzeFiles([path.resolve(__dirname, '../../samples/keepalive-node-agent.pcap')]);
    const text = renderTable(result, { flows: false, endpoints: new EndpointSummary(), top: 5 });
    expect(text).toContain('No connection-reuse problems found.');
    expect(text).not.toContain('FINDINGS');
  });
});

describe('the endpoint table counts requests answered only after their client gave up as unanswered (blind round 13: "unanswered 0" beside unanswered-request errors)', () => {
  /** The endpoints as the CLI fills them: streamed exchanges, then each connection's flow. */
  const endpointsOf = async (sample: string): Promise<EndpointSummary> => {
    const endpoints = new EndpointSummary();
    await analyzeFiles([path.resolve(__dirname, `../../samples/${sample}.pcap`)], {
      onExchange: (ex, ends) => endpoints.addExchange(ex, ends.server),
      onFlow: (flow) => endpoints.addFlow(flow),
    });
    return endpoints;
  };

  test('clients that timed out and reset the late answers: each counted', async () => {
    const [e] = (await endpointsOf('unanswered-request-client-timeouts')).top(1);
    expect(e.unanswered).toBe(9);
  });

  test('near misses: a half-close answered after the client FIN, and a clean keep-alive run', async () => {
    for (const sample of ['half-close', 'clean-keepalive-reuse']) {
      const [e] = (await endpointsOf(sample)).top(1);
      expect(e.unanswered).toBe(0);
    }
  });
});
