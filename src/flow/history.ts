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

/** Index into Connection.historyRepeats for the letters that repeat (T, W, G), per direction. */
function repeatSlot(letter: HistoryLetter, fromClient: boolean): number {
  return (letter - HistoryLetter.Retransmission) * 2 + (fromClient ? 0 : 1);
}

interface HistoryHolder {
  history: string;
  historySeen: number;
  historyRepeats: number[];
}

/** Records a history letter for one direction; allocates only when a letter is appended. */
export function recordHistory(holder: HistoryHolder, letter: HistoryLetter, fromClient: boolean): void {
  if (letter >= HistoryLetter.Retransmission) {
    const slot = repeatSlot(letter, fromClient);
    const count = ++holder.historyRepeats[slot];
    if (count !== 1 && count !== 10 && count !== 100 && count !== 1000 && count !== 10000) return;
  } else {
    const bit = 1 << (letter + (fromClient ? 0 : 16));
    if ((holder.historySeen & bit) !== 0) return;
    holder.historySeen |= bit;
  }
  const ch = LETTERS[letter];
  holder.history += fromClient ? ch : ch.toLowerCase();
}
