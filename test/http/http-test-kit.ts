import type { HttpExchange } from '../../src/http/exchange';
import type { GiveUpReason, MessageHead } from '../../src/http/message-head';
import { MessageListener, MessageParser, ParserMode, ParserOptions } from '../../src/http/message-parser';
import { HttpSession, HttpSessionOptions } from '../../src/http/session';

export function bytes(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

/** Renders parser events as stable text lines, so whole streams compare with one toEqual. */
export class EventLog implements MessageListener {
  readonly lines: string[] = [];
  readonly heads: MessageHead[] = [];
  /** Whether to include ts/frame (off for split tests, where every push has the same ts). */
  constructor(private readonly withTimes = false) {}

  onMessageBegin(head: MessageHead): void {
    const t = this.withTimes ? ` @${head.startTs}#${head.startFrame}` : '';
    if (head.method !== null) this.lines.push(`begin ${head.method} ${head.uri} ${head.version}${head.strict ? '' : ' lenient'}${t}`);
    else this.lines.push(`begin ${head.status} ${JSON.stringify(head.reason)} ${head.version}${t}`);
  }
  onMessageHead(head: MessageHead): void {
    this.heads.push(head);
    const parts = [`head ${head.framing}`];
    if (head.contentLength >= 0) parts.push(`cl=${head.contentLength}`);
    if (head.transferEncoding !== null) parts.push(`te=${head.transferEncoding}`);
    if (head.connection !== null) parts.push(`conn=${head.connection}`);
    if (head.keepAliveTimeout !== null) parts.push(`ka=${head.keepAliveTimeout}`);
    if (head.host !== null) parts.push(`host=${head.host}`);
    if (head.server !== null) parts.push(`server=${head.server}`);
    parts.push(`other=${head.otherHeaders}`);
    if (head.malformedHeaders > 0) parts.push(`malformed=${head.malformedHeaders}`);
    this.lines.push(parts.join(' '));
  }
  onMessageEnd(ts: number, frame: number, bodyBytes: number, gapBytes: number): void {
    const t = this.withTimes ? ` @${ts}#${frame}` : '';
    this.lines.push(`end body=${bodyBytes}${gapBytes > 0 ? ` gap=${gapBytes}` : ''}${t}`);
  }
  onLoss(unseenMessage: boolean): void {
    this.lines.push(`loss${unseenMessage ? ' unseen' : ''}`);
  }
  onGiveUp(reason: GiveUpReason): void {
    this.lines.push(`giveup ${reason}`);
  }
}

export interface ParsedStream {
  log: EventLog;
  parser: MessageParser;
}

/** A parser with a log; `methods` answers methodOfNextResponse in order (response mode). */
export function makeParser(mode: ParserMode, methods: string[] = [], options: ParserOptions = {}, withTimes = false): ParsedStream {
  const log = new EventLog(withTimes);
  let next = 0;
  const parser = new MessageParser(mode, log, {
    methodOfNextResponse: () => (next < methods.length ? methods[next++] : null),
    ...options,
  });
  return { log, parser };
}

/** Feeds `data` cut at the given boundaries (all pushes with ts 1, frame 1), then optionally ends it. */
export function feedSplit(mode: ParserMode, data: Uint8Array, cuts: number[], methods: string[] = [], end = false): string[] {
  const { log, parser } = makeParser(mode, methods);
  let from = 0;
  for (const rawCut of [...cuts, data.length]) {
    const cut = Math.min(rawCut, data.length);
    if (cut > from) parser.push(data, from, cut - from, 1, 1);
    from = Math.max(from, cut);
  }
  if (end) parser.end(1, 1);
  return log.lines;
}

/** Same stream, pushed inside a larger buffer at an offset (pooled Buffer habit). */
export function feedAtOffset(mode: ParserMode, data: Uint8Array, methods: string[] = []): string[] {
  const { log, parser } = makeParser(mode, methods);
  const big = new Uint8Array(data.length + 37).fill(0x41);
  big.set(data, 17);
  parser.push(big, 17, data.length, 1, 1);
  return log.lines;
}

/** Deterministic PRNG (mulberry32) for random segmentations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A session that records its exchanges, with a clock and frame counter for the steps of a test. */
export class SessionDriver {
  readonly exchanges: HttpExchange[] = [];
  readonly session: HttpSession;
  ts = 100;
  frame = 1;

  /** Client bytes the server has acknowledged beyond those delivered, as the TCP stage would tell it (AcknowledgementSource). */
  unseenClientBytes = 0;
  /** What the connection answers when asked whether the server side is missing from the capture. */
  serverUnseen = false;
  /** What the connection answers when asked whether the client, having closed, refused the server's later bytes. */
  clientRefused = false;

  constructor(options: HttpSessionOptions = {}, establishedAt = 100) {
    this.session = new HttpSession(7, establishedAt, (ex) => this.exchanges.push(ex), options, { clientBytesAckedUnseen: () => this.unseenClientBytes, serverUnseen: () => this.serverUnseen, clientRefusedDataAfterClose: () => this.clientRefused });
  }
  /** Advances the clock by `dt` seconds and returns the next frame number. */
  private step(dt: number): number {
    this.ts = Math.round((this.ts + dt) * 1e6) / 1e6;
    return this.frame++;
  }
  client(text: string | Uint8Array, dt = 0.001): this {
    const data = typeof text === 'string' ? bytes(text) : text;
    const frame = this.step(dt);
    this.session.clientData(data, 0, data.length, this.ts, frame);
    return this;
  }
  server(text: string | Uint8Array, dt = 0.001): this {
    const data = typeof text === 'string' ? bytes(text) : text;
    const frame = this.step(dt);
    this.session.serverData(data, 0, data.length, this.ts, frame);
    return this;
  }
  clientEnd(dt = 0.001): this {
    const frame = this.step(dt);
    this.session.clientEnd(this.ts, frame);
    return this;
  }
  serverEnd(dt = 0.001): this {
    const frame = this.step(dt);
    this.session.serverEnd(this.ts, frame);
    return this;
  }
  finish(): this {
    this.session.finish(this.ts);
    return this;
  }
  /** Compact view of the emitted exchanges for assertions. */
  summary(): string[] {
    return this.exchanges.map(
      (e) =>
        `${e.index} ${e.method ?? '-'} ${e.uri ?? '-'} -> ${e.status ?? '-'} ${e.state}` +
        (e.interim.length > 0 ? ` interim=${e.interim.join(',')}` : '') +
        (e.uncertain ? ' uncertain' : ''),
    );
  }
}

export function req(method: string, uri: string, headers: string[] = [], body = '', version = 'HTTP/1.1'): string {
  return `${method} ${uri} ${version}\r\nHost: example.test\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

export function res(status: number, body = '', headers: string[] = [], version = 'HTTP/1.1', reason = 'OK'): string {
  return `${version} ${status} ${reason}\r\nContent-Length: ${body.length}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}
