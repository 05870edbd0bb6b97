import { httpLimits } from '../../src/http/message-parser';
import { bytes, feedAtOffset, feedSplit, makeParser, rng } from './http-test-kit';
import type { ParserMode } from '../../src/http/message-parser';

interface Case {
  name: string;
  mode: ParserMode;
  data: string | Uint8Array;
  /** Request methods answered by the final responses, in order (response mode). */
  methods?: string[];
  /** Close the direction after the data. */
  end?: boolean;
  expected: string[];
}

const TLS_CLIENT_HELLO = Uint8Array.from(
  Buffer.from('16030100a5010000a10303' + '5b'.repeat(32) + '00' + '0020c02bc02f' + '00'.repeat(20), 'hex'),
);
const TLS_SERVER_HELLO = Uint8Array.from(Buffer.from('160303004a0200004603037f' + '11'.repeat(40), 'hex'));

const CASES: Case[] = [
  // ---- requests ----
  {
    name: 'GET without body',
    mode: 'request',
    data: 'GET /a?b=c HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n',
    expected: ['begin GET /a?b=c HTTP/1.1', 'head none host=example.test other=2', 'end body=0'],
  },
  {
    name: 'POST with Content-Length',
    mode: 'request',
    data: 'POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world',
    expected: ['begin POST /form HTTP/1.1', 'head length cl=11 host=h other=1', 'end body=11'],
  },
  {
    name: 'three pipelined requests in one stream',
    mode: 'request',
    data:
      'GET /1 HTTP/1.1\r\nHost: h\r\n\r\n' +
      'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody' +
      'HEAD /3 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    expected: [
      'begin GET /1 HTTP/1.1', 'head none host=h other=0', 'end body=0',
      'begin POST /2 HTTP/1.1', 'head length cl=4 host=h other=0', 'end body=4',
      'begin HEAD /3 HTTP/1.1', 'head none conn=close host=h other=0', 'end body=0',
    ],
  },
  {
    name: 'chunked request with extensions and trailers',
    mode: 'request',
    data:
      'POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '5;name=val\r\nhello\r\n6 ; x="y;z"\r\n world\r\nA\r\n0123456789\r\n0;last=1\r\nX-Checksum: 1\r\nY: 2\r\n\r\n' +
      'GET /next HTTP/1.1\r\n\r\n',
    expected: [
      'begin POST /up HTTP/1.1', 'head chunked te=chunked host=h other=0', 'end body=21',
      'begin GET /next HTTP/1.1', 'head none other=0', 'end body=0',
    ],
  },
  {
    name: 'chunked request without trailers, upper-case hex, bare LF after data',
    mode: 'request',
    data: 'PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1F\r\n' + 'x'.repeat(31) + '\n0\r\n\r\n',
    expected: ['begin PUT /x HTTP/1.1', 'head chunked te=gzip, chunked other=0', 'end body=31'],
  },
  {
    name: 'empty lines before a request are ignored',
    mode: 'request',
    data: '\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n',
    expected: ['begin GET / HTTP/1.1', 'head none other=0', 'end body=0', 'begin GET /b HTTP/1.1', 'head none other=0', 'end body=0'],
  },
  {
    name: 'LF-only line ends',
    mode: 'request',
    data: 'GET / HTTP/1.0\nHost: lf\nConnection: Keep-Alive\n\n',
    expected: ['begin GET / HTTP/1.0', 'head none conn=keep-alive host=lf other=0', 'end body=0'],
  },
  {
    name: 'obs-fold and a line without colon are tolerated and counted',
    mode: 'request',
    data: 'GET / HTTP/1.1\r\nX-Long: a\r\n  folded\r\nNoColonHere\r\nHost: h\r\n\r\n',
    expected: ['begin GET / HTTP/1.1', 'head none host=h other=1 malformed=2', 'end body=0'],
  },
  {
    name: 'repeated identical Content-Length values are one length',
    mode: 'request',
    data: 'POST / HTTP/1.1\r\nContent-Length: 3, 3\r\ncontent-length:3\r\n\r\nabc',
    expected: ['begin POST / HTTP/1.1', 'head length cl=3 other=0', 'end body=3'],
  },
  {
    name: 'conflicting Content-Length gives up',
    mode: 'request',
    data: 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    expected: ['begin POST / HTTP/1.1', 'giveup bad-content-length'],
  },
  {
    name: 'non-numeric Content-Length gives up',
    mode: 'request',
    data: 'POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n',
    expected: ['begin POST / HTTP/1.1', 'giveup bad-content-length'],
  },
  {
    name: 'request Transfer-Encoding not ending in chunked gives up',
    mode: 'request',
    data: 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc',
    expected: ['begin POST / HTTP/1.1', 'giveup bad-transfer-encoding'],
  },
  {
    name: 'Transfer-Encoding wins over Content-Length',
    mode: 'request',
    data: 'POST / HTTP/1.1\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    expected: ['begin POST / HTTP/1.1', 'head chunked cl=100 te=chunked other=0', 'end body=2'],
  },
  {
    name: 'CONNECT pauses the request side; following bytes are tunnel data',
    mode: 'request',
    data: 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n\x16\x03\x01\x00\x05hello',
    expected: ['begin CONNECT example.test:443 HTTP/1.1', 'head none host=example.test:443 other=0', 'end body=0'],
  },
  {
    name: 'lenient request lines: no version, bare method, broken version',
    mode: 'request',
    data: 'GET /x\r\n\r\nOPTIONS\r\nHost: a\r\n\r\nGET / HTTP/1.\r\n\r\nCCM_POST /HTTP/1.1\r\n\r\n',
    expected: [
      'begin GET /x null lenient', 'head none other=0', 'end body=0',
      'begin OPTIONS  null lenient', 'head none host=a other=0', 'end body=0',
      'begin GET / HTTP/1. lenient', 'head none other=0', 'end body=0',
      'begin CCM_POST /HTTP/1.1 null lenient', 'head none other=0', 'end body=0',
    ],
  },
  {
    name: 'garbage between messages: resynchronises on the next strict request line',
    mode: 'request',
    data: 'GET /1 HTTP/1.1\r\n\r\nxx garbage\r\nNOT A REQUEST\r\nSTILL JUNK\r\nGET /2 HTTP/1.1\r\n\r\n',
    expected: ['begin GET /1 HTTP/1.1', 'head none other=0', 'end body=0', 'begin GET /2 HTTP/1.1', 'head none other=0', 'end body=0'],
  },
  { name: 'TLS ClientHello is not HTTP', mode: 'request', data: TLS_CLIENT_HELLO, expected: ['giveup not-http'] },
  { name: 'SSH banner is not HTTP', mode: 'request', data: 'SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n', expected: ['giveup not-http'] },
  { name: 'a status line on the request side is not a request', mode: 'request', data: 'HTTP/1.1 200 OK\r\n\r\n', expected: ['giveup not-http'] },
  { name: 'lower-case method is not HTTP', mode: 'request', data: 'get / HTTP/1.1\r\n\r\n', expected: ['giveup not-http'] },
  { name: 'control byte in the first line is not HTTP', mode: 'request', data: 'PING \x00\x01\x02\r\n', expected: ['giveup not-http'] },

  // ---- responses ----
  {
    name: 'response with Content-Length',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: t\r\n\r\nhello',
    expected: ['begin 200 "OK" HTTP/1.1', 'head length cl=5 server=t other=0', 'end body=5'],
  },
  {
    name: 'chunked response with extension and trailers, then a pipelined response',
    mode: 'response',
    data:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
      '4;ext\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\n\r\n' +
      'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
    expected: [
      'begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'end body=23',
      'begin 404 "Not Found" HTTP/1.1', 'head length cl=0 other=0', 'end body=0',
    ],
  },
  {
    name: 'HTTP/1.0 close-delimited body ends at close',
    mode: 'response',
    data: 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until FIN',
    end: true,
    expected: ['begin 200 "OK" HTTP/1.0', 'head close other=1', 'end body=21'],
  },
  {
    name: 'close-delimited body without close stays open',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npartial',
    expected: ['begin 200 "OK" HTTP/1.1', 'head close conn=close other=0'],
  },
  {
    name: 'response to HEAD has no body despite Content-Length',
    mode: 'response',
    methods: ['HEAD', 'GET'],
    data: 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    expected: ['begin 200 "OK" HTTP/1.1', 'head none cl=1000 other=0', 'end body=0', 'begin 200 "OK" HTTP/1.1', 'head length cl=2 other=0', 'end body=2'],
  },
  {
    name: '204 and 304 have no body',
    mode: 'response',
    data: 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n',
    expected: [
      'begin 204 "No Content" HTTP/1.1', 'head none cl=10 other=0', 'end body=0',
      'begin 304 "Not Modified" HTTP/1.1', 'head none te=chunked other=0', 'end body=0',
    ],
  },
  {
    name: '100 Continue and 103 Early Hints before the final response',
    mode: 'response',
    methods: ['POST'],
    data: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok',
    expected: [
      'begin 100 "Continue" HTTP/1.1', 'head none other=0', 'end body=0',
      'begin 103 "Early Hints" HTTP/1.1', 'head none other=1', 'end body=0',
      'begin 201 "Created" HTTP/1.1', 'head length cl=2 other=0', 'end body=2',
    ],
  },
  {
    name: '101 Switching Protocols makes a tunnel',
    mode: 'response',
    data: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello HTTP/1.1 200 OK\r\n\r\n',
    expected: ['begin 101 "Switching Protocols" HTTP/1.1', 'head tunnel conn=upgrade other=1', 'end body=0'],
  },
  {
    name: '2xx to CONNECT makes a tunnel',
    mode: 'response',
    methods: ['CONNECT'],
    data: 'HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x03\x00\x4a\x02',
    expected: ['begin 200 "Connection established" HTTP/1.1', 'head tunnel other=0', 'end body=0'],
  },
  {
    name: 'a refused CONNECT has an ordinary body',
    mode: 'response',
    methods: ['CONNECT'],
    data: 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny',
    expected: ['begin 407 "Proxy Authentication Required" HTTP/1.1', 'head length cl=4 other=0', 'end body=4'],
  },
  {
    name: 'Transfer-Encoding not ending in chunked is close-delimited in a response',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n\x1f\x8b\x08',
    end: true,
    expected: ['begin 200 "OK" HTTP/1.1', 'head close te=gzip other=0', 'end body=3'],
  },
  {
    name: 'Keep-Alive timeout and Connection tokens',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n',
    expected: ['begin 200 "OK" HTTP/1.1', 'head length cl=0 conn=keep-alive ka=5 other=0', 'end body=0'],
  },
  {
    name: 'status line without reason, and with an empty one',
    mode: 'response',
    data: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n',
    expected: ['begin 200 null HTTP/1.1', 'head length cl=0 other=0', 'end body=0', 'begin 500 "" HTTP/1.1', 'head length cl=0 other=0', 'end body=0'],
  },
  {
    name: 'header line without colon (PcapPlusPlus HttpMalformedResponse)',
    mode: 'response',
    data: 'HTTP/1.1 403 Forbidden\r\nx-amz-request-id2 CA4DB8F36423461F\r\nContent-Length: 2\r\n\r\nno',
    expected: ['begin 403 "Forbidden" HTTP/1.1', 'head length cl=2 other=0 malformed=1', 'end body=2'],
  },
  {
    name: 'body longer than its Content-Length: the excess is skipped until the next status line',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA BYTES\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx',
    expected: ['begin 200 "OK" HTTP/1.1', 'head length cl=2 other=0', 'end body=2', 'begin 200 "OK" HTTP/1.1', 'head length cl=1 other=0', 'end body=1'],
  },
  {
    name: 'invalid chunk size gives up',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    expected: ['begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'giveup bad-chunk'],
  },
  {
    name: 'chunk data not followed by CRLF gives up',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n',
    expected: ['begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'giveup bad-chunk'],
  },
  {
    name: 'chunk size too large gives up',
    mode: 'response',
    data: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n',
    expected: ['begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'giveup bad-chunk'],
  },
  { name: 'SSH banner on the response side', mode: 'response', data: 'SSH-2.0-OpenSSH_9.6\r\n', expected: ['giveup not-http'] },
  { name: 'TLS ServerHello on the response side', mode: 'response', data: TLS_SERVER_HELLO, expected: ['giveup not-http'] },
  { name: 'SMTP greeting', mode: 'response', data: '220 mail.example.test ESMTP\r\n', expected: ['giveup not-http'] },
  { name: 'ICY is not HTTP', mode: 'response', data: 'ICY 200 OK\r\n\r\n', expected: ['giveup not-http'] },
  { name: 'non-numeric status is not HTTP', mode: 'response', data: 'HTTP/1.0 2XX OK\r\n\r\n', expected: ['giveup not-http'] },
];

function dataOf(c: Case): Uint8Array {
  return typeof c.data === 'string' ? bytes(c.data) : c.data;
}

describe('MessageParser: table of streams', () => {
  for (const c of CASES) {
    describe(c.name, () => {
      const data = dataOf(c);
      test('in one push', () => {
        expect(feedSplit(c.mode, data, [], c.methods, c.end)).toEqual(c.expected);
      });
      test('inside a larger buffer at an offset', () => {
        if (c.end) return; // feedAtOffset does not close; covered by the other variants
        expect(feedAtOffset(c.mode, data, c.methods)).toEqual(c.expected);
      });
      test('split at every byte boundary', () => {
        for (let k = 1; k < data.length; k++) {
          const got = feedSplit(c.mode, data, [k], c.methods, c.end);
          if (JSON.stringify(got) !== JSON.stringify(c.expected)) {
            throw new Error(`split at ${k}: ${JSON.stringify(got)}`);
          }
        }
      });
      test('one byte per push', () => {
        const cuts = Array.from({ length: data.length }, (_, i) => i);
        expect(feedSplit(c.mode, data, cuts, c.methods, c.end)).toEqual(c.expected);
      });
      test('random segmentations', () => {
        const random = rng(data.length * 7919 + c.name.length);
        for (let round = 0; round < 30; round++) {
          const cuts: number[] = [];
          let at = 0;
          while (at < data.length) {
            at += 1 + Math.floor(random() * 40);
            cuts.push(at);
          }
          expect(feedSplit(c.mode, data, cuts, c.methods, c.end)).toEqual(c.expected);
        }
      });
    });
  }
});

describe('MessageParser: bounds', () => {
  test('a header block over the bound gives up, at any segmentation', () => {
    const filler = `X-Filler: ${'a'.repeat(1000)}\r\n`.repeat(70);
    const data = bytes(`GET / HTTP/1.1\r\n${filler}\r\n`);
    expect(data.length).toBeGreaterThan(httpLimits.maxHeadBytes);
    const expected = ['begin GET / HTTP/1.1', 'giveup header-too-large'];
    expect(feedSplit('request', data, [])).toEqual(expected);
    for (const step of [1, 7, 1400]) {
      const cuts: number[] = [];
      for (let at = step; at < data.length; at += step) cuts.push(at);
      expect(feedSplit('request', data, cuts)).toEqual(expected);
    }
  });

  test('a start line over the line bound gives up', () => {
    const data = bytes(`GET /${'a'.repeat(httpLimits.maxLineBytes)} HTTP/1.1\r\n\r\n`);
    expect(feedSplit('request', data, [])).toEqual(['giveup line-too-long']);
    expect(feedSplit('request', data, [100, 9000])).toEqual(['giveup line-too-long']);
  });

  test('a start line exactly at the line bound is fine', () => {
    const uri = `/${'a'.repeat(httpLimits.maxLineBytes - 'GET  HTTP/1.1'.length - 1)}`;
    const line = `GET ${uri} HTTP/1.1`;
    expect(line.length).toBe(httpLimits.maxLineBytes);
    const data = bytes(`${line}\r\n\r\n`);
    const expected = [`begin GET ${uri} HTTP/1.1`, 'head none other=0', 'end body=0'];
    expect(feedSplit('request', data, [])).toEqual(expected);
    expect(feedSplit('request', data, [line.length, line.length + 1])).toEqual(expected);
  });

  test('a long ordinary field is cut and counted, a long framing field gives up', () => {
    const cookie = bytes(`GET / HTTP/1.1\r\nCookie: ${'c'.repeat(20000)}\r\nHost: h\r\n\r\n`);
    expect(feedSplit('request', cookie, [5000])).toEqual(['begin GET / HTTP/1.1', 'head none host=h other=1', 'end body=0']);
    const te = bytes(`POST / HTTP/1.1\r\nTransfer-Encoding: ${'gzip, '.repeat(3000)}chunked\r\n\r\n`);
    expect(feedSplit('request', te, [])).toEqual(['begin POST / HTTP/1.1', 'giveup line-too-long']);
    expect(feedSplit('request', te, [40, 12000])).toEqual(['begin POST / HTTP/1.1', 'giveup line-too-long']);
  });

  test('a chunk-size line with endless extensions gives up', () => {
    const data = bytes(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;${'e'.repeat(httpLimits.maxChunkLineBytes)}\r\nhello\r\n0\r\n\r\n`);
    expect(feedSplit('response', data, [])).toEqual(['begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'giveup bad-chunk']);
  });

  test('headBytes counts the start line, fields and blank line', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: x\r\n\r\n';
    const { log, parser } = makeParser('response');
    const data = bytes(head);
    parser.push(data, 0, 20, 1, 1);
    parser.push(data, 20, data.length - 20, 1, 2);
    expect(log.heads).toHaveLength(1);
    expect(log.heads[0].headBytes).toBe(head.length);
  });

  test('after giving up, pushes are no-ops', () => {
    const { log, parser } = makeParser('request');
    const tls = TLS_CLIENT_HELLO;
    parser.push(tls, 0, tls.length, 1, 1);
    const more = bytes('GET / HTTP/1.1\r\n\r\n');
    parser.push(more, 0, more.length, 2, 2);
    expect(log.lines).toEqual(['giveup not-http']);
    expect(parser.isOff).toBe(true);
    expect(parser.finished).toBe(true);
  });
});

describe('MessageParser: times and frames', () => {
  test('begin carries the first byte, end the last', () => {
    const { log, parser } = makeParser('response', [], {}, true);
    const a = bytes('\r\nHTTP/1.1 200 OK\r\nContent-');
    const b = bytes('Length: 4\r\n\r\nab');
    const c = bytes('cd');
    parser.push(a, 0, a.length, 10.5, 3);
    parser.push(b, 0, b.length, 10.6, 4);
    parser.push(c, 0, c.length, 10.7, 6);
    expect(log.lines).toEqual(['begin 200 "OK" HTTP/1.1 @10.5#3', 'head length cl=4 other=0', 'end body=4 @10.7#6']);
    expect(log.heads[0].headEndTs).toBe(10.6);
    expect(log.heads[0].headEndFrame).toBe(4);
  });
});

describe('MessageParser: gaps', () => {
  function run(mode: ParserMode, steps: (string | number | 'end')[], methods: string[] = []): string[] {
    const { log, parser } = makeParser(mode, methods);
    let frame = 1;
    for (const s of steps) {
      if (s === 'end') parser.end(9, frame++);
      else if (typeof s === 'number') parser.gap(s);
      else {
        const d = bytes(s);
        parser.push(d, 0, d.length, 1, frame++);
      }
    }
    return log.lines;
  }

  test('inside a Content-Length body the gap is counted and framing kept', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab', 5, 'cde', 'HTTP/1.1 204 No Content\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=10 other=0', 'end body=10 gap=5',
      'begin 204 "No Content" HTTP/1.1', 'head none other=0', 'end body=0',
    ]);
  });

  test('a gap that ends exactly at the body end completes the message', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab', 8, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=10 other=0', 'end body=10 gap=8',
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0',
    ]);
  });

  test('a gap past the body end loses the next message start; resync on the next status line', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab', 50, 'tail of a lost response\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=4 other=0', 'end body=4 gap=2', 'loss unseen',
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0',
    ]);
  });

  test('a gap between messages, body bytes after it, then a status line in the same segment after a LF', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 238, '<html>lost head</html>\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0', 'loss unseen',
      'begin 200 "OK" HTTP/1.1', 'head length cl=2 other=0', 'end body=2',
    ]);
  });

  test('resync needs a strict start line: a lenient request line in body bytes is skipped', () => {
    expect(run('request', ['GET / HTTP/1.1\r\n\r\n', 100, 'GET /in-a-body\r\n', 'POST /real HTTP/1.1\r\nContent-Length: 0\r\n\r\n'])).toEqual([
      'begin GET / HTTP/1.1', 'head none other=0', 'end body=0', 'loss unseen',
      'begin POST /real HTTP/1.1', 'head length cl=0 other=0', 'end body=0',
    ]);
  });

  test('while hunting, a segment start is a candidate even mid-line (bodies often end without LF)', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 238, '{"json":"no newline"}', 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0', 'loss unseen',
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0',
    ]);
    // The same bytes in one segment: the status line is mid-line and not found.
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', 238, '{"json":"no newline"}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0', 'loss unseen',
    ]);
  });

  test('a gap inside a head abandons the message (not unseen)', () => {
    expect(run('request', ['GET /a HTTP/1.1\r\nHost: h\r\nUser-', 30, 'Agent: x\r\n\r\n', 'GET /b HTTP/1.1\r\n\r\n'])).toEqual([
      'begin GET /a HTTP/1.1', 'loss', 'begin GET /b HTTP/1.1', 'head none other=0', 'end body=0',
    ]);
  });

  test('a start line cut by a gap is reported from what it shows', () => {
    expect(run('request', ['GET /images/sf.net_box.gif HTT', 300, 'GET /next HTTP/1.1\r\n\r\n'])).toEqual([
      'begin GET /images/sf.net_box.gif HTT lenient', 'loss', 'begin GET /next HTTP/1.1', 'head none other=0', 'end body=0',
    ]);
    expect(run('response', ['HTTP/1.1 200 OK\r\nDa', 10])).toEqual(['begin 200 "OK" HTTP/1.1', 'loss']);
    expect(run('response', ['HTTP/1.1 2', 10])).toEqual(['loss unseen']);
  });

  test('a gap within one chunk keeps chunk framing; past it, the message is abandoned', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    expect(run('response', [`${head}a\r\nab`, 6, 'gh\r\n0\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'end body=10 gap=6',
    ]);
    expect(run('response', [`${head}a\r\nab`, 60, 'xx\r\n0\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n'])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head chunked te=chunked other=0', 'loss', 'begin 304 "Not Modified" HTTP/1.1', 'head none other=0', 'end body=0',
    ]);
  });

  test('a gap in a close-delimited body is counted', () => {
    expect(run('response', ['HTTP/1.0 200 OK\r\n\r\nabc', 1000, 'def', 'end'])).toEqual([
      'begin 200 "OK" HTTP/1.0', 'head close other=0', 'end body=1006 gap=1000',
    ]);
  });

  test('a gap of unknown size (0) in a known-length body abandons it', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab', 0])).toEqual([
      'begin 200 "OK" HTTP/1.1', 'head length cl=10 other=0', 'loss',
    ]);
  });

  test('mid-stream start: hunts for the first start line within a budget', () => {
    const { log, parser } = makeParser('response', [], { midstream: true });
    const d = bytes('rest of an earlier body\r\nmore\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    parser.push(d, 0, d.length, 1, 1);
    expect(log.lines).toEqual(['begin 200 "OK" HTTP/1.1', 'head length cl=0 other=0', 'end body=0']);
    expect(parser.resyncs).toBe(1);

    const off = makeParser('response', [], { midstream: true });
    const junk = new Uint8Array(8192).fill(0x61);
    for (let i = 0; i <= httpLimits.resyncBudgetBytes / junk.length; i++) off.parser.push(junk, 0, junk.length, 1, 1);
    expect(off.log.lines).toEqual(['giveup not-http']);
  });

  test('end() completes a close-delimited body only', () => {
    expect(run('response', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab', 'end'])).toEqual(['begin 200 "OK" HTTP/1.1', 'head length cl=10 other=0']);
  });
});

describe('MessageParser: the body path does not scan', () => {
  test('a large Content-Length body in big segments costs about nothing per byte', () => {
    const { log, parser } = makeParser('response');
    const head = bytes('HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n');
    parser.push(head, 0, head.length, 1, 1);
    const seg = new Uint8Array(65536);
    for (let i = 0; i < 1600; i++) parser.push(seg, 0, seg.length, 1, 2);
    expect(log.lines).toEqual(['begin 200 "OK" HTTP/1.1', 'head length cl=104857600 other=0', 'end body=104857600']);
  });
});

describe('MessageParser: what a response says of the server software', () => {
  test('read by a response parser until the session has it; a request names its client instead', () => {
    const withIdentity = 'HTTP/1.1 204 No Content\r\nServer: nginx/1.22.1\r\nVia: 1.1 a, 1.1 edge (squid/5.7)\r\n\r\n';
    const { log, parser } = makeParser('response');
    parser.push(bytes(withIdentity), 0, withIdentity.length, 1, 1);
    parser.readsIdentity = false; // as the session sets it once it has the identity
    parser.push(bytes(withIdentity), 0, withIdentity.length, 1, 2);
    expect(log.heads.map((h) => [h.server, h.via])).toEqual([['nginx/1.22.1', '1.1 edge (squid/5.7)'], [null, null]]);
    // A reset (the parser reused for another connection) reads it again.
    parser.reset(false);
    parser.push(bytes(withIdentity), 0, withIdentity.length, 1, 3);
    expect(log.heads[2].server).toBe('nginx/1.22.1');

    const request = 'GET / HTTP/1.1\r\nHost: h\r\nServer: x\r\nUser-Agent: okhttp/3.13.1\r\nVia: 1.1 client-side-proxy\r\n\r\n';
    const req = makeParser('request');
    req.parser.push(bytes(request), 0, request.length, 1, 1);
    const head = req.log.heads[0];
    // Server is a response's field; the agent, and the Via that says a proxy forwarded it, are read.
    expect([head.server, head.userAgent, head.via, head.forwarded]).toEqual([null, 'okhttp/3.13.1', '1.1 client-side-proxy', false]);
    for (const name of ['X-Forwarded-For', 'x-forwarded-for', 'Forwarded', 'X-Real-IP', 'x-real-ip']) {
      const forwarded = `GET / HTTP/1.1\r\nHost: h\r\n${name}: 10.0.0.1\r\nUser-Agent: curl/7.88.1\r\n\r\n`;
      const f = makeParser('request');
      f.parser.push(bytes(forwarded), 0, forwarded.length, 1, 1);
      expect([f.log.heads[0].forwarded, f.log.heads[0].userAgent, f.log.heads[0].otherHeaders]).toEqual([true, 'curl/7.88.1', 2]);
    }
    // The agent's field name in lower case (HAProxy 2.x writes every name so) is noted.
    for (const [name, lower] of [['User-Agent', false], ['user-agent', true], ['USER-AGENT', false]] as const) {
      const text = `GET / HTTP/1.1\r\nHost: h\r\n${name}: curl/7.88.1\r\n\r\n`;
      const a = makeParser('request');
      a.parser.push(bytes(text), 0, text.length, 1, 1);
      expect([a.log.heads[0].userAgent, a.log.heads[0].agentNameLower]).toEqual(['curl/7.88.1', lower]);
    }
    // Names of those lengths and first letters that are none of them stay other fields.
    const lookalikes = 'GET / HTTP/1.1\r\nUser-Agenx: a\r\nForwardex: b\r\nX-Forwarded-Fox: c\r\nuser_agent: d\r\nX-Real-IQ: e\r\nX_Real-IP: f\r\n\r\n';
    const l = makeParser('request');
    l.parser.push(bytes(lookalikes), 0, lookalikes.length, 1, 1);
    expect([l.log.heads[0].userAgent, l.log.heads[0].forwarded, l.log.heads[0].otherHeaders]).toEqual([null, false, 6]);
  });
});

describe('MessageParser: heads cut by the snaplen', () => {
  /** Steps: bytes pushed (segment i at ts 10 + i, frame i + 1), {cut: n} a snaplen cut of n bytes, {lost: n} bytes really missing, 'end'. */
  type Step = string | { cut: number } | { lost: number } | 'end' | 'peer';
  function run(mode: ParserMode, steps: Step[]): { lines: string[]; cutEnds: number; resyncs: number } {
    const { log, parser } = makeParser(mode, [], {}, true);
    let segment = 0;
    for (const s of steps) {
      if (s === 'end') parser.end(99, 99);
      else if (s === 'peer') parser.endOpenCut(); // the peer's next message ended it (the session's call)
      else if (typeof s === 'string') {
        const d = bytes(s);
        parser.push(d, 0, d.length, 10 + segment, segment + 1);
        segment++;
      } else if ('cut' in s) parser.gap(s.cut, true);
      else parser.gap(s.lost);
    }
    return { lines: log.lines, cutEnds: parser.cutEnds, resyncs: parser.resyncs };
  }

  test('the message ends at its last segment before the next start line, reported before it', () => {
    const r = run('response', [
      'HTTP/1.1 200 OK\r\nContent-Length: 46\r\nConnection: keep-alive\r\nETag: "6b0', { cut: 80 },
      'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n',
    ]);
    expect(r.lines).toEqual([
      'begin 200 "OK" HTTP/1.1 @10#1', 'head cut cl=46 conn=keep-alive other=0', 'end body=46 @10#1',
      'begin 201 "Created" HTTP/1.1 @11#2', 'head length cl=0 other=0', 'end body=0 @11#2',
    ]);
    expect(r.cutEnds).toBe(1);
    expect(r.resyncs).toBe(0); // not a loss
  });

  test('ended by the peer\'s next message (a request after a cut response), then the next start line at its segment\'s start: no framing lost', () => {
    // nginx's 240-byte heads at -s 200, ab's next request ending each: the warning had said "the
    // HTTP framing was lost" once per response.
    const nginx = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 02:09:02 GMT\r\nContent-Type: text/html\r\nContent-Length: 6\r\nLast-Modi';
    const r = run('response', [nginx, { cut: 106 }, 'peer', nginx, { cut: 106 }, 'peer', nginx, { cut: 106 }, 'end']);
    expect(r.lines.filter((l) => l.startsWith('end'))).toEqual(['end body=6 @10#1', 'end body=6 @11#2', 'end body=6 @12#3']);
    expect([r.cutEnds, r.resyncs]).toEqual([3, 0]);
    // Bytes skipped before the next start line (a later segment of a longer message): that is framing lost.
    const skipped = run('response', [nginx, { cut: 106 }, 'peer', 'tail of something\r\n', nginx, { cut: 106 }, 'end']);
    expect([skipped.cutEnds, skipped.resyncs]).toEqual([2, 1]);
    // So is a gap of bytes really missing before it.
    const lost = run('response', [nginx, { cut: 106 }, 'peer', { lost: 500 }, nginx, { cut: 106 }, 'end']);
    expect([lost.cutEnds, lost.resyncs]).toEqual([2, 1]);
  });

  test('-s 96 over IPv6 keeps 10 bytes: a status line cut inside its code begins a response of its class', () => {
    const r = run('response', ['HTTP/1.1 2', { cut: 184 }, 'HTTP/1.1 40', { cut: 120 }, 'end']);
    expect(r.lines).toEqual([
      'begin 200 null HTTP/1.1 @10#1', 'head cut other=0', 'end body=0 @10#1',
      'begin 400 null HTTP/1.1 @11#2', 'head cut other=0', 'end body=0 @11#2',
    ]);
    // Not a status line's start, or cut before its code: nothing begins.
    expect(run('response', ['HTTP/1.1 ', { cut: 184 }]).lines).toEqual(['loss unseen']);
    expect(run('response', ['HTTP/1.1 7', { cut: 184 }]).lines).toEqual(['loss unseen']);
    expect(run('response', ['\x16\x03\x03\x00\x7a\x02', { cut: 120 }]).lines).toEqual(['giveup not-http']);
  });

  test('a request line cut inside its method names the method whole', () => {
    const r = run('request', ['POS', { cut: 600 }, 'end']);
    expect(r.lines[0]).toBe('begin POST  null lenient @10#1');
    // A lost segment (not the snaplen's cut) is not read that way: `POS` stays what it shows.
    expect(run('request', ['POS', { lost: 600 }]).lines[0]).toBe('begin POS  null lenient @10#1');
  });

  test('its body in later segments (themselves cut) belongs to it: it ends at the last of them', () => {
    const r = run('response', [
      'HTTP/1.1 200 OK\r\nServer: x\r\nX-Pad: ppppp', { cut: 1200 },
      'body body body body', { cut: 1300 },
      'more body', { cut: 400 },
      'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    ]);
    expect(r.lines.slice(0, 3)).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head cut server=x other=0', 'end body=0 @12#3']);
    expect(r.lines[3]).toBe('begin 200 "OK" HTTP/1.1 @13#4');
  });

  test('a start line after a LF in a later segment: the message reaches into that segment', () => {
    const r = run('response', ['HTTP/1.1 200 OK\r\nX-Pad: pp', { cut: 300 }, 'tail of body\nHTTP/1.1 204 No Content\r\n\r\n']);
    expect(r.lines.slice(0, 4)).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head cut other=0', 'end body=0 @11#2', 'begin 204 "No Content" HTTP/1.1 @11#2']);
  });

  test('the direction closing ends it at its last segment, not at the close', () => {
    const r = run('request', ['POST /items HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nCookie: aaaa', { cut: 500 }, 'end']);
    expect(r.lines).toEqual(['begin POST /items HTTP/1.1 @10#1', 'head cut cl=5 host=h other=0', 'end body=5 @10#1']);
  });

  test('a Connection field cut inside its value: what its first letters can only begin, else unknown', () => {
    const head = (partial: string): string => run('response', [`HTTP/1.1 200 OK\r\nContent-Length: 4\r\n${partial}`, { cut: 40 }, 'end']).lines[1];
    expect(head('Connection: keep')).toBe('head cut cl=4 conn=keep-alive other=0'); // nginx at -s 256
    expect(head('connection:Keep-Al')).toBe('head cut cl=4 conn=keep-alive other=0');
    expect(head('Connection: clo')).toBe('head cut cl=4 conn=close other=0');
    expect(head('Connection: close\r')).toBe('head cut cl=4 conn=close other=0');
    expect(head('Connection: ke')).toBe('head cut cl=4 other=0'); // too few letters to tell
    expect(head('Connection: Upgr')).toBe('head cut cl=4 other=0');
    expect(head('Connect')).toBe('head cut cl=4 other=0');
  });

  test('bytes really missing after the cut: its end can no longer be told, it is abandoned', () => {
    const r = run('response', ['HTTP/1.1 200 OK\r\nX-Pad: pp', { cut: 300 }, { lost: 1000 }, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
    expect(r.lines).toEqual([
      'begin 200 "OK" HTTP/1.1 @10#1', 'head cut other=0', 'loss',
      'begin 200 "OK" HTTP/1.1 @11#2', 'head length cl=0 other=0', 'end body=0 @11#2',
    ]);
    expect(r.cutEnds).toBe(0);
  });

  test('a chunked body whose chunk framing the snaplen cut ends where the next message begins', () => {
    const r = run('response', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n40', { cut: 100 }, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
    expect(r.lines.slice(0, 3)).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0', 'end body=5 @10#1']);
    expect(r.cutEnds).toBe(1);
  });

  test('such a body ended by its direction closing may have been cut off by that close: its end is unknown (a gap)', () => {
    // Each cut holds the rest of a 2 000-byte chunk, its CRLF and the next chunk's size line.
    const r = run('response', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7d0\r\nabc', { cut: 2004 }, 'xyz', { cut: 1999 }, 'end']);
    expect(r.lines).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0', 'end body=8 gap=1 @11#2']);
    // A head cut before its framing fields is taken as it ends, as before (the server's timing judges it: facts.closeMayBeAnnounced).
    const head = run('response', ['HTTP/1.1 200 OK\r\nServer: x\r\nX-Pad: ppp', { cut: 300 }, 'end']);
    expect(head.lines[2]).toBe('end body=0 @10#1');
  });

  describe('start lines cut after a message the snaplen cut (-s 96 keeps 24 to 42 bytes of payload)', () => {
    test('requests on a keep-alive connection: each cut line begins the next request, as the first one did', () => {
      const r = run('request', [
        'GET /get?i=0&c=a HTTP/1.', { cut: 60 }, 'GET /get?i=1&c=a HTTP/1.', { cut: 60 }, 'POST /items?i=2&c=a HTTP', { cut: 120 }, 'end',
      ]);
      expect(r.lines).toEqual([
        'begin GET /get?i=0&c=a HTTP/1. lenient @10#1', 'head cut other=0', 'end body=0 @10#1',
        'begin GET /get?i=1&c=a HTTP/1. lenient @11#2', 'head cut other=0', 'end body=0 @11#2',
        'begin POST /items?i=2&c=a HTTP lenient @12#3', 'head cut other=0', 'end body=0 @12#3',
      ]);
      expect([r.cutEnds, r.resyncs]).toEqual([3, 0]);
    });

    test('a response\'s cut status line after a cut response begins the next response', () => {
      const r = run('response', ['HTTP/1.1 200 OK\r\nContent', { cut: 155 }, 'HTTP/1.1 502 Bad Gateway', { cut: 75 }, 'HTTP/1.1 200 OK\r\nContent', { cut: 155 }]);
      expect(r.lines.filter((l) => l.startsWith('begin'))).toEqual([
        'begin 200 "OK" HTTP/1.1 @10#1', 'begin 502 "Bad Gateway" HTTP/1.1 @11#2', 'begin 200 "OK" HTTP/1.1 @12#3',
      ]);
    });

    test('not after bytes really lost, and not from what shows no registered method and target', () => {
      // After a loss, only a whole strict start line resynchronises (a body's bytes may look like anything).
      const lost = run('request', ['GET /a HTTP/1.1\r\nHost: h\r\n\r\n', { lost: 500 }, 'GET /get?i=1&c=a HTTP/1.', { cut: 60 }]);
      expect(lost.lines.filter((l) => l.startsWith('begin'))).toEqual(['begin GET /a HTTP/1.1 @10#1']);
      const lostAfterCut = run('request', ['GET /a HTTP/1.1\r\nHost: h\r\nX-', { cut: 50 }, { lost: 300 }, 'GET /get?i=1&c=a HTTP/1.', { cut: 60 }]);
      expect(lostAfterCut.lines.filter((l) => l.startsWith('begin'))).toEqual(['begin GET /a HTTP/1.1 @10#1']);
      // Bytes of a cut body at a segment start: no method and target's start, or a method no one registered.
      for (const body of ['PING xyz HTTP/1.', 'GET', 'GET ', 'BREW /pot HTTP/1.']) {
        const r = run('request', ['POST /a HTTP/1.1\r\nHost: h\r\nContent-Len', { cut: 3000 }, body, { cut: 1400 }]);
        expect(r.lines.filter((l) => l.startsWith('begin'))).toEqual(['begin POST /a HTTP/1.1 @10#1']);
      }
    });
  });

  test('a 101 whose head the snaplen cut still switches protocols: what follows is the tunnel\'s', () => {
    const { log, parser } = makeParser('response', ['GET'], {}, true);
    const seg = (s: string, i: number): void => {
      const d = bytes(s);
      parser.push(d, 0, d.length, 10 + i, i + 1);
    };
    seg('HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.22.1\r\nDate: Mon', 0);
    parser.gap(120, true);
    seg('\x81\x05HTTP/', 1); // a WebSocket text frame that happens to hold a version's bytes
    expect(log.lines).toEqual(['begin 101 "Switching Protocols" HTTP/1.1 @10#1', 'head tunnel server=nginx/1.22.1 other=0', 'end body=0 @10#1']);
    expect(parser.isTunnel).toBe(true);
    // A 2xx to CONNECT, the same.
    const connect = makeParser('response', ['CONNECT'], {}, true);
    const d = bytes('HTTP/1.1 200 Connection established\r\nProxy-Agent: x');
    connect.parser.push(d, 0, d.length, 10, 1);
    connect.parser.gap(50, true);
    expect(connect.parser.isTunnel).toBe(true);
    // Any other status cut in its head is a cut message, as before.
    const ok = makeParser('response', ['GET'], {}, true);
    const o = bytes('HTTP/1.1 200 OK\r\nServer: x');
    ok.parser.push(o, 0, o.length, 10, 1);
    ok.parser.gap(50, true);
    expect(ok.parser.isTunnel).toBe(false);
  });

  describe('chunks each sent in a segment of their own, cut inside their data', () => {
    const CHUNKED = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';

    test('a cut that ends with the CRLF after the data: the next segment starts the next chunk-size line, and the body is followed to its last chunk', () => {
      const r = run('response', [
        `${CHUNKED}400\r\nab`, { cut: 1022 + 2 }, '400\r\ncd', { cut: 1022 + 1 }, '\n3\r\nxyz\r\n', '0\r\n\r\n',
        'HTTP/1.1 204 No Content\r\n\r\n',
      ]);
      expect(r.lines.slice(0, 4)).toEqual([
        'begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0', 'end body=2051 @13#4', 'begin 204 "No Content" HTTP/1.1 @14#5',
      ]);
      expect([r.cutEnds, r.resyncs]).toEqual([0, 0]);
    });

    test('a connection closed in the middle of such a body leaves it unfinished, with the bytes that came counted', () => {
      const { log, parser } = makeParser('response', [], {}, true);
      const seg = (s: string, i: number): void => {
        const d = bytes(s);
        parser.push(d, 0, d.length, 10 + i, i + 1);
      };
      seg(`${CHUNKED}400\r\nab`, 0);
      parser.gap(1024, true);
      seg('400\r\ncd', 1);
      parser.gap(1000, true);
      parser.end(99, 99);
      expect(log.lines).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0']);
      expect(parser.partialBodyBytes).toBe(1024 + 2 + 1000);
      expect(parser.cutEnds).toBe(0);
    });

    test('a next segment that is no chunk-size line proves the guess wrong: the framing is lost as for any cut, and a start line right after the cut is read', () => {
      // The last chunk and its CRLF were in the cut too, though the cut's length would fit a CRLF alone.
      const r = run('response', [`${CHUNKED}3\r\na`, { cut: 4 }, 'HTTP/1.1 204 No Content\r\n\r\n']);
      expect(r.lines.slice(0, 4)).toEqual([
        'begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0', 'end body=3 @10#1', 'begin 204 "No Content" HTTP/1.1 @11#2',
      ]);
      expect(r.cutEnds).toBe(1);
      // A line that begins like a chunk size and goes wrong: hunted past, as after any cut.
      const late = run('response', [`${CHUNKED}3\r\na`, { cut: 4 }, '1f!x\r\nHTTP/1.1 204 No Content\r\n\r\n']);
      expect(late.lines.slice(2, 4)).toEqual(['end body=3 @11#2', 'begin 204 "No Content" HTTP/1.1 @11#2']);
      expect(late.cutEnds).toBe(1);
    });

    test('bytes really lost (not cut) over a chunk boundary still lose the framing', () => {
      const r = run('response', [`${CHUNKED}3\r\na`, { lost: 4 }, '0\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n']);
      expect(r.lines.slice(0, 3)).toEqual(['begin 200 "OK" HTTP/1.1 @10#1', 'head chunked te=chunked other=0', 'loss']);
    });

    test('a cut that ends with the data (the CRLF in the next segment) or with its CR (the LF next) is followed too', () => {
      const dataOnly = run('response', [`${CHUNKED}3\r\na`, { cut: 2 }, '\r\n0\r\n\r\n']);
      expect(dataOnly.lines[2]).toBe('end body=3 @11#2');
      const withCr = run('response', [`${CHUNKED}3\r\na`, { cut: 3 }, '\n0\r\n\r\n']);
      expect(withCr.lines[2]).toBe('end body=3 @11#2');
      const crOnly = run('response', [`${CHUNKED}3\r\nabc`, { cut: 1 }, '\n0\r\n\r\n']);
      expect(crOnly.lines[2]).toBe('end body=3 @11#2');
      const crlfOnly = run('response', [`${CHUNKED}3\r\nabc`, { cut: 2 }, '0\r\n\r\n']);
      expect(crlfOnly.lines[2]).toBe('end body=3 @11#2');
      const lfOnly = run('response', [`${CHUNKED}3\r\nabc\r`, { cut: 1 }, '0\r\n\r\n']);
      expect(lfOnly.lines[2]).toBe('end body=3 @11#2');
      for (const r of [dataOnly, withCr, crOnly, crlfOnly, lfOnly]) expect(r.cutEnds).toBe(0);
    });
  });
});

describe('MessageParser: a response to a request the capture does not hold (its method unknown)', () => {
  const HEAD_200 = 'HTTP/1.1 200 OK\r\nContent-Length: 51200\r\n\r\n';
  const NEXT = 'HTTP/1.1 204 No Content\r\n\r\n';
  const pushAll = (segments: string[], methods: string[] = []): string[] => {
    const { log, parser } = makeParser('response', methods);
    for (const s of segments) {
      const b = bytes(s);
      parser.push(b, 0, b.length, 1, 1);
    }
    return log.lines;
  };

  test.each([
    ['a Content-Length', HEAD_200],
    ['chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'],
    ['no length (ends at close)', 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n'],
  ])('announcing a body by %s, and a status line where its first byte should be: it answered a HEAD, bodiless', (_name, head) => {
    expect(pushAll([head, NEXT])).toEqual([
      'begin 200 "OK" HTTP/1.1', expect.stringMatching(/^head /), 'end body=0',
      'begin 204 "No Content" HTTP/1.1', 'head none other=0', 'end body=0',
    ]);
    // In the same segment too.
    expect(pushAll([head + NEXT]).filter((l) => l.startsWith('end'))).toEqual(['end body=0', 'end body=0']);
  });

  test('a body that begins otherwise is the body', () => {
    expect(pushAll([HEAD_200, 'x'.repeat(51200), NEXT]).filter((l) => l.startsWith('end'))).toEqual(['end body=51200', 'end body=0']);
  });

  test('only its first byte is asked: a status line later in the body is the body\'s', () => {
    expect(pushAll(['HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n', 'abc', NEXT + 'x'.repeat(40 - 3 - NEXT.length)]).filter((l) => l.startsWith('end'))).toEqual(['end body=40']);
  });

  test('where the request is known (a GET), a body that begins with a status line is still its body', () => {
    expect(pushAll(['HTTP/1.1 200 OK\r\nContent-Length: 27\r\n\r\n', NEXT], ['GET']).filter((l) => l.startsWith('end'))).toEqual(['end body=27']);
  });
});
