import type { CaptureFileInfo } from './raw-packet';

/**
 * A push parser for one capture container. The opener feeds it chunks of any size, in
 * order; it emits records synchronously through its handler while parsing each chunk.
 */
export interface CaptureParser {
  /** Parse one chunk. Throws CaptureError only for file-level problems (bad header). */
  push(chunk: Uint8Array): void;
  /** True once the parser met damage and ignores the rest of the input. */
  readonly stopped: boolean;
  /** End of input: flush held packets and report. Throws CaptureError if not even the header was complete. */
  finish(): CaptureFileInfo;
  /**
   * Hands on every packet held to be put in time order, now (between chunks). For a live capture
   * gone quiet: otherwise its last few milliseconds of packets, a FIN or a RST among them, would
   * wait for the next packet.
   */
  releaseHeld(): void;
}

/** What every reader is told when it is created. */
export interface ParserOptions {
  /** Name for messages: the path as given, or "-". */
  name: string;
  /** Frame number of the first record (1-based numbering continued across files). */
  firstFrame: number;
  /** Reorder multi-interface pcapng packets into timestamp order (default true). */
  reorder: boolean;
}

/** Render a number of bytes as the hex the user would see in a hex dump: "3c 21 44 4f". */
export function hexBytes(bytes: Uint8Array, count: number): string {
  const parts: string[] = [];
  for (let i = 0; i < Math.min(count, bytes.length); i++) parts.push(bytes[i].toString(16).padStart(2, '0'));
  return parts.join(' ');
}
