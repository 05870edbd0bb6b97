/**
 * `--format html`: one self-contained page. Checked as text (nothing loaded from outside,
 * capture text escaped, a ladder per finding up to the cap), then rendered in headless Chromium
 * (Debian's `chromium` package): the DOM Chromium built holds every diagram, and the screenshot
 * shows them (severity colours, the two vertical lines of a ladder).
 *
 * Without Chromium the rendering tests skip with a message. Set CONNCHECK_SCREENSHOTS=DIR to
 * keep the screenshots for a look.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { htmlLadders } from '../../src/cli/analyze-command';
import { EndpointSummary } from '../../src/report/endpoint-summary';
import { MAX_LADDERS, renderHtml } from '../../src/report/html';
import { hostileResult, NASTY } from './hostile-result';
import { readPng } from './png';
import { analyzeSample, samplePath } from './report-golden';

const SAMPLES = ['keepalive-race-crossing', 'gateway-timeout-nginx', 'keepalive-node-agent'];

async function report(name: string): Promise<{ html: string; findings: number }> {
  const result = await analyzeSample(name);
  const endpoints = new EndpointSummary();
  for (const f of result.flows) endpoints.addFlow(f);
  const serverOf = new Map(result.flows.map((f) => [f.id, f.server]));
  for (const ex of result.exchanges) endpoints.addExchange(ex, serverOf.get(ex.flowId) ?? '?');
  const ladders = await htmlLadders([samplePath(name)], result);
  return { html: renderHtml(result, { ladders, endpoints }), findings: result.anomalies.length };
}

const count = (text: string, re: RegExp): number => (text.match(re) ?? []).length;

describe('html report as a file', () => {
  test.each(SAMPLES)('%s: self-contained, one ladder per finding', async (name) => {
    const { html, findings } = await report(name);
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    // Nothing fetched: no scripts, stylesheets, images, fonts or URLs but the SVG namespace.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\//);
    expect(count(html, /<svg [^>]*class="ladder"/g)).toBeGreaterThanOrEqual(Math.min(findings, MAX_LADDERS));
    expect(count(html, /<article class="finding/g)).toBe(findings);
    expect(html).toContain('<section id="response-times">');
  });

  test('a race page has the idle-gap chart with the inferred timeout marked', async () => {
    const { html } = await report('keepalive-race-crossing');
    expect(html).toMatch(/<section id="idle">.*<svg [^>]*class="chart".*serverIdleTimeout ≈ 3\.00\d s/s);
    expect(html).toMatch(/<section id="timeline">.*<circle /s);
  });

  test('capture text is escaped', () => {
    const html = renderHtml(hostileResult());
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('x<b>.pcap');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).not.toMatch(/[\u0001\ud800]/);
    expect(html).toContain('<code>keepalive_timeout</code>');
    expect(NASTY).toContain('<script>');
  });
});

function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => !!c);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return c;
  }
  return null;
}

const chromium = findChromium();
if (!chromium) {
  // A plain message, not a failure: CI installs chromium (.ci/run); a developer may not have it.
  console.warn('chromium not found: the HTML rendering tests are skipped (apt-get install chromium)');
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-html-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs headless Chromium on a local file with nothing that reaches the network. */
function runChromium(args: string[], page: string): { status: number | null; stdout: string; stderr: string } {
  const profile = fs.mkdtempSync(path.join(tmp, 'profile-'));
  const r = spawnSync(
    chromium as string,
    [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, ...args, `file://${page}`,
    ],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function screenshot(page: string, png: string, height: number): ReturnType<typeof readPng> {
  const r = runChromium([`--screenshot=${png}`, `--window-size=1100,${height}`], page);
  if (!fs.existsSync(png)) throw new Error(`chromium wrote no screenshot (exit ${r.status}): ${r.stderr.slice(-500)}`);
  const keep = process.env.CONNCHECK_SCREENSHOTS;
  if (keep) {
    fs.mkdirSync(keep, { recursive: true });
    fs.copyFileSync(png, path.join(keep, path.basename(png)));
  }
  return readPng(fs.readFileSync(png));
}

type Rgb = [number, number, number];
const near = (a: Rgb, b: Rgb, tolerance = 16): boolean => a.every((v, i) => Math.abs(v - b[i]) <= tolerance);

function pixelsNear(img: ReturnType<typeof readPng>, colour: Rgb): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (near(img.rgb(x, y), colour)) n++;
  return n;
}

function distinctColours(img: ReturnType<typeof readPng>): number {
  const seen = new Set<number>();
  for (let y = 0; y < img.height; y += 2) for (let x = 0; x < img.width; x += 2) {
    const [r, g, b] = img.rgb(x, y);
    seen.add((r << 16) | (g << 8) | b);
  }
  return seen.size;
}

/** Columns holding a tall vertical line of a colour: a ladder's client and server lines. */
function verticalLines(img: ReturnType<typeof readPng>, colour: Rgb, minLength: number): number[] {
  const columns: number[] = [];
  for (let x = 0; x < img.width; x++) {
    let run = 0;
    let best = 0;
    for (let y = 0; y < img.height; y++) {
      run = near(img.rgb(x, y), colour, 24) ? run + 1 : 0;
      if (run > best) best = run;
    }
    if (best >= minLength) columns.push(x);
  }
  return columns;
}

const ERROR_RED: Rgb = [0xc6, 0x28, 0x28];
const GOOD_GREEN: Rgb = [0x2e, 0x7d, 0x32];
const LIFELINE: Rgb = [0x37, 0x42, 0x4c];

(chromium ? describe : describe.skip)('html report rendered by headless Chromium', () => {
  test.each(SAMPLES)('%s: the DOM Chromium built holds every diagram; the page shows them', async (name) => {
    const { html, findings } = await report(name);
    const page = path.join(tmp, `${name}.html`);
    fs.writeFileSync(page, html);

    const dom = runChromium(['--dump-dom'], page);
    expect(dom.status).toBe(0);
    // Every SVG and shape of the source became an element: no markup broke the parser.
    expect(count(dom.stdout, /<svg /g)).toBe(count(html, /<svg /g));
    expect(count(dom.stdout, /<svg [^>]*class="ladder"/g)).toBe(count(html, /<svg [^>]*class="ladder"/g));
    expect(count(dom.stdout, /<polygon /g)).toBe(count(html, /<polygon /g));
    expect(count(dom.stdout, /<rect /g)).toBe(count(html, /<rect /g));

    const top = screenshot(page, path.join(tmp, `${name}.png`), 1400);
    expect(top.width).toBe(1100);
    expect(top.height).toBe(1400);
    expect(distinctColours(top)).toBeGreaterThan(50);
    if (findings > 0) expect(pixelsNear(top, ERROR_RED)).toBeGreaterThan(200);
    else {
      expect(pixelsNear(top, ERROR_RED)).toBe(0);
      expect(pixelsNear(top, GOOD_GREEN)).toBeGreaterThan(50);
    }

    if (findings > 0) {
      // The findings alone, so that the first ladder is on screen.
      const only = path.join(tmp, `${name}.findings.html`);
      fs.writeFileSync(only, html.replace('</style>', 'header,.cards,#diagnoses,#timeline,#idle,#response-times,#findings>table{display:none}</style>'));
      const ladders = screenshot(only, path.join(tmp, `${name}.findings.png`), 900);
      const lines = verticalLines(ladders, LIFELINE, 150);
      // Two lines of 2 px: client and server, about 280 px apart.
      expect(lines.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...lines) - Math.min(...lines)).toBeGreaterThan(200);
    }
  });
});
