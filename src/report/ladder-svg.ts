/**
 * A connection's ladder diagram as inline SVG for the HTML report: the same rows as the terminal
 * ladder (report/ladder.ts), drawn with sloped arrows between the client's and the server's
 * lines, the decisive rows shaded, notes beside them.
 */
import { formatDuration } from './format-time';
import type { ArrowTone, Ladder, LadderArrow, LadderNote } from './ladder-model';
import { truncate, wrapText } from './text-wrap';
import { escapeXml as x } from './xml-escape';

const WIDTH = 1000;
const FRAME_RIGHT = 52;
const DT_RIGHT = 132;
const CLIENT_X = 160;
const SERVER_X = 440;
const NOTE_X = 456;
/** Characters of a note line (12 px monospace is about 7.2 px a character). */
const NOTE_CHARS = Math.floor((WIDTH - NOTE_X - 8) / 7.3);
const LABEL_CHARS = Math.floor((SERVER_X - CLIENT_X - 24) / 6.6);
const HEADER_H = 46;
const ROW_H = 26;
const LINE_H = 15;
const GAP_H = 24;
const SLOPE = 8;

const ARROW_COLOUR: Record<ArrowTone, string> = {
  syn: '#00796b',
  fin: '#8e24aa',
  rst: '#c62828',
  zero: '#c62828',
  data: '',
  ack: '#90a4ae',
};

function arrowColour(a: LadderArrow): string {
  if (a.tone === 'data') return a.fromClient ? '#1565c0' : '#ef6c00';
  return ARROW_COLOUR[a.tone];
}

const n = (v: number): string => String(Math.round(v * 10) / 10);

function noteLines(notes: readonly LadderNote[]): Array<{ text: string; tone: LadderNote['tone'] }> {
  const lines: Array<{ text: string; tone: LadderNote['tone'] }> = [];
  for (const note of notes) {
    const prefix = note.tone === 'finding' ? '◆ ' : '';
    wrapText(note.text, NOTE_CHARS - prefix.length).forEach((line, i) => lines.push({ text: (i === 0 ? prefix : ' '.repeat(prefix.length)) + line, tone: note.tone }));
  }
  return lines;
}

function arrowSvg(a: LadderArrow, y: number): string {
  const colour = arrowColour(a);
  const [x1, x2] = a.fromClient ? [CLIENT_X + 2, SERVER_X - 2] : [SERVER_X - 2, CLIENT_X + 2];
  const y1 = y;
  const y2 = y + SLOPE;
  const width = a.tone === 'ack' ? 1.2 : a.count > 1 ? 3 : 1.8;
  const dash = a.tone === 'zero' ? ' stroke-dasharray="4 3"' : '';
  // Arrowhead: a small triangle at the receiving end, along the line.
  const dx = x2 - x1;
  const dy = y2 - y1;
  const len = Math.hypot(dx, dy);
  const ux = dx / len;
  const uy = dy / len;
  const hx = x2 - ux * 9;
  const hy = y2 - uy * 9;
  const head = `${n(x2)},${n(y2)} ${n(hx - uy * 4)},${n(hy + ux * 4)} ${n(hx + uy * 4)},${n(hy - ux * 4)}`;
  const label = truncate(a.label, LABEL_CHARS);
  const mid = (CLIENT_X + SERVER_X) / 2;
  return (
    `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(hx)}" y2="${n(hy)}" stroke="${colour}" stroke-width="${width}"${dash}/>` +
    `<polygon points="${head}" fill="${colour}"/>` +
    `<text x="${mid}" y="${n(y1 + SLOPE / 2 - (a.count > 1 ? 6 : 4))}" class="lbl" text-anchor="middle" fill="${colour === '#90a4ae' ? '#607d8b' : colour}">${x(label)}</text>`
  );
}

/** The ladder as one <svg> element, sized to its rows. */
export function renderLadderSvg(ladder: Ladder, title: string): string {
  const body: string[] = [];
  let y = HEADER_H;
  for (const row of ladder.rows) {
    if (row.type === 'gap') {
      const mid = y + GAP_H / 2;
      body.push(
        `<text x="${(CLIENT_X + SERVER_X) / 2}" y="${n(mid + 4)}" class="gap" text-anchor="middle">${x(`… ${row.skipped} packet${row.skipped === 1 ? '' : 's'} not shown …`)}</text>` +
          `<text x="${CLIENT_X}" y="${n(mid + 5)}" class="gapmark" text-anchor="middle">≈</text><text x="${SERVER_X}" y="${n(mid + 5)}" class="gapmark" text-anchor="middle">≈</text>`,
      );
      y += GAP_H;
      continue;
    }
    const lines = noteLines(row.notes);
    const h = Math.max(ROW_H, 10 + lines.length * LINE_H + 4);
    if (row.decisive) body.push(`<rect x="0" y="${n(y)}" width="${WIDTH}" height="${n(h)}" class="decisive"/>`);
    const ay = y + 12;
    body.push(`<text x="${FRAME_RIGHT}" y="${n(ay + 4)}" class="frame" text-anchor="end">${row.frame}</text>`);
    if (row.dt !== null) body.push(`<text x="${DT_RIGHT}" y="${n(ay + 4)}" class="dt" text-anchor="end">${x(`+${formatDuration(row.dt)}`)}</text>`);
    body.push(arrowSvg(row, ay));
    lines.forEach((line, i) => {
      body.push(`<text x="${NOTE_X}" y="${n(y + 16 + i * LINE_H)}" class="note ${line.tone}" xml:space="preserve">${x(line.text)}</text>`);
    });
    y += h;
  }
  const height = y + 12;
  const endpoint = (text: string, cx: number): string => {
    // Long (IPv6) endpoints would run off the left edge when centred on the client's line.
    const half = (text.length * 7.2) / 2;
    return cx - half < 2
      ? `<text x="2" y="31" class="ep">${x(text)}</text>`
      : `<text x="${cx}" y="31" class="ep" text-anchor="middle">${x(text)}</text>`;
  };
  const head =
    `<text x="${CLIENT_X}" y="16" class="who" text-anchor="middle">client</text>` +
    endpoint(ladder.flow.client, CLIENT_X) +
    `<text x="${SERVER_X}" y="16" class="who" text-anchor="middle">server</text>` +
    endpoint(ladder.flow.server, SERVER_X) +
    `<text x="${FRAME_RIGHT}" y="16" class="colhead" text-anchor="end">frame</text>` +
    `<text x="${DT_RIGHT - 40}" y="16" class="colhead" text-anchor="end">Δt</text>` +
    `<line x1="${CLIENT_X}" y1="${HEADER_H - 8}" x2="${CLIENT_X}" y2="${n(y + 6)}" class="life"/>` +
    `<line x1="${SERVER_X}" y1="${HEADER_H - 8}" x2="${SERVER_X}" y2="${n(y + 6)}" class="life"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="ladder" viewBox="0 0 ${WIDTH} ${n(height)}" width="${WIDTH}" height="${n(height)}" role="img">` +
    `<title>${x(title)}</title>${head}${body.join('')}</svg>`
  );
}
