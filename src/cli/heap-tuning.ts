import { setFlagsFromString } from 'node:v8';

/**
 * V8 heap settings for an analysis, applied before it starts (bin/conncheck, the benchmark).
 *
 * - A 32 MiB young generation (V8's default is 16): HTTP exchanges and connection state live for
 *   milliseconds to seconds, and with the default many of them were promoted and then collected
 *   by costly old-generation GCs (measured ~15 % of the analysis time).
 * - The old generation may grow to twice what was live after the last full GC before the next
 *   one (V8's own factor goes up to 4): live state is bounded by live connections, but dead
 *   objects promoted in between let peak RSS grow with the file (measured on 2 M packets:
 *   ~290 MB with V8's factor, ~200 MB with 2, the analysis no slower within the noise).
 * - No allocation-site pretenuring. V8 watches which allocation sites' objects survive and then
 *   allocates theirs straight in the old generation, throwing away the code compiled for those
 *   sites; here that decision is wrong more often than right (a connection's arrays and an
 *   exchange's records mostly die young, with their connection) and each change of mind
 *   recompiles the packet path. Measured on the benchmark: −3.6 % instructions with every
 *   detector, and peak RSS on 2 M packets 177–178 MB where it was 177–201 MB.
 */
export const HEAP_FLAGS = ['--max-semi-space-size=32', '--heap-growing-percent=100', '--no-allocation-site-pretenuring'];

export function tuneHeap(): void {
  for (const flag of HEAP_FLAGS) setFlagsFromString(flag);
}
