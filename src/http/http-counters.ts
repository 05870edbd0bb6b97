import { GIVE_UP_REASONS, GiveUpReason } from './message-head';

/**
 * Totals of the HTTP stage across all connections, for the analysis result ("truncated is not
 * malformed": what could not be parsed is counted by kind, never thrown). One instance is shared
 * by all sessions; each session adds its numbers once, when it finishes.
 */
export class HttpCounters {
  /** Messages parsed to their end, per direction (interim 1xx responses included). */
  requests = 0;
  responses = 0;
  /** Directions whose first bytes were not HTTP (counted once per direction). */
  notHttpDirections = 0;
  /** Directions given up, by reason (`not-http` is also counted here). */
  readonly giveUps: Record<GiveUpReason, number> = Object.fromEntries(GIVE_UP_REASONS.map((r) => [r, 0])) as Record<GiveUpReason, number>;
  /** Start lines that failed on a direction already known to be HTTP (then resynchronised). */
  badStartLines = 0;
  /** Successful resynchronisations on a start line after a gap or a bad start line. */
  resyncs = 0;
  /**
   * Messages the capture's snaplen cut inside their head (or chunk framing): each ended where the
   * next message of its direction began, or where that direction closed (not counted in resyncs).
   */
  cutMessages = 0;
  /** Capture gaps reported to the HTTP stage, and their bytes. */
  gaps = 0;
  gapBytes = 0;
  /** Responses presumed lost in a capture gap (their requests are emitted `uncertain`). */
  lostResponses = 0;
  /** Requests presumed lost in a capture gap (their responses are emitted as `no-request`). */
  lostRequests = 0;
  /** Connections that were tunnels after CONNECT or 101 Switching Protocols. */
  tunnels = 0;
  /** Connections whose client opened with a TLS ClientHello: only their record headers are read. */
  tlsConnections = 0;
  /**
   * Connections whose client opened with HTTP/2's cleartext preface (h2c with prior knowledge,
   * e.g. gRPC without TLS): not parsed, conncheck reads HTTP/1.x. Counted so that a capture of
   * such traffic says why it shows no exchanges.
   */
  http2Connections = 0;
  /**
   * Connections whose client opened with a PROXY protocol header (a proxy or load balancer naming
   * the client it serves): the header is read off, the HTTP after it parsed.
   */
  proxyProtocolConnections = 0;
  /**
   * Connections whose client opened with a FastCGI request (a web server's leg to PHP-FPM or
   * another FastCGI application): their requests and responses are read as HTTP exchanges.
   */
  fastcgiConnections = 0;
}
