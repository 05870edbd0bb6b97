import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import { followsEvents } from './detector';
import type { DetectContext, DetectOptions, DetectorDefinition, DetectorHooks, FindingInput } from './detector';
import type { AnomalyKind, Diagnosis, Finding, Severity } from './finding';

function fillMessage(template: string, data: Record<string, string | number> | undefined): string {
  if (!data) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in data ? String(data[name]) : whole));
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

/** Diagnoses are listed worst first. */
const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Runs the registered detectors: hands each connection event to every detector and keeps
 * what they report. Detectors see one context each, which stamps their id and severity.
 */
export class DetectionEngine {
  private readonly hooks: DetectorHooks[] = [];
  /**
   * Per event, only the detectors that handle it: each handler with the hooks object it belongs to
   * (its `this`), at the same index. Events come for every connection and exchange: looking each
   * hook up on sixteen differently shaped objects made every call site megamorphic; and a bound
   * function (`hook.bind(hooks)`) costs a trampoline per call that `handler.call(hooks, ...)` does
   * not (the optimizing compiler makes that a plain call with the given receiver).
   */
  private readonly openHandlers: Array<(this: DetectorHooks, conn: AnalyzedConnection) => void> = [];
  private readonly openOwners: DetectorHooks[] = [];
  private readonly exchangeHandlers: Array<(this: DetectorHooks, exchange: HttpExchange, conn: AnalyzedConnection) => void> = [];
  private readonly exchangeOwners: DetectorHooks[] = [];
  private readonly endHandlers: Array<(this: DetectorHooks, conn: AnalyzedConnection) => void> = [];
  private readonly endOwners: DetectorHooks[] = [];
  private readonly all: Finding[] = [];
  /** The same findings by kind, and the connections each kind was reported on (see reportedOn). */
  private readonly byKind = new Map<AnomalyKind, Finding[]>();
  private readonly flowsByKind = new Map<AnomalyKind, Set<number>>();
  /** Every finding reported, kept or not, by severity; and those not kept (maxFindingsKept), by kind. */
  readonly reportedBySeverity: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  readonly notKept: Record<string, number> = {};
  private readonly maxKept: number;
  private readonly diagnoses: Diagnosis[] = [];
  /** Findings reported as part of another's failure (FindingInput.partOf): joined to its diagnosis at the end. Bounded by the findings kept. */
  private readonly joined: Array<{ id: string; partOf: string }> = [];
  private readonly counters = new Map<AnomalyKind, number>();
  private readonly services = new Map<string, unknown>();

  /** Findings of hidden kinds: kept for the detectors' cross-references, never in the results. */
  private hiddenKept = 0;
  /**
   * Data bytes the capture lost on connections ended so far, and packets the capturing tool
   * recorded as dropped (see DetectContext.captureLossKnown).
   */
  private captureLostBytes = 0;
  /** FINs the capture missed that their receivers acknowledged (Endpoint.finLostByCapture): packets it dropped too. */
  private captureLostFins = 0;
  private recordedDrops = 0;

  constructor(
    detectors: readonly DetectorDefinition[],
    options: DetectOptions,
    private readonly onFinding: (finding: Finding) => void = () => undefined,
    /** Kinds not reported (--ignore): their detectors run, what they find is not shown or counted. */
    private readonly hidden: ReadonlySet<AnomalyKind> = new Set(),
  ) {
    this.maxKept = options.maxFindingsKept;
    for (const def of detectors) this.follow(def.create(this.contextFor(def, options)));
  }

  /**
   * Hands `hooks` every later event, after the handlers registered before. A detector's hooks come
   * in registry order; a shared helper that follows events comes when made, within the `create` of
   * the first detector that asks for it: before that detector's own hooks.
   */
  private follow(hooks: DetectorHooks): void {
    this.hooks.push(hooks);
    if (hooks.onOpen) {
      this.openHandlers.push(hooks.onOpen);
      this.openOwners.push(hooks);
    }
    if (hooks.onExchange) {
      this.exchangeHandlers.push(hooks.onExchange);
      this.exchangeOwners.push(hooks);
    }
    if (hooks.onConnectionEnd) {
      this.endHandlers.push(hooks.onConnectionEnd);
      this.endOwners.push(hooks);
    }
  }

  /** Time passed on a quiet live link: see DetectorHooks.onClock. */
  onClock(now: number, settled: number): void {
    for (const h of this.hooks) h.onClock?.(now, settled);
  }

  private contextFor(def: DetectorDefinition, options: DetectOptions): DetectContext {
    return {
      options,
      report: (input: FindingInput): Finding => {
        const n = (this.counters.get(def.id) ?? 0) + 1;
        this.counters.set(def.id, n);
        const template = def.meta.messages[input.message] ?? input.message;
        const finding: Finding = {
          id: `${def.id}#${n}`,
          kind: def.id,
          severity: input.severity ?? def.meta.severity,
          flowId: input.flowId,
          client: input.client,
          server: input.server,
          ts: input.ts,
          summary: fillMessage(template, input.data),
          evidence: input.evidence,
          frames: [...new Set(input.frames.filter((f) => f > 0))].sort((a, b) => a - b),
        };
        const hidden = this.hidden.has(def.id);
        if (!hidden) this.reportedBySeverity[finding.severity]++;
        if (this.all.length + this.hiddenKept < this.maxKept) {
          if (hidden) this.hiddenKept++;
          else {
            this.all.push(finding);
            if (input.partOf !== undefined) this.joined.push({ id: finding.id, partOf: input.partOf });
          }
          const ofKind = this.byKind.get(def.id);
          if (ofKind === undefined) this.byKind.set(def.id, [finding]);
          else ofKind.push(finding);
        } else if (!hidden) {
          this.notKept[def.id] = (this.notKept[def.id] ?? 0) + 1;
        }
        if (finding.flowId !== null) {
          const flows = this.flowsByKind.get(def.id);
          if (flows === undefined) this.flowsByKind.set(def.id, new Set([finding.flowId]));
          else flows.add(finding.flowId);
        }
        if (!hidden) this.onFinding(finding);
        return finding;
      },
      diagnose: (input): void => {
        if (this.hidden.has(def.id)) return;
        this.diagnoses.push({ ...input, kind: def.id, severity: input.severity ?? def.meta.severity });
      },
      // A copy: a detector may report more of the same kind while it goes through them.
      findings: (kind?: AnomalyKind): readonly Finding[] => (kind ? (this.byKind.get(kind) ?? NO_FINDINGS).slice() : this.all),
      reportedOn: (kind: AnomalyKind, flowId: number): boolean => this.flowsByKind.get(kind)?.has(flowId) ?? false,
      shared: <T>(name: string, make: () => T): T => {
        if (!this.services.has(name)) {
          const service = make();
          this.services.set(name, service);
          if (followsEvents(service)) this.follow(service);
        }
        return this.services.get(name) as T;
      },
      captureLossKnown: (): boolean => this.captureLostBytes > 0 || this.captureLostFins > 0 || this.recordedDrops > 0,
    };
  }

  /** Whether any detector runs at all: without one, nothing reads a connection's recent exchanges. */
  get hasDetectors(): boolean {
    return this.hooks.length > 0;
  }

  /** Findings reported so far, kept or not. */
  get findingCount(): number {
    return this.reportedBySeverity.info + this.reportedBySeverity.warning + this.reportedBySeverity.error;
  }

  onOpen(conn: AnalyzedConnection): void {
    const handlers = this.openHandlers;
    const owners = this.openOwners;
    for (let i = 0; i < handlers.length; i++) handlers[i].call(owners[i], conn);
  }

  onExchange(exchange: HttpExchange, conn: AnalyzedConnection): void {
    const handlers = this.exchangeHandlers;
    const owners = this.exchangeOwners;
    for (let i = 0; i < handlers.length; i++) handlers[i].call(owners[i], exchange, conn);
  }

  /** Packets the capturing tool recorded as dropped in a file read (CaptureFileInfo.droppedByCapture). */
  noteRecordedDrops(packets: number): void {
    this.recordedDrops += packets;
  }

  onConnectionEnd(conn: AnalyzedConnection): void {
    this.captureLostBytes += conn.client.captureLostBytes + conn.server.captureLostBytes;
    if (conn.client.finLostByCapture || conn.server.finLostByCapture) this.captureLostFins++;
    const handlers = this.endHandlers;
    const owners = this.endOwners;
    for (let i = 0; i < handlers.length; i++) handlers[i].call(owners[i], conn);
  }

  /** See DetectorHooks.onTranslatedViewEnd (rare: only captures that hold both sides of a NAT). */
  onTranslatedViewEnd(view: AnalyzedConnection, firstId: number): void {
    for (const h of this.hooks) h.onTranslatedViewEnd?.(view, firstId);
  }

  /**
   * Each finding reported as part of another's failure (FindingInput.partOf) listed in the diagnosis
   * that lists that one, after its members: the diagnosis's count stays its failures'. A diagnosis
   * is made in its detector's onFinish, which may come before the finding it takes in is reported
   * (keepalive-race runs before unanswered-request): hence here, once all have spoken.
   */
  private joinDiagnoses(): void {
    if (this.joined.length === 0) return;
    const byMember = new Map<string, Diagnosis>();
    for (const d of this.diagnoses) for (const id of d.anomalyIds) if (!byMember.has(id)) byMember.set(id, d);
    for (const j of this.joined) {
      const d = byMember.get(j.partOf);
      if (d !== undefined && !d.anomalyIds.includes(j.id)) d.anomalyIds.push(j.id);
    }
  }

  finish(): { anomalies: Finding[]; diagnoses: Diagnosis[] } {
    for (const h of this.hooks) h.onFinish?.();
    this.joinDiagnoses();
    const anomalies = [...this.all].sort((a, b) => a.ts - b.ts || (a.flowId ?? 0) - (b.flowId ?? 0) || a.id.localeCompare(b.id));
    // The worst first, so that a report's reader meets an outage before a scan's notes; servers by
    // their port's number (":8082" after ":81", not after ":8").
    const diagnoses = [...this.diagnoses].sort(
      (a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.kind.localeCompare(b.kind) || a.server.localeCompare(b.server, 'en', { numeric: true }),
    );
    return { anomalies, diagnoses };
  }
}
