import type { AnalyzedConnection } from '../../src/detect/analyzed-connection';
import { OtherConnections } from '../../src/detect/other-connections';

interface Side {
  finTs?: number; finFrame?: number; rstTs?: number; rstFrame?: number; payloadBytes?: number; synAckCount?: number;
}

/** The fields OtherConnections reads, for a connection from `client` that ended. */
function ended(id: number, client: string, c: Side = {}, s: Side = {}): AnalyzedConnection {
  const side = (x: Side) => ({
    finTs: x.finTs ?? -1, finFrame: x.finFrame ?? 0, rstTs: x.rstTs ?? -1, rstFrame: x.rstFrame ?? 0,
    payloadBytes: x.payloadBytes ?? 0, synAckCount: x.synAckCount ?? 0, firstDataTs: 10 + id, lastDataTs: 11 + id,
    synTimes: [id], synFrames: [id * 10],
  });
  return {
    id, startTs: id, firstFrame: id * 10, clientName: `${client}:${40000 + id}`, serverName: '10.0.0.3:8080',
    client: side(c), server: side(s), app: { exchangeCount: 2, recent: [] },
  } as unknown as AnalyzedConnection;
}

describe('OtherConnections', () => {
  test('gives back the connections of one address with their first close, who sent it and how', () => {
    const others = new OtherConnections();
    others.add(ended(1, '10.0.1.2', { finTs: 5, finFrame: 50, payloadBytes: 100 }, { rstTs: 6, rstFrame: 60, synAckCount: 1 }));
    others.add(ended(2, '10.0.9.9', { finTs: 5, finFrame: 51 }));
    others.add(ended(3, '10.0.1.2', { rstTs: 9, rstFrame: 90 }, { finTs: 7, finFrame: 70 }));
    others.add(ended(4, '10.0.1.2'));
    const got = others.from('10.0.1.2');
    expect(got.map((c) => c.flowId)).toEqual([1, 3, 4]);
    expect(got[0]).toMatchObject({
      client: '10.0.1.2:40001', server: '10.0.0.3:8080', openTs: 1, openFrame: 10, established: true,
      closeTs: 5, closeFrame: 50, closedBy: 'proxy', closedWith: 'FIN', requestCount: 2, proxyBytes: 100, proxyDataFrom: 11, proxyDataTo: 12,
    });
    expect(got[1]).toMatchObject({ established: false, closeTs: 7, closeFrame: 70, closedBy: 'backend', closedWith: 'FIN' });
    expect(got[2]).toMatchObject({ closeTs: Infinity, closedBy: null, closedWith: null });
  });

  test('keeps the newest 32 768 connections, oldest first, across the ring growing and wrapping', () => {
    const others = new OtherConnections();
    const total = 40_000;
    for (let id = 1; id <= total; id++) others.add(ended(id, id % 2 === 0 ? '10.0.1.2' : '10.0.9.9'));
    const got = others.from('10.0.1.2');
    const oldestKept = total - 32_768 + 1;
    const expected: number[] = [];
    for (let id = oldestKept; id <= total; id++) if (id % 2 === 0) expected.push(id);
    expect(got.map((c) => c.flowId)).toEqual(expected);
    expect(got[got.length - 1].client).toBe(`10.0.1.2:${40000 + total}`);
  });
});
