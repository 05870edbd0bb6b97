import { SERVER_STOPS, ServerStops } from '../server-stops';
import { clientHostKey, type HostKey, hostKeyOfText } from '../host-keys';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import { clientIdleCloseOf, ms, roundTripToServer } from '../facts';
import type { Finding, InferredValue } from '../finding';
import { heldBelowText, inClientShutdown, inCloseBurst, inferTimeout, settleIdleIntervals, spanAt, tickedSpread, tickedTimeout } from '../infer-timeout';
import { ClientAgents, ownAgent } from '../client-agents';
import { forwardedByProxy } from '../proxy-tells';
import {
  clientProduct, KNOWN_IDLE_TIMEOUTS, knownDefaultsText, KnownTimeout, matchKnown, NGINX, nodeServerPattern, nodeServerPatternText, nodeServerSetting, PROXY_POOL_IDLE_SETTING_TEXT, proxyPoolIdleSetting,
  identityLabel, pumaServerPattern, pumaServerPatternText, pumaServerSetting, RELAYING_PROXY_IDLE_SETTINGS, serverIdleSettings, withoutNodeDefault, withoutPumaDefault,
} from '../known-timeouts';
import { type ProxyLegs, sharedProxyLegs } from '../proxy-legs';
import { addRelaySample, closedMidResponse, IdleCloseSample, idleCloseSample, relayedProxyOf, relayedProxyText } from '../relayed-closes';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { idleCloseTsOf, isGoodbye, opaqueServerIdleClose, saferClientIdleTimeout, serverIdleClose, SNAPLEN_UNIDENTIFIED_PAYLOAD, snaplenUnidentified, tickedText, tlsServerIdleClose } from './keepalive-race';
import { PlainProtocol, plainProtocolOf } from '../plain-protocols';
import type { ReuseGaps } from '../../http/reuse-gaps';
import { sharedRecentOpens } from '../recent-opens';
import { sharedConnectionSlots, slotReclaimsOf } from '../connection-slots';
import { seqGt } from '../../flow/seq';

/**
 * idle-timeout-mismatch: across the connections to one server, the idle time after which the
 * server closes keep-alive connections (inferred from ≥ 3 agreeing idle closes) against the idle
 * times after which clients reuse them. Clients that reuse connections idle nearly as long as the
 * server allows will race its FIN sooner or later, even if no race is in this capture; a server
 * that advertises a longer `Keep-Alive: timeout` than it keeps invites clients that trust the hint
 * to do so. Silent when clients reuse well within the server's timeout or close idle connections
 * themselves first.
 */

interface Sample {
  gap: number;
  /**
   * A server's idle close: its idle time from the last response's first byte (gap is from its last):
   * the server's timer started in between, when its application finished writing (settleIdleIntervals).
   */
  upTo?: number;
  ts: number;
  frame: number;
  /** The program on the client's side, where its User-Agent names it (programOf); null otherwise. */
  agent?: string | null;
  /** A client's close: its host (a shutdown closes all of one host's idle connections at once: inClientShutdown). */
  host?: string;
  /** A client's close: its connection carried one exchange only (never reused: its program showed no pool). */
  usedOnce?: boolean;
  /** The close with the last request before it, for the proxy legs (relayed-closes.ts); null where no request is known (TLS, other protocols, a client's close). */
  copy?: IdleCloseSample | null;
}

/**
 * A connection's client as its first request named it (HttpSession.clientSoftware and
 * clientForwarded), kept in a reuse's sample as two plain fields (an object of its own per sample
 * cost the exchange path some 60 M instructions on the benchmark's first 500 000 packets).
 */
interface ClientIdentity {
  software: string | null;
  forwarded: boolean | null;
}

/** Reuses remembered per server: only the longest matter against the timeout. */
const TOP_REUSES = 32;

/**
 * What the longest reuses counted are: each reuse of an HTTP connection, but only each connection's
 * longest on TLS and plain protocols (their turns are summed per connection), so "8 reuses" of TLS
 * connections was 8 connections whose longest reuse came that late.
 */
function reuseUnit(n: number, perConnection: boolean): string {
  if (!perConnection) return `reuse${n === 1 ? '' : 's'}`;
  return `connection${n === 1 ? '' : 's'} whose longest reuse`;
}
/**
 * Every reuse's idle time, counted in buckets of 1/128 of an octave (under 0.8 % wide) from 65.536 ms
 * up (a timeout's threshold is at least minIdleTimeout less its margin): how many reuses came after
 * the threshold, where more than TOP_REUSES did, is counted here and not read off the samples kept.
 * Integer arithmetic only: it runs for every reuse.
 */
const HIST_MIN_OCTAVE = 16; // 2^16 µs = 65.536 ms
const HIST_OCTAVES = 15; // up to 2^31 µs, about 36 min; longer idles fall in the last bucket
const HIST_BUCKETS = HIST_OCTAVES * 128;

/** The bucket of an idle of `gap` s, or -1 below the histogram's floor. */
function reuseBucket(gap: number): number {
  const us = gap >= 2147 ? 0x7fffffff : Math.floor(gap * 1e6);
  const octave = 31 - Math.clz32(us);
  if (octave < HIST_MIN_OCTAVE) return -1;
  return (octave - HIST_MIN_OCTAVE) * 128 + ((us >>> (octave - 7)) & 127);
}

function noteReuse(e: ServerIdle, gap: number): void {
  const b = reuseBucket(gap);
  if (b < 0) return;
  e.reuseHist ??= new Uint32Array(HIST_BUCKETS);
  e.reuseHist[b]++;
}

/** Reuses whose idle was certainly at least `threshold` s: those in buckets that begin at or above it (a lower bound). */
export function reusesAtLeast(hist: Uint32Array | null, threshold: number): number {
  if (hist === null) return 0;
  let n = 0;
  for (let b = 0; b < hist.length; b++) {
    if (hist[b] === 0) continue;
    const octave = HIST_MIN_OCTAVE + (b >>> 7);
    const lowerEdge = ((128 + (b & 127)) * 2 ** (octave - 7)) / 1e6;
    if (lowerEdge >= threshold) n += hist[b];
  }
  return n;
}

/** Answered reuses after an idle longer than the server's closes that refute its idle timeout. */
const REFUTING_REUSES = 3;
const MAX_SAMPLES = 4096;
const MAX_SERVERS = 10_000;
/** Client hosts whose last activity is remembered (closedAtHostEnd); beyond them a close counts as followed by more. */
const MAX_HOSTS = 100_000;
/** The last moments of a host's activity (closedAtHostEnd), at the least: programs stopped together stop within about a second. */
const HOST_END_WINDOW = 1;

interface ServerIdle {
  closes: Sample[];
  /** HTTP idle closes (serverIdleClose), and how many of them were a RST with no FIN (its byReset): what a client that raced them saw. */
  httpIdleCloses: number;
  httpResetCloses: number;
  /** The last idle closes with the last request before each: a relaying proxy's are told by it (relayed-closes.ts). */
  relaySamples: IdleCloseSample[];
  relaySamplesAdded: number;
  nextClose: number;
  clientCloses: Sample[];
  nextClientClose: number;
  /** Client closes right after use (below minIdleTimeout), by closer (closerOf): see closedWhenDone. */
  closedAfterUse: Map<string, number>;
  /** Longest reuse gaps, descending. */
  /**
   * The longest reuses, idle as the capture saw it (gap), and as the server lived it (atServer: the
   * response went out, the request came in, so a capture away from the server sees the gap shorter
   * by its round trip to the server). The timeout is compared with atServer: a client 150 ms away
   * that reuses after 1.9 s hands a 2 s server its request after 2.05 s.
   */
  /** `answered`: the reuse got a response (the connection was alive); false for TLS and other protocols, where that is not told. */
  /** The longest reuses, with the request each carried (method, uri): a proxy's copy of its client's is its pool's (proxyPoolOf). */
  topReuses: Array<Sample & { client: string; atServer: number; answered: boolean; method: string | null; uri: string | null } & ClientIdentity>;
  reuses: number;
  /** Every reuse's idle, counted (reuseBucket); null until one at or above its floor. */
  reuseHist: Uint32Array | null;
  minReuse: number;
  advertised: Map<number, { count: number; frame: number }>;
  clientHosts: Set<string>;
  /** Connections that told something here, by payload: HTTP, TLS, or neither (a database's, a cache's). */
  httpConnections: number;
  tlsConnections: number;
  plainConnections: number;
  /** Of those, connections whose client data the snaplen cut (snaplenUnidentified): too little kept to tell what they were. */
  plainCut: number;
  /** The protocol the server's port and its clients' first bytes name (plain-protocols.ts), when it is one of neither. */
  plainProtocol: PlainProtocol | null;
}

function push(list: Sample[], next: number, sample: Sample): number {
  if (list.length < MAX_SAMPLES) {
    list.push(sample);
    return next;
  }
  list[next % MAX_SAMPLES] = sample;
  return next + 1;
}

function fmt(seconds: number): string {
  return String(ms(seconds));
}

function namesOf(known: readonly KnownTimeout[]): string {
  return known.map((k) => k.name).join(' / ');
}

/** The client closed an idle connection first: all answered, keep-alive allowed, then its FIN (or RST). */
/** The program a connection's client named (ownAgent), or null when it named none or is not known as its own. */
function programOf(conn: AnalyzedConnection): string | null {
  const agent = ownAgent(conn);
  return agent === '' ? null : agent;
}

/** programOf from a session's two fields (HttpSession.clientSoftware, clientForwarded), kept in a sample. */
function programNamed(software: string | null, forwarded: boolean | null): string | null {
  return forwarded === false && software !== null && software !== '' ? software : null;
}

function clientIdleClose(conn: AnalyzedConnection): Sample | null {
  const close = clientIdleCloseOf(conn);
  if (close === null) return null;
  return { ...close, copy: null, agent: programOf(conn), host: conn.clientHost, usedOnce: conn.app?.exchangeCount === 1 };
}

/** Closers (program and host) whose closes right after use are counted per server, at most. */
const MAX_CLOSERS = 1000;

/** Who closed: the program its User-Agent names ('' for none) on its host. */
function closerOf(s: Pick<Sample, 'agent' | 'host'>): string {
  return `${s.agent ?? ''} ${s.host ?? ''}`;
}

/**
 * The client closes that are a close-when-done program's, not a pool's idle timer: those of
 * connections it never reused, by a program (its User-Agent, on its host) that closed at least as
 * many of its connections right after use (below minIdleTimeout, `afterUse`). Such a program keeps
 * nothing; a close of its some way later is the same close delayed (its event loop busy with the
 * start of a process, the process exiting), and those delays spread with no timer in them (Node's
 * fetch, told by a `Keep-Alive: timeout=2` to keep nothing: most closes 0-35 ms after the response,
 * three of fresh processes' first connections 102-134 ms after). An idle timer shows on a program
 * that keeps its connections: closes at one idle age of connections it went on reusing before.
 */
function closedWhenDone(closes: readonly Sample[], afterUse: ReadonlyMap<string, number>): boolean[] {
  const usedOnce = new Map<string, number>();
  for (const c of closes) if (c.usedOnce === true) usedOnce.set(closerOf(c), (usedOnce.get(closerOf(c)) ?? 0) + 1);
  return closes.map((c) => {
    if (c.usedOnce !== true) return false;
    const quick = afterUse.get(closerOf(c)) ?? 0;
    return quick > 0 && quick >= (usedOnce.get(closerOf(c)) ?? 0);
  });
}

/**
 * The client's FIN acknowledged a server FIN the capture lost: its acknowledgement number is one past
 * the server's last byte seen, the sequence number a FIN takes (Endpoint.finUnseen). The server closed
 * first (a lossy capture, tcpdump dropping packets under load), and the client's FIN answered it.
 */
function ackedLostServerFin(conn: AnalyzedConnection): boolean {
  const c = conn.client;
  const s = conn.server;
  return s.finTs < 0 && s.rstTs < 0 && s.finUnseen && c.finTs >= 0 && c.finHasAck && seqGt(c.finAck, s.nextSeq);
}

/** Some program named by a client close's User-Agent reused a connection after idling longer than `beyond`. */
/**
 * The clients of the reuses at risk, one per connection: whose pool setting to name (not that of a
 * client on the same server whose connections were reused only right away).
 */
function agentsOf(reuses: ReadonlyArray<{ client: string } & ClientIdentity>, sampled: boolean): ClientAgents {
  const agents = new ClientAgents();
  // Only the longest reuses are kept: their connections are a sample of those at risk.
  if (sampled) agents.sampleNote = ` (those of the ${reuses.length} longest reuses, the ones kept)`;
  const seen = new Set<string>();
  for (const r of reuses) {
    if (seen.has(r.client)) continue;
    seen.add(r.client);
    agents.noteIdentity(r.software, r.forwarded);
  }
  return agents;
}

/**
 * Where every reuse at risk carried a request a proxy had received from its own client (its copy:
 * ProxyLegs.downstreamOf), the connections are the proxy's pool to this server, whatever User-Agent
 * they carry (HAProxy and nginx pass their clients' on): its pool setting, by the proxy's software
 * where its responses name it, else the proxies' list. Null when some reuse was no proxy's.
 */
function proxyPoolOf(
  legs: ProxyLegs,
  software: ServerSoftware,
  server: string,
  risky: ReadonlyArray<{ client: string; ts: number; method: string | null; uri: string | null }>,
): string | null {
  if (risky.length === 0) return null;
  const proxies = new Set<string>();
  for (const r of risky) {
    const down = legs.downstreamOf({ client: r.client, server, method: r.method, uri: r.uri, start: r.ts });
    if (down === null) return null;
    proxies.add(down.server);
  }
  const names = [...new Set([...proxies].map((p) => software.of(p)))];
  const identity = names.length === 1 ? names[0] : null;
  // A Server header the proxy passes on from its backend (passedOn) names the backend, not the proxy.
  const named = identity !== null && identity.passedOn !== true && identity.software !== null ? proxyPoolIdleSetting(identity.software) : null;
  return named !== null
    ? `a proxy (${[...proxies].join(', ')}) forwarded these requests, and its responses say \`${identity?.says ?? ''}\`: the idle connections are its pool's, ${named}`
    : `a proxy (${[...proxies].join(', ')}) forwarded these requests, whatever User-Agent they carry: the idle connections are its pool's, ${PROXY_POOL_IDLE_SETTING_TEXT}`;
}

function reusedLongerByCloser(closes: readonly Sample[], reuses: readonly Sample[], beyond: number): boolean {
  return closes.some((c) => c.agent != null && reuses.some((r) => r.agent === c.agent && r.gap > beyond));
}

/**
 * The keepalive-race count after the risk window's: races whose request came after less idle than
 * the window's start are said apart, or the two counts clash ("2 reuses came after ≥ 0.901 s idle
 * — 10 did"). Such races were closed on arrival by a server that closed lazily: its idle timer,
 * checked on a tick, fired after the request had arrived and closed the connection with it unread
 * (blind test 8, v2get: a 1 s timer checked every 0.25 s closed requests sent after 0.81 s idle).
 */
function racesText(races: readonly Finding[], windowStart: number): string {
  const earlier = races.filter((f) => typeof f.evidence.idleBeforeRequest === 'number' && f.evidence.idleBeforeRequest < windowStart);
  if (earlier.length === 0) return `${races.length} did (keepalive-race)`;
  const idles = earlier.map((f) => f.evidence.idleBeforeRequest as number);
  const lo = fmt(Math.min(...idles));
  const hi = fmt(Math.max(...idles));
  const waits = earlier.map((f) => f.evidence.closeAfterRequestMs).filter((w): w is number => typeof w === 'number');
  const lazy = waits.length > 0 ? `, up to ${Math.round(Math.max(...waits))} ms after the request arrived` : '';
  return (
    `${races.length} failed so (keepalive-race), ${earlier.length === races.length ? 'all' : earlier.length} of them sent after less idle (${lo === hi ? lo : `${lo}-${hi}`} s): ` +
    `the server closed ${earlier.length === 1 ? 'that connection' : 'those connections'} with the request unanswered${lazy}, its timer firing lazily ` +
    '(an idle timer checked on a tick closes at its next check, whatever arrived meanwhile), so requests fail below the timeout minus the margin too'
  );
}

export const idleTimeoutMismatch: DetectorDefinition = {
  id: 'idle-timeout-mismatch',
  meta: {
    description:
      'Across connections to one server: clients reuse keep-alive connections after idling about as long as the server keeps them (inferred from its idle closes), or the server advertises a longer Keep-Alive timeout than it keeps: a keep-alive race waiting to happen.',
    severity: 'warning',
    messages: {
      reuse: '{server} closes idle connections after {timeout} s, but clients reuse connections after up to {maxReuse} s idle{advertisedText}',
      advertised: '{server} advertises Keep-Alive: timeout={advertised} but closes idle connections after {timeout} s{reuseText}',
      hintKept:
        '{server} closes idle connections at its advertised Keep-Alive: timeout={advertised} ({timeout} s), and clients that keep connections for that hint reused them after up to {maxReuse} s idle: no margin on either side, though none failed',
    },
  },
  create(ctx) {
    const servers = new Map<string, ServerIdle>();
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    // What proxies did on their backend legs: a relaying proxy closes both legs at its own timeout.
    const legs = sharedProxyLegs(ctx);
    /** When each server port refused connections: idle closes right before are its stop (server-stops.ts). */
    const stops = ctx.shared(SERVER_STOPS, () => new ServerStops());
    // Connections each server held and the idle ones it closed as others arrived (shared with keepalive-race).
    const slots = sharedConnectionSlots(ctx);
    /**
     * When each client host opened connections to each server (their SYNs): a pool that closes an
     * idle connection as it opens another to the same server (Squid does, for a request it will not
     * send on a reused connection) replaces it; no idle timer fired.
     */
    const opens = sharedRecentOpens(ctx);
    const replacedAt = (conn: AnalyzedConnection, ts: number): boolean => opens.openedNear(conn, ts, ctx.options.spreadAbsolute);
    /**
     * Each client host's last activity: its last connection opened or request sent (per connection,
     * at its end). A client close after it came as the host's programs stopped (a loop that ended
     * and closed its connection on the way out): a shutdown, whatever the idle before it, no timer.
     */
    // Keyed by HostKey: an IPv4 host costs no string (a capture of a public server has a client host per connection or so).
    const hostLastActivity = new Map<HostKey, number>();
    const noteHostActivity = (conn: AnalyzedConnection): void => {
      const recent = conn.app?.recent ?? [];
      const lastRequest = recent.length > 0 ? recent[recent.length - 1].requestStart ?? conn.startTs : conn.startTs;
      const last = Math.max(conn.startTs, lastRequest);
      const host = clientHostKey(conn);
      const known = hostLastActivity.get(host);
      if (known === undefined) {
        if (hostLastActivity.size < MAX_HOSTS) hostLastActivity.set(host, last);
      } else if (last > known) hostLastActivity.set(host, last);
    };
    /**
     * The close came in the last moments of its host's activity (hostLastActivity): after it, or
     * within `window` s before it, as the host's programs stopped one after another.
     */
    const closedAtHostEnd = (s: Sample, window: number): boolean => {
      const last = s.host === undefined ? undefined : hostLastActivity.get(hostKeyOfText(s.host));
      return last !== undefined && s.ts >= last - window;
    };

    const entryFor = (server: string): ServerIdle | null => {
      let e = servers.get(server);
      if (e === undefined) {
        if (servers.size >= MAX_SERVERS) return null;
        e = {
          closes: [], httpIdleCloses: 0, httpResetCloses: 0, relaySamples: [], relaySamplesAdded: 0, nextClose: 0, clientCloses: [], nextClientClose: 0, closedAfterUse: new Map(), topReuses: [], reuses: 0, reuseHist: null, minReuse: Infinity,
          advertised: new Map(), clientHosts: new Set(), httpConnections: 0, tlsConnections: 0, plainConnections: 0, plainCut: 0, plainProtocol: null,
        };
        servers.set(server, e);
      }
      return e;
    };

    /** One of a server's longest reuses so far (the TOP_REUSES longest, descending): those of connections not framed into requests. */
    const addTopReuse = (e: ServerIdle, conn: AnalyzedConnection, gap: number, ts: number, frame: number): void => {
      const top = e.topReuses;
      if (top.length >= TOP_REUSES && gap <= top[top.length - 1].gap) return;
      const session = conn.app?.session ?? null;
      const software = session?.clientSoftware ?? null;
      const forwarded = forwardedByProxy(session);
      const sample = { gap, atServer: gap + roundTripToServer(conn), ts, frame, client: conn.clientName, answered: false, agent: programNamed(software, forwarded), software, forwarded, method: null, uri: null };
      let i = top.length;
      while (i > 0 && top[i - 1].gap < sample.gap) i--;
      top.splice(i, 0, sample);
      if (top.length > TOP_REUSES) top.pop();
    };

    /**
     * A connection whose payload conncheck does not frame into requests: TLS (its record headers
     * tell the turns) or neither HTTP nor TLS (a database's, a cache's: who spoke when). The server's
     * idle close as keepalive-race finds it on such connections, and the client's reuses (each turn
     * after its first, with the silence since the server's last data; only the longest is kept per
     * connection, and the count).
     */
    const opaqueConnectionEnd = (conn: AnalyzedConnection): void => {
      const app = conn.app;
      if (app === null) return;
      const minIdle = ctx.options.minIdleTimeout;
      let reuses: ReuseGaps;
      let close: Sample | null = null;
      let protocol: PlainProtocol | null = null;
      if (app.tls !== null) {
        if (!app.tls.ok) return;
        reuses = app.tls.client.reuses;
        const c = tlsServerIdleClose(conn);
        if (c !== null && c.used && c.idleGap >= minIdle) close = { gap: c.idleGap, ts: c.finTs, frame: c.finFrame, copy: null };
      } else {
        const turns = app.session?.opaqueTurns ?? null;
        if (turns === null || app.session === null || app.session.isHttp) return;
        reuses = turns.reuses;
        const c = opaqueServerIdleClose(conn, minIdle);
        if (c !== null && c.idleGap >= minIdle) close = { gap: c.idleGap, ts: c.closeTs, frame: c.closeFrame, copy: null };
        protocol = plainProtocolOf(conn.sPort, turns.clientFirstByte);
      }
      if (reuses.count === 0 && close === null) return;
      const e = entryFor(conn.serverName);
      if (e === null) return;
      if (app.tls !== null) e.tlsConnections++;
      else {
        e.plainConnections++;
        if (snaplenUnidentified(conn)) e.plainCut++;
        e.plainProtocol ??= protocol;
      }
      if (e.clientHosts.size < 1000) e.clientHosts.add(conn.clientHost);
      if (close !== null) {
        e.nextClose = push(e.closes, e.nextClose, close);
        e.relaySamplesAdded = addRelaySample(e.relaySamples, e.relaySamplesAdded, idleCloseSample(close.ts, close.frame, null));
      }
      // A protocol's goodbye after the server's close (an LDAP UnbindRequest, a PostgreSQL Terminate)
      // was the client's last turn: no reuse.
      const after = conn.clientDataAfterServerFin;
      const goodbye = protocol !== null && after !== null && after.ts === reuses.lastTs && isGoodbye(conn, after);
      const count = goodbye ? reuses.count - 1 : reuses.count;
      const longest = goodbye ? reuses.longestBeforeLast() : { gap: reuses.longest, ts: reuses.longestTs, frame: reuses.longestFrame };
      if (count > 0 && longest !== null) {
        e.reuses += count;
        noteReuse(e, longest.gap);
        if (reuses.shortest < e.minReuse) e.minReuse = reuses.shortest;
        addTopReuse(e, conn, longest.gap, longest.ts, longest.frame);
      }
    };

    return {
      onOpen(conn) {
        // Called at the connection's first packet (its SYN), before the flow stage records it.
        opens.add(conn, conn.startTs);
      },

      onExchange(ex, conn) {
        if (ex.uncertain) return;
        const e = entryFor(conn.serverName);
        if (e === null) return;
        if (ex.keepAliveTimeout !== null && !ex.responseClose) {
          const a = e.advertised.get(ex.keepAliveTimeout);
          if (a === undefined) e.advertised.set(ex.keepAliveTimeout, { count: 1, frame: ex.responseFrame ?? 0 });
          else a.count++;
        }
        // Reuse of a kept-alive connection (the first request's wait since the handshake is governed
        // by other server timers, e.g. a header timeout, so it says nothing about the idle timeout).
        if (ex.index < 2 || ex.idleBefore === null || ex.requestStart === null) return;
        e.reuses++;
        noteReuse(e, ex.idleBefore);
        if (ex.idleBefore < e.minReuse) e.minReuse = ex.idleBefore;
        // Inline, not through addTopReuse: called for every exchange, the shared helper counted
        // +140 M instructions on the first 500 000 benchmark packets with this detector alone.
        const top = e.topReuses;
        if (top.length < TOP_REUSES || ex.idleBefore > top[top.length - 1].gap) {
          // The session read once: the program it names (programOf) follows from its two fields.
          const session = conn.app?.session ?? null;
          const software = session?.clientSoftware ?? null;
          const forwarded = forwardedByProxy(session);
          const sample = {
            gap: ex.idleBefore, atServer: ex.idleBefore + roundTripToServer(conn), ts: ex.requestStart, frame: ex.requestFrame ?? 0, client: conn.clientName,
            answered: ex.responseStart !== null, agent: programNamed(software, forwarded), software, forwarded, method: ex.method, uri: ex.uri,
          };
          let i = top.length;
          while (i > 0 && top[i - 1].gap < sample.gap) i--;
          top.splice(i, 0, sample);
          if (top.length > TOP_REUSES) top.pop();
        }
      },

      onConnectionEnd(conn) {
        software.note(conn);
        slots.note(conn, idleCloseTsOf);
        const app = conn.app;
        if (app === null) return;
        noteHostActivity(conn);
        if (app.exchangeCount === 0) {
          opaqueConnectionEnd(conn);
          return;
        }
        const e = entryFor(conn.serverName);
        if (e === null) return;
        e.httpConnections++;
        if (e.clientHosts.size < 1000) e.clientHosts.add(conn.clientHost);
        // An idle close by RST (SO_LINGER 0) tells the timeout as a FIN does (serverIdleClose's byReset).
        const close = serverIdleClose(conn, false, ctx.options.minIdleTimeout);
        // A close whose FIN the path's grown queue held tells a race, not the timeout (queueSkewed): no sample, nor a client's close.
        if (close !== null && close.queueSkewed) return;
        if (close !== null && close.lastExchange !== null && close.idleGap >= ctx.options.minIdleTimeout) {
          const copy = idleCloseSample(close.finTs, close.finFrame, close.lastExchange);
          e.nextClose = push(e.closes, e.nextClose, { gap: close.idleGap, upTo: close.idleGapLongest, ts: close.finTs, frame: close.finFrame, copy });
          e.httpIdleCloses++;
          if (close.byReset) e.httpResetCloses++;
          e.relaySamplesAdded = addRelaySample(e.relaySamples, e.relaySamplesAdded, copy);
          return;
        }
        const clientClose = clientIdleClose(conn);
        // A client FIN that answered the server's FIN the capture lost: the server's idle close, as
        // late as the client's FIN (the server's own was before it, by the client's reaction).
        if (clientClose !== null && clientClose.ts === conn.client.finTs && clientClose.gap >= ctx.options.minIdleTimeout && ackedLostServerFin(conn)) {
          e.nextClose = push(e.closes, e.nextClose, { gap: clientClose.gap, ts: clientClose.ts, frame: clientClose.frame, copy: null });
          return;
        }
        // A client that closes right after its last response (a session closed, a process done, a
        // connection used once) closes after use; like the server's, only an idle of at least
        // minIdleTimeout tells an idle timeout. Nor does a close that comes with a new connection
        // to the same server (replacedAt: Squid before a POST).
        if (clientClose !== null && clientClose.gap >= ctx.options.minIdleTimeout && !replacedAt(conn, clientClose.ts)) {
          e.nextClientClose = push(e.clientCloses, e.nextClientClose, clientClose);
        } else if (clientClose !== null && clientClose.gap < ctx.options.minIdleTimeout) {
          // Counted by closer: its later closes of connections used once may be the same close delayed (closedWhenDone).
          const closer = closerOf(clientClose);
          const n = e.closedAfterUse.get(closer);
          if (n !== undefined || e.closedAfterUse.size < MAX_CLOSERS) e.closedAfterUse.set(closer, (n ?? 0) + 1);
        }
      },

      onFinish() {
        const fraction = ctx.options.spreadFraction;
        const absolute = ctx.options.spreadAbsolute;
        for (const [server, e] of servers) {
          // A reload's or a shutdown's closes of every idle connection at once tell no timeout.
          // And the bursts among every idle close of the server the shared proxy legs keep: those too
          // short to be samples here count (nginx closes every idle connection at once at a reload,
          // 6-186 ms idle in reload-nginx: without them, the few above minIdleTimeout were no burst and
          // taken for a 0.14 s timeout), and a snaplen-cut response's.
          // Each close's idle time as the server's timer counted it: from when its application finished writing the last response.
          const ages = settleIdleIntervals(e.closes.map((s) => s.gap), e.closes.map((s) => s.upTo ?? s.gap), { fraction, absolute });
          const own = inCloseBurst(ages, e.closes.map((s) => s.ts), legs.keptLonger(server));
          const spans = legs.reloadSpans(server);
          // And a proxy's close that gave up on its backend's response in progress was no idle close.
          // And the closes right before the server's port refused connections: its stop (server-stops.ts).
          // And the idle connections it closed as others arrived while it served all it could: it was
          // out of connection slots (nginx's worker_connections), no timer (connection-slots.ts).
          const reclaimed = slotReclaimsOf(slots, server, ctx.options) !== null;
          const burst = e.closes.map(
            (s, i) => own[i] || spanAt(spans, s.ts) >= 0 || (s.copy != null && closedMidResponse(legs, server, s.copy)) || stops.stoppedAfter(server, s.ts) || (reclaimed && slots.reclaimedAt(server, s.ts)),
          );
          const timedIndexes = e.closes.map((_, i) => i).filter((i) => !burst[i]);
          const timed = timedIndexes.map((i) => e.closes[i]);
          const gaps = timedIndexes.map((i) => ages[i]);
          const cluster = inferTimeout(gaps, { fraction, absolute, minSamples: 3 });
          if (cluster === null) continue;
          // Closes spread over a timer's tick: the timeout is the shortest of them (tickedSpread).
          // The closes' longest possible idle, from their last requests (heldBelowCluster).
          const sinceRequest = timed.map((s) => (s.copy != null && s.copy.requestEnd !== null && s.copy.requestEnd <= s.ts ? Math.max(s.ts - s.copy.requestEnd, s.upTo ?? s.gap) : (s.upTo ?? s.gap)));
          const ticked = tickedSpread(gaps, cluster, timed.map((s) => s.ts), sinceRequest, { fraction, absolute });
          const timeout = ticked !== null ? tickedTimeout(ticked) : cluster;
          const T = timeout.value;
          const margin = Math.min(ctx.options.raceMargin, ctx.options.raceMarginFraction * T);
          // Connections the server kept alive and answered after idling well past every close: the
          // closes were no idle timer of the server's (a reload's drain closing whatever was idle at
          // that moment: reload-haproxy, its closes 0.14-0.25 s idle, reuses answered after 0.5 s).
          const keptLonger = e.topReuses.filter((r) => r.answered && r.atServer > T + timeout.spread + Math.max(margin, absolute)).length;
          if (keptLonger >= REFUTING_REUSES) continue;
          const maxReuse = e.topReuses.length > 0 ? e.topReuses[0] : null;
          const risky = e.topReuses.filter((r) => r.atServer >= T - margin);
          // The samples kept are the TOP_REUSES longest: where all of them are at risk, more may be,
          // counted in the histogram (a lower bound: a reuse counts there when its idle seen here
          // alone reached the threshold, and only in buckets wholly above it).
          const sampled = risky.length >= TOP_REUSES;
          const riskyCount = sampled ? Math.max(risky.length, reusesAtLeast(e.reuseHist, T - margin)) : risky.length;
          const riskyRtt = risky.reduce((m, r) => Math.max(m, r.atServer - r.gap), 0);
          // The advertised hint clients trust: the most common value.
          let advertised: number | null = null;
          let advertisedCount = 0;
          let advertisedFrame = 0;
          for (const [value, a] of e.advertised) {
            if (a.count > advertisedCount) {
              advertised = value;
              advertisedCount = a.count;
              advertisedFrame = a.frame;
            }
          }
          const overAdvertised = advertised !== null && advertised - T > Math.max(0.02 * advertised, absolute);
          if (risky.length === 0 && !overAdvertised) continue;

          // Clients' own closes of idle connections agreeing on one value are their pool's idle
          // timeout, unless the program that closed them (its User-Agent) reused a connection after
          // a longer idle: it closed for another reason at that moment (a process exiting after its
          // last request: Java's HttpClient 0.33 s after it).
          // Nor are closes at one moment a timer (closeBurstRuns): a process stopping closes all its
          // idle connections at once (nginx at SIGQUIT, whatever their idle ages, and ages alike
          // when its clients had paused together), below idle ages its connections were reused at.
          const answeredReuses = e.topReuses.filter((r) => r.answered).map((r) => r.gap);
          const inBurst = inCloseBurst(e.clientCloses.map((s) => s.gap), e.clientCloses.map((s) => s.ts), answeredReuses.length > 0 ? Math.max(...answeredReuses) : 0);
          // Nor are one client host's closes at one moment with disagreeing idle ages: it shut its pool down (inClientShutdown).
          const shutdown = inClientShutdown(e.clientCloses.map((s) => s.gap), e.clientCloses.map((s) => s.ts), e.clientCloses.map((s) => s.host ?? ''), { fraction, absolute });
          // Nor are a close-when-done program's later closes of connections it never reused (closedWhenDone).
          const whenDone = closedWhenDone(e.clientCloses, e.closedAfterUse);
          const timedCloses = e.clientCloses.filter((_, i) => !inBurst[i] && !shutdown[i] && !whenDone[i]);
          const clientCloseAgreement = inferTimeout(timedCloses.map((s) => s.gap), { fraction, absolute, minSamples: 3 });
          // And a timer recurs while its program runs on: closes that all came in the last moments of
          // their host's connections and requests (its programs ending, each closing its connection on
          // the way out, alike in idle when their loops paused alike) are a shutdown (closedAtHostEnd).
          // The moments: a second, or two of the closes' idle (programs that stop one after another,
          // each after its last pause).
          const recurred =
            clientCloseAgreement !== null &&
            timedCloses.some(
              (s) =>
                !closedAtHostEnd(s, Math.max(HOST_END_WINDOW, 2 * clientCloseAgreement.value)) &&
                Math.abs(s.gap - clientCloseAgreement.value) <= clientCloseAgreement.spread + Math.max(fraction * clientCloseAgreement.value, absolute),
            );
          const clientTimeout =
            clientCloseAgreement === null || !recurred || reusedLongerByCloser(timedCloses, e.topReuses, clientCloseAgreement.value + Math.max(fraction * clientCloseAgreement.value, absolute))
              ? null
              : clientCloseAgreement;
          const races = ctx.findings('keepalive-race').filter((f) => f.server === server);
          const identity = software.of(server);
          // Only connections of a protocol neither HTTP nor TLS told this: no HTTP software's words or settings apply.
          const plainOnly = e.plainConnections > 0 && e.httpConnections === 0 && e.tlsConnections === 0;
          const plain = plainOnly ? e.plainProtocol : null;
          // A proxy relaying the connections closed them: its responses' headers are the backend's.
          const relay = relayedProxyOf(legs, server, e.relaySamples, e.relaySamplesAdded);
          const knownMatches = plainOnly
            ? []
            : relay !== null
              ? matchKnown(T, KNOWN_IDLE_TIMEOUTS, null).filter((k) => k.side === 'proxy')
              : matchKnown(T, KNOWN_IDLE_TIMEOUTS, software.softwareOf(server)).filter((k) => k.side !== 'client');
          // Node advertises its keepAliveTimeout in whole seconds, rounded down, and closes 1 s after it (nodeServerPattern).
          const node = relay === null ? nodeServerPattern(T, advertised, Math.max(0.02 * T, absolute)) : null;
          // Puma closes 0.2 s after its whole-second persistent_timeout, with neither Server header nor hint (pumaServerPattern).
          const puma = relay === null && !plainOnly ? pumaServerPattern(T, advertised, software.softwareOf(server), Math.max(0.02 * T, absolute)) : null;
          const knownServer = withoutPumaDefault(withoutNodeDefault(knownMatches, node), puma);
          // "Matches" a product only where the responses named it (knownDefaultsText).
          const knownText =
            (relay !== null
              ? knownServer.length > 0 ? ` (matches ${namesOf(knownServer)})` : ''
              : knownDefaultsText(knownServer, software.softwareOf(server))) + (node !== null ? nodeServerPatternText(node) : puma !== null ? pumaServerPatternText(puma) : '');
          // The close sample nearest the inferred value, as the frame to open.
          let closeSample = e.closes[0];
          let closeAge = ages[0];
          for (let i = 0; i < e.closes.length; i++) {
            if (Math.abs(ages[i] - T) < Math.abs(closeAge - T)) {
              closeSample = e.closes[i];
              closeAge = ages[i];
            }
          }
          const decisive = risky.length > 0 ? risky[0] : null;
          const safer = saferClientIdleTimeout(T, ticked);

          const inferred: Record<string, InferredValue> = {
            serverIdleTimeout: { value: ms(T), samples: timeout.samples, spread: ms(timeout.spread) },
          };
          if (maxReuse !== null) inferred.clientReuseMaxIdle = { value: ms(maxReuse.gap), samples: e.reuses, spread: ms(maxReuse.gap - e.minReuse) };
          if (advertised !== null) inferred.advertisedKeepAliveTimeout = { value: advertised, samples: advertisedCount, spread: 0 };
          if (clientTimeout !== null) inferred.clientIdleTimeout = { value: ms(clientTimeout.value), samples: clientTimeout.samples, spread: ms(clientTimeout.spread) };

          const pool = proxyPoolOf(legs, software, server, risky);
          // Every reuse at risk came before the advertised hint, from clients known to keep an idle
          // connection for the hint (ClientProduct.hintMargin: Java HttpURLConnection exactly for it),
          // and none failed: the clients did as the server told them, and the hint, equal to the
          // server's own timeout, left no margin (blind round 16, S12: nginx `keepalive_timeout 5s 5s`,
          // reuses up to 4.992 s, closes at 5.003 s). The lever is the hint, so an info, not a warning.
          const hintKept =
            advertised !== null && !overAdvertised && relay === null && pool === null && !plainOnly && races.length === 0 && risky.length > 0 &&
            risky.every((r) => r.forwarded === false && r.gap < advertised && clientProduct(r.software)?.hintMargin !== undefined);
          const reuseText = maxReuse === null ? 'no connection was reused' : `clients reused connections after up to ${fmt(maxReuse.gap)} s idle (${e.reuses} reuses)`;
          const who = plainOnly
            ? `${server}${plain !== null ? ` (${plain.name}, as its port says)` : e.plainCut === e.plainConnections ? ` (${SNAPLEN_UNIDENTIFIED_PAYLOAD})` : ' (neither HTTP nor TLS)'}`
            : `${server}${identity !== null && relay === null ? ` (${identityLabel(identity)})` : ''}`;
          const idleConnections = plainOnly ? 'idle connections' : 'idle keep-alive connections';
          // Every idle close an abort (a RST, no FIN): a request that meets one fails with ECONNRESET, not EOF.
          const byReset = !plainOnly && e.httpResetCloses > 0 && e.httpResetCloses === e.httpIdleCloses;
          const resetText = byReset ? ', each with a RST and no FIN (an abortive close: SO_LINGER 0, as Go\'s SetLinger(0) or HAProxy `option nolinger` set)' : '';
          const parts: string[] = [
            ticked !== null
              ? `${who} closed ${idleConnections} after ${fmt(T)} s at the shortest${resetText}${knownText}: ${tickedText(ticked)}; ${reuseText}.`
              : `${who} closed ${timeout.samples} ${idleConnections} after ${fmt(T)} s (spread ${fmt(timeout.spread * 1000)} ms)${resetText}${knownText}${heldBelowText(gaps, cluster, sinceRequest, { fraction, absolute })}; ${reuseText}.`,
          ];
          if (relay !== null) {
            const headers = [identity?.says ?? null, advertised !== null ? `Keep-Alive: timeout=${advertised}` : null].filter((h): h is string => h !== null);
            parts.push(relayedProxyText(server, relay, headers.length > 0 ? headers.join(' and ') : null));
          }
          if (risky.length > 0) {
            parts.push(
              `${sampled ? `At least ${riskyCount}` : riskyCount} ${reuseUnit(riskyCount, e.httpConnections === 0)} ${riskyRtt >= 0.001 ? 'reached the server' : 'came'} after ≥ ${fmt(T - margin)} s idle (the ${ticked !== null ? 'shortest close' : 'timeout'} minus a ${fmt(margin)} s margin for latency and timer jitter${riskyRtt >= 0.001 ? `; the idle seen here plus the round trip from the capture point to the server, up to ${fmt(riskyRtt * 1000)} ms` : ''}): ` +
                (plainOnly
                  ? `such a request can cross the server's close and fail (a reset${plain !== null ? `; ${plain.clientErrors}` : ''})`
                  : byReset
                    ? 'such a request can cross the server\'s RST and fail with ECONNRESET ("connection reset by peer"), and one sent after the RST arrived fails in the client before reaching the wire'
                    : "such a request can cross the server's FIN and fail (a reset, or an EOF when the server reads and drops it)") +
                `${races.length > 0 ? ` — ${racesText(races, T - margin)}` : hintKept ? '' : ', even though none did in this capture'}.`,
            );
          }
          if (overAdvertised) {
            parts.push(
              (relay !== null
                ? `The responses advertise Keep-Alive: timeout=${advertised}, the backend's hint passed on by the proxy, but the proxy closes after ${fmt(T)} s`
                : `The server advertises Keep-Alive: timeout=${advertised} but closes after ${fmt(T)} s`) +
                `: a client that trusts the hint (Node's fetch (undici) keeps a socket until the hint minus 2 s, a Node http.Agent given its \`timeout\` option until the hint minus 1 s; an Agent without that option ignores a hint above 1 s) will reuse connections the ${relay !== null ? 'proxy' : 'server'} has already closed.` +
                // Without the proxy's backend leg in the capture a relaying proxy cannot be told; its closes look like this.
                (relay === null ? ' (A proxy that relays connections byte for byte, such as HAProxy in mode tcp, nginx stream or a cloud layer-4 load balancer, passes its backend\'s hint on and closes at its own idle timeout: if one is in front, its timeout is the one that fired.)' : ''),
            );
          }
          if (clientTimeout !== null) parts.push(`Clients themselves closed ${clientTimeout.samples} idle connections after ${fmt(clientTimeout.value)} s.`);

          if (hintKept) {
            const who = agentsOf(risky, sampled).describe();
            parts.push(
              `None did: every one came before the advertised Keep-Alive: timeout=${advertised}, as a client that keeps an idle connection for the hint does${who !== '' ? ` (${who})` : ''}; ` +
                `but the server closes at that hint (${fmt(T)} s), so a request sent at the hint's end meets its close by luck: the hint leaves no margin.`,
            );
          }
          const remedies: string[] = [];
          if (hintKept) {
            const hint = Math.max(1, Math.floor(T - margin));
            remedies.push(
              `Server: advertise less than the timeout it applies (Keep-Alive: timeout=${hint} or less${hintSettingText(software.softwareOf(server), hint)}), ` +
                'so that clients that keep connections for the hint drop them before the server closes them; or keep idle connections a second or more beyond the hint.',
            );
          }
          if (overAdvertised && relay !== null) {
            remedies.push(
              `Proxy: keep idle connections for at least ${advertised} s ${RELAYING_PROXY_IDLE_SETTINGS}, or backend: apply and advertise an idle timeout below the proxy's (Keep-Alive: timeout=${Math.max(1, Math.floor(T - margin))} or less).`,
            );
          } else if (overAdvertised) {
            const hint = Math.max(1, Math.floor(T - margin));
            remedies.push(`Server: advertise the timeout it really applies (Keep-Alive: timeout=${hint} or less${hintSettingText(software.softwareOf(server), hint)}), or keep idle connections for at least ${advertised} s.`);
          }
          if (risky.length > 0 && plainOnly) {
            remedies.push(
              `Client: close or check pooled connections idle for more than ${safer} s (below the server's ${fmt(T)} s; ${plain !== null ? plain.clientSettings : 'the pool\'s idle limit, or a check before reuse'}), ` +
                `or raise the server's idle timeout above the pool's longest idle (${plain !== null ? plain.idleSetting : 'the server\'s idle timeout for this protocol'}).`,
            );
          } else if (risky.length > 0 && pool !== null && relay === null) {
            remedies.push(
              `Proxy: close its pooled connections to ${server} idle for more than ${safer} s (below the server's ${fmt(T)} s; ${pool}), ` +
                `or raise the server's idle timeout above the pool's ${node !== null && identity === null ? nodeServerSetting(node) : puma !== null ? pumaServerSetting(puma) : serverIdleSettings(identity, software.softwareOf(server))}.`,
            );
          } else if (risky.length > 0 && !hintKept) {
            remedies.push(
              `Client: close pooled connections idle for more than ${safer} s (below the ${relay !== null ? 'proxy' : 'server'}'s ${fmt(T)} s; ${agentsOf(risky, sampled).settings({ safer, timeout: T })}), ` +
                (relay !== null
                  ? `or raise the proxy's idle timeout above the clients' ${RELAYING_PROXY_IDLE_SETTINGS}.`
                  : `or raise the server's idle timeout above the clients' ${node !== null && identity === null ? nodeServerSetting(node) : puma !== null ? pumaServerSetting(puma) : serverIdleSettings(identity, software.softwareOf(server))}.`),
            );
          }
          const explanation = parts.join(' ');
          const remedy = remedies.join(' ');

          const advertisedText = overAdvertised ? ` (it advertises Keep-Alive: timeout=${advertised})` : '';
          const finding = ctx.report({
            flowId: null,
            client: null,
            server,
            ts: decisive !== null ? decisive.ts : closeSample.ts,
            message: hintKept ? 'hintKept' : decisive !== null ? 'reuse' : 'advertised',
            ...(hintKept ? { severity: 'info' as const } : {}),
            data: {
              server,
              timeout: fmt(T),
              maxReuse: maxReuse === null ? '?' : fmt(maxReuse.gap),
              advertised: advertised ?? '?',
              advertisedText,
              reuseText: maxReuse === null ? '' : `; clients reuse connections after up to ${fmt(maxReuse.gap)} s idle`,
            },
            evidence: {
              serverIdleTimeout: ms(T),
              serverIdleCloses: timeout.samples,
              serverIdleSpread: ms(timeout.spread),
              // The closes spread over a timer's tick (tickedSpread): the timeout is the shortest.
              serverIdleTicked: ticked !== null,
              knownServerDefault: knownServer.length > 0 ? knownServer.map((k) => k.name) : null,
              // A relaying proxy's closes (relayed-closes.ts): its backend, and how many of the idle closes were relayed.
              relayedToBackend: relay === null ? null : relay.backend,
              relayedCloses: relay === null ? null : relay.relayed,
              clientReuseMaxIdle: maxReuse === null ? null : ms(maxReuse.gap),
              clientReuses: e.reuses,
              reusesNearTimeout: riskyCount,
              margin: ms(margin),
              longestReuseClient: maxReuse?.client ?? null,
              advertisedKeepAliveTimeout: advertised,
              clientIdleTimeout: clientTimeout === null ? null : ms(clientTimeout.value),
              keepaliveRaces: races.length,
              clientHosts: e.clientHosts.size,
            },
            frames: [closeSample.frame, decisive?.frame ?? 0, overAdvertised ? advertisedFrame : 0],
          });
          ctx.diagnose({ server, count: 1, inferred, explanation, remedy, anomalyIds: [finding.id], ...(hintKept ? { severity: 'info' as const } : {}) });
        }
      },
    };
  },
};

/**
 * Where a server sets the Keep-Alive hint apart from its idle timeout, the setting to change, after
 * the hint it should send: nginx's is the second parameter of `keepalive_timeout`
 * (`keepalive_timeout 2700ms 5s` closes after 2.7 s and sends `Keep-Alive: timeout=5`). '' otherwise.
 */
function hintSettingText(software: string | null, hint: number): string {
  if (software === null || !NGINX.test(software)) return '';
  return `; nginx sends the second parameter of \`keepalive_timeout\` as its hint: \`keepalive_timeout <its idle timeout> ${hint}s\``;
}

