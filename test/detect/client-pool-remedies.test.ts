import { connectionChurn } from '../../src/detect/detectors/connection-churn';
import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { retriedRequest } from '../../src/detect/detectors/retried-request';
import { clientProduct } from '../../src/detect/known-timeouts';
import { Capture, get, ofKind, ok } from './reuse-kit';

/**
 * Blind round 16 ("pools"): remedies named for the client stack its User-Agent shows
 * (HttpURLConnection `Java/…` apart from java.net.http `Java-http-client/…`, urllib3, requests),
 * a client that keeps connections for the server's Keep-Alive hint, and a client that turned
 * keep-alive off.
 */

const post = (path: string, agent: string): string =>
  `POST ${path} HTTP/1.1\r\nHost: example\r\nUser-Agent: ${agent}\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbody`;

describe('client products: HttpURLConnection apart from java.net.http', () => {
  test('each agent finds its own product and settings', () => {
    const huc = clientProduct('Java/17.0.15')!;
    expect(huc.idleSetting).toContain('`http.keepAlive.time.server`');
    expect(huc.idleSetting).toContain("exactly as long as the server's `Keep-Alive: timeout` says");
    expect(huc.hintMargin).toBe(0);
    expect(huc.resendsItself).toContain('`-Dsun.net.http.retryPost=false`');
    const jhc = clientProduct('Java-http-client/17.0.15')!;
    expect(jhc.idleSetting).toContain('jdk.httpclient.keepalive.timeout');
    expect(jhc.hintMargin).toBeUndefined();
    expect(clientProduct('python-urllib3/2.7.0')!.idleRoomSetting).toContain('`maxsize`');
    expect(clientProduct('python-requests/2.28.1')!.idleRoomSetting).toContain('`HTTPAdapter(pool_maxsize=N)`');
  });
});

describe('keepalive-race: HttpURLConnection resends POSTs itself (S3)', () => {
  /** A Go-like server closing idle connections after 3 s (no hint); `agent`'s POSTs cross its FIN and are sent again on a new connection. */
  function s3(agent: string): ReturnType<Capture['analyze']> {
    const cap = new Capture();
    for (let i = 0; i < 4; i++) {
      const t = i * 0.2;
      cap.connection().handshake(t).exchange(t + 0.01, post('/p', agent), ok('x')).close(t + 0.0111 + 3.0 + i * 0.0005, 's');
    }
    for (let k = 0; k < 3; k++) {
      const at = 10 + k * 10;
      const c = cap.connection();
      c.handshake(at).exchange(at + 0.01, post('/p', agent), ok('x'));
      // Its request crosses the server's FIN at 3.0 s idle, and the server answers it with a RST.
      c.fin(at + 3.0111, 's').request(at + 3.0112, post('/p', agent)).rst(at + 3.0113, 's');
      const again = cap.connection();
      again.handshake(at + 3.013).exchange(at + 3.014, post('/p', agent), ok('x')).close(at + 3.02, 'c');
    }
    return cap.analyze([keepaliveRace, retriedRequest, idleTimeoutMismatch]);
  }

  test('Java/…: its idle property in whole seconds, and its own POST resends with the switch that stops them', () => {
    const r = s3('Java/17.0.15');
    expect(ofKind(r, 'keepalive-race').length).toBe(3);
    const d = r.diagnoses.find((x) => x.kind === 'keepalive-race')!;
    expect(d.remedy).toContain('`http.keepAlive.time.server` system property, in seconds (5 s by default');
    expect(d.remedy).toContain('whole seconds only, so 2 s here');
    expect(d.remedy).toContain('Java HttpURLConnection sends a request that failed so on a cached connection again once by itself, a POST with its body too (`-Dsun.net.http.retryPost=false`');
  });

  test('near miss: java.net.http HttpClient (Java-http-client/…) gets its own property and no HttpURLConnection words', () => {
    const d = s3('Java-http-client/17.0.15').diagnoses.find((x) => x.kind === 'keepalive-race')!;
    expect(d.remedy).toContain('`jdk.httpclient.keepalive.timeout`');
    expect(d.remedy).not.toContain('retryPost');
    expect(d.remedy).not.toContain('http.keepAlive.time.server');
  });
});

describe('idle-timeout-mismatch: a client that keeps connections for the hint, which the server applies with no margin (S12)', () => {
  /** A server that advertises 5 s and closes at 5.003 s; one connection of `agent` reused after `gaps`. */
  function s12(agent: string, gaps: number[]): ReturnType<Capture['analyze']> {
    const cap = new Capture();
    const hint = ['Keep-Alive: timeout=5'];
    for (let i = 0; i < 4; i++) {
      const t = i * 0.1;
      cap.connection().handshake(t).exchange(t + 0.01, get('/p', [`User-Agent: ${agent}`]), ok('x', hint)).close(t + 0.0111 + 5.003 + i * 0.001, 's');
    }
    const c = cap.connection();
    let t = 20;
    c.handshake(t).exchange(t + 0.01, get('/r', [`User-Agent: ${agent}`]), ok('x', hint));
    t += 0.0111;
    for (const gap of gaps) {
      t += gap;
      c.exchange(t, get('/r', [`User-Agent: ${agent}`]), ok('x', hint));
      t += 0.0011;
    }
    c.close(t + 0.001, 'c');
    return cap.analyze([keepaliveRace, idleTimeoutMismatch]);
  }

  test('HttpURLConnection reusing up to 4.99 s under Keep-Alive: timeout=5, none failed: info, and the lever is the hint', () => {
    const r = s12('Java/17.0.15', [4.9, 4.99]);
    const [f] = ofKind(r, 'idle-timeout-mismatch');
    expect(f.severity).toBe('info');
    expect(f.summary).toContain('clients that keep connections for that hint reused them after up to');
    const d = r.diagnoses.find((x) => x.kind === 'idle-timeout-mismatch')!;
    expect(d.severity).toBe('info');
    expect(d.explanation).toContain('None did: every one came before the advertised Keep-Alive: timeout=5');
    expect(d.explanation).toContain('the hint leaves no margin');
    expect(d.remedy).toContain('Server: advertise less than the timeout it applies (Keep-Alive: timeout=4 or less');
    expect(d.remedy).not.toContain('Client: close pooled connections');
  });

  test('near miss: a client that ignores the hint (java.net.http) at the same idle stays a warning with the client remedy', () => {
    const r = s12('Java-http-client/17.0.15', [4.9, 4.99]);
    const [f] = ofKind(r, 'idle-timeout-mismatch');
    expect(f.severity).toBe('warning');
    expect(r.diagnoses.find((x) => x.kind === 'idle-timeout-mismatch')!.remedy).toContain('Client: close pooled connections idle for more than');
  });
});

describe('connection-churn: the stack\'s own knobs', () => {
  test('urllib3 that pools with too little idle room (S8): its `maxsize`, not Go\'s, Node\'s or a requests Session', () => {
    const cap = new Capture();
    const ua = ['User-Agent: python-urllib3/2.7.0'];
    for (let i = 0; i < 12; i++) {
      const t = i * 0.05;
      cap.connection().handshake(t).exchange(t + 0.001, get(`/i/${i}`, ua), ok('x')).close(t + 0.003, 'c');
    }
    const kept = cap.connection();
    kept.handshake(0.01);
    for (let k = 0; k < 6; k++) kept.exchange(0.02 + k * 0.1, get(`/k/${k}`, ua), ok('x'));
    kept.close(0.8, 'c');
    const d = cap.analyze([connectionChurn]).diagnoses.find((x) => x.kind === 'connection-churn')!;
    expect(d.explanation).toContain("urllib3: the pool's `maxsize`");
    expect(d.remedy).toContain("urllib3: the pool's `maxsize` (`PoolManager(maxsize=N)`, 1 by default per host");
    expect(d.remedy).not.toContain('MaxIdleConnsPerHost');
    expect(d.remedy).not.toContain('requests.Session');
  });

  /** `n` one-request connections 0.1 s apart whose requests say Connection: close, closed by the server as asked. */
  function askedClose(n: number, agent: string): ReturnType<Capture['analyze']> {
    const cap = new Capture();
    for (let i = 0; i < n; i++) {
      const t = i * 0.1;
      cap.connection().handshake(t).exchange(t + 0.001, get(`/i/${i}`, [`User-Agent: ${agent}`, 'Connection: close']), ok('x', ['Connection: close'])).close(t + 0.003, 's');
    }
    return cap.analyze([connectionChurn]);
  }

  test('HttpURLConnection with -Dhttp.keepAlive=false (S19): Connection: close on every request at a steady rate is the churn info, its keep-alive setting the remedy', () => {
    const r = askedClose(20, 'Java/17.0.15');
    const [f, ...rest] = ofKind(r, 'connection-churn');
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ oneRequestConnections: 20, requestsSaidClose: 20, clientClosesFirst: false, timeWaitEstimate: 0 });
    const d = r.diagnoses.find((x) => x.kind === 'connection-churn')!;
    expect(d.explanation).toContain('keep-alive is turned off in the client');
    expect(d.explanation).toContain("the TIME_WAITs are the server's");
    expect(d.remedy).toContain('`-Dhttp.keepAlive=false` sends Connection: close on every request');
  });

  test('near miss: fewer such connections than the threshold stay silent (the same threshold as without the header)', () => {
    expect(ofKind(askedClose(9, 'Java/17.0.15'), 'connection-churn')).toEqual([]);
  });
});
