/**
 * Ctrl-C on `tcpdump -w - | conncheck analyze -` (src/cli/stdin-interrupt.ts): the report of what
 * was captured, not an empty exit. Each test first writes more than a pipe holds and waits for its
 * write to complete: conncheck has then begun reading, so its handlers are in place.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { GRACE_MS } from '../../src/cli/stdin-interrupt';

const BIN = path.resolve(__dirname, '../../bin/conncheck');
/** A capture larger than a pipe's 64 KiB. */
const SAMPLE = path.resolve(__dirname, '../../samples/healthy-load-apache-ab.pcap');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The sample cut after its records' first `share` of bytes (at a record boundary), and the rest. */
function split(bytes: Buffer, share: number): [Buffer, Buffer] {
  let at = 24;
  while (at < bytes.length * share) at += 16 + bytes.readUInt32LE(at + 8);
  return [bytes.subarray(0, at), bytes.subarray(at)];
}

function start(): { child: ChildProcessWithoutNullStreams; done: Promise<Outcome> } {
  const child = spawn(process.execPath, [BIN, 'analyze', '-', '--format', 'json'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // the child may be gone before the writer
  const done = new Promise<Outcome>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const written = (child: ChildProcessWithoutNullStreams, bytes: Buffer): Promise<void> =>
  new Promise((resolve, reject) => child.stdin.write(bytes, (err) => (err ? reject(err) : resolve())));

/** Ends the child if a test left it running, so that a failure does not hang the run. */
function bounded(child: ChildProcessWithoutNullStreams, done: Promise<Outcome>): Promise<Outcome> {
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return done.finally(() => clearTimeout(timer));
}

const whole = fs.readFileSync(SAMPLE);
const [head, tail] = split(whole, 0.6);
const records = (bytes: Buffer): number => {
  let n = 0;
  for (let at = 24; at < bytes.length; n++) at += 16 + bytes.readUInt32LE(at + 8);
  return n;
};

describe('analyze -: an interrupt while a pipe is read', () => {
  test('the writer flushes and closes after the interrupt (tcpdump on Ctrl-C): every packet is reported, nothing is said cut', async () => {
    const { child, done } = start();
    await written(child, head);
    child.kill('SIGINT');
    // tcpdump's last flush comes after the signal.
    await new Promise((r) => setTimeout(r, 200));
    child.stdin.end(tail);
    const out = await bounded(child, done);
    expect(out.code === 0 || out.code === 1).toBe(true);
    const report = JSON.parse(out.stdout) as { stats: { packets: number }; input: { files: Array<{ warnings: string[] }> } };
    expect(report.stats.packets).toBe(records(whole));
    expect(report.input.files[0].warnings.join(' ')).not.toMatch(/interrupt/);
    expect(out.stderr).toMatch(/interrupted: reading what the capture still sends/);
  }, 30_000);

  test('the writer keeps the pipe open: after the grace, what came is reported with a warning that the input was cut', async () => {
    const { child, done } = start();
    await written(child, head);
    child.kill('SIGINT');
    const signalled = Date.now();
    const out = await bounded(child, done);
    const waited = Date.now() - signalled;
    child.stdin.destroy();
    expect(out.code === 0 || out.code === 1).toBe(true);
    const report = JSON.parse(out.stdout) as { stats: { packets: number }; input: { files: Array<{ warnings: string[] }> } };
    expect(report.stats.packets).toBeGreaterThan(0);
    expect(report.stats.packets).toBeLessThanOrEqual(records(head));
    expect(report.input.files[0].warnings.join(' ')).toMatch(/reading stopped by the interrupt/);
    // It waited for the writer's flush first (timers may fire a little early by the wall clock).
    expect(waited).toBeGreaterThanOrEqual(GRACE_MS - 50);
  }, 30_000);

  test('a second interrupt quits at once, without a report, with the shell code of SIGINT', async () => {
    const { child, done } = start();
    await written(child, head);
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    const out = await bounded(child, done);
    child.stdin.destroy();
    expect(out.code).toBe(130);
    expect(out.stdout).toBe('');
  }, 30_000);
});
