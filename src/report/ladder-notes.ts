/**
 * What a finding says at each of its frames, written beside the packet in a ladder diagram:
 * "server idle 3.000 s → FIN", "request 29.2 ms after the FIN, ACKs it: stale reuse", "RST".
 * The frames a detector reports are its proof; the packet at each frame (FIN, RST, data, SYN,
 * zero window) tells which step of the story it is, and the finding's evidence gives the numbers.
 */
import type { FlowPacket } from '../decode/flow-packets';
import type { EvidenceValue, Finding } from '../detect/finding';
import { formatDuration } from './format-time';

export interface PlacedNote {
  frame: number;
  text: string;
}

export interface FindingNotes {
  /** Notes on packets of the drawn connection. */
  placed: PlacedNote[];
  /** What the finding says about frames not drawn (other connections, packets left out). */
  unplaced: string[];
}

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

type Evidence = Record<string, EvidenceValue>;

function num(ev: Evidence, key: string): number | null {
  const v = ev[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(ev: Evidence, key: string): string | null {
  const v = ev[key];
  return typeof v === 'string' ? v : null;
}

function dur(seconds: number | null): string {
  return seconds === null ? '?' : formatDuration(seconds);
}

function words(id: string): string {
  return id.replace(/-/g, ' ');
}

const isSyn = (p: FlowPacket): boolean => (p.flags & SYN) !== 0;
const isFin = (p: FlowPacket): boolean => (p.flags & FIN) !== 0;
const isRst = (p: FlowPacket): boolean => (p.flags & RST) !== 0;
const hasData = (p: FlowPacket): boolean => p.payloadLen > 0 && !isSyn(p) && !isRst(p);
const side = (p: FlowPacket): string => (p.fromClient ? 'client' : 'server');

/** A note for one frame of a finding of a given kind; null lets the generic wording speak, '' says nothing. */
type NoteRule = (p: FlowPacket, ev: Evidence, f: Finding, index: number, packets: ReadonlyMap<number, FlowPacket>) => string | null;

/** The finding's first packet that matches, among those drawn. */
function findPacket(f: Finding, packets: ReadonlyMap<number, FlowPacket>, match: (p: FlowPacket) => boolean): FlowPacket | null {
  for (const frame of f.frames) {
    const p = packets.get(frame);
    if (p && match(p)) return p;
  }
  return null;
}

const keepaliveRace: NoteRule = (p, ev, f, _index, packets) => {
  if (!p.fromClient && isFin(p)) return `server idle ${dur(num(ev, 'idleGap'))} → FIN`;
  // An idle close by RST with no FIN (MariaDB's SO_LINGER 0): the first RST is the close, a request crossed it.
  if (str(ev, 'closedWith') === 'RST' && str(ev, 'form') === 'crossing') {
    const close = findPacket(f, packets, (q) => !q.fromClient && isRst(q));
    if (!p.fromClient && isRst(p)) return p === close ? `server idle ${dur(num(ev, 'idleGap'))} → RST, no FIN` : 'RST: no socket for the request';
    if (p.fromClient && hasData(p)) return `request${close === null ? '' : ` ${dur(p.ts - close.ts)}`} after the RST that closed it: crossing`;
  }
  if (p.fromClient && hasData(p)) {
    // The packets' own times are exact; the evidence is rounded to the millisecond.
    if (str(ev, 'form') === 'closed-on-arrival') {
      const close = findPacket(f, packets, (q) => !q.fromClient && (isFin(q) || isRst(q)));
      const when = close === null ? '' : `, ${dur(close.ts - p.ts)} before the server's ${isRst(close) ? 'RST' : 'FIN'}`;
      return `request${when}: its idle close met it on arrival`;
    }
    const fin = findPacket(f, packets, (q) => !q.fromClient && isFin(q));
    const delta = fin ? p.ts - fin.ts : num(ev, 'delta');
    const when = delta === null ? 'after the FIN' : `${dur(Math.abs(delta))} ${delta >= 0 ? 'after' : 'before'} the FIN`;
    if (str(ev, 'form') === 'stale-reuse') return `request ${when}, ACKs it: stale reuse`;
    return `request ${when}, not ACKing it: crossing`;
  }
  if (!p.fromClient && isRst(p)) {
    const retry = num(ev, 'retriedOnFlow');
    return `RST: the request is lost${retry !== null ? `; retried on flow ${retry}` : ''}`;
  }
  if (!p.fromClient && hasData(p)) return 'last response, then idle';
  return null;
};

const requestAfterCloseNotice: NoteRule = (p, ev, f, _index, packets) => {
  // An idle 408 that crossed the request: the request came first, the notice answered it unread.
  const crossed = ev.noticeCrossed === true;
  if (crossed && !p.fromClient && hasData(p) && f.frames.includes(p.frame)) return 'the idle timer\'s 408 announces the close, the request unread';
  if (crossed && p.fromClient && hasData(p) && f.frames.includes(p.frame)) return 'request on the idle connection, crossing the close notice';
  if (!p.fromClient && hasData(p)) return 'the response announces the close';
  if (!p.fromClient && isFin(p)) return 'server closes, as announced';
  if (p.fromClient && hasData(p)) {
    const notice = findPacket(f, packets, (q) => !q.fromClient && hasData(q));
    const after = notice ? p.ts - notice.ts : num(ev, 'afterNotice');
    return `request ${dur(after)} after the close notice`;
  }
  if (isRst(p)) return `${side(p)} RST: the request is lost`;
  return null;
};

const unansweredRequest: NoteRule = (p, ev) => {
  // A proxy's 5xx relaying its backend's close of the forwarded request (its client's connection).
  if (ev.relayedBackendClose === true) {
    if (p.fromClient && hasData(p)) return 'request to the proxy';
    if (!p.fromClient && hasData(p)) {
      const attempts = num(ev, 'upstreamAttempts') ?? 1;
      return `the proxy answers ${num(ev, 'status') ?? '5xx'} after ${dur(num(ev, 'delaySeconds'))}: the backend closed ${attempts === 2 ? 'both attempts' : attempts > 2 ? `all ${attempts} attempts` : 'the forwarded request'} unanswered`;
    }
    return null;
  }
  if (p.frame === num(ev, 'closeNotifyFrame')) return 'client close_notify (TLS alert): its close begins';
  if (p.fromClient && hasData(p)) return 'request: never answered';
  const closedBy = str(ev, 'closedBy');
  if ((isFin(p) || isRst(p)) && side(p) === closedBy) {
    return `${closedBy} gives up after ${dur(num(ev, 'waitSeconds'))} → ${isRst(p) ? 'RST' : 'FIN'}`;
  }
  if (isFin(p) || isRst(p)) return `${side(p)} closes too (${isRst(p) ? 'RST' : 'FIN'})`;
  return null;
};

const zeroWindowStall: NoteRule = (p, ev) => {
  const receiver = str(ev, 'receiver') ?? side(p);
  if (p.frame === num(ev, 'startFrame')) return `${receiver} window 0: it stopped reading`;
  if (p.frame === num(ev, 'endFrame')) return `window opens after ${dur(num(ev, 'duration'))}`;
  return null;
};

const UNREAD: Record<string, string> = {
  'request-body-incomplete': 'the request body',
  'response-before-request-end': 'the request body',
  'pipelined-requests': 'pipelined requests',
};

const rstOnClose: NoteRule = (p, ev) => {
  if (isRst(p)) {
    const unread = UNREAD[str(ev, 'unread') ?? ''] ?? 'request bytes';
    return `${side(p)} RST with ${unread} unread: the peer may lose the response`;
  }
  if (p.fromClient && hasData(p)) return 'request bytes the server leaves unread';
  // The response's own status line is beside it already.
  if (!p.fromClient && hasData(p)) return '';
  return null;
};

const synUnanswered: NoteRule = (p, ev, _f, index) => {
  if (p.fromClient && isSyn(p)) return index === 0 ? 'SYN: no answer' : `SYN again (retry ${index}): no answer`;
  if (!p.fromClient) return `answered after ${dur(num(ev, 'waited'))} (${str(ev, 'outcome') ?? 'answer'})`;
  return null;
};

const connectionRefused: NoteRule = (p) => {
  if (!p.fromClient && isRst(p)) return 'RST: refused (nothing listens)';
  if (p.fromClient && isSyn(p)) return 'SYN';
  return null;
};

const acceptQueueOverflow: NoteRule = (p, ev, _f, index) => {
  // A connection refused as it was accepted (a connection limit), or a 5xx answered at once beside such refusals.
  if (ev.signal === 'failed-at-once') return p.fromClient ? 'request' : `${num(ev, 'status') ?? '5xx'} at once`;
  if (ev.signal === 'closed-at-accept') {
    if (!p.fromClient && isSyn(p)) return '';
    if (!p.fromClient && isFin(p)) return 'FIN right after the handshake: refused as it was accepted';
    if (!p.fromClient && isRst(p)) return ev.form === 'fin-before-request' ? 'RST: the socket was closed' : 'RST over the unread request: refused as it was accepted';
    if (p.fromClient && hasData(p)) return 'request';
    return null;
  }
  if (!p.fromClient && isSyn(p)) return index === 0 ? '' : 'SYN,ACK again: the ACK was not taken (accept queue full)';
  if (p.fromClient && hasData(p)) return ev.dataAcked === true ? 'first data, ACKed only late' : 'first data: never ACKed';
  return null;
};

const portReuse: NoteRule = (p, ev) => {
  if (p.fromClient && isSyn(p)) {
    const previous = num(ev, 'previousFlowId');
    return `SYN reuses this 4-tuple ${dur(num(ev, 'gap'))} after ${previous !== null ? `flow ${previous}` : 'an earlier connection'}`;
  }
  return null;
};

const retriedRequest: NoteRule = (p, ev, _f, index) => {
  if (index === 0 && p.fromClient && hasData(p)) return 'first attempt';
  if (index === 1) return `fails: ${words(str(ev, 'failure') ?? 'no answer')}`;
  if (index === 2) return `sent again ${dur(num(ev, 'afterFailure'))} after the failure`;
  return null;
};

const idleTimeoutMismatch: NoteRule = (p, ev) => {
  if (!p.fromClient && isFin(p)) return `server idle close (timeout ≈ ${dur(num(ev, 'serverIdleTimeout'))})`;
  if (p.fromClient && hasData(p)) return `reused after a long idle (up to ${dur(num(ev, 'clientReuseMaxIdle'))})`;
  return null;
};

const intermittent5xx: NoteRule = (p) => (!p.fromClient && hasData(p) ? 'same request, compared outcome' : null);

const connectionChurn: NoteRule = (p) => (p.fromClient && isSyn(p) ? 'new connection for one request' : null);

const gatewayTimeout: NoteRule = (p, ev) => {
  if (p.fromClient && hasData(p)) return 'request to the proxy';
  if (!p.fromClient && hasData(p)) return `the proxy answers ${num(ev, 'status') ?? '5xx'} after ${dur(num(ev, 'delaySeconds'))}`;
  if (isFin(p) || isRst(p)) return `${side(p)} closes (${isRst(p) ? 'RST' : 'FIN'})`;
  return null;
};

const noUpstreamConnect: NoteRule = (p, ev) => {
  if (p.fromClient && hasData(p)) return 'request: the proxy opens no upstream connection';
  if (!p.fromClient) return `the proxy fails it after ${dur(num(ev, 'delaySeconds'))} (${str(ev, 'failedWith') ?? 'error'})`;
  return null;
};

const resetBeforeResponse: NoteRule = (p, ev) => {
  if (p.fromClient && hasData(p)) return 'request';
  if (isRst(p)) return `${side(p)} RST ${dur(num(ev, 'waitSeconds'))} after the request, ${ev.responseStarted === true ? 'mid-response' : 'before any response'}`;
  if (!p.fromClient && hasData(p)) return 'the response begins';
  return null;
};

const middleboxIdleTimeout: NoteRule = (p, ev) => {
  if (p.fromClient && hasData(p)) return `request after ${dur(num(ev, 'idleBefore'))} idle${ev.form === 'dropped' ? ': never answered' : ''}`;
  if (ev.form === 'idle-reset') {
    // The server's side: the server sent on the idle connection, a middlebox answered in the client's name.
    if (isRst(p)) return `RST in the client's name, IP TTL ${num(ev, 'rstTtl') ?? '?'} (the client's: ${num(ev, 'clientTtl') ?? '?'}), answering the server's ${str(ev, 'trigger') ?? 'packet'}: a middlebox`;
    return null;
  }
  if (isRst(p)) return `RST in the server's name, IP TTL ${num(ev, 'rstTtl') ?? '?'} (the server's: ${num(ev, 'serverTtl') ?? '?'}): a middlebox`;
  return null;
};

const RULES: Partial<Record<Finding['kind'], NoteRule>> = {
  'middlebox-idle-timeout': middleboxIdleTimeout,
  'gateway-timeout': gatewayTimeout,
  'no-upstream-connect': noUpstreamConnect,
  'reset-before-response': resetBeforeResponse,
  'keepalive-race': keepaliveRace,
  'request-after-close-notice': requestAfterCloseNotice,
  'unanswered-request': unansweredRequest,
  'zero-window-stall': zeroWindowStall,
  'rst-on-close': rstOnClose,
  'syn-unanswered': synUnanswered,
  'connection-refused': connectionRefused,
  'accept-queue-overflow': acceptQueueOverflow,
  'port-reuse': portReuse,
  'retried-request': retriedRequest,
  'idle-timeout-mismatch': idleTimeoutMismatch,
  'connection-churn': connectionChurn,
  'intermittent-5xx': intermittent5xx,
};

/** Evidence fields that name the other connection of a finding (the upstream leg, the retry...). */
const OTHER_FLOW_KEYS = ['upstreamFlowId', 'failedFlowId', 'retriedOnFlow', 'previousFlowId'];

/** Words for a packet when a kind has no rule for it. */
function genericNote(p: FlowPacket, f: Finding): string {
  let what: string;
  if (isRst(p)) what = `${side(p)} RST`;
  else if (isFin(p)) what = `${side(p)} FIN`;
  else if (isSyn(p)) what = (p.flags & ACK) !== 0 ? 'SYN,ACK' : 'SYN';
  else if (hasData(p)) what = p.fromClient ? 'client data' : 'server data';
  else if (p.window === 0) what = `${side(p)} window 0`;
  else what = `${side(p)} ACK`;
  return `${what} (${words(f.kind)})`;
}

/**
 * The notes of one finding on the packets given (one connection's, by frame). The frame of the
 * finding's decisive moment always gets a note; frames not among the packets are listed apart.
 */
export function findingNotes(finding: Finding, packets: ReadonlyMap<number, FlowPacket>): FindingNotes {
  const rule = RULES[finding.kind];
  const placed: PlacedNote[] = [];
  const missing: number[] = [];
  // Index of a frame among the finding's frames of the same kind of packet (SYN retries, repeats).
  const seenOfType = new Map<string, number>();
  finding.frames.forEach((frame, position) => {
    const p = packets.get(frame);
    if (!p) {
      missing.push(frame);
      return;
    }
    const type = `${p.fromClient}:${p.flags & (SYN | FIN | RST)}:${hasData(p)}`;
    const nth = seenOfType.get(type) ?? 0;
    seenOfType.set(type, nth + 1);
    const index = finding.kind === 'retried-request' ? position : nth;
    const text = rule?.(p, finding.evidence, finding, index, packets) ?? genericNote(p, finding);
    if (text !== '') placed.push({ frame, text });
  });
  const unplaced: string[] = [];
  if (missing.length > 0) {
    const other = OTHER_FLOW_KEYS.map((k) => num(finding.evidence, k)).find((v) => v !== null);
    const where = other !== null && other !== undefined ? `; see flow ${other}` : '';
    unplaced.push(`${finding.id} also names frame${missing.length === 1 ? '' : 's'} ${missing.join(' ')} (not drawn here${where})`);
  }
  return { placed, unplaced };
}
