import { applyHeaderLine, parseKeepAliveTimeout } from '../../src/http/header-fields';
import { MessageHead } from '../../src/http/message-head';
import { bytes } from './http-test-kit';

/*
 * header-fields reads kept names (and short Keep-Alive values) four bytes at a time: through a
 * DataView over a long view (a reader's chunk), composed from the bytes of a short one. Both ways
 * must decide exactly as a byte-by-byte, case-insensitive compare would; and the Keep-Alive memo
 * must never answer for a value that differs from the one it remembers.
 */

/** `line` placed at `at` in a view of `size` bytes (filled with 'x'), and its bounds. */
function placed(line: string, size: number, at: number): { b: Uint8Array; s: number; e: number } {
  const b = new Uint8Array(size).fill(0x78);
  b.set(bytes(line), at);
  return { b, s: at, e: at + line.length };
}

/** The line applied to a fresh head, in a short view and at odd offsets in a long one. */
function headsOf(line: string): MessageHead[] {
  return [
    { size: line.length, at: 0 },
    { size: line.length + 40, at: 3 },
    { size: 40 * 1024, at: 1 },
    { size: 40 * 1024, at: 40 * 1024 - line.length },
    { size: 64 * 1024, at: 4098 },
  ].map(({ size, at }) => {
    const { b, s, e } = placed(line, size, at);
    const head = new MessageHead();
    head.readsIdentity = true;
    applyHeaderLine(b, s, e, head, false);
    return head;
  });
}

/** What a head kept from one line, as text (the kept fields, and whether the line was only counted). */
function kept(head: MessageHead): string {
  return JSON.stringify([
    head.host,
    head.server,
    head.via,
    head.connection,
    head.keepAliveTimeout,
    head.contentLength,
    head.contentLengthInvalid,
    head.transferEncoding,
    head.idempotencyKey,
    head.retryAfter,
    head.otherHeaders,
    head.malformedHeaders,
  ]);
}

const VALUES: Record<string, string> = {
  host: 'example.com',
  server: 'nginx/1.24.0',
  via: '1.1 proxy',
  connection: 'keep-alive',
  'keep-alive': 'timeout=75',
  'content-length': '870',
  'transfer-encoding': 'chunked',
  'idempotency-key': 'abc',
  'x-idempotency-key': 'abc',
  'retry-after': '120',
};

/**
 * The expected head: a name equal to a kept one ignoring ASCII case gives what the lower-case name
 * gives (as the byte-by-byte compare did); any other name is only counted.
 */
function expectedFor(name: string, value: string): string {
  const lowerName = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  const head = new MessageHead();
  if (!(lowerName in VALUES)) {
    head.otherHeaders = 1;
    head.retryAfter = -1;
    return kept(head);
  }
  const b = bytes(`${lowerName}: ${value}`);
  head.readsIdentity = true;
  applyHeaderLine(b, 0, b.length, head, false);
  return kept(head);
}

describe('kept field names read by words', () => {
  const names = Object.keys(VALUES);
  // Each name as written, in upper case, and with every single byte replaced by a byte that the
  // letter fold could confuse with it (its case twin, CR, '-', '\r' | 0x20, a neighbour letter).
  const cases: Array<[string, string]> = [];
  for (const name of names) {
    const value = VALUES[name];
    cases.push([name, value], [name.toUpperCase(), value]);
    for (let i = 0; i < name.length; i++) {
      for (const c of [name[i].toUpperCase(), '\r', '-', '\x0d', 'M', '\x01', String.fromCharCode(name.charCodeAt(i) ^ 0x20), String.fromCharCode(name.charCodeAt(i) + 1)]) {
        const mutated = name.slice(0, i) + c + name.slice(i + 1);
        if (mutated.includes(':')) continue;
        cases.push([mutated, value]);
      }
    }
  }
  test(`${cases.length} names, in short and long views, decide as a byte compare would`, () => {
    for (const [name, value] of cases) {
      const expected = expectedFor(name, value);
      for (const head of headsOf(`${name}: ${value}`)) expect([name, kept(head)]).toEqual([name, expected]);
    }
  });
});

describe('Keep-Alive memo', () => {
  function timeoutVia(value: string, size: number): number | null {
    const { b, s, e } = placed(`Keep-Alive: ${value}`, size, size > 1000 ? 777 : 0);
    const head = new MessageHead();
    applyHeaderLine(b, s, e, head, false);
    return head.keepAliveTimeout;
  }
  function parsed(value: string): number | null {
    const b = bytes(value);
    return parseKeepAliveTimeout(b, 0, b.length);
  }

  // Consecutive values that differ only in the bytes one of the memo's words covers (the first,
  // the middle, the last), or in length: a memo that skipped that word's compare would answer the
  // previous value's timeout.
  const sequence = [
    'timeout=75',
    'timeout=76', // the last word
    'timeout=75',
    'timeoXt=75', // only the middle word (bytes 4-7 of 10)
    'timeout=75',
    'Zimeout=75', // only the first word
    'timeout=75',
    'timeout=7',
    'timeout=7 ',
    'timeout=7',
    'timeout=5',
    'timeout=4',
    'timeout=4, max=1', // longer than the memo keeps
    'timeout=4',
    'max=1',
    'timeout=9',
    'timeout=9',
  ];
  test.each([[60], [40 * 1024]])('a view of %p bytes: each value gives what parsing it gives', (size) => {
    for (const value of sequence) expect([value, timeoutVia(value, size)]).toEqual([value, parsed(value)]);
  });
  test('short and long views share the memo by content', () => {
    expect(timeoutVia('timeout=31', 60)).toBe(31);
    expect(timeoutVia('timeout=31', 40 * 1024)).toBe(31);
    expect(timeoutVia('timeout=32', 60)).toBe(32);
    expect(timeoutVia('timeout=31', 40 * 1024)).toBe(31);
  });
});
