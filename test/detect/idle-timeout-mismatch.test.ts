import { idleTimeoutMismatch } from '../../src/detect/detectors/idle-timeout-mismatch';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { analyzeSample, listSamples } from '../samples';
import { Capture, get, ofKind, ok, tlsConnection, tlsRecord } from './reuse-kit';

const KIND = 'idle-timeout-mismatch';
const only = [keepaliveRace, idleTimeoutMismatch];

/** `n` connections each used once, then closed by the server after `idle` s (+ a little jitter). */
function serverCloses(cap: Capture, n: number, idle: number, keepAlive: string[] = []): void {
  for (let i = 0; i < n; i++) {
    const t = i * 0.1;
    const c = cap.connection();
    c.handshake(t).exchange(t + 0.01, get('/p'), ok('x', keepAlive));
    c.close(t + 0.0111 + idle + i * 0.001, 's');
  }
}

/** One connection reused after each of `gaps` (idle seconds), then closed by the client; `serverRtt`: the capture's round trip to the server. */
function reuses(cap: Capture, gaps: number[], keepAlive: string[] = [], serverRtt?: number): void {
  const c = cap.connection();
  let t = 0.5;
  c.handshake(t, serverRtt);
  t += serverRtt ?? 0;
  c.exchange(t + 0.01, get('/r'), ok('x', keepAlive));
  t += 0.0111;
  for (const gap of gaps) {
    t += gap;
    c.exchange(t, get('/r'), ok('x', keepAlive));
    t += 0.0011;
  }
  c.close(t + 0.001, 'c');
}

describe('idle-timeout-mismatch: synthetic connections', () => {
  describe('races closed on arrival at shorter idle than the risk window (blind test 8, v2get: a 1 s timer checked on a 0.25 s tick)', () => {
    /** A reused connection whose request came after `idle` s and which the server closed, unanswered, `lazy` s later. */
    function lazyClose(cap: Capture, at: number, idle: number, lazy: number): void {
      const c = cap.connection();
      c.handshake(at).exchange(at + 0.01, get('/a'), ok('first'));
      c.request(at + 0.011 + idle, get('/b'));
      c.fin(at + 0.011 + idle + lazy, 's').fin(at + 0.011 + idle + lazy + 0.0005, 'c').ack(at + 0.011 + idle + lazy + 0.0006, 's');
    }

    test('the races at shorter idle are said apart from the risk window, not "2 reuses came after ≥ 0.9 s — 4 did"', () => {
      const cap = new Capture();
      serverCloses(cap, 5, 1.0);
      reuses(cap, [0.95, 0.93]);
      lazyClose(cap, 10, 0.81, 0.19);
      lazyClose(cap, 15, 0.84, 0.16);
      const r = cap.analyze(only);
      expect(ofKind(r, 'keepalive-race').length).toBeGreaterThanOrEqual(2);
      const d = r.diagnoses.find((x) => x.kind === KIND)!;
      expect(d.explanation).toMatch(/2 reuses came after ≥ 0\.90\d s idle/);
      expect(d.explanation).toContain("— 2 failed so (keepalive-race), all of them sent after less idle (0.81-0.84 s)");
      expect(d.explanation).toContain('up to 190 ms after the request arrived, its timer firing lazily');
      expect(d.explanation).not.toMatch(/— \d+ did \(keepalive-race\)/);
    });

    test('near miss: races within the risk window keep the plain count', () => {
      const cap = new Capture();
      serverCloses(cap, 5, 1.0);
      reuses(cap, [0.95, 0.93]);
      lazyClose(cap, 10, 0.97, 0.03);
      const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
      expect(d.explanation).toContain('— 1 did (keepalive-race)');
      expect(d.explanation).not.toContain('sent after less idle');
    });
  });

  test('a reload closing every idle connection at once, most of them idle less than 0.1 s, tells no idle timeout (reload-nginx)', () => {
    const withCloses = (atOneMoment: boolean): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      // Two reloads, each closing 7 idle connections (6-150 ms idle: nginx's old worker); only the
      // three idle 0.14-0.15 s are long enough to be samples of an idle timeout.
      const ages = [0.006, 0.03, 0.047, 0.06, 0.14, 0.145, 0.15];
      for (const at of [10, 20]) {
        ages.forEach((age, k) => {
          const closeAt = atOneMoment ? at + k * 0.0002 : at + k * 0.5;
          const c = cap.connection();
          c.handshake(closeAt - 1).exchange(closeAt - age - 0.001, get('/p'), ok());
          c.close(closeAt, 's');
        });
      }
      reuses(cap, [0.15, 0.2, 0.22, 0.21]);
      return cap.analyze(only);
    };
    expect(ofKind(withCloses(true), KIND)).toEqual([]);
    // The same closes one by one: an idle timeout of ~0.14 s, which the clients' reuses exceed.
    const apart = withCloses(false);
    expect(ofKind(apart, KIND)).toHaveLength(1);
    expect(apart.diagnoses.find((d) => d.kind === KIND)!.inferred.serverIdleTimeout.value).toBeCloseTo(0.14, 1);
  });

  test("clients' own closes at one idle time are their idle timeout, unless the same program reused connections after longer idles (a process exiting after its last request)", () => {
    const scene = (clientIdle: number, closerAgent: string): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      serverCloses(cap, 5, 2);
      // Java's HttpClient reuses a connection after 1.8-1.95 s idle.
      const java = ['User-Agent: Java-http-client/17.0.19'];
      const r = cap.connection();
      r.handshake(0.5).exchange(0.51, get('/r', java), ok('x'));
      let t = 0.5111;
      for (const gap of [1.8, 1.9, 1.95]) {
        t += gap;
        r.exchange(t, get('/r', java), ok('x'));
        t += 0.0011;
      }
      r.close(t + 0.001, 'c');
      // Three connections a client closed itself `clientIdle` s after their response.
      for (let i = 0; i < 3; i++) {
        const at = 30 + i * 5;
        const c = cap.connection();
        c.handshake(at).exchange(at + 0.01, get('/p', [`User-Agent: ${closerAgent}`]), ok('x'));
        c.close(at + 0.0111 + clientIdle + i * 0.001, 'c');
      }
      return cap.analyze(only);
    };
    const inferredOf = (r: ReturnType<Capture['analyze']>) => r.diagnoses.find((d) => d.kind === KIND)!;
    // The JVMs that reused connections after 1.95 s closed others 0.33 s after their last response: they exited.
    const exits = inferredOf(scene(0.33, 'Java-http-client/17.0.19'));
    expect(exits.inferred.clientIdleTimeout).toBeUndefined();
    expect(exits.explanation).not.toContain('Clients themselves closed');
    // Another program's closes at 0.33 s are its pool's idle timeout.
    expect(inferredOf(scene(0.33, 'python-requests/2.31')).inferred.clientIdleTimeout.value).toBeCloseTo(0.33, 2);
    // The same program closing at 1.97 s, beyond its every reuse: its idle timeout.
    const timer = inferredOf(scene(1.97, 'Java-http-client/17.0.19'));
    expect(timer.inferred.clientIdleTimeout.value).toBeCloseTo(1.97, 2);
    expect(timer.explanation).toContain('Clients themselves closed 3 idle connections after 1.97');
  });

  test("clients' closes at one moment are an event (a proxy stopping: nginx at SIGQUIT), not their idle timeout, however alike their idle ages", () => {
    const cap = new Capture();
    serverCloses(cap, 5, 2);
    // Reuses after 1.8-1.95 s idle were answered.
    reuses(cap, [1.8, 1.9, 1.95]);
    // Four connections all idle about 1.2 s (their clients had paused together) closed by the client within 1 ms.
    for (let i = 0; i < 4; i++) {
      const c = cap.connection();
      c.handshake(40 + i * 0.01).exchange(40.05 + i * 0.0001, get('/p'), ok('x'));
      c.close(41.2512 + i * 0.0003, 'c');
    }
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientIdleTimeout).toBeUndefined();
    // The same closes spread over time are a timer.
    const spread = new Capture();
    serverCloses(spread, 5, 2);
    reuses(spread, [1.8, 1.9, 1.95]);
    for (let i = 0; i < 4; i++) {
      const c = spread.connection();
      c.handshake(40 + i * 3).exchange(40.05 + i * 3, get('/p'), ok('x'));
      c.close(40.05 + i * 3 + 0.0011 + 1.2 + i * 0.0003, 'c');
    }
    expect(spread.analyze(only).diagnoses.find((x) => x.kind === KIND)!.inferred.clientIdleTimeout.value).toBeCloseTo(1.2, 2);
  });

  test("the server's idle timer starts when it finished writing, not when a slow client took the last byte: a drained body's close supports the 4 s timer", () => {
    const scene = (longestReuse: number): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      const hint = ['Keep-Alive: timeout=4'];
      // Six small responses closed 4.001 s after.
      serverCloses(cap, 6, 3.9901, hint);
      // Three 60 KB bodies the send buffer took at once and the client read over 0.6 s: closed 4.001 s after their first byte, 3.4 s after their last.
      for (let i = 0; i < 3; i++) {
        const t = 10 + i * 7;
        const c = cap.connection();
        c.handshake(t).request(t + 0.01, get('/big'));
        const body = 'b'.repeat(60_000);
        const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${hint[0]}\r\n\r\n`;
        c.send(t + 0.011, 's', head);
        for (let k = 0; k < 6; k++) c.send(t + 0.011 + 0.12 * (k + 1), 's', body.slice(k * 10_000, (k + 1) * 10_000)).ack(t + 0.0111 + 0.12 * (k + 1), 'c');
        c.close(t + 0.011 + 4.001, 's');
      }
      reuses(cap, [0.5, 2.1, longestReuse], hint);
      return cap.analyze(only);
    };
    // Reuses up to 3.07 s: far from 4 s, and the hint is the timer: nothing to warn of.
    expect(ofKind(scene(3.07), KIND)).toEqual([]);
    // A reuse after 3.8 s is near the timer, which is 4 s, not 3.4 s.
    const near = scene(3.8).diagnoses.find((d) => d.kind === KIND)!;
    expect(near.inferred.serverIdleTimeout.value).toBeCloseTo(4.0, 1);
    expect(near.inferred.serverIdleTimeout.samples).toBe(9);
    expect(near.explanation).not.toContain('advertises Keep-Alive: timeout=4 but');
  });

  test("a client host closing its pool at exit (closes within ms, idle ages 1.8-3.3 s) shows no client idle timeout, though some of its ages agree", () => {
    const scene = (apart: number): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      serverCloses(cap, 5, 2);
      reuses(cap, [1.8, 1.9, 1.95]);
      // Eight connections of one host: four idle ~2.41 s (used together), two ~3.33 s, two ~1.9 s, closed `apart` s after one another.
      const ages = [3.328, 2.41, 2.412, 3.336, 2.416, 1.928, 2.419, 1.9];
      ages.forEach((age, i) => {
        const closeAt = 60 + i * apart;
        const c = cap.connection({ client: '10.0.0.9', cport: 41000 + i });
        c.handshake(closeAt - age - 1).exchange(closeAt - age - 0.0011, get('/p'), ok('x'));
        c.close(closeAt, 'c');
      });
      return cap.analyze(only);
    };
    const exit = scene(0.004).diagnoses.find((d) => d.kind === KIND)!;
    expect(exit.inferred.clientIdleTimeout).toBeUndefined();
    expect(exit.explanation).not.toContain('Clients themselves closed');
    // The same closes seconds apart: the four alike are a timer's.
    expect(scene(3).diagnoses.find((d) => d.kind === KIND)!.inferred.clientIdleTimeout.value).toBeCloseTo(2.41, 1);
  });

  test('the reuses near the timeout are counted, not read off the 32 longest kept', () => {
    const scene = (n: number) => {
      const cap = new Capture();
      serverCloses(cap, 5, 2);
      // n reuses after 1.85-1.9 s idle (beyond the 1.8 s threshold), on connections of 5 reuses each.
      for (let k = 0; k < n / 5; k++) reuses(cap, [1.85, 1.86, 1.87, 1.88, 1.9]);
      const r = cap.analyze(only);
      return { f: ofKind(r, KIND)[0], d: r.diagnoses.find((x) => x.kind === KIND)! };
    };
    const many = scene(100);
    expect(many.f.evidence.reusesNearTimeout).toBe(100);
    expect(many.d.explanation).toContain('At least 100 reuses came after ≥ 1.802 s idle');
    // Who sent them is told from the connections of the reuses kept, and said so.
    expect(many.d.remedy).toContain('connections (those of the 32 longest reuses, the ones kept) sent no User-Agent');
    // Fewer than are kept: the exact count, no "at least", no sample.
    const few = scene(20);
    expect(few.f.evidence.reusesNearTimeout).toBe(20);
    expect(few.d.explanation).toContain('20 reuses came after ≥ 1.802 s idle');
    expect(few.d.explanation).not.toContain('At least');
    expect(few.d.remedy).not.toContain('longest reuses');
  });

  test("closes that all come in the last moments of their host's traffic (its loops ending) are a shutdown, not a client idle timer; closes recurring while it runs on are one", () => {
    const scene = (recurring: boolean) => {
      const cap = new Capture();
      serverCloses(cap, 5, 2);
      reuses(cap, [1.8, 1.9, 1.95]);
      // Steady clients of one host send every 0.2 s; each closes its connection 0.2 s after its last response.
      const end = 60;
      for (let i = 0; i < 6; i++) {
        const last = recurring ? 20 + i * 5 : end - 0.3 + i * 0.05;
        const c = cap.connection({ client: '10.0.0.7', cport: 42000 + i });
        c.handshake(last - 2);
        for (let t = last - 1.8; t < last; t += 0.2011) c.exchange(t, get('/s'), ok('x'));
        c.exchange(last, get('/s'), ok('x'));
        c.close(last + 0.0011 + 0.2 + i * 0.0003, 'c');
      }
      // The host's other clients go on until the end of the run.
      const other = cap.connection({ client: '10.0.0.7', cport: 43000 });
      other.handshake(end - 1).exchange(end - 0.5, get('/o'), ok('x')).exchange(end, get('/o'), ok('x'));
      return cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    };
    const shutdown = scene(false);
    expect(shutdown.inferred.clientIdleTimeout).toBeUndefined();
    expect(shutdown.explanation).not.toContain('Clients themselves closed');
    // The same closes through the run, the host busy after each: its pool's 0.2 s idle timer.
    expect(scene(true).inferred.clientIdleTimeout.value).toBeCloseTo(0.2, 2);
  });

  test("a program that closes its connections right after use (Node's fetch told to keep nothing) closing three others 0.10-0.13 s after use shows no client idle timer (blind round 12, S3)", () => {
    const node = ['User-Agent: node'];
    const scene = (quick: number): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      serverCloses(cap, 5, 2);
      reuses(cap, [1.8, 1.9, 1.95]);
      // `quick` connections used once, closed by their client 0-35 ms after the response.
      for (let i = 0; i < quick; i++) {
        const at = 10 + i * 0.7;
        const c = cap.connection({ client: '10.0.0.5' });
        c.handshake(at).exchange(at + 0.01, get('/p', node), ok('x'));
        c.close(at + 0.0111 + (i % 8) * 0.0045, 'c');
      }
      // Three more of the same program's, closed 102, 131 and 134 ms after their response, seconds apart, the host busy on.
      [0.102, 0.131, 0.134].forEach((idle, i) => {
        const at = 12 + i * 3;
        const c = cap.connection({ client: '10.0.0.5' });
        c.handshake(at).exchange(at + 0.01, get('/p', node), ok('x'));
        c.close(at + 0.0111 + idle, 'c');
      });
      const later = cap.connection({ client: '10.0.0.5' });
      later.handshake(40).exchange(40.01, get('/p', node), ok('x')).close(40.02, 'c');
      return cap.analyze(only);
    };
    const d = scene(12).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientIdleTimeout).toBeUndefined();
    expect(d.explanation).not.toContain('Clients themselves closed');
    // Near miss: the same three closes from a program seen closing nothing right after use are a timer's.
    expect(scene(0).diagnoses.find((x) => x.kind === KIND)!.inferred.clientIdleTimeout.value).toBeCloseTo(0.131, 2);
  });

  test("a client FIN acknowledging the server's FIN the capture lost (ack one past its last byte) is the server's idle close, not a client timer", () => {
    const scene = (serverFinLost: boolean) => {
      const cap = new Capture();
      serverCloses(cap, 5, 1.5);
      reuses(cap, [1.3, 1.35, 1.4]);
      for (let i = 0; i < 6; i++) {
        const at = 10 + i * 5;
        const c = cap.connection();
        c.handshake(at).exchange(at + 0.01, get('/p'), ok('x'));
        const close = at + 0.0111 + 1.5 + i * 0.001;
        if (serverFinLost) c.unseen('s', ' '); // the server's FIN, dropped by the capture: it takes one sequence number
        c.fin(close + 0.0002, 'c');
        if (serverFinLost) c.ack(close + 0.0003, 's');
        else c.fin(close + 0.0003, 's').ack(close + 0.0004, 'c');
      }
      // The host goes on after those closes.
      cap.connection().handshake(45).exchange(45.01, get('/z'), ok('x'));
      const r = cap.analyze(only);
      return { f: ofKind(r, KIND)[0], d: r.diagnoses.find((x) => x.kind === KIND)! };
    };
    const lost = scene(true);
    expect(lost.d.inferred.clientIdleTimeout).toBeUndefined();
    expect(lost.f.evidence.serverIdleCloses).toBe(11);
    // The client's FIN acknowledging only the server's data: the client closed first, a timer of its own.
    const own = scene(false);
    expect(own.d.inferred.clientIdleTimeout.value).toBeCloseTo(1.5, 2);
    expect(own.f.evidence.serverIdleCloses).toBe(5);
  });

  test('clients reuse connections after idling nearly as long as the server keeps them (no race yet)', () => {
    const cap = new Capture();
    serverCloses(cap, 4, 2.0);
    reuses(cap, [0.3, 1.2, 1.9]);
    const r = cap.analyze(only);
    expect(ofKind(r, 'keepalive-race')).toEqual([]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.flowId).toBeNull();
    expect(f.client).toBeNull();
    expect(f.server).toBe('10.0.0.2:80');
    expect(f.severity).toBe('warning');
    expect(f.evidence.serverIdleTimeout).toBeCloseTo(2.0, 2);
    expect(f.evidence).toMatchObject({ serverIdleCloses: 4, clientReuseMaxIdle: 1.9, clientReuses: 3, reusesNearTimeout: 1, margin: 0.2, keepaliveRaces: 0 });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverIdleTimeout.samples).toBe(4);
    expect(d.inferred.clientReuseMaxIdle.value).toBe(1.9);
    expect(d.anomalyIds).toEqual([f.id]);
    expect(d.explanation).toContain('none did in this capture');
    expect(d.remedy).toMatch(/^Client: close pooled connections idle for more than/);
    expect(d.remedy).toContain("Go's http.Server: `IdleTimeout`, which when unset is `ReadTimeout`, else `ReadHeaderTimeout`");
  });

  test('the remedy names the clients of the reuses at risk, not a program that reused its connection only right away', () => {
    const cap = new Capture();
    serverCloses(cap, 4, 2.0);
    reuses(cap, [0.3, 1.2, 1.9]); // no User-Agent: the reuse at risk
    // curl fetching several URLs on one connection, a millisecond apart.
    const c = cap.connection();
    c.handshake(1).exchange(1.01, get('/a', ['User-Agent: curl/7.88.1']), ok()).exchange(1.012, get('/b', ['User-Agent: curl/7.88.1']), ok());
    c.close(1.02, 'c');
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toContain('1 of 1 connections sent no User-Agent');
    expect(d.remedy).not.toContain('`curl/7.88.1`');
  });

  test('seen from a client 150 ms from the server: a reuse after 1.7 s idle here reaches the 2 s server after 1.85 s', () => {
    const far = new Capture();
    serverCloses(far, 4, 2.0);
    reuses(far, [0.3, 1.7], [], 0.15);
    const [f, ...rest] = ofKind(far.analyze(only), KIND);
    expect(rest).toEqual([]);
    // Reported as seen; judged against the timeout as the server lived it.
    expect(f.evidence).toMatchObject({ clientReuseMaxIdle: 1.7, reusesNearTimeout: 1, margin: 0.2 });
    expect(far.analyze(only).diagnoses.find((x) => x.kind === KIND)!.explanation).toMatch(/1 reuse reached the server after ≥ 1\.80\d s idle .*plus the round trip from the capture point to the server, up to 150 ms/);
    // The same reuses next to the server (round trip 0.1 ms): 1.7 s is below the timeout less the margin.
    const near = new Capture();
    serverCloses(near, 4, 2.0);
    reuses(near, [0.3, 1.7]);
    expect(ofKind(near.analyze(only), KIND)).toEqual([]);
  });

  test('the server advertises a longer Keep-Alive timeout than it keeps', () => {
    const cap = new Capture();
    serverCloses(cap, 3, 2.0, ['Keep-Alive: timeout=5']);
    reuses(cap, [0.3, 0.5], ['Keep-Alive: timeout=5']);
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ advertisedKeepAliveTimeout: 5, reusesNearTimeout: 0 });
    expect(f.summary).toContain('advertises Keep-Alive: timeout=5');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.advertisedKeepAliveTimeout.value).toBe(5);
    expect(d.remedy).toMatch(/^Server: advertise/);
    // Node's http.Agent applies the hint (less 1 s) only when its `timeout` option is set.
    expect(d.explanation).toContain('a Node http.Agent given its `timeout` option until the hint minus 1 s');
    expect(d.explanation).not.toContain('a Node http.Agent keeps a socket until the hint minus 1 s');
    // A server that names no product gets no product's hint setting.
    expect(d.remedy).not.toContain('keepalive_timeout');
  });

  test('an nginx that advertises more than it keeps is told its hint is keepalive_timeout\'s second parameter', () => {
    const cap = new Capture();
    serverCloses(cap, 3, 2.7, ['Server: nginx/1.22.1', 'Keep-Alive: timeout=5']);
    reuses(cap, [0.3, 0.5], ['Server: nginx/1.22.1', 'Keep-Alive: timeout=5']);
    const d = cap.analyze(only).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toContain('Keep-Alive: timeout=2 or less; nginx sends the second parameter of `keepalive_timeout` as its hint: `keepalive_timeout <its idle timeout> 2s`');
  });

  test('names the Node pattern (advertised + 1 s) and counts the races it caused', () => {
    const cap = new Capture();
    serverCloses(cap, 3, 3.0, ['Keep-Alive: timeout=2']);
    const c = cap.connection();
    c.handshake(1).exchange(1.01, get('/a'), ok('x', ['Keep-Alive: timeout=2']));
    c.fin(4.0111, 's');
    c.request(4.0161, get('/b'), { sawFin: false, noAck: true });
    c.rst(4.0162, 's');
    const r = cap.analyze(only);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ keepaliveRaces: 1, advertisedKeepAliveTimeout: 2 });
    expect(r.diagnoses.find((x) => x.kind === KIND)!.explanation).toContain('Node.js');
  });

  /** Node's keepAliveTimeout `setting` closes 1 s after it and advertises it rounded down; one request crosses a close. */
  function nodeRace(setting: number, hint: string[]) {
    const cap = new Capture();
    serverCloses(cap, 3, setting + 1, hint);
    const c = cap.connection();
    c.handshake(1).exchange(1.01, get('/a'), ok('x', hint));
    c.fin(1.0111 + setting + 1, 's');
    c.request(1.0161 + setting + 1, get('/b'), { sawFin: false, noAck: true });
    c.rst(1.0162 + setting + 1, 's');
    const r = cap.analyze(only);
    return { race: r.diagnoses.find((x) => x.kind === 'keepalive-race')!, mismatch: r.diagnoses.find((x) => x.kind === KIND)! };
  }

  test('the race names Node\'s keepAliveTimeout + 1 s as idle-timeout-mismatch does, and its remedy Node\'s setting, not "5 s by default"', () => {
    const { race, mismatch } = nodeRace(2.3, ['Keep-Alive: timeout=2']);
    for (const d of [race, mismatch]) {
      expect(d.explanation).toContain('= 2.301 s + 1 s: the pattern of a Node.js server with keepAliveTimeout 2.301 s');
      expect(d.explanation).toContain('hard-coded in Node 20, `server.keepAliveTimeoutBuffer` in the newer versions that expose it');
      expect(d.explanation).not.toContain('whose keepAliveTimeoutBuffer');
      expect(d.remedy).toContain("fit Node's http.Server with `keepAliveTimeout` 2.301 s, which closes 1 s later");
      expect(d.remedy).not.toContain('`keepAliveTimeout` (5 s by default)');
    }
  });

  test("where the hint plus Node's 1 s explains closes after 5 s, the 5 s default is not also claimed; without a hint it is a candidate (no Server header names the software)", () => {
    const { race, mismatch } = nodeRace(4, ['Keep-Alive: timeout=4']);
    for (const d of [race, mismatch]) {
      expect(d.explanation).toContain('= the advertised 4 s + 1 s');
      expect(d.explanation).not.toContain('keepAliveTimeout (5 s default)');
    }
    const bare = nodeRace(4, []);
    for (const d of [bare.race, bare.mismatch]) expect(d.explanation).toContain('(Node.js http.Server keepAliveTimeout (5 s default) has this default, but the responses name no server software');
  });

  test('near misses: a hint that does not fit (timeout=5 for closes after 3.3 s), or none, is no Node pattern', () => {
    for (const hint of [['Keep-Alive: timeout=5'], []]) {
      const { race } = nodeRace(2.3, hint);
      expect(race.explanation).not.toContain('Node.js server');
      expect(race.remedy).not.toContain("fit Node's http.Server");
    }
  });

  describe('stays silent', () => {
    test('clients reuse well within the server timeout', () => {
      const cap = new Capture();
      serverCloses(cap, 4, 2.0);
      reuses(cap, [0.3, 1.0, 1.2]);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('fewer than 3 idle closes: no timeout to compare with', () => {
      const cap = new Capture();
      serverCloses(cap, 2, 2.0);
      reuses(cap, [1.99]);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('idle closes that do not agree', () => {
      const cap = new Capture();
      for (const [i, idle] of [1, 2, 3, 4].entries()) {
        const c = cap.connection();
        c.handshake(i).exchange(i + 0.01).close(i + 0.0111 + idle, 's');
      }
      reuses(cap, [3.9]);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('the server advertises less than it keeps (a Node server: timeout=5, closes after 6 s)', () => {
      const cap = new Capture();
      serverCloses(cap, 3, 6.0, ['Keep-Alive: timeout=5']);
      reuses(cap, [1.0, 2.0], ['Keep-Alive: timeout=5']);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('a server that closes right after each response (unannounced) has no idle timeout to compare with', () => {
      const cap = new Capture();
      serverCloses(cap, 4, 0.001);
      reuses(cap, [0.3, 0.5]);
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });

    test('clients close idle connections before the server would', () => {
      const cap = new Capture();
      for (let i = 0; i < 5; i++) {
        const c = cap.connection();
        c.handshake(i).exchange(i + 0.01).close(i + 1.0111, 'c');
      }
      expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    });
  });
});

describe('idle-timeout-mismatch: connections whose payload is not framed into requests (TLS, a database\'s, a cache\'s)', () => {
  const PING = '*1\r\n$4\r\nPING\r\n';
  const PONG = '+PONG\r\n';

  /** Redis: `n` connections each used once, then closed by the server after `idle` s (a FIN, or a RST with no FIN). */
  function redisCloses(cap: Capture, n: number, idle: number, port = 6379, by: 'fin' | 'rst' = 'fin'): void {
    for (let i = 0; i < n; i++) {
      const t = i * 0.1;
      const c = cap.connection({ sport: port }).handshake(t).send(t + 0.01, 'c', PING).send(t + 0.0102, 's', PONG);
      if (by === 'fin') c.close(t + 0.0102 + idle + i * 0.001, 's');
      else c.rstAck(t + 0.0102 + idle + i * 0.001, 's');
    }
  }

  /** One pooled connection: a command, then one after each of `gaps` (idle seconds), then closed by the client. */
  function redisReuses(cap: Capture, gaps: number[], port = 6379): void {
    const c = cap.connection({ sport: port });
    let t = 0.5;
    c.handshake(t).send(t + 0.01, 'c', PING).send(t + 0.0102, 's', PONG);
    t += 0.0102;
    for (const gap of gaps) {
      t += gap;
      c.send(t, 'c', PING).send(t + 0.0002, 's', PONG);
      t += 0.0002;
    }
    c.close(t + 0.001, 'c');
  }

  test('Redis: the pool reuses connections after idling nearly as long as the server keeps them', () => {
    const cap = new Capture();
    redisCloses(cap, 4, 2.0);
    redisReuses(cap, [0.3, 1.2, 1.9]);
    const r = cap.analyze(only);
    expect(ofKind(r, 'keepalive-race')).toEqual([]);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.server).toBe('10.0.0.2:6379');
    expect(f.evidence.serverIdleTimeout).toBeCloseTo(2.0, 2);
    expect(f.evidence).toMatchObject({ serverIdleCloses: 4, clientReuseMaxIdle: 1.9, clientReuses: 3, reusesNearTimeout: 1, knownServerDefault: null });
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.clientReuseMaxIdle).toMatchObject({ value: 1.9, samples: 3, spread: 1.6 });
    expect(d.explanation).toContain('10.0.0.2:6379 (Redis, as its port says) closed 4 idle connections after 2.0');
    expect(d.explanation).toContain('such a request can cross the server\'s close and fail (a reset; redis-py: ConnectionError');
    expect(d.remedy).toMatch(/^Client: close or check pooled connections idle for more than 1 s/);
    expect(d.remedy).toContain('Redis `timeout`');
    // No HTTP software's default or setting is offered for it.
    expect(`${d.explanation} ${d.remedy}`).not.toMatch(/gunicorn|Node http\.Agent|keepalive_timeout|keep-alive/);
  });

  test('a protocol on an unknown port whose data the snaplen cut is called unidentified, not neither HTTP nor TLS; whole, it is', () => {
    const pad = 'x'.repeat(200);
    const cap = new Capture();
    for (let i = 0; i < 4; i++) {
      const t = i * 0.1;
      cap.connection({ sport: 7000 }).handshake(t).send(t + 0.01, 'c', 'hello ' + pad).send(t + 0.0102, 's', 'world ' + pad).close(t + 2.0102 + i * 0.001, 's');
    }
    const c = cap.connection({ sport: 7000 });
    c.handshake(0.5).send(0.51, 'c', 'hello ' + pad).send(0.5102, 's', 'world ' + pad);
    c.send(2.41, 'c', 'again ' + pad).send(2.4102, 's', 'world ' + pad).close(2.42, 'c'); // reused after 1.9 s
    const explanation = (r: ReturnType<Capture['analyze']>): string => r.diagnoses.find((x) => x.kind === KIND)!.explanation;
    // 54 bytes of Ethernet, IPv4 and TCP headers in this kit: 16 bytes of payload kept at 70.
    const cut = explanation(cap.analyzeCut(70, only));
    expect(cut).toContain('10.0.0.2:7000 (payload the snaplen cut before it could be identified');
    expect(cut).not.toContain('neither HTTP nor TLS)');
    expect(explanation(cap.analyze(only))).toContain('10.0.0.2:7000 (neither HTTP nor TLS) closed 4 idle connections');
  });

  test('MySQL: idle closes by RST with no FIN (MariaDB at wait_timeout) count as the server\'s', () => {
    const cap = new Capture();
    redisCloses(cap, 3, 2.0, 3306, 'rst');
    redisReuses(cap, [1.95], 3306);
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ serverIdleCloses: 3, clientReuseMaxIdle: 1.95, clientReuses: 1 });
  });

  test('TLS: the reuses are read from the client\'s turns of application-data records', () => {
    const cap = new Capture();
    const rec = tlsRecord;
    for (let i = 0; i < 3; i++) {
      const t = i * 0.1;
      const c = tlsConnection(cap, '1.2', t);
      c.send(t + 0.01, 'c', rec(23, 100)).send(t + 0.011, 's', rec(23, 120)).ack(t + 0.0111, 'c');
      c.send(t + 2.011, 's', rec(21, 26)).close(t + 2.0111, 's'); // close_notify, FIN
    }
    const pooled = tlsConnection(cap, '1.2', 1);
    pooled.send(1.01, 'c', rec(23, 100)).send(1.011, 's', rec(23, 120));
    pooled.send(1.511, 'c', rec(23, 100)).send(1.512, 's', rec(23, 120)); // reused after 0.5 s
    pooled.send(3.412, 'c', rec(23, 100)).send(3.413, 's', rec(23, 120)); // after 1.9 s
    pooled.close(3.5, 'c');
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.server).toBe('10.0.0.2:443');
    expect(f.evidence).toMatchObject({ serverIdleCloses: 3, clientReuseMaxIdle: 1.9, clientReuses: 2, reusesNearTimeout: 1 });
  });

  test('a protocol\'s goodbye after the server\'s close is no reuse (an LDAP UnbindRequest 4 s after the last operation)', () => {
    const cap = new Capture();
    const search = '\x30\x39\x02\x01\x05\x63' + 'x'.repeat(53);
    const result = '\x30\x0c\x02\x01\x05\x65\x07' + 'y'.repeat(7);
    for (let i = 0; i < 3; i++) cap.connection({ sport: 389 }).handshake(i * 0.1).send(i * 0.1 + 0.01, 'c', search).send(i * 0.1 + 0.0102, 's', result).close(i * 0.1 + 2.0102, 's');
    const c = cap.connection({ sport: 389 });
    c.handshake(1).send(1.01, 'c', search).send(1.0102, 's', result);
    c.send(2.9102, 'c', search).send(2.9104, 's', result); // reused after 1.9 s
    c.fin(4.9104, 's').ack(4.9105, 'c');
    c.send(6.9104, 'c', '\x30\x05\x02\x01\x09\x42\x00').rst(6.9105, 's'); // the UnbindRequest, 4 s after the last answer
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ clientReuseMaxIdle: 1.9, clientReuses: 1 });
  });

  test('stays silent when the pool reuses well within the server\'s timeout', () => {
    const cap = new Capture();
    redisCloses(cap, 4, 2.0);
    redisReuses(cap, [0.3, 1.0, 1.2]);
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------- samples

const samples = new Map(listSamples().map((s) => [s.name, s]));

const firing = ['idle-timeout-mismatch', 'keepalive-race-crossing', 'keepalive-race-python', 'keepalive-race-apache-java'].filter((n) => samples.has(n));
const silent = [
  'keepalive-race-stale', 'keepalive-node-agent', 'clean-keepalive-reuse', 'client-closes-idle-first', 'connection-close-curl',
  'half-close', 'abortive-close-after-response', 'http10-keepalive-and-close', 'tcp-keepalive-probes', 'pipelining',
  'chunked-responses', 'connection-churn', 'port-reuse', 'request-after-close-notice', 'healthy-apache-lighttpd-java',
].filter((n) => samples.has(n));

describe.each(firing)('idle-timeout-mismatch on sample %s', (name) => {
  const meta = samples.get(name)!.meta!;
  test('one endpoint finding; the inferred server idle timeout matches the configured one', async () => {
    const r = await analyzeSample(name);
    const found = ofKind(r, KIND);
    expect(found).toHaveLength(1);
    expect(found[0].client).toBeNull();
    const configured = meta.configured?.serverIdleTimeout as number;
    const value = found[0].evidence.serverIdleTimeout as number;
    expect(Math.abs(value - configured)).toBeLessThanOrEqual(Math.max(0.02 * configured, 0.02));
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverIdleTimeout.value).toBe(value);
    const advertised = meta.configured?.advertisedKeepAliveTimeout;
    if (typeof advertised === 'number') expect(d.inferred.advertisedKeepAliveTimeout.value).toBe(advertised);
    // Clients reused connections after idling at least the timeout minus the margin.
    expect(found[0].evidence.reusesNearTimeout as number).toBeGreaterThan(0);
  });
});

test.each(silent)('idle-timeout-mismatch stays silent on sample %s', async (name) => {
  expect(ofKind(await analyzeSample(name), KIND).map((f) => f.summary)).toEqual([]);
});

describe('idle-timeout-mismatch-go-stall: an exact timer whose process stalled', () => {
  test('Go\'s 1.7 s IdleTimeout with closes delayed by SIGSTOP is no tick: the cluster is the timeout, the limit 0.9 s', async () => {
    const r = await analyzeSample('idle-timeout-mismatch-go-stall');
    const d = r.diagnoses.find((x) => x.kind === KIND)!;
    expect(d.inferred.serverIdleTimeout.value).toBeCloseTo(1.7, 2);
    expect(d.inferred.serverIdleTimeout.spread).toBeLessThan(0.05);
    expect(d.explanation).not.toContain('periodic tick');
    expect(d.remedy).toContain('idle for more than 0.9 s');
    expect(ofKind(r, KIND)[0].evidence.serverIdleTicked).toBe(false);
  });
});

describe("idle-timeout-mismatch: a proxy's pool to its backend (its upstream requests copy its clients', User-Agent and all)", () => {
  const pooled = samples.has('keepalive-race-nginx-upstream') && samples.has('keepalive-race-python');
  (pooled ? test : test.skip)("names the proxy's pool setting, not the client's (nginx passes its client's request on)", async () => {
    const d = (await analyzeSample('keepalive-race-nginx-upstream')).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toMatch(/^Proxy: close its pooled connections to /);
    expect(d.remedy).toContain('its responses say `Server: nginx/1.22.1`: the idle connections are its pool\'s, nginx upstream: `keepalive_timeout`');
    expect(d.remedy).not.toContain('Node http.Agent');
  });
  (pooled ? test : test.skip)('near miss: clients of their own (no proxy forwarded their requests) are still told as clients', async () => {
    const d = (await analyzeSample('keepalive-race-python')).diagnoses.find((x) => x.kind === KIND)!;
    expect(d.remedy).toMatch(/^Client: close pooled connections/);
  });
});
