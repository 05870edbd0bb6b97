import { F, Seg, handshake, track } from './segments';

/**
 * Which side of a connection the capture never holds though the other acknowledged it
 * (Connection.unseenSide), over synthetic segments through the tracker: the segments one
 * direction of a capture filter leaves, and the shapes that are not one-way and must not be
 * counted so (a SYN nobody answered, a client's reset of its own SYN, both sides seen).
 */

const GET = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n';
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

const [syn, synAck, ack] = handshake();

const cases: Array<[string, Seg[], 'client' | 'server' | null]> = [
  ['the client side of a whole exchange (dst port filter)', [syn, ack, { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.01 }], 'server'],
  ['the client side, handshake only', [syn, ack], 'server'],
  ['the server side of a whole exchange (src port filter)', [synAck, { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1001 + GET.length, text: OK, ts: 0.02 }], 'client'],
  ['the server side: a SYN-ACK alone', [synAck], 'client'],
  ['the server side of a refusal: its RST with ACK acknowledged a SYN', [{ from: 's', flags: F.RST | F.ACK, seq: 0, ack: 1001, ts: 0.001 }], 'client'],
  ['a SYN nobody answered, sent again', [syn, { ...syn, ts: 1 }], null],
  ['a SYN, then the client reset it without ACK', [syn, { from: 'c', flags: F.RST, seq: 1001, ts: 0.5 }], null],
  ['a RST without ACK alone (no acknowledgement of the peer)', [{ from: 's', flags: F.RST, seq: 9000, ts: 0.5 }], null],
  // A lone RST with ACK of a connection that began before the capture (HAProxy closing an idle pooled
  // connection with RST, a socket closed with unread data): its sequence number is where the sender
  // stood, not 0, and its acknowledgement dates from before the capture (blind round 15, s13b/s13d).
  ['a RST with ACK alone, mid-stream (the last packet of an older connection): acknowledged nothing during the capture', [
    { from: 'c', flags: F.RST | F.ACK, seq: 4272124974, ack: 2454882493, ts: 0.5 },
  ], null],
  ['the same from the server', [{ from: 's', flags: F.RST | F.ACK, seq: 5001, ack: 1001, ts: 0.5 }], null],
  ['a FIN with ACK, then a RST with ACK, the acknowledgement unchanged (a tail whose peer had nothing to send)', [
    { from: 'c', flags: F.FIN | F.ACK, seq: 1001, ack: 5001, ts: 0.5 },
    { from: 'c', flags: F.RST | F.ACK, seq: 1002, ack: 5001, ts: 0.6 },
  ], null],
  ['the client side seen mid-stream, its acknowledgement moving on (the server\'s data unseen)', [
    { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.01 },
    { from: 'c', flags: F.ACK, seq: 1001 + GET.length, ack: 5001 + OK.length, ts: 0.02 },
  ], 'server'],
  ['a request seen mid-stream, alone (a path that dropped what came back, a server that sent nothing)', [
    { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.01 },
  ], null],
  ['a request seen mid-stream, sent again and again with the same acknowledgement', [
    { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.01 },
    { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.3 },
    { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.9 },
  ], null],
  ['both sides seen', [syn, synAck, ack, { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: GET, ts: 0.01 }], null],
  ['a refusal seen both ways', [syn, { from: 's', flags: F.RST | F.ACK, seq: 0, ack: 1001, ts: 0.001 }], null],
];

describe('Connection.unseenSide', () => {
  test.each(cases)('%s', (_what, segs, unseen) => {
    const rec = track(segs);
    expect(rec.closed).toHaveLength(1);
    const conn = rec.closed[0];
    expect(conn.unseenSide()).toBe(unseen);
    expect(conn.serverUnseen()).toBe(unseen === 'server');
  });
});
