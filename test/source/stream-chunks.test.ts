/**
 * StreamChunks' collections of spent chunks: every SPENT_BYTES_PER_COLLECTION bytes handed out
 * when a process gave it a collector (the CLI does, through heap-tuning.ts), never otherwise.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { collectSpentChunksWith, SPENT_BYTES_PER_COLLECTION, StreamChunks } from '../../src/source/stream-chunks';

/** Hands `chunks` chunks of `size` bytes through a StreamChunks; how many were taken. */
async function drain(chunks: number, size: number): Promise<number> {
  const stream = new PassThrough();
  const source = new StreamChunks(stream);
  for (let i = 0; i < chunks; i++) stream.write(Buffer.alloc(size));
  stream.end();
  let taken = 0;
  while ((await source.next()) !== null) taken++;
  return taken;
}

describe('StreamChunks: collections of spent chunks', () => {
  afterEach(() => collectSpentChunksWith(null));

  it('runs the collector once per SPENT_BYTES_PER_COLLECTION bytes handed out', async () => {
    let collections = 0;
    collectSpentChunksWith(() => collections++);
    const size = 64 * 1024; // a pipe's read
    const chunks = Math.floor((2.5 * SPENT_BYTES_PER_COLLECTION) / size);
    expect(await drain(chunks, size)).toBe(chunks);
    expect(collections).toBe(2);
  });

  it('hands every chunk out when no collector was given (a library user\'s process)', async () => {
    expect(await drain(100, 64 * 1024)).toBe(100);
  });
});

const HEAP_TUNING = path.resolve(__dirname, '../../dist/cli/heap-tuning.js');
const STREAM_CHUNKS = path.resolve(__dirname, '../../dist/source/stream-chunks.js');

// In a process of its own: tuneHeap() sets V8 flags for the whole process.
(fs.existsSync(HEAP_TUNING) ? describe : describe.skip)('tuneHeap (built dist/)', () => {
  it('gives StreamChunks a collector that runs V8 young-generation collections', () => {
    const script = `
      const { PerformanceObserver, constants } = require('node:perf_hooks');
      const { PassThrough } = require('node:stream');
      require(${JSON.stringify(HEAP_TUNING)}).tuneHeap();
      const { StreamChunks, SPENT_BYTES_PER_COLLECTION } = require(${JSON.stringify(STREAM_CHUNKS)});
      let forcedMinor = 0;
      const observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MINOR && (e.detail.flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) forcedMinor++;
        }
      });
      observer.observe({ entryTypes: ['gc'] });
      (async () => {
        const stream = new PassThrough();
        const chunks = new StreamChunks(stream);
        for (let i = 0; i < (2.5 * SPENT_BYTES_PER_COLLECTION) / (1 << 20); i++) stream.write(Buffer.alloc(1 << 20));
        stream.end();
        while ((await chunks.next()) !== null);
        setTimeout(() => { observer.disconnect(); console.log(forcedMinor); }, 200);
      })();`;
    const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('2');
  });
});
