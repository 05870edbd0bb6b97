/** The time one capture file covers: its first and last packet, and the widest pause between two of its packets. */
export interface FileSpan {
  first: number;
  last: number;
  widestGap: number;
}

/** A stretch of time between two files that neither holds (a rotated file left out, a capture restarted late). */
export interface FileGap {
  /** The last packet of the files before it, and the first packet of the file after it (epoch seconds). */
  from: number;
  to: number;
  /** The file that ends at `from` and the file that starts at `to` (names as given). */
  before: string;
  after: string;
}

/**
 * How much wider than the widest pause inside the files a gap between files must be. Traffic on a
 * timer (a poll each second) pauses alike inside and between files, a hair longer by chance; a
 * rotated file left out takes a whole rotation period (tcpdump -G) away.
 */
const PACE_MARGIN = 1.5;

/**
 * Holes in time between files read as one capture, as candidates: where the next file's first
 * packet comes later after the packets before it than any pause inside any file (by PACE_MARGIN). The traffic's
 * own pace is told by those pauses (a quiet link pauses inside its files too); a gap wider than
 * all of them is the capture's, not the traffic's. Whether data was really lost there is told by
 * the connections live across it (Analyzer: confirmFileGaps). `spans` are in the order the
 * files were read (null: a file without packets, which leaves no gap of its own).
 */
export function candidateFileGaps(names: readonly string[], spans: readonly (FileSpan | null)[]): FileGap[] {
  let widest = 0;
  for (const span of spans) if (span !== null && span.widestGap > widest) widest = span.widestGap;
  const gaps: FileGap[] = [];
  let latest = -Infinity;
  let latestName = '';
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i];
    if (span === null) continue;
    if (latest > -Infinity && span.first - latest > widest * PACE_MARGIN) gaps.push({ from: latest, to: span.first, before: latestName, after: names[i] });
    if (span.last >= latest) {
      latest = span.last;
      latestName = names[i];
    }
  }
  return gaps;
}

/** A connection's time on the capture: its first and last packet. */
export interface LiveSpan {
  start: number;
  last: number;
}

/** Whether a connection was live across a gap: it has packets on both sides of it. */
export function liveAcross(conn: LiveSpan, gap: FileGap): boolean {
  return conn.start <= gap.from && conn.last >= gap.to;
}
