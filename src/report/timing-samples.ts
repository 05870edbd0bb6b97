/**
 * Timing samples the HTML report charts, derived from one AnalysisResult: per server endpoint,
 * the idle gaps after which the server closed a kept-alive connection, the idle gaps after which
 * clients reused one, the timeouts the diagnoses inferred, and the response times.
 */
import type { AnalysisResult } from '../analyze';
import type { FlowRecord } from '../flow/flow-record';
import type { HttpExchange } from '../http/exchange';

export interface IdleSamples {
  server: string;
  /** Seconds idle before the server's FIN on connections with nothing outstanding. */
  serverCloses: number[];
  /** Seconds idle before a request on a reused connection (exchange.idleBefore, index ≥ 2). */
  reuses: number[];
  /** Inferred or advertised timeouts of this server (name → seconds). */
  timeouts: Array<{ name: string; seconds: number }>;
}

export interface ResponseTimes {
  server: string;
  /** Seconds from the end of a request to the first byte of its response. */
  values: number[];
}

/** The server's first FIN time, when the analysis records it (FlowRecord.fin). */
function serverFinTs(flow: FlowRecord): number | null {
  const withFin = flow as FlowRecord & { fin?: { server: number | null } };
  const t = withFin.fin?.server;
  return typeof t === 'number' ? t : null;
}

function clientFinTs(flow: FlowRecord): number | null {
  const withFin = flow as FlowRecord & { fin?: { client: number | null } };
  const t = withFin.fin?.client;
  return typeof t === 'number' ? t : null;
}

/**
 * Seconds a connection sat idle before the server closed it, or null when the close was not an
 * idle close (a request was outstanding, the response announced the close, the client closed first).
 */
function idleCloseGap(flow: FlowRecord, exchanges: readonly HttpExchange[]): number | null {
  if (flow.closedBy !== 'server' || flow.close !== 'fin' || flow.directionInferred) return null;
  const fin = serverFinTs(flow);
  if (fin === null) return null;
  const clientFin = clientFinTs(flow);
  if (clientFin !== null && clientFin < fin) return null;
  let idleSince = flow.requests === 0 ? flow.start : null;
  for (const ex of exchanges) {
    if (ex.requestStart !== null && ex.requestStart > fin) continue;
    if (ex.responseEnd === null || ex.responseEnd > fin || ex.responseClose) return null;
    idleSince = ex.responseEnd;
  }
  return idleSince === null ? null : fin - idleSince;
}

const TIMEOUT_NAMES = /timeout|idle/i;

/** Idle-gap samples per server endpoint, busiest first. */
export function idleSamples(result: AnalysisResult): IdleSamples[] {
  const byServer = new Map<string, IdleSamples>();
  const entry = (server: string): IdleSamples => {
    let e = byServer.get(server);
    if (!e) {
      e = { server, serverCloses: [], reuses: [], timeouts: [] };
      byServer.set(server, e);
    }
    return e;
  };
  const exchangesOf = new Map<number, HttpExchange[]>();
  for (const ex of result.exchanges) {
    const list = exchangesOf.get(ex.flowId);
    if (list) list.push(ex);
    else exchangesOf.set(ex.flowId, [ex]);
  }
  const haveFinTimes = result.flows.some((f) => serverFinTs(f) !== null);
  for (const flow of result.flows) {
    const exchanges = exchangesOf.get(flow.id) ?? [];
    const gap = idleCloseGap(flow, exchanges);
    if (gap !== null && gap >= 0) entry(flow.server).serverCloses.push(gap);
    for (const ex of exchanges) {
      if (ex.index >= 2 && ex.idleBefore !== null && ex.method !== null) entry(flow.server).reuses.push(ex.idleBefore);
    }
  }
  if (!haveFinTimes) {
    // Without FIN times in the flows, the keep-alive races' own idle gaps are the samples we have.
    for (const f of result.anomalies) {
      const gap = f.evidence.idleGap;
      if (f.kind === 'keepalive-race' && typeof gap === 'number') entry(f.server).serverCloses.push(gap);
    }
  }
  for (const d of result.diagnoses) {
    const e = byServer.get(d.server);
    if (!e) continue;
    for (const [name, v] of Object.entries(d.inferred)) {
      if (TIMEOUT_NAMES.test(name) && !e.timeouts.some((t) => t.name === name)) e.timeouts.push({ name, seconds: v.value });
    }
  }
  return [...byServer.values()]
    .filter((e) => e.serverCloses.length + e.reuses.length > 0)
    .sort((a, b) => b.serverCloses.length + b.reuses.length - (a.serverCloses.length + a.reuses.length) || a.server.localeCompare(b.server));
}

/** Response times per server endpoint, busiest first. */
export function responseTimes(result: AnalysisResult): ResponseTimes[] {
  const serverOf = new Map(result.flows.map((f) => [f.id, f.server]));
  const byServer = new Map<string, number[]>();
  for (const ex of result.exchanges) {
    if (ex.requestEnd === null || ex.responseStart === null) continue;
    const rt = ex.responseStart - ex.requestEnd;
    if (!(rt >= 0)) continue;
    const server = serverOf.get(ex.flowId) ?? '?';
    const list = byServer.get(server);
    if (list) list.push(rt);
    else byServer.set(server, [rt]);
  }
  return [...byServer.entries()].map(([server, values]) => ({ server, values })).sort((a, b) => b.values.length - a.values.length || a.server.localeCompare(b.server));
}

/** The q-quantile (0..1) of values by the nearest-rank method. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}
