import type { AnalysisResult } from '../../src/analyze';
import { renderJson, writeJson } from '../../src/report/json';
import { hostileResult } from './hostile-result';

function written(result: AnalysisResult): { text: string; pieces: string[] } {
  const pieces: string[] = [];
  writeJson(result, (text) => pieces.push(text));
  return { text: pieces.join(''), pieces };
}

describe('writeJson: the JSON document in pieces', () => {
  it('writes renderJson\'s text for a result with hostile strings, empty arrays and nested objects', () => {
    const result = hostileResult();
    expect(result.flows).toEqual([]);
    expect(written(result).text).toBe(renderJson(result));
  });

  it('leaves out what JSON.stringify leaves out, writes null for array holes, rounds numbers to the microsecond', () => {
    const odd = {
      input: { note: 'two\nlines', missing: undefined },
      skipped: undefined,
      fn: () => 1,
      flows: [{ start: 1.23456789, nested: [1.5e-7, 'x\ny', { deep: [] }] }, undefined, 3.0000004],
      exchanges: [],
      empty: {},
      diagnoses: [[], [1, [2]]],
    } as unknown as AnalysisResult;
    const text = written(odd).text;
    expect(text).toBe(renderJson(odd));
    expect(text).toContain('"start": 1.234568');
    expect(text).not.toContain('skipped');
  });

  it('hands long documents over in pieces of about 64 KiB, not as one string', () => {
    const result = hostileResult();
    const many = Array.from({ length: 3000 }, (_, i) => ({ ...result.anomalies[0], id: `keepalive-race#${i + 1}` }));
    const big = { ...result, anomalies: many };
    const { text, pieces } = written(big);
    expect(text).toBe(renderJson(big));
    expect(pieces.length).toBeGreaterThan(5);
    const longest = Math.max(...pieces.map((p) => p.length));
    expect(longest).toBeLessThan(2 * 65536);
  });
});
