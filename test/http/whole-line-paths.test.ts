import { httpLimits } from '../../src/http/message-parser';
import type { ParserMode } from '../../src/http/message-parser';
import { bytes, feedSplit, rng } from './http-test-kit';

/*
 * The parser reads a start line or header lines that lie whole in one segment on fast paths
 * (parseWholeRequestLine / parseWholeStatusLine, the header loop of readFields), and everything
 * else byte-exactly on the general path. Fed one byte per push, no line is ever whole in a
 * segment, so that run is the general path's verdict: a whole-segment run must report the same.
 */

function everyByte(data: Uint8Array): number[] {
  return Array.from({ length: data.length }, (_, i) => i);
}

function expectSamePaths(mode: ParserMode, text: string | Uint8Array, methods: string[] = []): string[] {
  const data = typeof text === 'string' ? bytes(text) : text;
  const whole = feedSplit(mode, data, [], methods);
  expect(whole).toEqual(feedSplit(mode, data, everyByte(data), methods));
  return whole;
}

const FIELDS = 'Host: h\r\n\r\n';

describe('whole-line fast paths agree with the general path', () => {
  const requestLines: [string, string][] = [
    ['plain', 'GET /a HTTP/1.1\r\n'],
    ['bare LF', 'GET /a HTTP/1.0\n'],
    ['method of METHOD_MAX bytes', `${'A'.repeat(32)} /a HTTP/1.1\r\n`],
    ['method over METHOD_MAX bytes', `${'A'.repeat(33)} /a HTTP/1.1\r\n`],
    ['method with digits, - and _', 'M-SEARCH_2 * HTTP/1.1\r\n'],
    ['lower-case method', 'get /a HTTP/1.1\r\n'],
    ['space inside the target', 'GET /a b HTTP/1.1\r\n'],
    ['two spaces after the method', 'GET  /a HTTP/1.1\r\n'],
    ['obs-text in the target', 'GET /\u00e9\u00ff HTTP/1.1\r\n'],
    ['DEL in the target', 'GET /a\u007fb HTTP/1.1\r\n'],
    ['control byte in the target', 'GET /a\u0001b HTTP/1.1\r\n'],
    ['HT in the target', 'GET /a\tb HTTP/1.1\r\n'],
    ['version 2.0', 'GET /a HTTP/2.0\r\n'],
    ['version with letters', 'GET /a HTTP/1.x\r\n'],
    ['version cut short', 'GET /a HTTP/1.\r\n'],
    ['no version', 'GET /a\r\n'],
    ['method alone', 'OPTIONS\r\n'],
    ['two CRs', 'GET /a HTTP/1.1\r\r\n'],
    ['CR inside', 'GET /a\rb HTTP/1.1\r\n'],
    ['text after the version', 'GET /a HTTP/1.1 x\r\n'],
  ];
  for (const [name, line] of requestLines) {
    test(`request line: ${name}`, () => {
      expectSamePaths('request', line + FIELDS + 'GET /next HTTP/1.1\r\n\r\n');
    });
  }

  const statusLines: [string, string][] = [
    ['plain', 'HTTP/1.1 200 OK\r\n'],
    ['bare LF', 'HTTP/1.1 200 OK\n'],
    ['no reason', 'HTTP/1.1 204\r\n'],
    ['no reason, bare LF', 'HTTP/1.1 204\n'],
    ['empty reason', 'HTTP/1.1 204 \r\n'],
    ['long reason with HT and obs-text', 'HTTP/1.0 503 Service\tUnavailable \u00e9\r\n'],
    ['status below 100', 'HTTP/1.1 099 Odd\r\n'],
    ['status with a letter', 'HTTP/1.1 2O0 OK\r\n'],
    ['CR inside the reason', 'HTTP/1.1 200 O\rK\r\n'],
    ['DEL in the reason', 'HTTP/1.1 200 O\u007fK\r\n'],
    ['control byte in the reason', 'HTTP/1.1 200 O\u0002K\r\n'],
    ['no space after the status', 'HTTP/1.1 200OK\r\n'],
    ['two CRs', 'HTTP/1.1 200 OK\r\r\n'],
    ['lower-case protocol', 'http/1.1 200 OK\r\n'],
    ['version 1.x', 'HTTP/1.x 200 OK\r\n'],
  ];
  for (const [name, line] of statusLines) {
    test(`status line: ${name}`, () => {
      expectSamePaths('response', line + 'Content-Length: 0\r\n\r\n' + 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', ['GET', 'GET']);
    });
  }

  test('a plain exchange takes the fast paths and reads what it should', () => {
    // Guards the comparison above from agreeing on nothing: the fast paths do report the messages.
    expect(expectSamePaths('request', 'GET /a?b HTTP/1.1\r\nHOST: x.test\r\nConnection: Keep-Alive\r\n\r\n')).toEqual([
      'begin GET /a?b HTTP/1.1',
      'head none conn=keep-alive host=x.test other=0',
      'end body=0',
    ]);
    expect(expectSamePaths('response', 'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 1\r\n\r\nx', ['GET'])).toEqual([
      'begin 200 "OK" HTTP/1.1',
      'head length cl=1 ka=5 other=0',
      'end body=1',
    ]);
  });

  const fieldLines: [string, string][] = [
    ['obs-fold continuation', 'X-A: 1\r\n  folded: text\r\n'],
    ['HT continuation', 'X-A: 1\r\n\tfolded\r\n'],
    ['empty name', ': value\r\n'],
    ['no colon', 'NoColonHere\r\n'],
    ['only a CR', '\r\r\n'],
    ['CR inside a line', 'X-A: a\rb\r\n'],
    ['upper-case kept names', 'HOST: a\r\nCONNECTION: Close\r\nCONTENT-LENGTH: 0\r\n'],
    ['kept-name lengths with other first letters', 'Date: x\r\nSet-Cookie: a=b\r\nX-Content-Len1: 5\r\nX-Transfer-Encod1: gzip\r\n'],
    ['kept-name lengths and first letters, other names', 'Hxst: a\r\nCache-Ctrl: b\r\nKeep-Alivf: timeout=3\r\nContent-Lengtx: 9\r\nTransfer-Encodinx: chunked\r\n'],
    ['spaces around a kept value', 'Content-Length:   0 \t\r\n'],
    ['space before the colon', 'Host : a\r\n'],
    ['colon in the value', 'Referer: http://a/b\r\n'],
    ['bare LF lines', 'Host: a\nConnection: close\n'],
    ['Transfer-Encoding', 'Transfer-Encoding: gzip, chunked\r\n'],
    ['two Content-Length that disagree', 'Content-Length: 1\r\nContent-Length: 2\r\n'],
  ];
  for (const [name, lines] of fieldLines) {
    test(`header lines: ${name}`, () => {
      expectSamePaths('request', `POST /p HTTP/1.1\r\n${lines}\r\nGET /next HTTP/1.1\r\n\r\n`);
    });
  }

  test('a field line over the line bound, kept and not kept', () => {
    const long = 'v'.repeat(httpLimits.maxLineBytes + 5);
    expectSamePaths('request', `GET / HTTP/1.1\r\nX-Long: ${long}\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\n`);
    expectSamePaths('request', `GET / HTTP/1.1\r\nConnection: ${long}\r\n\r\n`);
  });

  test('a start line at and over the line bound', () => {
    const at = 'GET /' + 'a'.repeat(httpLimits.maxLineBytes - 'GET / HTTP/1.1'.length - 1) + ' HTTP/1.1\r\n';
    expectSamePaths('request', at + FIELDS);
    expectSamePaths('request', 'GET /' + 'a'.repeat(httpLimits.maxLineBytes) + ' HTTP/1.1\r\n' + FIELDS);
  });

  test('a head longer than the text window of the header loop, the window ending in every place of a line', () => {
    // readFields reads 512 bytes of a segment as text at a time: a line across the window's end
    // goes through the general path, and the loop goes on with the next window.
    const lines = Array.from({ length: 40 }, (_, k) => (k % 7 === 3 ? 'Connection: keep-alive\r\n' : k % 11 === 5 ? 'NoColon\r\n' : `X-Field-${k}: value ${k}\r\n`));
    for (let pad = 0; pad < 48; pad++) {
      const fields = `X-Pad: ${'p'.repeat(pad)}\r\n${lines.join('')}Host: late.example\r\nContent-Length: 2\r\n`;
      const events = expectSamePaths('request', `POST /p HTTP/1.1\r\n${fields}\r\nokGET /next HTTP/1.1\r\n\r\n`);
      expect(events).toContain('head length cl=2 conn=keep-alive, keep-alive, keep-alive, keep-alive, keep-alive, keep-alive host=late.example other=32 malformed=3');
    }
  });

  test('a header block over the head bound', () => {
    const field = `X-F: ${'f'.repeat(1000)}\r\n`;
    expectSamePaths('request', 'GET / HTTP/1.1\r\n' + field.repeat(70) + '\r\n');
  });

  test('random lines from tricky bytes, whole, byte by byte and in random segments', () => {
    const random = rng(4242);
    const pieces = ['GET', 'HTTP/1.1', 'HTTP/1.0', ' ', ' ', '/x', ':', ': ', '\r\n', '\r\n', '\n', '\r', '\t', 'Host', 'Connection',
      'Keep-Alive', 'Content-Length', 'Transfer-Encoding', 'close', 'chunked', '0', '12', '200', 'OK', 'A', 'z', '\u007f', '\u0001', '\u00e9'];
    let compared = 0;
    for (let round = 0; round < 300; round++) {
      const mode: ParserMode = round % 2 === 0 ? 'request' : 'response';
      let text = mode === 'request' ? 'GET /a HTTP/1.1\r\n' : 'HTTP/1.1 200 OK\r\n';
      const n = 5 + Math.floor(random() * 40);
      for (let k = 0; k < n; k++) text += pieces[Math.floor(random() * pieces.length)];
      text += '\r\n\r\n';
      const data = bytes(text);
      const methods = ['GET', 'GET', 'GET', 'GET'];
      const reference = feedSplit(mode, data, everyByte(data), methods);
      expect(feedSplit(mode, data, [], methods)).toEqual(reference);
      const cuts: number[] = [];
      for (let at = 0; at < data.length; at += 1 + Math.floor(random() * 30)) cuts.push(at);
      expect(feedSplit(mode, data, cuts, methods)).toEqual(reference);
      compared++;
    }
    expect(compared).toBe(300);
  });

  test('lines of one length and first byte whose colon moves, comes earlier or is missing (remembered colon offsets)', () => {
    // The header loop remembers where a colon was on the last line of each length and first byte;
    // every line here has 13 bytes, so each one meets what an earlier one left there.
    const lines = [
      'X-Aa: 1234567', 'X-Aaaa: 12345', 'X-Aaaaaaaaaaa', 'X:Aa: 1234567', 'X-Aa:12:45:67', 'Xa-Aa-Aa-Aa-A',
      ':X-Aa: 123456', ' X-Aa: 123456', '\tX-Aa: 12345', 'Cookie: 12345', 'Cookie1234567', 'Cookie:123456', 'C:nnection: 1',
      'Vary: 1234567', 'Vary12345:678', 'Host12345:678',
    ];
    const random = rng(77);
    for (let round = 0; round < 40; round++) {
      let text = '';
      for (let m = 0; m < 12; m++) {
        text += 'GET /m HTTP/1.1\r\n';
        const k = 1 + Math.floor(random() * 4);
        for (let j = 0; j < k; j++) text += `${lines[Math.floor(random() * lines.length)]}\r\n`;
        text += '\r\n';
      }
      expectSamePaths('request', text);
    }
    const events = expectSamePaths('request', lines.map((l) => `GET /m HTTP/1.1\r\n${l}\r\n${l}\r\n\r\n`).join(''));
    expect(events.filter((e) => e.startsWith('head')).join('|')).toBe(
      'head none other=2|head none other=2|head none other=0 malformed=2|head none other=2|head none other=2|' +
        'head none other=0 malformed=2|head none other=0 malformed=2|head none other=0 malformed=2|head none other=0 malformed=2|' +
        'head none other=2|head none other=0 malformed=2|head none other=2|head none other=2|head none other=2|head none other=2|' +
        'head none other=2',
    );
    // A line 33 bytes longer whose first byte is one more shares the table slot: its colon offset
    // lies past the end of the shorter line, on the next line's colon.
    const far = `Y${'a'.repeat(11)}: ${'v'.repeat(29)}`;
    const crossing = expectSamePaths('request', `GET /a HTTP/1.1\r\n${far}\r\nX-Aaaaaaaa\r\n:bad\r\n\r\n`);
    expect(crossing).toContain('head none other=1 malformed=2');
  });
});
