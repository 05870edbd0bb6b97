import { tlsHandshakeFailed } from '../../src/detect/detectors/tls-handshake-failed';
import { clientHelloRecord, concat, records, serverHelloRecord } from '../helpers/tls-hello-builder';
import { Https } from './https-kit';
import { Capture, Conn, get, ofKind } from './reuse-kit';

const KIND = 'tls-handshake-failed';

/** A plaintext alert record: level (1 warning, 2 fatal) and description. */
function alertRecord(description: number, level = 2, minor = 3): Uint8Array {
  return Uint8Array.from([21, 3, minor, 0, 2, level, description]);
}

function findings(cap: Capture) {
  return ofKind(cap.analyze([tlsHandshakeFailed]), KIND);
}

/** A connection with its ClientHello sent at `at` + 1 ms (TLS 1.3 offered), acknowledged by the server. */
function hello(cap: Capture, at: number, options: { sport?: number; client?: string } = {}): Conn {
  const c = cap.connection({ sport: options.sport ?? 443, client: options.client });
  c.handshake(at).send(at + 0.001, 'c', clientHelloRecord({ tls13: true, serverName: 'api.example' })).ack(at + 0.0011, 's');
  return c;
}

/** The server's first flight: a TLS 1.2 ServerHello with its certificate, key exchange and ServerHelloDone (handshake records). */
function serverFlight12(c: Conn, t: number): Conn {
  return c.send(t, 's', concat(serverHelloRecord({}), records(22, 600, 100, 4))).ack(t + 0.0001, 'c');
}

/** A TLS 1.3 server's first flight: ServerHello, its compatibility CCS, the encrypted handshake as application data. */
function serverFlight13(c: Conn, t: number): Conn {
  return c.send(t, 's', concat(serverHelloRecord({ tls13: true }), records(20, 1), records(23, 30, 600, 100, 53))).ack(t + 0.0001, 'c');
}

describe('tls-handshake-failed: alerts in clear', () => {
  test('a TLS 1.2 client rejects the certificate: unknown_ca (48) from the client after the server\'s flight, then its RST', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight12(c, 0.002);
    c.send(0.02, 'c', alertRecord(48)).rst(0.0201, 'c');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'alert', failedBy: 'client', alert: 'unknown_ca', alertCode: 48, alertLevel: 'fatal', stage: 'server-hello', closedWith: 'rst', connections: 1, serverChose: '1.2' });
    expect(f.summary).toContain('unknown_ca (48)');
    expect(String(f.evidence.clientSees)).toContain('tlsv1 alert unknown ca');
  });

  test('the server refuses the version: protocol_version (70) right after the ClientHello, before any ServerHello', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    c.send(0.002, 's', alertRecord(70)).fin(0.0021, 's').fin(0.0022, 'c').ack(0.0023, 's');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'alert', failedBy: 'server', alert: 'protocol_version', stage: 'client-hello', closedWith: 'fin', serverChose: null });
    expect(String(f.evidence.clientSees)).toContain('tlsv1 alert protocol version');
  });

  test('an alert split across segments is still read', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    const a = alertRecord(112);
    c.send(0.002, 's', a.subarray(0, 6)).send(0.0021, 's', a.subarray(6)).fin(0.0022, 's').fin(0.0023, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ alert: 'unrecognized_name', alertCode: 112 });
  });

  test('identical failures are one finding per server and cause, with every connection counted', () => {
    const cap = new Capture();
    for (let i = 0; i < 3; i++) {
      const c = hello(cap, i);
      c.send(i + 0.002, 's', alertRecord(40)).fin(i + 0.0021, 's').fin(i + 0.0022, 'c');
    }
    // The same alert from another server is its own finding.
    const other = hello(cap, 5, { sport: 8443 });
    other.send(5.002, 's', alertRecord(40)).fin(5.0021, 's').fin(5.0022, 'c');
    const all = findings(cap);
    expect(all.map((f) => [f.server, f.evidence.connections])).toEqual([
      ['10.0.0.2:443', 3],
      ['10.0.0.2:8443', 1],
    ]);
    expect(all[0].evidence.flows).toHaveLength(3);
    expect(all[0].summary).toMatch(/^3 TLS handshakes with 10\.0\.0\.2:443 failed: the server sent the fatal alert handshake_failure \(40\)/);
  });

  test('a warning close_notify or user_canceled from a client that gives up is a cancel: silent', () => {
    for (const description of [0, 90]) {
      const cap = new Capture();
      const c = hello(cap, 0);
      serverFlight12(c, 0.002);
      c.send(0.003, 'c', alertRecord(description, 1)).fin(0.0031, 'c').fin(0.0032, 's');
      expect(findings(cap)).toEqual([]);
    }
  });
});

describe('tls-handshake-failed: TLS 1.3 encrypted alerts and closes without an alert', () => {
  test('a TLS 1.3 client\'s encrypted alert after the server\'s flight (CCS, then 19 bytes of application data instead of its Finished)', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    c.send(0.04, 'c', concat(records(20, 1), records(23, 19))).fin(0.0401, 's').fin(0.0402, 'c');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'encrypted-alert', failedBy: 'client', alert: 'encrypted', serverChose: '1.3' });
  });

  test('the server closes right after the ClientHello without a byte (an SNI router with no route, a listener that does not speak TLS)', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    c.rst(0.0015, 's');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'closed', failedBy: 'server', stage: 'client-hello', closedWith: 'rst' });
  });

  test('a client that waited over a second for a ServerHello and gave up: the server never answered the ClientHello', () => {
    const cap = new Capture();
    hello(cap, 0).close(1.6, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'closed', failedBy: 'client', stage: 'client-hello' });
  });

  test('a client whose timer fired before a slow server\'s ServerHello, which came after its FIN: it gave up waiting, it rejected no certificate (blind 14b s9)', () => {
    const cap = new Capture();
    for (const [at, wait] of [[0, 0.5], [2, 0.3]] as const) {
      const c = hello(cap, at);
      c.fin(at + 0.001 + wait, 'c').ack(at + 0.001 + wait + 0.04, 's');
      // The server's flight, 1 s after the ClientHello, answered by the client's RST.
      c.send(at + 1.001, 's', concat(serverHelloRecord({ tls13: true }), records(20, 1), records(23, 30, 600, 100, 53)));
      c.rst(at + 1.0011, 'c');
    }
    const [f, ...more] = findings(cap);
    expect(more).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'closed', failedBy: 'client', stage: 'client-hello', connections: 2, serverHelloAfterMs: 1000 });
    const d = cap.analyze([tlsHandshakeFailed]).diagnoses[0];
    expect(d.explanation).toContain('gave up waiting for the server\'s hello');
    expect(d.explanation).toContain('300–500 ms');
    expect(d.explanation).not.toContain('certificate and');
    expect(d.remedy).toContain('slow to start its TLS handshakes');
    expect(d.remedy).not.toContain('failed to verify');
  });

  test('a client that closes after the server\'s flight arrived, without an alert, still closed on it', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.4);
    c.fin(0.5, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'closed', failedBy: 'client', stage: 'server-hello' });
    expect(f.evidence.serverHelloAfterMs).toBeUndefined();
  });

  test('a client that cancels its handshake at once (a happy-eyeballs loser, a speculative connection): silent', () => {
    const cap = new Capture();
    hello(cap, 0).close(0.05, 'c');
    expect(findings(cap)).toEqual([]);
  });
});

describe('tls-handshake-failed: the wrong protocol on a port', () => {
  test('a ClientHello sent to a plain HTTP port, answered "HTTP/1.1 400 Bad Request" in clear', () => {
    const cap = new Capture();
    const c = hello(cap, 0, { sport: 80 });
    c.send(0.002, 's', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n').fin(0.0021, 's').rst(0.003, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'not-tls', failedBy: 'server', answer: 'HTTP' });
    expect(f.summary).toContain('plain HTTP port');
  });

  test('a plain HTTP request to a port that speaks TLS (other connections there are TLS), answered 400 and closed', () => {
    const cap = new Capture();
    new Https(cap, 0, { version: '1.3', offer: ['http/1.1'] }).request(0.01).answer(0.02).clientCloses(0.03);
    const plain = cap.connection({ sport: 443 });
    plain.handshake(1).request(1.001, get('/')).send(1.002, 's', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\nConnection: close\r\n\r\nplain').close(1.003, 's');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'plain-http-to-tls-port', failedBy: 'client', answer: 'HTTP/1.1 400 Bad Request' });
    expect(f.summary).toMatch(/^1 plain HTTP connection with 10\.0\.0\.2:443 failed/);
  });

  test('a 400 and close on a port that never spoke TLS in the capture is no such mistake: silent', () => {
    const cap = new Capture();
    const plain = cap.connection({ sport: 443 });
    plain.handshake(1).request(1.001, get('/')).send(1.002, 's', 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n').close(1.003, 's');
    expect(findings(cap)).toEqual([]);
  });
});

describe('tls-handshake-failed: near misses', () => {
  test.each(['1.2', '1.3'] as const)('healthy TLS %s connections, closed by either side, are silent', (version) => {
    const cap = new Capture();
    new Https(cap, 0, { version, offer: ['http/1.1'] }).request(0.01).answer(0.02).clientCloses(0.03);
    new Https(cap, 1, { version, offer: ['http/1.1'] }).request(1.01).answer(1.02).serverCloses(3.02);
    expect(findings(cap)).toEqual([]);
  });

  test('a TLS 1.2 resumption (the server\'s CCS first) that completes is silent', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    c.send(0.002, 's', concat(serverHelloRecord({}), records(20, 1), records(22, 40))).ack(0.0021, 'c');
    c.send(0.003, 'c', concat(records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.close(0.01, 'c');
    expect(findings(cap)).toEqual([]);
  });

  test('a handshake still waiting when the capture ends (no FIN or RST) is not judged', () => {
    const cap = new Capture();
    hello(cap, 0);
    serverFlight13(hello(cap, 1), 1.002);
    expect(findings(cap)).toEqual([]);
  });

  test('a capture that begins in the middle of a handshake (no SYN, no ClientHello) is not judged', () => {
    const cap = new Capture();
    const c = cap.connection({ sport: 443 });
    // The client's second TLS 1.2 flight is the first thing seen, then the server's alert and close.
    c.send(0.001, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(0.0011, 's');
    c.send(0.002, 's', alertRecord(51)).fin(0.0021, 's').fin(0.0022, 'c');
    expect(findings(cap)).toEqual([]);
  });
});

describe('tls-handshake-failed: a proxy\'s 502 for its upstream handshake', () => {
  const BAD_GATEWAY = 'HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror';

  /** A client's request to the proxy 10.0.0.3:8081 at `at`; with `status502`, the proxy's 502 at `answerAt` and the client's close. */
  function front(cap: Capture, at: number, answerAt: number | null): void {
    const c = cap.connection({ client: '10.0.0.1', server: '10.0.0.3', sport: 8081 });
    c.handshake(at).request(at + 0.0005, get('/api'));
    if (answerAt !== null) c.response(answerAt, BAD_GATEWAY).close(answerAt + 0.001, 'c');
  }

  /** The proxy's upstream TLS 1.2 handshake to 10.0.0.2:443 at `at`, completed, then its close_notify (encrypted: 26 bytes) and FIN at `closeAt`. */
  function verifiedAfterHandshake(cap: Capture, at: number, closeAt: number): void {
    const c = hello(cap, at, { client: '10.0.0.3' });
    serverFlight12(c, at + 0.002);
    c.send(at + 0.003, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(at + 0.0031, 's');
    c.send(at + 0.004, 's', concat(records(20, 1), records(22, 40))).ack(at + 0.0041, 'c');
    c.send(closeAt, 'c', records(21, 26)).fin(closeAt + 0.00001, 'c').fin(closeAt + 0.0001, 's').ack(closeAt + 0.0002, 'c');
  }

  test('nginx with proxy_ssl_verify on: the handshake completes, the proxy closes at once with its close_notify and answers 502', () => {
    const cap = new Capture();
    front(cap, 0, 0.0062);
    verifiedAfterHandshake(cap, 0.001, 0.006);
    const result = cap.analyze();
    const [f, ...rest] = ofKind(result, KIND);
    expect(rest).toEqual([]);
    expect(f.client).toBe('10.0.0.3:40001');
    expect(f.evidence).toMatchObject({ cause: 'verify-after-handshake', failedBy: 'client', relayed502: 1, relayedBy: ['10.0.0.3:8081'] });
    expect(f.summary).toContain('rejected the server\'s certificate after the handshake');
    // The 502 is this failure's: no flaky proxy besides it.
    expect(ofKind(result, 'intermittent-5xx')).toEqual([]);
  });

  test('the same handshake closed at once with no 502 near it is a TLS health check: silent', () => {
    const cap = new Capture();
    front(cap, 0, null);
    verifiedAfterHandshake(cap, 0.001, 0.006);
    expect(findings(cap)).toEqual([]);
  });

  test('a 502 long after the close, or for a request that came after the handshake began, is not its relay', () => {
    const late = new Capture();
    front(late, 0, 0.5);
    verifiedAfterHandshake(late, 0.001, 0.006);
    expect(findings(late)).toEqual([]);
    const after = new Capture();
    front(after, 0.002, 0.0062);
    verifiedAfterHandshake(after, 0.001, 0.006);
    expect(findings(after)).toEqual([]);
  });

  test('a server\'s alert to a proxy, relayed as a 502: the finding names the proxy and the exchanges it failed', () => {
    const cap = new Capture();
    front(cap, 0, 0.0032);
    const c = hello(cap, 0.001, { client: '10.0.0.3' });
    c.send(0.003, 's', alertRecord(112)).fin(0.0031, 's').fin(0.0032, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'alert', alert: 'unrecognized_name', relayed502: 1, relayedBy: ['10.0.0.3:8081'] });
    expect(f.evidence.relayedExchanges).toHaveLength(1);
    expect(f.summary).toContain('the client is a proxy: 10.0.0.3:8081 answered 1 request of its own clients with 502');
  });
});

/**
 * A TLS 1.3 server that requires a client certificate (OpenSSL `-Verify`, Go
 * `RequireAndVerifyClientCert`, HAProxy `verify required`) checks it only once the client's second
 * flight has come: its alert (certificate_required 116, bad_certificate 42, unknown_ca 48) is
 * encrypted under its handshake keys, a 19-byte application-data record in place of the session
 * tickets a server sends after a good Finished, and it closes at once.
 */
describe('tls-handshake-failed: a TLS 1.3 server\'s encrypted alert after the client\'s second flight', () => {
  /** The client's second flight behind a CertificateRequest: CCS, Certificate (25: empty), [CertificateVerify], Finished (53: AES-128-GCM). */
  function clientFlight(c: Conn, t: number, withCertificate: boolean): Conn {
    return c.send(t, 'c', concat(records(20, 1), withCertificate ? records(23, 700, 95, 53) : records(23, 25, 53))).ack(t + 0.0001, 's');
  }

  test('no client certificate (an empty Certificate): the server\'s 19-byte alert right after the Finished, then its FIN (openssl s_server -Verify 1: "tlsv13 alert certificate required")', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    clientFlight(c, 0.003, false);
    c.send(0.0032, 's', records(23, 19)).fin(0.0033, 's').fin(0.0034, 'c').ack(0.0035, 's');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'encrypted-alert', failedBy: 'server', stage: 'client-flight', alert: 'encrypted', clientCertificate: 'none', closedWith: 'fin', serverChose: '1.3' });
    expect(f.summary).toContain('the server sent an encrypted alert');
    expect(String(f.evidence.clientSees)).toContain('tlsv13 alert certificate required');
  });

  test('a client certificate the server rejects (its Certificate and CertificateVerify), and curl\'s request sent after its Finished, unanswered', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    clientFlight(c, 0.003, true);
    c.send(0.0031, 'c', records(23, 95)).ack(0.00315, 's');
    c.send(0.0035, 's', records(23, 19)).fin(0.0036, 's').fin(0.0037, 'c').ack(0.0038, 's');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'encrypted-alert', failedBy: 'server', stage: 'client-flight', clientCertificate: 'sent' });
    expect(f.summary).toContain('certificate');
  });

  test('every detector: a Go client\'s request sent with its flight, the server\'s alert and FIN, is the handshake\'s failure, no unanswered request', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    c.send(0.003, 'c', concat(records(20, 1), records(23, 25, 53), records(23, 112))).ack(0.0031, 's');
    c.send(0.0048, 's', records(23, 19)).fin(0.0049, 's').fin(0.005, 'c').ack(0.0051, 's');
    expect(cap.analyze().anomalies.map((f) => `${f.kind} ${String(f.evidence.cause)}`)).toEqual(['tls-handshake-failed encrypted-alert']);
  });

  test('every detector: curl\'s request written after the server\'s alert and FIN, reset, is the handshake\'s failure, no keep-alive race', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    clientFlight(c, 0.003, false);
    c.send(0.0058, 's', records(23, 19)).fin(0.0059, 's');
    c.send(0.00605, 'c', records(23, 81)).rst(0.00607, 's');
    expect(cap.analyze().anomalies.map((f) => `${f.kind} ${String(f.evidence.cause)}`)).toEqual(['tls-handshake-failed encrypted-alert']);
  });

  test('near miss: a good Finished answered with session tickets, then a close_notify at once, is silent', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    clientFlight(c, 0.003, true);
    c.send(0.0032, 's', records(23, 250, 250)).send(0.0034, 's', records(23, 19)).fin(0.0035, 's').fin(0.0036, 'c');
    expect(findings(cap)).toEqual([]);
  });

  test('near miss: a server without session tickets closing an idle handshake with its close_notify 1.5 s later is silent (a Go ReadTimeout)', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    c.send(0.003, 'c', concat(records(20, 1), records(23, 53))).ack(0.0031, 's');
    c.send(1.503, 's', records(23, 19)).fin(1.5031, 's').fin(1.5032, 'c').ack(1.5033, 's');
    expect(findings(cap)).toEqual([]);
  });

  test('near miss: a health check\'s close_notify right after its Finished, answered by a server without tickets with its own close_notify, is silent', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    c.send(0.003, 'c', concat(records(20, 1), records(23, 53), records(23, 19))).ack(0.0031, 's');
    c.send(0.0032, 's', records(23, 19)).fin(0.0033, 's').fin(0.0034, 'c');
    expect(findings(cap)).toEqual([]);
  });

  test('near miss: a client that closes right after its Finished, the server\'s close_notify answering its FIN, is silent', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight13(c, 0.002);
    c.send(0.003, 'c', concat(records(20, 1), records(23, 53))).fin(0.0031, 'c');
    c.send(0.0033, 's', records(23, 19)).fin(0.0034, 's');
    expect(findings(cap)).toEqual([]);
  });
});

describe('tls-handshake-failed: TLS 1.2 alerts sent after a side\'s ChangeCipherSpec (encrypted)', () => {
  test('a TLS 1.2 server\'s handshake_failure in clear after the client\'s second flight is told as a missing client certificate, not a cipher mismatch (OpenSSL -Verify 1)', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight12(c, 0.002);
    c.send(0.003, 'c', concat(records(22, 7, 37), records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.send(0.0032, 's', alertRecord(40)).fin(0.0033, 's').fin(0.0034, 'c');
    const r = cap.analyze([tlsHandshakeFailed]);
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ cause: 'alert', failedBy: 'server', alert: 'handshake_failure', stage: 'client-flight' });
    expect(r.diagnoses[0].explanation).toContain('requires a client certificate');
    expect(r.diagnoses[0].remedy).toContain('--cert');
  });

  test('a client that sent its CCS and Finished, then an encrypted alert (type 21, 26 bytes) before the server\'s CCS, and closed', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight12(c, 0.002);
    c.send(0.003, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.send(2.003, 'c', records(21, 26)).fin(2.0031, 'c').fin(2.0032, 's');
    const [f, ...rest] = findings(cap);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ cause: 'encrypted-alert', failedBy: 'client', alert: 'encrypted', stage: 'client-flight', serverChose: '1.2' });
  });

  test('a resumption\'s server (its CCS and Finished first) that gives up on a client that never sent its flight: its encrypted alert, then its FIN', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    c.send(0.002, 's', concat(serverHelloRecord({}), records(20, 1), records(22, 40))).ack(0.0021, 'c');
    c.send(10.002, 's', records(21, 26)).fin(10.0021, 's').fin(10.0022, 'c');
    const [f] = findings(cap);
    expect(f.evidence).toMatchObject({ cause: 'encrypted-alert', failedBy: 'server', alert: 'encrypted', stage: 'server-hello' });
  });

  test('near miss: the same client alert where the capture lost the server\'s CCS and Finished (a gap) is not judged', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight12(c, 0.002);
    c.send(0.003, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.unseen('s', 'x'.repeat(51));
    c.send(0.5, 'c', records(21, 26)).fin(0.5001, 'c').fin(0.5003, 's');
    expect(findings(cap)).toEqual([]);
  });

  test('near miss: the same client alert where the snaplen took the headers of the server\'s CCS and Finished and reading resumed at its next segment is not judged', () => {
    // A resumption: ServerHello, CCS and Finished in one segment, cut inside the ServerHello; the
    // server's banner (a protocol where the server speaks first) begins its next segment.
    const cap = new Capture();
    const c = hello(cap, 0);
    const flight = concat(serverHelloRecord({}), records(20, 1), records(22, 40));
    c.send(0.002, 's', flight, { keptPayload: 40 }).ack(0.0021, 'c');
    c.send(0.003, 'c', concat(records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.send(0.004, 's', records(23, 60)).ack(0.0041, 'c');
    c.send(0.5, 'c', records(21, 26)).fin(0.5001, 'c').fin(0.5003, 's');
    expect(findings(cap)).toEqual([]);
  });

  test('near miss: a TLS 1.2 handshake completed (both CCS) and closed with encrypted close_notify records is silent', () => {
    const cap = new Capture();
    const c = hello(cap, 0);
    serverFlight12(c, 0.002);
    c.send(0.003, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(0.0031, 's');
    c.send(0.004, 's', concat(records(20, 1), records(22, 40))).ack(0.0041, 'c');
    c.send(0.5, 'c', records(21, 26)).fin(0.5001, 'c').send(0.5002, 's', records(21, 26)).fin(0.5003, 's');
    expect(findings(cap)).toEqual([]);
  });
});
