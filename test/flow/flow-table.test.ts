import { flowHash } from '../../src/decode/flow-hash';
import { PacketView } from '../../src/decode/packet-view';
import { Connection, ConnectionList } from '../../src/flow/connection';
import { FlowTable } from '../../src/flow/flow-table';

/** A packet of connection i, client → server or back. */
function view(i: number, fromClient: boolean): PacketView {
  const v = new PacketView();
  const client = [0x0a000000 + i, 40000 + (i % 20000)] as const;
  const server = [0x0a000001, 80] as const;
  const [src, dst] = fromClient ? [client, server] : [server, client];
  v.src0 = src[0];
  v.srcPort = src[1];
  v.dst0 = dst[0];
  v.dstPort = dst[1];
  return v;
}

function connection(i: number): Connection<null> {
  const v = view(i, true);
  return new Connection<null>(i + 1, flowHash(v), v, true, `c${i}`, 's', false, i, i + 1);
}

describe('FlowTable', () => {
  test('finds connections from either direction across growth of its buckets, and forgets removed ones', () => {
    const table = new FlowTable<null>(1024);
    const n = 5000; // several doublings past 1 024 initial buckets
    const conns: Connection<null>[] = [];
    for (let i = 0; i < n; i++) {
      const c = connection(i);
      conns.push(c);
      table.insert(c, ConnectionList.Active);
    }
    expect(table.size).toBe(n);
    for (let i = 0; i < n; i++) {
      const fromClient = view(i, true);
      expect(table.find(flowHash(fromClient), fromClient)).toBe(conns[i]);
      expect(table.lastFromClient).toBe(true);
      const fromServer = view(i, false);
      expect(table.find(flowHash(fromServer), fromServer)).toBe(conns[i]);
      expect(table.lastFromClient).toBe(false);
    }
    for (let i = 0; i < n; i += 2) table.remove(conns[i]);
    expect(table.size).toBe(n / 2);
    for (let i = 0; i < n; i++) {
      const v = view(i, i % 3 === 0);
      expect(table.find(flowHash(v), v)).toBe(i % 2 === 0 ? null : conns[i]);
    }
    expect(table.all().map((c) => c.id)).toEqual(conns.filter((_, i) => i % 2 === 1).map((c) => c.id));
    expect(table.oldest(ConnectionList.Active)).toBe(conns[1]);
  });

  test('connections whose hashes share a bucket are told apart by their endpoints', () => {
    const table = new FlowTable<null>();
    const a = connection(1);
    const b = connection(2);
    // Force the same hash: the chain, not the hash, must decide.
    (b as { hash: number }).hash = a.hash;
    table.insert(a, ConnectionList.Active);
    table.insert(b, ConnectionList.Active);
    const va = view(1, false);
    const vb = view(2, true);
    expect(table.find(a.hash, va)).toBe(a);
    expect(table.find(a.hash, vb)).toBe(b);
    table.remove(b);
    expect(table.find(a.hash, vb)).toBeNull();
    expect(table.find(a.hash, va)).toBe(a);
  });
});
