/**
 * Ladder diagrams for findings and flows of a finished analysis: picks the connections to draw,
 * reads their packets from the capture files again (bounded), and builds the rows.
 */
import { AnalysisResult, collectFlowPackets, locateFrames } from '../analyze';
import { CollectLimits, flowOfFrame, FlowPacketRequest } from '../decode/flow-packets';
import type { Finding } from '../detect/finding';
import type { FlowRecord } from '../flow/flow-record';
import type { HttpExchange } from '../http/exchange';
import { buildLadder, Ladder } from '../report/ladder-model';

/** Connections drawn for a finding about a server as a whole (it names frames of several). */
const MAX_FLOWS_PER_ENDPOINT_FINDING = 3;
/** Frames of such a finding looked up to find its connections. */
const MAX_FRAMES_LOOKED_UP = 12;

function exchangesByFlow(result: AnalysisResult): Map<number, HttpExchange[]> {
  const map = new Map<number, HttpExchange[]>();
  for (const ex of result.exchanges) {
    const list = map.get(ex.flowId);
    if (list) list.push(ex);
    else map.set(ex.flowId, [ex]);
  }
  return map;
}

/** The connections each finding is drawn on: its own, or those holding its frames. */
async function flowsOfFindings(files: readonly string[], result: AnalysisResult, findings: readonly Finding[]): Promise<Map<string, FlowRecord[]>> {
  const flowsById = new Map(result.flows.map((f) => [f.id, f]));
  const out = new Map<string, FlowRecord[]>();
  const lookups: Finding[] = [];
  for (const f of findings) {
    if (f.flowId !== null) {
      const flow = flowsById.get(f.flowId);
      out.set(f.id, flow ? [flow] : []);
    } else lookups.push(f);
  }
  if (lookups.length > 0) {
    const frames = lookups.flatMap((f) => f.frames.slice(0, MAX_FRAMES_LOOKED_UP));
    const located = await locateFrames(files, frames);
    for (const f of lookups) {
      const flows: FlowRecord[] = [];
      for (const frame of f.frames.slice(0, MAX_FRAMES_LOOKED_UP)) {
        const where = located.get(frame);
        const flow = where ? flowOfFrame(where, result.flows) : null;
        if (flow && !flows.includes(flow)) flows.push(flow);
        if (flows.length >= MAX_FLOWS_PER_ENDPOINT_FINDING) break;
      }
      out.set(f.id, flows);
    }
  }
  return out;
}

/**
 * Ladders of each finding (by finding id; several for a finding about a server as a whole, none
 * when its connection is not in the result). One second read of the files for all of them.
 */
export async function laddersOfFindings(
  files: readonly string[],
  result: AnalysisResult,
  findings: readonly Finding[],
  limits: Partial<CollectLimits> = {},
): Promise<Map<string, Ladder[]>> {
  const flowsOf = await flowsOfFindings(files, result, findings);
  const requests = new Map<number, FlowPacketRequest & { focusFrames: number[] }>();
  for (const f of findings) {
    for (const flow of flowsOf.get(f.id) ?? []) {
      const request = requests.get(flow.id) ?? { id: flow.id, client: flow.client, server: flow.server, start: flow.start, end: flow.end, focusFrames: [] };
      request.focusFrames.push(...f.frames);
      requests.set(flow.id, request);
    }
  }
  const packets = await collectFlowPackets(files, [...requests.values()], limits);
  const exchanges = exchangesByFlow(result);
  const out = new Map<string, Ladder[]>();
  for (const f of findings) {
    const ladders: Ladder[] = [];
    for (const flow of flowsOf.get(f.id) ?? []) {
      const collected = packets.get(flow.id);
      if (collected) ladders.push(buildLadder({ flow, packets: collected, exchanges: exchanges.get(flow.id) ?? [], findings: [f] }));
    }
    out.set(f.id, ladders);
  }
  return out;
}

/** The ladder of one connection with the notes of every finding on it. */
export async function ladderOfFlow(files: readonly string[], result: AnalysisResult, flow: FlowRecord, limits: Partial<CollectLimits> = {}): Promise<Ladder> {
  const findings = result.anomalies.filter((a) => a.flowId === flow.id);
  const request: FlowPacketRequest = { id: flow.id, client: flow.client, server: flow.server, start: flow.start, end: flow.end, focusFrames: findings.flatMap((f) => f.frames) };
  const packets = await collectFlowPackets(files, [request], limits);
  const collected = packets.get(flow.id) ?? { flowId: flow.id, packets: [], total: 0 };
  return buildLadder({ flow, packets: collected, exchanges: exchangesByFlow(result).get(flow.id) ?? [], findings });
}
