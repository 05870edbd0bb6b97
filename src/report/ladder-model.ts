/**
 * A ladder diagram of one connection, as rows that a terminal or an SVG renderer draws: an arrow
 * per packet (or per run of similar packets, "×12 ACK"), the HTTP request and status lines beside
 * the packets that carry them, and the findings' notes at their decisive packets.
 */
import type { FlowPacket, FlowPackets } from '../decode/flow-packets';
import type { Finding } from '../detect/finding';
import type { FlowRecord } from '../flow/flow-record';
import { statusText, type HttpExchange } from '../http/exchange';
import { formatBytes } from './format-time';
import { findingNotes } from './ladder-notes';

export type NoteTone = 'http' | 'finding' | 'info';

export interface LadderNote {
  text: string;
  tone: NoteTone;
}

export type ArrowTone = 'syn' | 'fin' | 'rst' | 'data' | 'ack' | 'zero';

export interface LadderArrow {
  type: 'packet';
  /** First and last frame of the row (equal for a single packet). */
  frame: number;
  lastFrame: number;
  count: number;
  fromClient: boolean;
  /** "SYN,ACK", "PSH,ACK len=74", "×12 ACK". */
  label: string;
  tone: ArrowTone;
  /** Seconds since the connection's previous packet (null for its first). */
  dt: number | null;
  ts: number;
  /** Seconds from the first to the last packet of a run (0 for one packet). */
  span: number;
  notes: LadderNote[];
  /** A finding speaks at this row. */
  decisive: boolean;
}

export interface LadderGap {
  type: 'gap';
  /** Packets of the connection left out here. */
  skipped: number;
}

export type LadderRow = LadderArrow | LadderGap;

export interface Ladder {
  flow: FlowRecord;
  rows: LadderRow[];
  /** Notes about frames not drawn (other connections, or left out of a long one). */
  unplaced: string[];
  /** Packets of the connection in the capture, and how many are drawn. */
  totalPackets: number;
  drawnPackets: number;
  /** Packets the capture holds twice, not drawn (counted in totalPackets, not in drawnPackets). */
  copies: number;
}

export interface LadderSource {
  flow: FlowRecord;
  packets: FlowPackets;
  /** Exchanges of this connection (others are ignored). */
  exchanges: readonly HttpExchange[];
  /** Findings whose notes to write (others on the flow are ignored). */
  findings: readonly Finding[];
}

const FLAG_NAMES: Array<[number, string]> = [
  [0x02, 'SYN'],
  [0x01, 'FIN'],
  [0x04, 'RST'],
  [0x08, 'PSH'],
  [0x10, 'ACK'],
  [0x20, 'URG'],
  [0x40, 'ECE'],
  [0x80, 'CWR'],
];

/** "SYN,ACK", "PSH,ACK", "RST". */
export function flagText(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, name]) => name);
  return names.length > 0 ? names.join(',') : 'none';
}

/** Pauses longer than this break a run of similar packets: an idle moment is worth a row. */
const RUN_BREAK_SECONDS = 0.5;
/** Fewer similar packets than this are drawn one by one. */
const MIN_RUN = 3;

/** Control characters (from request URIs in captures) never reach a terminal or a page. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '·');
}

function httpNotes(exchanges: readonly HttpExchange[], flowId: number): Map<number, LadderNote[]> {
  const notes = new Map<number, LadderNote[]>();
  const add = (frame: number | null, text: string): void => {
    if (frame === null) return;
    const list = notes.get(frame) ?? [];
    list.push({ text: printable(text), tone: 'http' });
    notes.set(frame, list);
  };
  for (const ex of exchanges) {
    if (ex.flowId !== flowId) continue;
    if (ex.method !== null) add(ex.requestFrame, `${ex.method} ${ex.uri ?? ''}`.trim());
    if (ex.status !== null) {
      // A status line the snaplen cut shows its class (`2xx`), not the code conncheck stored for it.
      let text = `${statusText(ex) ?? ''}${ex.reason ? ` ${ex.reason}` : ''}`;
      if (ex.responseClose) text += ' · Connection: close';
      else if (ex.keepAliveTimeout !== null) text += ` · keep-alive ${ex.keepAliveTimeout} s`;
      add(ex.responseFrame, text);
    }
  }
  return notes;
}

interface Classified {
  p: FlowPacket;
  /** A capture's second copy of a packet (see flow/capture-copies.ts): not drawn. */
  copy: boolean;
  retransmission: boolean;
  zeroWindow: boolean;
  tone: ArrowTone;
}

function classify(packets: readonly FlowPacket[]): Classified[] {
  // Highest sequence end seen per direction, to tell a retransmission (seq numbers wrap: compare signed).
  let clientEnd: number | null = null;
  let serverEnd: number | null = null;
  return packets.map((p) => {
    const copy = p.copy;
    if (copy) return { p, copy, retransmission: false, zeroWindow: false, tone: 'ack' as ArrowTone };
    const rst = (p.flags & 0x04) !== 0;
    const syn = (p.flags & 0x02) !== 0;
    const fin = (p.flags & 0x01) !== 0;
    let retransmission = false;
    if (p.payloadLen > 0 && !syn && !rst) {
      const end = (p.seq + p.payloadLen) >>> 0;
      const highest = p.fromClient ? clientEnd : serverEnd;
      if (highest !== null && ((end - highest) | 0) <= 0) retransmission = true;
      else if (p.fromClient) clientEnd = end;
      else serverEnd = end;
    }
    const zeroWindow = p.window === 0 && !rst && !syn;
    const tone: ArrowTone = rst ? 'rst' : syn ? 'syn' : fin ? 'fin' : zeroWindow ? 'zero' : p.payloadLen > 0 ? 'data' : 'ack';
    return { p, copy, retransmission, zeroWindow, tone };
  });
}

function singleLabel(c: Classified): string {
  let label = flagText(c.p.flags);
  if (c.p.payloadLen > 0) label += ` len=${c.p.payloadLen}`;
  if (c.zeroWindow) label += ' win=0';
  if (c.retransmission) label += ' retx';
  return label;
}

const PSH = 0x08;

function runLabel(primary: readonly Classified[]): string {
  const first = primary[0];
  const withPush = primary.filter((c) => (c.p.flags & PSH) !== 0).length;
  const flags = withPush === 0 || withPush === primary.length ? flagText(first.p.flags) : `[PSH,]${flagText(first.p.flags & ~PSH)}`;
  let label = `×${primary.length} ${flags}`;
  const bytes = primary.reduce((sum, c) => sum + c.p.payloadLen, 0);
  if (bytes > 0) label += ` ${formatBytes(bytes)}`;
  if (first.zeroWindow) label += ' win=0';
  if (first.retransmission) label += ' retx';
  return label;
}

/** Packets alike enough to share a run row (PSH does not matter for data). */
function runKey(c: Classified): string {
  const flags = c.p.payloadLen > 0 ? c.p.flags & ~PSH : c.p.flags;
  return `${c.p.fromClient}:${flags}:${c.p.payloadLen > 0}:${c.zeroWindow}:${c.retransmission}`;
}

/** A plain ACK going back against a data run: a bulk transfer's acknowledgements join its row. */
function isAckBack(c: Classified, primary: Classified): boolean {
  return primary.p.payloadLen > 0 && c.p.fromClient !== primary.p.fromClient && c.p.payloadLen === 0 && c.p.flags === 0x10 && !c.zeroWindow;
}

function arrowOf(run: readonly Classified[], notes: LadderNote[], label: string): LadderArrow {
  const first = run[0].p;
  const last = run[run.length - 1].p;
  return {
    type: 'packet',
    frame: first.frame,
    lastFrame: last.frame,
    count: run.length,
    fromClient: first.fromClient,
    label,
    tone: run[0].tone,
    dt: first.prevTs === null ? null : first.ts - first.prevTs,
    ts: first.ts,
    span: last.ts - first.ts,
    notes,
    decisive: notes.some((n) => n.tone === 'finding'),
  };
}

/** Builds the rows of one connection's ladder. */
export function buildLadder(source: LadderSource): Ladder {
  const { flow, packets } = source;
  const byFrame = new Map<number, FlowPacket>();
  for (const p of packets.packets) byFrame.set(p.frame, p);

  const notes = httpNotes(source.exchanges, flow.id);
  const proxied = flow.proxyProtocol;
  if (proxied !== null && proxied !== undefined) {
    // The PROXY protocol header a proxy or load balancer opened with (http/proxy-protocol.ts).
    const text = `PROXY v${proxied.version} header${proxied.source !== null ? `: for ${proxied.source}` : ''}`;
    notes.set(proxied.frame, [{ text: printable(text), tone: 'http' }, ...(notes.get(proxied.frame) ?? [])]);
  }
  const unplaced: string[] = [];
  for (const finding of source.findings) {
    const { placed, unplaced: elsewhere } = findingNotes(finding, byFrame);
    for (const n of placed) {
      const list = notes.get(n.frame) ?? [];
      const text = printable(n.text);
      if (!list.some((x) => x.text === text)) list.push({ text, tone: 'finding' });
      notes.set(n.frame, list);
    }
    unplaced.push(...elsewhere);
  }

  const classified = classify(packets.packets);
  const rows: LadderRow[] = [];
  // A run: packets alike (the primary ones), plus the ACKs going back when they carry data.
  let run: Classified[] = [];
  const flushRun = (): void => {
    if (run.length === 0) return;
    const key = runKey(run[0]);
    const primary = run.filter((c) => runKey(c) === key);
    if (primary.length >= MIN_RUN) {
      const first = run[0].p;
      const last = run[run.length - 1].p;
      const acks = run.length - primary.length;
      const text = `frames ${first.frame}–${last.frame} over ${formatSpan(last.ts - first.ts)}${acks > 0 ? `, ${acks} ACK${acks === 1 ? '' : 's'} back` : ''}`;
      rows.push(arrowOf(run, [{ text, tone: 'info' }], runLabel(primary)));
    } else {
      for (const c of run) rows.push(arrowOf([c], [], singleLabel(c)));
    }
    run = [];
  };
  let copies = 0;
  for (const c of classified) {
    const p = c.p;
    if (c.copy) {
      copies++;
      continue;
    }
    if (p.skippedBefore > 0) {
      flushRun();
      rows.push({ type: 'gap', skipped: p.skippedBefore });
    }
    const own = notes.get(p.frame);
    const standalone = own !== undefined || (p.flags & 0x07) !== 0;
    if (standalone) {
      flushRun();
      rows.push(arrowOf([c], own ?? [], singleLabel(c)));
      continue;
    }
    const dt = p.prevTs === null ? 0 : p.ts - p.prevTs;
    const joins = run.length > 0 && dt < RUN_BREAK_SECONDS && (runKey(run[0]) === runKey(c) || isAckBack(c, run[0]));
    if (!joins) flushRun();
    run.push(c);
  }
  flushRun();
  return { flow, rows, unplaced, totalPackets: packets.total, drawnPackets: packets.packets.length - copies, copies };
}

function formatSpan(seconds: number): string {
  if (seconds < 1e-3) return `${(seconds * 1e6).toFixed(0)} µs`;
  if (seconds < 1) return `${(seconds * 1e3).toFixed(1)} ms`;
  return `${seconds.toFixed(3)} s`;
}
