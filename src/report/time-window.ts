import type { TimeWindow } from '../analyze';
import { formatDuration, formatUtc } from './format-time';

/**
 * What --since/--until kept, in words: the bounds, and the packets analyzed within them. The
 * capture line above it spans every packet read, which a reader of a windowed report took for the
 * window (blind round 14, incidents).
 */
export function timeWindowText(w: TimeWindow): string {
  const bounds = [w.since !== null ? `--since ${formatUtc(w.since)}` : null, w.until !== null ? `--until ${formatUtc(w.until)}` : null]
    .filter((b) => b !== null)
    .join(' ');
  if (w.firstTs === null || w.lastTs === null) return `${bounds}: no packet within it`;
  return `${bounds}: ${w.packets} packets analyzed, ${formatUtc(w.firstTs)} → ${formatUtc(w.lastTs)} (${formatDuration(w.lastTs - w.firstTs)}); what lies outside it is not judged`;
}
