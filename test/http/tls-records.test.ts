import { CLOSING_BURST_GAP, startsLikeClientHello, TlsRecords, TlsStop } from '../../src/http/tls-records';
import { concat } from '../helpers/packet-builder';

/** One TLS record: type, version 3.minor, a body of `length` bytes. */
function record(type: number, length: number, minor = 3): Uint8Array {
  const r = new Uint8Array(5 + length).fill(0xaa);
  r.set([type, 3, minor, length >> 8, length & 0xff]);
  return r;
}


const CLIENT_HELLO = record(22, 200, 1);

describe('startsLikeClientHello', () => {
  test('a handshake record of version 3.1-3.3 with a plausible length', () => {
    expect(startsLikeClientHello(CLIENT_HELLO, 0, CLIENT_HELLO.length)).toBe(true);
    expect(startsLikeClientHello(record(22, 512, 3), 0, 517)).toBe(true);
    // Offsets inside a larger buffer.
    const inside = concat(new Uint8Array(7), CLIENT_HELLO);
    expect(startsLikeClientHello(inside, 7, CLIENT_HELLO.length)).toBe(true);
  });

  test('anything else is not', () => {
    expect(startsLikeClientHello(record(23, 100), 0, 105)).toBe(false); // application data first: mid-stream
    expect(startsLikeClientHello(record(22, 100, 0), 0, 105)).toBe(false); // SSL 3.0
    expect(startsLikeClientHello(record(22, 20000, 1), 0, 100)).toBe(false); // too long
    const get = new TextEncoder().encode('GET / HTTP/1.1\r\n\r\n');
    expect(startsLikeClientHello(get, 0, get.length)).toBe(false);
    expect(startsLikeClientHello(CLIENT_HELLO, 0, 2)).toBe(false);
  });
});

describe('TlsRecords', () => {
  test('headers split across segments at every byte give the same records', () => {
    const stream = concat(CLIENT_HELLO, record(20, 1), record(22, 40), record(23, 160), record(23, 60), record(21, 26));
    for (let cut = 1; cut < stream.length; cut++) {
      const tls = new TlsRecords();
      tls.data(true, stream, 0, cut, 1, 1);
      tls.data(true, stream, cut, stream.length - cut, 2, 2);
      const c = tls.client;
      expect(c.ok).toBe(true);
      expect(c.records).toBe(6);
      expect(c.appRecords).toBe(2);
      expect(c.bytes).toBe(stream.length);
      // The last application-data record ends in the second segment unless the cut came after it.
      const appEnd = CLIENT_HELLO.length + 6 + 45 + 165 + 65;
      expect(c.lastAppEndFrame).toBe(cut >= appEnd ? 1 : 2);
      expect(c.lastAppEndOffset).toBe(appEnd);
      const alertStart = appEnd;
      expect(c.firstAlertFrame).toBe(cut > alertStart ? 1 : 2);
      expect(c.firstAlertType).toBe(21);
    }
  });

  test('one byte per segment', () => {
    const stream = concat(CLIENT_HELLO, record(23, 30), record(23, 30));
    const tls = new TlsRecords();
    for (let i = 0; i < stream.length; i++) tls.data(true, stream, i, 1, i, i + 1);
    expect(tls.client.records).toBe(3);
    expect(tls.client.appRecords).toBe(2);
    expect(tls.client.lastAppStartFrame).toBe(CLIENT_HELLO.length + 35 + 1);
    expect(tls.client.lastAppEndFrame).toBe(stream.length);
  });

  test('many records in one segment', () => {
    const parts = [CLIENT_HELLO];
    for (let i = 0; i < 50; i++) parts.push(record(23, 100 + i));
    const stream = concat(...parts);
    const tls = new TlsRecords();
    tls.data(true, stream, 0, stream.length, 1, 1);
    expect(tls.client.records).toBe(51);
    expect(tls.client.appRecords).toBe(50);
    expect(tls.client.turns).toBe(1);
  });

  describe('after the capture lost bytes (a dropping tcpdump)', () => {
    /** A TLS 1.2 handshake read whole, then a request (frame 5) and its 300-byte answer (frame 6). */
    function served(): TlsRecords {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
      const hello = concat(record(22, 80), record(22, 900), record(22, 100), record(22, 4));
      tls.data(false, hello, 0, hello.length, 2, 2);
      const finished = concat(record(22, 37), record(20, 1), record(22, 40));
      tls.data(true, finished, 0, finished.length, 3, 3);
      const serverFinished = concat(record(20, 1), record(22, 40));
      tls.data(false, serverFinished, 0, serverFinished.length, 4, 4);
      const request = record(23, 120);
      tls.data(true, request, 0, request.length, 5, 5);
      const answer = record(23, 300);
      tls.data(false, answer, 0, answer.length, 6, 6);
      return tls;
    }

    test('a gap, then a segment that starts with a record: read again, the side counted as having unseen records', () => {
      const tls = served();
      const before = tls.server.bytes;
      // A second answer of 1400 bytes lost whole (after a request that was seen), then the server's close_notify.
      const again = record(23, 120);
      tls.data(true, again, 0, again.length, 7, 7);
      tls.gap(false, 1405, false, 6, 6);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.recordsUnseen).toBe(true);
      const close = record(21, 26);
      tls.data(false, close, 0, close.length, 9, 9);
      expect(tls.server.stop).toBe(TlsStop.None);
      expect(tls.server.resyncs).toBe(1);
      expect(tls.server.recordsUnseen).toBe(true);
      expect(tls.server.firstAlertTs).toBe(9);
      expect(tls.server.firstAlertType).toBe(21);
      // Stream offsets go on past the lost bytes (a request's end is a TCP sequence number).
      expect(tls.server.bytes).toBe(before + 1405 + close.length);
      expect(tls.ok).toBe(true);
      // The lost answer may have ended the client's turn: what it was is not known.
      expect(tls.client.turnReadWhole).toBe(false);
      expect(tls.server.lastAppSure).toBe(false);
    });

    test('a gap, then a segment that starts inside a record: not read until a segment starts with one', () => {
      const tls = served();
      // A 3000-byte answer: its first segment (header and 1443 bytes) lost, the rest seen from its middle.
      const answer = concat(record(23, 3000), record(23, 500));
      const again = record(23, 120);
      tls.data(true, again, 0, again.length, 7, 7);
      tls.gap(false, 1448, false, 6, 6);
      // Encrypted bytes that happen to start like a 10-byte record, with no header behind it: no resync.
      answer.set([23, 3, 3, 0, 10], 1448);
      tls.data(false, answer, 1448, 1448, 8, 8);
      tls.data(false, answer, 2896, answer.length - 2896, 9, 9);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.resyncs).toBe(0);
      expect(tls.server.firstAlertTs).toBe(-1);
      // Seen bytes of a lost record are activity all the same (as after a snaplen cut).
      expect(tls.server.lastAppEndFrame).toBe(9);
      const close = record(21, 26);
      tls.data(false, close, 0, close.length, 10, 10);
      expect(tls.server.stop).toBe(TlsStop.None);
      expect(tls.server.firstAlertFrame).toBe(10);
      expect(tls.server.recordsUnseen).toBe(true);
    });

    test('a gap inside one record\'s body keeps its boundaries; its bytes are unseen all the same', () => {
      const tls = served();
      const answer = concat(record(23, 3000), record(21, 26));
      tls.data(false, answer, 0, 1448, 7, 7);
      tls.gap(false, 1448, false, 7, 7);
      tls.data(false, answer, 2896, answer.length - 2896, 8, 8);
      expect(tls.server.stop).toBe(TlsStop.None);
      expect(tls.server.resyncs).toBe(0);
      expect(tls.server.appRecords).toBe(2);
      expect(tls.server.firstAlertFrame).toBe(8);
      expect(tls.server.recordsUnseen).toBe(true);
    });

    test('a TLS 1.2 client\'s lost request: its next request is data, not taken for its Finished', () => {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
      const hello = concat(record(22, 80), record(22, 900), record(22, 100), record(22, 4));
      tls.data(false, hello, 0, hello.length, 2, 2);
      // The client's flight and first request, lost; the server's Finished and answer, seen.
      tls.data(false, concat(record(20, 1), record(22, 40)), 0, 51, 4, 4);
      tls.data(false, record(23, 300), 0, 305, 6, 6);
      tls.gap(true, 50 + 6 + 45 + 125, false, 1, 1);
      const next = record(23, 120);
      tls.data(true, next, 0, next.length, 8, 8);
      expect(tls.client.stop).toBe(TlsStop.None);
      expect(tls.client.appRecords).toBe(1);
      expect(tls.client.turns).toBe(1);
      expect(tls.client.turnStartFrame).toBe(8);
      expect(tls.client.turnReadWhole).toBe(true);
      expect(tls.client.lastAppEndOffset).toBe(CLIENT_HELLO.length + 226 + next.length);
    });

    test('no reuse is measured from a server\'s last data that may lie among lost bytes', () => {
      const tls = served();
      tls.gap(false, 205, false, 6, 6); // a push of the server's after its answer, lost
      tls.data(false, record(21, 26), 0, 31, 8, 8); // (read again at its close_notify)
      const again = record(23, 120);
      tls.data(true, again, 0, again.length, 9, 9);
      expect(tls.client.turns).toBe(2);
      expect(tls.client.reuses.count).toBe(0);
      // Whole, the same connection measures it.
      const whole = served();
      whole.data(true, again, 0, again.length, 9, 9);
      expect(whole.client.reuses.count).toBe(1);
    });
  });

  test('bytes the snaplen cut off inside a record are counted as read; a record header among them stops the direction', () => {
    const tls = new TlsRecords();
    tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
    // A 1000-byte record whose segment was cut after 60 of its bytes (header included), then the next record whole.
    const long = record(23, 1000);
    tls.data(true, long, 0, 60, 2, 2);
    tls.gap(true, long.length - 60, true, 2, 2);
    expect(tls.client.stop).toBe(TlsStop.None);
    expect(tls.client.appRecords).toBe(1);
    expect(tls.client.lastEndFrame).toBe(2);
    const next = record(23, 30);
    tls.data(true, next, 0, next.length, 3, 3);
    expect(tls.client.appRecords).toBe(2);
    // Cut bytes reaching past the record's end hold the next header: boundaries are lost, the record
    // the cut ended is complete, and the bytes count.
    const two = concat(record(23, 40), record(23, 500));
    tls.data(true, two, 0, 10, 4, 4);
    tls.gap(true, two.length - 10, true, 4, 4);
    expect(tls.client.stop).toBe(TlsStop.Lost);
    expect(tls.client.appRecords).toBe(3);
    expect(tls.client.bytes).toBe(CLIENT_HELLO.length + long.length + next.length + two.length);
    expect(tls.ok).toBe(false);
  });

  describe('after the snaplen took a record header', () => {
    /** A client that sent its hello and a 1000-byte record; its server a 2000-byte flight whose second header the cut took. */
    function lostServer(): TlsRecords {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
      const flight = concat(record(22, 90), record(22, 1500), record(22, 300), record(22, 4));
      tls.data(false, flight, 0, 300, 2, 2);
      tls.gap(false, flight.length - 300, true, 2, 2);
      return tls;
    }

    test('reading resumes at a segment that starts with a record header', () => {
      const tls = lostServer();
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.records).toBe(2); // the hello, and the record the cut ended
      // The client's ChangeCipherSpec and Finished, then the server's: a segment starting with a record.
      const ccs = concat(record(20, 1), record(22, 40));
      tls.data(true, ccs, 0, ccs.length, 3, 3);
      tls.data(false, ccs, 0, ccs.length, 4, 4);
      expect(tls.server.stop).toBe(TlsStop.None);
      expect(tls.server.resyncs).toBe(1);
      expect(tls.server.sawChangeCipherSpec).toBe(true);
      expect(tls.server.bytes).toBe(90 + 1500 + 300 + 4 + 20 + ccs.length);
      // A request, and its answer: a turn each, read as records again.
      const request = record(23, 120);
      tls.data(true, request, 0, request.length, 5, 5);
      const answer = record(23, 300);
      tls.data(false, answer, 0, answer.length, 6, 6);
      expect(tls.ok).toBe(true);
      expect(tls.client.turns).toBe(1);
      expect(tls.server.turns).toBe(1);
      expect(tls.server.lastAppEndFrame).toBe(6);
    });

    test('a segment whose first bytes only look like a header does not resume it when the header behind them does not', () => {
      const tls = lostServer();
      // Encrypted bytes that happen to start like a record of 10 bytes, followed by no header.
      const fake = concat(new Uint8Array([23, 3, 3, 0, 10]), new Uint8Array(10).fill(0xaa), new Uint8Array([0x41, 0x42, 0x43, 0x44, 0x45]), new Uint8Array(50));
      tls.data(false, fake, 0, fake.length, 3, 3);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      // Nor do bytes that are not a header at all, or too few to tell.
      tls.data(false, new Uint8Array([0x99, 3, 3, 0, 10, 1, 2]), 0, 7, 4, 4);
      tls.data(false, new Uint8Array([23, 3, 3]), 0, 3, 5, 5);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.resyncs).toBe(0);
    });

    test('unseen application data moves the side\'s last data and opens its turn, as a record would', () => {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
      const hello = record(22, 90);
      tls.data(false, hello, 0, hello.length, 2, 2);
      const request = record(23, 100);
      tls.data(true, request, 0, request.length, 3, 3);
      // The answer: a long record, each segment cut at 200 bytes; the second segment's cut holds the next header.
      const answer = concat(record(23, 2000), record(23, 3000));
      tls.data(false, answer, 0, 200, 4, 4);
      tls.gap(false, 1448 - 200, true, 4, 4);
      expect(tls.server.stop).toBe(TlsStop.None);
      tls.data(false, answer, 1448, 200, 5, 5);
      tls.gap(false, 1448 - 200, true, 5, 5);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.appRecords).toBe(1);
      expect(tls.server.turns).toBe(1);
      tls.data(false, answer, 2 * 1448, 200, 6, 6); // inside the 3000-byte record: still lost
      tls.gap(false, 1448 - 200, true, 6, 6);
      expect(tls.server.stop).toBe(TlsStop.Lost);
      expect(tls.server.lastAppEndFrame).toBe(6);
      expect(tls.server.lastAppEndOffset).toBe(hello.length + 3 * 1448);
      // The client's next request: its turn, with the silence since the server's last (unseen) bytes.
      const again = record(23, 100);
      tls.data(true, again, 0, again.length, 7, 7);
      expect(tls.client.turns).toBe(2);
      expect(tls.client.reuses.count).toBe(1);
      // The answer begins a segment with its record: read again, and it opens the server's second turn.
      const second = record(23, 80);
      tls.data(false, second, 0, second.length, 8, 8);
      expect(tls.server.stop).toBe(TlsStop.None);
      expect(tls.server.turns).toBe(2);
      expect(tls.server.turnStartFrame).toBe(8);
    });

    test('unseen handshake records open no turn and move no data', () => {
      const tls = lostServer();
      const more = new Uint8Array(200).fill(0xaa);
      tls.data(false, more, 0, more.length, 3, 3);
      expect(tls.server.turns).toBe(0);
      expect(tls.server.lastAppEndTs).toBe(-1);
    });
  });

  test('bytes that are not TLS records stop the direction', () => {
    const tls = new TlsRecords();
    const http = new TextEncoder().encode('HTTP/1.1 200 OK\r\n\r\n');
    tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
    tls.data(false, http, 0, http.length, 2, 2);
    expect(tls.server.stop).toBe(TlsStop.NotTls);
    expect(tls.ok).toBe(false);
    // A later header that is not TLS (desynchronized) stops too.
    const t2 = new TlsRecords();
    const bad = concat(CLIENT_HELLO, record(23, 40), new Uint8Array([0x17, 0x03, 0x03, 0xff, 0xff]));
    t2.data(true, bad, 0, bad.length, 1, 1);
    expect(t2.client.stop).toBe(TlsStop.NotTls);
    expect(t2.client.appRecords).toBe(1);
  });

  test('reset() makes a used reader as new', () => {
    const tls = new TlsRecords();
    const s = concat(CLIENT_HELLO, record(23, 10), record(21, 2));
    tls.data(true, s, 0, s.length, 1, 1);
    tls.gap(false, 10, false, 2, 2);
    tls.reset();
    expect(tls.client.records).toBe(0);
    expect(tls.client.firstAlertTs).toBe(-1);
    expect(tls.server.stop).toBe(TlsStop.None);
    tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
    expect(tls.ok).toBe(true);
  });

  describe('TLS 1.2 and 1.3 shapes', () => {
    /** A TLS 1.2 full handshake, a request and a response, then the server's close_notify (type 21). */
    function tls12(): TlsRecords {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 0.001, 1);
      const hello = concat(record(22, 80), record(22, 900), record(22, 100), record(22, 4));
      tls.data(false, hello, 0, hello.length, 0.002, 2);
      const finished = concat(record(22, 37), record(20, 1), record(22, 40));
      tls.data(true, finished, 0, finished.length, 0.003, 3);
      const serverFinished = concat(record(20, 1), record(22, 40));
      tls.data(false, serverFinished, 0, serverFinished.length, 0.004, 4);
      return tls;
    }

    test('TLS 1.2: the alert is a type-21 record, application data are turns', () => {
      const tls = tls12();
      const req = record(23, 160);
      const resp = record(23, 240);
      tls.data(true, req, 0, req.length, 0.01, 5);
      tls.data(false, resp, 0, resp.length, 0.011, 6);
      const alert = record(21, 26);
      tls.data(false, alert, 0, alert.length, 2.011, 8);
      expect(tls.client.sawTls13Finished).toBe(false);
      expect(tls.client.turns).toBe(1);
      expect(tls.server.turns).toBe(1);
      expect(tls.server.turnAnswers).toBe(true);
      expect(tls.server.lastAppEndFrame).toBe(6);
      expect(tls.server.firstAlertFrame).toBe(8);
      expect(tls.server.lastActivityBefore(2.011)).toBe(0.011);
      expect(tls.server.activityFrame).toBe(6);
    });

    test('TLS 1.3: the client\'s Finished is no data; a 19-byte application-data record is the alert', () => {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 0.001, 1);
      const flight = concat(record(22, 90), record(20, 1), record(23, 30), record(23, 800), record(23, 280), record(23, 53));
      tls.data(false, flight, 0, flight.length, 0.002, 2);
      const finished = concat(record(20, 1), record(23, 53));
      tls.data(true, finished, 0, finished.length, 0.003, 3);
      const tickets = concat(record(23, 250), record(23, 250));
      tls.data(false, tickets, 0, tickets.length, 0.004, 4);
      expect(tls.client.sawTls13Finished).toBe(true);
      expect(tls.client.appRecords).toBe(0);
      expect(tls.client.turns).toBe(0);
      // The server's handshake and tickets: application data that answered no client turn.
      expect(tls.server.turns).toBe(1);
      expect(tls.server.turnAnswers).toBe(false);
      const req = record(23, 160);
      tls.data(true, req, 0, req.length, 0.01, 5);
      const resp = record(23, 240);
      tls.data(false, resp, 0, resp.length, 0.011, 6);
      expect(tls.client.turns).toBe(1);
      expect(tls.server.turns).toBe(2);
      expect(tls.server.turnAnswers).toBe(true);
      const alert = record(23, 19);
      tls.data(false, alert, 0, alert.length, 2.011, 8);
      expect(tls.server.firstAlertType).toBe(23);
      expect(tls.server.firstAlertFrame).toBe(8);
      expect(tls.server.appRecords).toBe(7);
      expect(tls.server.lastAppEndFrame).toBe(6);
    });

    test('TLS 1.3: an 18-byte record (a 1-byte body) is data; a 19-byte one followed by more data was data too', () => {
      const tls = new TlsRecords();
      tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 0.001, 1);
      const flight = concat(record(22, 90), record(20, 1), record(23, 30), record(23, 800), record(23, 280), record(23, 53));
      tls.data(false, flight, 0, flight.length, 0.002, 2);
      const finished = concat(record(20, 1), record(23, 53));
      tls.data(true, finished, 0, finished.length, 0.003, 3);
      const send = (fromClient: boolean, r: Uint8Array, ts: number, frame: number) => tls.data(fromClient, r, 0, r.length, ts, frame);
      // Caddy's proxied POST: its head, then its 1-byte body (blind round 13b s9).
      send(true, record(23, 261), 0.01, 5);
      send(true, record(23, 18), 0.01001, 6);
      send(false, record(23, 128), 0.05, 7);
      expect(tls.client.firstAlertTs).toBe(-1);
      expect(tls.client.lastAppEndFrame).toBe(6);
      // A 2-byte body (19 bytes) is taken for an alert until the next request shows it was not.
      send(true, record(23, 261), 2.5, 8);
      send(true, record(23, 19), 2.50001, 9);
      expect(tls.client.firstAlertFrame).toBe(9);
      send(false, record(23, 128), 2.55, 10);
      send(true, record(23, 218), 5.2, 11);
      expect(tls.client.firstAlertTs).toBe(-1);
      expect(tls.client.turns).toBe(3);
      expect(tls.client.turnStartFrame).toBe(11);
      // Its close_notify at last.
      send(true, record(23, 19), 7.2, 12);
      expect(tls.client.firstAlertFrame).toBe(12);
      expect(tls.client.firstAlertType).toBe(23);
    });

    test('data sent with the close (an HTTP/2 GOAWAY) is not the last activity', () => {
      const tls = tls12();
      const req = record(23, 160);
      const resp = record(23, 240);
      tls.data(true, req, 0, req.length, 0.01, 5);
      tls.data(false, resp, 0, resp.length, 0.011, 6);
      const goaway = record(23, 50);
      tls.data(false, goaway, 0, goaway.length, 3, 7);
      const alert = record(21, 26);
      tls.data(false, alert, 0, alert.length, 3 + CLOSING_BURST_GAP / 10, 8);
      expect(tls.server.lastAppEndFrame).toBe(7);
      expect(tls.server.lastActivityBefore(tls.server.firstAlertTs)).toBe(0.011);
      expect(tls.server.activityFrame).toBe(6);
    });
  });
});

describe('TlsRecords: what tls-handshake-failed reads', () => {
  test('a 2-byte alert in clear keeps its level and description, however the segments cut it; an encrypted one does not', () => {
    const stream = concat(CLIENT_HELLO, Uint8Array.from([21, 3, 3, 0, 2, 2, 48]));
    for (let cut = 1; cut < stream.length; cut++) {
      const tls = new TlsRecords();
      tls.data(true, stream, 0, cut, 1, 1);
      tls.data(true, stream, cut, stream.length - cut, 2, 2);
      expect([cut, tls.client.alertLevel, tls.client.alertDescription]).toEqual([cut, 2, 48]);
    }
    const tls = new TlsRecords();
    const encrypted = concat(CLIENT_HELLO, record(20, 1), record(21, 26));
    tls.data(true, encrypted, 0, encrypted.length, 1, 1);
    expect([tls.client.firstAlertTs, tls.client.alertDescription, tls.client.sawChangeCipherSpec]).toEqual([1, -1, true]);
  });

  test('a side whose first bytes are no TLS record keeps up to 4 of them (a plain HTTP port answering a ClientHello)', () => {
    const tls = new TlsRecords();
    tls.data(true, CLIENT_HELLO, 0, CLIENT_HELLO.length, 1, 1);
    const answer = new TextEncoder().encode('HTTP/1.1 400 Bad Request\r\n');
    tls.data(false, answer, 0, answer.length, 2, 2);
    expect([tls.server.stop, tls.server.lead, tls.server.leadLength]).toEqual([TlsStop.NotTls, 0x48545450, 4]);
    // Not TLS later in the stream (after a record): no lead.
    const later = new TlsRecords();
    later.data(true, concat(CLIENT_HELLO, answer), 0, CLIENT_HELLO.length + answer.length, 1, 1);
    expect([later.client.stop, later.client.leadLength]).toEqual([TlsStop.NotTls, 0]);
  });
});
