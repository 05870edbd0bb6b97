import * as fs from 'node:fs';
import * as path from 'node:path';
import { SAMPLES_DIR, analyzeSample, listSamples } from '../samples';
import { DETECTORS } from '../../src/detect/registry';
import { Capture, get, ofKind, ok } from './reuse-kit';

/**
 * A proxy whose pool hands a request the pooled connection the backend closed idle a moment
 * before (its FIN arrived, unread): Node's http.Agent fails the request with "socket hang up"
 * before writing it, and the proxy answers 502 within a few ms, nothing sent upstream. The same
 * backend idle timer also crosses a forwarded request (a keep-alive race seen upstream).
 *
 * Client 10.0.0.1 → proxy 10.0.0.2:80 (one keep-alive connection) → backend 10.0.0.3:8080. Each
 * POST /items is forwarded on its own upstream connection that had served a GET 1 s before.
 */
const POST = `POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`;
const BAD_GATEWAY = ok('bad gateway', [], 'HTTP/1.1', '502 Bad Gateway');

interface Pick {
  /** Seconds from the backend's FIN to the client's request (negative: the FIN came after it). */
  finBefore: number;
  /** Seconds from the client's request to the proxy's 502. */
  answerAfter: number;
}

function relay(picks: ReadonlyMap<number, Pick>, races: readonly number[] = [1], n = 6): Capture {
  const cap = new Capture();
  const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
  down.handshake(0);
  for (let i = 0; i < n; i++) {
    const t = 2 + i * 2;
    const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
    up.handshake(t - 1.01).exchange(t - 1.0, get('/warm'), ok('warm'));
    down.request(t, POST);
    const pick = picks.get(i);
    if (pick !== undefined) {
      // The backend's idle close; the proxy never writes on it, and closes its side after the 502.
      up.fin(t - pick.finBefore, 's');
      down.response(t + pick.answerAfter, BAD_GATEWAY);
      up.fin(t + pick.answerAfter + 0.0001, 'c');
    } else if (races.includes(i)) {
      up.fin(t + 0.0002, 's');
      up.request(t + 0.0003, POST, { sawFin: false, noAck: true });
      up.rst(t + 0.0004, 's');
      down.response(t + 0.0006, BAD_GATEWAY);
    } else {
      up.exchange(t + 0.0003, POST, ok('created'));
      down.response(t + 0.002, ok('created'));
      up.close(t + 0.5, 'c');
    }
  }
  return cap;
}

const picked = (r: ReturnType<Capture['analyze']>) => ofKind(r, 'keepalive-race').filter((f) => f.evidence.form === 'pool-picked-closed');

describe("keepalive-race: a proxy's 502 for a request its pool never sent, on a connection the backend had just closed", () => {
  test('a 502 within ms of the request, the backend having idle-closed a pooled connection 0.7 ms before: a finding with the race', () => {
    const r = relay(new Map([[3, { finBefore: 0.0007, answerAfter: 0.004 }], [4, { finBefore: -0.001, answerAfter: 0.005 }]])).analyze(DETECTORS);
    const found = picked(r);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatchObject({ client: '10.0.0.1:40000', server: '10.0.0.2:80' });
    expect(found[0].evidence).toMatchObject({ status: 502, sentUpstream: false, exchangeIndex: 4 });
    expect(found[0].summary).toContain('never sent upstream');
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.anomalyIds).toHaveLength(3);
    expect(d.explanation).toContain('of the 1 requests that met the race upstream it forwarded 1 from its clients, and 2 more it never sent upstream: the pool picked a connection the backend had just closed');
    expect(d.explanation).toContain('answered 502 for 3 (2 of them never sent upstream)');
    // Explained: no intermittent or no-upstream finding for them.
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
  });

  describe('near misses stay silent', () => {
    test('the backend idle-closed the connection 0.5 s before the request (the pool had long seen that FIN)', () => {
      const r = relay(new Map([[3, { finBefore: 0.5, answerAfter: 0.004 }]])).analyze(DETECTORS);
      expect(picked(r)).toEqual([]);
      expect(r.diagnoses.find((x) => x.kind === 'keepalive-race')?.explanation).toContain('answered 502 for 1.');
    });

    test('a 502 answered 0.5 s after the request: a wait, not a pick of a closed connection', () => {
      expect(picked(relay(new Map([[3, { finBefore: -0.3, answerAfter: 0.5 }]])).analyze(DETECTORS))).toEqual([]);
    });
  });
});

describe('recorded: keepalive-race-node-proxy-pool (Node proxy, http.Agent keepAlive, Python backend idle-closing after 2 s)', () => {
  const name = 'keepalive-race-node-proxy-pool';
  const run = listSamples().some((s) => s.name === name) ? test : test.skip;
  run("every 502 the proxy answered is the backend's idle-close race, those never sent upstream included", async () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as { measured: { client502: number } };
    const r = await analyzeSample(name);
    const found = picked(r);
    expect(found.length).toBeGreaterThan(0);
    for (const f of found) expect(f.evidence).toMatchObject({ status: 502, sentUpstream: false });
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain(`answered 502 for ${meta.measured.client502} (${found.length} of them never sent upstream)`);
    expect(ofKind(r, 'intermittent-5xx')).toEqual([]);
  });
});
