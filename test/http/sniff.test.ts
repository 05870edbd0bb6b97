import { cutRequestLineMethod, startsLikeHttp2Preface, startsLikeRequest, startsLikeResponse } from '../../src/http/sniff';
import { analyzeSample } from '../samples';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

describe('first-bytes sniffing', () => {
  it.each([
    [PREFACE + '\x00\x00\x12\x04', true],
    ['PRI * HTTP/2.0\r\n', true],
    ['PRI * HTTP/2', true], // the line's start, when the segment holds no more
    ['PRI * HTTP/', false], // too little to tell
    ['PRI * HTTP/1.1\r\n', false],
    ['GET / HTTP/1.1\r\n', false],
    ['PRI / HTTP/2.0\r\n', false],
    ['\x16\x03\x01\x02\x00\x01', false],
  ])('%j is HTTP/2 cleartext preface: %s', (text, expected) => {
    const b = bytes('xx' + text);
    expect(startsLikeHttp2Preface(b, 2, b.length - 2)).toBe(expected);
  });

  it('takes the preface for a request line (it is one, of a method HTTP/1.x does not have)', () => {
    const b = bytes(PREFACE);
    expect(startsLikeRequest(b, 0, b.length)).toBe(true);
    expect(startsLikeResponse(b, 0, b.length)).toBe(false);
  });
});

describe('a request line the snaplen cut', () => {
  it.each([
    ['POST /race', 'POST'], // -s 96, IPv6 with TCP timestamps: 10 bytes
    ['GET /race/', 'GET'],
    ['GET http:/', 'GET'],
    ['OPTIONS *', 'OPTIONS'],
    ['CONNECT ex', 'CONNECT'],
    ['DELETE ', 'DELETE'], // cut right after the method's space
    ['PATCH', 'PATCH'], // cut before the space: the whole method
    ['POS', 'POST'], // a prefix of one registered method only
    ['OPT', 'OPTIONS'],
    ['DEL', 'DELETE'],
  ])('%j shows the method %s', (text, method) => {
    const b = bytes('xx' + text);
    expect(cutRequestLineMethod(b, 2, b.length - 2)).toBe(method);
  });

  it.each([
    ['PU'], // too short to tell
    ['P'],
    ['HELLO /wor'], // a word that is no registered method
    ['GETS /x'],
    ['GET x/race'], // no usual target after the method
    ['HTTP/1.1 2'], // a status line
    ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03'], // a TLS record header (ClientHello)
    ['\x00\x00\x00\x08\x04\xd2\x16\x2f'], // binary (PostgreSQL's SSLRequest)
    ['*3\r\n$3\r\nSET'], // Redis
    ['POSTGRES'], // longer than the method it begins
    ['get /race/'], // methods are case-sensitive
  ])('%j shows none', (text) => {
    const b = bytes(text);
    expect(cutRequestLineMethod(b, 0, b.length)).toBeNull();
  });
});

describe('connections the HTTP/1.x stage cannot read are counted', () => {
  it('counts an h2c connection as HTTP/2 without TLS, parses nothing from it and reports nothing', async () => {
    const r = await analyzeSample('http2-cleartext');
    expect(r.stats.connections).toBe(1);
    expect(r.stats.http.http2Connections).toBe(1);
    expect(r.stats.http.tlsConnections).toBe(0);
    expect(r.stats.exchanges).toBe(0);
    expect(r.stats.httpConnections).toBe(0);
    expect(r.anomalies).toEqual([]);
  });

  it('counts TLS connections (the client spoke first, with a ClientHello), and no HTTP/2 among them', async () => {
    const r = await analyzeSample('keepalive-race-tls-nginx');
    expect(r.stats.http.tlsConnections).toBe(r.stats.connections);
    expect(r.stats.http.http2Connections).toBe(0);
  });

  it('counts neither on plain HTTP/1.1', async () => {
    const r = await analyzeSample('keepalive-node-agent');
    expect(r.stats.http.tlsConnections + r.stats.http.http2Connections).toBe(0);
    expect(r.stats.exchanges).toBeGreaterThan(0);
  });
});
