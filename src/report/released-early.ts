/** What the analysis let go early and saw come back (AnalysisStats.releasedEarly, without its text). */
export interface ReleasedEarlyFacts {
  atCap: number;
  maxConnections: number;
  idle: number;
  idleTimeout: number;
  resumed: { atCap: number; idle: number };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The coverage warning for live connections the analysis let go (at the connection cap, or after
 * the idle timeout) whose packets came back. Such packets are the rest of a connection whose
 * beginning the analysis forgot: they are not judged, and this says that the gap is the
 * analysis's bound, not the capture's, and which option to raise.
 */
export function releasedEarlyText(f: ReleasedEarlyFacts): string {
  const parts: string[] = [];
  const remedies: string[] = [];
  if (f.resumed.atCap > 0) {
    parts.push(`${plural(f.atCap, 'connection', 'connections')} released early at the connection cap (--max-connections ${f.maxConnections}), and ${f.resumed.atCap} of them came back`);
    remedies.push('raise --max-connections above the connections live at once');
  }
  if (f.resumed.idle > 0) {
    parts.push(`${plural(f.idle, 'connection', 'connections')} forgotten after --idle-timeout ${f.idleTimeout} s idle, and ${f.resumed.idle} of them came back`);
    remedies.push('raise --idle-timeout above the longest pause of a connection');
  }
  return (
    `warning: ${parts.join('; ')}: the analysis had let them go while they were open, so what came after is the rest of a connection whose beginning it no longer held. ` +
    'Findings on those are not made (a request answered after the release, a close or reset, the traffic after it), and they are not counted as seen one way only: ' +
    'this is a bound of the analysis, not the capture\'s fault. To judge them, ' +
    remedies.join(', and ')
  );
}
