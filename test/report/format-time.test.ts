import { formatDuration } from '../../src/report/format-time';

describe('formatDuration', () => {
  test.each([
    [0, '0 s'],
    [0.000004, '4 µs'],
    [-0.0002, '-200 µs'],
    [0.005, '5 ms'], // no digits it does not have (an inferred value is kept to the ms)
    [0.00451, '4.51 ms'],
    [0.25, '250 ms'],
    [0.2505, '250.5 ms'],
    [2.0005, '2.001 s'],
    [2, '2 s'],
    [600, '10 min'],
    [630, '10.5 min'],
    [null, '-'],
    [Infinity, '-'],
  ])('%p s → %p', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});
