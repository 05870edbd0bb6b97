/**
 * `conncheck explain`: golden ladder diagrams (text, no colour) of findings and flows of samples,
 * the 80-column promise, the colour rules, and one-line errors for ids that do not exist.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXPLAIN_DEFAULTS, explainText } from '../../src/cli/explain-command';
import { UsageError } from '../../src/cli/output';
import { wantsColour } from '../../src/report/ansi';
import { checkOrphans, expectGolden, samplePath } from './report-golden';

const CASES: Array<{ sample: string; id: string }> = [
  { sample: 'keepalive-race-stale', id: 'keepalive-race#1' },
  { sample: 'keepalive-race-stale', id: '3' },
  { sample: 'zero-window-stall', id: 'zero-window-stall#1' },
  { sample: 'gateway-timeout-nginx', id: 'unanswered-request#1' },
];

const goldenName = (c: { sample: string; id: string }): string => `${c.sample}.${c.id.replace('#', '-')}.txt`;

function explain(sample: string, id: string, colour = false): Promise<string> {
  return explainText({ ...EXPLAIN_DEFAULTS, files: [samplePath(sample)], id }, colour);
}

describe('explain: golden ladders', () => {
  test.each(CASES.map((c) => [c.sample, c.id] as const))('%s %s', async (sample, id) => {
    expectGolden('explain', goldenName({ sample, id }), await explain(sample, id));
  });

  test('no orphaned goldens', () => {
    checkOrphans('explain', CASES.map(goldenName));
  });
});

describe('explain: what the ladder shows', () => {
  test('a stale reuse is told at its decisive packets', async () => {
    const text = await explain('keepalive-race-stale', 'keepalive-race#1');
    const line = (frame: number): string => text.split('\n').find((l) => l.startsWith(String(frame).padStart(7))) ?? '';
    expect(line(15)).toMatch(/FIN,ACK.*server idle 2\.00\d s → FIN/);
    expect(line(16)).toMatch(/PSH,ACK len=74.*GET \/cart\/7/);
    expect(text.replace(/\n {18}│ {26}│ {1,3}/g, ' ')).toMatch(/request 29\.2 ms after the FIN, ACKs it: stale reuse/);
    expect(line(17)).toMatch(/RST.*RST: the request is lost/);
    expect(text).toContain('frame.number in {6 15 16 17}');
    expect(text).toContain('Diagnosis: keepalive-race at 127.0.0.1:8080');
  });

  test('a status line the snaplen cut (`HTTP/1.1 2`) is drawn as its class, not as 200', async () => {
    const text = await explain('snaplen-96-ipv6-keepalive-race', 'keepalive-race#1');
    const line = (frame: number): string => text.split('\n').find((l) => l.startsWith(String(frame).padStart(7))) ?? '';
    expect(line(6)).toMatch(/PSH,ACK len=206 ─│ 2xx$/);
    expect(text).not.toMatch(/│ 200/);
  });

  test('an idle close by RST with no FIN (MariaDB) and a request crossing it', async () => {
    const text = (await explain('keepalive-race-mariadb', 'keepalive-race#1')).replace(/\n {18}│ {26}│ {1,3}/g, ' ');
    expect(text).toMatch(/RST,ACK.*server idle 2\.00\d s → RST, no FIN/);
    expect(text).toMatch(/PSH,ACK len=94.*request 9\.5 ms after the RST that closed it: crossing/);
    expect(text).not.toMatch(/after the FIN/);
  });

  test('a bulk transfer is one row per run', async () => {
    // Notes wrapped onto continuation lines, joined back.
    const text = (await explain('zero-window-stall', 'zero-window-stall#1')).replace(/\n {18}│ {26}│ {1,3}/g, ' ');
    expect(text).toMatch(/×14 PSH,ACK 56\.0 KiB/);
    expect(text).toMatch(/frames 20–47 over .*14 ACKs/);
    expect(text).toMatch(/ACK win=0 .*client window 0: it stopped/);
  });

  test('every line fits 80 columns and plain text has no escape codes', async () => {
    for (const c of CASES) {
      const text = await explain(c.sample, c.id);
      for (const l of text.split('\n')) expect([...l].length).toBeLessThanOrEqual(80);
      expect(text).not.toContain('\u001b[');
    }
  });

  test('colour when asked: ANSI codes, same text underneath', async () => {
    const plain = await explain('keepalive-race-stale', 'keepalive-race#1');
    const coloured = await explain('keepalive-race-stale', 'keepalive-race#1', true);
    expect(coloured).toContain('\u001b[1;31m');
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(plain);
  });

  test('colour only on a terminal, never with NO_COLOR or TERM=dumb', () => {
    expect(wantsColour({ isTTY: true }, {})).toBe(true);
    expect(wantsColour({ isTTY: false }, {})).toBe(false);
    expect(wantsColour({}, {})).toBe(false);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColour({ isTTY: true }, { NO_COLOR: '' })).toBe(true);
    expect(wantsColour({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
  });

  test('unknown or malformed ids are usage errors naming what exists', async () => {
    await expect(explain('zero-window-stall', 'keepalive-race#1')).rejects.toThrow(/no finding keepalive-race#1 .*zero-window-stall#1/);
    await expect(explain('zero-window-stall', '99')).rejects.toThrow(/no flow 99 .*1 connection/);
    await expect(explain('zero-window-stall', 'race')).rejects.toBeInstanceOf(UsageError);
    await expect(explainText({ ...EXPLAIN_DEFAULTS, files: ['-'], id: '1' }, false)).rejects.toThrow(/not stdin/);
  });
});

const BIN = path.resolve(__dirname, '../../bin/conncheck');
const built = fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js'));

(built ? describe : describe.skip)('explain on the command line', () => {
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  test('prints the ladder, exit 0, no colour into a pipe', () => {
    const r = run(['explain', samplePath('keepalive-race-stale'), 'keepalive-race#2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('flow 2: client 127.0.0.1:45304 → server 127.0.0.1:8080');
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stderr).toBe('');
  });

  test('a bad id: one line on stderr, exit 2', () => {
    const r = run(['explain', samplePath('keepalive-race-stale'), 'nope#1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^conncheck: no finding nope#1/);
  });
});

describe('explain: a reset the path sent in a side\'s name (blind round 17, s04)', () => {
  test('the state\'s meaning names the path, not "server reset", beside "reset by the path"', async () => {
    const text = await explain('middlebox-idle-reset-nat', 'middlebox-idle-timeout#1');
    expect(text.replace(/\s+/g, ' ')).toMatch(/RSTR \(a RST in the server's name, sent by the path\)/);
    expect(text).not.toMatch(/RSTR \(server reset\)/);
  });

  test('a label naming the other side keeps its meaning (the server did reset, after the path reset it in the client\'s name)', async () => {
    const text = await explain('reset-before-response-firewall-bytes-server-side', 'reset-before-response#1');
    expect(text.replace(/\s+/g, ' ')).toMatch(/RSTR \(server reset\) .* reset by the path in the client's name \(IP TTL 64, the client's packets 63\)/);
  });
});
