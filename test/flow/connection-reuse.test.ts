import { PacketView } from '../../src/decode/packet-view';
import { Connection } from '../../src/flow/connection';
import { connState } from '../../src/flow/conn-state';
import { ConnectionObserver, DEFAULT_TRACKER_OPTIONS, TcpTracker } from '../../src/flow/tcp-tracker';
import { F, fillView, Seg } from './segments';

/**
 * The flow stage reuses the objects of released connections (TrackerOptions.reuseConnections).
 * A reused connection must be indistinguishable from a new one: every field reset, endpoints back
 * in their own slots, nothing of the previous connection left behind.
 */

/** A connection that went through most of what a connection can: handshake with window scaling, data both ways, out-of-order, zero window, FIN, data after FIN, RST. */
const BUSY: Seg[] = [
  { from: 'c', flags: F.SYN, seq: 1000, wscale: 7, ts: 1 },
  { from: 's', flags: F.SYN | F.ACK, seq: 5000, ack: 1001, wscale: 7, ts: 1.001 },
  { from: 'c', flags: F.ACK, seq: 1001, ack: 5001, ts: 1.002 },
  { from: 'c', flags: F.ACK | F.PSH, seq: 1001, ack: 5001, text: 'GET / HTTP/1.1\r\n\r\n', ts: 1.003 },
  { from: 'c', flags: F.ACK | F.PSH, seq: 1100, ack: 5001, text: 'ahead of a hole', ts: 1.004 },
  { from: 's', flags: F.ACK, seq: 5001, ack: 1019, win: 0, ts: 1.005 },
  { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1019, text: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', win: 100, ts: 1.006 },
  { from: 's', flags: F.ACK | F.PSH, seq: 5001, ack: 1019, text: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', win: 100, ts: 1.007 },
  { from: 's', flags: F.FIN | F.ACK, seq: 5039, ack: 1019, ts: 2 },
  { from: 'c', flags: F.ACK | F.PSH, seq: 1019, ack: 5040, text: 'POST /x HTTP/1.1\r\n\r\n', ts: 2.01 },
  { from: 's', flags: F.RST, seq: 5040, ts: 2.011 },
];

/** Runs segments through a tracker that does not reuse connections and returns the released ones. */
function released(segs: Seg[]): Connection<string>[] {
  const closed: Connection<string>[] = [];
  const observer: ConnectionObserver<string> = {
    onOpen: (c) => void (c.app = `app of ${c.id}`),
    onPayload: () => undefined,
    onGap: () => undefined,
    onEndOfStream: () => undefined,
    onClose: (c) => void closed.push(c),
  };
  const tracker = new TcpTracker<string>(observer, { ...DEFAULT_TRACKER_OPTIONS, reuseConnections: false });
  const view = new PacketView();
  let frame = 0;
  for (const s of segs) tracker.segment(view, fillView(view, s), s.ts, ++frame, 54 + (s.text?.length ?? s.len ?? 0));
  tracker.finish();
  return closed;
}

describe('Connection.reset', () => {
  const firstPacket = (): PacketView => {
    const v = new PacketView();
    fillView(v, { from: 'c', flags: F.SYN, seq: 77, ts: 9, cport: 41000 });
    return v;
  };

  test.each([
    ['a busy connection', false],
    ['a connection whose roles were swapped', true],
  ])('%s, reset, equals a new connection', (_name, swap) => {
    const [used] = released(BUSY);
    expect(used.history.length).toBeGreaterThan(5); // it really went through something
    if (swap) used.swapRoles();
    const v = firstPacket();
    const fresh = new Connection<string>(42, 1234, v, true, '10.0.0.1:41000', '10.0.0.2:80', false, 9, 17);
    const reused = used.reset(42, 1234, v, true, '10.0.0.1:41000', '10.0.0.2:80', false, 9, 17);
    expect(reused).toBe(used);
    expect(reused).toStrictEqual(fresh);
    // The getters read the shared slots: compare what they show too (toStrictEqual sees own fields only).
    for (const side of ['client', 'server'] as const) {
      const a = reused[side];
      const b = fresh[side];
      expect([a.base, a.isn, a.nextSeq, a.maxSeqEnd, a.finTs, a.finSeq, a.finAck, a.rstTs, a.firstTs, a.lastTs, a.firstDataTs, a.lastDataTs, a.highestAck, a.holding])
        .toEqual([b.base, b.isn, b.nextSeq, b.maxSeqEnd, b.finTs, b.finSeq, b.finAck, b.rstTs, b.firstTs, b.lastTs, b.firstDataTs, b.lastDataTs, b.highestAck, b.holding]);
    }
    expect([reused.startTs, reused.lastTs, reused.lastClock, reused.handshakeAckTs]).toEqual([fresh.startTs, fresh.lastTs, fresh.lastClock, fresh.handshakeAckTs]);
  });

  test('event lists a finding may still hold are replaced, not emptied', () => {
    const [used] = released(BUSY);
    const synTimes = used.client.synTimes;
    expect(synTimes).toEqual([1]);
    used.reset(2, 5, firstPacket(), true, 'c', 's', false, 9, 1);
    expect(synTimes).toEqual([1]);
    expect(used.client.synTimes).toEqual([]);
  });
});

describe('TcpTracker with reuseConnections', () => {
  /** Many short connections one after another (each released before the next opens), some reusing a port. */
  function manyConnections(): Seg[] {
    const segs: Seg[] = [];
    let ts = 1;
    for (let i = 0; i < 40; i++) {
      const cport = 40000 + (i % 7);
      const isn = 1000 + i * 100_000;
      const base = BUSY.map((s) => ({ ...s, cport, ts: ts + (s.ts - 1), seq: s.from === 'c' ? s.seq - 1000 + isn : s.seq, ack: s.from === 's' && s.ack !== undefined ? s.ack - 1000 + isn : s.ack }));
      // Every third connection ends without the RST, still open: released by the idle sweep or at the end.
      segs.push(...(i % 3 === 2 ? base.slice(0, 8) : base));
      ts += 30; // past the closed-connection linger: the previous one is released before this one opens
    }
    return segs;
  }

  function summaries(reuse: boolean): { rows: string[]; objects: number } {
    const rows: string[] = [];
    const objects = new Set<Connection<null>>();
    const observer: ConnectionObserver<null> = {
      onOpen: (c) => void rows.push(`open ${c.id} ${c.clientName} ${c.history}`),
      onPayload: (c, fromClient, data, off, len) => void rows.push(`data ${c.id} ${fromClient} ${Buffer.from(data.subarray(off, off + len)).toString('latin1')}`),
      onGap: (c, fromClient, len) => void rows.push(`gap ${c.id} ${fromClient} ${len}`),
      onEndOfStream: (c, fromClient) => void rows.push(`end ${c.id} ${fromClient}`),
      onClose: (c) => {
        objects.add(c);
        const ep = (e: typeof c.client): string =>
          [e.state, e.packets, e.payloadBytes, e.retransmissions, e.outOfOrder, e.gapBytes, e.zeroWindowCount, e.synTimes.join(), e.finTs, e.rstTs, e.nextSeq, e.highestAck].join('/');
        rows.push(`close ${c.id} ${c.endReason} ${connState(c.client, c.server, c.history)} ${c.history} ${ep(c.client)} ${ep(c.server)} ${c.previous?.id ?? '-'} ${c.clientDataAfterServerFin?.frame ?? '-'}`);
      },
    };
    const tracker = new TcpTracker<null>(observer, { ...DEFAULT_TRACKER_OPTIONS, closedLinger: 5, idleTimeout: 20, reuseConnections: reuse });
    const view = new PacketView();
    let frame = 0;
    for (const s of manyConnections()) tracker.segment(view, fillView(view, s), s.ts, ++frame, 54 + (s.text?.length ?? s.len ?? 0));
    tracker.finish();
    return { rows, objects: objects.size };
  }

  test('tells the same story as new objects for every connection', () => {
    const fresh = summaries(false);
    const reused = summaries(true);
    expect(fresh.objects).toBe(40);
    expect(reused.objects).toBeLessThan(5); // objects really were reused
    expect(reused.rows).toEqual(fresh.rows);
  });
});
