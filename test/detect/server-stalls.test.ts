import { AnswerRing } from '../../src/detect/server-stalls';

describe('AnswerRing', () => {
  test('counts a server\'s answers in a window on other connections, and those on connections opened in it', () => {
    const ring = new AnswerRing();
    const a = ring.serverIndex('10.0.0.2:80');
    const b = ring.serverIndex('10.0.0.3:80');
    ring.note(a, 1, 1.0, 0);
    ring.note(a, 1, 2.0, 0);
    ring.note(a, 2, 2.5, 2.2);
    ring.note(a, 3, 2.6, 0);
    ring.note(b, 4, 2.0, 0);
    expect(ring.answeredDuring('10.0.0.2:80', 1.5, 3, new Set([3]))).toEqual({ answers: 2, connections: 2, newConnections: 1, longestWait: 0 });
    expect(ring.answeredDuring('10.0.0.9:80', 0, 9, new Set())).toEqual({ answers: 0, connections: 0, newConnections: 0, longestWait: 0 });
  });

  test('gives the longest wait of the answers in the window whose request end it was told (a server serving in turn)', () => {
    const ring = new AnswerRing();
    const a = ring.serverIndex('10.0.0.2:80');
    ring.note(a, 1, 2.0, 0, 1.9);
    ring.note(a, 2, 2.8, 0, 1.6);
    ring.note(a, 3, 2.9, 0, 0.5); // its own connection: left out
    ring.note(a, 4, 3.5, 0, 1.0); // after the window
    expect(ring.answeredDuring('10.0.0.2:80', 1.5, 3, new Set([3]))?.longestWait).toBeCloseTo(1.2, 9);
  });

  test('grows, then keeps the latest answers only: a window older than those is not judged (null)', () => {
    const ring = new AnswerRing();
    const a = ring.serverIndex('s');
    const total = (1 << 18) + 10;
    for (let k = 0; k < total; k++) ring.note(a, k, k * 0.001, 0);
    expect(ring.answeredDuring('s', 0, 1, new Set())).toBeNull();
    expect(ring.answeredDuring('s', (total - 5) * 0.001, total, new Set())?.answers).toBe(5);
  });
});
