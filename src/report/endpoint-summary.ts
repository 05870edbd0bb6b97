import type { FlowRecord } from '../flow/flow-record';
import type { HttpExchange } from '../http/exchange';

/** Per server endpoint totals for the summary's "top endpoints" table. */
export interface EndpointTotals {
  server: string;
  connections: number;
  requests: number;
  /** Responses with status >= 500. */
  serverErrors: number;
  /**
   * Requests that never got a response (not those whose response the capture may have missed:
   * `uncertain`), and those whose response began only after their client had closed the connection
   * (a client timeout: the server answered into a closed socket).
   */
  unanswered: number;
  /** Connection attempts the server refused (a RST answered the SYN: conn_state REJ). */
  refused: number;
  /**
   * Connections the server reset after accepting them (refusals apart): not those its clients
   * reset, nor those its TCP keep-alive reset after its probes went unanswered (a dead client or path).
   */
  resets: number;
  bytes: number;
}

/**
 * A request column's cell: `-` for an endpoint that carried payload but no HTTP request (TLS, a
 * database's or a cache's protocol), where a 0 would read as requests seen and all answered.
 */
export function requestCell(e: EndpointTotals, n: number): string {
  return e.requests === 0 && e.bytes > 0 ? '-' : String(n);
}

/** Most server endpoints tracked; past it the rest are folded into one row, so memory stays bounded. */
const MAX_ENDPOINTS = 10_000;
const OTHER = '(other endpoints)';
/** Live connections whose last answered request waits for its flow (its client's close); past it they are not judged late. */
const MAX_PENDING_FLOWS = 10_000;

/**
 * Aggregates flows and exchanges per server endpoint as they stream out of the analysis,
 * so the summary does not need every flow kept in memory.
 */
export class EndpointSummary {
  private readonly totals = new Map<string, EndpointTotals>();
  /**
   * Each live connection's last answered request: when it was sent and its response began. Its
   * flow, streamed at the connection's end after its exchanges, tells whether the client had closed
   * before the response began (a client timeout; the server answered into a closed socket). Only a
   * connection's last request can be so: a client sends nothing after it closed.
   */
  private readonly lastAnswered = new Map<number, { server: string; requestStart: number; responseStart: number }>();

  private entry(server: string): EndpointTotals {
    let t = this.totals.get(server);
    if (!t) {
      // The folded row itself is always created (it is the one entry past the bound).
      if (this.totals.size >= MAX_ENDPOINTS && server !== OTHER) return this.entry(OTHER);
      t = { server, connections: 0, requests: 0, serverErrors: 0, unanswered: 0, refused: 0, resets: 0, bytes: 0 };
      this.totals.set(server, t);
    }
    return t;
  }

  addFlow(flow: FlowRecord): void {
    // A connection seen again after address translation is already counted under its first address.
    if (flow.sameConnectionAs !== null) return;
    const t = this.entry(flow.server);
    t.connections++;
    t.bytes += flow.bytes.client + flow.bytes.server;
    // A refusal is its own column: a port nothing listened on is not a server that reset its
    // connections (a tester read the refusals of a restart as resets). The server's resets are
    // history's lower-case r: a client's RST (a health checker's close with SO_LINGER 0, a port
    // scanner's answer to a SYN-ACK) says nothing of the server.
    // Nor is a reset by the server's keep-alive, after probes its client never answered: its
    // kernel found the client or the path gone (a blind tester read it as the server's fault).
    if (flow.state === 'REJ') t.refused++;
    else if (flow.history.includes('r') && flow.keepAliveGaveUp !== 'server') t.resets++;
    const last = this.lastAnswered.get(flow.id);
    if (last === undefined) return;
    this.lastAnswered.delete(flow.id);
    // A client that gave up resets the late answer arriving on its closed socket; one that only
    // half-closed (shutdown after its request) reads it: no RST, and it was answered.
    if (flow.rst.client === null) return;
    const clientClosed = flow.fin.client !== null ? Math.min(flow.fin.client, flow.rst.client) : flow.rst.client;
    if (last.requestStart < clientClosed && last.responseStart > clientClosed) this.entry(last.server).unanswered++;
  }

  addExchange(ex: HttpExchange, server: string): void {
    const t = this.entry(server);
    if (ex.method !== null) t.requests++;
    if (ex.status !== null && ex.status >= 500) t.serverErrors++;
    // Not one whose answer the capture may have lost (a gap, the server side not captured): uncertain.
    if (ex.state === 'no-response' && !ex.uncertain) t.unanswered++;
    // An answer that began after the client had closed was one its client never waited for: judged with the flow.
    if (ex.requestStart !== null && ex.responseStart !== null) {
      const last = this.lastAnswered.get(ex.flowId);
      if (last !== undefined) {
        last.requestStart = ex.requestStart;
        last.responseStart = ex.responseStart;
      } else if (this.lastAnswered.size < MAX_PENDING_FLOWS) {
        this.lastAnswered.set(ex.flowId, { server, requestStart: ex.requestStart, responseStart: ex.responseStart });
      }
    }
  }

  /** The busiest endpoints by connections, then requests. */
  top(n: number): EndpointTotals[] {
    return [...this.totals.values()]
      .sort((a, b) => b.connections - a.connections || b.requests - a.requests || a.server.localeCompare(b.server))
      .slice(0, n);
  }

  get size(): number {
    return this.totals.size;
  }

}
