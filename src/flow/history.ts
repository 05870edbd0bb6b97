/**
 * Zeek's connection history letters. Upper case: the client (originator) did it; lower case:
 * the server (responder). Each letter is recorded the first time it happens in a direction;
 * retransmission, zero window and gap are recorded again at 10, 100, 1000... occurrences,
 * as Zeek does, so a history shows the order of magnitude of trouble.
 */
export const enum HistoryLetter {
  Syn = 0, // S: a SYN without ACK
  SynAck = 1, // H: a SYN-ACK
  Ack = 2, // A: a pure ACK
  Data = 3, // D: a packet with payload
  Fin = 4, // F: a FIN
  Rst = 5, // R: a RST
  Retransmission = 6, // T: retransmitted payload
  ZeroWindow = 7, // W: a zero window advertised
  Gap = 8, // G: bytes missing from the capture (content gap)
}

const LETTERS = 'SHADFRTWG';

/** The first repeating letter as a module constant (see tcp-tracker.ts: enum members are read at run time). */
const FIRST_REPEATING = HistoryLetter.Retransmission;

/** Index into Connection.historyRepeats for the letters that repeat (T, W, G), per direction. */
function repeatSlot(letter: HistoryLetter, fromClient: boolean): number {
  return (letter - FIRST_REPEATING) * 2 + (fromClient ? 0 : 1);
}

interface HistoryHolder {
  history: string;
  historySeen: number;
  /** Created at the first repeating letter (most connections have none). */
  historyRepeats: number[] | null;
}

/** Whether a letter that is recorded once per direction (S H A D F R) is already in the history. */
export function hasHistory(holder: HistoryHolder, letter: HistoryLetter, fromClient: boolean): boolean {
  return (holder.historySeen & (1 << (letter + (fromClient ? 0 : 16)))) !== 0;
}

/** Records a history letter for one direction; allocates only when a letter is appended. */
export function recordHistory(holder: HistoryHolder, letter: HistoryLetter, fromClient: boolean): void {
  if (letter >= FIRST_REPEATING) {
    const slot = repeatSlot(letter, fromClient);
    if (holder.historyRepeats === null) holder.historyRepeats = [0, 0, 0, 0, 0, 0];
    const count = ++holder.historyRepeats[slot];
    if (count !== 1 && count !== 10 && count !== 100 && count !== 1000 && count !== 10000) return;
  } else {
    const bit = 1 << (letter + (fromClient ? 0 : 16));
    if ((holder.historySeen & bit) !== 0) return;
    holder.historySeen |= bit;
  }
  holder.history = extended(holder.history, fromClient ? letter : letter + LETTER_COUNT);
}

const LETTER_COUNT = LETTERS.length;
/** Letter texts by code: client (upper case) codes first, then server (lower case) ones. */
const LETTER_TEXTS = [...LETTERS, ...LETTERS.toLowerCase()];
/** Most history prefixes remembered; past it the memo starts again (correct either way). */
const HISTORIES_KEPT = 4096;
/**
 * Every history string extended by each letter code. Connections go through a few dozen
 * distinct histories ("S", "Sh", "ShA", "ShAD"...): sharing them saves each connection a chain
 * of concatenated strings that would live, and be copied by the GC, as long as it does.
 */
const nextHistories = new Map<string, Array<string | undefined>>();

function extended(history: string, code: number): string {
  let row = nextHistories.get(history);
  if (row === undefined) {
    if (nextHistories.size >= HISTORIES_KEPT) nextHistories.clear();
    row = new Array<string | undefined>(2 * LETTER_COUNT).fill(undefined);
    nextHistories.set(history, row);
  }
  let next = row[code];
  if (next === undefined) {
    next = history + LETTER_TEXTS[code];
    row[code] = next;
  }
  return next;
}
