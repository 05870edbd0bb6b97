import { bytes, feedSplit, makeParser, rng } from './http-test-kit';

/**
 * Readers hand the parser a view of their whole read buffer with an offset, so lines are then
 * searched inside a large view (four bytes at a time, not the native search that could run far
 * past the segment). The events must be the same as for the stream on its own, wherever the
 * stream lies in the buffer (every alignment), wherever it is cut, and whatever follows a segment
 * in the buffer (an LF right after a segment's end must not be taken for its line end).
 */
describe('lines inside a large read buffer', () => {
  const stream = bytes(
    'GET /a HTTP/1.1\r\nHost: h\r\nX: 1\r\nXY: 12\r\nXYZ: 123\r\nConnection: keep-alive\r\n\r\n' +
      'POST /upload/some/longer/path?with=a&query=string HTTP/1.1\r\nHost: www.example.test\r\n' +
      'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      'GET /bare-lf HTTP/1.1\nHost: lf.example\nA-Header-With-A-Rather-Long-Name: and a value that goes on for a while\n\n',
  );
  const BUFFER_BYTES = 70 * 1024;

  /** Events of `data` pushed at `at` inside a large buffer filled with `fill`, cut at `cuts`. */
  function feedInBuffer(at: number, fill: number, cuts: number[]): string[] {
    const { log, parser } = makeParser('request');
    const big = new Uint8Array(BUFFER_BYTES).fill(fill);
    big.set(stream, at);
    let from = 0;
    for (const cut of [...cuts, stream.length]) {
      if (cut > from) parser.push(big, at + from, cut - from, 1, 1);
      from = Math.max(from, cut);
    }
    return log.lines;
  }

  const expected = feedSplit('request', stream, []);

  test('the stream on its own parses as three requests', () => {
    expect(expected.filter((l) => l.startsWith('end'))).toHaveLength(3);
  });

  test('every alignment, filled with LF or with no LF at all, whole or cut', () => {
    const random = rng(7);
    for (let at = 0; at < 8; at++) {
      for (const fill of [0x0a, 0x41]) {
        expect(feedInBuffer(at, fill, [])).toEqual(expected);
        for (let k = 1; k < stream.length; k += 3) expect(feedInBuffer(at, fill, [k])).toEqual(expected);
        const cuts = Array.from({ length: 12 }, () => Math.floor(random() * stream.length)).sort((a, b) => a - b);
        expect(feedInBuffer(at, fill, cuts)).toEqual(expected);
      }
    }
  });

  test('a stream near the end of the buffer', () => {
    const at = BUFFER_BYTES - stream.length - 3;
    expect(feedInBuffer(at, 0x0a, [])).toEqual(expected);
    expect(feedInBuffer(at, 0x41, [5, 40, 41, 42, 43])).toEqual(expected);
  });
});
