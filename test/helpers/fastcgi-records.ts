/** FastCGI 1.0 records as a web server (nginx fastcgi_pass) and PHP-FPM exchange them, for tests. */

// FastCGI 1.0 record types.
export const BEGIN_REQUEST = 1;
export const END_REQUEST = 3;
export const PARAMS = 4;
export const STDIN = 5;
export const STDOUT = 6;
export const STDERR = 7;

/** One record: header, content, `padding` zero bytes. */
export function record(type: number, id: number, content: Uint8Array = new Uint8Array(0), padding = 0): Uint8Array {
  const out = new Uint8Array(8 + content.length + padding);
  out.set([1, type, id >> 8, id & 0xff, content.length >> 8, content.length & 0xff, padding, 0]);
  out.set(content, 8);
  return out;
}

export const bytes = (text: string): Uint8Array => Buffer.from(text, 'latin1');
export const join = (...parts: Uint8Array[]): Uint8Array => Buffer.concat(parts);

/** Name-value pairs (spec 3.4): lengths of one byte below 128, four bytes (top bit set) from 128. */
export function pairs(values: Record<string, string>): Uint8Array {
  const length = (n: number): Uint8Array => (n < 128 ? Uint8Array.of(n) : Uint8Array.of(0x80 | (n >>> 24), (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff));
  return join(...Object.entries(values).flatMap(([k, v]) => [length(k.length), length(v.length), bytes(k), bytes(v)]));
}

/** What nginx sends for one request: BEGIN_REQUEST (responder), its PARAMS, the empty PARAMS, the body in STDIN, the empty STDIN. */
export function request(params: Record<string, string>, options: { id?: number; keepConn?: boolean; body?: string } = {}): Uint8Array {
  const id = options.id ?? 1;
  const body = options.body ?? '';
  return join(
    record(BEGIN_REQUEST, id, Uint8Array.of(0, 1, options.keepConn ? 1 : 0, 0, 0, 0, 0, 0)),
    record(PARAMS, id, pairs(params), 3),
    record(PARAMS, id),
    ...(body !== '' ? [record(STDIN, id, bytes(body))] : []),
    record(STDIN, id),
  );
}

export const stdout = (text: string, id = 1): Uint8Array => record(STDOUT, id, bytes(text), 5);
export const endRequest = (id = 1): Uint8Array => record(END_REQUEST, id, new Uint8Array(8));
