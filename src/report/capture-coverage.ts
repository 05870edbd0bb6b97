import type { AnalysisStats } from '../analyze';
import { formatBytes } from './format-time';

/** Connections the capture holds one direction of (AnalysisStats.oneWay). */
export function oneWayCount(stats: AnalysisStats): number {
  return stats.oneWay.clientOnly + stats.oneWay.serverOnly;
}

/** Connections analyzed at all: address-translated second sightings are analyzed once, as first seen. */
function analyzedCount(stats: AnalysisStats): number {
  return stats.connections - stats.natTwins;
}

/**
 * A warning when the capture holds connections in one direction only, or null. Such a capture
 * (`tcpdump dst port 8080`, a tap or mirror port that sees one direction, replies routed another
 * way) shows no answer, close or reset of the unseen side, so nothing is found on those
 * connections: without this line it reads as a clean capture.
 */
export function oneWayWarning(stats: AnalysisStats): string | null {
  const n = oneWayCount(stats);
  if (n === 0) return null;
  const { clientOnly, serverOnly } = stats.oneWay;
  const sides = [
    clientOnly > 0 ? `${clientOnly} with only the client's packets` : '',
    serverOnly > 0 ? `${serverOnly} with only the server's` : '',
  ].filter((s) => s !== '');
  return (
    `warning: ${n} of ${analyzedCount(stats)} connections are in the capture one way only (${sides.join(', ')}): ` +
    'the side seen acknowledged packets that the capture does not hold. ' +
    'What the other side sent (its requests or answers, closes and resets) cannot be seen, so those connections are not judged. ' +
    'A filter on one direction (such as dst port 80), a tap or mirror port that sees one direction, or replies routed another way does this: ' +
    'capture both directions (port 80, on an interface both directions cross)'
  );
}

/** The headline when nothing was found: qualified when connections seen one way only could not be judged. */
export function noFindingsText(stats: AnalysisStats): string {
  const n = oneWayCount(stats);
  if (n === 0) return 'No connection-reuse problems found.';
  const judged = analyzedCount(stats) - n;
  if (judged <= 0) return 'No connection-reuse problems found, but none could be: every connection is in the capture one way only (see the warning).';
  return `No connection-reuse problems found on the ${judged} connection${judged === 1 ? '' : 's'} captured both ways; the ${n} captured one way only could not be judged.`;
}

/**
 * A warning when the capture dropped packets that carried data (AnalysisStats.captureLoss), or
 * null. The exchanges such bytes belonged to are uncertain and the detectors do not take them as
 * evidence, so a lossy capture can read as clean where its losses were.
 */
export function captureLossWarning(stats: AnalysisStats): string | null {
  const { connections, bytes } = stats.captureLoss;
  if (connections === 0) return null;
  return (
    `warning: the capture misses ${formatBytes(bytes)} of data sent on ${connections} of ${analyzedCount(stats)} connections ` +
    '(their receivers acknowledged them, or the bytes after them show them missing): it dropped packets, as tcpdump does when it reports ' +
    '"packets dropped by kernel". The exchanges those bytes belonged to are not taken as evidence, so a failure there may go unreported: ' +
    'capture with a larger buffer (tcpdump -B 16384) and a filter on the port'
  );
}
