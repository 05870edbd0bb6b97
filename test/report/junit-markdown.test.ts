/**
 * `--format junit` and `--format markdown`: golden outputs on samples (a race, a proxy timeout,
 * a clean capture), valid XML whatever the capture holds, and escaping of capture text.
 */
import { spawnSync } from 'node:child_process';
import { renderJunit } from '../../src/report/junit';
import { renderMarkdown } from '../../src/report/markdown';
import { escapeXml } from '../../src/report/xml-escape';
import { hostileResult } from './hostile-result';
import { analyzeSample, checkOrphans, expectGolden } from './report-golden';

const SAMPLES = ['keepalive-race-stale', 'gateway-timeout-nginx', 'keepalive-node-agent'];

const python = spawnSync('python3', ['--version']).status === 0;

/** Parses XML with Python's standard library; returns its complaint, or null when well-formed. */
function xmlProblem(xml: string): string | null {
  const r = spawnSync('python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.fromstring(sys.stdin.buffer.read())'], { input: xml, encoding: 'utf8' });
  return r.status === 0 ? null : r.stderr.trim().split('\n').pop() ?? 'parse error';
}

describe('junit: golden outputs', () => {
  test.each(SAMPLES)('%s', async (name) => {
    expectGolden('junit', `${name}.xml`, renderJunit(await analyzeSample(name), 'error'));
  });
  test('no orphaned goldens', () => checkOrphans('junit', SAMPLES.map((s) => `${s}.xml`)));
});

describe('markdown: golden outputs', () => {
  test.each(SAMPLES)('%s', async (name) => {
    expectGolden('markdown', `${name}.md`, renderMarkdown(await analyzeSample(name)));
  });
  test('no orphaned goldens', () => checkOrphans('markdown', SAMPLES.map((s) => `${s}.md`)));
});

const hostile = hostileResult;

describe('junit: structure', () => {
  test('one case per (kind, server); failures only for what reaches --fail-on', () => {
    const xml = renderJunit(hostile(), 'warning');
    expect(xml).toMatch(/<testsuites name="conncheck" tests="2" failures="1" errors="0"/);
    expect(xml).toMatch(/<testcase classname="conncheck.keepalive-race" name="keepalive-race at 10.0.0.2:80" time="0">\s*<failure type="keepalive-race"/);
    expect(xml).toMatch(/<testcase classname="conncheck.rst-on-close"[^>]*>\s*<system-out>/);
    expect(renderJunit(hostile(), 'none')).toMatch(/failures="0"/);
  });

  test('a capture with no findings still has one passing case', async () => {
    const xml = renderJunit(await analyzeSample('keepalive-node-agent'), 'info');
    expect(xml).toMatch(/tests="1" failures="0"/);
    expect(xml).toContain('<testcase classname="conncheck" name="no connection-reuse problems"');
  });

  test('capture text is escaped: nothing but the report is markup', () => {
    const xml = renderJunit(hostile(), 'error');
    expect(xml).not.toContain('<script>');
    expect(xml).toContain('&lt;script&gt;alert(&quot;x&quot;)'); // in the failure message attribute
    expect(xml).toContain('&lt;script&gt;alert("x")'); // in the failure text
    expect(xml).not.toMatch(/[\u0001\ud800]/);
  });

  (python ? test : test.skip)('well-formed XML (checked by Python\'s parser), hostile input included', async () => {
    expect(xmlProblem(renderJunit(hostile(), 'error'))).toBeNull();
    for (const name of SAMPLES) expect(xmlProblem(renderJunit(await analyzeSample(name), 'info'))).toBeNull();
    // The check itself can fail.
    expect(xmlProblem('<a><b></a>')).not.toBeNull();
  });

  test('escapeXml covers the five special characters and forbidden code points', () => {
    expect(escapeXml('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&#39;');
    expect(escapeXml('a\u0000b\u0008c\td\ne')).toBe('a\ufffdb\ufffdc\td\ne');
    expect(escapeXml('\ud83d\ude00')).toBe('\ud83d\ude00');
    expect(escapeXml('x\udc00')).toBe('x\ufffd');
  });
});

describe('markdown: structure', () => {
  test('diagnoses come first, then findings, connections, capture', async () => {
    const result = await analyzeSample('keepalive-race-stale');
    const md = renderMarkdown(result);
    const at = (s: string): number => md.indexOf(s);
    expect(md).toMatch(/^## conncheck: 2 errors, \d+ warnings?(, \d+ info)? in keepalive-race-stale\.pcap\n/);
    expect(at('### **ERROR** keepalive-race at `127.0.0.1:8080`')).toBeGreaterThan(0);
    expect(at(`### Findings (${result.anomalies.length})`)).toBeGreaterThan(at('**What to change.**'));
    expect(at('### Connections')).toBeGreaterThan(at('### Findings'));
    expect(at('### Capture')).toBeGreaterThan(at('### Connections'));
    expect(md).toMatch(/\| `keepalive-race#1` \| error \| .* \| 6 15 16 17 \|/);
  });

  test('capture text cannot break the table or inject HTML; detector code spans stay code', () => {
    const md = renderMarkdown(hostile());
    const row = md.split('\n').find((l) => l.startsWith('| `keepalive-race#1`')) ?? '';
    // Six cells: the pipe in the URI is escaped.
    expect(row.split(/(?<!\\)\|/).length - 2).toBe(6);
    expect(md).not.toContain('<script>');
    expect(md).toContain('&lt;script&gt;');
    expect(md).toContain('\\*bold\\*');
    expect(md).toContain('set `keepalive_timeout` lower');
  });
});
