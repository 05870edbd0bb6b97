/**
 * Application servers and clients checked in round 9 (gunicorn, Tomcat, Python requests/urllib3):
 * what conncheck says on the recorded samples (samples/record/*-gunicorn.sh, *-tomcat.sh, checked
 * against the programs' own logs while recording), and the mechanisms behind it on synthetic
 * traffic: a server timeout checked on a periodic tick (gunicorn's arbiter kills a sync worker whose
 * request outlived --timeout on its once-a-second check) closes requests at ages spread over up to
 * a second; no single value is inferred, and it is diagnosed as such rather than not at all.
 */
import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { KNOWN_IDLE_TIMEOUTS, KNOWN_REQUEST_TIMEOUTS, matchKnown } from '../../src/detect/known-timeouts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeSample, SAMPLES_DIR } from '../samples';

/** What a sample's recorder measured and wrote beside it (the counts below follow a re-recording). */
interface X9Meta {
  expect: Array<{ kind: string | null; client: string | null; evidence?: Record<string, unknown> }>;
  observed: { races?: Array<{ method: string; serverReaction?: string; retriedBy: string | null }> };
}
function metaOf(name: string): X9Meta {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, `${name}.meta.json`), 'utf8')) as X9Meta;
}
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'unanswered-request';

/** A request the server ACKs and never answers; the server (or the client) closes `wait` s after it. */
function hung(cap: Capture, at: number, wait: number, closer: 'c' | 's' = 's', uri = '/slow'): void {
  const conn = cap.connection({});
  conn.handshake(at).request(at + 0.001, get(uri));
  conn.close(at + 0.001 + wait, closer);
}

function diagnosesOf(cap: Capture) {
  return cap.analyze([unansweredRequest]).diagnoses.filter((d) => d.kind === KIND);
}

describe('server closes checked on a periodic tick (synthetic)', () => {
  test('ages 2.1-2.9 s, closes spread in time: one tick-checked timeout, at most the shortest age, no value inferred', () => {
    const cap = new Capture();
    [2.1, 2.5, 2.9, 2.3].forEach((wait, i) => hung(cap, i * 4, wait));
    const r = cap.analyze([unansweredRequest]);
    expect(ofKind(r, KIND)).toHaveLength(4);
    const ds = r.diagnoses.filter((d) => d.kind === KIND);
    expect(ds).toHaveLength(1);
    expect(ds[0].count).toBe(4);
    expect(ds[0].inferred).toEqual({});
    expect(ds[0].explanation).toContain('periodic tick');
    expect(ds[0].explanation).toContain('at most 2.1 s');
    expect(ds[0].explanation).toContain('HARAKIRI');
    expect(ds[0].explanation).toContain('WORKER TIMEOUT');
    expect(ds[0].remedy).toContain('--timeout');
  });

  test('a precise timer with one odd close keeps its serverTimeout (the cluster holds 3 of 4)', () => {
    const cap = new Capture();
    [2, 2.001, 2.002, 2.8].forEach((wait, i) => hung(cap, i * 4, wait));
    const ds = diagnosesOf(cap);
    expect(ds).toHaveLength(2);
    expect(ds[0].inferred.serverTimeout.value).toBeCloseTo(2.001, 3);
    expect(ds[0].count).toBe(3);
    // The odd close on its own, with no value.
    expect(ds[1]).toMatchObject({ count: 1, inferred: {} });
  });

  /** Claimed: no value, no tick; only what closed the requests, in one diagnosis. */
  const claimsNothing = (cap: Capture, n: number): void => {
    const ds = diagnosesOf(cap);
    expect(ds.map((d) => [d.count, d.inferred])).toEqual([[n, {}]]);
    expect(ds[0].explanation).toContain('Their waits do not agree, so they infer no single timeout');
    expect(ds[0].explanation).not.toContain('periodic tick');
  };

  test('ages spread over more than a tick are no tick-checked timeout (no value claimed)', () => {
    const cap = new Capture();
    [2, 3.5, 5].forEach((wait, i) => hung(cap, i * 6, wait));
    claimsNothing(cap, 3);
  });

  test('two closes are too few to tell a tick', () => {
    const cap = new Capture();
    [2.1, 2.7].forEach((wait, i) => hung(cap, i * 4, wait));
    claimsNothing(cap, 2);
  });

  test('a spread wider than the shortest age is no tick (a 1 s tick does not check a 0.2 s timeout)', () => {
    const cap = new Capture();
    [0.2, 0.6, 0.9].forEach((wait, i) => hung(cap, i * 2, wait));
    claimsNothing(cap, 3);
  });

  test('clients that give up at spread ages are not claimed as a server tick', () => {
    const cap = new Capture();
    [2.1, 2.5, 2.9].forEach((wait, i) => hung(cap, i * 4, wait, 'c'));
    expect(diagnosesOf(cap).filter((d) => d.explanation.includes('periodic tick'))).toEqual([]);
  });
});

describe('keep-alive races some with RST, some without (synthetic)', () => {
  /** A connection used once, idle-closed by the server (FIN) after 2 s, reused just as the FIN left. */
  function crossing(cap: Capture, at: number, reset: boolean): void {
    const c = cap.connection({});
    c.handshake(at).exchange(at + 0.01, get('/a'), ok('first'));
    c.fin(at + 2.011, 's');
    c.request(at + 2.016, get('/b'), { sawFin: false, noAck: reset });
    if (reset) c.rst(at + 2.0161, 's');
    else c.fin(at + 2.02, 'c');
  }

  test('the diagnosis says what the ones without a RST got (Tomcat ACKs and drops some): EOF, not only the RST of the others', () => {
    const cap = new Capture();
    crossing(cap, 0, true);
    crossing(cap, 3, false);
    crossing(cap, 6, false);
    const r = cap.analyze([keepaliveRace]);
    expect(ofKind(r, 'keepalive-race')).toHaveLength(3);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('The server answered 1 with RST');
    expect(d.explanation).toContain('The other 2 got neither a RST nor a response');
  });

  test('all reset: no word of others', () => {
    const cap = new Capture();
    crossing(cap, 0, true);
    crossing(cap, 3, true);
    const [d] = cap.analyze([keepaliveRace]).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('The server answered each with RST');
    expect(d.explanation).not.toContain('The other');
  });
});

describe('client closes right after use are no client idle timeout (synthetic)', () => {
  /** Server idle closes after 2 s, reuses near them (so the mismatch is reported), and `n` connections the client closes `after` s after their response. */
  function scene(after: number, n = 3): Capture {
    const cap = new Capture();
    for (let i = 0; i < 4; i++) {
      const c = cap.connection({});
      c.handshake(i * 0.1).exchange(i * 0.1 + 0.01, get('/p'), ok('x'));
      c.close(i * 0.1 + 2.0111 + i * 0.001, 's');
    }
    const r = cap.connection({});
    r.handshake(0.5).exchange(0.51, get('/r'), ok('x')).exchange(2.45, get('/r'), ok('x'));
    r.close(2.47, 'c');
    for (let i = 0; i < n; i++) {
      const c = cap.connection({});
      c.handshake(3 + i * 3).exchange(3.01 + i * 3, get('/q'), ok('x'));
      c.close(3.0111 + i * 3 + after + i * 0.0005, 'c');
    }
    return cap;
  }

  test('a session closed 11 ms after its last response (requests.Session.close, a process done) infers no clientIdleTimeout', () => {
    const [d] = scene(0.011).analyze([keepaliveRace, idleTimeoutMismatch]).diagnoses.filter((x) => x.kind === 'idle-timeout-mismatch');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(2.0, 1);
    expect(d.inferred.clientIdleTimeout).toBeUndefined();
  });

  test('a pool that closes connections idle for 1 s still infers clientIdleTimeout', () => {
    const [d] = scene(1.0).analyze([keepaliveRace, idleTimeoutMismatch]).diagnoses.filter((x) => x.kind === 'idle-timeout-mismatch');
    expect(d.inferred.clientIdleTimeout.value).toBeCloseTo(1.0, 2);
  });
});

describe('known defaults of application servers', () => {
  test('gunicorn --keep-alive 2 s and --timeout 30 s, Tomcat keepAliveTimeout 20 s', () => {
    expect(matchKnown(2.002, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/gunicorn --keep-alive/);
    expect(matchKnown(20.01, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/Tomcat keepAliveTimeout/);
    expect(matchKnown(30, KNOWN_REQUEST_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/gunicorn --timeout/);
  });
});

describe('Tomcat samples', () => {
  test('maxKeepAliveRequests closes (Connection: close on the 5th response) and idle closes are healthy: nothing reported', async () => {
    const r = await analyzeSample('healthy-tomcat');
    expect(r.anomalies).toEqual([]);
    expect(r.diagnoses).toEqual([]);
  });

  test('keep-alive race: every crossing named, with or without Tomcat\'s RST; the idle timeout and its Keep-Alive hint inferred', async () => {
    const r = await analyzeSample('keepalive-race-tomcat');
    const meta = metaOf('keepalive-race-tomcat');
    const expected = meta.expect.filter((e) => e.kind === 'keepalive-race');
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
    for (const f of races) expect(f.evidence.form).toBe(expected.find((e) => e.client === f.client)?.evidence?.form);
    const reset = (meta.observed.races ?? []).filter((x) => x.serverReaction === 'RST').length;
    expect(races.filter((f) => f.evidence.outcome === 'reset')).toHaveLength(reset);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(2.0, 1);
    // As recorded, Tomcat reset some late requests and ACKed and dropped the others: the diagnosis says both.
    if (reset > 0 && reset < races.length) expect(d.explanation).toContain('got neither a RST nor a response');
    const [m] = r.diagnoses.filter((x) => x.kind === 'idle-timeout-mismatch');
    expect(m.inferred.advertisedKeepAliveTimeout.value).toBe(2);
  });
});

describe("gunicorn and uWSGI samples", () => {
  test('keep-alive race against gthread workers: every crossing named, urllib3 retries found, gunicorn --keep-alive named', async () => {
    const r = await analyzeSample('keepalive-race-gunicorn');
    const meta = metaOf('keepalive-race-gunicorn');
    const expected = meta.expect.filter((e) => e.kind === 'keepalive-race');
    const races = r.anomalies.filter((f) => f.kind === 'keepalive-race');
    expect(races.map((f) => f.client).sort()).toEqual(expected.map((e) => e.client).sort());
    for (const f of races) expect(f.evidence.form).toBe(expected.find((e) => e.client === f.client)?.evidence?.form);
    expect(races.filter((f) => f.evidence.method === 'POST').length).toBe(expected.filter((e) => e.evidence?.method === 'POST').length);
    const retried = meta.observed.races?.filter((x) => x.retriedBy === 'urllib3') ?? [];
    expect(retried.length).toBeGreaterThan(0);
    expect(r.anomalies.filter((f) => f.kind === 'retried-request')).toHaveLength(retried.length);
    const [d] = r.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(2.0, 1);
    expect(d.explanation).toContain('gunicorn --keep-alive');
    expect(d.remedy).toContain('Python requests/urllib3');
  });

  test('worker killed at --timeout: each request unanswered (server FIN, ACKed), one tick-checked timeout, no invented value', async () => {
    const r = await analyzeSample('worker-timeout-gunicorn');
    const found = r.anomalies.filter((f) => f.kind === KIND);
    expect(found).toHaveLength(3);
    for (const f of found) expect(f.evidence).toMatchObject({ closedBy: 'server', closedWith: 'FIN', serverAcked: true });
    const ds = r.diagnoses.filter((d) => d.kind === KIND);
    expect(ds).toHaveLength(1);
    expect(ds[0].count).toBe(3);
    expect(ds[0].inferred).toEqual({});
    expect(ds[0].explanation).toContain('WORKER TIMEOUT');
  });

  test('behind nginx: the findings are on the upstream connections, nginx\'s 502s are not called a gateway timeout', async () => {
    const r = await analyzeSample('worker-timeout-gunicorn-nginx');
    const found = r.anomalies.filter((f) => f.kind === KIND && f.evidence.relayedBackendClose !== true);
    expect(found).toHaveLength(3);
    for (const f of found) expect(f.server).toBe('127.0.0.1:8081');
    // nginx's 502 for each, on its client's connection: the relay of that close, no timer of nginx's.
    const relayed = r.anomalies.filter((f) => f.kind === KIND && f.evidence.relayedBackendClose === true);
    expect(relayed.map((f) => [f.server, f.evidence.status])).toEqual(Array(3).fill(['127.0.0.2:8080', 502]));
    expect(r.anomalies.filter((f) => f.kind === 'gateway-timeout')).toEqual([]);
    const ds = r.diagnoses.filter((d) => d.kind === KIND);
    expect(ds).toHaveLength(1);
    expect(ds[0].inferred).toEqual({});
    expect(ds[0].explanation).toContain('periodic tick');
    expect(ds[0].explanation).toContain('nginx/1.22.1 (127.0.0.2:8080) answered its clients 502 for 3 of them');
    expect(ds[0].anomalyIds.sort()).toEqual([...found, ...relayed].map((f) => f.id).sort());
  });

  test('uWSGI harakiri (whole seconds, the master\'s 1 s check, SIGKILL): the same tick-checked diagnosis, no invented value', async () => {
    const r = await analyzeSample('worker-timeout-uwsgi');
    const found = r.anomalies.filter((f) => f.kind === KIND);
    expect(found).toHaveLength(3);
    for (const f of found) expect(f.evidence).toMatchObject({ closedBy: 'server', closedWith: 'FIN', serverAcked: true });
    const ds = r.diagnoses.filter((d) => d.kind === KIND);
    expect(ds).toHaveLength(1);
    expect(ds[0].inferred).toEqual({});
    expect(ds[0].explanation).toContain('harakiri');
  });
});
