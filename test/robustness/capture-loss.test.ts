import { AnalysisResult } from '../../src/analyze';
import { PacketView, TcpFlag } from '../../src/decode/packet-view';
import { analyzeSample, listSamples } from '../samples';
import { analyzeWithout, beyondWhole } from './sample-without';
import { Capture, get, ok } from '../detect/reuse-kit';

/**
 * Packets a capture misses (a busy host's tcpdump drops them: "packets dropped by kernel"). Here
 * the servers' FINs of real keep-alive race samples are taken out, as a capture that dropped them
 * would hold them. A FIN takes a sequence number, so it still shows: the server's RST one past its
 * last byte, or the client's acknowledgement of that number (Endpoint.finUnseen). The races are
 * then still races, not resets by a dying server (reset-before-response), as they were before.
 */

const ofKind = (r: AnalysisResult, kind: string): string[] => r.anomalies.filter((f) => f.kind === kind).map((f) => f.client ?? '');


/**
 * Every server FIN gone (the harshest case: no idle close of any server is left to learn its
 * timeout from). Samples whose races are then told only by a learned timeout, or not at all, are
 * left to the one-FIN-at-a-time test below.
 */
describe.each([
  'keepalive-race-gunicorn', 'keepalive-race-go-client', 'keepalive-race-node-fetch', 'keepalive-race-nginx', 'keepalive-race-stale',
  // Proxies that close their backend connection on the backend's FIN (the FIN then shows in their acknowledgement)
  // and their clients' connections after the failure (a forwarded request: not a race).
  'keepalive-race-h2o', 'keepalive-race-haproxy', 'keepalive-race-haproxy-retry-on', 'keepalive-race-apache-proxy', 'keepalive-race-varnish', 'keepalive-race-squid',
  // Closes on arrival, the client's FIN right behind the server's: an instant close.
  'keepalive-race-arrival',
])(
  '%s without the servers\' FINs',
  (name) => {
    test('the same keep-alive races, and nothing the whole capture does not show', async () => {
      const whole = await analyzeSample(name);
      const serverPorts = new Set(whole.flows.map((f) => Number(f.server.slice(f.server.lastIndexOf(':') + 1))));
      let dropped = 0;
      const lossy = await analyzeWithout(name, (v) => {
        const fin = (v.flags & TcpFlag.FIN) !== 0 && serverPorts.has(v.srcPort);
        if (fin) dropped++;
        return fin;
      });
      expect(dropped).toBeGreaterThan(0);
      expect(ofKind(whole, 'keepalive-race').length).toBeGreaterThan(0);
      expect(ofKind(lossy, 'keepalive-race').sort()).toEqual(ofKind(whole, 'keepalive-race').sort());
      expect(beyondWhole(lossy, whole)).toEqual([]);
    });
  },
);

/** Whether the segment's payload starts with `text`. */
function payloadStarts(view: PacketView, data: Uint8Array, text: string): boolean {
  if (view.payloadLen < text.length) return false;
  for (let i = 0; i < text.length; i++) if (data[view.payloadOffset + i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * A response and then the next request of the same keep-alive connection, both lost by the
 * capture: the response after them can arrive before the client's next bytes show the request
 * missing. Paired by timing alone, it went to the request whose response was lost, and every later
 * response of the connection shifted by one (the last request then looked unanswered, and the next
 * connection's copy of it looked like a retry). The server's acknowledgement says it had received
 * more than the capture showed (HttpSession.skipLostResponses). Checked here against the TCP
 * numbers: every response paired with a request acknowledges that request's first byte and not
 * the next request's.
 */
describe.each(['healthy-load-node-ab', 'healthy-load-apache-ab', 'load-with-idle-closes', 'load-with-keepalive-races'])(
  '%s without a response and the request after it, now and then',
  (name) => {
    test('every response is paired with the request its acknowledgement covers; nothing found beyond the whole', async () => {
      const whole = await analyzeSample(name);
      const serverPorts = new Set(whole.flows.map((f) => Number(f.server.slice(f.server.lastIndexOf(':') + 1))));
      const dropNextRequest = new Set<number>(); // client ports whose next request goes
      let responses = 0;
      let dropped = 0;
      const droppedData: Array<{ from: string; to: string; end: number; length: number }> = [];
      const highestAck = new Map<string, number>(); // by the acknowledging direction "src>dst"
      const highestSeq = new Map<string, number>(); // by the sending direction
      const seqOf = new Map<number, { seq: number; ack: number }>();
      const lossy = await analyzeWithout(
        name,
        (v, data) => {
          if (serverPorts.has(v.srcPort) && payloadStarts(v, data, 'HTTP/1.') && ++responses % 7 === 0) {
            dropNextRequest.add(v.dstPort);
            dropped++;
            droppedData.push({ from: `${v.srcPort}`, to: `${v.dstPort}`, end: (v.seq + v.payloadLen) >>> 0, length: v.payloadLen });
            return true;
          }
          if (serverPorts.has(v.dstPort) && v.payloadLen > 0 && dropNextRequest.delete(v.srcPort)) {
            dropped++;
            droppedData.push({ from: `${v.srcPort}`, to: `${v.dstPort}`, end: (v.seq + v.payloadLen) >>> 0, length: v.payloadLen });
            return true;
          }
          return false;
        },
        (frame, v) => {
          seqOf.set(frame, { seq: v.seq, ack: v.ack });
          const later = (a: number, b: number | undefined): boolean => b === undefined || ((a - b) | 0) > 0;
          const direction = `${v.srcPort}>${v.dstPort}`;
          if ((v.flags & TcpFlag.ACK) !== 0 && later(v.ack, highestAck.get(direction))) highestAck.set(direction, v.ack);
          if (v.payloadLen > 0 && later(v.seq, highestSeq.get(direction))) highestSeq.set(direction, v.seq);
        },
      );
      expect(dropped).toBeGreaterThan(20);
      // Every byte dropped that its receiver acknowledged, or its sender's later data passed, is
      // counted, on the connections that lost it. Two kinds cannot be: a request the server reset
      // unread (a keep-alive race) is acknowledged by nobody, and the bytes of a sender that then
      // reset are not turned into a gap at the end (a reset endpoint's acknowledged bytes are left
      // alone when its connection is released): of those, the count holds at most all.
      const atOrPast = (a: number | undefined, b: number): boolean => a !== undefined && ((a - b) | 0) >= 0;
      const shown = droppedData.filter((d) => atOrPast(highestAck.get(`${d.to}>${d.from}`), d.end) || atOrPast(highestSeq.get(`${d.from}>${d.to}`), d.end));
      const connectionOf = (d: (typeof droppedData)[number]): string => [d.from, d.to].sort().join('-');
      const resetBy = new Set<string>(); // "connection sender" of endpoints that reset
      for (const f of lossy.flows) {
        const [cPort, sPort] = [f.client.slice(f.client.lastIndexOf(':') + 1), f.server.slice(f.server.lastIndexOf(':') + 1)];
        const key = [cPort, sPort].sort().join('-');
        if (f.history.includes('R')) resetBy.add(`${key} ${cPort}`);
        if (f.history.includes('r')) resetBy.add(`${key} ${sPort}`);
      }
      const sure = shown.filter((d) => !resetBy.has(`${connectionOf(d)} ${d.from}`));
      const bytes = (list: typeof droppedData): number => list.reduce((n, d) => n + d.length, 0);
      expect(sure.length).toBeGreaterThan(20);
      expect(lossy.stats.captureLoss.connections).toBeGreaterThanOrEqual(new Set(sure.map(connectionOf)).size);
      expect(lossy.stats.captureLoss.connections).toBeLessThanOrEqual(new Set(shown.map(connectionOf)).size);
      expect(lossy.stats.captureLoss.bytes).toBeGreaterThanOrEqual(bytes(sure));
      expect(lossy.stats.captureLoss.bytes).toBeLessThanOrEqual(bytes(shown));
      expect(whole.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
      const byFlow = new Map<number, typeof lossy.exchanges>();
      for (const e of lossy.exchanges) byFlow.set(e.flowId, [...(byFlow.get(e.flowId) ?? []), e]);
      let checked = 0;
      const mispaired: string[] = [];
      for (const list of byFlow.values()) {
        list.forEach((e, i) => {
          if (e.requestFrame === null || e.responseFrame === null) return;
          const request = seqOf.get(e.requestFrame);
          const response = seqOf.get(e.responseFrame);
          if (request === undefined || response === undefined) throw new Error('frame not kept');
          const next = list.slice(i + 1).find((n) => n.requestFrame !== null);
          const nextRequest = next?.requestFrame != null ? seqOf.get(next.requestFrame) : undefined;
          const coversRequest = ((response.ack - request.seq) | 0) > 0;
          const beforeNext = nextRequest === undefined || ((nextRequest.seq - response.ack) | 0) >= 0;
          checked++;
          if (!coversRequest || !beforeNext) mispaired.push(`flow ${e.flowId} #${e.index}: request frame ${e.requestFrame}, response frame ${e.responseFrame}`);
        });
      }
      expect(checked).toBeGreaterThan(100);
      expect(mispaired).toEqual([]);
      expect(beyondWhole(lossy, whole)).toEqual([]);
    });
  },
);

/**
 * One keep-alive race's server FIN at a time, as a capture that drops now and then would lose it:
 * the race is still found, from the reset's sequence number or the client's acknowledgement of the
 * FIN (keepalive-race's unseenFinClose), with the timing the server's other closes taught or the
 * bound the client's FIN sets; nothing is found on any connection that the whole capture does not
 * show (a proxy's close of its client's connection after an upstream failure is no race).
 */
describe('every keep-alive race with its server FIN dropped from the capture', () => {
  /** Races that cannot be told without their FIN, by sample: checked to stay so, so that a fix shows. */
  const UNJUDGED: Record<string, { lost: number; why: string }> = {
    // The server's RST sits at its FIN's own number (the client had not acknowledged the FIN): no
    // number proves the FIN, and on a capture next to the server a bare RST without one is a
    // socket gone (reset-before-response), not a FIN lost on a path.
    'keepalive-race-crossing': { lost: 6, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-python': { lost: 5, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-uvicorn-aiohttp': { lost: 1, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-uvicorn-httpx': { lost: 1, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-puma-ruby': { lost: 2, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-haproxy-tcp': { lost: 1, why: 'RST at the FIN number, capture next to the proxy' },
    'keepalive-race-nginx-stream': { lost: 3, why: 'RST at the FIN number, capture next to the proxy' },
    'keepalive-race-starman': { lost: 2, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-tornado-okhttp': { lost: 5, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-mojolicious-httpclient5': { lost: 1, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-twisted': { lost: 1, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-yaws': { lost: 2, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-daphne': { lost: 2, why: 'RST at the FIN number, capture next to the server' },
    'keepalive-race-go-server': { lost: 2, why: 'RST at the FIN number, capture next to the server' },
    // No RST (the proxy drains the closed connection). The first: the client's FIN came 11 ms
    // after the request, above the bound of an instant close, and no idle close of that server was
    // seen yet. The second: the proxy forwarded the request upstream, so it had read it, and
    // without the FIN nothing says the close came first (the request acknowledged the FIN, but
    // which segment first acknowledged it is not kept).
    'keepalive-race-proxy-protocol': { lost: 2, why: 'no reset: no timing learned yet; a forwarded request' },
    // No RST (nginx closes its side after the FIN): without the FIN only the client's FIN bounds the
    // close, judged when the connection ends; the lazy closes (15-25 ms after the request) are held
    // for the end of the capture only when the FIN itself is seen.
    'keepalive-race-lazy-close-proxy': { lost: 4, why: 'no reset: a lazy close bounded only by the client\'s FIN' },

    // TLS: the opaque path reads the close from the record headers and the FIN, not from a request.
    // Not a matter of record reading (the FIN segments carry no data here, and the records are read
    // whole): tlsServerIdleClose needs the server's FIN itself (nginx's close_notify comes 4 ms before it;
    // Node closes with a bare FIN).
    'keepalive-race-tls-nginx': { lost: 2, why: 'TLS: the idle close is judged on the FIN itself' },
    'keepalive-race-tls13-short-requests': { lost: 2, why: 'TLS: the idle close is judged on the FIN itself' },
    // Neither HTTP nor TLS: without request framing the race is judged only on the FIN and a reset.
    'keepalive-race-redis': { lost: 6, why: 'not HTTP: Redis' },
    'keepalive-race-postgres': { lost: 16, why: 'not HTTP: PostgreSQL' },
    'keepalive-race-pgbouncer': { lost: 15, why: 'not HTTP: PgBouncer' },
    'keepalive-race-memcached': { lost: 12, why: 'not HTTP: memcached' },
    'keepalive-race-ldap': { lost: 13, why: 'not HTTP: LDAP' },
    // A backend killed behind a DNAT'd address: its two idle connections' FINs at one instant are
    // the stop. Without one of them the other close stands alone, and the request that met the
    // dropped FIN is told only by its client's close, which a stop does not explain.
    'keepalive-race-backend-stop-dnat': { lost: 1, why: 'a stop told by two FINs at one instant: one of them dropped' },
  };
  /**
   * Findings a dropped FIN adds that the whole capture rightly does not make, with why (a known
   * limit, kept visible here rather than hidden by a filter).
   */
  const BEYOND_KNOWN: Record<string, { findings: string[]; why: string }> = {
    // Four clients each send GET /py/N once a second on a connection of their own. With the other
    // race's FIN dropped the stop is no longer seen, and another client's /py/5, sent at its own
    // 1 s cadence on its own connection 0.118 s after the failure, is taken for a retry.
    'keepalive-race-backend-stop-dnat': { findings: ['retried-request after 10.66.1.2:36746'], why: "another client's copy at its own cadence" },
  };
  // (keepalive-race-lost-fin-client-side has no server FIN at all, nor keepalive-race-mariadb: MariaDB
  // closes idle connections with a RST, nor keepalive-race-node-proxy-client-leg: a proxy's client leg
  // only, whose races are on the upstream leg it does not hold, nor keepalive-race-lazy-tick-haproxy:
  // its backend closes a raced connection with the request unread, by RST, nor keepalive-race-go-busy-reset:
  // its busy Go server's idle closes met the requests first, and each is a bare RST, nor
  // keepalive-race-idle-reset and -far: a server that closes idle connections with SO_LINGER 0, a RST
  // and no FIN at all.)
  const NO_SERVER_FIN = [
    'keepalive-race-lost-fin-client-side', 'keepalive-race-mariadb', 'keepalive-race-node-proxy-client-leg', 'keepalive-race-lazy-tick-haproxy',
    'keepalive-race-go-busy-reset', 'keepalive-race-idle-reset', 'keepalive-race-idle-reset-far',
  ];
  const raceSamples = listSamples().filter((s) => s.name.startsWith('keepalive-race-') && !NO_SERVER_FIN.includes(s.name));
  test.each(raceSamples.map((s) => s.name))('%s', async (name) => {
    const whole = await analyzeSample(name);
    // Each server's first FIN to a client port (a race's connection: its client port and server).
    const finFrames = new Map<string, number>();
    await analyzeWithout(name, () => false, (frame, v) => {
      const key = `${v.dstPort} ${v.srcPort}`;
      if ((v.flags & TcpFlag.FIN) !== 0 && !finFrames.has(key)) finFrames.set(key, frame);
    });
    const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
    const finOf = (f: { client: string | null; server: string | null }): number | undefined => finFrames.get(`${portOf(f.client ?? '')} ${portOf(f.server ?? '')}`);
    // Races whose server FIN the capture holds (not those it never had, and not a NAT view's other side).
    const races = whole.anomalies.filter((f) => f.kind === 'keepalive-race' && finOf(f) !== undefined);
    const lost: string[] = [];
    const beyond: string[] = [];
    for (const race of races) {
      const finFrame = finOf(race) ?? 0;
      const lossy = await analyzeWithout(name, (_v, _d, original) => original === finFrame);
      if (!ofKind(lossy, 'keepalive-race').includes(race.client ?? '')) lost.push(`${race.client} (FIN frame ${finFrame})`);
      beyond.push(...beyondWhole(lossy, whole).filter((k) => !k.startsWith('reset-before-response') || UNJUDGED[name] === undefined));
    }
    expect(races.length).toBeGreaterThan(0);
    expect(beyond.filter((k) => !(BEYOND_KNOWN[name]?.findings ?? []).includes(k))).toEqual([]);
    expect(lost).toHaveLength(UNJUDGED[name]?.lost ?? 0);
  });
});

/**
 * One response cut's server FIN at a time, as a capture that drops now and then would lose it
 * (blind round 16, S12: nginx's FIN to HAProxy among tcpdump's 3 dropped packets). The FIN takes a
 * sequence number, which the client's acknowledgement covers (Endpoint.finUnseen): the cut is
 * still found, timed at that acknowledgement, a proxy's relay of it still links through it, and
 * the capture loss is counted (stats.captureLoss.fins). Before, the cut was lost on every sample.
 */
describe('every response cut with its server FIN dropped from the capture', () => {
  /** Cuts that cannot be told without their FIN, by sample, with why: checked to stay so. */
  const UNJUDGED: Record<string, { lost: number; why: string }> = {
    // The FIN rode on the last data segment (FIN+PSH, 32 KB behind a slow reader's window): dropped
    // with it, the acknowledgement past both cannot tell a FIN from one byte more, and the body's
    // end is lost (the exchange is uncertain, no evidence).
    'response-truncated-server-time-limits': { lost: 2, why: 'the FIN rode on the last data segment, dropped with it' },
  };
  const cutSamples = listSamples()
    .map((s) => s.name)
    .filter((n) => n.startsWith('response-truncated-') || n === 'proxy-uri-rewrite' || n === 'response-abandoned-proxy-stall-upstream');
  test.each(cutSamples)('%s', async (name) => {
    const whole = await analyzeSample(name);
    // Each server's first FIN to a client port.
    const finFrames = new Map<string, number>();
    await analyzeWithout(name, () => false, (frame, v) => {
      const key = `${v.dstPort} ${v.srcPort}`;
      if ((v.flags & TcpFlag.FIN) !== 0 && !finFrames.has(key)) finFrames.set(key, frame);
    });
    const portOf = (endpoint: string): number => Number(endpoint.slice(endpoint.lastIndexOf(':') + 1));
    const finOf = (f: { client: string | null; server: string | null }): number | undefined => finFrames.get(`${portOf(f.client ?? '')} ${portOf(f.server ?? '')}`);
    const cuts = whole.anomalies.filter((f) => f.kind === 'response-truncated' && finOf(f) !== undefined);
    const lost: string[] = [];
    const beyond: string[] = [];
    let counted = 0;
    for (const cut of cuts) {
      const finFrame = finOf(cut) ?? 0;
      const lossy = await analyzeWithout(name, (_v, _d, original) => original === finFrame);
      const found = lossy.anomalies.find((f) => f.kind === 'response-truncated' && f.client === cut.client);
      if (found === undefined) lost.push(`${cut.client} (FIN frame ${finFrame})`);
      else {
        expect(found.evidence.finUnseen).toBe(true);
        // A proxy's relay of the cut still points at the same upstream flow.
        expect(found.evidence.relayedFromFlowId).toBe(cut.evidence.relayedFromFlowId);
      }
      if ((lossy.stats.captureLoss.fins ?? 0) > 0) counted++;
      beyond.push(...beyondWhole(lossy, whole));
    }
    expect(cuts.length).toBeGreaterThan(0);
    expect(beyond).toEqual([]);
    expect(lost).toHaveLength(UNJUDGED[name]?.lost ?? 0);
    expect(counted).toBe(cuts.length - lost.length);
  });
});

/**
 * Data segments of HTTPS connections lost by the capture (the peer acknowledges bytes never seen).
 * The TLS record reader resumes after the gap at the next segment that starts with a record header
 * (TlsDirection.loss, the snaplen resync's resumesAt), so what comes after the loss (a handshake's
 * alert, a close_notify, the requests and answers of a keep-alive connection) is read again; it had
 * stopped for the rest of the direction. The side keeps recordsUnseen, and a turn a loss ran
 * through is not judged (turnReadWhole).
 *
 * For every TLS sample, data segment k (counted from 0, the hello; k = 1..5) of one direction of every connection is
 * dropped. Before the resync 287 findings of the whole captures were lost in all; now 169. What
 * is left lost is where the lost segment held what a finding is about (the request itself, an
 * alert) or was a direction's last (nothing after it to read again from), and a finding whose
 * turn a loss ran through (not judged: turnReadWhole).
 */
describe('TLS samples with a data segment of every connection lost', () => {
  type Case = { name: string; fromServer: boolean; k: number };
  async function dropKth({ name, fromServer, k }: Case): Promise<{ whole: AnalysisResult; lossy: AnalysisResult; dropped: number }> {
    const whole = await analyzeSample(name);
    const serverPorts = new Set(whole.flows.map((f) => Number(f.server.slice(f.server.lastIndexOf(':') + 1))));
    const seen = new Map<string, number>();
    let dropped = 0;
    const lossy = await analyzeWithout(name, (v) => {
      if (v.payloadLen === 0 || serverPorts.has(v.srcPort) !== fromServer) return false;
      const direction = `${v.srcPort}>${v.dstPort}`;
      const n = seen.get(direction) ?? 0;
      seen.set(direction, n + 1);
      if (n !== k) return false;
      dropped++;
      return true;
    });
    return { whole, lossy, dropped };
  }
  const findings = (r: AnalysisResult): string[] => r.anomalies.map((f) => `${f.kind} ${f.client ?? f.server ?? ''}`).sort();

  // Each lost every finding after the gap before (the count in the comment); all are found now.
  test.each([
    // The client's second flight (TLS 1.2: its Finished) lost: 18 unanswered requests (curl, Python, Node over TLS 1.2 and 1.3).
    { name: 'unanswered-request-tls-client-timeouts', fromServer: false, k: 1 },
    // The first answer of each keep-alive connection lost: the 4 middlebox resets of reused connections.
    { name: 'middlebox-idle-reset-nat-tls', fromServer: true, k: 1 },
    // The client's second flight lost: 10 resets of requests by a killed server.
    { name: 'reset-before-response-tls-killed', fromServer: false, k: 1 },
    // The first request lost: the 2 keep-alive races of the next one (TLS 1.3).
    { name: 'keepalive-race-tls13-short-requests', fromServer: false, k: 2 },
    // The client's TLS 1.3 second flight lost: Go's 6 late or missing answers.
    { name: 'unanswered-request-tls-go-writetimeout', fromServer: false, k: 1 },
  ].map((c) => ({ ...c, side: c.fromServer ? 'server' : 'client' })))('$name without data segment $k of each connection\'s $side: the same findings as the whole capture', async (c) => {
    const { whole, lossy, dropped } = await dropKth(c);
    expect(dropped).toBeGreaterThan(0);
    expect(lossy.stats.captureLoss.bytes).toBeGreaterThan(0);
    expect(findings(whole).length).toBeGreaterThan(0);
    expect(findings(lossy)).toEqual(findings(whole));
  });

  test('a TLS 1.3 client flight lost whole (Certificate, CertificateVerify, Finished): the server\'s rejection after it is still told, and its request is no unanswered one', async () => {
    // Lane b of tls-handshake-failed-mtls13: openssl s_server's encrypted unknown_ca on the rogue
    // certificate. Before, the client's side stopped at the gap and the rejection was lost.
    const name = 'tls-handshake-failed-mtls13';
    const whole = await analyzeSample(name);
    const client = '127.0.0.1:43011';
    expect(whole.anomalies.filter((f) => f.client === client).map((f) => f.kind)).toEqual(['tls-handshake-failed']);
    let clientData = 0;
    const lossy = await analyzeWithout(name, (v) => v.srcPort === 43011 && v.payloadLen > 0 && ++clientData === 2);
    expect(clientData).toBeGreaterThan(2);
    const found = lossy.anomalies.filter((f) => f.client === client || (f.evidence.clients as string[] | undefined)?.includes(client));
    expect(found.map((f) => f.kind)).toEqual(['tls-handshake-failed']);
  });

  /**
   * Findings a lost segment adds that the whole capture does not make. Every one was made the same
   * with the record reader stopping at the gap (before the resync): none comes from reading after a
   * loss, and they are kept visible here, not analysed further in this change.
   */
  const BEYOND_KNOWN: Record<string, string[]> = {
    // The Go server's rejection (bad_certificate) of a client flight that was lost: the request sent
    // with the flight meets the server's close, which reads as an idle close.
    'tls-handshake-failed-mtls13 client 1': ['keepalive-race 127.0.0.1:43021'],
    'tls-handshake-failed-mtls13 server 1': ['keepalive-race 127.0.0.1:43021'],
    'tls-handshake-failed-mtls13 client 2': ['tls-handshake-failed 127.0.0.1:43052'],
    // A backend's 5xx among the failing handshakes' lanes counted apart from its 2xx.
    'tls-handshake-failed client 1': ['intermittent-5xx 127.0.0.3:8081'],
    'tls-handshake-failed client 2': ['intermittent-5xx 127.0.0.3:8081'],
    'tls-handshake-failed server 1': ['intermittent-5xx 127.0.0.3:8081', 'tls-handshake-failed 127.0.0.1:50614'],
    'unanswered-request-tls13-client-cert client 1': ['tls-handshake-failed 127.0.0.1:42001'],
    // The server's last answer before the middlebox's reset lost: the reset is taken for the server's.
    'middlebox-idle-reset-nat-tls server 3': ['reset-before-response 10.77.1.2:33258', 'reset-before-response 10.77.1.2:33260'],
    'middlebox-idle-reset-nat-tls server 4': ['reset-before-response 10.77.1.2:33298', 'reset-before-response 10.77.1.2:33310'],
  };

  test('over every TLS sample, nothing is found that the whole capture does not show, and few findings are lost', async () => {
    const names = listSamples().map((s) => s.name).filter((n) => /(^|-)tls/.test(n));
    expect(names.length).toBeGreaterThan(10);
    let lost = 0;
    const beyond: string[] = [];
    for (const name of names) {
      for (const fromServer of [true, false]) {
        for (let k = 1; k <= 5; k++) {
          const { whole, lossy, dropped } = await dropKth({ name, fromServer, k });
          if (dropped === 0) continue;
          const left = findings(lossy);
          lost += findings(whole).filter((f) => !left.includes(f)).length;
          const known = BEYOND_KNOWN[`${name} ${fromServer ? 'server' : 'client'} ${k}`] ?? [];
          beyond.push(...beyondWhole(lossy, whole).filter((f) => !known.includes(f)).map((f) => `${name} ${fromServer ? "server" : "client"} ${k}: ${f}`));
        }
      }
    }
    expect(beyond).toEqual([]);
    expect(lost).toBeLessThanOrEqual(169);
  });
});

/**
 * A proxy's request to its backend dropped by the capture, on a connection the backend's idle
 * close then failed (a keep-alive race upstream): nothing upstream shows for the proxy's 502, but
 * the upstream connection lost bytes while the client waited (proxy-legs' phase `lost`), so the
 * 502 is not taken for a flaky handler (intermittent-5xx) nor a request never sent upstream.
 */
describe.each(['keepalive-race-h2o', 'keepalive-race-caddy', 'keepalive-race-squid', 'keepalive-race-trafficserver', 'keepalive-race-nginx-upstream'])(
  '%s without the requests its proxy sent on the raced backend connections',
  (name) => {
    test('nothing found that the whole capture does not show', async () => {
      const whole = await analyzeSample(name);
      const requestFrames = new Set<number>();
      for (const race of whole.anomalies.filter((f) => f.kind === 'keepalive-race')) {
        const ex = whole.exchanges.find((e) => e.flowId === race.flowId && e.index === race.evidence.exchangeIndex);
        if (ex?.requestFrame != null) requestFrames.add(ex.requestFrame);
      }
      expect(requestFrames.size).toBeGreaterThan(0);
      const lossy = await analyzeWithout(name, (_v, _d, original) => requestFrames.has(original));
      expect(beyondWhole(lossy, whole)).toEqual([]);
    });
  },
);

/**
 * Reordering is not loss. On a path that reorders (healthy-lossy-path-client-side: jitter of ±4 ms
 * per wire), a FIN sent 0.3 ms after the response it follows (Node's `Connection: close`) can arrive
 * before it; and a window of a megabyte in flight can hold hundreds of segments behind one hole.
 */
describe('reordered segments are no capture loss', () => {
  test('a FIN that overtook the response it follows: the response completes, nothing is missing', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, get('/s/g1-12', ['Connection: close']));
    // Sent 0.3 ms apart; the FIN (stamped earlier) reaches the capture point 8.9 ms before the data.
    c.send(0.0209, 's', ok('{"ok":true}', ['Connection: close']));
    c.fin(0.012, 's');
    c.ack(0.0121, 'c');
    c.ack(0.021, 'c');
    c.fin(0.022, 'c').ack(0.0221, 's');
    const r = cap.analyze([]);
    expect(r.exchanges.map((e) => [e.status, e.state, e.uncertain])).toEqual([[200, 'complete', false]]);
    expect(r.flows[0].gapBytes).toEqual({ client: 0, server: 0 });
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
  });

  test('a FIN after a hole whose bytes never come: the hole is lost at the end, as before', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, get('/x'));
    c.unseen('s', ok('x'.repeat(100)));
    c.fin(0.02, 's').ack(0.0201, 'c');
    c.fin(0.03, 'c').ack(0.0301, 's');
    const r = cap.analyze([]);
    expect(r.flows[0].gapBytes.server).toBeGreaterThan(100);
    expect(r.exchanges[0].uncertain).toBe(true);
  });

  test('three hundred segments held behind one hole (a 1 MB response over a lossy path) are all delivered once it fills', () => {
    const cap = new Capture();
    const c = cap.connection();
    c.handshake(0).request(0.01, get('/big'));
    const body = 'b'.repeat(1448 * 300);
    const head = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`;
    c.send(0.02, 's', head);
    // The first body segment is lost on the path and resent after the other 299 arrived.
    const first = body.slice(0, 1448);
    c.unseen('s', first);
    for (let i = 1; i < 300; i++) c.send(0.02 + i * 0.0001, 's', body.slice(i * 1448, (i + 1) * 1448));
    const end = c.sSeq;
    c.sSeq -= body.length;
    c.send(0.06, 's', first);
    c.sSeq = end;
    c.ack(0.061, 'c');
    c.close(0.1, 'c');
    const r = cap.analyze([]);
    expect(r.exchanges.map((e) => [e.status, e.state, e.uncertain, e.responseBodyBytes])).toEqual([[200, 'complete', false, body.length]]);
    expect(r.stats.captureLoss).toEqual({ connections: 0, bytes: 0 });
  });
});
