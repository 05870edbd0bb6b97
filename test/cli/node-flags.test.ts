/**
 * bin/conncheck's first line gives node the flags V8 reads only as it starts (the young
 * generation's size: src/cli/heap-tuning.ts says why and what it measured). The line must carry
 * exactly CLI_NODE_FLAGS, and the file must run as users run it (`npx conncheck`, by that line).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI_NODE_FLAGS } from '../../src/cli/heap-tuning';

const BIN = path.resolve(__dirname, '../../bin/conncheck');
const SAMPLE = path.resolve(__dirname, '../../samples/keepalive-node-agent.pcap');
const built = fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js'));

test("bin/conncheck's first line runs node with CLI_NODE_FLAGS", () => {
  const first = fs.readFileSync(BIN, 'utf8').split('\n')[0];
  expect(first).toBe(`#!/usr/bin/env -S node ${CLI_NODE_FLAGS.join(' ')}`);
  // Executable for its owner, as git keeps it (mode 100755).
  expect(fs.statSync(BIN).mode & 0o100).toBe(0o100);
});

(built ? test : test.skip)('run as an executable, by that line, it analyzes a capture', () => {
  const r = spawnSync(BIN, ['analyze', SAMPLE, '--format', 'json'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).stats.connections).toBe(2);
});
