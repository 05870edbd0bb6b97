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
  if (stats.natTwins) parts.push(`${stats.natTwins} seen again after address translation (analyzed once)`);
  return parts;
}

/**
 * The addresses seen translated (a NAT on the capturing host), in words: "10.98.0.1 → 10.96.0.10:80
 * seen as 10.98.0.1 → 10.98.1.2:8080 (4 connections)", or null when there were none.
 */
export function translatedAddresses(stats: AnalysisStats): string | null {
  const pairs = stats.natTranslations;
  if (pairs.length === 0) return null;
  const listed = pairs.map((t) => `${t.seenAs} seen as ${t.translatedTo} (${t.connections} connection${t.connections === 1 ? '' : 's'})`).join('; ');
  const listedCount = pairs.reduce((n, t) => n + t.connections, 0);
  const more = stats.natTwins > listedCount ? `, and ${stats.natTwins - listedCount} more` : '';
  return `address translation seen: ${listed}${more}; each connection is analyzed once, under the addresses seen first`;
}

/** A snaplen that holds the headers of most HTTP/1.x messages (cookies and all). */
const WHOLE_HEADERS_SNAPLEN = 1024;

/**
 * A warning when the capture's snaplen cut packets inside HTTP headers, or the HTTP framing was
 * lost (it hunted for the next start line) — or null. A snaplen shorter than a response's headers
 * (tcpdump -s 256 against nginx, whose headers alone are ~240 bytes) cuts every response inside
 * its head: each is taken to end where the next begins or its connection closes (HttpCounters.
 * cutMessages), but where the cut took the Connection field, whether the server meant to keep the
 * connection is unseen: a close right behind the response may be one it announced, and such
 * connections are judged only where the client reused them after an HTTP/1.1 response, the
 * findings marked closeNoticeUnseen (facts.closeMayBeAnnounced, facts.reusedAfterCutHead).
 * Without this line such a capture reads as clean.
 */
export function snaplenFramingWarning(stats: AnalysisStats, file?: { snaplenCut: number; snaplen: number }): string | null {
  // A file's warning names its own cut packets and snaplen; the HTTP counts are the analysis's.
  const packets = file === undefined ? `${stats.snaplenCut} packets cut by the capture's snaplen` : `${file.snaplenCut} packets cut by the capture's snaplen (${file.snaplen} bytes)`;
  if (file !== undefined && file.snaplenCut === 0) return null;
  const cut = stats.http.cutMessages;
  const lost = stats.http.resyncs;
  const tls = stats.http.tlsConnections;
  // TLS traffic has no HTTP to cut: what the cut hides there is record headers (tls-records.ts:
  // reading resumes at the next segment that begins with a record).
  if (stats.snaplenCut > 0 && stats.exchanges === 0 && tls > 0) {
    return (
      `warning: ${packets}; the traffic is TLS (${tls} connection${tls === 1 ? '' : 's'}), read by its record headers: a record longer than the snaplen ` +
      'is still followed by its length, but where the cut took a header the records up to the next segment that begins with one go unseen, ' +
      'and a ClientHello cut short hides the protocols it offered (a TLS 1.3 connection that may be HTTP/2 is then not judged) — capture with tcpdump -s 0 to read every record'
    );
  }
  // Cut packets, packets with data, and not one exchange: a snaplen of 64 or 68 bytes keeps the
  // Ethernet, IP and TCP headers and little or nothing of the payload.
  if (stats.snaplenCut > 0 && stats.exchanges === 0 && stats.tcpWithoutPayload < stats.tcpPackets) {
    return (
      `warning: ${packets}, and no HTTP exchange read: if this traffic is HTTP, the cut took its request and status lines ` +
      '(a snaplen of 64 to 96 bytes keeps the Ethernet, IP and TCP headers and little of the payload), so requests, responses and their timeouts cannot be seen; ' +
      'what TCP shows (refusals, resets, a request sent on a connection the server had closed) is still judged — capture with tcpdump -s 0'
    );
  }
  if (stats.snaplenCut === 0 || (lost === 0 && cut === 0)) return null;
  const what: string[] = [];
  // One line a CI log shows whole (blind round 17 read the earlier ~600-character one as a paragraph).
  if (cut > 0) what.push(`${cut} HTTP messages were cut inside their headers (where the Connection field was cut off, whether the server meant to close is judged by when the server closed; findings that rest on it say closeNoticeUnseen)`);
  if (lost > 0) what.push(`the HTTP framing was lost ${lost} times`);
  // A capture already made with -s 1024 or more is not told to use -s 1024 (blind round 17).
  const advice = file !== undefined && file.snaplen >= WHOLE_HEADERS_SNAPLEN ? 'tcpdump -s 0' : `tcpdump -s 0, or -s ${WHOLE_HEADERS_SNAPLEN}`;
  return `warning: ${packets}: ${what.join(', and ')} — capture with a snaplen that holds whole headers (${advice})`;
}
