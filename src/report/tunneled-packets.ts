import type { AnalysisStats } from '../analyze';

/**
 * The TCP packet count for the human reports' capture line, with the ones found inside tunnels:
 * "1200 TCP (1180 inside VXLAN)". A capture on an overlay's underlay holds nothing else, and a
 * reader who sees the inner addresses should know they came out of a tunnel.
 */
export function tcpPacketsText(stats: AnalysisStats): string {
  // Results saved by a version before tunnels were opened have no such field.
  const kinds = Object.entries((stats.tunneled as AnalysisStats['tunneled'] | undefined) ?? {});
  if (kinds.length === 0) return `${stats.tcpPackets} TCP`;
  return `${stats.tcpPackets} TCP (${kinds.map(([kind, n]) => `${n} inside ${TUNNEL_LABELS[kind] ?? kind}`).join(', ')})`;
}

const TUNNEL_LABELS: Record<string, string> = {
  'ip-in-ip': 'IP-in-IP',
  gre: 'GRE',
  erspan: 'ERSPAN',
  vxlan: 'VXLAN',
  geneve: 'GENEVE',
};
