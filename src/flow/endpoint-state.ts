/**
 * Per-endpoint TCP state, as Zeek models a connection's originator and responder.
 * The labels (conn_state, history, who closed) are pure functions of these states.
 */
export const enum EndpointState {
  /** Nothing sent yet. */
  Inactive = 0,
  /** Sent a SYN, no SYN-ACK seen from it. */
  SynSent = 1,
  /** Sent a SYN-ACK. */
  SynAckSent = 2,
  /** Seen sending without a handshake (capture started mid-flow). */
  Partial = 3,
  /** Handshake completed. */
  Established = 4,
  /** Sent a FIN. */
  Closed = 5,
  /** Sent a RST. */
  Reset = 6,
}

export const ENDPOINT_STATE_NAMES: readonly string[] = [
  'inactive',
  'syn-sent',
  'syn-ack-sent',
  'partial',
  'established',
  'closed',
  'reset',
];
