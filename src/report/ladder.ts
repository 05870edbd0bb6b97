/**
 * A connection's ladder diagram for an 80-column terminal:
 *
 *     frame        Δt  client                   server
 *        15   2.004 s  │◀──────────── FIN,ACK ─│ server idle 2.004 s → FIN
 *        16   29.2 ms  │─ PSH,ACK len=74 ─────▶│ GET /cart/7
 *
 * The frame number (Wireshark's), the time since the connection's previous packet, an arrow in
 * the packet's direction with its flags and payload length, and beside it the HTTP lines and the
 * findings' notes.
 */
import { formatDuration } from './format-time';
import { paint, Paint } from './ansi';
import type { ArrowTone, Ladder, LadderArrow, LadderNote } from './ladder-model';
import { truncate, wrapText } from './text-wrap';

export interface LadderTextOptions {
  colour: boolean;
}

const FRAME_W = 7;
const DT_W = 9;
/** Characters between the two vertical lines. */
const ARROW_W = 26;
/** Column of the client's line: frame, space, Δt, space. */
const LEFT = FRAME_W + 1 + DT_W + 1;
/** Room for notes right of the server's line, within 80 columns. */
export const NOTE_W = 80 - (LEFT + 1 + ARROW_W + 1 + 1);

function arrowText(a: LadderArrow): string {
  const label = truncate(a.label, ARROW_W - 4);
  const fill = '─'.repeat(ARROW_W - label.length - 4);
  return a.fromClient ? `─ ${label} ${fill}▶` : `◀${fill} ${label} ─`;
}

function toneColour(p: Paint, tone: ArrowTone, fromClient: boolean): (s: string) => string {
  switch (tone) {
    case 'rst':
    case 'zero':
      return p.red;
    case 'fin':
      return p.magenta;
    case 'syn':
      return p.green;
    default:
      return fromClient ? p.cyan : p.yellow;
  }
}

function noteColour(p: Paint, note: LadderNote): (s: string) => string {
  if (note.tone === 'finding') return p.red;
  if (note.tone === 'http') return p.bold;
  return p.dim;
}

/** Lines of a note column: each note wrapped to the room right of the diagram. */
function noteLines(p: Paint, notes: readonly LadderNote[]): string[] {
  const lines: string[] = [];
  for (const note of notes) {
    const colour = noteColour(p, note);
    const wrapped = wrapText(note.text, NOTE_W - 2);
    wrapped.forEach((line, i) => lines.push(colour(`${i === 0 && note.tone === 'finding' ? '◆ ' : i > 0 && note.tone === 'finding' ? '  ' : ''}${line}`)));
  }
  return lines;
}

/** The diagram: a header line, then one line per row and its notes' continuation lines. */
export function renderLadderText(ladder: Ladder, options: LadderTextOptions): string[] {
  const p = paint(options.colour);
  const out: string[] = [];
  const bar = p.dim('│');
  const blankLeft = ' '.repeat(LEFT);
  const client = truncate(`client ${ladder.flow.client}`, ARROW_W + 1);
  const server = truncate(`server ${ladder.flow.server}`, 80 - (LEFT + ARROW_W + 2));
  out.push(p.dim(`${'frame'.padStart(FRAME_W)} ${'Δt'.padStart(DT_W)} ${client.padEnd(ARROW_W + 2)}${server}`.trimEnd()));
  for (const row of ladder.rows) {
    if (row.type === 'gap') {
      const text = truncate(`… ${row.skipped} packet${row.skipped === 1 ? '' : 's'} not shown …`, ARROW_W);
      const pad = ARROW_W - text.length;
      out.push(`${'⋮'.padStart(FRAME_W)} ${' '.repeat(DT_W)} ${p.dim('┆')}${' '.repeat(Math.floor(pad / 2))}${p.dim(text)}${' '.repeat(Math.ceil(pad / 2))}${p.dim('┆')}`);
      continue;
    }
    const frame = String(row.frame).padStart(FRAME_W);
    const dt = (row.dt === null ? '' : formatDuration(row.dt)).padStart(DT_W);
    const arrow = toneColour(p, row.tone, row.fromClient)(arrowText(row));
    const notes = noteLines(p, row.notes);
    out.push(`${row.decisive ? p.red(frame) : frame} ${p.dim(dt)} ${bar}${arrow}${bar}${notes.length > 0 ? ` ${notes[0]}` : ''}`);
    for (const line of notes.slice(1)) out.push(`${blankLeft}${bar}${' '.repeat(ARROW_W)}${bar} ${line}`);
  }
  return out;
}
