import type { AnalysisResult } from '../analyze';

/** Times and durations are printed to the microsecond: stable across runs and platforms, and enough for any TCP timing. */
function roundNumbers(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isInteger(value)) {
    return Number.isFinite(value) ? Math.round(value * 1e6) / 1e6 : null;
  }
  return value;
}

/** Canonical JSON of one value: fixed key order (as built), numbers rounded, no paths or versions. */
export function toCanonicalJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, roundNumbers, indent);
}

/** The `--format json` document. */
export function renderJson(result: AnalysisResult): string {
  return toCanonicalJson(result) + '\n';
}

/** Text handed to `write` at most this long at a time (and at least, but for the last piece). */
const WRITE_PIECE_CHARS = 1 << 16;

/**
 * The `--format json` document, byte for byte renderJson's, written in pieces: the document as one
 * string took more memory than the whole analysis. Measured with the CLI on the benchmark's first
 * 500 000 packets (19 525 flows, 58 280 exchanges, a 73 MB document): peak RSS 369 MB against
 * 165 MB for the table. Each top-level array is written an element at a time.
 */
export function writeJson(result: AnalysisResult, write: (text: string) => void): void {
  const pieces = new PieceWriter(write);
  const document = result as unknown as Record<string, unknown>;
  let first = true;
  pieces.add('{');
  for (const key of Object.keys(document)) {
    const value = document[key];
    // Whatever JSON.stringify leaves out of an object (undefined, functions) stays out.
    const text = Array.isArray(value) ? '' : JSON.stringify(value, roundNumbers, 2);
    if (text === undefined) continue;
    pieces.add(`${first ? '\n' : ',\n'}  ${JSON.stringify(key)}: `);
    first = false;
    if (Array.isArray(value)) writeArray(value, pieces);
    else pieces.add(indent(text, '\n  '));
  }
  pieces.add(first ? '}\n' : '\n}\n');
  pieces.flush();
}

/** A top-level array as JSON.stringify(…, 2) writes it one level in. */
function writeArray(values: readonly unknown[], pieces: PieceWriter): void {
  if (values.length === 0) {
    pieces.add('[]');
    return;
  }
  pieces.add('[');
  for (let i = 0; i < values.length; i++) {
    // An element JSON has no text for (undefined, a function) is null, as in JSON.stringify.
    const text = JSON.stringify(values[i], roundNumbers, 2) ?? 'null';
    pieces.add(`${i === 0 ? '\n' : ',\n'}    ${indent(text, '\n    ')}`);
  }
  pieces.add('\n  ]');
}

/** JSON text moved right: its only raw line breaks are its own layout (strings escape theirs). */
function indent(text: string, breakAndPad: string): string {
  return text.includes('\n') ? text.replace(/\n/g, breakAndPad) : text;
}

/** Joins small texts into pieces of about WRITE_PIECE_CHARS for `write`. */
class PieceWriter {
  private parts: string[] = [];
  private length = 0;

  constructor(private readonly write: (text: string) => void) {}

  add(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.length >= WRITE_PIECE_CHARS) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.write(this.parts.join(''));
    this.parts = [];
    this.length = 0;
  }
}

/** One line of `--format ndjson`: `{"type": ..., ...}`. */
export function ndjsonLine(type: string, value: object): string {
  return JSON.stringify({ type, ...value }, roundNumbers) + '\n';
}
