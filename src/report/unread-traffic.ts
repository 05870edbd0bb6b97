import type { AnalysisStats } from '../analyze';

/**
 * The connections the analysis saw but could not read as HTTP/1.x, in words, for the human
 * reports' connection line: a capture of TLS or of gRPC without TLS otherwise just says
 * "0 carrying HTTP" and leaves the reader to guess why. Empty when there are none.
 */
export function unreadTraffic(stats: AnalysisStats): string[] {
  const parts: string[] = [];
  if (stats.http.tlsConnections) parts.push(`${stats.http.tlsConnections} TLS (record headers only)`);
  if (stats.http.http2Connections) parts.push(`${stats.http.http2Connections} HTTP/2 without TLS (not parsed: conncheck reads HTTP/1.x)`);
  return parts;
}
