import { MessageParser } from '../../src/http/message-parser';
import type { MessageHead } from '../../src/http/message-head';
import { HttpSession } from '../../src/http/session';
import { bytes } from './http-test-kit';

/**
 * Many small keep-alive exchanges fed in ~1400-byte segments, as a capture delivers them.
 * Asserts that every message is parsed and paired; prints the rate (no timing assertion:
 * the machine is shared).
 */
const EXCHANGES = 20000;
const SEGMENT = 1400;

interface Streams {
  client: Uint8Array;
  server: Uint8Array;
  /** End offset of each request / response in its stream. */
  requestEnds: number[];
  responseEnds: number[];
}

function streams(): Streams {
  const reqs: string[] = [];
  const resps: string[] = [];
  const requestEnds: number[] = [];
  const responseEnds: number[] = [];
  let c = 0;
  let s = 0;
  for (let i = 0; i < EXCHANGES; i++) {
    const rq =
      `GET /api/items/${i}?fields=name,price HTTP/1.1\r\nHost: shop.example.test\r\nUser-Agent: bench/1.0\r\n` +
      `Accept: application/json\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n`;
    const body = `{"id":${i},"name":"item ${i}","price":${i % 100}.99}`;
    const rs =
      i % 4 === 3
        ? `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`
        : `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nKeep-Alive: timeout=5\r\n\r\n${body}`;
    reqs.push(rq);
    resps.push(rs);
    requestEnds.push((c += rq.length));
    responseEnds.push((s += rs.length));
  }
  return { client: bytes(reqs.join('')), server: bytes(resps.join('')), requestEnds, responseEnds };
}

function seconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

describe('throughput', () => {
  const { client, server, requestEnds, responseEnds } = streams();
  const totalBytes = client.length + server.length;

  test('parser alone', () => {
    let messages = 0;
    const listener = {
      onMessageBegin: (_h: MessageHead) => undefined,
      onMessageHead: (_h: MessageHead) => undefined,
      onMessageEnd: () => {
        messages++;
      },
      onLoss: () => undefined,
      onGiveUp: () => undefined,
    };
    const start = process.hrtime.bigint();
    const req = new MessageParser('request', listener);
    const resp = new MessageParser('response', listener, { methodOfNextResponse: () => 'GET' });
    for (let off = 0; off < client.length; off += SEGMENT) req.push(client, off, Math.min(SEGMENT, client.length - off), 1, 1);
    for (let off = 0; off < server.length; off += SEGMENT) resp.push(server, off, Math.min(SEGMENT, server.length - off), 1, 1);
    const t = seconds(start);
    expect(messages).toBe(2 * EXCHANGES);
    // eslint-disable-next-line no-console
    console.log(`parser (under jest, cold JIT; compiled node is ~10x faster): ${(totalBytes / 1e6 / t).toFixed(1)} MB/s, ${Math.round((2 * EXCHANGES) / t)} messages/s (${(totalBytes / 1e6).toFixed(1)} MB in ${t.toFixed(3)} s)`);
  });

  test('session, directions interleaved segment by segment', () => {
    let complete = 0;
    const session = new HttpSession(1, 0, (ex) => {
      if (ex.state === 'complete') complete++;
    });
    const start = process.hrtime.bigint();
    let c = 0;
    let s = 0;
    let ts = 1;
    let sent = 0; // requests completely sent
    while (c < client.length) {
      const n = Math.min(SEGMENT, client.length - c);
      session.clientData(client, c, n, (ts += 0.0001), 1);
      c += n;
      while (sent < EXCHANGES && requestEnds[sent] <= c) sent++;
      // The server answers only requests it has received, in segments of up to SEGMENT bytes.
      const answered = sent === 0 ? 0 : responseEnds[sent - 1];
      while (s < answered) {
        const m = Math.min(SEGMENT, answered - s);
        session.serverData(server, s, m, (ts += 0.0001), 2);
        s += m;
      }
    }
    session.finish(ts);
    const t = seconds(start);
    expect(complete).toBe(EXCHANGES);
    // eslint-disable-next-line no-console
    console.log(`session (under jest, cold JIT): ${(totalBytes / 1e6 / t).toFixed(1)} MB/s, ${Math.round(EXCHANGES / t)} exchanges/s`);
  });
});
