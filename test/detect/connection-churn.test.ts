import { connectionChurn } from '../../src/detect/detectors/connection-churn';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get, ofKind, ok } from './reuse-kit';

const KIND = 'connection-churn';
const only = [connectionChurn];

/** `n` connections 50 ms apart, each carrying `perConnection` requests, closed by `closer` `closeAfter` s after the last response. */
function churn(cap: Capture, n: number, options: { response?: string; perConnection?: number; closeAfter?: number; closer?: 'c' | 's'; client?: string } = {}): void {
  for (let i = 0; i < n; i++) {
    const t = i * 0.05;
    const c = cap.connection({ client: options.client });
    c.handshake(t);
    let u = t + 0.001;
    for (let k = 0; k < (options.perConnection ?? 1); k++) {
      c.exchange(u, get(`/item/${i}/${k}`), options.response ?? ok('x', ['Connection: keep-alive', 'Keep-Alive: timeout=5']));
      u += 0.002;
    }
    c.close(u + (options.closeAfter ?? 0), options.closer ?? 'c');
  }
}

describe('connection-churn: synthetic connections', () => {
  test('a proxy that churns its backend connections right after it was reloaded: told as the reloads\' churn, no pool advice', () => {
    const withReload = (reloaded: boolean): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      // The proxy 10.0.0.5 serves :80; at 0.2 s it closes its idle client connections at one moment (idle 0.05-1 s).
      [0.05, 0.3, 1.0].forEach((age, k) => {
        const down = cap.connection({ client: '10.0.0.9', server: '10.0.0.5', sport: 80 });
        const closeAt = reloaded ? 0.2 + k * 0.0002 : 0.2 + k * 0.4;
        down.handshake(closeAt - age - 0.01).exchange(closeAt - age - 0.005, get(`/d/${k}`), ok());
        down.close(closeAt, 's');
      });
      churn(cap, 12, { client: '10.0.0.5' });
      return cap.analyze(only);
    };
    const [d] = withReload(true).diagnoses.filter((x) => x.kind === KIND);
    expect(d.explanation).toContain("This churn is the reloads', not the pool's settings");
    expect(d.remedy).toContain('Nothing to change in the pool');
    expect(ofKind(withReload(true), KIND)[0].evidence.closedAfterClientReload).toBe(8);
    const [e] = withReload(false).diagnoses.filter((x) => x.kind === KIND);
    expect(e.explanation).not.toContain('reload');
    expect(e.remedy).toContain('Reuse connections on the client');
  });

  test('a proxy that forwards each of its clients\' requests on a backend connection it resets: no TIME_WAIT, and the proxy\'s reuse settings', () => {
    const cap = new Capture();
    for (let i = 0; i < 12; i++) {
      const t = i * 0.05;
      // The client's own connection to the proxy (10.0.0.5:80), one request, closed by the client.
      const down = cap.connection({ client: '10.0.0.9', server: '10.0.0.5', sport: 80 });
      down.handshake(t).request(t + 0.001, get(`/item/${i}`));
      // The proxy forwards it on a new backend connection, and resets that one after the response.
      const up = cap.connection({ client: '10.0.0.5', server: '10.0.0.2', sport: 8080 });
      up.handshake(t + 0.002).exchange(t + 0.003, get(`/item/${i}`), ok('x', ['Connection: keep-alive']));
      up.rst(t + 0.0045, 'c');
      down.response(t + 0.005, ok('x', ['Connection: keep-alive'])).close(t + 0.006, 'c');
    }
    const r = cap.analyze(only);
    const f = ofKind(r, KIND).find((x) => x.client === '10.0.0.5')!;
    expect(f.evidence).toMatchObject({ oneRequestConnections: 12, closedByReset: 12, clientForwards: true, timeWaitEstimate: 0 });
    const d = r.diagnoses.find((x) => x.kind === KIND && x.server === '10.0.0.2:8080')!;
    expect(d.explanation).toContain('with a reset (RST, SO_LINGER 0');
    expect(d.explanation).toContain('which leaves no TIME_WAIT.');
    expect(d.explanation).not.toContain('stays in TIME_WAIT');
    expect(d.explanation).toContain('10.0.0.5 forwards here requests it received from its own clients');
    expect(d.remedy).toContain('`http-reuse always`');
    expect(d.remedy).toContain('`keepalive N` in the `upstream` block');
    expect(d.remedy).not.toContain('requests.Session');
  });

  test('a new connection per request although the server keeps them alive', () => {
    const cap = new Capture();
    churn(cap, 12);
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.severity).toBe('info');
    expect(f.flowId).toBeNull();
    expect(f.client).toBe('10.0.0.1');
    expect(f.server).toBe('10.0.0.2:80');
    expect(f.evidence).toMatchObject({
      connections: 12,
      requests: 12,
      connectionsPerRequest: 1,
      oneRequestConnections: 12,
      newConnectionsPerSecond: 20,
      clientClosesFirst: true,
      advertisedKeepAliveTimeout: 5,
      distinctClientPorts: 12,
      timeWaitEstimate: 1200,
    });
    expect((f.evidence.clientPorts as number[]).length).toBe(12);
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.anomalyIds).toEqual([f.id]);
    expect(d.remedy).toContain('keepAlive: true');
  });

  test("a client that also keeps a few connections for many requests pools, with too little idle room (Go's MaxIdleConnsPerHost 2)", () => {
    const cap = new Capture();
    churn(cap, 12);
    // Two connections the same client kept for 6 requests each (its pool's idle room), open meanwhile.
    for (const at of [0, 0.01]) {
      const c = cap.connection();
      c.handshake(at);
      for (let k = 0; k < 6; k++) c.exchange(at + 0.002 + k * 0.1, get(`/kept/${k}`), ok('x', ['Keep-Alive: timeout=5']));
      c.close(at + 0.7, 'c');
    }
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)).toHaveLength(1);
    // The finding counts the one-request connections among all, rather than saying "each".
    expect(ofKind(r, KIND)[0].summary).toContain('opened 14 connections to 10.0.0.2:80 for 24 requests');
    expect(ofKind(r, KIND)[0].summary).toContain('closed 12 of them right after their one response');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('The same client kept 2 other connections for 12 requests');
    expect(d.explanation).toContain('MaxIdleConnsPerHost');
    // No User-Agent says one program made both: a health checker beside a pooled client looks the same.
    expect(d.explanation).toContain('if one program made both, it pools');
    expect(d.explanation).toContain('or two programs share the host');
    expect(d.remedy).toMatch(/^Let the pool keep as many idle connections as requests run at once/);
  });

  test('the connections kept for many requests came from another program than the one-request ones: no idle-room advice', () => {
    // curl in a loop beside a Go service on the same host: their User-Agents tell them apart.
    const build = (churnAgent: string): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      for (let i = 0; i < 12; i++) {
        const t = i * 0.05;
        const c = cap.connection();
        c.handshake(t).exchange(t + 0.001, get(`/item/${i}`, [`User-Agent: ${churnAgent}`]), ok('x', ['Keep-Alive: timeout=5'])).close(t + 0.003, 'c');
      }
      for (const at of [0, 0.01]) {
        const c = cap.connection();
        c.handshake(at);
        for (let k = 0; k < 6; k++) c.exchange(at + 0.002 + k * 0.1, get(`/kept/${k}`, ['User-Agent: Go-http-client/1.1']), ok('x', ['Keep-Alive: timeout=5']));
        c.close(at + 0.7, 'c');
      }
      return cap.analyze(only);
    };
    const apart = build('curl/7.88.1').diagnoses.find((x) => x.kind === KIND)!;
    expect(apart.explanation).toContain("The same host kept 2 other connections for 12 requests, but from other programs (`Go-http-client/1.1`) than the one-request connections' (`curl/7.88.1`), which open a connection per request.");
    expect(apart.explanation).not.toContain('MaxIdleConnsPerHost');
    expect(apart.remedy).not.toContain('MaxIdleConnsPerHost');
    // One-request connections a proxy forwarded (Via): their program is unknown, nothing is claimed.
    const viaProxy = build('curl/7.88.1\r\nVia: 1.1 squid').diagnoses.find((x) => x.kind === KIND)!;
    expect(viaProxy.explanation).not.toContain('other programs');
    expect(viaProxy.explanation).toContain('MaxIdleConnsPerHost');
    // One program doing both: it pools with too little idle room.
    const same = build('Go-http-client/1.1').diagnoses.find((x) => x.kind === KIND)!;
    expect(same.explanation).toContain('MaxIdleConnsPerHost');
    expect(same.explanation).toContain('The same client kept 2 other connections for 12 requests: it pools,');
    expect(same.explanation).not.toContain('two programs share the host');
    expect(same.remedy).toMatch(/^Let the pool keep as many idle connections as requests run at once/);
  });

  test('a client that pools nothing is not told about idle room', () => {
    const cap = new Capture();
    churn(cap, 12);
    const r = cap.analyze(only);
    expect(ofKind(r, KIND)[0].summary).toContain('and closed each right after its response');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('MaxIdleConnsPerHost');
    expect(d.remedy).not.toContain('MaxIdleConnsPerHost');
  });

  test('a Keep-Alive hint of 2 s or less: clients that subtract a margin (undici: 2 s) close at once; the diagnosis says so', () => {
    const cap = new Capture();
    churn(cap, 12, { response: ok('x', ['Keep-Alive: timeout=2']) });
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain('Keep-Alive: timeout=2');
    expect(d.explanation).toContain('undici');
    expect(d.remedy).toMatch(/^Server: advertise a Keep-Alive timeout well above 2 s/);
    // Node's http.Agent (keepSocketAlive) applies the hint less 1 s only with its `timeout` option; without it a 2 s hint is ignored.
    expect(d.explanation).toContain('ignores a hint above 1 s');
    expect(d.explanation).not.toContain("Node's http.Agent 1 s");
  });

  test('a Keep-Alive hint of 1 s leaves Node\'s http.Agent nothing too, with or without its timeout option', () => {
    const cap = new Capture();
    churn(cap, 12, { response: ok('x', ['Keep-Alive: timeout=1']) });
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).toContain("Node's http.Agent 1 s, with or without its `timeout` option");
  });

  test('a short hint at a server that forwards the requests: the remedy says a proxy passes its backend\'s hint on (hop-by-hop); at one that forwards nothing, only "a proxy in front"', () => {
    const analyze = (forwarding: boolean): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      const hint = ok('x', ['Keep-Alive: timeout=1']);
      for (let i = 0; i < 12; i++) {
        const t = i * 0.05;
        // The proxy 10.0.0.2:80 copies its backend's headers, hint and all (a hand-written Node proxy).
        const down = cap.connection({ client: '10.0.0.1', server: '10.0.0.2', sport: 80 });
        down.handshake(t).request(t + 0.001, get(`/item/${i}`));
        if (forwarding) {
          const up = cap.connection({ client: '10.0.0.2', server: '10.0.0.3', sport: 8080 });
          up.handshake(t + 0.0012).exchange(t + 0.002, get(`/item/${i}`), hint).close(t + 0.03, 's');
        }
        down.response(t + 0.004, hint).close(t + 0.005, 'c');
      }
      return cap.analyze(only);
    };
    const proxy = analyze(true).diagnoses.find((x) => x.kind === KIND && x.server === '10.0.0.2:80')!;
    expect(proxy.remedy).toContain("10.0.0.2:80 forwards requests to a backend, and a proxy that copies its backend's response headers passes that backend's hint on");
    expect(proxy.remedy).toContain('a proxy must not forward it');
    const plain = analyze(false).diagnoses.find((x) => x.kind === KIND)!;
    expect(plain.remedy).not.toContain('forwards requests to a backend');
    expect(plain.remedy).toContain("or stop a proxy in front passing on its backend's");
  });

  test('a longer hint (5 s) is not blamed', () => {
    const cap = new Capture();
    churn(cap, 12);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.explanation).not.toContain('undici');
    expect(d.remedy).not.toContain('Server:');
  });

  test('per client host: two hosts, only the churning one is reported', () => {
    const cap = new Capture();
    churn(cap, 10, { client: '10.0.0.5' });
    churn(cap, 3, { client: '10.0.0.6', perConnection: 4 });
    const found = ofKind(cap.analyze(only), KIND);
    expect(found.map((f) => f.client)).toEqual(['10.0.0.5']);
  });

  describe('stays silent', () => {
    test('the server says Connection: close', () => {
      const cap = new Capture();
      churn(cap, 15, { response: ok('x', ['Connection: close']), closer: 's' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('HTTP/1.0 responses (close-delimited)', () => {
      const cap = new Capture();
      churn(cap, 15, { response: ok('x', [], 'HTTP/1.0'), closer: 's' });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('connections carry several requests', () => {
      const cap = new Capture();
      churn(cap, 15, { perConnection: 3 });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('fewer connections than the threshold', () => {
      const cap = new Capture();
      churn(cap, 9);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('the client pools and closes after its idle timeout (requests far apart)', () => {
      const cap = new Capture();
      churn(cap, 12, { closeAfter: 2 });
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

// ---------------------------------------------------------------------------------------------- samples

const samples = new Map(listSamples().map((s) => [s.name, s]));

const silent = [
  'connection-close-curl', 'keepalive-node-agent', 'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close',
  'abortive-close-after-response', 'http10-keepalive-and-close', 'tcp-keepalive-probes', 'pipelining', 'chunked-responses',
  'port-reuse', 'keepalive-race-crossing', 'keepalive-race-python', 'keepalive-race-stale', 'request-after-close-notice',
  'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
].filter((n) => samples.has(n));

(samples.has('connection-churn') ? test : test.skip)('sample connection-churn: every connection carries one request', async () => {
  const meta = samples.get('connection-churn')!.meta!;
  const e = (meta.expect ?? []).find((x) => x.kind === KIND)!;
  const ev = e.evidence as Record<string, number | number[]>;
  const [f, ...rest] = ofKind(await analyzeSample('connection-churn'), KIND);
  expect(rest).toEqual([]);
  expect(f.client).toBe(e.client);
  expect(f.evidence).toMatchObject({ connections: ev.connections, requests: ev.requests, connectionsPerRequest: 1, clientClosesFirst: true });
  expect(f.evidence.clientPorts).toEqual(ev.clientPorts);
  // Rate measured from the first to the last SYN; the recorder's figure spans the whole capture.
  expect(f.evidence.newConnectionsPerSecond as number).toBeGreaterThan((ev.newConnectionsPerSecond as number) * 0.9);
});

test.each(silent)('connection-churn stays silent on sample %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});

(samples.has('connection-churn-proxy-hint') ? test : test.skip)('sample connection-churn-proxy-hint: the proxy that copies its backend\'s Keep-Alive: timeout=1 is told so; the one that drops it churns nothing', async () => {
  const r = await analyzeSample('connection-churn-proxy-hint');
  const byServer = new Map(r.diagnoses.filter((d) => d.kind === KIND).map((d) => [d.server, d.remedy]));
  expect([...byServer.keys()].sort()).toEqual(['127.0.0.2:8001', '127.0.0.3:9002']);
  expect(byServer.get('127.0.0.2:8001')).toContain("127.0.0.2:8001 forwards requests to a backend, and a proxy that copies its backend's response headers passes that backend's hint on");
  // The backend forwards nothing: only the reminder that a proxy in front may pass a hint on.
  expect(byServer.get('127.0.0.3:9002')).not.toContain('forwards requests to a backend');
});

(samples.has('connection-churn-haproxy-backend') ? test : test.skip)("sample connection-churn-haproxy-backend: HAProxy's reset backend connections leave no TIME_WAIT, and the remedy is the proxy's reuse settings", async () => {
  const r = await analyzeSample('connection-churn-haproxy-backend');
  const [f, ...rest] = ofKind(r, KIND);
  expect(rest).toEqual([]);
  expect(f).toMatchObject({ client: '127.0.0.2', server: '127.0.0.3:8380' });
  // HAProxy reset every backend connection it did not keep idle (nginx's log: one request on each).
  expect(f.evidence.closedByReset).toBe(f.evidence.oneRequestConnections);
  expect(f.evidence).toMatchObject({ clientForwards: true, timeWaitEstimate: 0 });
  const [d] = r.diagnoses.filter((x) => x.kind === KIND);
  expect(d.explanation).toContain('which leaves no TIME_WAIT');
  expect(d.explanation).not.toContain('stays in TIME_WAIT');
  expect(d.remedy).toContain('`http-reuse always`');
  expect(d.remedy).not.toContain('requests.Session');
});
