import { Alpn, TlsHello } from '../../src/http/tls-hello';
import { TlsRecords, tls13FinishedLength } from '../../src/http/tls-records';
import { clientHelloRecord, concat, records, serverHelloRecord } from '../helpers/tls-hello-builder';

/** The hello of one direction, its record pushed in pieces of `step` bytes. */
function read(recordBytes: Uint8Array, isClient: boolean, step = recordBytes.length): TlsHello {
  const tls = new TlsRecords();
  const side = isClient ? tls.client : tls.server;
  for (let at = 0; at < recordBytes.length; at += step) side.push(recordBytes, at, Math.min(step, recordBytes.length - at), 1, 1);
  return side.hello;
}

describe('TLS hello: ALPN and version, in clear', () => {
  test.each([
    [['h2', 'http/1.1'], Alpn.Present | Alpn.H2 | Alpn.Http11],
    [['http/1.1'], Alpn.Present | Alpn.Http11],
    [['h2'], Alpn.Present | Alpn.H2],
    [['http/1.0', 'spdy/3'], Alpn.Present | Alpn.Other],
    [['h3', 'h2c', 'http/1.10'], Alpn.Present | Alpn.Other], // near misses are other protocols
  ])('a ClientHello offering %j', (names, bits) => {
    const hello = read(clientHelloRecord({ alpn: names, tls13: true, serverName: 'example.com' }), true);
    expect(hello.complete).toBe(true);
    expect(hello.alpn).toBe(bits);
    expect(hello.tls13).toBe(true);
  });

  test('a ClientHello with no ALPN extension, TLS 1.2 only', () => {
    const hello = read(clientHelloRecord({}), true);
    expect(hello).toMatchObject({ complete: true, alpn: 0, tls13: false });
  });

  test.each([1, 2, 3, 7, 50])('pushed %i bytes at a time, the same', (step) => {
    const hello = read(clientHelloRecord({ alpn: ['h2', 'http/1.1'], tls13: true, serverName: 'a.example' }), true, step);
    expect(hello).toMatchObject({ complete: true, alpn: Alpn.Present | Alpn.H2 | Alpn.Http11, tls13: true });
  });

  test('a TLS 1.2 ServerHello says which protocol it chose; a TLS 1.3 one says TLS 1.3 and no protocol', () => {
    expect(read(serverHelloRecord({ alpn: 'http/1.1' }), false)).toMatchObject({ complete: true, alpn: Alpn.Present | Alpn.Http11, tls13: false });
    expect(read(serverHelloRecord({ alpn: 'h2' }), false)).toMatchObject({ alpn: Alpn.Present | Alpn.H2 });
    expect(read(serverHelloRecord({ tls13: true }), false)).toMatchObject({ complete: true, alpn: 0, tls13: true });
  });

  test('a ServerHello leading a flight in one record (Certificate and the rest after it) is read as far as it goes', () => {
    const hello = serverHelloRecord({ alpn: 'http/1.1' });
    // Append a Certificate message inside the same record: the record length grows, the hello is the first message.
    const body = hello.subarray(5);
    const cert = Uint8Array.from([11, 0, 0, 4, 0, 0, 0, 0]);
    const length = body.length + cert.length;
    const merged = concat(Uint8Array.from([22, 3, 3, length >> 8, length & 0xff]), body, cert);
    expect(read(merged, false)).toMatchObject({ complete: true, alpn: Alpn.Present | Alpn.Http11 });
  });

  test('not a hello: a record of another type, another handshake message, lengths that overrun', () => {
    expect(read(records(23, 40), true).complete).toBe(false);
    const serverHelloFromClient = serverHelloRecord({ alpn: 'h2' });
    expect(read(serverHelloFromClient, true)).toMatchObject({ complete: false, alpn: 0 });
    // An ALPN name longer than its list.
    const bad = clientHelloRecord({ alpn: ['http/1.1'] });
    const at = bad.indexOf(8); // the name's length byte
    bad[at] = 60;
    expect(read(bad, true).alpn & Alpn.Http11).toBe(0);
  });

  test('a snaplen cut or a gap in the hello stops the reading; what was read stands', () => {
    const tls = new TlsRecords();
    const hello = clientHelloRecord({ alpn: ['http/1.1'], tls13: true });
    tls.client.push(hello, 0, 40, 1, 1);
    tls.client.cut(hello.length - 40, 1, 1);
    expect(tls.client.hello).toMatchObject({ complete: false, alpn: 0 });
    expect(tls.client.hello.done).toBe(true);
  });

  test('reset for the next connection', () => {
    const tls = new TlsRecords();
    tls.client.push(clientHelloRecord({ alpn: ['h2'] }), 0, clientHelloRecord({ alpn: ['h2'] }).length, 1, 1);
    expect(tls.client.hello.alpn).not.toBe(0);
    tls.reset();
    expect(tls.client.hello).toMatchObject({ complete: false, alpn: 0, tls13: false, done: false });
    const again = clientHelloRecord({ alpn: ['http/1.1'] });
    tls.client.push(again, 0, again.length, 2, 2);
    expect(tls.client.hello.alpn).toBe(Alpn.Present | Alpn.Http11);
  });
});

describe('TLS 1.3 session tickets after the client\'s Finished', () => {
  /** A TLS 1.3 handshake: the server's encrypted flight, the client's Finished. */
  function handshake13(): TlsRecords {
    const tls = new TlsRecords();
    const ch = clientHelloRecord({ alpn: ['http/1.1'], tls13: true });
    tls.client.push(ch, 0, ch.length, 1, 1);
    const flight = concat(serverHelloRecord({ tls13: true }), records(20, 1), records(23, 30, 600, 100, 53));
    tls.server.push(flight, 0, flight.length, 1.001, 2);
    const fin = concat(records(20, 1), records(23, 53));
    tls.client.push(fin, 0, fin.length, 1.002, 3);
    return tls;
  }

  test('two records of one length in one burst are tickets; what comes later is data after them', () => {
    const tls = handshake13();
    const request = records(23, 120);
    tls.client.push(request, 0, request.length, 1.002, 4);
    const tickets = records(23, 250, 250);
    tls.server.push(tickets, 0, tickets.length, 1.003, 5);
    expect(tls.server).toMatchObject({ ticketRecords: 2, ticketLength: 250, dataAfterTickets: false });
    expect(tls.server.lastAppBeforeTickets).toBe(1.001);
    const answer = records(23, 400);
    tls.server.push(answer, 0, answer.length, 1.004, 6);
    expect(tls.server.dataAfterTickets).toBe(true);
  });

  test('a record of another length right after the tickets is data', () => {
    const tls = handshake13();
    const burst = records(23, 250, 250, 400);
    tls.server.push(burst, 0, burst.length, 1.003, 5);
    expect(tls.server).toMatchObject({ ticketRecords: 2, dataAfterTickets: true });
  });

  test('records of one length too long for tickets (an answer in full-size records) are data', () => {
    const tls = handshake13();
    const full = records(23, 16401, 16401);
    tls.server.push(full, 0, full.length, 1.003, 5);
    expect(tls.server).toMatchObject({ ticketRecords: 0, dataAfterTickets: true });
  });

  test('no tickets before the Finished; none in TLS 1.2', () => {
    const tls = new TlsRecords();
    const flight = records(23, 30, 600);
    tls.server.push(flight, 0, flight.length, 1, 1);
    expect(tls.server.ticketRecords).toBe(0);
  });
});

describe('TLS 1.3: the client\'s second flight after a CertificateRequest', () => {
  /** A server's TLS 1.3 flight under `cipherSuite` (its CertificateRequest inside, unseen), then the client's records of `flight`. */
  function flight13(cipherSuite: number | undefined, ...flight: number[]): TlsRecords {
    const tls = new TlsRecords();
    const ch = clientHelloRecord({ alpn: ['http/1.1'], tls13: true });
    tls.client.push(ch, 0, ch.length, 1, 1);
    const server = concat(serverHelloRecord({ tls13: true, cipherSuite }), records(20, 1), records(23, 27, 88, 828, 281, 69));
    tls.server.push(server, 0, server.length, 1.001, 2);
    const client = concat(records(20, 1), records(23, ...flight));
    tls.client.push(client, 0, client.length, 1.002, 3);
    return tls;
  }

  test('the suite is read from the ServerHello', () => {
    expect(flight13(0x1302).server.hello.cipherSuite).toBe(0x1302);
    expect(tls13FinishedLength(0x1301)).toBe(53);
    expect(tls13FinishedLength(0x1302)).toBe(69);
    expect(tls13FinishedLength(0x1305)).toBe(45);
    expect(tls13FinishedLength(0xc02f)).toBe(0);
  });

  test('an empty Certificate and the Finished are no data, and the tickets after them answer nothing (nginx ssl_verify_client optional, blind 14b s1)', () => {
    const tls = flight13(0x1302, 25, 69);
    expect(tls.client).toMatchObject({ sawTls13Finished: true, flightRecordsBeforeFinished: 1, appRecords: 0, turns: 0 });
    const tickets = records(23, 282, 282);
    tls.server.push(tickets, 0, tickets.length, 1.003, 4);
    expect(tls.server).toMatchObject({ ticketRecords: 2, dataAfterTickets: false });
    expect(tls.client.turns).toBe(0);
  });

  test('a Certificate, a CertificateVerify and the Finished are no data (mTLS, blind 14b s16); a request sent at once after them is', () => {
    const tls = flight13(0x1301, 715, 281, 53);
    expect(tls.client).toMatchObject({ sawTls13Finished: true, flightRecordsBeforeFinished: 2, appRecords: 0, turns: 0 });
    const request = records(23, 120);
    tls.client.push(request, 0, request.length, 1.0021, 4);
    expect(tls.client).toMatchObject({ appRecords: 1, turns: 1, turnStartFrame: 4, lastAppLength: 120 });
  });

  test('data of the Finished\'s length right after it is data (curl\'s h2 preface behind its Finished)', () => {
    const tls = flight13(0x1302, 25, 69, 69);
    expect(tls.client).toMatchObject({ flightRecordsBeforeFinished: 1, appRecords: 1, turns: 1 });
  });

  test('no CertificateRequest: the first record is the Finished, as before', () => {
    const tls = flight13(0x1301, 53, 200);
    expect(tls.client).toMatchObject({ sawTls13Finished: true, flightRecordsBeforeFinished: 0, appRecords: 1, turns: 1 });
  });

  test('a suite not known here: the first record is taken for the Finished, as before', () => {
    const tls = flight13(0x1399, 25, 69);
    expect(tls.client).toMatchObject({ sawTls13Finished: true, flightRecordsBeforeFinished: 0, appRecords: 1 });
  });

  test('a flight that does not end in a Finished of the suite\'s length: what cannot be a Certificate or CertificateVerify is data', () => {
    // After an empty Certificate only the Finished comes: a record of another length is data.
    expect(flight13(0x1301, 25, 60).client).toMatchObject({ sawTls13Finished: true, appRecords: 1, turns: 1 });
    // A third record before a Finished of that length is data.
    expect(flight13(0x1301, 700, 281, 60).client).toMatchObject({ sawTls13Finished: true, appRecords: 1, turns: 1 });
    // A padded Finished: the server's tickets end the flight, the request after them is data.
    const tls = flight13(0x1301, 60);
    expect(tls.client).toMatchObject({ sawTls13Finished: false, appRecords: 0 });
    const tickets = records(23, 250, 250);
    tls.server.push(tickets, 0, tickets.length, 1.003, 4);
    const request = records(23, 120);
    tls.client.push(request, 0, request.length, 1.5, 5);
    expect(tls.client).toMatchObject({ sawTls13Finished: true, appRecords: 1, turns: 1, turnStartFrame: 5 });
  });
});
