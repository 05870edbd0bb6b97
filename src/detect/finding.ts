export type Severity = 'error' | 'warning' | 'info';

/** The anomaly kinds of the catalogue (shared/design/anomalies.md). Stable ids: never rename. */
export type AnomalyKind =
  | 'keepalive-race'
  | 'middlebox-idle-timeout'
  | 'idle-timeout-mismatch'
  | 'request-after-close-notice'
  | 'retried-request'
  | 'connection-churn'
  | 'port-reuse'
  | 'unanswered-request'
  | 'gateway-timeout'
  | 'no-upstream-connect'
  | 'syn-unanswered'
  | 'accept-queue-overflow'
  | 'connection-refused'
  | 'connection-rejected-icmp'
  | 'reset-before-response'
  | 'intermittent-5xx'
  | 'rate-limited'
  | 'rst-on-close'
  | 'zero-window-stall'
  | 'slow-client-timeout'
  | 'tunnel-idle-timeout'
  | 'response-truncated'
  | 'response-abandoned'
  | 'pmtu-blackhole'
  | 'tls-handshake-failed'
  | 'synack-lost'
  | 'tcp-keepalive-dead-peer';

export type EvidenceValue = number | string | boolean | null | number[] | string[];

/** One anomaly on one connection (or endpoint), with the packets that prove it. JSON `anomalies[]`. */
export interface Finding {
  /** Stable within one analysis: "<kind>#<n>". */
  id: string;
  kind: AnomalyKind;
  severity: Severity;
  /** The connection it was seen on, or null for findings about an endpoint as a whole. */
  flowId: number | null;
  client: string | null;
  server: string;
  /** Capture time of the decisive packet. */
  ts: number;
  summary: string;
  evidence: Record<string, EvidenceValue>;
  /** 1-based frame numbers that prove it, ascending. */
  frames: number[];
}

/** An inferred timeout with its support. */
export interface InferredValue {
  /** Seconds. */
  value: number;
  samples: number;
  /** max − min of the samples, seconds. */
  spread: number;
}

/** One cause across connections. JSON `diagnoses[]`. */
export interface Diagnosis {
  kind: AnomalyKind;
  severity: Severity;
  server: string;
  count: number;
  inferred: Record<string, InferredValue>;
  explanation: string;
  remedy: string;
  anomalyIds: string[];
  /**
   * Only when --flow left some of its findings out: how many the diagnosis covers in the whole
   * capture (`anomalyIds` lists the shown ones; `count` and the explanation are the whole capture's).
   */
  anomaliesInCapture?: number;
}
