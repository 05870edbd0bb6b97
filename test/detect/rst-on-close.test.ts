import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { rstOnClose } from '../../src/detect/detectors/rst-on-close';
import { SAMPLES_DIR, SampleMeta } from '../samples';
import { Capture, get, ofKind, ok, T0 } from './reuse-kit';

const KIND = 'rst-on-close';
const only = [rstOnClose];

const head = (length: number): string => `POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: ${length}\r\n\r\n`;
const tooLarge = ok('too large', ['Connection: close'], 'HTTP/1.1', '413 Payload Too Large');

describe('rst-on-close on synthetic connections', () => {
  test('413 to an upload still in progress, then RST without FIN: the body was left unread', () => {
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).request(0.001, head(2000) + 'b'.repeat(500)).response(0.002, tooLarge).rst(0.0022, 's');
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ client: conn.clientName, server: conn.serverName, severity: 'warning' });
    expect(f.ts).toBeCloseTo(T0 + 0.0022, 6);
    expect(f.evidence).toMatchObject({
      resetBy: 'server', unread: 'request-body-incomplete', request: 'POST /upload', status: 413, responseComplete: true,
      responseAcked: true, requestComplete: false, requestBodyReceived: 500, unansweredRequests: 0,
    });
    // The request (4), the response (6) and the RST (8).
    expect(f.frames).toEqual([4, 6, 8]);
    expect(f.summary).toBe(`${conn.serverName} answered 413 before the request body had fully arrived, then closed with RST instead of FIN: unread request bytes; the client may lose the response`);
  });

  test('a snaplen that cuts the body, not the head: the body is counted by the segments\' lengths, and the unread upload judged', () => {
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).request(0.001, head(2000) + 'b'.repeat(500)).response(0.002, tooLarge).rst(0.0022, 's');
    const r = cap.analyzeCut(160, only);
    expect(r.stats.snaplenCut).toBeGreaterThan(0);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ unread: 'request-body-incomplete', requestBodyReceived: 500 });
    // Cut inside the head, the request's length is unseen: it may have been whole. Not judged.
    const cutHead = cap.analyzeCut(90, only);
    expect(cutHead.exchanges[0]).toMatchObject({ method: 'POST', requestCut: true });
    expect(ofKind(cutHead, KIND)).toEqual([]);
  });

  test('the body finished arriving after the response had started: still unread at the close', () => {
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).request(0.001, head(1000) + 'b'.repeat(500)).response(0.002, tooLarge)
      .request(0.003, 'b'.repeat(500)).rst(0.0031, 's');
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ unread: 'response-before-request-end', requestComplete: true, requestBodyReceived: 1000, clientStillSending: true });
  });

  test('requests pipelined behind a response that announced the close', () => {
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).request(0.001, get('/a') + get('/b')).response(0.002, ok('a', ['Connection: close'])).rst(0.0021, 's');
    const [f] = ofKind(cap.analyze(only), KIND);
    expect(f.evidence).toMatchObject({ unread: 'pipelined-requests', request: 'GET /a', status: 200, unansweredRequests: 1, requestBodyReceived: null });
  });

  test('silent: a complete exchange closed with FINs', () => {
    const cap = new Capture();
    cap.connection().handshake(0).exchange(0.001).close(0.01, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: the client resets right after reading the whole response (abortive close)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).exchange(0.001).rst(0.003, 'c');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a keep-alive race — the server FINs an idle connection, the request arrives, RST', () => {
    const cap = new Capture();
    cap.connection().handshake(0).exchange(0.001).fin(5, 's').request(5.001, get('/late'), { sawFin: false, noAck: true }).rst(5.0011, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a request that arrived after the server went quiet, then RST (idle close or crash, not an answered request)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).exchange(0.001).request(5, get('/next')).rst(5.0001, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: reset before any response (reset-before-response)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, get('/stuck')).rst(0.6, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: pipelined requests when the response did not announce a close (an abort, not a planned close)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, get('/a') + get('/b')).response(0.002, ok('a')).rst(0.0021, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('the server answered an upload early and closed whole (FIN), and the rest of the body drew its RST: the upload was cut all the same (Perl\'s server: the client got EPIPE)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, head(1000) + 'b'.repeat(500)).response(0.002, tooLarge)
      .fin(0.0021, 's').request(0.003, 'b'.repeat(500), { noAck: true }).rst(0.0031, 's');
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ unread: 'response-before-request-end', status: 413, finBeforeReset: true, closedBeforeBody: true });
    expect(f.summary).toMatch(/answered 413 while the request body was still arriving and closed \(FIN\) without reading the rest/);
    const [d] = cap.analyze(only).diagnoses;
    expect(d.explanation).toMatch(/answered 1 upload early \(1× 413\) and closed the connection \(FIN\) without reading the rest of the body/);
    expect(d.explanation).not.toContain('unread in its receive buffer');
  });

  test("a head still trickling in (a slowloris): a 408 is slow-client-timeout's, the bytes it sent on drawing the RST; a 431 to it is told as a head, not an upload", () => {
    const trickled = (answer: string): ReturnType<Capture['analyze']> => {
      const cap = new Capture();
      const c = cap.connection();
      c.handshake(0).request(0.001, 'GET /a HTTP/1.1\r\nHost: x\r\n');
      c.request(1, 'X-a: b\r\n').request(2, 'X-b: c\r\n');
      c.response(3, answer).fin(3.0001, 's');
      c.request(4, 'X-c: d\r\n', { noAck: true }).rst(4.0001, 's');
      return cap.analyze(only);
    };
    expect(ofKind(trickled('HTTP/1.1 408 Request Time-out\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'), KIND)).toEqual([]);
    const r = trickled('HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    const [f] = ofKind(r, KIND);
    expect(f.evidence).toMatchObject({ unread: 'request-head-incomplete', status: 431, closedBeforeBody: true, requestComplete: false });
    expect(f.summary).toContain('before the request head had fully arrived');
    expect(f.summary).toContain('the rest of the head the client went on sending drew a RST');
    const [d] = r.diagnoses;
    expect(d.explanation).toContain('answered 1 request early (1× 431) and closed the connection (FIN) without reading the rest of the request head');
    expect(d.explanation).not.toMatch(/upload|body/);
  });

  test('silent: an upload answered early whose body then came whole, an idle FIN, then a stale request reset (keepalive-race\'s)', () => {
    // nginx's `return 200` answers a POST on its head and discards the body itself: the body is
    // ACKed, the connection idles, the server closes it with FIN; the client's next request meets
    // the closed socket. The RST answers that request, not an unread upload.
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, head(1000)).response(0.002, ok('ok'))
      .request(0.003, 'b'.repeat(1000)).fin(3.003, 's').request(3.3, get('/next'), { sawFin: false, noAck: true }).rst(3.3001, 's');
    const r = cap.analyze(only);
    expect(r.exchanges[0]).toMatchObject({ method: 'POST', status: 200, requestBodyBytes: 1000 });
    expect(ofKind(r, KIND)).toEqual([]);
    expect(r.diagnoses).toEqual([]);
    // The near miss: the same early answer, the FIN while the body is still coming, its rest reset.
    const cut = new Capture();
    cut.connection().handshake(0).request(0.001, head(1000)).response(0.002, ok('ok'))
      .fin(0.0021, 's').request(0.003, 'b'.repeat(1000), { noAck: true }).rst(0.0031, 's');
    expect(ofKind(cut.analyze(only), KIND)).toHaveLength(1);
  });

  test('silent: a FIN first, and nothing from the client after it (the RST answered something else)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, head(500) + 'b'.repeat(500)).response(0.002, tooLarge)
      .fin(0.0021, 's').ack(0.0022, 'c').rst(0.0031, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: an Expect: 100-continue upload refused at its head (417, Connection: close) whose body never came, then an abortive close (SO_LINGER 0): nothing was unread', () => {
    // Python's http.server with SO_LINGER 0 (expect-continue-rejected): FIN, then RST at once. The
    // client withheld the body (RFC 9110 §10.1.1): its 3000 announced bytes were never sent.
    const expectHead = `POST /upload HTTP/1.1\r\nHost: example\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n`;
    const refused = ok('no', ['Connection: close'], 'HTTP/1.1', '417 Expectation Failed');
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, expectHead).response(0.002, refused).fin(0.0021, 's').rst(0.0022, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
    // The same refusal with the body on its way when it came: unread, as before.
    const cap2 = new Capture();
    cap2.connection().handshake(0).request(0.001, expectHead + 'b'.repeat(1500)).response(0.002, refused).fin(0.0021, 's').rst(0.0022, 's');
    expect(ofKind(cap2.analyze(only), KIND)).toHaveLength(1);
  });

  test('silent: a 417 with Connection: close to an Expect upload, the body withheld and the next request sent on the closed connection: its RST answers that request', () => {
    // The next request was read as the withheld body: the RST was taken for the close finding it
    // unread. It is a request sent after the close notice (request-after-close-notice's).
    const expectHead = `POST /upload HTTP/1.1\r\nHost: example\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n`;
    const refused = ok('no', ['Connection: close'], 'HTTP/1.1', '417 Expectation Failed');
    const cap = new Capture();
    cap.connection().handshake(0).request(0.001, expectHead).response(0.002, refused).fin(0.0021, 's')
      .request(0.003, get('/next')).rst(0.0031, 's');
    const result = cap.analyze();
    expect(ofKind(result, KIND)).toEqual([]);
    expect(result.anomalies.map((a) => a.kind)).toEqual(['request-after-close-notice']);
    expect(result.exchanges.map((e) => [e.uri, e.status, e.state, e.requestBodyWithheld])).toEqual([
      ['/upload', 417, 'complete', true],
      ['/next', null, 'no-response', undefined],
    ]);
  });

  test('a FIN first with the upload already in and unread, then RST with nothing after the FIN (Node after an early 413)', () => {
    // Node's end() sends the FIN, its destroy() right behind it closes the socket with the upload
    // unread in its buffer: RST. No client byte came after the FIN, so the RST answered none.
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).request(0.001, head(4000) + 'b'.repeat(1500)).response(0.002, tooLarge).fin(0.0021, 's').rst(0.0022, 's');
    const [f, ...rest] = ofKind(cap.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ unread: 'request-body-incomplete', status: 413, finBeforeReset: true, closedBeforeBody: false, requestBodyReceived: 1500 });
    expect(f.summary).toBe(`${conn.serverName} answered 413 before the request body had fully arrived, sent FIN, then RST: its close found request bytes unread; the client may lose the response`);
    // The request (4), the response (6), the server's FIN (8) and its RST (9).
    expect(f.frames).toEqual([4, 6, 8, 9]);
  });

  test('a FIN first, then the upload taken in and left unread (a half close: Go\'s net/http after an early 413)', () => {
    // The server's stack ACKs the bytes that follow its FIN (only its sending side is shut), then
    // its close finds them unread half a second later: RST.
    const acked = new Capture();
    const conn = acked.connection();
    conn.handshake(0).request(0.001, head(4000) + 'b'.repeat(500)).response(0.002, tooLarge)
      .fin(0.0021, 's').request(0.003, 'b'.repeat(1000)).rst(0.5021, 's');
    const [f, ...rest] = ofKind(acked.analyze(only), KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({ unread: 'request-body-incomplete', status: 413, finBeforeReset: true, requestComplete: false });
    // The request (4), the response (6), the server's FIN (8) and its RST (11).
    expect(f.frames).toEqual([4, 6, 8, 11]);
    // The same with the bytes acknowledged only by the RST (Linux's RST|ACK on a close with unread data).
    const byReset = new Capture();
    byReset.connection().handshake(0).request(0.001, head(4000) + 'b'.repeat(500)).response(0.002, tooLarge)
      .fin(0.0021, 's').request(0.003, 'b'.repeat(1000), { noAck: true }).rstAck(0.5021, 's');
    expect(ofKind(byReset.analyze(only), KIND)).toHaveLength(1);
    const [d] = acked.analyze(only).diagnoses;
    expect(d.explanation).toContain('after a FIN: it shut down its sending side, then closed without reading');
  });

  /**
   * An upload whose whole body arrived (and was ACKed) before a 413, then a RST without FIN that
   * acknowledges it all, advertising `resetWindow` (the server's last segments advertised 30000).
   */
  function wholeBodyThenReset(resetWindow: number): { cap: Capture; conn: ReturnType<Capture['connection']> } {
    const cap = new Capture();
    const conn = cap.connection();
    conn.handshake(0).send(0.001, 'c', head(3000) + 'b'.repeat(3000)).ack(0.0011, 's', { window: 30000 })
      .send(0.2, 's', tooLarge, { window: 30000 }).ack(0.2001, 'c').rstAck(0.2002, 's', { window: resetWindow });
    return { cap, conn };
  }

  test('the whole body had arrived before a 413, and the RST advertised a wider window: its close discarded the body unread', () => {
    // Linux's close() purges the unread receive queue, then resets (TCPAbortOnClose): the RST's
    // window counts the room those bytes had taken.
    const { cap, conn } = wholeBodyThenReset(45000);
    const r = cap.analyze(only);
    const [f, ...rest] = ofKind(r, KIND);
    expect(rest).toEqual([]);
    expect(f.evidence).toMatchObject({
      unread: 'discarded-at-close', status: 413, requestComplete: true, requestBodyReceived: 3000, finBeforeReset: false,
      windowBeforeReset: 30000, windowAtReset: 45000, clientStillSending: false,
    });
    expect(f.summary).toBe(
      `${conn.serverName} answered 413 after the whole request had arrived, without reading all of it, then closed with RST instead of FIN: ` +
        'the RST advertised a wider receive window than its last segment (30000 → 45000 bytes), room its close freed by discarding request bytes unread; the client may lose the response',
    );
    // The request (4), the response (6) and the RST (8).
    expect(f.frames).toEqual([4, 6, 8]);
    const [d] = r.diagnoses;
    expect(d.explanation).toContain('answered requests that had arrived whole without reading all of them');
    expect(d.anomalyIds).toEqual([f.id]);
  });

  test('silent: the same RST with the window it had (SO_LINGER 0 after the request was read: nothing discarded)', () => {
    expect(ofKind(wholeBodyThenReset(30000).cap.analyze(only), KIND)).toEqual([]);
    expect(ofKind(wholeBodyThenReset(20000).cap.analyze(only), KIND)).toEqual([]);
  });

  test('silent: a wider window on a RST that does not acknowledge the request (not the server socket\'s own close)', () => {
    const cap = new Capture();
    cap.connection().handshake(0).send(0.001, 'c', head(3000) + 'b'.repeat(3000)).ack(0.0011, 's', { window: 30000 })
      .send(0.2, 's', tooLarge, { window: 30000 }).ack(0.2001, 'c').rst(0.2002, 's');
    expect(ofKind(cap.analyze(only), KIND)).toEqual([]);
  });

  test('diagnosis per server: lingering close', () => {
    const cap = new Capture();
    for (let i = 0; i < 2; i++) {
      cap.connection().handshake(i).request(i + 0.001, head(2000) + 'b'.repeat(500)).response(i + 0.002, tooLarge).rst(i + 0.0022, 's');
    }
    const r = cap.analyze(only);
    const [d, ...more] = r.diagnoses;
    expect(more).toEqual([]);
    expect(d).toMatchObject({ kind: KIND, server: '10.0.0.2:80', count: 2, inferred: {} });
    expect(d.explanation).toContain('(2× 413)');
    expect(d.explanation).toContain('before reading their whole body');
    expect(d.remedy).toContain('lingering close');
    expect(d.remedy).toContain('Expect: 100-continue');
    // No 100 Continue was sent here: the remedy cites none.
    expect(d.remedy).not.toContain('100 Continue');
    expect(d.anomalyIds).toEqual(ofKind(r, KIND).map((f) => f.id));
  });
});

const SAMPLE = path.join(SAMPLES_DIR, 'rst-on-close.pcap');
(fs.existsSync(SAMPLE) ? describe : describe.skip)('rst-on-close on the recorded samples', () => {
  let result: AnalysisResult;
  beforeAll(async () => {
    result = await analyzeFiles([SAMPLE]);
  });

  test('both early 413s to unfinished uploads; the small POST read completely stays clean', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'rst-on-close.meta.json'), 'utf8')) as SampleMeta;
    const expected = (meta.expect ?? []).filter((e) => e.kind === KIND).map((e) => e.client);
    const findings = ofKind(result, KIND);
    expect(findings.map((f) => f.client)).toEqual(expected);
    for (const f of findings) {
      expect(f.evidence).toMatchObject({
        unread: 'request-body-incomplete', status: 413, responseComplete: true, responseAcked: true, requestComplete: false,
        clientBytesSent: 24576, requestBodyReceived: 24576 - 160,
        // The server's last window before the RST was zero: its receive buffer was full of unread upload.
        serverWindowAtClose: 0,
      });
      expect(f.evidence.request).toMatch(/^POST \/upload\/\d$/);
    }
    // Request, response and RST frames, as tshark numbers them.
    expect(findings.map((f) => f.frames)).toEqual([[4, 10, 12], [26, 32, 34]]);
  });

  test.each([
    // Its server is killed with requests unread but no response sent: reset-before-response, not this.
    'reset-before-response',
    'clean-keepalive-reuse', 'client-closes-idle-first', 'half-close', 'tcp-keepalive-probes', 'abortive-close-after-response',
    'retransmitted-fin', 'http10-keepalive-and-close', 'keepalive-node-agent', 'request-after-close-notice',
    'keepalive-race-crossing', 'keepalive-race-stale', 'keepalive-race-python', 'pipelining',
    'keepalive-race-apache-java', 'healthy-apache-lighttpd-java',
  ])('silent on %s', async (name) => {
    const file = path.join(SAMPLES_DIR, `${name}.pcap`);
    if (!fs.existsSync(file)) return;
    expect(ofKind(await analyzeFiles([file], { detectors: only }), KIND)).toEqual([]);
  });
});

describe('rst-on-close on uploads nginx refused with lingering_close off (uploads-expect-continue-nginx)', () => {
  const file = path.join(SAMPLES_DIR, 'uploads-expect-continue-nginx.pcap');
  (fs.existsSync(file) ? test : test.skip)('the two resets, timed against the 413 (not the 100 Continue before it), and nginx\'s own setting named', async () => {
    const r = await analyzeFiles([file]);
    const found = ofKind(r, 'rst-on-close');
    expect(found).toHaveLength(2);
    for (const f of found) {
      expect(f.evidence.status).toBe(413);
      expect(f.evidence.unread).toBe('request-body-incomplete');
      // The client had stopped sending before the 413: measured from the 100 Continue it had not.
      expect(f.evidence.clientStillSending).toBe(false);
    }
    // Every exchange's response frame is its final response's (the recorder's ground truth), a
    // 100 Continue before it kept in `interim`.
    type Truth = { index: number; status: number | null; responseFrame: number | null; interim: Array<{ frame: number }> };
    const meta = JSON.parse(fs.readFileSync(path.join(SAMPLES_DIR, 'uploads-expect-continue-nginx.meta.json'), 'utf8')) as {
      groundTruth: Array<{ client: string; exchanges: Truth[] }>;
    };
    const flows = new Map(r.flows.map((f) => [f.id, f.client]));
    const interimOnes = meta.groundTruth.flatMap((c) => c.exchanges.filter((e) => e.interim.length > 0).map((e) => ({ client: c.client, e })));
    expect(interimOnes.length).toBe(6);
    for (const { client, e } of interimOnes) {
      const ex = r.exchanges.find((x) => flows.get(x.flowId) === client && x.index === e.index)!;
      expect([ex.status, ex.responseFrame, ex.interim]).toEqual([e.status, e.responseFrame, [100]]);
    }
    const d = r.diagnoses.find((x) => x.kind === 'rst-on-close')!;
    expect(d.remedy).toContain('set `lingering_close on`');
    // The one refusal after a 100 Continue, as this capture showed it.
    expect(d.remedy).toContain('answered 100 Continue first, then 1× 413');
  });
});

const WHOLE_BODY = path.join(SAMPLES_DIR, 'rst-on-close-python-413-whole-body.pcap');
(fs.existsSync(WHOLE_BODY) ? describe : describe.skip)('rst-on-close after the whole body had arrived (rst-on-close-python-413-whole-body)', () => {
  test('the 413 and the 400 answered without reading the body reset; the bodies read whole (FIN) and SO_LINGER 0 after a GET stay silent', async () => {
    const meta = JSON.parse(fs.readFileSync(WHOLE_BODY.replace(/\.pcap$/, '.meta.json'), 'utf8')) as SampleMeta;
    const findings = ofKind(await analyzeFiles([WHOLE_BODY], { detectors: only }), KIND);
    expect(findings.map((f) => f.client)).toEqual((meta.expect ?? []).filter((e) => e.kind === KIND).map((e) => e.client));
    expect(findings.map((f) => f.evidence.status)).toEqual([413, 400]);
    for (const f of findings) {
      expect(f.evidence).toMatchObject({ unread: 'discarded-at-close', requestComplete: true, requestBodyReceived: 30000, finBeforeReset: false, responseAcked: true });
      expect(f.evidence.windowAtReset as number).toBeGreaterThan(f.evidence.windowBeforeReset as number);
    }
  });
});

const STALE_POST = path.join(SAMPLES_DIR, 'rst-on-close-nginx-stale-post.pcap');
(fs.existsSync(STALE_POST) ? describe : describe.skip)('nginx answering POSTs on their head, then an idle FIN and a stale request (rst-on-close-nginx-stale-post)', () => {
  test('the stale GETs\' resets are keepalive-race\'s only; the 413 to a chunked upload, reset with its rest unread, is rst-on-close', async () => {
    const meta = JSON.parse(fs.readFileSync(STALE_POST.replace(/\.pcap$/, '.meta.json'), 'utf8')) as SampleMeta;
    const r = await analyzeFiles([STALE_POST]);
    const expected = (kind: string): string[] => (meta.expect ?? []).filter((e) => e.kind === kind).map((e) => e.client ?? '');
    expect(ofKind(r, KIND).map((f) => f.client)).toEqual(expected(KIND));
    expect(ofKind(r, 'keepalive-race').map((f) => f.client)).toEqual(expected('keepalive-race'));
    // The early 200s came before their bodies: the case the rule leaves to the race, not a body never sent.
    const posts = r.exchanges.filter((x) => x.method === 'POST' && x.status === 200);
    expect(posts).toHaveLength(2);
    for (const x of posts) expect(x.responseStart!).toBeLessThan(x.requestEnd!);
    const [d, ...more] = r.diagnoses.filter((x) => x.kind === KIND);
    expect(more).toEqual([]);
    expect(d.server).toBe('127.0.0.1:8081');
    expect(d.remedy).not.toContain('100 Continue');
  });
});
