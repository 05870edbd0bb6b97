import type { AnalyzedConnection } from '../../src/detect/analyzed-connection';
import { RequestIndex, sameSender, signatureHash, type SenderMarks } from '../../src/detect/request-index';
import type { HttpExchange } from '../../src/http/exchange';

/** Address words of "a.b.c.d" or "[v6]" text, as the flow stage keeps them (IPv6 as a hash is enough here). */
function words(endpoint: string): [number, number, number, number, number] {
  const port = Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
  const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
  if (!host.startsWith('[')) return [host.split('.').reduce((w, b) => w * 256 + Number(b), 0) >>> 0, 0, 0, 0, port];
  let h = 0;
  for (const ch of host) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return [0x20010db8, 0, 0, h >>> 0, port];
}

/** The few connection facts the index reads. */
function conn(id: number, client: string, server = '10.0.0.1:80', startTs = 0): AnalyzedConnection {
  const [c0, c1, c2, c3, cPort] = words(client);
  const [s0, s1, s2, s3, sPort] = words(server);
  const open = { finTs: -1, rstTs: -1 };
  return {
    id, clientName: client, serverName: server, startTs, c0, c1, c2, c3, cPort, s0, s1, s2, s3, sPort, client: open, server: open, handshakeAckTs: -1,
  } as unknown as AnalyzedConnection;
}

/** Marks of a sender nothing is known of: every copy may be its. */
const UNKNOWN_SENDER: SenderMarks = { agent: null, version: null, connectionHeader: null, headWhole: false };

/** A search as a detector makes it: the signature and its hash, from the failed request's connection. */
function search(
  index: RequestIndex, s: ReturnType<typeof sig>, otherThanFlow: number, from: number, to: number, unclaimedOnly: boolean, sender: SenderMarks = UNKNOWN_SENDER,
) {
  const hash = signatureHash(conn(0, s.client, s.server), s.method, s.uri, s.bodyBytes);
  return index.firstBetween(s, hash, otherThanFlow, from, to, unclaimedOnly, sender);
}

function exchange(method: string, uri: string, ts: number, extra: Partial<HttpExchange> = {}): HttpExchange {
  return {
    flowId: 0, index: 1, method, uri, host: null, requestVersion: 'HTTP/1.1', requestConnection: null,
    requestStart: ts, requestEnd: ts, requestFrame: Math.round(ts * 10), requestBodyBytes: 0,
    status: 200, reason: 'OK', responseVersion: 'HTTP/1.1', interim: [], responseStart: ts, responseEnd: ts,
    responseFrame: null, responseEndFrame: null, responseBodyBytes: 0, responseFraming: 'length', responseClose: false,
    keepAliveTimeout: null, idleBefore: null, state: 'complete', uncertain: false, ...extra,
  };
}

const sig = (client: string, uri = '/a', method = 'GET', bodyBytes = 0) => ({ client, server: '10.0.0.1:80', method, uri, bodyBytes });

describe('RequestIndex', () => {
  test('all(): every remembered request as an object, with its request end and response start, renewed after each offer', () => {
    const index = new RequestIndex();
    index.offer(exchange('GET', '/a', 1.0, { requestEnd: 1.01, responseStart: 1.5 }), conn(1, '10.0.0.9:5000'));
    index.offer(exchange('POST', '/b', 2.0, { requestEnd: null, responseStart: null, status: null, state: 'no-response' }), conn(2, '10.0.0.8:5001'));
    const first = index.all();
    expect(first.map((r) => [r.method, r.uri, r.client, r.requestEnd, r.responseStart, r.status])).toEqual([
      ['GET', '/a', '10.0.0.9:5000', 1.01, 1.5, 200],
      ['POST', '/b', '10.0.0.8:5001', null, null, null],
    ]);
    expect(index.all()).toBe(first);
    index.offer(exchange('GET', '/c', 3.0), conn(3, '10.0.0.9:5002'));
    expect(index.all().map((r) => r.uri)).toEqual(['/a', '/b', '/c']);
  });

  test('finds the earliest request with the same signature on another connection within the window', () => {
    const index = new RequestIndex();
    index.offer(exchange('GET', '/a', 1.0), conn(1, '10.0.0.9:5000'));
    index.offer(exchange('GET', '/a', 2.0), conn(2, '10.0.0.9:5001'));
    index.offer(exchange('GET', '/a', 3.0), conn(3, '10.0.0.9:5002'));
    const found = search(index, sig('10.0.0.9:4000'), 1, 1.5, 10, false);
    expect(found).toMatchObject({ flowId: 2, ts: 2.0, client: '10.0.0.9:5001', method: 'GET', uri: '/a', status: 200 });
    // Not on the failed connection itself, not outside the window.
    expect(search(index, sig('10.0.0.9:4000'), 2, 1.5, 2.5, false)).toBeNull();
    expect(search(index, sig('10.0.0.9:4000'), 9, 3.5, 10, false)).toBeNull();
  });

  test('the client port does not count, the host, method, URI, body length and server do', () => {
    const index = new RequestIndex();
    index.offer(exchange('POST', '/a', 1.0, { requestBodyBytes: 12 }), conn(1, '10.0.0.9:5000'));
    expect(search(index, sig('10.0.0.9:1', '/a', 'POST', 12), 9, 0, 2, false)).not.toBeNull();
    expect(search(index, sig('10.0.0.8:1', '/a', 'POST', 12), 9, 0, 2, false)).toBeNull();
    expect(search(index, sig('10.0.0.9:1', '/b', 'POST', 12), 9, 0, 2, false)).toBeNull();
    expect(search(index, sig('10.0.0.9:1', '/a', 'PUT', 12), 9, 0, 2, false)).toBeNull();
    expect(search(index, sig('10.0.0.9:1', '/a', 'POST', 13), 9, 0, 2, false)).toBeNull();
    expect(search(index, { ...sig('10.0.0.9:1', '/a', 'POST', 12), server: '10.0.0.2:80' }, 9, 0, 2, false)).toBeNull();
    // IPv6 clients: the host is what is inside the brackets.
    index.offer(exchange('GET', '/v6', 1.0), conn(2, '[2001:db8::9]:5000'));
    expect(search(index, sig('[2001:db8::9]:6000', '/v6'), 9, 0, 2, false)).toMatchObject({ flowId: 2 });
    expect(search(index, sig('[2001:db8::8]:5000', '/v6'), 9, 0, 2, false)).toBeNull();
  });

  test('copies another program sent (another HTTP version or Connection header, heads read whole) are passed over', () => {
    const index = new RequestIndex();
    // Node's Agent on the host sends `Connection: keep-alive`; Python's http.client none.
    index.offer(exchange('GET', '/a', 1.0, { requestConnection: 'keep-alive' }), conn(1, '10.0.0.9:5000'));
    index.offer(exchange('GET', '/a', 2.0), conn(2, '10.0.0.9:5001'));
    const python: SenderMarks = { agent: null, version: 'HTTP/1.1', connectionHeader: null, headWhole: true };
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, false, python)?.flowId).toBe(2);
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, false, { ...python, connectionHeader: 'keep-alive' })?.flowId).toBe(1);
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, false, { ...python, version: 'HTTP/1.0' })).toBeNull();
    // A head the snaplen cut tells nothing of its sender.
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, false, { ...python, version: 'HTTP/1.0', headWhole: false })?.flowId).toBe(1);
  });

  test('sameSender: agents where both are known, then version and Connection header where both heads are whole', () => {
    const a: SenderMarks = { agent: 'Go-http-client/1.1', version: 'HTTP/1.1', connectionHeader: null, headWhole: true };
    expect(sameSender(a, { ...a })).toBe(true);
    expect(sameSender(a, { ...a, agent: 'curl/8.5.0' })).toBe(false);
    expect(sameSender(a, { ...a, agent: null })).toBe(true);
    expect(sameSender(a, { ...a, connectionHeader: 'close' })).toBe(false);
    expect(sameSender(a, { ...a, connectionHeader: 'close', headWhole: false })).toBe(true);
    expect(sameSender({ ...a, agent: null }, { ...a, agent: 'curl/8.5.0', version: 'HTTP/1.0' })).toBe(false);
  });

  test('a claimed request is skipped by searches for unclaimed ones only', () => {
    const index = new RequestIndex();
    index.offer(exchange('GET', '/a', 1.0), conn(1, '10.0.0.9:5000'));
    index.offer(exchange('GET', '/a', 2.0), conn(2, '10.0.0.9:5001'));
    const first = search(index, sig('10.0.0.9:1'), 9, 0, 5, true);
    expect(first?.flowId).toBe(1);
    index.claim(first!);
    expect(first!.claimed).toBe(true);
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, true)?.flowId).toBe(2);
    expect(search(index, sig('10.0.0.9:1'), 9, 0, 5, false)?.flowId).toBe(1);
  });

  test('an exchange offered twice (by two detectors) is remembered once; unknown or uncertain requests are not', () => {
    const index = new RequestIndex();
    const ex = exchange('GET', '/a', 1.0);
    const c = conn(1, '10.0.0.9:5000');
    expect(index.offer(ex, c)).toBe(0);
    expect(index.offer(ex, c)).toBe(0);
    expect(index.offer(exchange('GET', '/a', 1.1, { uncertain: true }), c)).toBe(-1);
    expect(index.offer(exchange('GET', '/a', 1.2, { method: null }), c)).toBe(-1);
    expect(index.offer(exchange('GET', '/a', 1.3), c)).toBe(1);
    expect(index.request(1)).toMatchObject({ entry: 1, ts: 1.3 });
  });

  test('grows past its first size keeping every chain, then forgets the oldest requests first', () => {
    const index = new RequestIndex();
    const total = 70_000; // past the initial 1 024 and the 65 536 bound
    for (let i = 0; i < total; i++) index.offer(exchange('GET', `/u${i % 500}`, i * 0.001), conn(i + 1, '10.0.0.9:5000'));
    // A recent request is found through its chain...
    const recent = search(index, sig('10.0.0.9:1', '/u7'), 0, 69.0, 70.0, false);
    expect(recent).not.toBeNull();
    expect(recent!.ts).toBeCloseTo(69.007, 6);
    // ...the first ones are gone (entry 0 was overwritten), and searches stop at forgotten entries.
    expect(index.request(0)).toBeNull();
    expect(search(index, sig('10.0.0.9:1', '/u7'), 0, 0, 1, false)).toBeNull();
    expect(index.request(total - 1)).toMatchObject({ flowId: total, uri: `/u${(total - 1) % 500}` });
  });

  test('signature hashes are small integers and tell different signatures apart', () => {
    const a = conn(1, '10.0.0.9:1');
    const h1 = signatureHash(a, 'GET', '/a', 0);
    expect(Number.isInteger(h1) && h1 >= 0 && h1 < 2 ** 30).toBe(true);
    expect(signatureHash(conn(2, '10.0.0.9:2'), 'GET', '/a', 0)).toBe(h1); // the client port does not count
    expect(signatureHash(conn(2, '10.0.0.8:1'), 'GET', '/a', 0)).not.toBe(h1);
    expect(signatureHash(conn(2, '10.0.0.9:1', '10.0.0.1:81'), 'GET', '/a', 0)).not.toBe(h1);
    expect(signatureHash(a, 'GE', 'T/a', 0)).not.toBe(h1);
    expect(signatureHash(a, 'GET', '/a', 2 ** 32)).not.toBe(h1);
  });
});

describe('RequestIndex.movedOnBetween: had a client that sends one request at a time moved on?', () => {
  const who = { client: '10.0.0.9:4000', server: '10.0.0.1:80' };
  const answered = (start: number, end: number) => exchange('GET', '/x', start, { responseEnd: end });

  test('a sequential client that sent a request between two moments moved on', () => {
    const index = new RequestIndex();
    // Each request on a connection opened for it.
    index.offer(answered(1, 1.1), conn(1, '10.0.0.9:5000', undefined, 0.99));
    index.offer(answered(2, 2.1), conn(2, '10.0.0.9:5001', undefined, 1.99));
    expect(index.movedOnBetween(who, 1.5, 3)).toBe(true);
    expect(index.movedOnBetween(who, 2.5, 3)).toBe(false); // nothing in between
    expect(index.movedOnBetween({ ...who, client: '10.0.0.8:4000' }, 1.5, 3)).toBe(false); // another host: unknown
  });

  test('two requests in flight at once on different connections: never judged', () => {
    const index = new RequestIndex();
    index.offer(answered(1, 3), conn(1, '10.0.0.9:5000'));
    index.offer(answered(2, 2.1), conn(2, '10.0.0.9:5001'));
    expect(index.movedOnBetween(who, 1.5, 3)).toBe(false);
  });

  test('pipelined requests on one connection are not concurrency between connections', () => {
    const index = new RequestIndex();
    index.offer(answered(1, 3), conn(1, '10.0.0.9:5000', undefined, 0.9));
    index.offer(answered(1.5, 3.1), conn(1, '10.0.0.9:5000', undefined, 0.9));
    index.offer(answered(4, 4.1), conn(2, '10.0.0.9:5001', undefined, 3.9));
    expect(index.movedOnBetween(who, 3.5, 5)).toBe(true);
  });

  test('threads whose requests are too quick to overlap, on connections open at once: never judged', () => {
    // keepalive-race-tornado-httpclient5-stale: 12 threads, each request 0.5 ms at the server; one
    // thread's request between another's failure and its retry is no sign that the client moved on.
    const index = new RequestIndex();
    index.offer(answered(1, 1.001), conn(1, '10.0.0.9:5000', undefined, 0.5));
    index.offer(answered(1.5, 1.501), conn(2, '10.0.0.9:5001', undefined, 0.6));
    index.offer(answered(2, 2.001), conn(1, '10.0.0.9:5000', undefined, 0.5));
    expect(index.movedOnBetween(who, 1.2, 3)).toBe(false);
  });

  test('a request whose exchange is uncertain (the capture lost its response) still shows the client moved on', () => {
    const index = new RequestIndex();
    index.offer(answered(1, 1.1), conn(1, '10.0.0.9:5000'));
    index.offer(exchange('GET', '/next', 2, { responseEnd: null, responseStart: null, status: null, state: 'response-incomplete', uncertain: true }), conn(2, '10.0.0.9:5001'));
    expect(index.movedOnBetween(who, 1.5, 3)).toBe(true);
    expect(index.movedOnBetween(who, 2.5, 3)).toBe(false);
    // Never remembered as a request of its own (no copy, no retry is taken from it).
    expect(index.all().map((r) => r.uri)).toEqual(['/x']);
  });

  test('an exchange without a response was in flight until its connection ended', () => {
    const index = new RequestIndex();
    const hung = conn(1, '10.0.0.9:5000');
    (hung as unknown as { lastTs: number }).lastTs = 1.5;
    index.offer(exchange('GET', '/x', 1, { responseEnd: null, responseStart: null, status: null, state: 'no-response' }), hung);
    index.offer(answered(1.2, 1.3), conn(2, '10.0.0.9:5001'));
    expect(index.movedOnBetween(who, 1.1, 2)).toBe(false);
  });
});

describe('RequestIndex: a client host\'s pace across connections, and the end of an unanswered request', () => {
  const get = (ts: number, lastTs: number) => {
    const c = conn(Math.round(ts * 10) + 1, `10.0.0.9:${5000 + Math.round(ts * 10)}`, '10.0.0.1:80', ts);
    (c as unknown as { lastTs: number }).lastTs = lastTs;
    return c;
  };
  const failed = (ts: number) => exchange('GET', '/slow', ts, { responseEnd: null, responseStart: null, status: null, state: 'no-response' });

  test('pauseOnHostBefore: from the end of the host\'s previous exchange with the server, on another connection, to the request', () => {
    const index = new RequestIndex();
    index.offer(failed(0), get(0, 1.9));
    const second = index.request(index.offer(failed(2.5), get(2.5, 4.4)));
    expect(second).not.toBeNull();
    if (second === null) return;
    expect(index.pauseOnHostBefore(second)).toBeCloseTo(0.6, 6);
    const first = index.request(0);
    if (first !== null) expect(index.pauseOnHostBefore(first)).toBeNull(); // nothing before it
  });

  test('pauseOnHostBefore: unknown when another request of the host was in flight at that moment (a pool, threads)', () => {
    const index = new RequestIndex();
    index.offer(failed(0), get(0, 3));
    const r = index.request(index.offer(failed(2.5), get(2.5, 4.4)));
    if (r !== null) expect(index.pauseOnHostBefore(r)).toBeNull();
  });

  test('settleEnd: an unanswered exchange decided at its request gets its connection\'s end, once', () => {
    const index = new RequestIndex();
    const entry = index.offer(failed(1), get(1, 1)); // emitted at its request: the end is not known
    expect(index.request(entry)).toMatchObject({ end: 1, endKnown: false });
    index.settleEnd(entry, 3.6);
    expect(index.request(entry)).toMatchObject({ end: 3.6, endKnown: true });
    index.settleEnd(entry, 9);
    expect(index.request(entry)?.end).toBe(3.6);
  });
});
