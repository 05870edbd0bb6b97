import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { synUnanswered } from '../../src/detect/detectors/syn-unanswered';
import { buildTcpPacket, TCP_SYN } from '../helpers/packet-builder';
import { SAMPLES_DIR } from '../samples';
import { Capture, get } from './reuse-kit';

/**
 * SYNs dropped by a limit on concurrent connections (nft `ct count over N`, iptables connlimit)
 * while the server serves the connections it holds: an exact count at every drop, fewer at every
 * answered handshake. Recorded: samples/syn-dropped-connection-limit. These scenes hold the
 * judgement to its mechanism, and to the near misses that share part of the signature.
 */
const KIND = 'syn-unanswered';
const CLIENT = '10.0.0.1';
const SERVER = '10.0.0.2';

/** A connection opened at `at` that sends a request every 0.5 s until `until`, answered unless `hungFrom` has passed, then closed. */
function lane(cap: Capture, at: number, until: number, hungFrom = Infinity): void {
  const c = cap.connection({ client: CLIENT, server: SERVER });
  c.handshake(at);
  for (let t = at + 0.01; t < until; t += 0.5) {
    if (t < hungFrom) c.exchange(t);
    else c.request(t, get('/late'));
  }
  if (hungFrom === Infinity) c.close(until + 0.1, 'c');
}

/** Single-SYN connection attempts never answered, from new ports, at `times`. */
function droppedAttempts(cap: Capture, times: readonly number[]): void {
  let port = 50000;
  for (const t of times) {
    cap.add(t, buildTcpPacket({ src: CLIENT, dst: SERVER, sport: port++, dport: 80, seq: 7_000_000, ack: 0, flags: TCP_SYN }));
  }
}

function diagnosis(r: AnalysisResult): string {
  const d = r.diagnoses.find((x) => x.kind === KIND);
  if (d === undefined) throw new Error('no syn-unanswered diagnosis');
  return d.explanation + ' | ' + d.remedy;
}

/** Three lanes held open from 0 to 9 s, attempts dropped at 2, 3.2 and 4.4 s (each given up after 1 s and replaced). */
function limitScene(options: { hungFrom?: number; fourthAt?: number; unservedAt?: number } = {}): Capture {
  const cap = new Capture();
  for (const at of [0, 0.1, 0.2]) lane(cap, at, 9, options.hungFrom);
  droppedAttempts(cap, [2, 3.2, 4.4]);
  if (options.fourthAt !== undefined) {
    const c = cap.connection({ client: CLIENT, server: SERVER });
    c.handshake(options.fourthAt).exchange(options.fourthAt + 0.01).close(options.fourthAt + 0.1, 'c');
  }
  if (options.unservedAt !== undefined) {
    // A handshake the application never took up: its request is never answered.
    const c = cap.connection({ client: CLIENT, server: SERVER });
    c.handshake(options.unservedAt).request(options.unservedAt + 0.01, get('/queued'));
  }
  return cap;
}

describe('syn-unanswered: SYNs dropped by a connection limit', () => {
  test('every drop found exactly 3 open, every answered handshake fewer, the server serving them: a limit of 3, not an outage', () => {
    const text = diagnosis(limitScene().analyze([synUnanswered]));
    expect(text).toContain('exactly 3 connections open');
    expect(text).toContain('a limit of 3 concurrent connections from 10.0.0.1');
    expect(text).toContain('`ct count over 3`');
    expect(text).not.toContain('an outage of that endpoint');
  });

  test('near miss: the held connections went unanswered from before the drops (a hung server): no limit, the outage text stands', () => {
    const text = diagnosis(limitScene({ hungFrom: 1.5 }).analyze([synUnanswered]));
    expect(text).not.toContain('concurrent connections');
    expect(text).not.toContain('it was not down');
  });

  test('near miss: a handshake answered with 3 already open (after the drops): no limit, but the server was not down', () => {
    const text = diagnosis(limitScene({ fourthAt: 5.0 }).analyze([synUnanswered]));
    expect(text).not.toContain('concurrent connections');
  });

  test('near miss: one of the connections held at the drops was never served (a listener that stopped accepting): no limit', () => {
    // The unserved handshake at 1.0 makes 4 open at every drop, and each answered one began with fewer.
    const text = diagnosis(limitScene({ unservedAt: 1.0 }).analyze([synUnanswered]));
    expect(text).not.toContain('concurrent connections');
  });

  test('drops at counts that differ while the server serves: not a limit, and not told as an outage of the endpoint', () => {
    const cap = new Capture();
    for (const at of [0, 0.1, 0.2]) lane(cap, at, 9);
    lane(cap, 0.3, 2.5); // closed between the first and second drops: 4 open, then 3
    droppedAttempts(cap, [2, 3.2, 4.4]);
    const text = diagnosis(cap.analyze([synUnanswered]));
    expect(text).not.toContain('concurrent connections');
    expect(text).toContain('it was not down');
    expect(text).toContain('3 to 4 connections were open to it');
    expect(text).not.toContain('an outage of that endpoint');
  });
});

describe('syn-unanswered on the recorded connection limit (nft ct count over 4; the near miss drops every other new-connection packet)', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([path.join(SAMPLES_DIR, 'syn-dropped-connection-limit.pcap')]);
  });
  const of = (server: string): string => {
    const d = result.diagnoses.find((x) => x.kind === KIND && x.server === server);
    if (d === undefined) throw new Error(`no diagnosis for ${server}`);
    return d.explanation + ' | ' + d.remedy;
  };

  test('8080: a limit of 4 connections from the client, with the nft and iptables rules to look for, not an outage', () => {
    expect(of('127.0.0.1:8080')).toContain('a limit of 4 concurrent connections from 127.0.0.1');
    expect(of('127.0.0.1:8080')).toContain('`ct count over 4`');
    expect(of('127.0.0.1:8080')).not.toContain('an outage of that endpoint');
  });

  test('8081, the near miss: no connection limit named', () => {
    expect(of('127.0.0.1:8081')).not.toContain('concurrent connections');
  });
});
