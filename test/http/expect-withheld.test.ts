import { bytes, makeParser, req, res, SessionDriver } from './http-test-kit';

/*
 * A request with `Expect: 100-continue` refused by a final status before any of its body (417, 401,
 * 413): its client may withhold the body and send its next request on the connection, or close
 * (RFC 9110 §10.1.1; Node's http client, curl after a 401, Python's http.server answering 417 and
 * keeping the connection). The body its head announced was read from the next request's bytes,
 * which mis-paired every later response on the connection (expect-continue-rejected).
 */
const upload = (uri: string, length: number, extra: string[] = ['Expect: 100-continue']): string =>
  req('POST', uri, [...extra, `Content-Length: ${length}`]);

describe('HttpSession: a refused Expect: 100-continue upload whose body is withheld', () => {
  test('417 on a kept connection, then the next request: the upload ends at its head, flagged, and the next request is paired with its own response', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 3000)); // frame 1
    d.server(res(417, 'no', [], 'HTTP/1.1', 'Expectation Failed')); // frame 2
    d.client(req('GET', '/after')); // frame 3
    d.server(res(200, 'ok')); // frame 4
    d.client(upload('/up2', 5, [])); // without Expect: the body follows as usual
    d.client('hello');
    d.server(res(201, 'stored'));
    d.finish();
    expect(d.summary()).toEqual(['1 POST /up -> 417 complete', '2 GET /after -> 200 complete', '3 POST /up2 -> 201 complete']);
    expect(d.exchanges[0]).toMatchObject({ requestBodyBytes: 0, requestLength: 3000, requestBodyWithheld: true, requestEnd: d.exchanges[0].requestStart });
    expect(d.exchanges[1].requestBodyWithheld).toBeUndefined();
    expect(d.exchanges[2]).toMatchObject({ requestBodyBytes: 5 });
    expect(d.exchanges[2].requestBodyWithheld).toBeUndefined();
    expect(d.exchanges[2].requestLength).toBeUndefined();
  });

  test('the body sent anyway after the refusal is the body, as before', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 10));
    d.server(res(401, 'auth', ['Connection: close'], 'HTTP/1.1', 'Unauthorized'));
    d.client('0123456789').clientEnd().serverEnd().finish();
    expect(d.summary()).toEqual(['1 POST /up -> 401 complete']);
    expect(d.exchanges[0]).toMatchObject({ requestBodyBytes: 10 });
    expect(d.exchanges[0].requestBodyWithheld).toBeUndefined();
  });

  test('the client closes instead (Connection: close): complete at its head, not an upload cut short', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 204800));
    d.server(res(413, '', ['Connection: close'], 'HTTP/1.1', 'Payload Too Large'));
    d.clientEnd().serverEnd().finish();
    expect(d.summary()).toEqual(['1 POST /up -> 413 complete']);
    expect(d.exchanges[0]).toMatchObject({ requestBodyBytes: 0, requestLength: 204800, requestBodyWithheld: true });
  });

  test('the server resets right after its 417 (an abortive close): the body was withheld up to the end, nothing of it unread', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 3000));
    d.server(res(417, 'no', ['Connection: close'], 'HTTP/1.1', 'Expectation Failed'));
    d.serverEnd().finish();
    expect(d.summary()).toEqual(['1 POST /up -> 417 complete']);
    expect(d.exchanges[0].requestBodyWithheld).toBe(true);
  });

  test('a chunked upload refused before its first chunk, then the next request', () => {
    const d = new SessionDriver();
    d.client(req('PUT', '/up', ['Expect: 100-continue', 'Transfer-Encoding: chunked']));
    d.server(res(413, 'big', [], 'HTTP/1.1', 'Payload Too Large'));
    d.client(req('GET', '/after')).server(res(200, 'ok')).finish();
    expect(d.summary()).toEqual(['1 PUT /up -> 413 complete', '2 GET /after -> 200 complete']);
    expect(d.exchanges[0].requestBodyWithheld).toBe(true);
  });

  test('the next request line cut by the segment\'s end is still taken for one', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 3000));
    d.server(res(417, 'no', [], 'HTTP/1.1', 'Expectation Failed'));
    const next = req('GET', '/after-a-long-target');
    d.client(next.slice(0, 12)).client(next.slice(12));
    d.server(res(200, 'ok')).finish();
    expect(d.summary()).toEqual(['1 POST /up -> 417 complete', '2 GET /after-a-long-target -> 200 complete']);
  });

  test.each([
    ['without Expect (an early 413 to an upload whose body is due)', upload('/up', 3000, []), ''],
    ['after a 100 Continue invited the body', upload('/up', 3000), 'HTTP/1.1 100 Continue\r\n\r\n'],
  ])('%s: what follows is the body, as before', (_name, head, interim) => {
    const d = new SessionDriver();
    d.client(head);
    d.server(interim + res(413, '', [], 'HTTP/1.1', 'Payload Too Large'));
    d.client(req('GET', '/after')).finish();
    expect(d.exchanges[0].state).toBe('request-incomplete');
    expect(d.exchanges[0].requestBodyWithheld).toBeUndefined();
    expect(d.exchanges[0].requestBodyBytes).toBe(req('GET', '/after').length);
  });

  test('body bytes already on their way when the refusal came: the body is due', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 100) + 'x'.repeat(10));
    d.server(res(417, 'no', [], 'HTTP/1.1', 'Expectation Failed'));
    d.client(req('GET', '/after')).finish();
    expect(d.exchanges[0]).toMatchObject({ state: 'request-incomplete', requestBodyBytes: 10 + req('GET', '/after').length });
  });

  test('body text that does not start with a request line stays the body', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 12));
    d.server(res(417, 'no', [], 'HTTP/1.1', 'Expectation Failed'));
    d.client('GET me a job').client(req('GET', '/after')).server(res(200, 'ok')).finish();
    expect(d.summary()).toEqual(['1 POST /up -> 417 complete', '2 GET /after -> 200 complete']);
    expect(d.exchanges[0]).toMatchObject({ requestBodyBytes: 12 });
    expect(d.exchanges[0].requestBodyWithheld).toBeUndefined();
  });

  test('bytes lost at the body\'s start: nothing to tell by, no withheld body claimed', () => {
    const d = new SessionDriver();
    d.client(upload('/up', 3000));
    d.server(res(417, 'no', [], 'HTTP/1.1', 'Expectation Failed'));
    d.session.clientGap(100);
    d.clientEnd().finish();
    expect(d.exchanges[0].requestBodyWithheld).toBeUndefined();
    expect(d.exchanges[0].state).toBe('request-incomplete');
  });
});

describe('MessageParser: the Expect field and a withheld body', () => {
  test.each([
    ['Expect: 100-continue', true],
    ['expect:100-CONTINUE ', true],
    ['EXPECT: foo, 100-continue', true],
    ['Expect: 100-continued', false],
    ['Expect: 200-continue', false],
    ['Expectation: 100-continue', false],
  ])('%j -> expectContinue %s', (field, expected) => {
    const { log, parser } = makeParser('request');
    const data = bytes(`POST / HTTP/1.1\r\nHost: h\r\n${field}\r\nContent-Length: 1\r\n\r\n`);
    parser.push(data, 0, data.length, 1, 1);
    expect(log.heads[0].expectContinue).toBe(expected);
  });

  test('armed only in the body of a request, before its first byte; the request line ends the message at its head', () => {
    const { log, parser } = makeParser('request', [], {}, true);
    const head = bytes(upload('/up', 50));
    parser.push(head, 0, head.length, 1, 1);
    parser.bodyMayBeWithheld();
    const next = bytes(req('GET', '/n'));
    parser.push(next, 0, next.length, 2, 2);
    expect(log.lines).toEqual([
      'begin POST /up HTTP/1.1 @1#1',
      'head length cl=50 host=example.test other=1',
      'end body=0 @1#1',
      'begin GET /n HTTP/1.1 @2#2',
      'head none host=example.test other=0',
      'end body=0 @2#2',
    ]);
    const { parser: resp } = makeParser('response');
    resp.bodyMayBeWithheld(); // a response parser ignores it
  });
});
