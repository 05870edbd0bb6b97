import { EndpointState } from './endpoint-state';

/** What the labels need to know about one endpoint. */
export interface EndpointSummary {
  state: EndpointState;
  payloadBytes: number;
  finTs: number;
  rstTs: number;
}

export type ConnStateLabel =
  | 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

function inactive(state: EndpointState): boolean {
  return state === EndpointState.Inactive || state === EndpointState.Partial;
}

/** Zeek's RSTOS0 pattern /^\^?S[^HAFGIQ]*R.*​/: the originator's SYN, then its RST, with no answer between. */
function synThenResetOnly(history: string): boolean {
  const h = history.startsWith('^') ? history.slice(1) : history;
  if (!h.startsWith('S')) return false;
  for (let i = 1; i < h.length; i++) {
    const ch = h[i];
    if (ch === 'R') return true;
    if ('HAFGIQ'.includes(ch)) return false;
  }
  return false;
}

/**
 * Zeek's conn_state, as a pure function of the two endpoints (base/protocols/conn/main.zeek).
 * S0 attempt, no reply · S1 established, not closed · SF normal close · REJ rejected ·
 * S2/S3 established, only client/server closed · RSTO/RSTR client/server reset ·
 * RSTOS0 client SYN then RST · RSTRH server SYN-ACK then RST, no SYN seen ·
 * SH/SHR client SYN+FIN / server SYN-ACK+FIN, half open · OTH midstream.
 *
 * Read from a table made once by `labelOf` for every pair of states: as a chain of tests, the
 * tests behind the common pair (both sides closed) had no type feedback when V8 compiled the
 * release path, and the first connection that ended otherwise threw that code away. Only a
 * client's reset with no answer (RSTOS0 or OTH) still needs the history.
 */
export function connState(client: EndpointSummary, server: EndpointSummary, history: string): ConnStateLabel {
  const os = client.state;
  const rs = server.state;
  // Both counts are read on every call, for the same reason; they are never negative.
  const noPayload = client.payloadBytes + server.payloadBytes === 0;
  const label = os >= 0 && os < STATES && rs >= 0 && rs < STATES ? LABELS[(os * STATES + rs) * 2 + (noPayload ? 1 : 0)] : labelOf(os, rs, noPayload);
  return label !== null ? label : synThenResetOnly(history) ? 'RSTOS0' : 'OTH';
}

/** EndpointState values: 0 to 6. */
const STATES = 7;

/** connState's tests for one pair of states; null where only the history can tell (RSTOS0 or OTH). */
function labelOf(os: EndpointState, rs: EndpointState, noPayload: boolean): ConnStateLabel | null {
  const oInactive = inactive(os);
  const rInactive = inactive(rs);
  if (rs === EndpointState.Reset) {
    if (os === EndpointState.SynSent || os === EndpointState.SynAckSent || (os === EndpointState.Reset && noPayload)) {
      return 'REJ';
    }
    return oInactive ? 'RSTRH' : 'RSTR';
  }
  if (os === EndpointState.Reset) {
    if (rInactive) return null;
    return 'RSTO';
  }
  if (rs === EndpointState.Closed && os === EndpointState.Closed) return 'SF';
  if (os === EndpointState.Closed) return rInactive ? 'SH' : 'S2';
  if (rs === EndpointState.Closed) return oInactive ? 'SHR' : 'S3';
  if (os === EndpointState.SynSent && rs === EndpointState.Inactive) return 'S0';
  if (os === EndpointState.Established && rs === EndpointState.Established) return 'S1';
  return 'OTH';
}

/** labelOf for every pair of states and both payload cases, at [(client × STATES + server) × 2 + (no payload ? 1 : 0)]. */
const LABELS: ReadonlyArray<ConnStateLabel | null> = (() => {
  const labels: Array<ConnStateLabel | null> = [];
  for (let os = 0; os < STATES; os++) {
    for (let rs = 0; rs < STATES; rs++) labels.push(labelOf(os, rs, false), labelOf(os, rs, true));
  }
  return labels;
})();

export type CloseKind = 'fin' | 'rst' | 'open';

/** Who closed first and how; a side that never sent FIN or RST leaves the connection open. */
export function firstClose(client: EndpointSummary, server: EndpointSummary): { by: 'client' | 'server' | null; how: CloseKind } {
  let by: 'client' | 'server' | null = null;
  let how: CloseKind = 'open';
  let at = Infinity;
  const consider = (side: 'client' | 'server', kind: CloseKind, ts: number): void => {
    // Ties go to the earlier-listed event: client before server, FIN before RST.
    if (ts >= 0 && ts < at) {
      at = ts;
      by = side;
      how = kind;
    }
  };
  consider('client', 'fin', client.finTs);
  consider('client', 'rst', client.rstTs);
  consider('server', 'fin', server.finTs);
  consider('server', 'rst', server.rstTs);
  return { by, how };
}
