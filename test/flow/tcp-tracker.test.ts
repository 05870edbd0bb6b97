import { toFlowRecord } from '../../src/flow/flow-record';
import { F, Seg, handshake, track } from './segments';

function record(segs: Seg[]) {
  const rec = track(segs);
  return { rec, flows: rec.closed.map((c) => toFlowRecord(c, 0)) };
}

describe('TCP tracker: connection states (Zeek conn_state and history)', () => {
  const C = 1001; // client next seq after SYN
  const S = 5001;
  const cases: Array<{ name: string; segs: Seg[]; state: string; history: string; closedBy: string | null; close: string }> = [
    {
      name: 'normal open, data, close',
      segs: [
        ...handshake(),
        { from: 'c', flags: F.ACK | F.PSH, seq: C, ack: S, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
        { from: 's', flags: F.ACK | F.PSH, seq: S, ack: C + 18, len: 100, ts: 0.02 },
        { from: 'c', flags: F.ACK | F.FIN, seq: C + 18, ack: S + 100, ts: 0.03 },
        { from: 's', flags: F.ACK | F.FIN, seq: S + 100, ack: C + 19, ts: 0.04 },
        { from: 'c', flags: F.ACK, seq: C + 19, ack: S + 101, ts: 0.05 },
      ],
      state: 'SF', history: 'ShADdFf', closedBy: 'client', close: 'fin',
    },
    { name: 'SYN never answered', segs: [{ from: 'c', flags: F.SYN, seq: 1000, ts: 0 }, { from: 'c', flags: F.SYN, seq: 1000, ts: 1 }], state: 'S0', history: 'S', closedBy: null, close: 'open' },
    {
      name: 'refused (SYN answered by RST)',
      segs: [{ from: 'c', flags: F.SYN, seq: 1000, ts: 0 }, { from: 's', flags: F.RST | F.ACK, seq: 0, ack: 1001, ts: 0.001 }],
      state: 'REJ', history: 'Sr', closedBy: 'server', close: 'rst',
    },
    { name: 'established, left open', segs: handshake(), state: 'S1', history: 'ShA', closedBy: null, close: 'open' },
    {
      name: 'server resets after handshake',
      segs: [...handshake(), { from: 's', flags: F.RST, seq: S, ts: 0.1 }],
      state: 'RSTR', history: 'ShAr', closedBy: 'server', close: 'rst',
    },
    {
      name: 'client resets after handshake',
      segs: [...handshake(), { from: 'c', flags: F.RST | F.ACK, seq: C, ack: S, ts: 0.1 }],
      state: 'RSTO', history: 'ShAR', closedBy: 'client', close: 'rst',
    },
    {
      name: 'client SYN then RST, no SYN-ACK',
      segs: [{ from: 'c', flags: F.SYN, seq: 1000, ts: 0 }, { from: 'c', flags: F.RST, seq: 1001, ts: 0.5 }],
      state: 'RSTOS0', history: 'SR', closedBy: 'client', close: 'rst',
    },
    {
      name: 'only the client closed',
      segs: [...handshake(), { from: 'c', flags: F.FIN | F.ACK, seq: C, ack: S, ts: 0.1 }],
      state: 'S2', history: 'ShAF', closedBy: 'client', close: 'fin',
    },
    {
      name: 'only the server closed',
      segs: [...handshake(), { from: 's', flags: F.FIN | F.ACK, seq: S, ack: C, ts: 0.1 }],
      state: 'S3', history: 'ShAf', closedBy: 'server', close: 'fin',
    },
    {
      name: 'mid-stream traffic',
      segs: [
        { from: 'c', flags: F.ACK | F.PSH, seq: 7000, ack: 9000, len: 10, ts: 0 },
        { from: 's', flags: F.ACK, seq: 9000, ack: 7010, ts: 0.1 },
      ],
      state: 'OTH', history: 'Da', closedBy: null, close: 'open',
    },
    {
      name: 'client SYN then FIN without answer',
      segs: [{ from: 'c', flags: F.SYN, seq: 1000, ts: 0 }, { from: 'c', flags: F.FIN, seq: 1001, ts: 0.2 }],
      state: 'SH', history: 'SF', closedBy: 'client', close: 'fin',
    },
  ];
  test.each(cases)('$name → $state $history', ({ segs, state, history, closedBy, close }) => {
    const { flows } = record(segs);
    expect(flows).toHaveLength(1);
    expect(flows[0].state).toBe(state);
    expect(flows[0].history).toBe(history);
    expect(flows[0].closedBy).toBe(closedBy);
    expect(flows[0].close).toBe(close);
  });
});

describe('TCP tracker: sequence space', () => {
  test('in-order payload is delivered once; a retransmission is counted, not redelivered', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'hello ', ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'hello ', ts: 0.2 },
      { from: 'c', flags: F.ACK, seq: 1007, ack: 5001, text: 'world', ts: 0.3 },
    ]);
    expect(rec.payload.get('1c')).toBe('hello world');
    expect(flows[0].retransmissions.client).toBe(1);
    expect(flows[0].bytes.client).toBe(11);
    expect(flows[0].history).toBe('ShADT');
  });

  test('out-of-order segments are held and delivered in order', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1007, ack: 5001, text: 'world', ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'hello ', ts: 0.02 },
    ]);
    expect(rec.payload.get('1c')).toBe('hello world');
    expect(rec.gaps).toEqual([]);
    expect(flows[0].bytes.client).toBe(11);
  });

  test('snaplen-cut segments out of order keep their places: their cut tails are cut, not lost (GRO segments swapped by a veth capture)', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'aaaaAAAA', captured: 4, ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: 1017, ack: 5001, text: 'ccccCCCC', captured: 4, ts: 0.02 },
      { from: 'c', flags: F.ACK, seq: 1009, ack: 5001, text: 'bbbbBBBB', captured: 4, ts: 0.02 },
      { from: 'c', flags: F.ACK, seq: 1025, ack: 5001, text: 'dddd', ts: 0.03 },
    ]);
    expect(rec.payload.get('1c')).toBe('aaaabbbbccccdddd');
    // Each cut tail told in its place, after its segment's kept bytes.
    expect(rec.gaps).toEqual([[1, true, 4], [1, true, 4], [1, true, 4]]);
    expect(flows[0].bytes.client).toBe(28);
    expect(flows[0].gapBytes.client).toBe(12);
    expect(rec.closed[0].client.cutBytes).toBe(12);
    // Nothing the capture missed: no loss.
    expect(rec.closed[0].client.lossFromTs).toBe(-1);
  });

  test('a partial overlap delivers only the new bytes', () => {
    const { rec } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'abcd', ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: 1003, ack: 5001, text: 'cdef', ts: 0.02 },
    ]);
    expect(rec.payload.get('1c')).toBe('abcdef');
  });

  test('bytes the peer ACKed but the capture never saw become a gap, not a stall', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'aaaa', ts: 0.01 },
      // 1005..1008 lost at the capture point
      { from: 'c', flags: F.ACK, seq: 1009, ack: 5001, text: 'cccc', ts: 0.02 },
      { from: 's', flags: F.ACK, seq: 5001, ack: 1013, ts: 0.03 },
    ]);
    expect(rec.gaps).toEqual([[1, true, 4]]);
    expect(rec.payload.get('1c')).toBe('aaaacccc');
    expect(flows[0].gapBytes.client).toBe(4);
    expect(flows[0].history).toContain('G');
  });

  test('when lost bytes were sent: from the last data before the loss to the packet that showed it', () => {
    const { rec } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'aaaa', ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: 1009, ack: 5001, text: 'cccc', ts: 0.02 }, // 1005..1008 lost
      { from: 's', flags: F.ACK, seq: 5001, ack: 1013, ts: 0.03 }, // ...given up when the server ACKs past them
    ]);
    expect([rec.closed[0].client.lossFromTs, rec.closed[0].client.lossToTs]).toEqual([0.01, 0.03]);
    expect([rec.closed[0].server.lossFromTs, rec.closed[0].server.lossToTs]).toEqual([-1, -1]);
  });

  test('a RST without ACK after the FIN, all data before it acknowledged and none after: the data it answered was lost', () => {
    // A reused connection whose request the capture dropped: the server had closed (FIN), the
    // client's request after it is missing, the server's bare RST answered it.
    const { rec } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
      { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1019, text: 'HTTP/1.1 204 No Content\r\n\r\n', ts: 0.02 },
      { from: 's', flags: F.ACK | F.FIN, seq: 5028, ack: 1019, ts: 2 },
      { from: 'c', flags: F.ACK, seq: 1019, ack: 5029, ts: 2.001 },
      { from: 's', flags: F.RST, seq: 5029, ts: 2.5 },
    ]);
    expect([rec.closed[0].client.lossFromTs, rec.closed[0].client.lossToTs]).toEqual([2, 2.5]);
    expect(rec.closed[0].client.lostBytes).toBe(0); // how many bytes is unknown
  });

  test('a RST without ACK that answers data the capture showed (a crossing seen near the client) marks no loss', () => {
    const { rec } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
      { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1019, text: 'HTTP/1.1 204 No Content\r\n\r\n', ts: 0.02 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 1019, ack: 5028, text: 'GET /2 HTTP/1.1\r\n\r\n', ts: 2 },
      { from: 's', flags: F.ACK | F.FIN, seq: 5028, ack: 1019, ts: 2.001 },
      { from: 's', flags: F.RST, seq: 5029, ts: 2.002 },
    ]);
    expect([rec.closed[0].client.lossFromTs, rec.closed[0].client.lossToTs]).toEqual([-1, -1]);
  });

  test('bytes the peer ACKed at the end that the capture never showed at all become a gap when the connection ends', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
      // The server's 216-byte response and its FIN were lost at the capture point; the client ACKs both and closes.
      { from: 'c', flags: F.ACK | F.FIN, seq: 1019, ack: 5218, ts: 0.02 },
    ]);
    expect(rec.gaps).toEqual([[1, false, 216]]); // the FIN's sequence number is not counted as a byte
    expect(flows[0].gapBytes.server).toBe(216);
    expect(flows[0].history).toContain('g');
  });

  test('an ACK one past the last byte seen (a FIN the capture missed) or covering a FIN it saw is no gap', () => {
    const unseenFin = record([
      ...handshake(),
      { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1001, len: 100, ts: 0.01 },
      { from: 'c', flags: F.ACK | F.FIN, seq: 1001, ack: 5102, ts: 0.02 },
    ]);
    expect(unseenFin.rec.gaps).toEqual([]);
    const seenFin = record([
      ...handshake(),
      { from: 's', flags: F.ACK | F.PSH | F.FIN, seq: 5001, ack: 1001, len: 100, ts: 0.01 },
      { from: 'c', flags: F.ACK | F.FIN, seq: 1001, ack: 5102, ts: 0.02 },
    ]);
    expect(seenFin.rec.gaps).toEqual([]);
  });

  test('sequence numbers wrap past 2^32', () => {
    const isn = 0xfffffff0;
    const { rec, flows } = record([
      ...handshake(0, isn),
      { from: 'c', flags: F.ACK, seq: isn + 1, ack: 5001, text: '0123456789abcdef', ts: 0.01 },
      { from: 'c', flags: F.ACK, seq: (isn + 17) >>> 0, ack: 5001, text: 'XYZ', ts: 0.02 },
      { from: 'c', flags: F.ACK, seq: isn + 1, ack: 5001, text: '0123456789abcdef', ts: 0.03 },
    ]);
    expect(rec.payload.get('1c')).toBe('0123456789abcdefXYZ');
    expect(flows[0].retransmissions.client).toBe(1);
  });

  test('TCP keep-alive probes (seq = next − 1) are neither data nor retransmissions', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, text: 'abc', ts: 0.01 },
      { from: 's', flags: F.ACK, seq: 5001, ack: 1004, ts: 0.02 },
      { from: 'c', flags: F.ACK, seq: 1003, ack: 5001, ts: 60 },
      { from: 'c', flags: F.ACK, seq: 1003, ack: 5001, len: 1, ts: 120 },
    ]);
    expect(rec.payload.get('1c')).toBe('abc');
    expect(flows[0].retransmissions.client).toBe(0);
    expect(rec.closed[0].client.keepAliveProbes).toBe(2);
  });

  test('a retransmitted FIN is not a second close', () => {
    const { rec, flows } = record([
      ...handshake(),
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1001, ts: 1 },
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1001, ts: 1.2 },
      { from: 'c', flags: F.FIN | F.ACK, seq: 1001, ack: 5002, ts: 1.3 },
      { from: 's', flags: F.ACK, seq: 5002, ack: 1002, ts: 1.31 },
    ]);
    expect(rec.closed[0].server.finCount).toBe(2);
    expect(rec.closed[0].server.finTs).toBe(1);
    expect(flows[0].state).toBe('SF');
    expect(rec.ends).toEqual([[1, false], [1, true]]);
  });
});

describe('TCP tracker: connections and the capture clock', () => {
  test('a SYN with a new ISN on a used 4-tuple starts a new connection (port reuse)', () => {
    const { rec, flows } = record([
      ...handshake(0),
      { from: 'c', flags: F.FIN | F.ACK, seq: 1001, ack: 5001, ts: 1 },
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1002, ts: 1.001 },
      { from: 'c', flags: F.ACK, seq: 1002, ack: 5002, ts: 1.002 },
      ...handshake(2, 90000, 70000),
    ]);
    expect(flows.map((f) => f.state)).toEqual(['SF', 'S1']);
    expect(rec.closed[1].previous).toEqual({ id: 1, lastTs: 1.002, closed: true });
  });

  test('a SYN-ACK with a new ISN on a closed 4-tuple starts a new connection: the capture missed its SYN', () => {
    const { rec, flows } = record([
      ...handshake(0),
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1001, ts: 1 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5002, ts: 1.001 },
      // The client's FIN and its new SYN (ISN 90000) were not captured.
      { from: 's', flags: F.SYN | F.ACK, seq: 70000, ack: 90001, ts: 2 },
      { from: 'c', flags: F.ACK, seq: 90001, ack: 70001, ts: 2.001 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 90001, ack: 70001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 2.002 },
    ]);
    expect(flows).toHaveLength(2);
    expect(rec.closed[1].previous).toEqual({ id: 1, lastTs: 1.001, closed: true });
    expect(flows[1].history).toBe('hAD');
    expect(rec.closed[1].client.payloadBytes).toBe(18);
  });

  /**
   * A SYN-ACK answered with a new ISN after the first answer was reset (a firewall's `reject with
   * tcp reset` of the SYN-ACK resets the server's half-open connection in the client's name) or
   * dropped: the server's sequence space starts again. Read as a continuation, the distance between
   * the two ISNs (Linux: 64 ns per step, 15.6 M in the 1 s before the SYN is retransmitted) was a
   * 15 MiB capture hole (blind scene fwrst-server).
   */
  describe('a new ISN for the same attempt is never a sequence gap', () => {
    const C = 1000;
    const S1 = 5000;
    const S2 = 5000 + 16_112_025; // 1.031 s later on Linux's ISN clock
    const request = 'GET / HTTP/1.1\r\n\r\n';
    const rest = (t: number): Seg[] => [
      { from: 's', flags: F.SYN | F.ACK, seq: S2, ack: C + 1, ts: t },
      { from: 'c', flags: F.ACK, seq: C + 1, ack: S2 + 1, ts: t + 0.001 },
      { from: 'c', flags: F.ACK | F.PSH, seq: C + 1, ack: S2 + 1, text: request, ts: t + 0.002 },
      { from: 's', flags: F.ACK | F.PSH, seq: S2 + 1, ack: C + 1 + request.length, len: 100, ts: t + 0.003 },
      { from: 'c', flags: F.ACK | F.FIN, seq: C + 1 + request.length, ack: S2 + 101, ts: t + 0.004 },
      { from: 's', flags: F.ACK | F.FIN, seq: S2 + 101, ack: C + 2 + request.length, ts: t + 0.005 },
      { from: 'c', flags: F.ACK, seq: C + 2 + request.length, ack: S2 + 102, ts: t + 0.006 },
    ];
    const synAck1: Seg = { from: 's', flags: F.SYN | F.ACK, seq: S1, ack: C + 1, ts: 0.0001 };
    const syn = (ts: number): Seg => ({ from: 'c', flags: F.SYN, seq: C, ts });
    const cases: Array<{ name: string; segs: Seg[]; flows: number; last: string }> = [
      {
        // Captured at the server: its SYN-ACK, the firewall's RST in the client's name, the client's SYN again.
        name: 'the SYN-ACK reset in the client\'s name, then the same SYN again: a new connection from that SYN',
        segs: [syn(0), synAck1, { from: 'c', flags: F.RST, seq: C + 1, ts: 0.0002 }, syn(1.03), ...rest(1.031)],
        flows: 2, last: 'ShADdFf',
      },
      {
        name: 'the SYN-ACK reset by the server itself, then the same SYN again',
        segs: [syn(0), synAck1, { from: 's', flags: F.RST | F.ACK, seq: S1 + 1, ack: C + 1, ts: 0.5 }, syn(1.03), ...rest(1.031)],
        flows: 2, last: 'ShADdFf',
      },
      {
        name: 'the reset seen, the retransmitted SYN not captured: a new connection from the new SYN-ACK',
        segs: [syn(0), synAck1, { from: 'c', flags: F.RST, seq: C + 1, ts: 0.0002 }, ...rest(1.031)],
        flows: 2, last: 'hADdFf',
      },
      {
        // Captured at the server, the port reused after a firewall reset the client's side only: the
        // server, still holding the old connection, answers the new SYN with an ACK of the old one,
        // the client resets that, and its SYN again gets a SYN-ACK.
        name: 'a reused port\'s SYN answered by an ACK of the old connection, reset by the client, then sent again',
        segs: [
          ...handshake(-1, 900, 70000),
          syn(0),
          { from: 's', flags: F.ACK, seq: 70001, ack: 901, ts: 0.0001 },
          { from: 'c', flags: F.RST, seq: 901, ts: 0.0002 },
          syn(1.03),
          ...rest(1.031),
        ],
        flows: 3, last: 'ShADdFf',
      },
      {
        // The RST not captured (or the half-open connection expired): the same connection, its server ISN re-based.
        name: 'no reset seen: the server\'s ISN re-based in place',
        segs: [syn(0), synAck1, syn(1.03), ...rest(1.031)],
        flows: 1, last: 'ShADdFf',
      },
    ];
    test.each(cases)('$name', ({ segs, flows, last }) => {
      const r = record(segs);
      expect(r.rec.gaps).toEqual([]);
      expect(r.flows).toHaveLength(flows);
      const conn = r.rec.closed[r.rec.closed.length - 1];
      expect(r.flows[r.flows.length - 1].history).toBe(last);
      expect(conn.server.payloadBytes).toBe(100);
      expect(conn.client.payloadBytes).toBe(request.length);
      expect(conn.server.lostBytes).toBe(0);
      // Not a port reuse: the client's attempt is the same.
      expect(conn.previous).toBeNull();
    });
  });

  test('a retransmitted SYN-ACK, or one on a connection that has not closed, stays the same connection', () => {
    const retransmitted = record([
      ...handshake(0),
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1001, ts: 1 },
      { from: 's', flags: F.SYN | F.ACK, seq: 5000, ack: 1001, ts: 1.5 },
    ]);
    expect(retransmitted.flows).toHaveLength(1);
    const open = record([...handshake(0), { from: 's', flags: F.SYN | F.ACK, seq: 70000, ack: 90001, ts: 2 }]);
    expect(open.flows).toHaveLength(1);
  });

  test('a segment outside both sequence spaces of a closed connection starts a new one: the capture lost its SYN and SYN-ACK', () => {
    const { rec, flows } = record([
      ...handshake(0),
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
      { from: 's', flags: F.ACK | F.PSH | F.FIN, seq: 5001, ack: 1019, len: 100, ts: 0.02 },
      { from: 'c', flags: F.ACK | F.FIN, seq: 1019, ack: 5102, ts: 0.03 },
      // The same port 0.9 s later: the client's new ISN far away, the server's (Linux, from its
      // TIME_WAIT) 65537 past its old next sequence number: past its FIN all the same.
      { from: 'c', flags: F.ACK | F.PSH, seq: 900_000_000, ack: 5102 + 65537 + 1, text: 'GET /2 HTTP/1.1\r\n\r\n', ts: 0.93 },
      { from: 's', flags: F.ACK | F.PSH, seq: 5102 + 65537 + 1, ack: 900_000_019, len: 50, ts: 0.94 },
    ]);
    expect(flows).toHaveLength(2);
    expect(flows[0].gapBytes).toEqual({ client: 0, server: 0 });
    expect(flows[0].endReason).toBe('superseded');
    expect(flows[1].directionInferred).toBe(true);
    expect(flows[1].client).toBe(flows[0].client);
    expect(rec.closed[1].client.payloadBytes).toBe(19);
    expect(rec.closed[1].server.payloadBytes).toBe(50);
    expect(rec.gaps).toEqual([]);
  });

  test('after a long idle, a segment outside both sequence spaces starts a new connection; a plain ACK from elsewhere does too', () => {
    const { flows, rec } = record([
      ...handshake(0),
      // The close and the new handshake were lost; 30 s later a plain ACK of the new connection.
      { from: 'c', flags: F.ACK, seq: 2_000_000_000, ack: 3_000_000_000, ts: 30 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 2_000_000_000, ack: 3_000_000_000, text: 'GET / HTTP/1.1\r\n\r\n', ts: 30.001 },
    ]);
    expect(flows).toHaveLength(2);
    expect(flows[1].directionInferred).toBe(true);
    expect(rec.closed[1].client.payloadBytes).toBe(18);
    expect(rec.gaps).toEqual([]);
  });

  test('a real capture gap, a keep-alive probe and a retransmission stay in their connection', () => {
    const bulk = record([
      ...handshake(0),
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0.01 },
      // 200 MB of the response lost by the capture over 20 s: only the server's numbers moved.
      { from: 's', flags: F.ACK, seq: 5001 + 200_000_000, ack: 1019, len: 1000, ts: 20 },
      { from: 'c', flags: F.ACK, seq: 1019, ack: 5001 + 200_001_000, ts: 20.001 },
    ]);
    expect(bulk.flows).toHaveLength(1);
    expect(bulk.flows[0].gapBytes.server).toBe(200_000_000);
    const idle = record([
      ...handshake(0),
      { from: 'c', flags: F.ACK, seq: 1000, ack: 5001, ts: 60 }, // keep-alive probe
      { from: 's', flags: F.ACK, seq: 5001, ack: 1001, ts: 60.001 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, len: 10, ts: 61 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, len: 10, ts: 62 }, // retransmission
    ]);
    expect(idle.flows).toHaveLength(1);
    expect(idle.rec.closed[0].client.keepAliveProbes).toBe(1);
    // Both numbers elsewhere, but the connection neither closed nor idle: no reuse yet.
    const busy = record([
      ...handshake(0),
      { from: 'c', flags: F.ACK | F.PSH, seq: 2_000_000_000, ack: 3_000_000_000, len: 10, ts: 0.5 },
    ]);
    expect(busy.flows).toHaveLength(1);
  });

  test('a retransmitted SYN (same ISN) stays the same connection', () => {
    const { flows } = record([
      { from: 'c', flags: F.SYN, seq: 1000, ts: 0 },
      { from: 'c', flags: F.SYN, seq: 1000, ts: 1 },
      { from: 'c', flags: F.SYN, seq: 1000, ts: 3 },
    ]);
    expect(flows).toHaveLength(1);
    expect(flows[0].syns).toBe(3);
  });

  test('idle connections are released on the capture clock, not before', () => {
    const segs: Seg[] = [
      ...handshake(0),
      // another connection keeps the clock moving
      { from: 'c', flags: F.SYN, seq: 1, ts: 100, cport: 40001 },
      { from: 'c', flags: F.SYN, seq: 1, ts: 1000, cport: 40001 },
    ];
    const rec = track(segs, { idleTimeout: 900, openingTimeout: 2000 });
    const first = rec.closed.find((c) => c.id === 1);
    expect(first?.endReason).toBe('idle');
    const shortIdle = track(segs.slice(0, 4), { idleTimeout: 900 });
    expect(shortIdle.closed.find((c) => c.id === 1)?.endReason).toBe('capture-end');
  });

  test('the connection cap evicts the least recently active connection', () => {
    const segs: Seg[] = [];
    for (let i = 0; i < 10; i++) segs.push({ from: 'c', flags: F.SYN, seq: 1, ts: i, cport: 41000 + i });
    const rec = track(segs, { maxConnections: 4 });
    expect(rec.closed.filter((c) => c.endReason === 'evicted').map((c) => c.id)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('window scaling applies only when both SYNs offered it; zero windows are episodes', () => {
    const rec = track([
      { from: 'c', flags: F.SYN, seq: 1000, wscale: 7, ts: 0 },
      { from: 's', flags: F.SYN | F.ACK, seq: 5000, ack: 1001, wscale: 2, ts: 0.001 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, win: 10, ts: 0.002 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, win: 0, ts: 1 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, win: 0, ts: 2 },
      { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, win: 5, ts: 3.5 },
    ]);
    const client = rec.closed[0].client;
    expect(client.window).toBe(5 * 128);
    expect(client.zeroWindowCount).toBe(1);
    expect(client.zeroWindowEpisodes[0]).toMatchObject({ startTs: 1, endTs: 3.5 });
  });

  test('the first client payload after the server FIN is recorded, with whether it ACKs the FIN', () => {
    const rec = track([
      ...handshake(),
      { from: 's', flags: F.FIN | F.ACK, seq: 5001, ack: 1001, ts: 5 },
      { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5002, text: 'POST / HTTP/1.1\r\n\r\n', ts: 5.04 },
      { from: 's', flags: F.RST, seq: 5002, ts: 5.041 },
    ]);
    expect(rec.closed[0].clientDataAfterServerFin).toEqual({ ts: 5.04, frame: 5, acksFin: true, length: 19, firstByte: 0x50 });
  });
});

describe('TCP tracker: unusual handshakes', () => {
  test('data carried on the SYN (TCP Fast Open) is delivered, from ISN + 1', () => {
    const { rec } = record([
      { from: 'c', flags: F.SYN, seq: 1000, text: 'GET / HTTP/1.1\r\n\r\n', ts: 0 },
      { from: 's', flags: F.SYN | F.ACK, seq: 5000, ack: 1019, ts: 0.001 },
      { from: 'c', flags: F.ACK, seq: 1019, ack: 5001, ts: 0.002 },
    ]);
    expect(rec.payload.get('1c')).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  test('a SYN from the server side of a pending handshake (split handshake) stays the same connection', () => {
    const { flows } = record([
      { from: 'c', flags: F.SYN, seq: 1000, ts: 0 },
      { from: 's', flags: F.SYN, seq: 5000, ts: 0.001 },
      { from: 'c', flags: F.SYN | F.ACK, seq: 1000, ack: 5001, ts: 0.002 },
    ]);
    expect(flows).toHaveLength(1);
  });
});
