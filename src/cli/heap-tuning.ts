import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { collectSpentChunksWith } from '../source/stream-chunks';

/**
 * V8 heap settings for an analysis, applied before it starts (bin/conncheck, the benchmark).
 * `setFlagsFromString` runs after V8 has set its heap up, so only flags V8 reads at run time
 * belong here; each of these is read at every collection.
 *
 * - The old generation may grow to 1.25 times what was live after the last full GC before the
 *   next one (V8's own factor goes up to 4). Live state is bounded by live connections, but the
 *   dead objects promoted in between, and the pages V8 keeps committed for them, let peak RSS grow
 *   with the file. Measured with the CLI on the benchmark's traffic (its live connections level
 *   off after ~4 M packets), peak RSS at 2 M / 6 M / 12 M packets: V8's factor ~290 MB on 2 M;
 *   2 (the setting until round 11) 189–195 / 215–217 / 219 MB; 1.5 172–178 / 189–197 /
 *   202 MB; 1.25 (this) 165–169 / 182–187 / 186–187 MB, flat once live connections are. Each step
 *   down adds full GCs (5, 7 and 10 on 2 M packets): 1.25 costs +2.1 % instructions against 2.
 * - No allocation-site pretenuring. V8 watches which allocation sites' objects survive and then
 *   allocates theirs straight in the old generation, throwing away the code compiled for those
 *   sites; here that decision is wrong more often than right (a connection's arrays and an
 *   exchange's records mostly die young, with their connection) and each change of mind
 *   recompiles the packet path. Measured on the benchmark: −3.6 % instructions with every
 *   detector, and peak RSS on 2 M packets 177–178 MB where it was 177–201 MB.
 *
 * Not here: the young generation's size. `--max-semi-space-size` is read only when the heap is
 * set up, so set here it did nothing (until round 11 it was listed, and the CLI ran with V8's
 * default 16 MiB semi-spaces all along). It is on node's command line instead, in bin/conncheck's
 * first line (CLI_NODE_FLAGS, which a test holds that line to): 4 MiB semi-spaces. Measured on
 * the benchmark's 2 M packets (CLI, peak RSS): V8's 16 MiB 194–204 MB from a file and 201–207 MB
 * gzipped, 8 MiB 189–193 and 200–201, 4 MiB 179–180 and 188–191 (with 64 KiB gzip chunks). The
 * young generation is where a connection's and an exchange's short-lived objects die; a smaller
 * one is collected more often, each time over fewer survivors: callgrind on the first 500 000
 * packets counted 10.598 G instructions with 16 MiB, 10.527 G with 8, 10.730 G with 4 (+1.2 %).
 * 32 MiB semi-spaces would save about 4 % of the instructions but add ~25 MB of peak RSS (214 MB).
 */
export const CLI_NODE_FLAGS = ['--max-semi-space-size=4'];
export const HEAP_FLAGS = ['--heap-growing-percent=25', '--no-allocation-site-pretenuring'];

export function tuneHeap(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
  collectSpentChunksWith(youngGenerationCollector());
}

/**
 * A young-generation collection on demand, for the buffers streams hand over (stream-chunks.ts
 * says why and what it measured). `--expose-gc` set at run time gives V8's `gc` to the contexts
 * made after it, not to this one: a new context hands it over. Null if V8 did not.
 */
function youngGenerationCollector(): (() => void) | null {
  setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc !== 'function') return null;
  const collect = gc as (options: { type: 'minor' | 'major' }) => void;
  return () => collect({ type: 'minor' });
}
