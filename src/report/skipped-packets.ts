import type { AnalysisStats } from '../analyze';

/** What the analysis left out, in words, for the human reports ("12 not TCP", "3 truncated", ...). */
export function skippedPackets(stats: AnalysisStats): string[] {
  const skipped: string[] = [];
  if (stats.notTcp) {
    // ICMP errors about TCP connections are not segments, but were read: said so, with how many named a connection.
    const icmp = stats.icmpErrors;
    const read = icmp === undefined ? '' : ` (${icmp.toConnections + icmp.unmatched} of them ICMP errors quoting TCP, ${icmp.toConnections} noted on their connection)`;
    skipped.push(`${stats.notTcp} not TCP${read}`);
  }
  if (stats.fragments) skipped.push(`${stats.fragments} IP fragments`);
  if (stats.truncated) skipped.push(`${stats.truncated} truncated`);
  if (stats.malformed) skipped.push(`${stats.malformed} malformed`);
  if (stats.duplicates) skipped.push(`${stats.duplicates} captured twice (the same packet on two interfaces)`);
  if (stats.unsupportedLink) skipped.push(`${stats.unsupportedLink} of an unsupported link type`);
  if (stats.sampledOut) skipped.push(`${stats.sampledOut} sampled out`);
  if (stats.filteredOut) skipped.push(`${stats.filteredOut} filtered out`);
  return skipped;
}
