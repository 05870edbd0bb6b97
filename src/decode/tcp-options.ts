import { u16, u32 } from './bytes';
import { PacketView } from './packet-view';

const EOL = 0;
const NOP = 1;
const MSS = 2;
const WINDOW_SCALE = 3;
const SACK_PERMITTED = 4;
const SACK = 5;
const TIMESTAMP = 8;

/**
 * Walks the TCP options between `start` and `headerEnd` (data offset), reading only bytes below
 * `capturedEnd`. Records MSS, window scale, SACK-permitted and timestamps on the view.
 *
 * The walk is bounded by construction (each step advances at least one byte, at most 40 bytes).
 * An option length below 2 or running past the header marks optionsMalformed and stops the walk,
 * keeping what was read: the segment itself is still good for sequence accounting. A known option
 * with the wrong length is skipped and marked too. Running into the capture end just stops
 * (the caller has already flagged headerTruncated).
 */
export function decodeTcpOptions(
  data: Uint8Array,
  start: number,
  headerEnd: number,
  capturedEnd: number,
  view: PacketView,
): void {
  let p = start;
  while (p < headerEnd) {
    if (p >= capturedEnd) return;
    const kind = data[p];
    if (kind === EOL) return;
    if (kind === NOP) {
      p++;
      continue;
    }
    if (p + 1 >= capturedEnd) return;
    const length = data[p + 1];
    if (length < 2 || p + length > headerEnd) {
      markMalformed(view);
      return;
    }
    if (p + length > capturedEnd) return;
    switch (kind) {
      case MSS:
        if (length === 4) {
          view.hasMss = true;
          view.mss = u16(data, p + 2);
        } else markMalformed(view);
        break;
      case WINDOW_SCALE:
        // The raw shift as sent; RFC 7323 caps the effective value at 14, which is the flow stage's business.
        if (length === 3) {
          view.hasWindowScale = true;
          view.windowScale = data[p + 2];
        } else markMalformed(view);
        break;
      case SACK_PERMITTED:
        if (length === 2) view.sackPermitted = true;
        else markMalformed(view);
        break;
      case SACK:
        if (length < 10 || (length - 2) % 8 !== 0) markMalformed(view);
        break;
      case TIMESTAMP:
        if (length === 10) {
          view.hasTimestamp = true;
          view.tsVal = u32(data, p + 2);
          view.tsEcr = u32(data, p + 6);
        } else markMalformed(view);
        break;
      default:
        break; // MPTCP, TFO, MD5, AO, user timeout, experimental: skipped by length
    }
    p += length;
  }
}

function markMalformed(view: PacketView): void {
  view.optionsMalformed = true;
  if (view.issue === 'none') view.issue = 'tcp-options-malformed';
}
