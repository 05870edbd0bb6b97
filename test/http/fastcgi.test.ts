import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { readParams, startsLikeFastcgi } from '../../src/http/fastcgi';
import { Capture } from '../detect/reuse-kit';
import { SAMPLES_DIR } from '../samples';
import { BEGIN_REQUEST, bytes, endRequest, join, pairs, PARAMS, record, request, STDERR, STDOUT, stdout } from '../helpers/fastcgi-records';

const GET = { REQUEST_METHOD: 'GET', REQUEST_URI: '/index.php?x=1', HTTP_HOST: 'shop.example', REMOTE_ADDR: '10.1.1.9', CONTENT_LENGTH: '' };

describe('FastCGI: recognised by its first record', () => {
  test('a BEGIN_REQUEST of version 1 for a request id other than 0, role 1-3', () => {
    const begin = record(BEGIN_REQUEST, 1, Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0));
    expect(startsLikeFastcgi(begin, 0, begin.length)).toBe(true);
    expect(startsLikeFastcgi(begin, 0, 8)).toBe(true); // the header alone
    const role0 = record(BEGIN_REQUEST, 1, Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0));
    expect(startsLikeFastcgi(role0, 0, role0.length)).toBe(false);
    const id0 = record(BEGIN_REQUEST, 0, Uint8Array.of(0, 1, 0, 0, 0, 0, 0, 0));
    expect(startsLikeFastcgi(id0, 0, id0.length)).toBe(false);
    expect(startsLikeFastcgi(bytes('GET / HTTP/1.1\r\n'), 0, 16)).toBe(false);
    expect(startsLikeFastcgi(record(PARAMS, 1, bytes('xx')), 0, 10)).toBe(false);
  });

  test('name-value pairs with one- and four-byte lengths', () => {
    const long = 'x'.repeat(300);
    const p = readParams([pairs({ SCRIPT_NAME: '/a.php', LONG: long, EMPTY: '' })]);
    expect(p.get('SCRIPT_NAME')).toBe('/a.php');
    expect(p.get('LONG')).toBe(long);
    expect(p.get('EMPTY')).toBe('');
    // Cut short: what is whole is read, the rest left.
    const cut = pairs({ A: '1', B: '22' });
    expect([...readParams([cut.subarray(0, cut.length - 1)])]).toEqual([['A', '1']]);
  });
});

describe('FastCGI legs read as HTTP exchanges', () => {
  test('a request and its CGI response: method, URI, host, status, times and frames of the records', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    c.handshake(0).send(0.01, 'c', request(GET));
    c.send(0.2, 's', join(stdout('Status: 404 Not Found\r\nContent-type: text/html\r\n\r\n<h1>no</h1>'), record(STDOUT, 1), endRequest()));
    c.close(0.3, 's');
    const r = cap.analyze([]);
    expect(r.exchanges).toHaveLength(1);
    const [ex] = r.exchanges;
    expect(ex).toMatchObject({
      protocol: 'fastcgi', method: 'GET', uri: '/index.php?x=1', host: 'shop.example', status: 404, reason: 'Not Found',
      state: 'complete', requestFrame: 4, responseFrame: 5, responseEndFrame: 5, responseBodyBytes: 11, responseClose: true, uncertain: false,
    });
    expect(r.stats.http.fastcgiConnections).toBe(1);
  });

  test('no Status header: 200, or 302 with a Location; a body longer than one record; STDERR skipped', () => {
    const cap = new Capture();
    const a = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    a.handshake(0).send(0.01, 'c', request(GET));
    a.send(0.05, 's', join(record(STDERR, 1, bytes('PHP Notice: x')), stdout('Content-type: text/plain\r\n\r\n' + 'a'.repeat(100))));
    a.send(0.06, 's', join(stdout('b'.repeat(50)), endRequest()));
    a.close(0.1, 's');
    const b = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    b.handshake(1).send(1.01, 'c', request({ ...GET, REQUEST_URI: '/login' }));
    b.send(1.05, 's', join(stdout('Location: /home\r\n\r\n'), endRequest()));
    b.close(1.1, 's');
    const [x, y] = cap.analyze([]).exchanges;
    expect(x).toMatchObject({ status: 200, responseBodyBytes: 150, state: 'complete', responseEndFrame: 6 });
    expect(y).toMatchObject({ uri: '/login', status: 302, state: 'complete' });
  });

  test('records split across segments (the flags byte in the second piece, a header cut in two) and a POST body', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    const wire = request({ ...GET, REQUEST_METHOD: 'POST', CONTENT_LENGTH: '5' }, { keepConn: true, body: 'hello' });
    // BEGIN_REQUEST's header whole in the first segment (its first bytes decide the protocol), its
    // flags (body byte 2, wire byte 10) in the second, which also cuts the PARAMS header (bytes 16-23).
    c.handshake(0).send(0.01, 'c', wire.subarray(0, 10)).send(0.011, 'c', wire.subarray(10, 20)).send(0.012, 'c', wire.subarray(20));
    const answer = join(stdout('Status: 201 Created\r\n\r\nok'), endRequest());
    c.send(0.1, 's', answer.subarray(0, 13)).send(0.101, 's', answer.subarray(13));
    // With FCGI_KEEP_CONN the web server keeps the connection: a second request on it.
    c.send(1.0, 'c', request(GET, { keepConn: true }));
    c.send(1.1, 's', join(stdout('\r\n\r\n'), endRequest()));
    const r = cap.analyze([]);
    expect(r.exchanges.map((e) => [e.index, e.method, e.status, e.requestBodyBytes, e.responseClose, e.state])).toEqual([
      [1, 'POST', 201, 5, false, 'complete'],
      [2, 'GET', 200, 0, false, 'complete'],
    ]);
    expect(r.exchanges[1].idleBefore).toBeCloseTo(0.899, 3);
  });

  test('a request the application never answers: unanswered, as an HTTP one', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    c.handshake(0).send(0.01, 'c', request(GET));
    c.close(2.01, 'c');
    const [ex] = cap.analyze([]).exchanges;
    expect(ex).toMatchObject({ protocol: 'fastcgi', state: 'no-response', uncertain: false });
  });

  test('multiplexed requests (a second id while one is open) and a capture gap stop the reading: what was pending is uncertain', () => {
    const cap = new Capture();
    const m = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    m.handshake(0).send(0.01, 'c', join(request(GET, { id: 1, keepConn: true }), request(GET, { id: 2, keepConn: true })));
    m.close(3, 'c');
    const g = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    g.handshake(5).send(5.01, 'c', request(GET));
    g.sSeq += 100; // server bytes the capture does not hold
    g.send(5.2, 's', join(stdout('Status: 200\r\n\r\nx'), endRequest()));
    g.close(5.3, 's');
    const ex = cap.analyze([]).exchanges;
    expect(ex.map((e) => [e.flowId, e.state, e.uncertain])).toEqual([
      [1, 'no-response', true],
      [2, 'no-response', true],
    ]);
  });

  test('not FastCGI after all: a first record other than BEGIN_REQUEST leaves the connection to the HTTP session', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9000 });
    c.handshake(0).send(0.01, 'c', record(PARAMS, 1, bytes('xx')));
    c.close(1, 'c');
    const r = cap.analyze([]);
    expect(r.exchanges).toEqual([]);
    expect(r.stats.http.fastcgiConnections).toBe(0);
  });
});

describe('fastcgi-php-fpm: nginx in front of PHP-FPM over TCP', () => {
  const file = path.join(SAMPLES_DIR, 'fastcgi-php-fpm.pcap');
  const run = fs.existsSync(file) ? test : test.skip;

  run("504s at fastcgi_read_timeout pair with their FastCGI legs; PHP-FPM's kills are its resets, not a proxy timer", async () => {
    const r = await analyzeFiles([file]);
    const gateway = r.diagnoses.find((d) => d.kind === 'gateway-timeout')!;
    expect(gateway.inferred.proxyReadTimeout.value).toBeCloseTo(2.0, 1);
    expect(gateway.explanation).toContain('nginx fastcgi_read_timeout');
    expect(gateway.explanation).not.toContain('proxy_read_timeout');
    // Every 504 names its FastCGI connection.
    const legs = r.anomalies.filter((a) => a.kind === 'gateway-timeout').map((a) => a.evidence.upstreamFlowId);
    expect(legs).toHaveLength(3);
    expect(legs.every((id) => typeof id === 'number')).toBe(true);
    // The FastCGI requests PHP-FPM never answered are those 504s seen on their other leg: one
    // failure each, listed in gateway-timeout's diagnosis, not diagnosed again at the backend.
    const upstream = r.anomalies.filter((a) => a.kind === 'unanswered-request');
    expect(upstream).toHaveLength(3);
    expect(upstream.every((a) => gateway.anomalyIds.includes(a.id))).toBe(true);
    expect(r.anomalies.filter((a) => a.kind === 'gateway-timeout').map((a) => a.evidence.upstreamFinding).sort()).toEqual(upstream.map((a) => a.id).sort());
    expect(r.diagnoses.filter((d) => d.kind === 'unanswered-request')).toEqual([]);
    // The 502s: PHP-FPM reset the FastCGI connections (request_terminate_timeout); no gateway-timeout on them.
    expect(r.anomalies.filter((a) => a.kind === 'gateway-timeout' && String(a.evidence.uri ?? '').startsWith('/kill/'))).toEqual([]);
    const kills = r.diagnoses.find((d) => d.kind === 'reset-before-response')!;
    expect(kills.count).toBe(2);
    expect(kills.explanation).toContain('request_terminate_timeout');
    expect(r.exchanges.filter((e) => e.protocol === 'fastcgi')).toHaveLength(14);
  });
});
