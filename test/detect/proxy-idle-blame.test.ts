/**
 * Whose idle timer, whose pool (blind round 16, pools S6, S16, S20): a `Server` header a proxy passes
 * on names its backend, and a `User-Agent` a proxy passes on names its client. What tells a proxy
 * wrote the head: field names in lower case where the named software writes them capitalized
 * (HAProxy 2.x and Envoy write every field name in lower case).
 */
import { connectionChurn } from '../../src/detect/detectors/connection-churn';
import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { retriedRequest } from '../../src/detect/detectors/retried-request';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { analyzeSample } from '../samples';
import { Capture, get, ofKind } from './reuse-kit';

const only = [keepaliveRace, idleTimeoutMismatch, retriedRequest];

function response(serverField: string | null, extra: string[] = [], lower = false): string {
  const fields = [...(serverField === null ? [] : [serverField]), 'Content-Type: text/plain', 'Content-Length: 3', ...extra];
  return `HTTP/1.1 200 OK\r\n${fields.map((f) => (lower ? f.replace(/^[^:]+/, (n) => n.toLowerCase()) : f)).join('\r\n')}\r\n\r\nok\n`;
}

/**
 * A front at 10.0.0.2:80 that closes idle client connections after 2.002 s, five times, a request
 * crossing each FIN (a pooled client, urllib3), answered with `head`.
 */
function frontRaces(cap: Capture, head: string, agentField = 'User-Agent: python-urllib3/2.7.0'): void {
  for (let k = 0; k < 5; k++) {
    const at = k * 10;
    const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
    c.handshake(at).exchange(at + 0.01, get(`/a${k}`, [agentField]), head);
    const finAt = at + 0.011 + 2.002 + k * 0.0003;
    c.fin(finAt, 's');
    c.request(finAt + 0.05, get(`/b${k}`, [agentField]), { sawFin: false, noAck: true });
    c.rst(finAt + 0.05004, 's');
  }
}

describe('a front proxy\'s idle close, its Server header its backend\'s (pools S6)', () => {
  test('`server: nginx/1.22.1` in lower case: the idle timer is the proxy\'s (HAProxy `timeout http-keep-alive`), not nginx\'s keepalive_timeout', () => {
    const cap = new Capture();
    frontRaces(cap, response('Server: nginx/1.22.1', [], true));
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('10.0.0.2:80 (a proxy in front, passing on `server: nginx/1.22.1` in lower case) closes idle keep-alive connections after ~2.00');
    expect(d.remedy).toContain('the idle timer is the proxy\'s: HAProxy `timeout http-keep-alive`');
    expect(d.remedy).toContain('nginx `keepalive_timeout` (75 s by default) is the backend\'s, for the proxy\'s own connections to it');
    // Before: "(its responses say `Server: nginx/1.22.1`: nginx `keepalive_timeout` (75 s by default); unless a proxy in front ...)".
    expect(d.remedy).not.toContain(': nginx `keepalive_timeout` (75 s by default); unless a proxy');
    const [m] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'idle-timeout-mismatch');
    expect(m.explanation).toContain('(a proxy in front, passing on `server: nginx/1.22.1` in lower case)');
    expect(m.remedy).toContain('HAProxy `timeout http-keep-alive`');
  });

  test('near miss: nginx\'s own `Server: nginx/1.22.1` (capitalized), no backend in the capture: nginx\'s keepalive_timeout is named', () => {
    const cap = new Capture();
    frontRaces(cap, response('Server: nginx/1.22.1'));
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('10.0.0.2:80 (Server: nginx/1.22.1) closes idle keep-alive connections');
    expect(d.remedy).toContain('(its responses say `Server: nginx/1.22.1`: nginx `keepalive_timeout` (75 s by default)');
    expect(d.remedy).not.toContain('the idle timer is the proxy\'s');
  });

  test('near miss: a server that writes `server` in lower case itself (uvicorn) is not taken for a proxy', () => {
    const cap = new Capture();
    frontRaces(cap, response('server: uvicorn'));
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.explanation).toContain('10.0.0.2:80 (Server: uvicorn)');
    expect(d.remedy).not.toContain('a proxy in front rewrote them');
  });
});

/** The backend at 10.0.0.3:9097 closes idle connections after 3.003 s; a pool reuses four of them as the FIN comes. */
function backendRaces(cap: Capture, agentField: string): void {
  for (let k = 0; k < 4; k++) {
    const at = k * 10;
    const c = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 9097 });
    c.handshake(at).exchange(at + 0.01, `GET /a${k} HTTP/1.1\r\nhost: 10.0.0.2:80\r\n${agentField}\r\naccept: */*\r\n\r\n`, response(null, ['Keep-Alive: timeout=2']));
    const finAt = at + 0.011 + 3.003 + k * 0.0003;
    c.fin(finAt, 's');
    c.request(finAt - 0.0005, `GET /b${k} HTTP/1.1\r\nhost: 10.0.0.2:80\r\n${agentField}\r\naccept: */*\r\n\r\n`, { sawFin: false, noAck: true });
    c.rst(finAt + 0.00004, 's');
  }
}

describe('a proxy\'s pool on its backend leg alone, its User-Agent its client\'s (pools S16, S20)', () => {
  test('`user-agent: curl/7.88.1` in lower case: the pool is the proxy\'s (HAProxy, Envoy), not curl\'s', () => {
    const cap = new Capture();
    backendRaces(cap, 'user-agent: curl/7.88.1');
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.remedy).toContain('4 of 4 connections carried requests a proxy forwarded: their field names came in lower case (`user-agent`)');
    expect(d.remedy).toContain('HAProxy: none, only `pool-purge-delay`');
    expect(d.remedy).not.toContain('curl, the command line tool');
    const [m] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'idle-timeout-mismatch');
    expect(m.remedy).not.toContain('curl, the command line tool');
  });

  test('`user-agent: python-urllib3/2.7.0` in lower case: the same (urllib3 writes `User-Agent`)', () => {
    const cap = new Capture();
    backendRaces(cap, 'user-agent: python-urllib3/2.7.0');
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.remedy).toContain('carried requests a proxy forwarded: their field names came in lower case');
    expect(d.remedy).not.toContain('Python requests/urllib3: none (it only checks');
  });

  test('near miss: curl\'s own `User-Agent: curl/7.88.1`: curl\'s setting is named', () => {
    const cap = new Capture();
    backendRaces(cap, 'User-Agent: curl/7.88.1');
    const [d] = cap.analyze(only).diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.remedy).toContain('curl, the command line tool');
    expect(d.remedy).not.toContain('carried requests a proxy forwarded');
  });
});

describe('one-request connections of a command-line tool (pools S16 client leg)', () => {
  function runs(agentField: string): string {
    const cap = new Capture();
    for (let k = 0; k < 12; k++) {
      const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
      c.handshake(k * 2.5).exchange(k * 2.5 + 0.01, get('/', [agentField]), response(null, ['keep-alive: timeout=2'], true));
      c.close(k * 2.5 + 0.012, 'c');
    }
    const [d] = cap.analyze([connectionChurn]).diagnoses.filter((x) => x.kind === 'connection-churn');
    return `${d.explanation} || ${d.remedy}`;
  }

  test('curl runs, a 2 s hint: separate runs of curl, not Node\'s fetch honouring the hint', () => {
    const text = runs('User-Agent: curl/7.88.1');
    expect(text).toContain('Their User-Agent says `curl/7.88.1`: a command-line tool, which keeps no connection past its own run');
    expect(text).not.toContain("Node's fetch (undici), which honours the hint");
    expect(text).not.toContain('Server: advertise a Keep-Alive timeout');
  });

  test('near miss: a client that names no tool: the short hint is still the explanation', () => {
    const text = runs('User-Agent: node');
    expect(text).toContain("Node's fetch (undici), which honours the hint less 2 s");
  });
});

describe('a front that closes a reused client connection without an answer at once (pools S20 client leg)', () => {
  test('the proxy possibility is said, with HAProxy logging nothing, and its upstream leg is asked for', () => {
    const cap = new Capture();
    for (let k = 0; k < 3; k++) {
      const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
      c.handshake(k * 10).exchange(k * 10 + 0.01, get(`/a${k}`), response(null, [], true));
      c.request(k * 10 + 3.05, get(`/b${k}`));
      c.fin(k * 10 + 3.0502, 's');
      c.fin(k * 10 + 3.0504, 'c');
    }
    const result = cap.analyze([unansweredRequest]);
    expect(ofKind(result, 'unanswered-request')).toHaveLength(3);
    const [d] = result.diagnoses.filter((x) => x.kind === 'unanswered-request');
    expect(d.explanation).toContain('If 10.0.0.2:80 is a proxy, this is also how HAProxy 2.x and Apache mod_proxy answer a request that was not the first');
    expect(d.remedy).toContain("capture its upstream leg as well (on its host, `-i any`): a keep-alive race on its reused backend connections shows there, and HAProxy's log has no line for these");
  });
});

describe('sample keepalive-race-haproxy-front-nginx (HAProxy `timeout http-keep-alive 2s` in front of nginx, both legs)', () => {
  test('the front\'s 2 s idle closes are HAProxy\'s, named so; nginx\'s keepalive_timeout is not the fix', async () => {
    const result = await analyzeSample('keepalive-race-haproxy-front-nginx');
    expect(ofKind(result, 'keepalive-race')).toHaveLength(3);
    const [d] = result.diagnoses.filter((x) => x.kind === 'keepalive-race');
    expect(d.server).toBe('127.0.0.2:8090');
    expect(d.explanation).toContain('127.0.0.2:8090 (a proxy in front, passing on `server: nginx/1.22.1` in lower case) closes idle keep-alive connections after ~2.006 s');
    expect(d.remedy).toContain('the idle timer is the proxy\'s: HAProxy `timeout http-keep-alive`');
    expect(d.remedy).not.toContain('(its responses say `Server: nginx/1.22.1`: nginx `keepalive_timeout`');
  });
});
