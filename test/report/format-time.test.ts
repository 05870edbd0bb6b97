import { formatDuration } from '../../src/report/format-time';

describe('formatDuration', () => {
  test.each([
    [0, '0 s'],
    [0.000004, '4 µs'],
    [-0.0002, '-200 µs'],
    [0.005, '5.00 ms'],
    [0.25, '250.0 ms'],
    [2.0005, '2.001 s'],
    [600, '10.0 min'],
    [null, '-'],
    [Infinity, '-'],
  ])('%p s → %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
