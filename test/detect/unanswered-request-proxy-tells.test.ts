/**
 * A capture of a backend's port alone, whose client is a proxy (blind round 11, s3 leg8100): the
 * proxy gave up on slow requests at its upstream read timeout and closed, and its requests carry
 * its client's User-Agent (curl/7.88.1), passed on. What tells it is a proxy is in the requests
 * themselves (nginx's HTTP/1.0 with Connection: close, X-Forwarded-For, X-Real-IP, Via): the
 * diagnosis must name the proxy's read timeout, not curl's --max-time. A real curl with the same
 * timeout, whose requests have none of those tells, is still curl.
 */
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { analyzeSample } from '../samples';
import { Capture, ofKind, ok } from './reuse-kit';

const PROXY = '10.0.0.2';
const BACKEND = '10.0.0.3';

type Style = 'nginx' | 'xff' | 'haproxy' | 'curl' | 'undici';

function request(style: Style, uri: string): string {
  if (style === 'nginx') return `GET ${uri} HTTP/1.0\r\nHost: backend\r\nConnection: close\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
  if (style === 'xff') return `GET ${uri} HTTP/1.1\r\nHost: backend\r\nUser-Agent: curl/7.88.1\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n`;
  // HAProxy 2.x without `option forwardfor`: curl's head passed on, every field name in lower case.
  if (style === 'haproxy') return `GET ${uri} HTTP/1.1\r\nhost: backend\r\nuser-agent: curl/7.88.1\r\naccept: */*\r\n\r\n`;
  // Node's fetch (undici) writes its own names in lower case: no rewrite.
  if (style === 'undici') return `GET ${uri} HTTP/1.1\r\nhost: backend\r\nconnection: keep-alive\r\nuser-agent: node\r\naccept: */*\r\n\r\n`;
  return `GET ${uri} HTTP/1.1\r\nHost: ${BACKEND}:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`;
}

/** `n` requests 1 s apart, each on a new connection, each given up by its client `timeout` s after it. */
function gaveUp(style: Style, n: number, timeout: number) {
  const cap = new Capture();
  for (let i = 0; i < n; i++) {
    const t = i * 3;
    const c = cap.connection({ client: PROXY, server: BACKEND, sport: 8080 });
    c.handshake(t).request(t + 0.001, request(style, `/slow/${i}`));
    c.close(t + 0.001 + timeout + i * 0.0003, 'c');
  }
  return cap.analyze([unansweredRequest]);
}

describe('unanswered-request: a proxy known by its requests gave up, not the User-Agent it passed on', () => {
  test.each(['nginx', 'xff', 'haproxy'] as const)('%s-like requests: the proxy read timeout, curl not named', (style) => {
    const r = gaveUp(style, 2, 2);
    expect(ofKind(r, 'unanswered-request')).toHaveLength(2);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(Object.keys(d.inferred)).toEqual(['proxyReadTimeout']);
    expect(d.explanation).toContain('a proxy by its requests');
    expect(d.explanation).toContain({ nginx: 'HTTP/1.0 requests with Connection: close', xff: 'X-Forwarded-For', haproxy: 'field names in lower case' }[style]);
    expect(d.explanation).toContain('nginx proxy_read_timeout, HAProxy timeout server');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('--max-time');
  });

  test('one such request alone: said to be the proxy giving up', () => {
    const r = gaveUp('nginx', 1, 2);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(d.explanation).toContain('the proxy that sent it');
    expect(d.remedy).toContain("proxy's upstream read timeout");
    expect(`${d.explanation} ${d.remedy}`).not.toContain('--max-time');
  });

  test('near miss: a client that writes its own field names in lower case (undici) is no proxy', () => {
    const r = gaveUp('undici', 2, 2);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
    expect(d.explanation).not.toContain('a proxy by its requests');
  });

  test('near miss: curl itself with --max-time 2 is still named, with its setting', () => {
    const r = gaveUp('curl', 2, 2);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
    expect(d.explanation).toContain('curl/7.88.1');
    expect(d.remedy).toContain('--max-time');
    expect(d.explanation).not.toContain('a proxy by its requests');
    // Its Host names the port it connected to: nothing hedges its own timer.
    expect(d.explanation).toContain('its request timeout is 2');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('may be a proxy');
  });

  // Blind round 16 (chains S5, load S13): nginx with proxy_http_version 1.1, `proxy_set_header
  // Connection ""` and an `upstream app` group sends HTTP/1.1 with no Connection field and
  // `Host: app`, no port, to the backend's port 8000: nothing proves a proxy, but a client program
  // writes the port it connects to into Host. The wait is not told as the client's timer.
  test.each([
    ['curl passed on', `Host: app\r\nUser-Agent: curl/7.88.1\r\nAccept: */*`, 'curl/7.88.1'],
    ['no User-Agent (a front that sent none)', `Host: app\r\naccept-encoding: identity`, 'it sent no User-Agent'],
  ])('Host naming no port on another port than 80 (%s): its wait hedged with the proxy\'s timers and 499', (_, fields, named) => {
    const cap = new Capture();
    for (let i = 0; i < 2; i++) {
      const t = i * 3;
      const c = cap.connection({ client: PROXY, server: BACKEND, sport: 8000 });
      c.handshake(t).request(t + 0.001, `GET /slow/${i} HTTP/1.1\r\n${fields}\r\n\r\n`);
      c.close(t + 2.001 + i * 0.0003, 'c');
    }
    const r = cap.analyze([unansweredRequest]);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(Object.keys(d.inferred)).toEqual(['clientTimeout']);
    expect(d.explanation).toContain(named);
    expect(d.explanation).not.toContain('its request timeout is 2');
    expect(d.explanation).toContain('it waited 2 s, its request timeout if it is the program that sent them');
    expect(d.explanation).toContain('Host (`app`) names no port');
    expect(d.explanation).toContain('nginx logs 499');
    expect(d.remedy).toContain('if it is a proxy, the timer is its upstream read timeout (nginx proxy_read_timeout');
  });

  test('near miss: a Host without port on port 80 is what every client writes: no hedge', () => {
    const cap = new Capture();
    for (let i = 0; i < 2; i++) {
      const t = i * 3;
      const c = cap.connection({ client: PROXY, server: BACKEND, sport: 80 });
      c.handshake(t).request(t + 0.001, `GET /slow/${i} HTTP/1.1\r\nHost: backend\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n`);
      c.close(t + 2.001 + i * 0.0003, 'c');
    }
    const [d] = cap.analyze([unansweredRequest]).diagnoses;
    expect(d.explanation).toContain('its request timeout is 2');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('may be a proxy');
    expect(d.remedy).toContain('--max-time');
  });

  test('near miss: a request written by hand with the server\'s own address as Host (`Host: 10.0.0.3`) is no hedge', () => {
    const cap = new Capture();
    for (let i = 0; i < 2; i++) {
      const t = i * 3;
      const c = cap.connection({ client: PROXY, server: BACKEND, sport: 8000 });
      c.handshake(t).request(t + 0.001, `GET /slow/${i} HTTP/1.1\r\nHost: ${BACKEND}\r\n\r\n`);
      c.close(t + 2.001 + i * 0.0003, 'c');
    }
    const [d] = cap.analyze([unansweredRequest]).diagnoses;
    expect(d.explanation).toContain('its request timeout is 2');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('may be a proxy');
  });

  // A pooled upstream connection (nginx's `keepalive`, HAProxy's http-reuse) carries its many
  // clients' requests, each with its own User-Agent; one client program sends its own on each.
  function pooled(agents: readonly string[]) {
    const cap = new Capture();
    for (let i = 0; i < 2; i++) {
      const t = i * 5;
      const c = cap.connection({ client: PROXY, server: BACKEND, sport: 8080 });
      c.handshake(t);
      const head = (uri: string, agent: string) => `GET ${uri} HTTP/1.1\r\nHost: ${BACKEND}:8080\r\nUser-Agent: ${agent}\r\nAccept: */*\r\n\r\n`;
      c.exchange(t + 0.01, head(`/fast/${i}`, agents[0]), ok());
      c.request(t + 0.5, head(`/slow/${i}`, agents[1]));
      c.close(t + 2.5 + i * 0.0003, 'c');
    }
    return cap.analyze([unansweredRequest]);
  }

  test('requests with different User-Agents on one connection: the curl it names is not told as the closer', () => {
    const [d, ...more] = pooled(['Mozilla/5.0 (X11; Linux x86_64)', 'curl/7.88.1']).diagnoses;
    expect(more).toEqual([]);
    expect(d.explanation).toContain('it waited 2 s, its request timeout if it is the program that sent them');
    expect(d.explanation).toContain('carried requests with different User-Agents');
    expect(d.explanation).toContain('nginx logs 499');
    expect(d.remedy).toContain('if it is a proxy, the timer is its upstream read timeout');
  });

  test('near miss: the same User-Agent on every request of the connection is one client: no hedge', () => {
    const [d] = pooled(['curl/7.88.1', 'curl/7.88.1']).diagnoses;
    expect(d.explanation).toContain('its request timeout is 2');
    expect(`${d.explanation} ${d.remedy}`).not.toContain('may be a proxy');
    expect(d.remedy).toContain('--max-time');
  });

  test('sample unanswered-request-proxies-backend-leg: nginx and HAProxy at 1 s are a proxy read timeout, the direct curl at 2 s is curl', async () => {
    const r = await analyzeSample('unanswered-request-proxies-backend-leg');
    const byName = (name: string) => r.diagnoses.filter((d) => d.inferred[name] !== undefined);
    const [proxy] = byName('proxyReadTimeout');
    expect(proxy.anomalyIds).toHaveLength(4);
    expect(proxy.explanation).toContain('127.0.0.2, a proxy by its requests (nginx-like');
    expect(proxy.explanation).toContain('127.0.0.4, a proxy by its requests (requests carrying Via, Forwarded, X-Forwarded-For');
    expect(`${proxy.explanation} ${proxy.remedy}`).not.toContain('curl');
    const [client] = byName('clientTimeout');
    expect(client.anomalyIds).toHaveLength(2);
    expect(client.explanation).toContain('curl/7.88.1');
    expect(client.remedy).toContain('--max-time');
  });

  test('sample unanswered-request-nginx-upstream-leg: nginx\'s 504 and 499 closes hedged as a possible proxy, the direct curl not', async () => {
    const r = await analyzeSample('unanswered-request-nginx-upstream-leg');
    const about = (via: string) => r.diagnoses.filter((d) => d.explanation.includes(`via=${via}&`));
    for (const via of ['nginx-504', 'nginx-499']) {
      const [d, ...more] = about(via);
      expect(more).toEqual([]);
      expect(d.anomalyIds).toHaveLength(2);
      expect(d.explanation).toContain('127.0.0.2');
      expect(d.explanation).toContain('That client may be a proxy, though: their Host (`app`) names no port');
      expect(d.explanation).toContain('nginx logs 499');
      expect(d.explanation).not.toMatch(/its request timeout is \d/);
      expect(d.remedy).toContain('if it is a proxy, the timer is its upstream read timeout');
    }
    const [direct, ...more] = about('direct');
    expect(more).toEqual([]);
    expect(direct.explanation).toContain('127.0.0.1; its User-Agent says `curl/7.88.1`');
    expect(`${direct.explanation} ${direct.remedy}`).not.toContain('may be a proxy');
    expect(direct.remedy).toContain('--max-time');
  });
});
