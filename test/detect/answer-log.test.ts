import { AnswerLog } from '../../src/detect/answer-log';

describe('AnswerLog', () => {
  test('keeps interleaved lists apart, in order, through growth', () => {
    const log = new AnswerLog();
    const a = AnswerLog.emptyList();
    const b = AnswerLog.emptyList();
    // Past the initial capacity (1024) so the columns grow while lists are being chained.
    for (let i = 0; i < 3000; i++) {
      const list = i % 3 === 0 ? a : b;
      log.add(list, i, i % 7, `10.0.0.${i % 5}:${1000 + i}`, 1000 + i / 10, i + 1, i % 3 === 0 ? 503 : 200, i % 11 === 0 ? null : i / 1000, i % 3 === 0);
    }
    const fromA = log.answers(a);
    const fromB = log.answers(b);
    expect(fromA).toHaveLength(1000);
    expect(fromB).toHaveLength(2000);
    expect(a.length).toBe(1000);
    expect(fromA.every((x, k) => x.flowId === 3 * k)).toBe(true);
    expect(fromB.map((x) => x.flowId).slice(0, 4)).toEqual([1, 2, 4, 5]);
    expect(fromA[1]).toEqual({ flowId: 3, index: 3, client: '10.0.0.3:1003', ts: 1000.3, frame: 4, status: 503, delay: 0.003, failed: true });
    expect(fromB[9]).toEqual({ flowId: 14, index: 0, client: '10.0.0.4:1014', ts: 1001.4, frame: 15, status: 200, delay: 0.014, failed: false });
    expect(log.answers(AnswerLog.emptyList())).toEqual([]);
    // A delay of null stays null, a delay of 0 stays 0.
    const c = AnswerLog.emptyList();
    log.add(c, 1, 1, 'c', 1, 1, 200, null, false);
    log.add(c, 1, 2, 'c', 2, 2, 200, 0, false);
    expect(log.answers(c).map((x) => x.delay)).toEqual([null, 0]);
  });
});
