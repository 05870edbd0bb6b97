import { forwardedByProxy } from '../proxy-tells';
import { ownAgent } from '../client-agents';
import { clientProduct } from '../known-timeouts';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import { closeMayBeAnnounced, ms } from '../facts';
import type { Finding } from '../finding';
import { firstClose } from '../../flow/conn-state';
import { sharedProxyLegs } from '../proxy-legs';

/**
 * connection-churn: a client host opens a new connection for every request to a server that
 * would keep connections alive — each connection carries one request, its response allows
 * keep-alive, and the client closes it right away. Every request pays a handshake, and the side
 * that closes first (the client) keeps each closed connection in TIME_WAIT for a minute, eating
 * its ephemeral ports. Silent when the server asks to close (Connection: close, HTTP/1.0) or when
 * connections carry several requests.
 */

/** Client/server pairs followed; ports listed per pair in the evidence. */
const MAX_PAIRS = 10_000;
const MAX_PORTS_LISTED = 64;
const MAX_PORTS_COUNTED = 4096;
/** Linux keeps TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN). */
const TIME_WAIT_SECONDS = 60;

interface Pair {
  client: string;
  server: string;
  connections: number;
  requests: number;
  churned: number;
  firstSynTs: number;
  lastSynTs: number;
  /** The first one-request connection's SYN and response frames (-1 before it). */
  firstSynFrame: number;
  firstResponseFrame: number;
  thresholdTs: number;
  thresholdFrame: number;
  /**
   * The client ports of its one-request connections: the first one (-1 before it), and a Set made
   * only at a second distinct port. Most pairs never have a second connection (a capture of a public
   * server has a client host per connection or so, and 10 000 pairs are followed): a Set, and the
   * arrays below made empty, cost each such pair some 1.3 KB (arrays grow to 17 slots at their first push).
   */
  firstPort: number;
  ports: Set<number> | null;
  advertised: number | null;
  /** Connections of the same pair that carried several requests (the client does pool), and their requests. */
  pooled: number;
  pooledRequests: number;
  /** When the client closed its one-request connections (the first MAX_CLOSES_KEPT); null before the first (made as a one-element literal, see ports). */
  closes: number[] | null;
  /** The programs of its pooled and of its one-request connections (ProgramSet), each made at its first noted connection. */
  pooledPrograms: ProgramSet | null;
  churnPrograms: ProgramSet | null;
  /** One-request connections the client closed with a reset (RST): no TIME_WAIT is left of them. */
  resets: number;
  /** One-request connections whose request said `Connection: close` (the client turned keep-alive off), and those of them the server closed first. */
  asked: number;
  askedServerClosed: number;
  /** The first one-request connections' requests, to ask at the end whether the client forwarded them (a proxy); null before the first. */
  samples: SampleRequest[] | null;
}

/** A one-request connection's request, as ProxyLegs.forwardedByItsSender asks for it. */
interface SampleRequest {
  client: string;
  server: string;
  method: string | null;
  uri: string | null;
  start: number;
}

/** Requests kept per pair to tell a proxy client: a few agree, and the search for each is made at the end only. */
const MAX_SAMPLES = 3;

/** Distinct agents kept per set: a host runs a few programs against one server. */
const MAX_PROGRAMS = 4;

/** The agents of a set before its first (shared, never added to: ProgramSet.note replaces it). */
const NO_AGENTS: string[] = [];
Object.freeze(NO_AGENTS);

/**
 * The programs (User-Agent, '' for none) of a set of connections, and whether some connection's was
 * unknown (a proxy's forwarded request, TLS, more agents than kept). Made at a pair's first noted
 * connection: the benchmark's capture has a client host, so a pair, per connection, and a first
 * version that made four objects with every pair cost 97 M instructions on its first 500 000
 * packets (this, 42 M).
 */
class ProgramSet {
  /** Made as a one-element literal at the first agent (an empty array grows to 17 slots at its first push). */
  agents: string[] = NO_AGENTS;
  unknown = false;

  /** A connection's agent, or null when it is not known as its own. */
  note(agent: string | null): void {
    if (agent === null) this.unknown = true;
    else if (this.agents.length === 0) this.agents = [agent];
    else if (!this.agents.includes(agent)) {
      if (this.agents.length < MAX_PROGRAMS) this.agents.push(agent);
      else this.unknown = true;
    }
  }

  /** Every connection's agent is known. */
  get known(): boolean {
    return !this.unknown && this.agents.length > 0;
  }
}

/**
 * The pooled and the one-request connections came from different programs (curl in a loop beside a
 * Go service that pools): both sets' agents known, and none in both.
 */
function otherPrograms(pooled: ProgramSet | null, churn: ProgramSet | null): boolean {
  if (pooled === null || churn === null || !pooled.known || !churn.known) return false;
  return !pooled.agents.some((a) => churn.agents.includes(a));
}

/**
 * Both sets' agents known, and one User-Agent in both: the pooling program is the churning one.
 * No User-Agent in both tells nothing (a Python health checker beside a Python client, both silent).
 */
function sharedProgram(pooled: ProgramSet | null, churn: ProgramSet | null): boolean {
  if (pooled === null || churn === null || !pooled.known || !churn.known) return false;
  return pooled.agents.some((a) => a !== '' && churn.agents.includes(a));
}

/** Command-line tools whose connections end with their run: one-request connections from them are separate runs. */
const ONE_RUN_TOOL = /^(curl|Wget)\//;

/**
 * The settings that bound how many idle connections the programs keep (ClientProduct.idleRoomSetting),
 * each once, where every agent of both sets names a product that has one; null otherwise (an
 * unknown or unnamed program: the common pools' settings are listed instead).
 */
function idleRoomSettings(pooled: ProgramSet | null, churn: ProgramSet | null): string | null {
  const agents = [...(pooled?.agents ?? []), ...(churn?.agents ?? [])];
  if (agents.length === 0 || pooled?.unknown === true || churn?.unknown === true) return null;
  const settings = new Set<string>();
  for (const agent of agents) {
    const setting = agent === '' ? undefined : clientProduct(agent)?.idleRoomSetting;
    if (setting === undefined) return null;
    settings.add(setting);
  }
  return [...settings].join('; ');
}

const agentsText = (set: ProgramSet | null): string => (set?.agents ?? []).map((a) => (a === '' ? 'no User-Agent' : `\`${a}\``)).join(', ');

/**
 * Where keep-alive is turned off in the common clients, for a client whose User-Agent names none
 * that says (nginx sends its upstreams HTTP/1.0 with Connection: close unless told otherwise).
 */
const CLIENT_KEEPALIVE_OFF_SETTINGS =
  "the client's keep-alive setting (Java HttpURLConnection: `-Dhttp.keepAlive=false` turns it off; curl sends it only when given `-H 'Connection: close'`; " +
  'Python\'s urllib.request sends it on every request, where urllib3 and requests keep connections; Node\'s http.request without a keep-alive Agent sends it; ' +
  'nginx as a proxy: `proxy_http_version 1.1`, `proxy_set_header Connection ""` and `keepalive N` in the `upstream` block)';

/** One-request connections whose close time is kept per pair (reloads are told from them). */
const MAX_CLOSES_KEPT = 1000;

/**
 * A reload's old process lets go of its backend connections as their responses end, for as long as
 * it drains (HAProxy's until `hard-stop-after`), and the new process opens its own: one-request
 * connections closed within this long (seconds) after a reload of the client's host are the
 * reload's churn (reload-haproxy: 23 of 27, 0.05-0.45 s after its three reloads).
 */
const RELOAD_DRAIN_WINDOW = 2;

/**
 * The connection carried one request answered with keep-alive allowed, then the client closed it
 * within `maxDelay`; or the client asked to close it (`Connection: close` on its request: keep-alive
 * turned off in the client, `asked`), and either side closed it within `maxDelay` (the server,
 * as told, or the client).
 */
function churned(
  conn: AnalyzedConnection,
  maxDelay: number,
): { responseFrame: number; advertised: number | null; closeTs: number; reset: boolean; asked: boolean; serverClosed: boolean; request: SampleRequest } | null {
  const app = conn.app;
  // A tunnel (a WebSocket, CONNECT) carries one request by design.
  if (app === null || app.exchangeCount !== 1 || app.recent.length !== 1 || app.session?.isTunnel === true) return null;
  const ex = app.recent[0];
  if (ex.state !== 'complete' || ex.uncertain || ex.responseEnd === null) return null;
  // The client asked to close: the same churn at the same rate, its cause the client's keep-alive setting (blind round 16, S19).
  const asked = ex.requestConnection !== null && /\bclose\b/.test(ex.requestConnection);
  // The server closing on its own (HTTP/1.0, its Connection: close) is its choice, unless the client asked it to.
  if (!asked && closeMayBeAnnounced(ex, conn)) return null;
  const closed = firstClose(conn.client, conn.server);
  if (closed.by === null || (!asked && closed.by !== 'client')) return null;
  const side = closed.by === 'client' ? conn.client : conn.server;
  const closeTs = closed.how === 'fin' ? side.finTs : side.rstTs;
  if (closeTs - ex.responseEnd > maxDelay) return null; // it idled first: a pool with a short idle timeout
  const request = { client: conn.clientName, server: conn.serverName, method: ex.method, uri: ex.uri, start: ex.requestStart ?? conn.startTs };
  return {
    responseFrame: ex.responseFrame ?? 0, advertised: ex.keepAliveTimeout, closeTs, reset: closed.by === 'client' && closed.how !== 'fin', asked, serverClosed: closed.by === 'server', request,
  };
}

/**
 * Clients that honour a server's `Keep-Alive: timeout=N` hint keep the connection for N less a
 * safety margin: Node's fetch (undici 6) subtracts 2 s (keepAliveTimeoutThreshold), Node's
 * http.Agent 1 s (HINT_MARGIN_AGENT). A hint of this many seconds or less leaves undici nothing: it closes each
 * connection after its response (seen with a Python server sending timeout=2), so the churn is
 * the hint's doing, not a client without a pool.
 */
const HINT_MARGIN_UNDICI = 2;
/**
 * Node's http.Agent (keepSocketAlive, Node 20) subtracts 1 s from the hint and keeps nothing when
 * that leaves nothing, with or without its `timeout` option; a longer hint only shortens the
 * `timeout` option when one is set (without it the Agent keeps the socket whatever the hint).
 */
const HINT_MARGIN_AGENT = 1;

export const connectionChurn: DetectorDefinition = {
  id: 'connection-churn',
  meta: {
    description:
      'A client host opens a new connection per request to a server that allows keep-alive, and closes each one right after its response: a handshake per request and a TIME_WAIT per connection.',
    severity: 'info',
    messages: {
      churn: '{client} opened {connections} connections to {server} for {requests} requests ({rate} new connections/s) and closed each right after its response, although the server allowed keep-alive',
      churnSome:
        '{client} opened {connections} connections to {server} for {requests} requests ({rate} new connections/s) and closed {churned} of them right after their one response, although the server allowed keep-alive',
      asked:
        '{client} opened {connections} connections to {server} for {requests} requests ({rate} new connections/s), asking with Connection: close on {askedCount} of them that each be closed after its response: keep-alive turned off in the client',
    },
  },
  create(ctx) {
    /** By server, then client host: no key string is built for every connection that ends. */
    const pairsByServer = new Map<string, Map<string, Pair>>();
    const pairs: Pair[] = [];
    const minConnections = ctx.options.churnMinConnections;
    // Reloads of a client host that also serves (a proxy): its idle closes in a burst (ProxyLegs).
    const legs = sharedProxyLegs(ctx);

    return {
      onConnectionEnd(conn) {
        const app = conn.app;
        if (app === null || app.exchangeCount === 0) return;
        const client = conn.clientHost;
        let byClient = pairsByServer.get(conn.serverName);
        let pair = byClient?.get(client);
        if (pair === undefined) {
          if (pairs.length >= MAX_PAIRS) return;
          pair = {
            client, server: conn.serverName, connections: 0, requests: 0, churned: 0, firstSynTs: Infinity, lastSynTs: -Infinity,
            firstSynFrame: -1, firstResponseFrame: 0, thresholdTs: 0, thresholdFrame: 0, firstPort: -1, ports: null, advertised: null, pooled: 0, pooledRequests: 0, closes: null,
            pooledPrograms: null, churnPrograms: null, resets: 0, asked: 0, askedServerClosed: 0, samples: null,
          };
          // Every new pair takes the same steps, a server's first one included (its client map is made
          // for each new pair and kept only for a new server; setting a known server again keeps its
          // place): a new server coming after this handler was compiled was a step it had never
          // taken, and threw its compiled code away.
          const clients = new Map<string, Pair>();
          if (byClient === undefined) byClient = clients;
          pairsByServer.set(conn.serverName, byClient);
          byClient.set(client, pair);
          pairs.push(pair);
        }
        pair.connections++;
        pair.requests += app.exchangeCount;
        // Counted with no branch: a connection of several requests after single-request ones was a
        // step this handler had never taken when compiled (adding 0 is the same count).
        const pooled = app.exchangeCount >= 2 ? 1 : 0;
        pair.pooled += pooled;
        pair.pooledRequests += pooled * app.exchangeCount;
        const one = churned(conn, ctx.options.churnCloseDelay);
        // An agent a proxy passed on (told only by its field name's case) is not the program that holds this connection.
        const agent = forwardedByProxy(conn.app?.session) === true ? null : ownAgent(conn);
        if (pooled === 1) (pair.pooledPrograms ??= new ProgramSet()).note(agent);
        if (one !== null) (pair.churnPrograms ??= new ProgramSet()).note(agent);
        if (one === null) return;
        pair.churned++;
        // Counted with no branch, as `pooled` above.
        pair.resets += one.reset ? 1 : 0;
        pair.asked += one.asked ? 1 : 0;
        pair.askedServerClosed += one.asked && one.serverClosed ? 1 : 0;
        if (pair.samples === null) pair.samples = [one.request];
        else if (pair.samples.length < MAX_SAMPLES) pair.samples.push(one.request);
        const synTs = conn.startTs;
        const synFrame = conn.client.synFrames.length > 0 ? conn.client.synFrames[0] : conn.firstFrame;
        if (synTs < pair.firstSynTs) pair.firstSynTs = synTs;
        if (synTs > pair.lastSynTs) pair.lastSynTs = synTs;
        if (pair.firstSynFrame < 0) {
          pair.firstSynFrame = synFrame;
          pair.firstResponseFrame = one.responseFrame;
        }
        if (pair.churned === minConnections) {
          pair.thresholdTs = synTs;
          pair.thresholdFrame = synFrame;
        }
        if (pair.firstPort < 0) pair.firstPort = conn.cPort;
        else if (pair.ports === null) {
          if (conn.cPort !== pair.firstPort) pair.ports = new Set([pair.firstPort, conn.cPort]);
        } else if (pair.ports.size < MAX_PORTS_COUNTED) pair.ports.add(conn.cPort);
        if (one.advertised !== null) pair.advertised = one.advertised;
        if (pair.closes === null) pair.closes = [one.closeTs];
        else if (pair.closes.length < MAX_CLOSES_KEPT) pair.closes.push(one.closeTs);
      },

      onFinish() {
        const byServer = new Map<string, Array<{ pair: Pair; finding: Finding; rate: number; afterReload: number; reloads: number; forwards: boolean }>>();
        for (const pair of pairs) {
          if (pair.churned < minConnections || pair.churned * 2 < pair.connections) continue;
          // The client forwards its own clients' requests here (a proxy's backend pool, not an application's).
          const samples = pair.samples ?? [];
          const forwards = samples.filter((r) => legs.forwardedByItsSender(r)).length * 2 > samples.length;
          const reloads = legs.reloadsOfHost(pair.client);
          const afterReload = reloads.length === 0 ? 0 : (pair.closes ?? []).filter((t) => reloads.some((m) => t >= m && t <= m + RELOAD_DRAIN_WINDOW)).length;
          const span = pair.lastSynTs - pair.firstSynTs;
          const rate = span > 0 ? (pair.churned - 1) / span : 0;
          const ports = pair.ports !== null ? [...pair.ports].sort((a, b) => a - b) : pair.firstPort >= 0 ? [pair.firstPort] : [];
          const portCount = ports.length;
          const finding = ctx.report({
            flowId: null,
            client: pair.client,
            server: pair.server,
            ts: pair.thresholdTs,
            // "each" only when every connection was one of them: a client that pools but keeps too
            // few idle connections also kept some for many requests.
            // The client asked to close most of them: keep-alive turned off in the client.
            message: pair.asked * 2 > pair.churned ? 'asked' : pair.churned === pair.connections ? 'churn' : 'churnSome',
            data: {
              client: pair.client,
              server: pair.server,
              connections: pair.connections,
              requests: pair.requests,
              rate: Math.round(rate * 10) / 10,
              churned: pair.churned,
              askedCount: pair.asked,
            },
            evidence: {
              connections: pair.connections,
              requests: pair.requests,
              connectionsPerRequest: Math.round((pair.connections / pair.requests) * 100) / 100,
              oneRequestConnections: pair.churned,
              newConnectionsPerSecond: Math.round(rate * 10) / 10,
              span: ms(span),
              clientClosesFirst: pair.askedServerClosed * 2 < pair.churned,
              requestsSaidClose: pair.asked,
              advertisedKeepAliveTimeout: pair.advertised,
              distinctClientPorts: portCount >= MAX_PORTS_COUNTED ? `≥${MAX_PORTS_COUNTED}` : portCount,
              clientPorts: ports.slice(0, MAX_PORTS_LISTED),
              // A connection the client reset leaves no TIME_WAIT.
              // A connection the client reset leaves no TIME_WAIT, one the server closed first leaves it on the server.
              timeWaitEstimate: Math.round(rate * TIME_WAIT_SECONDS * ((pair.churned - pair.resets - pair.askedServerClosed) / pair.churned)),
              closedByReset: pair.resets,
              clientForwards: forwards,
              closedAfterClientReload: afterReload,
            },
            frames: pair.firstSynFrame >= 0 ? [pair.firstSynFrame, pair.firstResponseFrame, pair.thresholdFrame] : [pair.thresholdFrame],
          });
          const list = byServer.get(pair.server) ?? [];
          list.push({ pair, finding, rate, afterReload, reloads: reloads.length, forwards });
          byServer.set(pair.server, list);
        }
        for (const [server, list] of byServer) {
          const connections = list.reduce((n, x) => n + x.pair.churned, 0);
          const rate = list.reduce((n, x) => n + x.rate, 0);
          const hosts = list.map((x) => x.pair.client).join(', ');
          const hints = list.map((x) => x.pair.advertised);
          // Every one-request connection named a command-line tool whose connections end with its run:
          // separate runs, not a pool that keeps nothing (blind round 16, pools S16: 12 curl runs were
          // explained as Node's fetch honouring a 2 s hint).
          const runs = list.every((x) => x.pair.churnPrograms !== null && x.pair.churnPrograms.known && x.pair.churnPrograms.agents.every((a) => ONE_RUN_TOOL.test(a)));
          const runAgents = runs ? [...new Set(list.flatMap((x) => x.pair.churnPrograms?.agents ?? []))] : [];
          const shortHint = !runs && hints.every((h): h is number => h !== null && h <= HINT_MARGIN_UNDICI) ? Math.max(...(hints as number[])) : null;
          const runText = runs
            ? ` ${runAgents.length === 1 ? 'Their User-Agent says' : 'Their User-Agents say'} ${runAgents.map((a) => `\`${a}\``).join(', ')}: a command-line tool, which keeps no connection past its own run, ` +
              'so each run (a script calling it once per request) opens its own and closes it as it exits, whatever the server advertises.'
            : '';
          const runRemedy = runs ? 'Client: fetch several URLs in one run (curl and Wget reuse the connection between the URLs of one run), or call through a library with a keep-alive pool. ' : '';
          const hintText =
            shortHint === null
              ? ''
              : shortHint <= HINT_MARGIN_AGENT
                ? ` The responses advertise Keep-Alive: timeout=${shortHint}: a client that honours the hint less a safety margin keeps nothing ` +
                  `(Node's fetch/undici subtracts ${HINT_MARGIN_UNDICI} s, Node's http.Agent ${HINT_MARGIN_AGENT} s, with or without its \`timeout\` option), so such a client closes each connection although it pools.`
                : ` The responses advertise Keep-Alive: timeout=${shortHint}: Node's fetch (undici), which honours the hint less ${HINT_MARGIN_UNDICI} s, keeps nothing, ` +
                  `so it closes each connection although it pools (a Node http.Agent subtracts ${HINT_MARGIN_AGENT} s only when its \`timeout\` option is set, and keeps the socket ${shortHint - HINT_MARGIN_AGENT} s; without that option it ignores a hint above ${HINT_MARGIN_AGENT} s).`;
          // A proxy that copies its backend's response headers (a hand-written Node proxy's
          // res.writeHead(up.statusCode, up.headers)) passes the backend's hint on: Keep-Alive is
          // hop-by-hop (RFC 9110 §7.6.1), so the proxy must drop it, or the backend's is the one to raise.
          const forwards = shortHint !== null && list.some((x) => legs.activityDuring(server, x.pair.firstSynTs, x.pair.lastSynTs).requests > 0);
          const hintRemedy =
            shortHint === null
              ? ''
              : `Server: advertise a Keep-Alive timeout well above ${HINT_MARGIN_UNDICI} s (and keep idle connections that long), or send no hint` +
                (forwards
                  ? `: ${server} forwards requests to a backend, and a proxy that copies its backend's response headers passes that backend's hint on (Keep-Alive is hop-by-hop: a proxy must not forward it). `
                  : " (or stop a proxy in front passing on its backend's: Keep-Alive is hop-by-hop). ");
          // The same client also kept some connections for many requests: it pools, but closes what
          // its pool has no idle room for (more requests at once than idle connections it keeps).
          // Most of them ended right after the client host was reloaded: a proxy renewing its backend connections.
          const afterReload = list.reduce((n, x) => n + x.afterReload, 0);
          const byReload = afterReload * 2 >= connections;
          const reloads = Math.max(...list.map((x) => x.reloads));
          const reloadText = !byReload
            ? ''
            : ` ${afterReload} of them ended within ${RELOAD_DRAIN_WINDOW} s after ${hosts} was reloaded or restarted (${reloads === 1 ? 'once' : `${reloads} times`}: it closed every idle connection it served at one moment): ` +
              `a proxy's old process lets go of its backend connections as their responses end while it drains, and the new one opens its own. This churn is the reloads', not the pool's settings.`;
          const reloadRemedy = !byReload
            ? ''
            : 'Nothing to change in the pool: reload the proxy less often if the handshakes matter (each reload renews its backend connections).';
          const pooled = byReload ? 0 : list.reduce((n, x) => n + x.pair.pooled, 0);
          const pooledRequests = list.reduce((n, x) => n + x.pair.pooledRequests, 0);
          // The connections kept for many requests came from another program than the one-request ones.
          const only = list.length === 1 ? list[0].pair : null;
          const apart = only !== null && otherPrograms(only.pooledPrograms, only.churnPrograms);
          // One program made both sets only as far as their User-Agents say: every connection's known, and one agent in both.
          const samePrograms = only !== null && sharedProgram(only.pooledPrograms, only.churnPrograms);
          // The pooling program's own setting where its User-Agent names it (urllib3's `maxsize`, not Go's or Node's).
          const room = samePrograms ? idleRoomSettings(only?.pooledPrograms ?? null, only?.churnPrograms ?? null) : null;
          const poolText =
            pooled === 0 || shortHint !== null
              ? ''
              : apart
                ? ` The same host kept ${pooled} other connection${pooled === 1 ? '' : 's'} for ${pooledRequests} requests, but from other programs ` +
                  `(${agentsText(only?.pooledPrograms ?? null)}) than the one-request connections' ` +
                  `(${agentsText(only?.churnPrograms ?? null)}), which open a connection per request.`
              : ` The same client${list.length > 1 ? 's' : ''} kept ${pooled} other connection${pooled === 1 ? '' : 's'} for ${pooledRequests} requests: ` +
                `${samePrograms ? (list.length > 1 ? 'they pool' : 'it pools') : 'if one program made both, it pools'}, but keeps fewer idle connections than it runs requests at once, and closes the rest after their response ` +
                (room !== null ? `(${room})` : "(Go's http.Transport keeps MaxIdleConnsPerHost idle connections per host, 2 by default; Node's http.Agent maxFreeSockets)") +
                (samePrograms
                  ? '.'
                  : `; or two programs share the host, one pooling and one opening a connection per request (a health checker, a script in a loop), which no User-Agent tells apart here.`);
          const poolRemedy =
            poolText === '' || apart
              ? ''
              : room !== null
                ? `Let the pool keep as many idle connections as requests run at once (${room}). `
                : 'Let the pool keep as many idle connections as requests run at once (Go: http.Transport MaxIdleConnsPerHost, default 2; Node: http.Agent maxFreeSockets). ';
          // A client that resets (SO_LINGER 0) leaves no TIME_WAIT: only its FIN closes tie up ports.
          const resets = list.reduce((n, x) => n + x.pair.resets, 0);
          // Closed by the client with a FIN: the server's closes (asked for) leave their TIME_WAIT on the server.
          const finCloses = connections - resets - list.reduce((n, x) => n + x.pair.askedServerClosed, 0);
          const timeWaitPorts = Math.round(rate * TIME_WAIT_SECONDS * (finCloses / connections));
          const timeWaitText =
            `stays in TIME_WAIT on the client for ${TIME_WAIT_SECONDS} s: ~${timeWaitPorts} ports of the ephemeral range stay tied up while this rate lasts ` +
            '(Linux default range 32768-60999: 28232 ports per destination), so heavier bursts can exhaust it (EADDRNOTAVAIL).';
          const closeText =
            resets * 2 < connections
              ? `because the client closes first each connection ${timeWaitText}`
              : `the client closes ${resets === connections ? 'each one' : `${resets} of them`} with a reset (RST, SO_LINGER 0, as some proxies drop backend connections they do not keep), which leaves no TIME_WAIT` +
                (finCloses === 0 ? '.' : `; each of the other ${finCloses}, closed with a FIN, ${timeWaitText}`);
          // The client forwards its own clients' requests: its backend pool is the proxy's, and the remedy is the proxy's.
          // Not where a reload or a short Keep-Alive hint already explains the churn.
          const forwarding = byReload || shortHint !== null ? [] : list.filter((x) => x.forwards).map((x) => x.pair.client);
          const proxyText =
            forwarding.length === 0
              ? ''
              : ` ${forwarding.join(', ')} ${forwarding.length === 1 ? 'forwards' : 'forward'} here requests ${forwarding.length === 1 ? 'it' : 'they'} received from ${forwarding.length === 1 ? 'its' : 'their'} own clients: a proxy whose backend connections are not reused.`;
          const proxyRemedy =
            'Proxy: reuse backend connections (nginx: `keepalive N` in the `upstream` block, with `proxy_http_version 1.1` and `proxy_set_header Connection ""`; ' +
            "HAProxy: under `http-reuse safe`, its default, each client connection's first request goes on a backend connection of its own, so clients that open a connection per request " +
            '(HTTP/1.0 without keep-alive, `ab` without `-k`) cost one backend connection each: `http-reuse always`, or keep-alive between the clients and the proxy; ' +
            'Apache mod_proxy pools unless `disablereuse=On` or `proxy-nokeepalive` is set). ';
          // Every client here asked to close (Connection: close on its requests): its own keep-alive
          // setting, not a pool's room, is what to change (blind round 16, S19: HttpURLConnection with
          // -Dhttp.keepAlive=false, 20 GETs at 10/s, each connection closed by nginx as told).
          if (!byReload && list.every((x) => x.pair.asked * 2 > x.pair.churned)) {
            const serverClosed = list.reduce((n, x) => n + x.pair.askedServerClosed, 0);
            const clientFins = connections - serverClosed - resets;
            const agents = [...new Set(list.flatMap((x) => x.pair.churnPrograms?.agents ?? []))];
            // A proxy's backend connections carry its clients' agents: none of them is the one to change.
            const proxies = forwarding.length === list.length;
            const said = proxies ? [] : agents.filter((a) => a !== '').map((a) => `\`${a}\``);
            const offSettings = [...new Set(agents.map((a) => (a === '' ? undefined : clientProduct(a)?.keepAliveOff)).filter((t): t is string => t !== undefined))];
            ctx.diagnose({
              server,
              count: connections,
              inferred: {},
              explanation:
                `${hosts} sent \`Connection: close\` with its requests to ${server} and so used a new connection for each (${connections} one-request connections, ~${Math.round(rate * 10) / 10} new/s)` +
                `${said.length > 0 ? `; ${said.length === 1 ? 'its User-Agent says' : 'User-Agents'} ${said.join(', ')}` : ''}: keep-alive is turned off in ${proxies ? 'the proxy\'s backend connections' : 'the client'}. Each request pays a TCP handshake (and a TLS one, if any)` +
                (serverClosed * 2 >= connections
                  ? `; the server closed ${serverClosed === connections ? 'each connection' : `${serverClosed} of them`} first, as asked, so ${serverClosed === connections ? 'the' : 'those'} TIME_WAITs are the server's (they tie up no ephemeral ports of the client's)` +
                    (clientFins > 0 ? `, and each of the other ${clientFins}, closed by the client, ${timeWaitText}` : '.')
                  : `, and ${closeText}`) +
                proxyText,
              remedy: proxies
                ? proxyRemedy.trim()
                : (forwarding.length > 0 ? proxyRemedy : '') +
                'Client: keep connections alive, unless one per request is meant (a health check, a one-shot script): ' +
                (offSettings.length > 0 ? offSettings.join('; ') : CLIENT_KEEPALIVE_OFF_SETTINGS) +
                '.',
              anomalyIds: list.map((x) => x.finding.id),
            });
            continue;
          }
          ctx.diagnose({
            server,
            count: connections,
            inferred: {},
            explanation:
              `${hosts} opened a new connection for each request to ${server} (${connections} one-request connections, ~${Math.round(rate * 10) / 10} new/s) and closed it right after the response, ` +
              `although the responses allowed keep-alive. Each request pays a TCP handshake (and a TLS one, if any), and ${closeText}${proxyText}${runText}${hintText}${reloadText}${poolText}`,
            remedy:
              byReload
                ? reloadRemedy
                : forwarding.length === list.length
                  ? proxyRemedy
                  : (
                      runRemedy +
                      hintRemedy +
                      (forwarding.length > 0 ? proxyRemedy : '') +
                      poolRemedy +
                      // A program named that pools already: no other pool to take up.
                      (poolRemedy !== '' && room !== null
                        ? ''
                        : 'Reuse connections on the client: a keep-alive pool (Node: `new http.Agent({ keepAlive: true })`, or the global agent of Node ≥ 19; Go: one shared http.Client, and read response bodies to EOF before Close; Python: a requests.Session), ' +
                          "with an idle timeout below the server's.")
                    ).trimEnd(),
            anomalyIds: list.map((x) => x.finding.id),
          });
        }
      },
    };
  },
};
