import type { AnalysisResult } from '../../src/analyze';
import { resetBeforeResponse } from '../../src/detect/detectors/reset-before-response';
import { analyzeSample } from '../samples';
import { Capture, get, ok } from './reuse-kit';

/**
 * A reset's sender judged by its IP TTL against its claimed sender's other packets
 * (src/detect/host-ttls.ts), where reset-before-response blames an endpoint (blind round 17,
 * middlebox tester):
 *  - s03: a stray retransmission on a connection the capture saw nothing else of met the router's
 *    RST in the server's name (TTL 64, the server's packets 63 on its other connection): it was told
 *    as "reset by the server… its socket was already closed";
 *  - s08: `ct reply bytes > 100000 reject with tcp reset` reset the server's side mid-response in the
 *    client's name (TTL 64, the client's packets 63): the server-side capture reported nothing.
 * The reuse kit sends every packet with TTL 64; a forged RST here has 60.
 */

const resets = (r: AnalysisResult) => r.anomalies.filter((f) => f.kind === 'reset-before-response');

/** A healthy connection to the server (its packets give the server host's TTL), then a stray one reset. */
function strayReset(rstTtl: number): Capture {
  const cap = new Capture();
  cap.connection().handshake(0).exchange(0.01).exchange(1).close(2, 'c');
  // Seen mid-stream: the client's retransmitted request, and a RST without ACK in the server's name.
  const stray = cap.connection();
  stray.request(5, get('/small'), { noAck: true });
  stray.rst(5.0001, 's', rstTtl);
  return cap;
}

/** A download the RST in the client's name cut at the server, mid-body. */
function cutDownload(rstTtl: number, twice = true): Capture {
  const cap = new Capture();
  for (const t of twice ? [0, 5] : [0]) {
    const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2' });
    c.handshake(t).request(t + 0.01, get('/big'));
    c.response(t + 0.02, 'HTTP/1.1 200 OK\r\nContent-Length: 400000\r\n\r\n' + 'x'.repeat(1000));
    c.rst(t + 0.03, 'c', rstTtl);
  }
  return cap;
}

describe('reset-before-response: a RST whose connection has nothing else from its sender is judged by the host\'s other connections', () => {
  test('a stray request\'s RST with another TTL than the server\'s packets on its other connection is the path\'s (s03)', () => {
    const r = strayReset(60).analyze([resetBeforeResponse]);
    const [f] = resets(r);
    expect(f.evidence.resetFrom).toBe('path');
    expect(f.evidence.ttlComparedWith).toBe('host');
    expect(f.evidence.rstTtl).toBe(60);
    expect(f.evidence.serverTtl).toBe(64);
    expect(f.summary).toMatch(/RST in the server's name from another hop \(IP TTL 60, where the server's own packets on its other connections have 64\)/);
    expect(f.summary).not.toMatch(/socket was already closed/);
    const d = r.diagnoses.find((x) => x.anomalyIds.includes(f.id))!;
    expect(d.explanation).toMatch(/not that of the server's own packets on its other connections \(64\)/);
    expect(d.remedy).toMatch(/reject with tcp reset/);
  });

  test('near miss: the same RST with the server\'s own TTL (a capture on its host, loopback) stays the server\'s', () => {
    const r = strayReset(64).analyze([resetBeforeResponse]);
    const [f] = resets(r);
    expect(f.evidence.resetFrom).toBeUndefined();
    expect(f.summary).toMatch(/was reset by the server/);
  });

  test('with no other connection of the server nothing is compared: the server\'s diagnosis stands', () => {
    const cap = new Capture();
    const stray = cap.connection();
    stray.request(5, get('/small'), { noAck: true });
    stray.rst(5.0001, 's', 60);
    const [f] = resets(cap.analyze([resetBeforeResponse]));
    expect(f.evidence.resetFrom).toBeUndefined();
  });
});

describe('reset-before-response: a RST in the client\'s name from the path, mid-response, at the server', () => {
  test('is reported as the path\'s cut of the server\'s side, with both TTLs and a remedy about the rule (s08)', () => {
    const r = cutDownload(60).analyze([resetBeforeResponse]);
    const found = resets(r);
    expect(found).toHaveLength(2);
    for (const f of found) {
      expect(f.evidence).toMatchObject({ resetFrom: 'path', resetInNameOf: 'client', rstTtl: 60, clientTtl: '64', responseStarted: true, uri: '/big' });
      expect(f.summary).toMatch(/by a RST in the client's name from another hop \(IP TTL 60, where the client's own packets have 64\): a firewall, IPS or NAT gateway on the path reset the server's side, not the client/);
    }
    const d = r.diagnoses.find((x) => x.kind === 'reset-before-response')!;
    expect(d.anomalyIds).toHaveLength(2);
    expect(d.explanation).toMatch(/in the client's name that did not come from the client's host/);
    expect(d.explanation).toMatch(/the client did not reset it/);
    expect(d.remedy).toMatch(/reject with tcp reset/);
    expect(d.remedy).toMatch(/ct reply bytes/);
    expect(d.explanation + d.remedy).not.toMatch(/the server (crashed|stalled)|died/);
  });

  test('near miss: the client\'s own reset mid-response (its TTL) is its choice, not reported here', () => {
    expect(resets(cutDownload(64).analyze([resetBeforeResponse]))).toEqual([]);
  });

  test('a response already complete when the path reset it is no cut', () => {
    const cap = new Capture();
    const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2' });
    c.handshake(0).exchange(0.01, get('/'), ok());
    c.rst(1, 'c', 60);
    expect(resets(cap.analyze([resetBeforeResponse]))).toEqual([]);
  });
});

describe('reset-before-response: a firewall resetting downloads after 60000 bytes (samples/record/reset-before-response-firewall-bytes.sh)', () => {
  test('at the server: the cut in the client\'s name (TTL 64, the client\'s 63) is the path\'s; the client\'s own abort and the server\'s own reset are not', async () => {
    const r = await analyzeSample('reset-before-response-firewall-bytes-server-side');
    const found = resets(r);
    const cut = found.filter((f) => f.client === '10.133.1.2:43001');
    expect(cut.map((f) => [f.evidence.resetFrom, f.evidence.resetInNameOf, f.evidence.rstTtl, f.evidence.clientTtl])).toEqual([['path', 'client', 64, '63']]);
    // The near misses: the client's own RST mid-response (43002) is nobody's failure here; the
    // server's own abort (43003) keeps the server's diagnosis.
    expect(found.filter((f) => f.client === '10.133.1.2:43002')).toEqual([]);
    const crash = found.filter((f) => f.client === '10.133.1.2:43003');
    expect(crash.map((f) => f.evidence.resetFrom)).toEqual([undefined]);
    expect(crash[0].summary).toMatch(/was reset by the server/);
  });

  test('at the client: the server\'s own abort (TTL 63, that of its other packets) stays the server\'s', async () => {
    const r = await analyzeSample('reset-before-response-firewall-bytes');
    expect(resets(r).map((f) => [f.client, f.evidence.resetFrom])).toEqual([['10.133.1.2:43003', undefined]]);
  });
});

describe('the path\'s reset in the server\'s name is not "the server reset" elsewhere (blind round 17, s04)', () => {
  function idleResetThenRetry(rstTtl: number): AnalysisResult {
    const cap = new Capture();
    const first = cap.connection();
    first.handshake(0).exchange(0.01);
    first.request(8, get('/small'));
    first.rst(8.0001, 's', rstTtl);
    cap.connection().handshake(8.001).exchange(8.002, get('/small'));
    return cap.analyze();
  }

  test('retried-request tells the failure as the path\'s reset, with evidence resetByPath', () => {
    const retries = idleResetThenRetry(60).anomalies.filter((f) => f.kind === 'retried-request');
    expect(retries).toHaveLength(1);
    expect(retries[0].summary).toMatch(/a RST in the server's name from the path reset the connection/);
    expect(retries[0].summary).not.toMatch(/the server reset the connection/);
    expect(retries[0].evidence.resetByPath).toBe(true);
  });

  test('near miss: the server\'s own reset (its TTL) is still "the server reset the connection"', () => {
    const retries = idleResetThenRetry(64).anomalies.filter((f) => f.kind === 'retried-request');
    expect(retries).toHaveLength(1);
    expect(retries[0].summary).toMatch(/the server reset the connection/);
    expect(retries[0].evidence.resetByPath).toBeUndefined();
  });
});

describe('reset-before-response: both sides of a NAT captured and merged (blind round 17, s08 merged)', () => {
  // The client's view (10.0.0.1) shows a download that stops and the client's FIN 5 s later; the
  // translated view past the NAT (10.0.9.1, the same ISN) holds the path's RST in the client's
  // name. Before, the merged view kept the client leg's story: "the server stalled mid-body".
  function natDownload(twinRstTtl: number | null): AnalysisResult {
    const cap = new Capture();
    const near = cap.connection({ client: '10.0.0.1', cport: 40000, server: '10.0.0.2', isn: 7000 });
    const far = cap.connection({ client: '10.0.9.1', cport: 40000, server: '10.0.0.2', isn: 7000 });
    for (const [c, d] of [[near, 0], [far, 0.00001]] as const) {
      c.handshake(d).request(0.01 + d, get('/big'));
      c.response(0.02 + d, 'HTTP/1.1 200 OK\r\nContent-Length: 400000\r\n\r\n' + 'x'.repeat(1000));
    }
    if (twinRstTtl !== null) far.rst(0.03, 'c', twinRstTtl);
    near.fin(5, 'c');
    return cap.analyze();
  }

  test('the translated view\'s RST from another hop makes the cut the path\'s, on the analyzed flow; no "server stalled"', () => {
    const r = natDownload(60);
    const found = resets(r);
    expect(found.map((f) => [f.client, f.evidence.resetFrom, f.evidence.resetInNameOf, f.evidence.resetSeenPastTranslation])).toEqual([['10.0.0.1:40000', 'path', 'client', true]]);
    const d = r.diagnoses.find((x) => x.kind === 'reset-before-response')!;
    expect(d.explanation).toMatch(/past the address translation/);
    expect(r.anomalies.filter((f) => f.kind === 'response-abandoned')).toEqual([]);
  });

  test('near misses: the client\'s own RST on that view (its TTL), or none, tell nothing of the path', () => {
    for (const ttl of [64, null]) expect(resets(natDownload(ttl))).toEqual([]);
  });
});
