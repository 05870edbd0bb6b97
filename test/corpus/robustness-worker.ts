/**
 * Worker side of robustness.test.ts: analyzes the files it is sent, one at a time, and reports
 * how each ended. It runs in a worker thread so that the test can stop a file that hangs.
 */
import { parentPort } from 'node:worker_threads';
import { analyzeFiles } from '../../src/analyze';
import { CaptureError } from '../../src/source/capture-error';

export interface RobustnessRequest {
  file: string;
}

export interface RobustnessReply {
  file: string;
  outcome: 'read' | 'capture-error' | 'other-error';
  /** Error message (first line of the stack for other errors), or a summary of what was read. */
  detail: string;
  packets: number;
  ms: number;
}

const port = parentPort;
if (port === null) throw new Error('robustness-worker must run in a worker thread');

port.on('message', (request: RobustnessRequest) => {
  const start = performance.now();
  const reply = (outcome: RobustnessReply['outcome'], detail: string, packets: number): void => {
    const message: RobustnessReply = { file: request.file, outcome, detail, packets, ms: performance.now() - start };
    port.postMessage(message);
  };
  analyzeFiles([request.file], { collect: true }).then(
    (result) => reply('read', `${result.stats.connections} connections, ${result.stats.exchanges} exchanges`, result.stats.packets),
    (err: unknown) => {
      if (err instanceof CaptureError) reply('capture-error', err.message, 0);
      else reply('other-error', err instanceof Error ? (err.stack ?? String(err)) : String(err), 0);
    },
  );
});

/** Tells the test the modules are loaded, so that loading time is not charged to the first file. */
port.postMessage('ready');
