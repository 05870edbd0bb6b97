import { OpaqueTurns } from '../../src/http/opaque-turns';
import { ReuseGaps } from '../../src/http/reuse-gaps';

describe('ReuseGaps', () => {
  test('keeps the count, the shortest and the longest with where it began', () => {
    const g = new ReuseGaps();
    g.add(1.5, 10, 7);
    g.add(0.25, 12, 9);
    g.add(2.5, 20, 15);
    expect(g).toMatchObject({ count: 3, shortest: 0.25, longest: 2.5, longestTs: 20, longestFrame: 15 });
    g.reset();
    expect(g).toMatchObject({ count: 0, shortest: 0, longest: 0, longestTs: 0, longestFrame: 0 });
  });
});

describe('OpaqueTurns', () => {
  test('a client turn after the server\'s is a reuse, after the silence since the server\'s last data; the first turn is not', () => {
    const t = new OpaqueTurns();
    t.client(1.0, 4, 0x2a); // the first command opens the connection
    t.client(1.001, 5, 0x0d); // the same turn
    t.server(1.01);
    t.client(3.0, 9, 0x2a); // 1.99 s after the answer
    t.server(3.01);
    t.server(3.02); // the answer's second segment
    t.client(3.52, 12, 0x2a);
    expect(t.clientFirstByte).toBe(0x2a);
    expect(t.reuses).toMatchObject({ count: 2, longestTs: 3.0, longestFrame: 9 });
    expect(t.reuses.longest).toBeCloseTo(1.99, 9);
    expect(t.reuses.shortest).toBeCloseTo(0.5, 9);
  });

  test('begun when the server\'s first answer showed the payload is not HTTP: the client\'s data before it was its first turn, its next the first reuse', () => {
    // A line protocol (`HELLO\n`): the request parser waited, the answer `OK HELLO\n` gave it up.
    const t = new OpaqueTurns().startAfter(1.0);
    t.server(1.01);
    t.client(1.31, 9, 0x47); // 0.3 s after the answer: a reuse
    t.server(1.32);
    t.client(1.62, 12, 0x51);
    expect(t.reuses.count).toBe(2);
    expect(t.reuses.longest).toBeCloseTo(0.3, 9);
    // Nothing sent before: as a new one.
    const fresh = new OpaqueTurns().startAfter(0);
    fresh.server(0.1);
    fresh.client(0.2, 3, 0x55);
    expect(fresh.reuses.count).toBe(0);
  });

  test('a server that speaks first (a MySQL greeting): the client\'s first turn, its login, is no reuse', () => {
    const t = new OpaqueTurns();
    t.server(0.1);
    t.client(0.2, 3, 0x55);
    t.server(0.3);
    t.client(5.3, 7, 0x03);
    expect(t.reuses.count).toBe(1);
    expect(t.reuses.longest).toBeCloseTo(5.0, 9);
  });

  test('reset makes it new', () => {
    const t = new OpaqueTurns();
    t.client(1, 1, 1);
    t.server(2);
    t.client(3, 3, 1);
    expect(t.reset()).toEqual(new OpaqueTurns());
  });
});

describe('OpaqueTurns: data the server sends unasked', () => {
  test('a notice after a silence answers nothing: the next turn reuses the connection as long after the answer', () => {
    const t = new OpaqueTurns();
    t.client(0, 1, 0x51);
    t.server(0.01);
    t.client(1, 3, 0x51);
    t.server(1.0005);
    t.server(3.0005); // PostgreSQL's FATAL 57P05, 2 s after the answer
    t.client(3.0035, 7, 0x51); // the query that crossed it
    expect(t.reuses.longest).toBeCloseTo(2.003, 9);
  });
});

describe('ReuseGaps: the longest before the last turn', () => {
  test('a goodbye as the last turn is left out by longestBeforeLast', () => {
    const g = new ReuseGaps();
    g.add(1.5, 10, 7);
    g.add(3.9, 20, 15);
    g.add(4.2, 30, 21); // the client's goodbye after the server's close
    expect(g.lastTs).toBe(30);
    expect(g.longest).toBe(4.2);
    expect(g.longestBeforeLast()).toEqual({ gap: 3.9, ts: 20, frame: 15 });
    const one = new ReuseGaps();
    one.add(2, 5, 3);
    expect(one.longestBeforeLast()).toBeNull();
  });
});
