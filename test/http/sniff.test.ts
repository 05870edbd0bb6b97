import { startsLikeHttp2Preface, startsLikeRequest, startsLikeResponse } from '../../src/http/sniff';
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
