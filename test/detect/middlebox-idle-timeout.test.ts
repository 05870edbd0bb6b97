import { analyzeFiles, AnalysisResult } from '../../src/analyze';
import { DETECTORS } from '../../src/detect/registry';
import { resetsWithTtl, Scratch } from '../robustness/robustness-kit';
import { analyzeSample, listSamples } from '../samples';
import { middleboxIdleTimeout } from '../../src/detect/detectors/middlebox-idle-timeout';
import { keepaliveRace } from '../../src/detect/detectors/keepalive-race';
import { unansweredRequest } from '../../src/detect/detectors/unanswered-request';
import { EXPLAIN_DEFAULTS, explainText } from '../../src/cli/explain-command';
import { buildPcapFile, LINKTYPE_ETHERNET } from '../helpers/packet-builder';
import { Capture, Conn, T0, get, ofKind as findingsOf, ok, post, tlsConnection, tlsRecord } from './reuse-kit';

/**
 * middlebox-idle-timeout on the recorded NAT (client, router with a 3 s conntrack timeout and
 * masquerade, server: samples/record/middlebox-idle-*.sh). The router forgot connections idle 5 s;
 * the client's reuses then met its reset (`reject with tcp reset`: a RST in the server's name, IP
 * TTL 64 where the server's forwarded packets have 63) or its drop. Reuses after 1 and 2 s, and
 * one whose TCP keep-alive probes kept the state, went through.
 */

const scratch = new Scratch();
afterAll(() => scratch.cleanup());

const ofKind = (r: AnalysisResult, kind: string): string[] => r.anomalies.filter((f) => f.kind === kind).map((f) => f.client ?? '').sort();

describe('middlebox-idle-timeout', () => {
  test('reset form: each stale reuse, the POST whose body never left included, with the TTLs and the bounds of the timeout', async () => {
    const r = await analyzeSample('middlebox-idle-reset-nat');
    const found = r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout');
    expect(found.map((f) => f.evidence.form)).toEqual(['reset', 'reset', 'reset', 'reset']);
    expect(found.every((f) => f.evidence.rstTtl === 64 && f.evidence.serverTtl === 63)).toBe(true);
    expect(found.some((f) => f.evidence.requestComplete === false)).toBe(true);
    expect(ofKind(r, 'reset-before-response')).toEqual([]);
    const d = r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout');
    // The router's conntrack timeout was 3 s: reuses after 2 s went through, after 5 s did not.
    expect(d?.inferred.middleboxIdleTimeoutAtLeast.value).toBeLessThan(3);
    expect(d?.inferred.middleboxIdleTimeoutAtMost.value).toBeGreaterThan(3);
    expect(d?.explanation).toMatch(/the server had closed none of those connections .*reset in the server's name from elsewhere on the path \(IP TTL 64, where the server's packets have 63\)/);
  });

  test('drop form: each stale reuse retransmitted with nothing back; not an unanswered request', async () => {
    const r = await analyzeSample('middlebox-idle-drop-nat');
    const found = r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout');
    expect(found.map((f) => f.evidence.form)).toEqual(['dropped', 'dropped', 'dropped', 'dropped']);
    expect(found.every((f) => typeof f.evidence.retransmissions === 'number' && f.evidence.retransmissions >= 2)).toBe(true);
    expect(ofKind(r, 'unanswered-request')).toEqual([]);
    expect(r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout')?.explanation).toMatch(/dropped: retransmitted with nothing back, while the server went on answering/);
  });

  test('both sides of the NAT in one capture (middlebox-idle-fin-nat-any): the server\'s close past the masquerade, reset by the router, told and bounding the timeout', async () => {
    const r = await analyzeSample('middlebox-idle-fin-nat-any');
    const [f, ...rest] = r.anomalies.filter((x) => x.kind === 'middlebox-idle-timeout');
    expect(rest).toEqual([]);
    expect(f.evidence.form).toBe('dropped');
    expect(f.evidence.closeIdleBefore).toBeGreaterThan(2); // conntrack's 2 s: forgotten before the close
    expect(f.summary).toMatch(/its FIN was answered by a RST in the client's name with IP TTL 64, where the client's packets have 63/);
    const d = r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout');
    // Bounded by the close past the NAT (4.5 s), not by the 6 s reuse.
    expect(d?.inferred.middleboxIdleTimeoutAtMost.value).toBeLessThan(5);
    expect(d?.inferred.middleboxIdleTimeoutAtLeast.value).toBeLessThan(2);
    expect(d?.explanation).not.toMatch(/the server had closed none/);
  });

  test("a reset with the server's own TTL is the server's: no middlebox, reset-before-response as before", async () => {
    const sample = listSamples().find((s) => s.name === 'middlebox-idle-reset-nat');
    if (sample === undefined) throw new Error('no sample middlebox-idle-reset-nat');
    const r = await analyzeFiles([scratch.file(resetsWithTtl(sample.file, 63))], { detectors: DETECTORS });
    expect(ofKind(r, 'middlebox-idle-timeout')).toEqual([]);
    expect(ofKind(r, 'reset-before-response').length).toBeGreaterThan(0);
  });

  test('HTTPS through the same NAT (middlebox-idle-reset-nat-tls): each stale reuse named from its TLS records, its request unread', async () => {
    const r = await analyzeSample('middlebox-idle-reset-nat-tls');
    const found = r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout');
    expect(found).toHaveLength(4);
    expect(found.every((f) => f.evidence.form === 'reset' && f.evidence.method === null && f.evidence.rstTtl === 64 && f.evidence.serverTtl === 63)).toBe(true);
    expect(ofKind(r, 'reset-before-response')).toEqual([]);
  });

  test('the server-side captures show nothing to judge: silent', async () => {
    for (const name of ['middlebox-idle-reset-nat-server-side', 'middlebox-idle-drop-nat-server-side']) {
      expect((await analyzeSample(name)).anomalies).toEqual([]);
    }
  });

  test('a backend removed from behind a DNAT address, its process left running (middlebox-backend-gone-dnat): told as the path going away, reuses of the other backend after as long an idle contradicting a timeout', async () => {
    const r = await analyzeSample('middlebox-backend-gone-dnat');
    expect(r.anomalies.filter((f) => f.kind === 'middlebox-idle-timeout').every((f) => f.evidence.form === 'dropped')).toBe(true);
    const d = r.diagnoses.find((x) => x.kind === 'middlebox-idle-timeout');
    expect(d?.inferred.middleboxIdleTimeoutAtMost).toBeUndefined();
    expect(d?.explanation).toMatch(/as long or longer: no idle timeout of a middlebox dropped these\. All \d went idle by .*went away for these connections alone/);
    expect(d?.remedy).not.toMatch(/Keep pooled connections idle for less/);
  });

  const others = listSamples().filter((s) => !s.name.startsWith('middlebox-idle-') && s.name !== 'middlebox-backend-gone-dnat');
  test.each(others.map((s) => s.name))('%s: no middlebox claimed', async (name) => {
    expect(ofKind(await analyzeSample(name), 'middlebox-idle-timeout')).toEqual([]);
  });

  describe('synthetic connections', () => {
    const only = [middleboxIdleTimeout];

    test('HTTP: a reuse after 5 s reset at once by a RST with TTL 60 where the server sends 64; one after 1.5 s answered: the bounds', () => {
      const cap = new Capture();
      const a = cap.connection();
      a.handshake(0).exchange(0.01, get('/a'), ok());
      a.exchange(1.52, get('/b'), ok());
      const b = cap.connection();
      b.handshake(0).exchange(0.01, get('/a'), ok());
      b.request(5.02, post('/orders', 'x=1'), { noAck: true });
      b.rst(5.0201, 's', 60);
      const r = cap.analyze(only);
      const [f, ...rest] = findingsOf(r, 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.client).toBe(b.clientName);
      expect(f.evidence).toMatchObject({ form: 'reset', rstTtl: 60, serverTtl: 64, method: 'POST', requestComplete: true });
      const [d] = r.diagnoses;
      expect(d.inferred.middleboxIdleTimeoutAtLeast.value).toBeCloseTo(1.51, 2);
      expect(d.inferred.middleboxIdleTimeoutAtMost.value).toBeCloseTo(5.01, 2);
    });

    test('HTTP: a reuse after 5 s retransmitted with nothing back: dropped; the same request answered after a retransmission is no finding', () => {
      const cap = new Capture();
      const b = cap.connection();
      b.handshake(0).exchange(0.01, get('/a'), ok());
      const request = get('/b');
      b.request(5.02, request, { noAck: true });
      b.resend(5.22, 'c', request).resend(5.62, 'c', request).resend(6.42, 'c', request);
      const answered = cap.connection();
      answered.handshake(0).exchange(0.01, get('/a'), ok());
      answered.request(5.02, request, { noAck: true });
      answered.resend(5.22, 'c', request).resend(5.62, 'c', request);
      answered.ack(5.63, 's').response(5.64, ok());
      const r = cap.analyze(only);
      const found = findingsOf(r, 'middlebox-idle-timeout');
      expect(found.map((f) => f.client)).toEqual([b.clientName]);
      expect(found[0].evidence).toMatchObject({ form: 'dropped', retransmissions: 3, silentSeconds: 1.4 });
    });

    test('TLS: a reused connection reset in the server\'s name from elsewhere is named too, its request unread', () => {
      const cap = new Capture();
      const c = tlsConnection(cap, '1.3');
      c.request(0.01, tlsRecord(23, 120)).response(0.011, tlsRecord(23, 356));
      c.request(6.02, tlsRecord(23, 120), { noAck: true });
      c.rst(6.0201, 's', 63);
      const [f, ...rest] = findingsOf(cap.analyze(only), 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.evidence).toMatchObject({ form: 'reset', method: null, requestComplete: null, rstTtl: 63, serverTtl: 64 });
      expect(f.summary).toMatch(/^an encrypted \(TLS\) request sent after 6\.009 s idle was reset/);
    });

    test('a RST with the server\'s own TTL that answered the request sooner than half a round trip to the server: from the path, not a race (far server, client-side capture)', () => {
      const cap = new Capture();
      const far = cap.connection();
      // 31 ms to the server: its answers come 31 ms after what they answer.
      far.handshake(0, 0.031).request(0.032, get('/a')).response(0.063, ok());
      far.request(400.063, get('/b'), { noAck: true });
      far.rstAck(400.0636, 's');
      // The server's own reset, a round trip after the request (the same capture point): no finding here.
      const own = cap.connection();
      own.handshake(0, 0.031).request(0.032, get('/a')).response(0.063, ok());
      own.request(400.063, get('/b'), { noAck: true });
      own.rstAck(400.0945, 's');
      const r = cap.analyze([middleboxIdleTimeout, keepaliveRace]);
      const found = findingsOf(r, 'middlebox-idle-timeout');
      expect(found.map((f) => [f.client, f.evidence.resetShownBy, f.evidence.rstTtl === f.evidence.serverTtl])).toEqual([[far.clientName, 'too-soon', true]]);
      expect(found[0].summary).toContain('sooner than the 31 ms round trip to the server allows');
      expect(findingsOf(r, 'keepalive-race').map((f) => f.client)).not.toContain(far.clientName);
      const [d] = r.diagnoses.filter((x) => x.kind === 'middlebox-idle-timeout');
      expect(d.explanation).toContain('(sooner after the request than a round trip to the server allows)');
    });

    /** A connection answered at 0.01 s, then reused after `idle` s and dropped: retransmitted with nothing back. */
    const droppedAfter = (cap: Capture, idle: number): void => {
      const c = cap.connection();
      c.handshake(0).exchange(0.01, get('/a'), ok());
      const request = get('/b');
      const ts = 0.011 + idle;
      c.request(ts, request, { noAck: true });
      c.resend(ts + 0.2, 'c', request).resend(ts + 0.6, 'c', request).resend(ts + 1.4, 'c', request);
    };
    /** A connection whose reuses after `idle` s idle the server answered, `times` of them. */
    const answeredAfter = (cap: Capture, idle: number, times: number): void => {
      const c = cap.connection();
      c.handshake(0).exchange(0.01, get('/a'), ok());
      for (let i = 1; i <= times; i++) c.exchange(0.01 + i * (idle + 0.001), get(`/r${i}`), ok());
    };

    test('drops at one moment that reuses of other connections after as long an idle contradict: the path went away, no idle-timeout bound nor remedy', () => {
      const cap = new Capture();
      // Other connections to the same address reused after 5.2 s idle were answered, before and after.
      answeredAfter(cap, 5.2, 3);
      droppedAfter(cap, 5.0);
      droppedAfter(cap, 5.1);
      const r = cap.analyze(only);
      expect(findingsOf(r, 'middlebox-idle-timeout')).toHaveLength(2);
      const [d] = r.diagnoses;
      expect(d.inferred.middleboxIdleTimeoutAtMost).toBeUndefined();
      expect(d.explanation).toMatch(/reuses of its other connections after up to 5\.2\d* s idle were answered, as long or longer: no idle timeout/);
      expect(d.explanation).toMatch(/All 2 went idle by .* and failed from .* on: at one moment between, the path to the server, or the host behind its address, went away/);
      expect(d.remedy).not.toMatch(/Keep pooled connections idle for less/);
    });

    test('near miss: a real idle timeout (answered reuses all shorter than the failed ones) keeps its bounds and remedy', () => {
      const cap = new Capture();
      answeredAfter(cap, 1.5, 3);
      droppedAfter(cap, 5.0);
      droppedAfter(cap, 5.1);
      const [d] = cap.analyze(only).diagnoses;
      expect(d.inferred.middleboxIdleTimeoutAtLeast.value).toBeCloseTo(1.5, 2);
      expect(d.inferred.middleboxIdleTimeoutAtMost.value).toBeCloseTo(5.0, 1);
      expect(d.explanation).not.toMatch(/went away/);
      expect(d.remedy).toMatch(/^Keep pooled connections idle for less than the middlebox's timeout/);
    });

    /**
     * The server's side of a masquerading router that forgot an idle connection (blind round 15,
     * s07a): the server's TCP keep-alive probe after 15 s idle reaches the router, which has no
     * entry and no socket for it and answers with a RST in the client's name, its own TTL.
     */
    const probedIdle = (cap: Capture, rstTtl?: number, idle = 15): Conn => {
      const c = cap.connection({ client: '10.9.0.1' });
      c.handshake(0).exchange(0.01, get('/a'), ok());
      c.probe(0.011 + idle, 's');
      c.rst(0.0111 + idle, 'c', rstTtl);
      return c;
    };

    test("server side: the server's keep-alive probe after 15 s idle answered by a RST in the client's name with another TTL: the path's, a warning with the bound", () => {
      const cap = new Capture();
      const c = probedIdle(cap, 60);
      const r = cap.analyze(only);
      const [f, ...rest] = findingsOf(r, 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.client).toBe(c.clientName);
      expect(f.severity).toBe('warning');
      expect(f.evidence).toMatchObject({ form: 'idle-reset', trigger: 'TCP keep-alive probe', rstTtl: 60, clientTtl: 64 });
      expect(f.evidence.idleBefore).toBeCloseTo(15, 1);
      expect(f.summary).toMatch(/reset in the client's name when the server sent its TCP keep-alive probe: a RST with IP TTL 60, where the client's packets have 64/);
      const [d] = r.diagnoses;
      expect(d.severity).toBe('warning');
      expect(d.inferred.middleboxIdleTimeoutAtMost.value).toBeCloseTo(15, 1);
      expect(d.explanation).toMatch(/^1 connection to 10\.0\.0\.2:80 idle for 15(\.\d+)? s was reset in the client's name from elsewhere on the path/);
      // The flow: closed by a RST in the client's name, which the path sent.
      const [flow] = r.flows;
      expect(flow).toMatchObject({ closedBy: 'client', close: 'rst', resetFromPath: { rstTtl: 60, ownTtl: 64 } });
    });

    test("explain draws the server-side RST as the client's name used by a middlebox, and the flow as reset by the path", async () => {
      const cap = new Capture();
      probedIdle(cap, 60);
      const sorted = [...cap.packets].sort((a, b) => a.ts - b.ts || a.order - b.order);
      const file = scratch.file(buildPcapFile(LINKTYPE_ETHERNET, sorted.map((p) => ({ data: p.data, ts: p.ts }))));
      const text = (await explainText({ ...EXPLAIN_DEFAULTS, files: [file], id: 'middlebox-idle-timeout#1' }, false)).replace(/[\s│]+/g, ' ');
      expect(text).toMatch(/RST in the client's name, IP TTL 60 \(the client's: 64\), answering the server's TCP keep-alive probe: a middlebox/);
      expect(text).toMatch(/reset by the path in the client's name \(IP TTL 60, the client's packets 64\)/);
    });

    test("near miss: the client's own RST (its TTL) answering the probe stays the client's: no finding, no path on the flow", () => {
      const cap = new Capture();
      probedIdle(cap);
      const r = cap.analyze(only);
      expect(findingsOf(r, 'middlebox-idle-timeout')).toEqual([]);
      expect(r.flows[0].closedBy).toBe('client');
      expect(r.flows[0].resetFromPath).toBeUndefined();
    });

    test('near miss: a RST from elsewhere after less than 1 s idle, or with the client\'s data just before it, is not an idle timeout', () => {
      const cap = new Capture();
      probedIdle(cap, 60, 0.5);
      const busy = cap.connection({ client: '10.9.0.1' });
      busy.handshake(0).exchange(0.01, get('/a'), ok());
      busy.send(15, 'c', get('/b'));
      busy.rst(15.0001, 'c', 60);
      const r = cap.analyze(only);
      expect(findingsOf(r, 'middlebox-idle-timeout')).toEqual([]);
      // Whatever the finding, the flow tells the RST's origin.
      expect(r.flows.map((f) => f.resetFromPath)).toEqual([{ rstTtl: 60, ownTtl: 64 }, { rstTtl: 60, ownTtl: 64 }]);
    });

    /**
     * Client and server captures of a masquerading NAT merged (blind round 15, s07a): the client's
     * view (10.0.0.1) reuses the connection after 10 s and retransmits with nothing back; the view
     * past the NAT (10.9.0.1, same ports and sequence numbers) shows no request, and the server's
     * keep-alive probe at 15 s answered by the router's RST. `arrives`: the request did get past the NAT.
     */
    const natMerged = (cap: Capture, options: { farView?: boolean; arrives?: boolean } = {}): void => {
      const near = cap.connection({ cport: 41000 });
      const far = options.farView === false ? null : cap.connection({ client: '10.9.0.1', cport: 41000 });
      near.handshake(0);
      far?.handshake(0.00002);
      near.exchange(0.01, get('/a'), ok());
      far?.exchange(0.01002, get('/a'), ok());
      const request = get('/b');
      near.request(10.01, request, { noAck: true });
      near.resend(10.21, 'c', request).resend(10.61, 'c', request).resend(11.41, 'c', request).resend(13.01, 'c', request);
      if (options.arrives === true) far?.request(10.01002, request, { noAck: true });
      far?.probe(15.01, 's');
      far?.rst(15.0101, 'c', 60);
    };

    test('merged NAT captures: past the translation the request never arrived while the server went on sending: the path dropped it, not an unreachable server', () => {
      const cap = new Capture();
      natMerged(cap);
      const r = cap.analyze(only);
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
      const [f, ...rest] = findingsOf(r, 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.evidence).toMatchObject({ form: 'dropped', requestPastTranslation: false });
      expect(f.summary).toMatch(/past the address translation it never arrived, while the server still sent there 5 s later: the path dropped it \(a middlebox that forgot the connection\)$/);
      const [d] = r.diagnoses;
      expect(d.explanation).toMatch(/the dropped request never arrived while the server went on sending there: the path dropped it, a middlebox that forgot the connection, not a server that became unreachable/);
      expect(d.explanation).not.toMatch(/unreachable would look the same/);
      expect(r.flows[1]).toMatchObject({ closedBy: 'client', resetFromPath: { rstTtl: 60, ownTtl: 64 } });
    });

    /**
     * The same with no translation (a stateful firewall that forgot the connection), the client's
     * and the server's captures merged: what crossed the firewall is there twice (the copy one
     * TTL lower), the request and the server's later keep-alive probe once each.
     */
    test('merged captures on the same addresses: the request seen at the client only, the server\'s later probe at its own point only: the path dropped it', () => {
      const cap = new Capture();
      const conn = cap.connection();
      conn.handshake(0).exchange(0.01, get('/a'), ok());
      const crossed = cap.packets.length;
      const request = get('/b');
      conn.request(10.01, request, { noAck: true });
      conn.resend(10.21, 'c', request).resend(10.61, 'c', request).resend(11.41, 'c', request).resend(13.01, 'c', request);
      conn.probe(15.01, 's');
      // Each packet before the reuse seen again at the other point, 20 µs later, one hop on.
      for (const p of cap.packets.slice(0, crossed)) {
        const copy = p.data.slice();
        copy[22] -= 1; // the IPv4 TTL behind a 14-byte Ethernet header
        cap.add(p.ts - T0 + 0.00002, copy);
      }
      const r = cap.analyze([middleboxIdleTimeout, unansweredRequest]);
      const [f, ...rest] = findingsOf(r, 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.evidence).toMatchObject({ form: 'dropped', requestAtServerPoint: false });
      expect(f.summary).toMatch(/at the server's capture point it never arrived, while the server still sent there 5 s later: the path dropped it/);
      expect(findingsOf(r, 'unanswered-request')).toEqual([]);
      expect(r.diagnoses[0].explanation).toMatch(/never arrived while the server went on sending there: the path dropped it, a middlebox that forgot the connection, not a server that became unreachable/);
    });

    /**
     * Blind round 17, s14: conntrack forgets the connection at 5 s, the server closes it at its 8 s
     * keep-alive timeout, past the NAT: its FIN meets no entry and the router answers in the
     * client's name (TTL 60 vs 64); the client reuses it at 12 s and nothing comes back. Merged,
     * the client's view alone said the server closed nothing and bounded the timeout by 12 s.
     */
    const closedPastNat = (cap: Capture, farView = true): void => {
      const near = cap.connection({ cport: 41000 });
      const far = farView ? cap.connection({ client: '10.9.0.1', cport: 41000 }) : null;
      near.handshake(0);
      far?.handshake(0.00002);
      near.exchange(0.01, get('/a'), ok());
      far?.exchange(0.01002, get('/a'), ok());
      near.exchange(2.02, get('/b'), ok());
      far?.exchange(2.02002, get('/b'), ok());
      far?.fin(10.03, 's');
      far?.rst(10.0301, 'c', 60);
      const request = get('/c');
      near.request(14.03, request, { noAck: true });
      near.resend(14.23, 'c', request).resend(14.63, 'c', request).resend(15.43, 'c', request).resend(17.03, 'c', request);
    };

    test('merged NAT captures: the server\'s close past the translation, reset by the path, is told and bounds the timeout', () => {
      const cap = new Capture();
      closedPastNat(cap);
      const r = cap.analyze(only);
      expect(r.flows.map((f) => f.sameConnectionAs)).toEqual([null, 1]);
      const [f, ...rest] = findingsOf(r, 'middlebox-idle-timeout');
      expect(rest).toEqual([]);
      expect(f.evidence).toMatchObject({ form: 'dropped' });
      expect(f.evidence.idleBefore).toBeCloseTo(12, 1);
      expect(f.evidence.closeIdleBefore).toBeCloseTo(8, 1);
      expect(f.summary).toMatch(/past the address translation the server had closed the connection after 8[.0-9]* s idle, and its FIN was answered by a RST in the client's name with IP TTL 60, where the client's packets have 64/);
      const [d] = r.diagnoses;
      expect(d.inferred.middleboxIdleTimeoutAtMost.value).toBeCloseTo(8, 1);
      expect(d.explanation).not.toMatch(/the server had closed none/);
      expect(d.explanation).toMatch(/past the address translation the server had closed it after 8[.0-9]* s idle, and its FIN was reset in the client's name/);
    });

    test('near miss: the client\'s view alone keeps "closed none" and the reuse\'s bound', () => {
      const cap = new Capture();
      closedPastNat(cap, false);
      const r = cap.analyze(only);
      const [f] = findingsOf(r, 'middlebox-idle-timeout');
      expect(f.evidence.closeIdleBefore).toBeUndefined();
      const [d] = r.diagnoses;
      expect(d.inferred.middleboxIdleTimeoutAtMost.value).toBeCloseTo(12, 1);
      expect(d.explanation).toMatch(/the server had closed none/);
    });

    test("near misses: one capture point only, or a request that did get past the NAT, keep today's hedged wording", () => {
      for (const options of [{ farView: false }, { arrives: true }]) {
        const cap = new Capture();
        natMerged(cap, options);
        const r = cap.analyze(only);
        const [f] = findingsOf(r, 'middlebox-idle-timeout');
        expect(f.evidence.form).toBe('dropped');
        expect(f.evidence.requestPastTranslation).toBeUndefined();
        expect(f.summary).toMatch(/unless the server's host became unreachable\)$/);
        const [d] = r.diagnoses;
        expect(d.explanation).toMatch(/After the dropped request the server sent nothing more on any connection in this capture: a server host that became unreachable would look the same\.$/);
      }
    });

    test('a RST with the server\'s own TTL, a server FIN before the request, or a reuse after less than 1 s: not a middlebox', () => {
      const cap = new Capture();
      const own = cap.connection();
      own.handshake(0).exchange(0.01, get('/a'), ok());
      own.request(5.02, get('/b'), { noAck: true });
      own.rst(5.0201, 's');
      const fin = cap.connection();
      fin.handshake(0).exchange(0.01, get('/a'), ok());
      fin.fin(5, 's').ack(5.0001, 'c');
      fin.request(5.02, get('/b'), { noAck: true });
      fin.rst(5.0201, 's', 60);
      const soon = cap.connection();
      soon.handshake(0).exchange(0.01, get('/a'), ok());
      soon.request(0.5, get('/b'), { noAck: true });
      soon.rst(0.5001, 's', 60);
      expect(findingsOf(cap.analyze(only), 'middlebox-idle-timeout')).toEqual([]);
    });
  });
});
