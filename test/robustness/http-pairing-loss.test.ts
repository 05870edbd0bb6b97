import type { AnalysisResult } from '../../src/analyze';
import type { HttpExchange } from '../../src/http/exchange';
import { analyzeWithout } from './sample-without';

/**
 * Samples as a capture that dropped packets holds them: tcpdump under load prints "N packets
 * dropped by kernel", and what it dropped is simply not in the file. A lost request or a lost
 * response must cost that exchange, not the pairing of every later one on the connection.
 *
 * Found on a 90 s capture of healthy keep-alive load with 4 261 kernel drops: ~800 exchanges
 * paired with another request's response and marked certain, by two mechanisms. A lost HEAD request
 * left its response without a method, so its announced body was taken from the next responses'
 * bytes; and a loss that swallowed the end of one chunked response and the whole next exchange
 * paired the response after it with the lost request.
 */

/** The sample without the frames `dropped` (the file's own numbers; the frames left are renumbered, as in the file editcap would write). */
const without = (name: string, dropped: ReadonlySet<number>): Promise<AnalysisResult> => analyzeWithout(name, (_v, _d, frame) => dropped.has(frame));

function frames(n: number, m: number): Set<number> {
  const s = new Set<number>();
  for (let f = n; f <= m; f++) s.add(f);
  return s;
}

const pairing = (e: HttpExchange) => [e.method, e.uri, e.requestFrame, e.status, e.responseFrame, e.state, e.uncertain];

describe('HTTP pairing across packets the capture dropped (chunked-responses: six exchanges on one connection)', () => {
  test('the whole capture, for reference', async () => {
    const whole = await without('chunked-responses', new Set());
    expect(whole.exchanges.map(pairing)).toEqual([
      ['GET', '/stream/3', 4, 200, 6, 'complete', false],
      ['GET', '/stream/4', 14, 200, 15, 'complete', false],
      ['GET', '/stream-trailers', 25, 200, 26, 'complete', false],
      ['HEAD', '/items/1', 34, 200, 35, 'complete', false],
      ['GET', '/cached', 37, 304, 38, 'complete', false],
      ['DELETE', '/items/7', 40, 204, 41, 'complete', false],
    ]);
  });

  test('a lost HEAD request: its response announces a body it does not send, and the next response follows at once', async () => {
    // Frames after 34 move up by one.
    const r = await without('chunked-responses', new Set([34]));
    expect(r.exchanges.map(pairing).slice(3)).toEqual([
      [null, null, null, 200, 34, 'no-request', true],
      ['GET', '/cached', 36, 304, 37, 'complete', false],
      ['DELETE', '/items/7', 39, 204, 40, 'complete', false],
    ]);
    expect(r.exchanges[3].responseBodyBytes).toBe(0);
  });

  test('the end of a chunked response, the next request and its whole response lost: the response after them answers the request after them', async () => {
    // Frames after 24 move up by fifteen.
    const r = await without('chunked-responses', frames(10, 24));
    expect(r.exchanges.map(pairing)).toEqual([
      ['GET', '/stream/3', 4, 200, 6, 'response-incomplete', true],
      ['GET', '/stream-trailers', 10, 200, 11, 'complete', false],
      ['HEAD', '/items/1', 19, 200, 20, 'complete', false],
      ['GET', '/cached', 22, 304, 23, 'complete', false],
      ['DELETE', '/items/7', 25, 204, 26, 'complete', false],
    ]);
    // The lost exchange is counted, not reported as one with neither half.
    expect(r.stats.http).toMatchObject({ lostRequests: 1, lostResponses: 2 });
  });
});

describe('HTTP pairing after any one request or response start the capture dropped', () => {
  // Samples whose connections carry HEAD requests, chunked and close-delimited bodies, 1xx and
  // bodiless statuses (22 of these 350 drops shifted the pairing before).
  test.each(['chunked-responses', 'healthy-apache-lighttpd-java', 'healthy-client-cancels', 'healthy-streaming-responses'])(
    '%s: every later exchange on the connection is paired as in the whole capture, or marked uncertain',
    async (name) => {
      const whole = await without(name, new Set());
      // Frames renumber when one is dropped: requests and responses are told by their start times.
      const responseOf = new Map<number, number | null>();
      for (const e of whole.exchanges) if (e.requestStart !== null) responseOf.set(e.requestStart, e.responseStart);
      const starts: Array<[number, HttpExchange]> = [];
      for (const e of whole.exchanges) {
        if (e.requestFrame !== null) starts.push([e.requestFrame, e]);
        if (e.responseFrame !== null) starts.push([e.responseFrame, e]);
      }
      expect(starts.length).toBeGreaterThanOrEqual(12);
      const shifted: string[] = [];
      for (const [frame, lost] of starts) {
        const r = await without(name, new Set([frame]));
        const after = lost.responseEnd ?? lost.requestEnd ?? lost.requestStart ?? Infinity;
        for (const e of r.exchanges) {
          if (e.flowId !== lost.flowId || e.requestStart === null || e.requestStart <= after || e.uncertain) continue;
          const want = responseOf.get(e.requestStart);
          if (want !== undefined && e.responseStart !== want) shifted.push(`without ${frame}: ${e.method} ${e.uri} at ${e.requestStart} paired with the response at ${e.responseStart}, not ${want}`);
        }
      }
      expect(shifted).toEqual([]);
    },
  );
});
