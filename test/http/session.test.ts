import { HttpCounters } from '../../src/http/http-counters';
import { MAX_PENDING_EXCHANGES } from '../../src/http/session';
import { bytes, req, res, SessionDriver } from './http-test-kit';

describe('HttpSession: keep-alive and pipelining', () => {
  test('sequential exchanges with every field filled', () => {
    const d = new SessionDriver({}, 100);
    d.client(req('GET', '/a', ['Connection: keep-alive']), 0.25); // 100.25, frame 1
    d.server('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nKeep-Alive: timeout=5, max=100\r\n\r\nhel', 0.01); // 100.26, frame 2
    expect(d.exchanges).toHaveLength(0); // response not complete yet
    d.server('lo', 0.01); // 100.27, frame 3
    expect(d.exchanges).toHaveLength(1);
    d.client(req('POST', '/b', ['Content-Length: 3'], 'xyz'), 2); // 102.27, frame 4
    d.server(res(201, '', [], 'HTTP/1.1', 'Created'), 0.5); // 102.77, frame 5
    expect(d.exchanges[0]).toEqual({
      flowId: 7,
      index: 1,
      method: 'GET',
      uri: '/a',
      host: 'example.test',
      requestVersion: 'HTTP/1.1',
      requestConnection: 'keep-alive',
      requestStart: 100.25,
      requestEnd: 100.25,
      requestFrame: 1,
      requestBodyBytes: 0,
      status: 200,
      reason: 'OK',
      responseVersion: 'HTTP/1.1',
      interim: [],
      responseStart: 100.26,
      responseEnd: 100.27,
      responseFrame: 2,
      responseEndFrame: 3,
      responseBodyBytes: 5,
      responseFraming: 'length',
      responseClose: false,
      keepAliveTimeout: 5,
      idleBefore: 0.25,
      state: 'complete',
      uncertain: false,
    });
    const second = d.exchanges[1];
    expect(second).toMatchObject({ index: 2, method: 'POST', requestBodyBytes: 3, status: 201, reason: 'Created', state: 'complete' });
    expect(second.idleBefore).toBeCloseTo(2, 9);
    expect(d.session.exchangeCount).toBe(2);
    expect(d.session.lastActivityTs).toBe(102.77);
  });

  test('three pipelined requests in one segment, responses later, paired in order', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1') + req('GET', '/2') + req('HEAD', '/3'));
    expect(d.session.outstandingRequests()).toBe(3);
    d.server(res(200, 'one') + res(404, 'two', [], 'HTTP/1.1', 'Not Found').slice(0, 30));
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete']);
    expect(d.session.outstandingRequests()).toBe(2);
    d.server(res(404, 'two', [], 'HTTP/1.1', 'Not Found').slice(30) + 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n');
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> 404 complete', '3 HEAD /3 -> 200 complete']);
    expect(d.exchanges[0].idleBefore).toBeCloseTo(0.001, 9);
    expect(d.exchanges.slice(1).map((e) => e.idleBefore)).toEqual([0, 0]);
    expect(d.exchanges[2].responseBodyBytes).toBe(0);
    expect(d.exchanges[2].responseFraming).toBe('none');
    expect(d.session.outstandingRequests()).toBe(0);
  });

  test('Idempotency-Key and X-Idempotency-Key are kept as a flag, in one segment or cut across two; absent, the field is not there', () => {
    const d = new SessionDriver();
    d.client(req('POST', '/k', ['Content-Length: 2', 'Idempotency-Key: "8e03978e"'], '{}'));
    d.server(res(200, 'a'));
    const cut = req('POST', '/x', ['Content-Length: 2', 'x-idempotency-key: 42'], '{}');
    d.client(cut.slice(0, 50));
    d.client(cut.slice(50));
    d.server(res(200, 'b'));
    d.client(req('POST', '/plain', ['Content-Length: 2', 'Idempotency-Keys: no'], '{}'));
    d.server(res(200, 'c'));
    expect(d.exchanges.map((e) => e.idempotencyKey)).toEqual([true, true, undefined]);
    expect('idempotencyKey' in d.exchanges[2] ? d.exchanges[2].idempotencyKey : undefined).toBeUndefined();
    expect(JSON.stringify(d.exchanges[2])).not.toContain('idempotencyKey');
  });

  test('the first final response with a Server field names the software; case, spacing and length handled', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/a'));
    d.server(res(100, '', [], 'HTTP/1.1', 'Continue').replace('Content-Length: 0\r\n', 'Server: interim/1\r\n'));
    expect(d.session.serverSoftware).toBeNull(); // an interim response does not count
    d.server(res(200, 'a', ['sERVER:   nginx/1.22.1  ']));
    d.client(req('GET', '/b'));
    d.server(res(200, 'b', ['Server: other/2']));
    expect(d.session.serverSoftware).toBe('nginx/1.22.1');
    // Only a field named exactly Server (not X-Server, Servers) is read.
    const e = new SessionDriver();
    e.client(req('GET', '/'));
    e.server(res(200, '', ['X-Server: no', 'Servers: no', `Server: ${'x'.repeat(200)}`]));
    expect(e.session.serverSoftware).toBe('x'.repeat(64));
    // A request's Server field (nonsense) is not the server's software; reset forgets it.
    const f = new SessionDriver();
    f.client(req('GET', '/', ['Server: client-said']));
    f.server(res(200));
    expect(f.session.serverSoftware).toBeNull();
    e.session.reset(8, 100, () => undefined);
    expect(e.session.serverSoftware).toBeNull();
    // Through proxies: the last Via entry (of the last field) is the proxy nearest the client.
    const v = new SessionDriver();
    v.client(req('GET', '/'));
    v.server(res(200, '', ['Server: nginx/1.22.1', 'Via: 1.1 edge (squid/5.7)', 'VIA: 1.1 a, 1.1 varnish (Varnish/7.1) ']));
    expect([v.session.serverSoftware, v.session.serverVia]).toEqual(['nginx/1.22.1', '1.1 varnish (Varnish/7.1)']);
    // Control bytes (a terminal escape) or bytes beyond ASCII: not kept, never printed.
    for (const value of ['evil\u001b[31m', 'caf\u00e9/1', 'a`b']) {
      const g = new SessionDriver();
      g.client(req('GET', '/'));
      g.server(res(200, '', [`Server: ${value}`]));
      expect(g.session.serverSoftware).toBeNull();
    }
  });

  test('a request line still arriving counts as outstanding', () => {
    const d = new SessionDriver();
    d.client('GET /slow HT');
    expect(d.session.outstandingRequests()).toBe(1);
    d.client('TP/1.1\r\n\r\n');
    expect(d.session.outstandingRequests()).toBe(1);
    d.server(res(200));
    expect(d.session.outstandingRequests()).toBe(0);
  });

  test('idleBefore is unknown for the first request when the handshake time is unknown', () => {
    const d = new SessionDriver({}, Number.NaN);
    d.client(req('GET', '/')).server(res(200)).client(req('GET', '/2'), 3).server(res(200));
    expect(d.exchanges[0].idleBefore).toBeNull();
    expect(d.exchanges[1].idleBefore).toBeCloseTo(3, 9);
  });
});

describe('HttpSession: connection reuse signals', () => {
  function closeOf(request: string, response: string): boolean {
    const d = new SessionDriver();
    d.client(request).server(response).serverEnd().finish();
    return d.exchanges[0].responseClose;
  }

  test.each([
    ['1.1 with Connection: close', true, req('GET', '/'), res(200, 'x', ['Connection: close'])],
    ['1.1 keep-alive by default', false, req('GET', '/'), res(200, 'x')],
    ['1.0 response without keep-alive', true, req('GET', '/'), res(200, 'x', [], 'HTTP/1.0')],
    ['1.0 response with Connection: keep-alive', false, req('GET', '/'), res(200, 'x', ['Connection: Keep-Alive'], 'HTTP/1.0')],
    ['1.0 request without keep-alive, 1.1 response', true, req('GET', '/', [], '', 'HTTP/1.0'), res(200, 'x')],
    ['1.0 request with keep-alive, keep-alive response', false, req('GET', '/', ['Connection: keep-alive'], '', 'HTTP/1.0'), res(200, 'x', ['Connection: keep-alive'], 'HTTP/1.0')],
    ['request Connection: close', true, req('GET', '/', ['Connection: close']), res(200, 'x')],
    ['close-delimited body', true, req('GET', '/'), 'HTTP/1.1 200 OK\r\n\r\nbody'],
    ['close among several tokens', true, req('GET', '/'), res(200, 'x', ['Connection: TE, close'])],
  ])('%s → responseClose %p', (_name, expected, request, response) => {
    expect(closeOf(request, response)).toBe(expected);
  });

  test('HTTP/1.0 close-delimited response completes at the server FIN', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/', [], '', 'HTTP/1.0')).server('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc').server('def');
    expect(d.exchanges).toHaveLength(0);
    d.serverEnd();
    expect(d.exchanges).toHaveLength(1);
    expect(d.exchanges[0]).toMatchObject({ state: 'complete', responseFraming: 'close', responseBodyBytes: 6, responseClose: true, responseEndFrame: 4 });
  });

  test('close-delimited response cut by the end of the capture is incomplete', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/')).server('HTTP/1.0 200 OK\r\n\r\nabc').finish();
    expect(d.summary()).toEqual(['1 GET / -> 200 response-incomplete']);
  });
});

describe('HttpSession: interim, HEAD, tunnels', () => {
  test('100-continue: interim status recorded, the response is the final one (its start and frame, not the 100\'s)', () => {
    const d = new SessionDriver();
    d.client(req('POST', '/upload', ['Expect: 100-continue', 'Content-Length: 4'])); // frame 1
    d.server('HTTP/1.1 100 Continue\r\n\r\n'); // frame 2
    expect(d.exchanges).toHaveLength(0);
    d.client('data'); // frame 3
    d.server(res(200, 'stored')); // frame 4
    expect(d.summary()).toEqual(['1 POST /upload -> 200 complete interim=100']);
    // The 100's frame labelled with the final status (explain) and the upload timed against the
    // 100 rather than the refusal (rst-on-close) came from taking the 100 for the response
    // (uploads-expect-continue-nginx).
    expect(d.exchanges[0]).toMatchObject({ responseFrame: 4, responseEndFrame: 4, requestBodyBytes: 4 });
  });

  test('HEAD response carries no body; the next response is framed correctly', () => {
    const d = new SessionDriver();
    d.client(req('HEAD', '/big') + req('GET', '/small'));
    d.server('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + res(200, 'ok'));
    expect(d.summary()).toEqual(['1 HEAD /big -> 200 complete', '2 GET /small -> 200 complete']);
  });

  test('CONNECT 200 turns the connection into a tunnel', () => {
    const d = new SessionDriver();
    d.client('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
    d.server('HTTP/1.1 200 Connection established\r\n\r\n');
    d.client(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    d.server('HTTP/1.1 200 OK\r\n\r\n'); // inside the tunnel: not parsed
    d.finish();
    expect(d.summary()).toEqual(['1 CONNECT example.test:443 -> 200 complete']);
    expect(d.exchanges[0].responseFraming).toBe('none');
    expect(d.exchanges[0].responseClose).toBe(false);
    expect(d.session.isTunnel).toBe(true);
  });

  test('a refused CONNECT lets the client retry on the same connection', () => {
    const d = new SessionDriver();
    d.client('CONNECT h:443 HTTP/1.1\r\n\r\n').server(res(407, 'auth', [], 'HTTP/1.1', 'Proxy Authentication Required'));
    d.client('CONNECT h:443 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n').server('HTTP/1.1 200 OK\r\n\r\n').finish();
    expect(d.summary()).toEqual(['1 CONNECT h:443 -> 407 complete', '2 CONNECT h:443 -> 200 complete']);
  });

  test('101 Switching Protocols ends HTTP on both sides', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/ws', ['Upgrade: websocket', 'Connection: Upgrade']));
    d.server('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi');
    d.client('\x81\x82abcdGET / HTTP/1.1\r\n\r\n').finish();
    expect(d.summary()).toEqual(['1 GET /ws -> 101 complete']);
    expect(d.session.isTunnel).toBe(true);
  });
});

describe('HttpSession: unpaired and unfinished', () => {
  test('response without request (capture started mid-connection, or a 408 on an idle connection)', () => {
    const d = new SessionDriver();
    d.server(res(408, '', ['Connection: close'], 'HTTP/1.1', 'Request Timeout'));
    expect(d.summary()).toEqual(['1 - - -> 408 no-request']);
    expect(d.exchanges[0]).toMatchObject({ requestStart: null, requestFrame: null, idleBefore: null, responseClose: true });
  });

  test('keep-alive race: request then server RST, emitted at the RST', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'a'));
    d.client(req('GET', '/2'), 4.999);
    expect(d.exchanges).toHaveLength(1);
    d.serverEnd(0.0002);
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> - no-response']);
    expect(d.exchanges[1]).toMatchObject({ responseStart: null, responseFrame: null, status: null, responseFraming: null, uncertain: false });
    expect(d.exchanges[1].idleBefore).toBeCloseTo(4.999, 9);
  });

  test('request after the server FIN gets no-response as soon as it is complete', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'a')).serverEnd(5);
    d.client(req('POST', '/2', ['Content-Length: 2'], 'a'));
    expect(d.exchanges).toHaveLength(1);
    d.client('b');
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 POST /2 -> - no-response']);
  });

  test('request without response until the capture ends', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/hang'));
    expect(d.exchanges).toHaveLength(0);
    d.finish();
    expect(d.summary()).toEqual(['1 GET /hang -> - no-response']);
  });

  test('request body cut by a client reset is request-incomplete', () => {
    const d = new SessionDriver();
    d.client(req('PUT', '/f', ['Content-Length: 100'], 'only ten..')).clientEnd().finish();
    expect(d.summary()).toEqual(['1 PUT /f -> - request-incomplete']);
    expect(d.exchanges[0].requestEnd).toBeNull();
  });

  test('early response (413) before the request body ended', () => {
    const d = new SessionDriver();
    d.client(req('POST', '/big', ['Content-Length: 100000'], 'x'.repeat(1000)));
    d.server(res(413, '', ['Connection: close'], 'HTTP/1.1', 'Payload Too Large'));
    expect(d.exchanges).toHaveLength(0); // the request may still finish
    d.serverEnd().clientEnd();
    expect(d.summary()).toEqual(['1 POST /big -> 413 request-incomplete']);
  });

  test('response shorter than its Content-Length, then the server closes', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/')).server('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort').serverEnd();
    expect(d.summary()).toEqual(['1 GET / -> 200 response-incomplete']);
    expect(d.exchanges[0].responseBodyBytes).toBe(5);
    expect(d.exchanges[0].responseEnd).toBeNull();
  });

  test('response longer than its Content-Length: the excess is skipped, pairing continues', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(req('GET', '/1') + req('GET', '/2'));
    d.server('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokAND MORE THAN ANNOUNCED\r\n' + res(200, 'two')).finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> 200 complete']);
    expect(counters.badStartLines).toBe(1);
    expect(counters.resyncs).toBe(1);
  });

  test('finish emits everything pending, once; later input is ignored', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1') + req('GET', '/2')).server('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345').finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 response-incomplete', '2 GET /2 -> - no-response']);
    d.server('67890').finish();
    expect(d.exchanges).toHaveLength(2);
  });
});

describe('HttpSession: responses that end after the client closed', () => {
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n';

  test('the rest came after the client closed, which refused it: response-incomplete with the body bytes before the close, held till the end', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/drip')).server(head + 'abcd').clientEnd(1.3).server('efghij', 2);
    expect(d.exchanges).toHaveLength(0); // whether the client took the rest is known at the end
    d.clientRefused = true;
    d.finish();
    expect(d.summary()).toEqual(['1 GET /drip -> 200 response-incomplete']);
    expect(d.exchanges[0]).toMatchObject({ responseBodyBytes: 4, responseLength: 10, responseAfterClientClose: true });
    expect(d.exchanges[0].responseEnd).toBeCloseTo(103.302, 6);
  });

  test('a response whose head came after the client had closed and refused it: none of it received', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/slow')).clientEnd(1.5).server(res(200, 'late'), 1);
    d.clientRefused = true;
    d.finish();
    expect(d.summary()).toEqual(['1 GET /slow -> 200 response-incomplete']);
    expect(d.exchanges[0]).toMatchObject({ responseBodyBytes: 0, responseLength: 4, responseAfterClientClose: true });
  });

  test('a client that half-closed and took the rest (acknowledged it): complete', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/drip')).clientEnd().server(head + 'abcd').server('efghij', 2).finish();
    expect(d.summary()).toEqual(['1 GET /drip -> 200 complete']);
    expect(d.exchanges[0]).toMatchObject({ responseBodyBytes: 10 });
    expect(d.exchanges[0].responseAfterClientClose).toBeUndefined();
  });

  test('a response whose head the snaplen cut, its last bytes long before the client reset: complete (ended at its last segment, not at the close that ended it)', () => {
    // ab's RST at the end of its run, 28 ms after nginx's last response, cut at -s 200 inside its
    // 240-byte head: the cut message ends only when the connection does, yet it had all come.
    const nginxHead = 'HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 25 Nov 2026 02:09:02 GMT\r\nContent-Type: text/html\r\nContent-Length: 6\r\nLast-Modi';
    const d = new SessionDriver();
    d.clientRefused = true;
    d.client(req('GET', '/index.html')).server(res(200, 'first')).client(req('GET', '/index.html'));
    d.server(nginxHead);
    d.session.serverGap(100, true);
    d.clientEnd(0.028).finish();
    expect(d.summary()).toEqual(['1 GET /index.html -> 200 complete', '2 GET /index.html -> 200 complete']);
    expect(d.exchanges[1]).toMatchObject({ responseFraming: 'cut', responseCloseUnknown: true });
    expect(d.exchanges[1].responseAfterClientClose).toBeUndefined();
    expect(d.exchanges[1].responseEnd).toBeLessThan(d.ts - 0.02);
    // A cut response whose bytes went on after the client's close (a client that gave up mid-way) stays one it did not take.
    const late = new SessionDriver();
    late.clientRefused = true;
    late.client(req('GET', '/big')).server(nginxHead);
    late.session.serverGap(1000, true);
    late.clientEnd(0.5).server('x'.repeat(50), 0.001);
    late.session.serverGap(1400, true);
    late.finish();
    expect(late.summary()).toEqual(['1 GET /big -> 200 response-incomplete']);
    expect(late.exchanges[0].responseAfterClientClose).toBe(true);
  });

  test('a client that closes after the whole response (Connection: close): complete, emitted at once', () => {
    const d = new SessionDriver();
    d.clientRefused = true;
    d.client(req('GET', '/', ['Connection: close'])).server(res(200, 'all', ['Connection: close']));
    expect(d.summary()).toEqual(['1 GET / -> 200 complete']);
    d.clientEnd().finish();
    expect(d.exchanges).toHaveLength(1);
  });
});

describe('HttpSession: request lines that never complete (slow clients)', () => {
  const TIMEOUT_408 = res(408, '', ['Connection: close'], 'HTTP/1.1', 'Request Timeout');

  test('a 408 while the request line trickles in answers that request: its line unfinished, its version unknown', () => {
    const d = new SessionDriver();
    d.client('GET /slo', 0.01).client('w-he', 0.3).client('ad/n', 0.3);
    expect(d.exchanges).toHaveLength(0);
    d.server(TIMEOUT_408, 1.4).serverEnd();
    d.finish();
    expect(d.summary()).toEqual(['1 GET /slow-head/n -> 408 request-incomplete']);
    expect(d.exchanges[0]).toMatchObject({ requestVersion: null, requestHeadUnfinished: true, requestLineUnfinished: true, requestFrame: 1 });
    expect(d.exchanges[0].requestStart).toBeCloseTo(100.01, 6);
  });

  test('a line left unfinished when the server closes without a byte is reported at the end, request-incomplete', () => {
    const d = new SessionDriver();
    d.client('POST /upload/a HTT', 0.01).serverEnd(2).finish();
    expect(d.summary()).toEqual(['1 POST /upload/a -> - request-incomplete']);
    expect(d.exchanges[0].requestLineUnfinished).toBe(true);
  });

  test('the client closing on its unfinished line reports it too', () => {
    const d = new SessionDriver();
    d.client('PUT /x', 0.01).clientEnd(1).serverEnd().finish();
    expect(d.summary()).toEqual(['1 PUT /x -> - request-incomplete']);
  });

  test('headers that never complete: the head is unfinished, the line is not', () => {
    const d = new SessionDriver();
    d.client('GET /slow-headers HTTP/1.1\r\nHost: example.test\r\nX-Slow: aaa', 0.01).client('aaaa', 0.3).serverEnd(1.7).finish();
    expect(d.summary()).toEqual(['1 GET /slow-headers -> - request-incomplete']);
    expect(d.exchanges[0]).toMatchObject({ requestVersion: 'HTTP/1.1', requestHeadUnfinished: true, host: 'example.test' });
    expect(d.exchanges[0].requestLineUnfinished).toBeUndefined();
  });

  test('complete exchanges carry neither flag', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/a')).server(res(200, 'ok')).finish();
    expect(d.exchanges[0].requestHeadUnfinished).toBeUndefined();
    expect(d.exchanges[0].requestLineUnfinished).toBeUndefined();
  });

  test.each([
    ['a method cut short', 'GE'],
    ['a method and no target', 'GET '],
    ['an unregistered method', 'FETCH /x'],
    ['a target that is no URI', 'GET key'],
    ['lower case (a cache protocol)', 'get /x'],
  ])('not taken for a request on a direction not proven HTTP: %s', (_name, text) => {
    const d = new SessionDriver();
    d.client(text, 0.01).serverEnd(2).finish();
    expect(d.exchanges).toEqual([]);
    expect(d.session.isHttp).toBe(false);
  });

  test('on a direction proven HTTP, any method and target are taken', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'a'));
    d.client('FETCH key', 1).serverEnd(2).finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 FETCH key -> - request-incomplete']);
  });

  test('a response to an earlier request goes to it, not to a line still arriving behind it', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1') + 'GET /2 HT').server(res(200, 'a'));
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete']);
    d.client('TP/1.1\r\nHost: h\r\n\r\n').server(res(200, 'b')).finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> 200 complete']);
    expect(d.exchanges[1].requestLineUnfinished).toBeUndefined();
  });
});

describe('HttpSession: start lines the snaplen cut (tcpdump -s 96 over IPv6 keeps 10 bytes)', () => {
  test('a cut request line showing a registered method proves HTTP; a cut status line keeps its class', () => {
    const d = new SessionDriver();
    d.client('POST /race');
    d.session.clientGap(584, true);
    d.server('HTTP/1.1 2');
    d.session.serverGap(184, true);
    d.client('GET /race/');
    d.session.clientGap(61, true);
    d.server('HTTP/1.1 4');
    d.session.serverGap(120, true);
    d.clientEnd().serverEnd().finish();
    expect(d.session.isHttp).toBe(true);
    expect(d.summary()).toEqual(['1 POST /race -> 200 complete', '2 GET /race/ -> 400 complete']);
    expect(d.exchanges[0].requestTargetCut).toBe(true);
  });

  test('a method cut before its space is named whole', () => {
    const d = new SessionDriver();
    d.client('POS');
    d.session.clientGap(600, true);
    d.clientEnd().serverEnd().finish();
    expect(d.session.isHttp).toBe(true);
    expect(d.exchanges.map((e) => e.method)).toEqual(['POST']);
  });

  test.each([['HELLO /wor'], ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03'], ['PU']])('a cut %j proves nothing', (text) => {
    const d = new SessionDriver();
    d.client(text);
    d.session.clientGap(600, true);
    d.clientEnd().serverEnd().finish();
    expect(d.session.isHttp).toBe(false);
    expect(d.exchanges).toHaveLength(0);
  });
});

describe('HttpSession: capture gaps', () => {
  test('a gap inside a body: complete but uncertain', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/f')).server('HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n' + 'a'.repeat(1000));
    d.session.serverGap(1400);
    d.server('b'.repeat(600));
    expect(d.summary()).toEqual(['1 GET /f -> 200 complete uncertain']);
    expect(d.exchanges[0].responseBodyBytes).toBe(3000);
  });

  test('the last response lost just before the server closes: the request is not called unanswered', () => {
    // The capture dropped the segment carrying the response; the server's FIN after it shows the
    // bytes were sent. The exchange goes out at that close, before finish(): uncertain already.
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.client(req('GET', '/2'));
    d.session.serverGap(148);
    d.serverEnd();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> - no-response uncertain']);
    d.clientEnd().finish();
    expect(d.summary()).toHaveLength(2);
  });

  test('a whole response lost (zeek 1000-requests-one-dropped-response): pairing re-synchronises', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/')); // R1
    d.session.serverGap(238); // R1's response head is missing...
    d.server('<html>body of the lost response</html>'); // ...its body arrives
    d.client(req('GET', '/'), 0.001); // R2 sent after R1's (lost) response
    d.server(res(200, 'two')); // R2's response
    d.client(req('GET', '/')).server(res(200, 'three')).finish();
    expect(d.summary()).toEqual(['1 GET / -> - response-incomplete uncertain', '2 GET / -> 200 complete', '3 GET / -> 200 complete']);
    expect(d.exchanges[1].idleBefore).toBeNull(); // R1 looked unanswered but may not have been
  });

  test('non-pipelining client, two responses lost: the resynchronised response answers the latest request before it', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.client(req('GET', '/2'));
    d.client(req('GET', '/3'), 0.5);
    d.client(req('GET', '/4'), 0.5);
    d.session.serverGap(200); // the responses to /2 and /3
    d.server(res(200, 'four')).finish();
    expect(d.summary()).toEqual([
      '1 GET /1 -> 200 complete',
      '2 GET /2 -> - response-incomplete uncertain',
      '3 GET /3 -> - response-incomplete uncertain',
      '4 GET /4 -> 200 complete',
    ]);
    expect(counters.lostResponses).toBe(2);
  });

  test('a response and the next request both lost: the server acknowledgement pairs the response after them with the unseen request', () => {
    // ab's case under 2 % loss: the capture dropped /2's response and then /3, and /3's response
    // arrived before /4 showed the client-side gap. The server's ACK covers /3's bytes.
    const lost = req('GET', '/3').length;
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.client(req('GET', '/2'));
    d.session.serverGap(150); // /2's response
    d.unseenClientBytes = lost; // the server's ACK on its next response
    d.server(res(200, 'three'));
    d.session.clientGap(lost); // noticed when /4 comes
    d.unseenClientBytes = 0;
    d.client(req('GET', '/4')).server(res(200, 'four')).finish();
    expect(d.summary()).toEqual([
      '1 GET /1 -> 200 complete',
      '2 GET /2 -> - response-incomplete uncertain',
      '3 - - -> 200 no-request uncertain',
      '4 GET /4 -> 200 complete',
    ]);
    expect(counters.lostResponses).toBe(1);
    expect(counters.lostRequests).toBe(1);
  });

  test('a connection whose server side the capture does not hold at all: its requests are uncertain, not unanswered', () => {
    // A capture of one direction (dst port 8080): the client acknowledged the server, whose packets are not there.
    const d = new SessionDriver();
    d.client(req('GET', '/1')).client(req('GET', '/2'), 0.5).clientEnd();
    d.serverUnseen = true;
    d.finish();
    expect(d.summary()).toEqual(['1 GET /1 -> - no-response uncertain', '2 GET /2 -> - no-response uncertain']);
  });

  test('the same with the server side in the capture and silent: the requests are unanswered', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).client(req('GET', '/2'), 0.5).clientEnd().finish();
    expect(d.summary()).toEqual(['1 GET /1 -> - no-response', '2 GET /2 -> - no-response']);
  });

  test('the same without the acknowledgement: timing pairs the response with the request seen (what the ACK corrects)', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.client(req('GET', '/2'));
    d.session.serverGap(150);
    d.server(res(200, 'three'));
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 GET /2 -> 200 complete']);
  });

  test('unseen client bytes while a request is still being read (its body): the response answers it', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.client('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n' + 'a'.repeat(400));
    d.session.serverGap(100); // an interim or earlier bytes lost
    d.unseenClientBytes = 600; // the body's tail the capture has not shown
    d.server(res(413, 'too large'));
    d.session.clientGap(600);
    d.finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 POST /upload -> 413 complete uncertain']);
  });

  test('pipelining client: exactly one lost response is assumed', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1') + req('GET', '/2'));
    d.server(res(200, 'one') + res(200, 'two')); // pipelining seen: /2 was sent before /1's response
    d.client(req('GET', '/3') + req('GET', '/4') + req('GET', '/5'));
    d.session.serverGap(40); // /3's response
    d.server(res(200, 'four') + res(200, 'five')).finish();
    expect(d.summary()).toEqual([
      '1 GET /1 -> 200 complete',
      '2 GET /2 -> 200 complete',
      '3 GET /3 -> - response-incomplete uncertain',
      '4 GET /4 -> 200 complete',
      '5 GET /5 -> 200 complete',
    ]);
  });

  test('a request lost in a client gap: its response is no-request, the next pairs right', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.session.clientGap(120); // GET /2 lost
    d.server(res(200, 'two'));
    d.client(req('GET', '/3')).server(res(200, 'three')).finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 - - -> 200 no-request uncertain', '3 GET /3 -> 200 complete']);
    expect(counters.lostRequests).toBe(1);
  });

  test('a lost request whose response came before the gap was noticed (zeek zero-length-bodies-with-drops)', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.server(res(200, 'answer to a request not captured'));
    d.session.clientGap(300);
    d.client(req('GET', '/3')).server(res(200, 'three')).finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete', '2 - - -> 200 no-request', '3 GET /3 -> 200 complete']);
  });

  test('a placeholder nobody answered is dropped', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/1')).server(res(200, 'one'));
    d.session.clientGap(50);
    d.clientEnd().serverEnd().finish();
    expect(d.summary()).toEqual(['1 GET /1 -> 200 complete']);
  });

  test('a request line cut by the snaplen (zeek communityid/tcp.pcap) still pairs with its response', () => {
    const d = new SessionDriver();
    d.client('GET /images/sf.net_box.gif HTT');
    d.session.clientGap(400);
    d.server('HTTP/1.1 200 OK\r\nDate: Tue, 16');
    d.session.serverGap(300);
    d.finish();
    expect(d.summary()).toEqual(['1 GET /images/sf.net_box.gif -> 200 response-incomplete uncertain']);
  });
});

describe('HttpSession: what is not HTTP', () => {
  test('TLS on both sides: nothing emitted, both directions counted not-http', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(new Uint8Array([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]));
    d.server(new Uint8Array([0x16, 0x03, 0x03, 0x00, 0x4a, 0x02, 0x00, 0x00, 0x46, 0x03, 0x03]));
    d.finish();
    expect(d.exchanges).toEqual([]);
    expect(d.session.isHttp).toBe(false);
    expect(counters.notHttpDirections).toBe(2);
    expect(counters.giveUps['not-http']).toBe(2);
  });

  test('SMTP-like line protocol: lenient "requests" are never reported', () => {
    const d = new SessionDriver();
    d.server('220 mail.example.test ESMTP ready\r\n');
    d.client('EHLO client.example.test\r\n').server('250 hello\r\n');
    d.client('MAIL FROM:<a@example.test>\r\n').finish();
    expect(d.exchanges).toEqual([]);
    expect(d.session.isHttp).toBe(false);
  });

  test('client speaks first with an inline command, server is not HTTP', () => {
    const d = new SessionDriver();
    d.client('PING\r\n').server('+PONG\r\n').client('PING\r\n').finish();
    expect(d.exchanges).toEqual([]);
  });

  test('a lenient request line is kept once the server answers in HTTP', () => {
    const d = new SessionDriver();
    d.client('GET /nover\r\nHost: h\r\n\r\n');
    expect(d.exchanges).toHaveLength(0);
    d.server(res(400, 'bad', ['Connection: close'], 'HTTP/1.0', 'Bad Request')).serverEnd().finish();
    expect(d.summary()).toEqual(['1 GET /nover -> 400 complete']);
    expect(d.exchanges[0].requestVersion).toBeNull();
  });

  test('an HTTP request answered with something else: the response started, uncertain', () => {
    const d = new SessionDriver();
    d.client(req('GET', '/')).server('SSH-2.0-OpenSSH_9.6\r\n').client(req('GET', '/again')).finish();
    expect(d.summary()).toEqual(['1 GET / -> - response-incomplete uncertain', '2 GET /again -> - no-response uncertain']);
    expect(d.exchanges[0].responseFrame).toBe(2);
  });

  test('oversized request head: given up and counted; the 431 pairs with the cut request', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(`GET / HTTP/1.1\r\n${`X-Big: ${'b'.repeat(1000)}\r\n`.repeat(80)}\r\n`);
    d.server(res(431, '', ['Connection: close'], 'HTTP/1.1', 'Request Header Fields Too Large')).serverEnd().finish();
    expect(d.summary()).toEqual(['1 GET / -> 431 request-incomplete uncertain']);
    expect(counters.giveUps['header-too-large']).toBe(1);
    expect(d.session.clientGiveUp).toBe('header-too-large');
  });
});

describe('HttpSession: memory bound', () => {
  test('a client pipelining into silence stops being parsed past the bound', () => {
    const counters = new HttpCounters();
    const d = new SessionDriver({ counters });
    d.client(req('GET', '/x').repeat(MAX_PENDING_EXCHANGES + 10));
    expect(d.session.outstandingRequests()).toBe(MAX_PENDING_EXCHANGES);
    expect(d.session.clientGiveUp).toBe('too-many-pending');
    d.finish();
    expect(d.exchanges).toHaveLength(MAX_PENDING_EXCHANGES);
    expect(d.exchanges.every((e) => e.state === 'no-response')).toBe(true);
    expect(counters.giveUps['too-many-pending']).toBe(1);
  });
});

describe('HttpSession: direction oddities', () => {
  test('looksReversed when the "server" sends a request line and the "client" a status line', () => {
    const d = new SessionDriver();
    d.server(req('GET', '/')).client(res(200, 'x'));
    expect(d.session.looksReversed()).toBe(true);
    d.finish();
    expect(d.exchanges).toEqual([]);
  });

  test('looksReversed is false on a normal connection and on non-HTTP', () => {
    const normal = new SessionDriver();
    normal.client(req('GET', '/')).server(res(200, 'x'));
    expect(normal.session.looksReversed()).toBe(false);
    const tls = new SessionDriver();
    tls.client(bytes('\x16\x03\x01')).server(bytes('\x16\x03\x03'));
    expect(tls.session.looksReversed()).toBe(false);
  });

  test('mid-stream option: both sides hunt for their first start line', () => {
    const d = new SessionDriver({ midstream: true });
    d.server('tail of a response body\n');
    d.client('dy of a POST\r\n' + req('GET', '/next'));
    d.server(res(200, 'ok')).finish();
    expect(d.summary()).toEqual(['1 GET /next -> 200 complete']);
  });
});
