/**
 * Soak test of live capture (`npm run soak -- [seconds]`, root): continuous HTTP traffic —
 * keep-alive pools and one-request connections — inside a network namespace made for the run,
 * while `conncheck capture lo` watches it. Prints conncheck's RSS every 10 s: it must stay flat,
 * since connection state is evicted on the capture clock. Bounded in time; ends only what it started.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const seconds = Number(process.argv[2] ?? 180);
const ns = `cc-soak-${process.pid}`;
const root = path.resolve(__dirname, '../..');
const children: ChildProcess[] = [];

function inNs(args: string[], stdio: 'ignore' | 'inherit' = 'ignore'): ChildProcess {
  const c = spawn('ip', ['netns', 'exec', ns, ...args], { stdio });
  children.push(c);
  return c;
}

function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The conncheck node process (a child of `ip netns exec`, which execs into it: same pid). */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('soak needs root (network namespace, live capture)');
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  try {
    inNs([process.execPath, '-e', `
      const http = require('http');
      const s = http.createServer((q, r) => { q.resume(); q.on('end', () => r.end('x'.repeat(200))); });
      s.keepAliveTimeout = 1000; s.listen(8080, '127.0.0.1');`]);
    await sleep(500);
    const capture = inNs([process.execPath, path.join(root, 'bin/conncheck'), 'capture', 'lo', '-f', 'tcp port 8080',
      '--duration', String(seconds), '--format', 'ndjson', '-o', '/dev/null', '--fail-on', 'none']);
    await sleep(1000);
    // Load: 4 keep-alive pools with random pauses (some beyond the server's idle close), plus
    // one-request connections; bounded by the run's duration.
    inNs([process.execPath, '-e', `
      const http = require('http');
      const until = Date.now() + ${(seconds - 3) * 1000};
      const pools = [1, 2, 3, 4].map(() => new http.Agent({ keepAlive: true, maxSockets: 4 }));
      const once = (agent) => new Promise((ok) => { const q = http.request({ host: '127.0.0.1', port: 8080, path: '/p', method: 'GET', agent }, (r) => { r.resume(); r.on('end', ok); }); q.on('error', ok); q.end(); });
      (async () => {
        let n = 0;
        while (Date.now() < until) {
          const jobs = pools.map((a) => once(a));
          jobs.push(once(false));
          await Promise.all(jobs);
          n += jobs.length;
          if (n % 500 === 0) await new Promise((r) => setTimeout(r, Math.random() < 0.1 ? 1200 : 5));
        }
        pools.forEach((a) => a.destroy());
      })();`]);
    const pid = capture.pid!;
    const samples: Array<[number, number]> = [];
    const start = Date.now();
    while (capture.exitCode === null && Date.now() - start < (seconds + 30) * 1000) {
      await sleep(10_000);
      if (capture.exitCode !== null) break;
      const rss = rssMiB(pid);
      const t = Math.round((Date.now() - start) / 1000);
      samples.push([t, rss]);
      console.log(`t=${String(t).padStart(4)} s  conncheck RSS ${rss.toFixed(1)} MiB`);
    }
    const rssValues = samples.map((s) => s[1]).filter(Number.isFinite);
    if (rssValues.length > 2) {
      const settled = rssValues.slice(Math.floor(rssValues.length / 3));
      console.log(`RSS after warm-up: min ${Math.min(...settled).toFixed(1)} MiB, max ${Math.max(...settled).toFixed(1)} MiB over ${settled.length} samples`);
    }
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await sleep(500);
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

// Ctrl-C ends the soak early but still cleans up (namespace, processes it started).
process.once('SIGINT', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  spawnSync('ip', ['netns', 'del', ns]);
  process.exit(130);
});

main().catch((e: Error) => {
  console.error(`soak: ${e.message}`);
  process.exitCode = 2;
});
