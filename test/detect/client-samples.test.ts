/**
 * HTTP clients checked in round 11 (Node 20's fetch / undici 6.24, Go 1.19's net/http client): what
 * conncheck says on the recorded samples (samples/record/keepalive-race-node-fetch.sh,
 * keepalive-race-go-client.sh, healthy-node-fetch-keepalive-hint.sh,
 * unanswered-request-node-fetch-timeout.sh), each checked against the client's own log (undici's
 * diagnostics channels, Go's httptrace) while recording. The counts come from each sample's meta,
 * so the assertions hold when a sample is recorded again.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeSample, SAMPLES_DIR } from '../samples';

interface X11Race {
  client: string;
  method: string;
  form: string;
  idempotencyKey: boolean;
  retriedByClient: boolean;
  causeCode?: string | null;
}
interface X11Meta {
  configured: Record<string, number>;
  expect: Array<{ kind: string | null; client: string | null; evidence?: Record<string, unknown> }>;
  observed: { races?: X11Race[]; clientGaveUpAfterSeconds?: number[]; clientIdleCloseSeconds?: number[] };
}
function metaOf(name: string): X11Meta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as X11Meta;
}
const has = (name: string): boolean => fs.existsSync(path.join(SAMPLES_DIR, `${name}.pcap`));

describe('Node 20 fetch (undici)', () => {
  const race = 'keepalive-race-node-fetch';
  (has(race) ? test : test.skip)('keep-alive race against nginx: every failed fetch named, none retried; fetch\'s error named', async () => {
    const r = await analyzeSample(race);
    const meta = metaOf(race);
    const expected = meta.observed.races ?? [];
    expect(expected.length).toBeGreaterThan(0);
    // undici sends each request once: what failed stayed failed.
    expect(expected.every((x) => !x.retriedByClient && x.causeCode === 'UND_ERR_SOCKET')).toBe(true);
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races.map((f) => f.client).sort()).toEqual(expected.map((x) => x.client).sort());
    for (const f of races) {
      expect(f.evidence.form).toBe(expected.find((x) => x.client === f.client)?.form);
      expect(f.evidence.retried).toBe(false);
    }
    expect(r.anomalies.filter((f) => f.kind === 'retried-request')).toEqual([]);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(Math.abs(d.inferred.serverIdleTimeout.value - meta.configured.serverIdleTimeout)).toBeLessThan(0.02);
    expect(d.explanation).toContain('other side closed');
    expect(d.remedy).toContain("Node's fetch does not retry");
    // A stale reuse by the ACK number, written as the FIN came in: undici drops sockets on 'end', so
    // the remedy must not tell it to.
    const stale = races.filter((f) => f.evidence.form === 'stale-reuse');
    const inFlight = stale.filter((f) => typeof f.evidence.finHeldByClient === 'number' && f.evidence.finHeldByClient < 0.01);
    if (inFlight.length > 0) expect(d.explanation).toContain(`${inFlight.length} left the client less than 10 ms after the FIN reached it`);
    if (inFlight.length === stale.length) expect(d.remedy).not.toContain('must check the socket before reuse');
  });

  const hint = 'healthy-node-fetch-keepalive-hint';
  (has(hint) ? test : test.skip)('undici honours Keep-Alive: timeout=4 less 2 s and closes first: nothing reported', async () => {
    const r = await analyzeSample(hint);
    const meta = metaOf(hint);
    expect(meta.observed.clientIdleCloseSeconds?.length).toBeGreaterThan(0);
    for (const s of meta.observed.clientIdleCloseSeconds ?? []) expect(Math.abs(s - meta.configured.clientIdleTimeout)).toBeLessThan(0.05);
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });

  const timeout = 'unanswered-request-node-fetch-timeout';
  (has(timeout) ? test : test.skip)('AbortSignal.timeout(1000): each aborted request unanswered, clientTimeout ≈ 1 s, fetch (User-Agent node) named in the remedy', async () => {
    const r = await analyzeSample(timeout);
    const meta = metaOf(timeout);
    const expected = meta.expect.filter((e) => e.kind === 'unanswered-request');
    const found = r.anomalies.filter((f) => f.kind === 'unanswered-request');
    expect(found.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
    const [d] = r.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(Math.abs(d.inferred.clientTimeout.value - meta.configured.clientTimeout)).toBeLessThan(0.02);
    expect(d.remedy).toContain('AbortSignal.timeout');
    expect(d.explanation).toContain('its User-Agent says `node`');
    // Only the client that gave up: not every client's setting.
    expect(d.remedy).not.toContain('http.Client `Timeout`');
  });
});

describe("Go's net/http client", () => {
  const race = 'keepalive-race-go-client';
  (has(race) ? test : test.skip)('keep-alive race: every crossing named; Go\'s transparent retries named, keyed POSTs not called blind', async () => {
    const r = await analyzeSample(race);
    const meta = metaOf(race);
    const expected = meta.observed.races ?? [];
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races.map((f) => f.client).sort()).toEqual(expected.map((x) => x.client).sort());
    for (const f of races) {
      const x = expected.find((e) => e.client === f.client)!;
      expect(f.evidence.form).toBe(x.form);
      // The race on the first attempt is reported even when Go's retry hid it from the application.
      expect(f.evidence.retried).toBe(x.retriedByClient);
    }
    const retried = expected.filter((x) => x.retriedByClient);
    expect(retried.length).toBeGreaterThan(0);
    // Go replays GETs and POSTs with an Idempotency-Key, never a plain POST.
    expect(retried.every((x) => x.method === 'GET' || x.idempotencyKey)).toBe(true);
    const retries = r.anomalies.filter((f) => f.kind === 'retried-request');
    expect(retries).toHaveLength(retried.length);
    const keyed = retries.filter((f) => f.evidence.idempotencyKey === true);
    expect(keyed).toHaveLength(retried.filter((x) => x.idempotencyKey).length);
    for (const f of keyed) {
      expect(f.severity).toBe('info');
      expect(f.summary).not.toContain('blind retry');
    }
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(Math.abs(d.inferred.serverIdleTimeout.value - meta.configured.serverIdleTimeout)).toBeLessThan(0.02);
    expect(d.explanation).toContain(`${retried.length} were sent again on a new connection`);
    expect(d.remedy).toContain("Go's Transport already sends a request that failed so on a reused connection again");
  });
});
