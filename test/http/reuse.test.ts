import { latin1, latin1Interned, latin1Lower, latin1LowerInterned } from '../../src/http/latin1';
import { MessageHead } from '../../src/http/message-head';
import { bytes, makeParser } from './http-test-kit';

describe('MessageHead.reset', () => {
  test('gives back every field of a new head (a field added to the class must be reset too)', () => {
    const head = new MessageHead();
    // Dirty every own field with a value of another shape than its initial one.
    const dirty = head as unknown as Record<string, unknown>;
    for (const key of Object.keys(dirty)) dirty[key] = typeof dirty[key] === 'number' ? 12345.5 : 'dirty';
    expect({ ...head.reset() }).toEqual({ ...new MessageHead() });
  });
});

describe('reuseHead', () => {
  const stream =
    'GET /a HTTP/1.1\r\nHost: one.example\r\nConnection: Close\r\n\r\n' +
    'POST /b HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi' +
    'GET /c HTTP/1.1\r\nHost: two.example\r\n\r\n';

  test('reports the same events as a head per message, with one head object', () => {
    const fresh = makeParser('request');
    const reused = makeParser('request', [], { reuseHead: true });
    const data = bytes(stream);
    fresh.parser.push(data, 0, data.length, 1, 1);
    reused.parser.push(data, 0, data.length, 1, 1);
    expect(reused.log.lines).toEqual(fresh.log.lines);
    expect(reused.log.lines).toHaveLength(9);
    expect(new Set(reused.log.heads).size).toBe(1);
    expect(new Set(fresh.log.heads).size).toBe(3);
  });
});

describe('interned latin1 strings', () => {
  // Values that share length and sampled bytes collide in the cache: each must still read back exactly.
  const values = ['www.shop.example', 'api.shop.example', 'WWW.shop.example', 'www.shop.examplE', 'close', 'Close', 'CLOSE', 'keep-alive',
    'Keep-Alive', 'caf\u00e9.example', 'CAF\u00c9.example', 'Not Found', 'x', '', 'a'.repeat(64), 'b'.repeat(65), 'w\u00ffw.shop.example'];

  test('equal the plain conversions, whatever was looked up before', () => {
    for (let round = 0; round < 3; round++) {
      for (const v of values) {
        const b = Uint8Array.from(Buffer.from(`[${v}]`, 'latin1'));
        const s = 1;
        const e = b.length - 1;
        expect(latin1Interned(b, s, e)).toBe(latin1(b, s, e));
        expect(latin1LowerInterned(b, s, e)).toBe(latin1Lower(b, s, e));
      }
    }
  });

  test('a repeated value comes back from the cache', () => {
    const b = bytes('Host: www.shop.example');
    const first = latin1Interned(b, 6, b.length);
    expect(latin1Interned(bytes('www.shop.example'), 0, 16)).toBe(first);
    expect(latin1LowerInterned(bytes('CLOSE'), 0, 5)).toBe('close');
    expect(latin1LowerInterned(bytes('Close'), 0, 5)).toBe('close');
  });
});
