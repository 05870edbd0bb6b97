/** Plain-text layout helpers for terminal reports. */

const NBSP = '\u00a0';
const NBSP_ALL = /\u00a0/g;

/**
 * Breaks text into lines of at most `width` characters at spaces; a word longer than a line
 * (a long URI) is cut into pieces.
 */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  // A number keeps its unit on the same line ("1.004 s", "29.2 ms").
  const glued = text.replace(/(\d) (s|ms|µs|min|B|KiB|MiB|GiB)\b/g, `$1${NBSP}$2`);
  for (let word of glued.split(/[ \t\r\n]+/).filter(Boolean)) {
    while (word.length > width) {
      const room = line ? width - line.length - 1 : width;
      if (room >= 8 || !line) {
        const take = Math.max(1, room);
        lines.push(line ? `${line} ${word.slice(0, take)}` : word.slice(0, take));
        word = word.slice(take);
        line = '';
      } else {
        lines.push(line);
        line = '';
      }
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines.map((l) => l.replace(NBSP_ALL, ' ')) : [''];
}

/** Cuts text to `width` characters, ending with "…" when cut. */
export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}
