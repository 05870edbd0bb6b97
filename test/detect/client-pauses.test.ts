import { ClientPauses } from '../../src/detect/client-pauses';
import { inferTimeout } from '../../src/detect/infer-timeout';

/** src/detect/client-pauses.ts: the pause a client takes between an attempt's close and its next SYN, in bounded memory. */
const cluster = (gaps: number[]) => inferTimeout(gaps, { fraction: 0.02, absolute: 0.01, minSamples: 2 });

/** A client that closes each connection and opens the next `pause` s later, `n` times from `t0`. */
function loop(p: ClientPauses, client: string, n: number, pause: number, t0 = 0): void {
  for (let i = 0; i < n; i++) {
    const start = t0 + i * (0.5 + pause);
    p.note(client, '10.0.0.2:80', start, start + 0.5);
  }
}

test('a steady delay from each close to the next SYN is the pause', () => {
  const p = new ClientPauses();
  loop(p, '10.0.0.1', 5, 0.3);
  expect(p.pauseBefore('10.0.0.1', '10.0.0.2:80', 1, cluster)?.value).toBeCloseTo(0.3, 3);
  expect(p.pauseBefore('10.0.0.9', '10.0.0.2:80', 1, cluster)).toBeNull();
});

test('only the latest opens and closes are kept: a client whose pause changed shows the new one', () => {
  const p = new ClientPauses();
  loop(p, '10.0.0.1', 40, 2.0);
  loop(p, '10.0.0.1', 40, 0.3, 1000);
  expect(p.pauseBefore('10.0.0.1', '10.0.0.2:80', 1, cluster)?.value).toBeCloseTo(0.3, 3);
});

test('pairs past the bound are not followed (memory grows with pairs up to a cap, not with connections)', () => {
  const p = new ClientPauses();
  for (let i = 0; i < 3000; i++) loop(p, `10.1.${i >> 8}.${i & 255}`, 3, 0.3);
  expect(p.pauseBefore('10.1.0.0', '10.0.0.2:80', 1, cluster)?.value).toBeCloseTo(0.3, 3);
  expect(p.pauseBefore(`10.1.${2999 >> 8}.${2999 & 255}`, '10.0.0.2:80', 1, cluster)).toBeNull();
});
