import { applyHeaderLine, hasToken, HeaderLineResult, isChunkedLast, parseKeepAliveTimeout } from '../../src/http/header-fields';
import { MessageHead } from '../../src/http/message-head';
import { bytes } from './http-test-kit';

function timeout(value: string): number | null {
  const b = bytes(value);
  return parseKeepAliveTimeout(b, 0, b.length);
}

function headOf(...lines: string[]): MessageHead {
  const head = new MessageHead();
  for (const line of lines) {
    const b = bytes(line);
    applyHeaderLine(b, 0, b.length, head, false);
  }
  return head;
}

describe('Keep-Alive timeout', () => {
  test.each([
    ['timeout=5', 5],
    ['timeout=5, max=100', 5],
    ['max=100, timeout=75', 75],
    ['Timeout = 30', 30],
    ['timeout="20"', 20],
    ['timeout=2.5', 2.5],
    ['max=5', null],
    ['timeout=', null],
    ['timeout=abc', null],
    ['timeouts=5', null],
    ['', null],
    ['timeout=5;max=3', 5],
  ])('%j → %p', (value, expected) => {
    expect(timeout(value)).toBe(expected);
  });
});

describe('Retry-After', () => {
  test.each([
    ['Retry-After: 120', 120],
    ['retry-after: 0', 0],
    ['RETRY-AFTER:  5 ', 5],
    ['Retry-After: Fri, 31 Dec 1999 23:59:59 GMT', -1],
    ['Retry-After: 1.5', -1],
    ['Retry-After:', -1],
    ['Retry-After: 1234567890', -1],
    ['Retry-Afterx: 5', -1],
  ])('%j → %p, counted with the fields not kept', (line, expected) => {
    const head = headOf(line);
    expect(head.retryAfter).toBe(expected);
  });
});

describe('Connection tokens', () => {
  test.each([
    ['close', 'close', true],
    ['keep-alive, close', 'close', true],
    ['Upgrade', 'upgrade', false], // lists are lower-cased by the parser, not by hasToken
    ['upgrade,  keep-alive', 'keep-alive', true],
    ['keep-alive-ish', 'keep-alive', false],
    ['not-close', 'close', false],
    ['closed', 'close', false],
    [null, 'close', false],
  ])('%j has %j: %p', (list, token, expected) => {
    expect(hasToken(list, token)).toBe(expected);
  });
});

describe('Transfer-Encoding', () => {
  test.each([
    ['chunked', true],
    ['gzip, chunked', true],
    ['gzip,chunked ', true],
    ['chunked, gzip', false],
    ['identity', false],
    ['xchunked', false],
  ])('%j ends in chunked: %p', (value, expected) => {
    expect(isChunkedLast(value)).toBe(expected);
  });
});

describe('applyHeaderLine', () => {
  test('keeps framing and reuse fields, counts the rest', () => {
    const head = headOf(
      'Host: a.example',
      'HOST: second.example',
      'connection: Keep-Alive',
      'Connection: Upgrade',
      'Content-Length:  42  ',
      'Transfer-Encoding: Chunked',
      'Keep-Alive: timeout=10',
      'X-Other: 1',
      'Set-Cookie: a=b',
    );
    expect(head.host).toBe('a.example');
    expect(head.connection).toBe('keep-alive, upgrade');
    expect(head.contentLength).toBe(42);
    expect(head.contentLengthInvalid).toBe(false);
    expect(head.transferEncoding).toBe('chunked');
    expect(head.keepAliveTimeout).toBe(10);
    expect(head.otherHeaders).toBe(2);
  });

  test.each([['abc'], [''], ['-1'], ['1 2'], ['12345678901234567'], ['5,']])('Content-Length %j is invalid', (value) => {
    expect(headOf(`Content-Length: ${value}`).contentLengthInvalid).toBe(true);
  });

  test('a name with a space before the colon is not the framing field', () => {
    const head = headOf('Content-Length : 5');
    expect(head.contentLength).toBe(-1);
    expect(head.otherHeaders).toBe(1);
  });

  test('a truncated framing line is refused, a truncated ordinary one is not', () => {
    const head = new MessageHead();
    const cl = bytes('Content-Length: 1234');
    expect(applyHeaderLine(cl, 0, cl.length, head, true)).toBe(HeaderLineResult.FramingFieldTooLong);
    const cookie = bytes('Cookie: aaaa');
    expect(applyHeaderLine(cookie, 0, cookie.length, head, true)).toBe(HeaderLineResult.Ok);
  });
});
