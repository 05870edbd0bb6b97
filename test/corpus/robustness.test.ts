import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RobustnessReply, RobustnessRequest } from './robustness-worker';

/**
 * Every capture of the public corpus (1147 files: tcpdump's fuzzed and odd captures, damaged
 * containers, link types far outside our scope) goes through `analyzeFiles`. Each must either
 * resolve, or reject with a CaptureError whose message is one line; any other exception fails,
 * and so does a file that takes longer than the per-file budget (a hang). The files are analyzed
 * in a worker thread, so that a hung file can be stopped and named instead of hanging the test run.
 */
const CORPUS = path.resolve(__dirname, '../../../shared/corpus');
const PUBLIC = path.join(CORPUS, 'public');
const present = existsSync(PUBLIC);

/** Generous: the largest corpus file (6.8 MB) takes well under a second. */
const PER_FILE_BUDGET_MS = 10_000;

/** Loads the worker's TypeScript with the compiler's transpiler (no type check: jest's own run does that). */
const BOOT = `
const fs = require('node:fs');
const ts = require('typescript');
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, isolatedModules: true },
  });
  module._compile(out.outputText, filename);
};
require(${JSON.stringify(path.join(__dirname, 'robustness-worker.ts'))});
`;

function listCaptures(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...listCaptures(full));
    else out.push(full);
  }
  return out;
}

/** A worker whose modules are loaded (it said 'ready'). */
function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(BOOT, { eval: true });
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

/** One worker at a time, replaced when a file overruns its budget. */
class AnalysisWorker {
  private constructor(private worker: Worker) {}

  static async start(): Promise<AnalysisWorker> {
    return new AnalysisWorker(await startWorker());
  }

  async analyze(file: string): Promise<RobustnessReply | 'timeout'> {
    const worker = this.worker;
    const reply = await new Promise<RobustnessReply | 'timeout'>((resolve, reject) => {
      const timer = setTimeout(() => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        resolve('timeout');
      }, PER_FILE_BUDGET_MS);
      const onMessage = (message: RobustnessReply): void => {
        clearTimeout(timer);
        worker.off('error', onError);
        resolve(message);
      };
      const onError = (err: Error): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        reject(err);
      };
      worker.once('message', onMessage);
      worker.once('error', onError);
      const request: RobustnessRequest = { file };
      worker.postMessage(request);
    });
    if (reply === 'timeout') {
      // terminate() stops even a synchronous endless loop.
      await worker.terminate();
      this.worker = await startWorker();
    }
    return reply;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

if (!present) console.log(`robustness test skipped: ${PUBLIC} not found (the shared corpus is not checked out next to the repo)`);

(present ? describe : describe.skip)(`every public corpus capture is read or cleanly refused${present ? '' : ` (skipped: ${PUBLIC} not found)`}`, () => {
  test('analyzeFiles resolves or rejects with a one-line CaptureError, within the time budget', async () => {
    const files = listCaptures(PUBLIC);
    expect(files.length).toBeGreaterThanOrEqual(1147);
    const worker = await AnalysisWorker.start();
    const problems: string[] = [];
    const counts = { read: 0, refused: 0, packets: 0 };
    let slowest = { file: '', ms: 0 };
    try {
      for (const file of files) {
        const name = path.relative(PUBLIC, file);
        const reply = await worker.analyze(file);
        if (reply === 'timeout') {
          problems.push(`${name}: no answer within ${PER_FILE_BUDGET_MS} ms (hang?)`);
          continue;
        }
        if (reply.ms > slowest.ms) slowest = { file: name, ms: reply.ms };
        if (reply.outcome === 'read') {
          counts.read++;
          counts.packets += reply.packets;
        } else if (reply.outcome === 'capture-error') {
          counts.refused++;
          if (/[\r\n]/.test(reply.detail) || reply.detail.length === 0) problems.push(`${name}: CaptureError message is not one line: ${JSON.stringify(reply.detail)}`);
        } else {
          problems.push(`${name}: ${reply.detail.split('\n').slice(0, 4).join(' | ')}`);
        }
      }
    } finally {
      await worker.stop();
    }
    console.log(`robustness: ${counts.read} read (${counts.packets} packets), ${counts.refused} refused; slowest ${slowest.file} ${slowest.ms.toFixed(0)} ms`);
    expect(problems).toEqual([]);
    // Most of the corpus is readable: a reader that refuses everything must not pass.
    expect(counts.read).toBeGreaterThan(1100);
    expect(counts.packets).toBeGreaterThan(100_000);
  });
});
