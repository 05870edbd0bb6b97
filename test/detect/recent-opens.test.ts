import { RecentOpens } from '../../src/detect/recent-opens';
import type { EndpointWords } from '../../src/detect/request-index';

/** src/detect/recent-opens.ts: when a client host last opened connections to a server. */
const pair = (client: number, server: number, port = 80): EndpointWords => ({ c0: client, c1: 0, c2: 0, c3: 0, s0: server, s1: 0, s2: 0, s3: 0, sPort: port });

test('an open near the moment asked about is found, for that client host and server only', () => {
  const opens = new RecentOpens();
  opens.add(pair(0x0a000001, 0x0a000002), 100);
  expect(opens.openedNear(pair(0x0a000001, 0x0a000002), 100.01, 0.02)).toBe(true);
  expect(opens.openedNear(pair(0x0a000001, 0x0a000002), 99.99, 0.02)).toBe(true);
  expect(opens.openedNear(pair(0x0a000001, 0x0a000002), 100.5, 0.02)).toBe(false);
  expect(opens.openedNear(pair(0x0a000003, 0x0a000002), 100, 0.02)).toBe(false); // another client host
  expect(opens.openedNear(pair(0x0a000001, 0x0a000002, 81), 100, 0.02)).toBe(false); // another server port
});

test('the last eight opens of a pair are kept; older ones are forgotten', () => {
  const opens = new RecentOpens();
  const p = pair(0x0a000001, 0x0a000002);
  for (let i = 0; i < 20; i++) opens.add(p, i);
  expect(opens.openedNear(p, 19, 0.01)).toBe(true);
  expect(opens.openedNear(p, 12, 0.01)).toBe(true);
  expect(opens.openedNear(p, 11, 0.01)).toBe(false);
});

test('bounded: many pairs only overwrite slots, and never answer for a pair that was not added', () => {
  const opens = new RecentOpens();
  for (let c = 0; c < 100_000; c++) opens.add(pair(0x0b000000 + c, 2), 5);
  let wrong = 0;
  for (let c = 0; c < 1000; c++) if (opens.openedNear(pair(0x0c000000 + c, 2), 5, 0.01)) wrong++;
  expect(wrong).toBe(0);
  // The last pairs added are still there.
  expect(opens.openedNear(pair(0x0b000000 + 99_999, 2), 5, 0.01)).toBe(true);
});

test('shared by two detectors: the same open recorded twice takes one place, so eight opens are still kept', () => {
  const opens = new RecentOpens();
  const p = pair(0x0a000001, 0x0a000002);
  for (let i = 0; i < 8; i++) {
    opens.add(p, i);
    opens.add(p, i); // the second detector's onOpen for the same connection
  }
  expect(opens.openedNear(p, 0, 0.01)).toBe(true);
  expect(opens.openedNear(p, 7, 0.01)).toBe(true);
});
