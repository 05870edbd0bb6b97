import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import type { AnomalyKind, Diagnosis, EvidenceValue, Finding, Severity } from './finding';

/** Thresholds shared by detectors; every one has a default and can be set from the CLI or library. */
export interface DetectOptions {
  /** A zero window held at least this long is a stall (seconds). */
  zeroWindowStall: number;
  /** A request still unanswered at capture end is reported once older than this (seconds). */
  openRequestAge: number;
  /** A retry must follow the failure within this many seconds. */
  retryWindow: number;
  /** Samples that agree within max(this fraction, spreadAbsolute) infer a timeout. */
  spreadFraction: number;
  spreadAbsolute: number;
  /**
   * Reuse after idling at least (server idle timeout − margin) risks a race, with
   * margin = min(raceMargin, raceMarginFraction × server idle timeout): a path's latency and timer
   * jitter are a fraction of a short timeout, and at most about a second for a long one.
   */
  raceMargin: number;
  raceMarginFraction: number;
  /**
   * A server close sooner than this after its last response is not an idle timeout but a close
   * after the response (unannounced: no Connection: close); it infers no idle timeout (seconds).
   */
  minIdleTimeout: number;
  /** A client host opening at least this many one-request connections to a server is churning. */
  churnMinConnections: number;
  /** A client that closes within this many seconds after the response does not pool the connection. */
  churnCloseDelay: number;
  /** Server resets of connections with outstanding requests less than this apart form one burst (seconds). */
  resetBurstWindow: number;
  /**
   * Findings kept for the final report and JSON; later ones are still streamed (live views,
   * ndjson) and counted, by kind and severity, but not held: a failure storm over a night of live
   * capture would otherwise grow memory without bound (about 2 KB a finding).
   */
  maxFindingsKept: number;
}

export const DEFAULT_DETECT_OPTIONS: DetectOptions = {
  zeroWindowStall: 1,
  openRequestAge: 30,
  retryWindow: 5,
  spreadFraction: 0.02,
  spreadAbsolute: 0.05,
  raceMargin: 1,
  raceMarginFraction: 0.1,
  minIdleTimeout: 0.1,
  churnMinConnections: 10,
  churnCloseDelay: 1,
  resetBurstWindow: 1,
  maxFindingsKept: 100_000,
};

export interface DetectorMeta {
  description: string;
  severity: Severity;
  /** What the detector says, by message id; `{name}` placeholders are filled from data. */
  messages: Record<string, string>;
}

/** What a detector hands to `report`: the finding without the fields the context fills. */
export interface FindingInput {
  flowId: number | null;
  client: string | null;
  server: string;
  ts: number;
  /** Message id from meta.messages, or a full sentence. */
  message: string;
  data?: Record<string, string | number>;
  evidence: Record<string, EvidenceValue>;
  frames: number[];
  /** Overrides meta.severity (e.g. retried POST is a warning, retried GET info). */
  severity?: Severity;
  /**
   * The id of another detector's finding that is the same failure seen on another leg of a proxy
   * chain (its cause upstream): the diagnosis that lists that finding lists this one too, and this
   * one is in no diagnosis of its own, so one failure is one diagnosis member counted once. The
   * detector that sets it leaves the finding out of its own diagnoses.
   */
  partOf?: string;
}

export type DiagnosisInput = Omit<Diagnosis, 'kind' | 'severity'> & { severity?: Severity };

export interface DetectContext {
  readonly options: DetectOptions;
  /** Records a finding; returns it (with its id) so diagnoses can refer to it. */
  report(input: FindingInput): Finding;
  /** Records a diagnosis across connections. */
  diagnose(input: DiagnosisInput): void;
  /** Findings reported so far, optionally of one kind (read-only; for cross-references in onFinish). */
  findings(kind?: AnomalyKind): readonly Finding[];
  /**
   * Whether a finding of `kind` was reported on connection `flowId` so far. Constant time: asked
   * as each connection ends, where a scan of the findings would make a failure storm quadratic.
   */
  reportedOn(kind: AnomalyKind, flowId: number): boolean;
  /**
   * One instance per analysis of a helper several detectors need (e.g. the index of recent
   * requests): the first caller's `make` creates it, later callers get the same object.
   */
  shared<T>(name: string, make: () => T): T;
  /**
   * Whether the capture is known to have lost packets so far: data bytes a receiver acknowledged
   * that the capture lacks, or a FIN a receiver acknowledged that it lacks (Endpoint.finLostByCapture),
   * on any connection ended so far (Endpoint.captureLostBytes), or drops
   * the capturing tool recorded (pcapng statistics, known once a file is read). A connection that
   * just goes silent (no response, no close on either side) may be one whose packets the capture
   * dropped, when it dropped packets anywhere: such a finding is uncertain (see captureLossNote).
   */
  captureLossKnown(): boolean;
}

/** Hooks a detector instance implements; all optional. None runs per packet. */
export interface DetectorHooks {
  onOpen?(conn: AnalyzedConnection): void;
  /** An exchange was decided (complete, or unanswered at connection end). */
  onExchange?(exchange: HttpExchange, conn: AnalyzedConnection): void;
  /** The connection leaves the flow table; its state is final. Copy what you keep: the object is released. */
  onConnectionEnd?(conn: AnalyzedConnection): void;
  /**
   * A second view of an analyzed connection, seen again after address translation (nat-twins.ts:
   * the capture holds both sides of a NAT), left the flow table: it is not analyzed (no HTTP), but
   * its TCP facts tell what crossed the NAT. `firstId` is the analyzed view's id; either view may
   * end first. Copy what you keep.
   */
  onTranslatedViewEnd?(view: AnalyzedConnection, firstId: number): void;
  /**
   * Live capture: the capture clock reached `now` with no packet (a quiet link, or the capture's
   * stop), and every connection that closed (FIN or RST) before `settled` has ended. Reading files,
   * connection ends carry the clock and this is not called. For what waits on later connections
   * (held refusals) and for how long a request has waited when the capture stops.
   */
  onClock?(now: number, settled: number): void;
  /** The capture ended: report cross-connection findings and diagnoses. */
  onFinish?(): void;
}

/**
 * A helper several detectors share (`DetectContext.shared`) that follows connection events itself
 * (the proxy legs tracker). The engine hands it each event once, in the place of the first detector
 * that made it: its handlers run right before that detector's, as if that detector passed each
 * event on first thing. Its detectors' own handlers then need not pass events on, and an exchange
 * no longer goes through a handler (and a compiled copy of the helper's code) per detector.
 */
export interface EventFollower extends DetectorHooks {
  readonly followsEvents: true;
}

export function followsEvents(service: unknown): service is EventFollower {
  return typeof service === 'object' && service !== null && (service as Partial<EventFollower>).followsEvents === true;
}

export interface DetectorDefinition {
  id: AnomalyKind;
  meta: DetectorMeta;
  create(ctx: DetectContext): DetectorHooks;
}
