import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext, DetectOptions, DetectorDefinition, DetectorHooks, FindingInput } from './detector';
import type { AnomalyKind, Diagnosis, Finding, Severity } from './finding';

function fillMessage(template: string, data: Record<string, string | number> | undefined): string {
  if (!data) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in data ? String(data[name]) : whole));
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

type ConnectionHandler = (conn: AnalyzedConnection) => void;
type ExchangeHandler = (exchange: HttpExchange, conn: AnalyzedConnection) => void;

const NOOP = (): void => undefined;

/** Handlers called from a call site of their own each (see fanOutConnection); the rest go through a loop. */
const UNROLLED = 16;

/**
 * One function that calls every handler in turn, from sixteen call sites of its own rather than
 * from one in a loop: a loop's call site sees every detector's handler, and V8 compiles it as a
 * generic call; here each site sees one handler for the whole analysis (or the no-op, inlined to
 * nothing), which V8 calls directly or inlines. (Analyses with other detectors in the same process
 * make the sites generic again: no worse than the loop.) There is one such function per event, each its own
 * function literal: closures of one literal share what V8 learns at their call sites. No handler:
 * the no-op itself, so an analysis without detectors calls nothing.
 */
function fanOutConnection(handlers: readonly ConnectionHandler[]): ConnectionHandler {
  if (handlers.length === 0) return NOOP;
  const h = (i: number): ConnectionHandler => handlers[i] ?? NOOP;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15] = [
    h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8), h(9), h(10), h(11), h(12), h(13), h(14), h(15),
  ];
  const rest = handlers.slice(UNROLLED);
  return (conn) => {
    h0(conn); h1(conn); h2(conn); h3(conn); h4(conn); h5(conn); h6(conn); h7(conn);
    h8(conn); h9(conn); h10(conn); h11(conn); h12(conn); h13(conn); h14(conn); h15(conn);
    for (let i = 0; i < rest.length; i++) rest[i](conn);
  };
}

/** fanOutConnection for connection ends: a literal of its own (see there). */
function fanOutEnd(handlers: readonly ConnectionHandler[]): ConnectionHandler {
  if (handlers.length === 0) return NOOP;
  const h = (i: number): ConnectionHandler => handlers[i] ?? NOOP;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15] = [
    h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8), h(9), h(10), h(11), h(12), h(13), h(14), h(15),
  ];
  const rest = handlers.slice(UNROLLED);
  return (conn) => {
    h0(conn); h1(conn); h2(conn); h3(conn); h4(conn); h5(conn); h6(conn); h7(conn);
    h8(conn); h9(conn); h10(conn); h11(conn); h12(conn); h13(conn); h14(conn); h15(conn);
    for (let i = 0; i < rest.length; i++) rest[i](conn);
  };
}

/** fanOutConnection for exchanges. */
function fanOutExchange(handlers: readonly ExchangeHandler[]): ExchangeHandler {
  if (handlers.length === 0) return NOOP;
  const h = (i: number): ExchangeHandler => handlers[i] ?? NOOP;
  const [h0, h1, h2, h3, h4, h5, h6, h7, h8, h9, h10, h11, h12, h13, h14, h15] = [
    h(0), h(1), h(2), h(3), h(4), h(5), h(6), h(7), h(8), h(9), h(10), h(11), h(12), h(13), h(14), h(15),
  ];
  const rest = handlers.slice(UNROLLED);
  return (ex, conn) => {
    h0(ex, conn); h1(ex, conn); h2(ex, conn); h3(ex, conn); h4(ex, conn); h5(ex, conn); h6(ex, conn); h7(ex, conn);
    h8(ex, conn); h9(ex, conn); h10(ex, conn); h11(ex, conn); h12(ex, conn); h13(ex, conn); h14(ex, conn); h15(ex, conn);
    for (let i = 0; i < rest.length; i++) rest[i](ex, conn);
  };
}

/**
 * Runs the registered detectors: hands each connection event to every detector and keeps
 * what they report. Detectors see one context each, which stamps their id and severity.
 */
export class DetectionEngine {
  private readonly hooks: DetectorHooks[] = [];
  /**
   * Per event, only the detectors that handle it. Events come for every connection and exchange:
   * looking each hook up on sixteen differently shaped objects made every call site megamorphic.
   */
  private readonly openAll: ConnectionHandler;
  private readonly exchangeAll: ExchangeHandler;
  private readonly endAll: ConnectionHandler;
  private readonly all: Finding[] = [];
  /** The same findings by kind, and the connections each kind was reported on (see reportedOn). */
  private readonly byKind = new Map<AnomalyKind, Finding[]>();
  private readonly flowsByKind = new Map<AnomalyKind, Set<number>>();
  /** Every finding reported, kept or not, by severity; and those not kept (maxFindingsKept), by kind. */
  readonly reportedBySeverity: Record<Severity, number> = { info: 0, warning: 0, error: 0 };
  readonly notKept: Record<string, number> = {};
  private readonly maxKept: number;
  private readonly diagnoses: Diagnosis[] = [];
  private readonly counters = new Map<AnomalyKind, number>();
  private readonly services = new Map<string, unknown>();

  constructor(
    detectors: readonly DetectorDefinition[],
    options: DetectOptions,
    private readonly onFinding: (finding: Finding) => void = () => undefined,
  ) {
    this.maxKept = options.maxFindingsKept;
    const openHandlers: ConnectionHandler[] = [];
    const exchangeHandlers: ExchangeHandler[] = [];
    const endHandlers: ConnectionHandler[] = [];
    for (const def of detectors) {
      const hooks = def.create(this.contextFor(def, options));
      this.hooks.push(hooks);
      if (hooks.onOpen) openHandlers.push(hooks.onOpen.bind(hooks));
      if (hooks.onExchange) exchangeHandlers.push(hooks.onExchange.bind(hooks));
      if (hooks.onConnectionEnd) endHandlers.push(hooks.onConnectionEnd.bind(hooks));
    }
    this.openAll = fanOutConnection(openHandlers);
    this.exchangeAll = fanOutExchange(exchangeHandlers);
    this.endAll = fanOutEnd(endHandlers);
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
        this.reportedBySeverity[finding.severity]++;
        if (this.all.length < this.maxKept) {
          this.all.push(finding);
          const ofKind = this.byKind.get(def.id);
          if (ofKind === undefined) this.byKind.set(def.id, [finding]);
          else ofKind.push(finding);
        } else {
          this.notKept[def.id] = (this.notKept[def.id] ?? 0) + 1;
        }
        if (finding.flowId !== null) {
          const flows = this.flowsByKind.get(def.id);
          if (flows === undefined) this.flowsByKind.set(def.id, new Set([finding.flowId]));
          else flows.add(finding.flowId);
        }
        this.onFinding(finding);
        return finding;
      },
      diagnose: (input): void => {
        this.diagnoses.push({ ...input, kind: def.id, severity: input.severity ?? def.meta.severity });
      },
      // A copy: a detector may report more of the same kind while it goes through them.
      findings: (kind?: AnomalyKind): readonly Finding[] => (kind ? (this.byKind.get(kind) ?? NO_FINDINGS).slice() : this.all),
      reportedOn: (kind: AnomalyKind, flowId: number): boolean => this.flowsByKind.get(kind)?.has(flowId) ?? false,
      shared: <T>(name: string, make: () => T): T => {
        if (!this.services.has(name)) this.services.set(name, make());
        return this.services.get(name) as T;
      },
    };
  }

  /** Findings reported so far, kept or not. */
  get findingCount(): number {
    return this.reportedBySeverity.info + this.reportedBySeverity.warning + this.reportedBySeverity.error;
  }

  onOpen(conn: AnalyzedConnection): void {
    this.openAll(conn);
  }

  onExchange(exchange: HttpExchange, conn: AnalyzedConnection): void {
    this.exchangeAll(exchange, conn);
  }

  onConnectionEnd(conn: AnalyzedConnection): void {
    this.endAll(conn);
  }

  finish(): { anomalies: Finding[]; diagnoses: Diagnosis[] } {
    for (const h of this.hooks) h.onFinish?.();
    const anomalies = [...this.all].sort((a, b) => a.ts - b.ts || (a.flowId ?? 0) - (b.flowId ?? 0) || a.id.localeCompare(b.id));
    const diagnoses = [...this.diagnoses].sort((a, b) => a.kind.localeCompare(b.kind) || a.server.localeCompare(b.server));
    return { anomalies, diagnoses };
  }
}
