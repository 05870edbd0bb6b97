/**
 * The command line as users and nightly jobs meet it: exit codes, one-line errors, stdin,
 * gzip, output formats. Runs the built CLI (npm test builds dist/ first).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { splitPcap } from '../helpers/pcap-writer';

const BIN = path.resolve(__dirname, '../../bin/conncheck');
const SAMPLE = path.resolve(__dirname, '../../samples/keepalive-node-agent.pcap');
const built = fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js'));

function run(args: string[], input?: Buffer) {
  const r = spawnSync(process.execPath, [BIN, ...args], { input, encoding: 'buffer', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conncheck-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

(built ? describe : describe.skip)('conncheck CLI', () => {
  test('a clean capture: summary says so, exit 0', () => {
    const r = run(['analyze', SAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No connection-reuse problems found.');
    expect(r.stdout).toContain('CONNECTIONS: 2');
  });

  test('--format json follows the contract', () => {
    const r = run(['analyze', SAMPLE, '--format', 'json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['input', 'stats', 'flows', 'exchanges', 'anomalies', 'diagnoses']);
    const flows = doc.flows as Array<Record<string, unknown>>;
    for (const key of ['id', 'client', 'server', 'directionInferred', 'start', 'end', 'state', 'history', 'closedBy', 'close', 'packets', 'bytes', 'requests']) {
      expect(flows[0]).toHaveProperty(key);
    }
    expect(flows[0].client).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  test('--format ndjson: one JSON object per line, ending with the summary', () => {
    const r = run(['analyze', SAMPLE, '--format', 'ndjson']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.filter((l) => l.type === 'flow')).toHaveLength(2);
    expect(lines.filter((l) => l.type === 'exchange')).toHaveLength(12);
    expect(lines[lines.length - 1].type).toBe('summary');
  });

  test('stdin ("-") and gzip detected by magic give the same analysis as the file', () => {
    const direct = JSON.parse(run(['analyze', SAMPLE, '--format', 'json']).stdout) as { flows: unknown; exchanges: unknown };
    const piped = JSON.parse(run(['analyze', '-', '--format', 'json'], gzipSync(fs.readFileSync(SAMPLE))).stdout) as { flows: unknown; exchanges: unknown };
    expect(piped.flows).toEqual(direct.flows);
    expect(piped.exchanges).toEqual(direct.exchanges);
  });

  test('stdin ("-") holding more than a pipe does at once gives the same analysis as the file', () => {
    const big = 'samples/load-with-keepalive-races.pcap';
    expect(fs.statSync(big).size).toBeGreaterThan(4 * 65536); // read in many pieces through the pipe
    const direct = JSON.parse(run(['analyze', big, '--format', 'json']).stdout) as { flows: unknown; exchanges: unknown; anomalies: unknown };
    const piped = JSON.parse(run(['analyze', '-', '--format', 'json'], fs.readFileSync(big)).stdout) as { flows: unknown; exchanges: unknown; anomalies: unknown };
    expect(piped.flows).toEqual(direct.flows);
    expect(piped.exchanges).toEqual(direct.exchanges);
    expect(piped.anomalies).toEqual(direct.anomalies);
  });

  test('stdin from a writer that keeps its pipe open: a damaged record ends the analysis and the process at once', async () => {
    // A pcap whose 11th record header claims 2 GiB: the reader stops there with a warning. The
    // writer (like tcpdump -w - on a quiet link) holds the pipe open; conncheck must not wait for
    // its next write (a read of the pipe left waiting on a thread once did).
    const good = fs.readFileSync(SAMPLE);
    let at = 24;
    for (let i = 0; i < 10; i++) at += 16 + good.readUInt32LE(at + 8);
    const bad = Buffer.alloc(16);
    bad.writeUInt32LE(0x7fffffff, 8);
    bad.writeUInt32LE(0x7fffffff, 12);
    const child = spawn(process.execPath, [BIN, 'analyze', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    child.stdin.write(Buffer.concat([good.subarray(0, at), bad, Buffer.alloc(100, 1)]));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const held = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref());
    const outcome = await Promise.race([exited, held]);
    child.stdin.end();
    if (outcome === 'still running') child.kill();
    expect(outcome).toBe(0);
    expect(stderr).toMatch(/warning: -: damaged file/);
  }, 30_000);

  test('-o writes the report to a file', () => {
    const out = path.join(tmp, 'report.json');
    const r = run(['analyze', SAMPLE, '--format', 'json', '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(JSON.parse(fs.readFileSync(out, 'utf8'))).toHaveProperty('flows');
  });

  const badInputs: Array<[string, () => string, RegExp]> = [
    ['not a capture', () => { const f = path.join(tmp, 'notes.txt'); fs.writeFileSync(f, 'hello world\n'); return f; }, /not a pcap or pcapng file/],
    ['missing file', () => path.join(tmp, 'nope.pcap'), /no such file/],
    ['empty file', () => { const f = path.join(tmp, 'empty.pcap'); fs.writeFileSync(f, ''); return f; }, /empty/],
    ['a directory', () => tmp, /directory/],
    ['every packet of a link type conncheck does not read', () => relabelled('user0.pcap', 147), /no packet could be decoded: link type 147 /],
  ];

  /** The sample with its pcap header's link type replaced (as `editcap -T` does). */
  function relabelled(name: string, linkType: number): string {
    const bytes = Buffer.from(fs.readFileSync(SAMPLE));
    expect(bytes.readUInt32LE(0)).toBe(0xa1b23c4d); // little-endian pcap, nanosecond: the link type at offset 20
    bytes.writeUInt32LE(linkType, 20);
    const f = path.join(tmp, name);
    fs.writeFileSync(f, bytes);
    return f;
  }

  test('a file of an unread link type beside a readable one: analyzed, the packets counted as skipped', () => {
    const r = run(['analyze', SAMPLE, relabelled('user0-beside.pcap', 147), '--format', 'json']);
    expect(r.code).toBe(0);
    const stats = (JSON.parse(r.stdout) as { stats: { unsupportedLink: number; tcpPackets: number } }).stats;
    expect(stats.unsupportedLink).toBeGreaterThan(0);
    expect(stats.tcpPackets).toBe(stats.unsupportedLink);
  });
  test.each(badInputs)('bad input (%s): one line on stderr, exit 2, no stack trace', (_name, make, message) => {
    const r = run(['analyze', make()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('-o FILE: written whole on success, and no file at all after exit 2 (a CI publisher must not read an empty report)', () => {
    const report = path.join(tmp, 'report.xml');
    const notCapture = path.join(tmp, 'not-a-capture.txt');
    fs.writeFileSync(notCapture, 'not a capture at all\n');
    const ok = run(['analyze', SAMPLE, '--format', 'junit', '-o', report]);
    expect(ok.code).toBe(0);
    expect(fs.readFileSync(report, 'utf8')).toMatch(/^<\?xml[\s\S]*<\/testsuites>\s*$/);
    const bad = run(['analyze', notCapture, '--format', 'junit', '-o', report]);
    expect(bad.code).toBe(2);
    // Neither an empty file nor the previous run's report left to pass for this one's.
    expect(fs.existsSync(report)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.startsWith('report.xml'))).toEqual([]);
  });

  test('filters that keep nothing (a mistyped --host) say nothing was judged, not that nothing is wrong', () => {
    const r = run(['analyze', SAMPLE, '--host', '10.9.9.9']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Nothing to judge: the filters kept no TCP connection');
    expect(r.stdout).not.toContain('No connection-reuse problems found');
    expect(run(['analyze', SAMPLE, '--host', '10.9.9.9', '--require-coverage']).code).toBe(1);
  });

  test('a file cut mid-record is still analyzed, with a warning', () => {
    const cut = path.join(tmp, 'cut.pcap');
    fs.writeFileSync(cut, fs.readFileSync(SAMPLE).subarray(0, 3000));
    const r = run(['analyze', cut]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*cut short/);
    expect(r.stdout).toMatch(/\d+ packets/);
  });

  test('--require-coverage: a capture of one direction fails the run, saying why; the whole capture passes', () => {
    // The sample with the server's packets left out (Ethernet, IPv4): what `tcpdump dst port 80` writes.
    const bytes = fs.readFileSync(SAMPLE);
    const kept: Buffer[] = [bytes.subarray(0, 24)];
    let serverPort = -1;
    for (let at = 24; at < bytes.length; ) {
      const end = at + 16 + bytes.readUInt32LE(at + 8);
      const ip = at + 16 + 14;
      const tcp = ip + (bytes[ip] & 0x0f) * 4;
      const flags = bytes[tcp + 13];
      if (serverPort < 0 && (flags & 0x12) === 0x02) serverPort = bytes.readUInt16BE(tcp + 2);
      if (bytes.readUInt16BE(tcp) !== serverPort) kept.push(bytes.subarray(at, end));
      at = end;
    }
    const oneWay = path.join(tmp, 'client-side-only.pcap');
    fs.writeFileSync(oneWay, Buffer.concat(kept));
    const plain = run(['analyze', oneWay]);
    expect(plain.code).toBe(0);
    const strict = run(['analyze', oneWay, '--require-coverage']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/^conncheck: --require-coverage: the capture cannot show all it should: \d+ of \d+ connections are in the capture one way only/m);
    const whole = run(['analyze', SAMPLE, '--require-coverage']);
    expect(whole.code).toBe(0);
    expect(whole.stderr).not.toMatch(/require-coverage/);
    // JUnit fails its capture-coverage case where the run fails (it was skipped: green beside a red step).
    const junit = run(['analyze', oneWay, '--require-coverage', '--format', 'junit']);
    expect(junit.code).toBe(1);
    expect(junit.stdout).toMatch(/<testsuite [^>]*failures="1"/);
    expect(junit.stdout).toMatch(/<testcase classname="conncheck.capture" name="capture coverage" time="0">\s*<failure type="coverage" message="--require-coverage: \d+ of \d+ connections are in the capture one way only/);
    expect(run(['analyze', oneWay, '--format', 'junit']).stdout).toMatch(/<testsuite [^>]*failures="0"/);
  });

  test('--require-coverage: a capture that showed nothing fails (header only, filtered to nothing, cut short)', () => {
    const bytes = fs.readFileSync(SAMPLE);
    const headerOnly = path.join(tmp, 'header-only.pcap');
    fs.writeFileSync(headerOnly, bytes.subarray(0, 24));
    const empty = run(['analyze', headerOnly, '--require-coverage', '--fail-on', 'info']);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/--require-coverage: the capture cannot show all it should: no packet was analyzed/);
    expect(run(['analyze', headerOnly, '--fail-on', 'info']).code).toBe(0);
    const after = run(['analyze', SAMPLE, '--since', '2100-01-01T00:00:00Z', '--require-coverage']);
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/the filters .*kept/);
    const cut = path.join(tmp, 'cut-short.pcap');
    fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 7));
    const truncated = run(['analyze', cut, '--require-coverage']);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(/--require-coverage: the capture cannot show all it should: .*cut-short\.pcap is cut short/);
  });

  test('--since/--until: the header says which window was analyzed, and JSON gives it as input.window', () => {
    const whole = JSON.parse(run(['analyze', SAMPLE, '--format', 'json']).stdout);
    expect(whole.input.window).toBeUndefined();
    const first: number = whole.input.firstTs;
    const last: number = whole.input.lastTs;
    const since = first + (last - first) / 2;
    const json = JSON.parse(run(['analyze', SAMPLE, '--format', 'json', '--since', String(since)]).stdout);
    expect(json.input.window).toMatchObject({ since, until: null });
    expect(json.input.window.packets).toBeGreaterThan(0);
    expect(json.input.window.packets).toBeLessThan(json.input.packets);
    expect(json.input.window.firstTs).toBeGreaterThanOrEqual(since);
    expect(json.input.window.lastTs).toBe(last);
    expect(json.input.firstTs).toBe(first); // the capture's own span stays
    const table = run(['analyze', SAMPLE, '--since', String(since)]).stdout;
    expect(table).toMatch(new RegExp(`^window: --since \\S+ \\S+ UTC: ${json.input.window.packets} packets analyzed, `, 'm'));
    expect(run(['analyze', SAMPLE, '--until', String(first - 10)]).stdout).toMatch(/^window: --until .*: no packet within it$/m);
  });

  test.each([
    [['analyze']],
    [['analyze', SAMPLE, '--format', 'yaml']],
    [['analyze', SAMPLE, '--ignore', 'no-such-kind']],
    [['analyze', SAMPLE, '--sample', '0']],
    [['analyze', SAMPLE, '--fail-on', 'critical']],
    [['frobnicate']],
  ])('usage error %j: one line, exit 2', (args) => {
    const r = run(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^conncheck: /);
  });

  describe('a capture rotated into several files (tcpdump -G, -C)', () => {
    /** A classic pcap cut into `pieces` files of as many records each, written under tmp as rot-N.pcap. */
    function rotate(file: string, pieces: number): string[] {
      return splitPcap(fs.readFileSync(file), pieces).map((bytes, i) => {
        const out = path.join(tmp, `rot-${i}.pcap`);
        fs.writeFileSync(out, bytes);
        return out;
      });
    }
    const rotated = rotate(path.resolve(__dirname, '../../samples/dead-upstream-nginx.pcap'), 5);

    test('one file left out: the gap is named and not blamed on kernel drops; connections stopping at it are not "still open"', () => {
      const r = run(['analyze', rotated[0], rotated[1], rotated[3], rotated[4]]);
      expect(r.stdout).toMatch(/warning: the files leave a gap from .* between rot-1\.pcap and rot-3\.pcap: a missing file\?/);
      expect(r.stdout).toMatch(/warning: the capture misses .*: they were live across the gap the files leave/);
      expect(r.stdout).not.toMatch(/dropped by kernel|tcpdump -B/);
      expect(r.stdout).toMatch(/of the connections not closed \(S1, S2, S3\), \d+ stop before a gap between files/);
      // All of them: no gap, nothing about one.
      expect(run(['analyze', ...rotated]).stdout).not.toMatch(/gap/);
    });

    test('explain takes several files, and the ids are those of their analysis', () => {
      const doc = JSON.parse(run(['analyze', ...rotated, '--format', 'json']).stdout) as { anomalies: { id: string }[] };
      expect(doc.anomalies.length).toBeGreaterThan(0);
      const id = doc.anomalies[0].id;
      const r = run(['explain', ...rotated, id]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(new RegExp(`^${id}\\s`));
      const bad = run(['explain', rotated[0]]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^conncheck: explain needs a capture file and a finding or flow id: conncheck explain FILE\.\.\. ID/);
    });
  });

  // --flow narrows the whole report: findings, their counts, the diagnoses and the exit code agree.
  describe('--flow', () => {
    const RACES = path.resolve(__dirname, '../../samples/load-with-keepalive-races.pcap');
    type Doc = {
      stats: { findingsBySeverity: Record<string, number>; flowFilter?: { flowIds: number[]; unmatched: number[]; captureFindingsBySeverity: Record<string, number> } };
      anomalies: { id: string; flowId: number | null; severity: string }[];
      diagnoses: { anomalyIds: string[]; anomaliesInCapture?: number }[];
    };
    const json = (args: string[]): { code: number | null; doc: Doc } => {
      const r = run(['analyze', RACES, '--format', 'json', ...args]);
      return { code: r.code, doc: JSON.parse(r.stdout) as Doc };
    };

    test('one connection with one error: counts, diagnoses, exit code and every format are about it', () => {
      const whole = json([]).doc;
      const { code, doc } = json(['--flow', '5']);
      expect(code).toBe(1);
      expect(doc.anomalies.map((a) => a.flowId)).toEqual([5]);
      expect(doc.stats.findingsBySeverity).toEqual({ info: 0, warning: 0, error: 1 });
      expect(doc.stats.flowFilter).toEqual({ flowIds: [5], unmatched: [], captureFindingsBySeverity: whole.stats.findingsBySeverity });
      const shown = new Set(doc.anomalies.map((a) => a.id));
      expect(doc.diagnoses.length).toBeGreaterThan(0);
      for (const d of doc.diagnoses) {
        expect(d.anomalyIds.every((id) => shown.has(id))).toBe(true);
        expect(d.anomaliesInCapture).toBeGreaterThan(d.anomalyIds.length);
      }
      const table = run(['analyze', RACES, '--flow', '5']);
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/keepalive-race at \S+ — 1 finding shown \(of \d+ in the capture/);
      expect(table.stdout).toContain('FINDINGS (1)');
      const junit = run(['analyze', RACES, '--flow', '5', '--format', 'junit']);
      expect({ code: junit.code, failures: /<testsuites [^>]*failures="(\d+)"/.exec(junit.stdout)?.[1] }).toEqual({ code: 1, failures: '1' });
      const md = run(['analyze', RACES, '--flow', '5', '--format', 'markdown']);
      expect(md.stdout).toMatch(/^## conncheck: 1 error, 0 warnings in /);
      const nd = run(['analyze', RACES, '--flow', '5', '--format', 'ndjson']).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; stats?: Doc['stats'] });
      expect(nd.filter((l) => l.type === 'anomaly')).toHaveLength(1);
      expect(nd.find((l) => l.type === 'summary')?.stats?.findingsBySeverity).toEqual({ info: 0, warning: 0, error: 1 });
    });

    test('a connection whose only finding is info passes the default gate, fails --fail-on info', () => {
      const info = json(['--flow', '24']);
      expect(info.doc.anomalies.map((a) => a.severity)).toEqual(['info']);
      expect(info.code).toBe(0);
      expect(run(['analyze', RACES, '--flow', '24', '--fail-on', 'info']).code).toBe(1);
    });

    test('a flow id that matches no connection: one line, exit 2, no report', () => {
      const r = run(['analyze', RACES, '--flow', '5', '--flow', '999']);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^conncheck: --flow 999: no such connection \(the analysis has 30 connections/);
    });
  });

  test.each([
    [['analyze', SAMPLE, '--flow', 'abc'], "--flow takes flow ids (whole numbers >= 1, see analyze --flows), got 'abc'"],
    [['analyze', SAMPLE, '--flow', '1.5'], "--flow takes flow ids (whole numbers >= 1, see analyze --flows), got '1.5'"],
    [['analyze', SAMPLE, '--top', '-1'], "--top takes a whole number >= 0, got '-1'"],
    [['analyze', SAMPLE, '--top', '1.5'], "--top takes a whole number >= 0, got '1.5'"],
    [['explain', SAMPLE, '0'], "'0' is no flow id: flow ids are whole numbers from 1 (see analyze --flows)"],
  ])('%j: one line, exit 2, says what was given', (args, message) => {
    const r = run(args);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: '', stderr: `conncheck: ${message}\n` });
  });

  test('--top 0 leaves the endpoint table out', () => {
    const r = run(['analyze', SAMPLE, '--top', '0']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('TOP SERVER ENDPOINTS');
  });

  // Checked before tcpdump starts (the interface does not exist either: were it not, the capture
  // would fail on that, with another message).
  test.each([path.join(tmp, 'no-such-dir', 'x.pcap'), path.join(tmp, 'no-such-dir', 'x.pcapng'), tmp])('capture -w %s that cannot be written: one line, exit 2, no stack', (file) => {
    const r = run(['capture', 'conncheck-none0', '-w', file, '--duration', '1']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^conncheck: -w .*: cannot write \((ENOENT|EISDIR)\)/);
  });
});

if (!built) {
  test.skip('conncheck CLI (skipped: dist/ not built; run npm test, which builds first)', () => undefined);
}
