import { readCapture } from './open-capture';

export interface CaptureOrder {
  inputs: string[];
  /** Whether that order differs from the order given. */
  reordered: boolean;
  /** The position among the inputs given of each input, in the same order. */
  given: number[];
  /** The time of each input's first packet, in the same order (null: no packet, unreadable, or not looked at: stdin, a single file). */
  starts: (number | null)[];
}

/**
 * Capture files in the order their traffic was captured. A capture rotated by `tcpdump -C` is
 * written as cap.pcap, cap.pcap1, ... cap.pcap10, which a shell's glob lists as cap.pcap,
 * cap.pcap1, cap.pcap10, cap.pcap11, cap.pcap2: read in that order, the capture clock jumps back
 * and forth, connections are split or joined wrongly, and findings appear that the traffic does
 * not hold. So the files are read in the order of their first packets (a stable sort: files that
 * start at the same moment keep their order). A file with no packet (the header-only first file
 * of `tcpdump -G`) or one that cannot be read has no place in time: it keeps its given position
 * and is not counted as out of order (an unreadable one fails in its turn).
 * Standard input cannot be looked at twice: with `-` among the inputs the order given is kept.
 */
export async function inCaptureOrder(inputs: readonly string[]): Promise<CaptureOrder> {
  if (inputs.length < 2 || inputs.includes('-')) return { inputs: [...inputs], reordered: false, given: inputs.map((_, i) => i), starts: inputs.map(() => null) };
  const starts: (number | null)[] = [];
  for (const input of inputs) starts.push(await firstPacketTime(input)); // one file open at a time
  const order = inputs.map((input, index) => ({ input, index, start: starts[index] }));
  // Only files with a first packet move: they are sorted among the positions they hold.
  const timed = order.filter((o) => o.start !== null);
  const sorted = [...timed].sort((a, b) => (a.start ?? 0) - (b.start ?? 0) || a.index - b.index);
  let next = 0;
  for (let i = 0; i < order.length; i++) if (order[i].start !== null) order[i] = sorted[next++];
  return {
    inputs: order.map((o) => o.input),
    reordered: order.some((o, i) => o.index !== i),
    given: order.map((o) => o.index),
    starts: order.map((o) => starts[o.index]),
  };
}

/** Thrown by the look at a file's first packet to stop the read there. */
class FirstPacketSeen extends Error {
  constructor(readonly ts: number) {
    super('first packet seen');
  }
}

/** The capture time of a file's first packet, or null (no packet, or a file that cannot be read: its real read reports why). */
async function firstPacketTime(input: string): Promise<number | null> {
  try {
    await readCapture(input, (p) => {
      throw new FirstPacketSeen(p.ts);
    }, { reorder: false });
    return null;
  } catch (err) {
    return err instanceof FirstPacketSeen ? err.ts : null;
  }
}
