import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import type { EvidenceValue, InferredValue } from '../finding';
import { at, hostOf, ms, timeOfDay } from '../facts';
import { atOneMoment, inferTimeout } from '../infer-timeout';
import { NGINX } from '../known-timeouts';
import { LegsByRequest, LEGS_TOGETHER } from '../legs-by-request';
import { NGINX_LAZY_DELAY } from '../read-timer';
import { firstCloseOf } from '../proxy-legs';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { exactStatus, type HttpExchange } from '../../http/exchange';
import { TLS13_KEY_UPDATE_LENGTH } from '../../http/tls-records';

const MAX_SERVERS = 10_000;

/** Seconds as milliseconds to a tenth, for text. */
function millis(seconds: number): number {
  return Math.round(seconds * 10_000) / 10;
}
const MAX_CLOSES = 10_000;

/** A tunnel closed by one side without a word, after both sides had been silent for `silence` seconds. */
interface SilentClose {
  flowId: number;
  client: string;
  server: string;
  /** The request that opened the tunnel (an Upgrade GET, a CONNECT), as a line, and when it began. */
  request: string;
  requestStart: number;
  /** What opened it: an upgrade (a WebSocket) or a CONNECT. */
  carried: 'WebSocket' | 'CONNECT tunnel';
  openedTs: number;
  openedFrame: number;
  lastDataTs: number;
  lastDataFrame: number;
  closeTs: number;
  closeFrame: number;
  rst: boolean;
  silence: number;
  /** The longest silence both ways the tunnel had lived through before (HttpSession.tunnelLongestSilence). */
  earlierSilence: number;
  /**
   * The client's write into the tunnel after the server had closed it, and the server's reset of
   * it (the client's pool handed out a dead tunnel: a stale reuse one layer down), when it came.
   */
  lateWrite: { ts: number; frame: number; resetFrame: number; bytes: number; firstByte: number } | null;
}

/** TLS's alert record type: a close_notify answering the close is no write into the tunnel. */
const TLS_ALERT = 21;
/** TLS's application-data record type: TLS 1.3 sends its close_notify as one. */
const TLS_APPLICATION_DATA = 23;
/** A TLS record header's length. */
const TLS_RECORD_HEADER = 5;

/**
 * Whether the client's data after the server's close is an answer to it, no write into the tunnel:
 * a TLS alert (close_notify), or under TLS 1.3 a lone application-data record no longer than a
 * post-handshake message, as its encrypted close_notify (19 bytes) is: no HTTP request fits (see
 * TLS13_KEY_UPDATE_LENGTH).
 */
function answersClose(firstByte: number, length: number): boolean {
  return firstByte === TLS_ALERT || (firstByte === TLS_APPLICATION_DATA && length <= TLS_RECORD_HEADER + TLS13_KEY_UPDATE_LENGTH);
}

/** The exchange that made the connection a tunnel: a 101 Switching Protocols, or a 2xx to CONNECT. */
function tunnelExchange(conn: AnalyzedConnection): HttpExchange | null {
  const recent = conn.app?.recent ?? [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const ex = recent[i];
    if (exactStatus(ex) === 101 || (ex.method === 'CONNECT' && ex.status !== null && ex.status >= 200 && ex.status < 300)) return ex;
  }
  return null;
}

/**
 * A connection that is no tunnel, closed after both sides had been silent a while: possibly a
 * proxy's upstream leg of a CONNECT tunnel (the tunnel's bytes, plain HTTP or TLS, are this
 * connection's payload), whose first close tells who ended the tunnel.
 */
interface QuietLeg {
  flowId: number;
  server: string;
  startTs: number;
  closeTs: number;
  closeFrame: number;
  byClient: boolean;
  rst: boolean;
}

/** The first close of a connection after at least `minSilence` without a byte either way, or null. */
function quietLegOf(conn: AnalyzedConnection, minSilence: number): QuietLeg | null {
  const close = firstCloseOf(conn);
  if (close === null) return null;
  const closer = close.byClient ? conn.client : conn.server;
  const own = closer.lastDataTs >= 0 && closer.lastDataTs <= close.ts ? closer.lastDataTs : -1;
  const last = Math.max(own, closer.peerDataBeforeCloseTs);
  if (last < 0 || close.ts - last < minSilence) return null;
  return { flowId: conn.id, server: conn.serverName, startTs: conn.startTs, closeTs: close.ts, closeFrame: close.frame, byClient: close.byClient, rst: close.rst };
}

/**
 * The first close of a tunnel, when it came after both sides had been silent at least `minSilence`
 * and without a goodbye: a WebSocket close frame or a TLS close_notify is data, sent right before
 * the FIN, so a tunnel its ends closed themselves shows no silence before its close. Null otherwise.
 */
function silentClose(conn: AnalyzedConnection, ex: HttpExchange, minSilence: number): (SilentClose & { byClient: boolean }) | null {
  const opened = ex.responseStart;
  if (opened === null || ex.requestStart === null) return null;
  const close = firstCloseOf(conn, opened);
  if (close === null) return null;
  const closer = close.byClient ? conn.client : conn.server;
  // The last data before the close, from either side: the closer sends none after its own close.
  const own = closer.lastDataTs >= 0 && closer.lastDataTs <= close.ts ? closer.lastDataTs : -1;
  const peer = closer.peerDataBeforeCloseTs;
  const responseEnd = ex.responseEnd ?? opened;
  const ownFrame = closer.lastDataFrame;
  const peerFrame = closer.peerDataBeforeCloseFrame;
  let lastDataTs = responseEnd;
  let lastDataFrame = ex.responseEndFrame ?? ex.responseFrame ?? 0;
  if (own > lastDataTs) {
    lastDataTs = own;
    lastDataFrame = ownFrame;
  }
  if (peer > lastDataTs) {
    lastDataTs = peer;
    lastDataFrame = peerFrame;
  }
  const silence = close.ts - lastDataTs;
  if (silence < minSilence) return null;
  const after = close.byClient ? null : conn.clientDataAfterServerFin;
  const s = conn.server;
  const lateWrite =
    after !== null && !answersClose(after.firstByte, after.length) && s.rstTs >= after.ts
      ? { ts: after.ts, frame: after.frame, resetFrame: s.rstFrame, bytes: after.length, firstByte: after.firstByte }
      : null;
  return {
    flowId: conn.id,
    client: conn.clientName,
    server: conn.serverName,
    request: `${ex.method ?? '?'} ${ex.uri ?? ''}`.trimEnd(),
    requestStart: ex.requestStart,
    carried: ex.method === 'CONNECT' ? 'CONNECT tunnel' : 'WebSocket',
    openedTs: opened,
    openedFrame: ex.responseFrame ?? 0,
    lastDataTs,
    lastDataFrame,
    closeTs: close.ts,
    closeFrame: close.frame,
    rst: close.rst,
    silence,
    earlierSilence: conn.app?.session?.tunnelLongestSilence ?? 0,
    lateWrite,
    byClient: close.byClient,
  };
}

/** What every finding of a silent close gives as evidence. */
function closeEvidence(c: SilentClose): Record<string, EvidenceValue> {
  return {
    request: c.request,
    tunnel: c.carried === 'WebSocket' ? 'websocket' : 'connect',
    openedAt: at(c.openedTs),
    lastDataAt: at(c.lastDataTs),
    closedAt: at(c.closeTs),
    silence: ms(c.silence),
    closedWith: c.rst ? 'RST' : 'FIN',
    tunnelSeconds: ms(c.closeTs - c.openedTs),
  };
}

/** What to change for tunnels closed after `seconds` of silence by `timer` (the server's or its proxy's). */
function heartbeatRemedy(seconds: number, timer: string): string {
  return (
    `Keep the tunnels from falling silent that long: send WebSocket pings or application heartbeats well inside ${ms(seconds)} s ` +
    `(at most half of it; Socket.IO's pingInterval is 25 s, the ws library leaves pings to the application), from the server or the client. ` +
    `Or raise ${timer} for these routes only (nginx: \`proxy_read_timeout\` and \`proxy_send_timeout\` in the WebSocket location; HAProxy: \`timeout tunnel\`; ` +
    `a load balancer's idle timeout), and let clients reconnect with backoff when a tunnel drops.`
  );
}

/** The setting that closes idle tunnels, by the software the server named. */
function settingFor(software: string | null): string {
  if (software !== null && NGINX.test(software)) {
    return 'nginx `proxy_read_timeout` (60 s by default; on an upgraded connection it times the silence in either direction, and ingress-nginx sets it per Ingress with `nginx.ingress.kubernetes.io/proxy-read-timeout`) and `proxy_send_timeout`';
  }
  return (
    'the proxy\'s tunnel idle timeout: nginx `proxy_read_timeout` (60 s by default), HAProxy `timeout tunnel` (when unset, `timeout client` and `timeout server`), ' +
    'Envoy `idle_timeout` (1 h), an AWS Application Load Balancer\'s idle timeout (60 s), Cloudflare\'s (100 s), Squid `read_timeout` for CONNECT (15 min)'
  );
}

/**
 * tunnel-idle-timeout: tunnels (WebSockets after 101 Switching Protocols, CONNECT tunnels) closed by
 * the server, or the proxy in front of it, after the same silence, without a close frame or any
 * other goodbye: a tunnel idle timeout, not the application. Clients see the connection drop (a
 * WebSocket's 1006), the classic "my WebSocket disconnects every 60 seconds".
 *
 * A single WebSocket cut (the one socket an engineer captured dropping) is told too, by who closed
 * it as its legs show (diagnoseSingleCuts): a proxy closing both legs at once (its timer, bounded by
 * that silence and by the silences the tunnel lived through), a backend whose close the proxy
 * relayed, or a server seen on one leg. A client's close its proxy passed on upstream is one event,
 * whichever addresses the two share.
 */
export const tunnelIdleTimeout: DetectorDefinition = {
  id: 'tunnel-idle-timeout',
  meta: {
    description:
      'WebSocket or CONNECT tunnels closed by the server or a proxy in front of it after the same silence on both sides (at least two agreeing), ' +
      'without a close frame or other goodbye: its tunnel idle timeout (nginx `proxy_read_timeout`, HAProxy `timeout tunnel`, a load balancer\'s idle timeout), ' +
      'not the application. A single WebSocket cut that way is told too, as one sample: a proxy that closed both legs at once (a timer of at most that silence), ' +
      'a backend whose close the proxy relayed, or a server seen on one leg. Clients see the connection drop (WebSocket close code 1006). ' +
      'A CONNECT tunnel closed so and then written into by its client, answered by a RST, is a stale reuse of the tunnel (an error): the proxy\'s tunnel idle timer ' +
      'or the target\'s keep-alive timeout passed on, as its upstream leg tells, at most that silence.',
    severity: 'warning',
    messages: {
      closed:
        'A {carried} ({request}) closed by {server} with a {how} after {silence} s of silence on both sides, {goodbye}{upstream}{lateWrite}',
      reusedTunnel:
        'A CONNECT tunnel ({request}) that {server} closed with a {how} after {silence} s of silence on both sides{upstream}, reused by its client {late} s later: ' +
        '{bytes} bytes of {payload} written into it were answered by a RST, with no response (a stale reuse of the tunnel: a request sent on a connection already closed)',
      closedByClient:
        'A {carried} ({request}) to {server} closed by its client {client} with a {how} after {silence} s of silence on both sides, {goodbye}: the idle timeout of that client (a proxy whose other leg the capture does not hold)',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    const byServer = new Map<string, SilentClose[]>();
    /**
     * Tunnels closed silently by their client, by the request that opened them: a proxy closing the
     * upstream legs of the tunnels it times out (from its own address or another one).
     */
    const byClientByRequest = new LegsByRequest<SilentClose>((c) => c.closeTs);
    /** Tunnels closed silently by their server, by the request that opened them: a backend's, that a proxy in front relays. */
    const byServerByRequest = new LegsByRequest<SilentClose>((c) => c.closeTs);
    /** The same tunnels closed by their client, in a list: told on their own when no leg closed by a server explains them. */
    const clientCloses: SilentClose[] = [];
    /** Connections that are no tunnel closed after a silence, by server (quietLegOf), MAX_CLOSES in all: CONNECT tunnels' upstream legs among them. */
    const quietLegs = new Map<string, QuietLeg[]>();
    let quietLegCount = 0;

    /**
     * The proxy's connection to the target of the CONNECT tunnel `c`, closed at the same moment: to
     * the address the CONNECT named, opened while the client waited for the tunnel. Null when the
     * capture does not hold it (or the CONNECT named a host name, not the address).
     */
    const targetLegOf = (c: SilentClose): QuietLeg | null => {
      if (c.carried !== 'CONNECT tunnel') return null;
      const target = c.request.slice(c.request.indexOf(' ') + 1);
      const together = (leg: QuietLeg): boolean => leg.startTs >= c.requestStart && leg.startTs <= c.openedTs && Math.abs(leg.closeTs - c.closeTs) <= LEGS_TOGETHER;
      let best: QuietLeg | null = null;
      for (const leg of quietLegs.get(target) ?? []) {
        if (!together(leg)) continue;
        if (best === null || Math.abs(leg.closeTs - c.closeTs) < Math.abs(best.closeTs - c.closeTs)) best = leg;
      }
      if (best !== null || quietLegs.has(target)) return best;
      // A CONNECT to a host name (target.test:443): the proxy resolved it, and the capture knows
      // only addresses. The one connection opened while the client waited for the tunnel and
      // closed at the tunnel's close is its leg; two or more such leave it unknown.
      let found: QuietLeg | null = null;
      for (const legs of quietLegs.values()) {
        for (const leg of legs) {
          if (!together(leg)) continue;
          if (found !== null) return null;
          found = leg;
        }
      }
      return found;
    };

    const keepByServer = (server: string, close: SilentClose): void => {
      let list = byServer.get(server);
      if (list === undefined) {
        if (byServer.size >= MAX_SERVERS) return;
        byServer.set(server, (list = []));
      }
      if (list.length < MAX_CLOSES) list.push(close);
    };

    /** The other leg of the tunnel `c` among `legs`: the same request, forwarded while the client waited for the tunnel, closed within `within` s. */
    const legOf = (legs: LegsByRequest<SilentClose>, c: SilentClose, within: number): SilentClose | null =>
      legs.nearest(c.request, { flowId: c.flowId, server: c.server, requestStart: c.requestStart, answeredAt: c.openedTs, closeTs: c.closeTs }, within);

    /**
     * The proxy's upstream leg of the same tunnel, closed by the proxy at the same moment: the same
     * request, forwarded while the client waited for the tunnel to open. Null when not in the capture.
     */
    const upstreamOf = (c: SilentClose): SilentClose | null => legOf(byClientByRequest, c, LEGS_TOGETHER);

    /**
     * The upstream leg of the same tunnel that its backend closed first, just before: the proxy only
     * relayed that close (a backend's own idle timeout), and the timeout is the backend's, told there.
     */
    const relayedFrom = (c: SilentClose): SilentClose | null => {
      const up = legOf(byServerByRequest, c, LEGS_TOGETHER);
      return up !== null && up.closeTs <= c.closeTs ? up : null;
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        software.note(conn);
        if (conn.app?.session?.isTunnel !== true) {
          // Maybe a proxy's upstream leg of a CONNECT tunnel: who closed it tells who ended the tunnel.
          if (quietLegCount < MAX_CLOSES) {
            const leg = quietLegOf(conn, ctx.options.minIdleTimeout);
            if (leg !== null) {
              quietLegCount++;
              const list = quietLegs.get(leg.server);
              if (list === undefined) quietLegs.set(leg.server, [leg]);
              else list.push(leg);
            }
          }
          return;
        }
        const ex = tunnelExchange(conn);
        if (ex === null) return;
        const close = silentClose(conn, ex, ctx.options.minIdleTimeout);
        if (close === null) return;
        if (close.byClient) {
          byClientByRequest.add(close.request, close);
          if (clientCloses.length < MAX_CLOSES) clientCloses.push(close);
        } else {
          keepByServer(conn.serverName, close);
          byServerByRequest.add(close.request, close);
        }
      },

      onFinish(): void {
        const options = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        /** The closes a timer's cluster told. */
        const told = new Set<number>();
        for (const [server, all] of byServer) {
          const closes = all.filter((c) => relayedFrom(c) === null);
          const inferred = inferTimeout(
            closes.map((c) => c.silence),
            options,
          );
          if (inferred === null) continue;
          // The closes of that timer: at the inferred silence, late by no more than the cluster's spread (timers never fire early).
          const tolerance = Math.max(options.fraction * inferred.value, options.absolute);
          const ofTimer = closes.filter((c) => c.silence >= inferred.value - tolerance && c.silence <= inferred.value + inferred.spread + tolerance);
          for (const c of ofTimer) told.add(c.flowId);
          const ids: string[] = [];
          let withUpstream = 0;
          let relayedSoftware = false;
          const soft = software.softwareOf(server);
          for (const c of ofTimer) {
            const up = upstreamOf(c);
            if (up !== null) withUpstream++;
            // A proxy that passes its backend's Server header on (HAProxy does) does not name itself.
            if (up !== null && soft !== null && software.softwareOf(up.server) === soft) relayedSoftware = true;
            const finding = ctx.report({
              flowId: c.flowId,
              client: c.client,
              server: c.server,
              ts: c.closeTs,
              message: 'closed',
              // A CONNECT tunnel written into after the close lost that request (diagnoseReusedTunnels).
              severity: c.carried === 'CONNECT tunnel' && c.lateWrite !== null ? 'error' : undefined,
              data: {
                carried: c.carried,
                goodbye: c.carried === 'WebSocket' ? 'without a close frame' : 'with no goodbye from either end',
                request: c.request,
                server: c.server,
                how: c.rst ? 'RST' : 'FIN',
                silence: ms(c.silence),
                lateWrite:
                  c.lateWrite !== null ? `; the client wrote into the closed tunnel ${ms(c.lateWrite.ts - c.closeTs)} s later and was reset` : '',
                upstream: up !== null ? `; its upstream leg to ${up.server} was closed ${millis(Math.abs(up.closeTs - c.closeTs))} ms ${up.closeTs <= c.closeTs ? 'before' : 'after'} (${up.rst ? 'RST' : 'FIN'})` : '',
              },
              evidence: {
                ...closeEvidence(c),
                clientWroteAfterClose: c.lateWrite !== null ? ms(c.lateWrite.ts - c.closeTs) : null,
                upstreamFlowId: up?.flowId ?? null,
                upstreamServer: up?.server ?? null,
                upstreamClosedWith: up === null ? null : up.rst ? 'RST' : 'FIN',
              },
              frames: [
                ...new Set([c.openedFrame, c.lastDataFrame, c.closeFrame, ...(up !== null ? [up.closeFrame] : []), ...(c.lateWrite !== null ? [c.lateWrite.frame, c.lateWrite.resetFrame] : [])]),
              ].sort((a, b) => a - b),
            });
            ids.push(finding.id);
          }
          const n = ofTimer.length;
          const webSockets = ofTimer.filter((c) => c.carried === 'WebSocket').length;
          const named = soft !== null && soft !== '' && !relayedSoftware ? soft : null;
          const reused = ofTimer.filter((c) => c.carried === 'CONNECT tunnel' && c.lateWrite !== null).length;
          ctx.diagnose({
            server,
            count: n,
            // Only when a request was lost: a severity key otherwise would reorder the diagnosis' output.
            ...(reused > 0 ? { severity: 'error' as const } : {}),
            inferred: { tunnelIdleTimeout: inferred },
            explanation:
              `${server}${named !== null ? ` (${named})` : withUpstream > 0 ? ' (a proxy)' : ''} closed ${n} ${webSockets === n ? 'WebSocket' : webSockets === 0 ? 'CONNECT tunnel' : 'tunnel'}${n === 1 ? '' : 's'} ` +
              `after ${ms(inferred.value)} s without a byte in either direction (spread ${millis(inferred.spread)} ms), with a bare ` +
              `${ofTimer.every((c) => c.rst) ? 'RST' : ofTimer.every((c) => !c.rst) ? 'FIN' : 'FIN or RST'} and ${webSockets > 0 ? 'no close frame' : 'no goodbye from either end'}` +
              (withUpstream > 0 ? `, and closed the upstream leg of ${withUpstream === n ? 'each' : `${withUpstream} of them`} at the same moment` : '') +
              `: a tunnel idle timeout of the server or of the proxy in front of it, not the application, which would have said goodbye. ` +
              (webSockets > 0 ? 'WebSocket clients see the connection drop with close code 1006 (abnormal closure). ' : 'Clients see the connection through the tunnel drop. ') +
              (reused > 0
                ? `${reused === 1 ? 'One CONNECT tunnel' : `${reused} CONNECT tunnels`} ${reused === 1 ? 'was' : 'were'} then written into by ${reused === 1 ? 'its client' : 'their clients'} and reset: ` +
                  'a stale reuse of the tunnel (the keep-alive race one layer down), the request lost. '
                : '') +
              `The setting at work is ${settingFor(named)}.`,
            remedy:
              heartbeatRemedy(inferred.value, 'the timeout') +
              (reused > 0 ? ` A client that pools tunnels must drop one once its FIN arrives and keep none idle that long (a pool idle limit below ${ms(inferred.value)} s).` : ''),
            anomalyIds: ids,
          });
        }
        // The front leg a proxy closed right after its backend closed the upstream leg, by the backend leg's flow.
        const relayedBy = new Map<number, SilentClose>();
        for (const closes of byServer.values()) {
          for (const c of closes) {
            const from = relayedFrom(c);
            if (from !== null && !relayedBy.has(from.flowId)) relayedBy.set(from.flowId, c);
          }
        }
        for (const [server, all] of byServer) {
          // A WebSocket cut once, or at silences no other cut agrees with: no timer is inferred, but
          // a WebSocket closed without a close frame is an abnormal close its client sees (1006),
          // and who closed it is told by its legs. CONNECT tunnels are left out: a target server's
          // keep-alive closing the idle connection inside one ends it the same way, normally.
          const single = all.filter((c) => c.carried === 'WebSocket' && !told.has(c.flowId) && relayedFrom(c) === null);
          if (single.length > 0) diagnoseSingleCuts(ctx, software, server, single, upstreamOf, (c) => relayedBy.get(c.flowId) ?? null);
          // A CONNECT tunnel the client wrote into after the close, and was reset: whoever closed
          // it, the client reused a dead connection to the target (a stale reuse one layer down).
          const reused = all.filter((c) => c.carried === 'CONNECT tunnel' && c.lateWrite !== null && !told.has(c.flowId));
          if (reused.length > 0) diagnoseReusedTunnels(ctx, software, server, reused, targetLegOf);
        }
        // The upstream legs of the tunnels a server (a proxy) closed: told with their front leg.
        const withFront = new Set<number>();
        for (const closes of byServer.values()) {
          for (const c of closes) {
            const up = upstreamOf(c);
            if (up !== null) withFront.add(up.flowId);
          }
        }
        // The upstream legs a proxy closed right after its client closed the front leg: the proxy
        // only relayed that close, one event seen twice (a client and a proxy on one address, as on
        // loopback, would otherwise count it as two agreeing closes of one host's timer).
        const relayedClose = new Set<number>();
        const frontRelayed = new Set<number>();
        for (const c of clientCloses) {
          const up = legOf(byClientByRequest, c, LEGS_TOGETHER);
          if (up !== null && up.closeTs >= c.closeTs) {
            relayedClose.add(up.flowId);
            frontRelayed.add(c.flowId);
          }
        }
        diagnoseClientCloses(
          ctx,
          clientCloses.filter((c) => !withFront.has(c.flowId) && !relayedClose.has(c.flowId)),
          frontRelayed,
          options,
        );
      },
    };
  },
};

/**
 * Tunnels closed without a word by their client after the same silence, where the capture holds no
 * leg in front that a server closed at that moment: the capture of a proxy's upstream leg only. The
 * proxy's tunnel idle timeout is told there, on the legs it closed, by client host (one proxy, one
 * timer, whichever backends it connects to). A client application that ends a tunnel itself says
 * goodbye (a close frame); at least two closes must agree.
 */
function diagnoseClientCloses(
  ctx: DetectContext,
  closes: readonly SilentClose[],
  frontRelayed: ReadonlySet<number>,
  options: { fraction: number; absolute: number; minSamples: number },
): void {
  const byClientHost = new Map<string, SilentClose[]>();
  for (const c of closes) {
    const host = hostOf(c.client);
    const list = byClientHost.get(host);
    if (list === undefined) byClientHost.set(host, [c]);
    else list.push(c);
  }
  for (const [clientHost, all] of byClientHost) {
    const inferred = inferTimeout(all.map((c) => c.silence), options);
    if (inferred === null) continue;
    const tolerance = Math.max(options.fraction * inferred.value, options.absolute);
    const ofTimer = all.filter((c) => c.silence >= inferred.value - tolerance && c.silence <= inferred.value + inferred.spread + tolerance);
    const byServer = new Map<string, string[]>();
    for (const c of ofTimer) {
      const finding = ctx.report({
        flowId: c.flowId,
        client: c.client,
        server: c.server,
        ts: c.closeTs,
        message: 'closedByClient',
        data: {
          carried: c.carried,
          goodbye: c.carried === 'WebSocket' ? 'without a close frame' : 'with no goodbye from either end',
          request: c.request,
          server: c.server,
          client: clientHost,
          how: c.rst ? 'RST' : 'FIN',
          silence: ms(c.silence),
        },
        evidence: { ...closeEvidence(c), closedBy: 'client' },
        frames: [...new Set([c.openedFrame, c.lastDataFrame, c.closeFrame])].sort((a, b) => a - b),
      });
      const ids = byServer.get(c.server);
      if (ids === undefined) byServer.set(c.server, [finding.id]);
      else ids.push(finding.id);
    }
    const n = ofTimer.length;
    const webSockets = ofTimer.filter((c) => c.carried === 'WebSocket').length;
    const what = webSockets === n ? 'WebSocket' : webSockets === 0 ? 'CONNECT tunnel' : 'tunnel';
    for (const [server, ids] of byServer) {
      ctx.diagnose({
        server,
        count: ids.length,
        inferred: { tunnelIdleTimeout: inferred },
        explanation:
          `${clientHost} closed ${n} ${what}${n === 1 ? '' : 's'} it had opened${byServer.size > 1 ? ` (${ids.length} of them to ${server})` : ` to ${server}`} ` +
          `after ${ms(inferred.value)} s without a byte in either direction (spread ${millis(inferred.spread)} ms), with a bare ` +
          `${ofTimer.every((c) => c.rst) ? 'RST' : ofTimer.every((c) => !c.rst) ? 'FIN' : 'FIN or RST'} and ${webSockets > 0 ? 'no close frame' : 'no goodbye from either end'}: ` +
          `a tunnel idle timeout of ${clientHost}, not the application, which would have said goodbye. ` +
          (ofTimer.some((c) => frontRelayed.has(c.flowId))
            ? `${server} passed ${n === 1 ? 'the close' : 'these closes'} on to its own upstream leg at once: it is the proxy, and ${clientHost}, its client, closed first ` +
              `(a proxy further in front, or the client's own idle timeout). `
            : `The capture holds only these legs: ${clientHost} is most likely a proxy ` +
              `(nginx, HAProxy, a load balancer) timing out tunnels it relays, and its clients saw the tunnel drop at the same moment ` +
              `(${webSockets > 0 ? 'WebSocket close code 1006' : 'the connection through the tunnel dropped'}). `) +
          `The setting at work is ${settingFor(null)}.`,
        remedy: heartbeatRemedy(inferred.value, "the proxy's timeout"),
        anomalyIds: ids,
      });
    }
  }
}

/**
 * Cuts this close to each other (chained, seconds) came at one moment: a process that exits or a
 * proxy whose reload ends its old workers closes all its sockets within milliseconds.
 */
const ONE_MOMENT = 0.1;

/**
 * How much earlier than its setting a timer re-armed by each byte may fire, counted from the last
 * byte: nginx's, re-armed lazily (NGINX_LAZY_DELAY; it cut websocket-single-idle-cut 1.90 s after
 * its last frame for 2 s). A tunnel that lived through a silence this much longer than the one it
 * was cut after was under no idle timer that cut it.
 */
const LAZY_REARM = NGINX_LAZY_DELAY;

/** How a single cut came about, as far as its legs in the capture tell. */
type CutKind = 'proxy' | 'backend' | 'alone';

/**
 * WebSockets a server closed without a close frame after a silence no other cut of its agrees with
 * (most often the one cut of the capture). One sample infers no timer's value, but the legs tell
 * who closed:
 * - `proxy`: the server closed its upstream leg at the same moment: a proxy's own timer cut both
 *   legs (nginx `proxy_read_timeout`, HAProxy `timeout tunnel`): tunnels cannot stay silent that long
 *   through it, a bound (its setting is about that: nginx re-arms its timer only for bytes 0.3 s
 *   apart, so it cut a tunnel 1.92 s after its last frame for 2 s: websocket-single-idle-cut);
 * - `backend`: the server is a backend whose close a proxy passed on to its client right after:
 *   the backend ended the tunnel (its own timer, or its process ending), not the proxy;
 * - `alone`: the capture holds no other leg: the server's or a proxy's timer, or a process that
 *   ended; one cut cannot tell.
 * A client that wrote into the tunnel after the close and was reset lost that message: an error.
 */
function diagnoseSingleCuts(
  ctx: DetectContext,
  software: ServerSoftware,
  server: string,
  cuts: readonly SilentClose[],
  upstreamOf: (c: SilentClose) => SilentClose | null,
  frontOf: (c: SilentClose) => SilentClose | null,
): void {
  type Cut = { c: SilentClose; up: SilentClose | null; front: SilentClose | null };
  const byKind = new Map<CutKind, Cut[]>();
  for (const c of cuts) {
    const up = upstreamOf(c);
    const front = up === null ? frontOf(c) : null;
    const kind: CutKind = up !== null ? 'proxy' : front !== null ? 'backend' : 'alone';
    const list = byKind.get(kind);
    if (list === undefined) byKind.set(kind, [{ c, up, front }]);
    else list.push({ c, up, front });
  }
  // Cuts at one moment after different silences are one event (a process exiting, a reload), told
  // apart from the cuts on their own.
  const groups: { kind: CutKind; moment: boolean; list: Cut[] }[] = [];
  for (const [kind, list] of byKind) {
    const alone: Cut[] = [];
    for (const run of atOneMoment(list, (x) => x.c.closeTs, ONE_MOMENT)) {
      if (run.length > 1) groups.push({ kind, moment: true, list: run });
      else alone.push(...run);
    }
    if (alone.length > 0) groups.push({ kind, moment: false, list: alone });
  }
  const soft = software.softwareOf(server);
  for (const { kind, moment, list } of groups) {
    const ids: string[] = [];
    let lost = 0;
    // A proxy that passes its backend's Server header on (HAProxy does) does not name itself.
    const relayedSoftware = list.some(({ up }) => up !== null && soft !== null && software.softwareOf(up.server) === soft);
    const named = soft !== null && soft !== '' && !relayedSoftware && kind !== 'backend' ? soft : null;
    for (const { c, up, front } of list) {
      // The client's write after the close: on the front leg, the backend's own for a relayed close.
      const late = c.lateWrite ?? front?.lateWrite ?? null;
      const lateFrom = c.lateWrite !== null ? c.closeTs : (front?.closeTs ?? c.closeTs);
      if (late !== null) lost++;
      const finding = ctx.report({
        flowId: c.flowId,
        client: c.client,
        server: c.server,
        ts: c.closeTs,
        message: 'closed',
        severity: late !== null ? 'error' : undefined,
        data: {
          carried: c.carried,
          goodbye: 'without a close frame',
          request: c.request,
          server: c.server,
          how: c.rst ? 'RST' : 'FIN',
          silence: ms(c.silence),
          lateWrite:
            late !== null
              ? `; ${front !== null && c.lateWrite === null ? 'its client' : 'the client'} wrote into the closed tunnel ${ms(late.ts - lateFrom)} s later and was reset: that message was lost`
              : '',
          upstream:
            up !== null
              ? `; its upstream leg to ${up.server} was closed ${millis(Math.abs(up.closeTs - c.closeTs))} ms ${up.closeTs <= c.closeTs ? 'before' : 'after'} (${up.rst ? 'RST' : 'FIN'})`
              : front !== null
                ? `; the proxy ${front.server} passed the close on to its client ${front.client} ${millis(Math.max(0, front.closeTs - c.closeTs))} ms later`
                : '',
        },
        evidence: {
          ...closeEvidence(c),
          cut: kind === 'proxy' ? 'proxy-both-legs' : kind === 'backend' ? 'backend-relayed' : 'one-leg',
          clientWroteAfterClose: late !== null ? ms(late.ts - lateFrom) : null,
          upstreamFlowId: up?.flowId ?? null,
          upstreamServer: up?.server ?? null,
          upstreamClosedWith: up === null ? null : up.rst ? 'RST' : 'FIN',
          relayedByFlowId: front?.flowId ?? null,
        },
        frames: [
          ...new Set([
            c.openedFrame,
            c.lastDataFrame,
            c.closeFrame,
            ...(up !== null ? [up.closeFrame] : []),
            ...(front !== null ? [front.closeFrame] : []),
            ...(late !== null ? [late.frame, late.resetFrame] : []),
          ]),
        ].sort((a, b) => a - b),
      });
      ids.push(finding.id);
    }
    const n = list.length;
    const first = list[0].c;
    const silences = n === 1 ? `${ms(first.silence)} s` : `${list.map(({ c }) => ms(c.silence)).join(', ')} s (silences that do not agree: no one timer)`;
    const what = n === 1 ? `a WebSocket (${first.request})` : `${n} WebSockets`;
    const how = list.every(({ c }) => c.rst) ? 'RST' : list.every(({ c }) => !c.rst) ? 'FIN' : 'FIN or RST';
    const when = n === 1 ? `at ${timeOfDay(first.closeTs)} UTC` : 'at these times';
    const lostText =
      lost === 0
        ? ''
        : ` ${lost === n && n === 1 ? 'The client' : `On ${lost} of them the client`} then wrote a message into the closed tunnel and was reset: the message was lost (the writer gets EPIPE or ECONNRESET, or nothing at all when it does not wait for an answer).`;
    // One cut's tunnel had lived through silences before: an idle timer that cut it lies above the
    // longest of them (a lower bound), and one that a longer silence outlived cut nothing.
    const earlier = n === 1 ? first.earlierSilence : 0;
    const outlived = n === 1 && earlier > first.silence + Math.max(LAZY_REARM, ctx.options.spreadFraction * first.silence);
    const livedThrough = `the tunnel had already stayed silent ${ms(earlier)} s in both directions and lived on`;
    let explanation: string;
    let remedy: string;
    let inferred: Record<string, InferredValue> = {};
    if (outlived) {
      const by = kind === 'proxy' ? 'The proxy' : kind === 'backend' ? 'The backend' : `${server} (or a proxy in front of it)`;
      explanation =
        `${server}${named !== null ? ` (${named})` : kind === 'proxy' ? ' (a proxy)' : ''} closed ${what} after ${silences} without a byte in either direction, with a bare ${how} and no close frame` +
        (kind === 'proxy' && list[0].up !== null ? `, and its upstream leg to ${list[0].up.server} at the same moment` : '') +
        (kind === 'backend' && list[0].front !== null ? `, and the proxy ${list[0].front.server} passed the close on to its client ${list[0].front.client} right after` : '') +
        `. No idle timer cut it: ${livedThrough}. ${by} ended it for another reason: ` +
        (kind === 'backend'
          ? 'its process exiting or restarting (a crash, a kill, a deploy: its kernel closes the socket without a close frame), or its application dropping the socket. '
          : `a limit on the tunnel's whole life (it had lasted ${ms(first.closeTs - first.openedTs)} s: Envoy \`max_connection_duration\`, a load balancer's connection lifetime), ` +
            'a reload or restart ending old workers (nginx `worker_shutdown_timeout`, HAProxy `hard-stop-after`), its process exiting, or its application dropping the socket. ') +
        `The WebSocket client saw close code 1006 (abnormal closure).${lostText}`;
      remedy =
        `Look at ${server} ${when}: its log and its process manager (a reload, a restart, an exit; the OOM killer in \`dmesg\`), and any limit on a connection's lifetime. ` +
        'A server or proxy that ends WebSockets should send close frames (1001 going away) first; clients should reconnect with backoff when a tunnel drops.';
    } else if (moment) {
      const span = list[n - 1].c.closeTs - list[0].c.closeTs;
      explanation =
        `${server}${named !== null ? ` (${named})` : kind === 'proxy' ? ' (a proxy)' : ''} closed ${n} WebSockets at one moment (within ${millis(span)} ms) after different silences ` +
        `(${list.map(({ c }) => ms(c.silence)).join(', ')} s), each with a bare ${how} and no close frame` +
        (kind === 'proxy' ? ', and the upstream leg of each at the same moment' : kind === 'backend' ? ', and the proxy in front passed each close on to its client' : '') +
        `: one event of ${kind === 'proxy' ? 'the proxy' : 'the server'}, not an idle timer, which times each tunnel's own silence: ` +
        (kind === 'proxy'
          ? 'a reload or restart ending its old workers (nginx `worker_shutdown_timeout`, HAProxy `hard-stop-after`), or its process exiting. '
          : 'its process exiting or restarting (a deploy, a crash, a kill). ') +
        `The WebSocket clients saw close code 1006 (abnormal closure).${lostText}`;
      remedy =
        `Look at ${server} at ${timeOfDay(list[0].c.closeTs)} UTC: its log and its process manager (a reload, a restart, an exit). ` +
        'A server or proxy that goes away should send close frames (1001 going away) first, or let WebSockets drain; clients should reconnect with backoff when a tunnel drops.';
    } else if (kind === 'proxy') {
      const up = list[0].up;
      explanation =
        `${server}${named !== null ? ` (${named})` : ' (a proxy)'} closed ${what} after ${silences} without a byte in either direction, with a bare ${how} and no close frame, ` +
        `and closed ${n === 1 && up !== null ? `its upstream leg to ${up.server}` : 'the upstream leg of each'} at the same moment: the proxy's own timer cut the tunnel on both legs — ` +
        `not the backend, which had not closed, nor the application, which would have sent a close frame. ` +
        (n === 1
          ? `One cut is one sample, a bound: a tunnel cannot stay silent ${ms(first.silence)} s through this proxy, so its idle limit is at most that ` +
            `(its setting about that, a little longer when the timer is re-armed lazily: nginx re-arms it only for bytes ${NGINX_LAZY_DELAY} s apart)` +
            (earlier >= ctx.options.minIdleTimeout ? `, and above ${ms(earlier)} s: ${livedThrough}` : '') +
            '. A second cut at the same silence would confirm it. '
          : 'Each cut bounds the timer of its route: a setting at most its silence. ') +
        `The WebSocket client saw the connection drop with close code 1006 (abnormal closure: an EOF without a close frame).${lostText} The setting at work is ${settingFor(named)}.`;
      remedy =
        heartbeatRemedy(n === 1 ? first.silence : Math.min(...list.map(({ c }) => c.silence)), "the proxy's timeout") +
        ` To confirm the timer, look in ${server}'s log ${when} (nginx logs "upstream timed out … while proxying upgraded connection" at info level; HAProxy's termination state is cD).`;
      if (n === 1) {
        inferred = { tunnelIdleTimeoutAtMost: { value: first.silence, samples: 1, spread: 0 } };
        if (earlier >= ctx.options.minIdleTimeout) inferred.tunnelIdleTimeoutAtLeast = { value: earlier, samples: 1, spread: 0 };
      }
    } else if (kind === 'backend') {
      const front = list[0].front;
      explanation =
        `${server} closed ${what} after ${silences} without a byte in either direction, with a bare ${how} and no close frame, and ` +
        (n === 1 && front !== null
          ? `the proxy ${front.server} passed the close on to its client ${front.client} right after`
          : 'the proxy in front passed each close on to its client right after') +
        `: the backend ended the tunnel, not a timer of the proxy's. One cut cannot tell the backend's own idle timeout (of at most that silence) from its process ending ` +
        `(a crash, a kill, a restart or deploy: its kernel closes the socket without a close frame). The WebSocket client saw close code 1006 (abnormal closure).${lostText}`;
      remedy =
        `Look at ${server} ${when}: its log, its process manager (exit status, restarts; the OOM killer in \`dmesg\`) and any idle timeout of its WebSocket server. ` +
        'A backend that shuts down should send close frames (1001 going away) first; clients should reconnect with backoff when a tunnel drops.';
    } else {
      explanation =
        `${server}${named !== null ? ` (${named})` : ''} closed ${what} after ${silences} without a byte in either direction, with a bare ${how} and no close frame: ` +
        `an abnormal close its client sees as close code 1006 (an EOF without a close frame). The capture holds no other leg of the tunnel, and one cut cannot tell ` +
        `a timer from a process that ended: a tunnel idle timeout of ${server} or of a proxy in front of it (its setting at most that silence` +
        (earlier >= ctx.options.minIdleTimeout ? ` and above ${ms(earlier)} s, as ${livedThrough}` : '') +
        `: ${settingFor(named)}), ` +
        `or the server's process exiting or its application dropping the socket without a goodbye. Should cuts recur at the same silence, it is a timer.${lostText}`;
      remedy =
        `Look in ${server}'s log ${when} (nginx: "upstream timed out … while proxying upgraded connection"; HAProxy: termination state cD; or the process exiting). ` +
        `If it is a timer, send WebSocket pings or application heartbeats well inside ${ms(Math.min(...list.map(({ c }) => c.silence)))} s, or raise the timer for these routes; ` +
        'let clients reconnect with backoff when a tunnel drops.';
    }
    ctx.diagnose({
      server,
      count: n,
      severity: lost > 0 ? 'error' : undefined,
      inferred,
      explanation,
      remedy,
      anomalyIds: ids,
    });
  }
}

/** The settings that close idle CONNECT tunnels, in proxies that have one. */
const CONNECT_TUNNEL_SETTINGS =
  'Squid `read_timeout` (15 min by default) and `client_lifetime`, tinyproxy `Timeout`, HAProxy `timeout tunnel`, Envoy `idle_timeout`, ' +
  'or a proxy\'s own read deadline on the tunnel';

/** What a client wrote into a closed CONNECT tunnel, by its first byte (TLS records, or an HTTP request in clear). */
function tunnelPayload(firstByte: number): string {
  if (firstByte >= 0x14 && firstByte <= 0x17) return 'TLS records (a request to the target over TLS)';
  if (firstByte >= 0x41 && firstByte <= 0x5a) return 'data that starts like an HTTP request line (a request to the target in clear)';
  return 'data';
}

/** Who ended a reused CONNECT tunnel, as its upstream leg tells: the proxy (both legs at once), the target (its close passed on), or unknown (no upstream leg). */
type TunnelCloser = 'proxy' | 'target' | 'alone';

/**
 * CONNECT tunnels a proxy closed after a silence that their clients then wrote into, and were
 * reset: the client held the tunnel as a pooled connection to the target and reused it after its
 * FIN had arrived, the keep-alive race one layer down. Who closed it is told by the proxy's
 * upstream leg when the capture holds it (targetLegOf): the proxy closing it at the same moment
 * (its tunnel idle timer), or the target closing it first (its keep-alive idle timeout, passed on
 * by the proxy). One close is one sample: a timer of at most that silence (it fires late, never
 * early), as keepalive-race bounds a server's idle timeout from a single close.
 */
function diagnoseReusedTunnels(
  ctx: DetectContext,
  software: ServerSoftware,
  server: string,
  tunnels: readonly SilentClose[],
  targetLegOf: (c: SilentClose) => QuietLeg | null,
): void {
  const ids: string[] = [];
  const kinds = new Map<TunnelCloser, number>();
  const targets = new Set<string>();
  for (const c of tunnels) {
    const late = c.lateWrite;
    if (late === null) continue;
    const leg = targetLegOf(c);
    const kind: TunnelCloser = leg === null ? 'alone' : leg.byClient ? 'proxy' : leg.closeTs <= c.closeTs ? 'target' : 'alone';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    targets.add(c.request.slice(c.request.indexOf(' ') + 1));
    const finding = ctx.report({
      flowId: c.flowId,
      client: c.client,
      server: c.server,
      ts: late.ts,
      message: 'reusedTunnel',
      severity: 'error',
      data: {
        request: c.request,
        server: c.server,
        how: c.rst ? 'RST' : 'FIN',
        silence: ms(c.silence),
        late: ms(late.ts - c.closeTs),
        bytes: late.bytes,
        payload: tunnelPayload(late.firstByte),
        upstream:
          leg === null || kind === 'alone'
            ? ''
            : kind === 'proxy'
              ? ` and its upstream leg to ${leg.server} at the same moment (${leg.rst ? 'RST' : 'FIN'} ${millis(Math.abs(leg.closeTs - c.closeTs))} ms ${leg.closeTs <= c.closeTs ? 'before' : 'after'}: the proxy's own timer)`
              : ` right after the target ${leg.server} had closed the upstream leg (${leg.rst ? 'RST' : 'FIN'} ${millis(c.closeTs - leg.closeTs)} ms before: the target's close, passed on)`,
      },
      evidence: {
        ...closeEvidence(c),
        cut: kind === 'proxy' ? 'proxy-both-legs' : kind === 'target' ? 'target-relayed' : 'one-leg',
        clientWroteAfterClose: ms(late.ts - c.closeTs),
        lateWriteBytes: late.bytes,
        upstreamFlowId: leg?.flowId ?? null,
        upstreamServer: leg?.server ?? null,
        upstreamClosedBy: leg === null ? null : leg.byClient ? 'proxy' : 'target',
      },
      frames: [...new Set([c.openedFrame, c.lastDataFrame, c.closeFrame, ...(leg !== null ? [leg.closeFrame] : []), late.frame, late.resetFrame])].sort((a, b) => a - b),
    });
    ids.push(finding.id);
  }
  const n = ids.length;
  if (n === 0) return;
  const first = tunnels[0];
  const kind: TunnelCloser | 'mixed' = kinds.size === 1 ? [...kinds.keys()][0] : 'mixed';
  const target = targets.size === 1 ? [...targets][0] : 'the targets';
  const silence = Math.min(...tunnels.map((c) => c.silence));
  const silences = n === 1 ? `${ms(first.silence)} s` : `${tunnels.map((c) => ms(c.silence)).join(', ')} s`;
  const lates = tunnels.map((c) => ms((c.lateWrite?.ts ?? c.closeTs) - c.closeTs)).join(', ');
  const how = tunnels.every((c) => c.rst) ? 'RST' : tunnels.every((c) => !c.rst) ? 'FIN' : 'FIN or RST';
  const soft = software.softwareOf(server);
  const named = soft !== null && soft !== '' ? soft : null;
  const longest = Math.max(...tunnels.map((c) => c.silence));
  // One close bounds a timer (it fires late, never early), up to the tick of a timer checked on a
  // coarse clock: Squid checks read_timeout once a second, and closed tunnels 3.77-5.49 s after
  // their last byte for 4 s in connect-tunnel-failures.
  const coarse = 'up to a tick less for a timer checked on a coarse clock, as Squid\'s once a second';
  const bound = n === 1 ? `One close is one sample, a bound (a timer fires late, never early; ${coarse}): ` : `The closes came after ${ms(silence)}-${ms(longest)} s of silence, one timer spread by a coarse clock or different timers: `;
  const who =
    kind === 'proxy'
      ? `The proxy closed the upstream leg${n === 1 ? '' : 's'} to ${target} at the same moment: its own tunnel idle timer, not the target, which had not closed. ` +
        `${bound}the proxy keeps a silent tunnel ${n === 1 ? 'at most' : 'about'} ${ms(silence)} s. The setting at work is the proxy's tunnel idle timeout (${CONNECT_TUNNEL_SETTINGS}).`
      : kind === 'target'
        ? `The target ${target} closed the upstream leg${n === 1 ? '' : 's'} first and the proxy passed the close on: the target's own keep-alive idle timeout, not a timer of the proxy's ` +
          `(through the tunnel the client talks to the target, and its pool outlived the target's idle timeout). ${bound}the target keeps an idle connection ${n === 1 ? 'at most' : 'about'} ${ms(silence)} s.`
        : kind === 'alone'
          ? `The capture holds no upstream leg of the tunnel${n === 1 ? '' : 's'}, so who closed cannot be told: the proxy's tunnel idle timer (${CONNECT_TUNNEL_SETTINGS}) ` +
            `or the target's own keep-alive idle timeout, passed on through the tunnel. ${bound}an idle limit of ${n === 1 ? 'at most' : 'about'} ${ms(silence)} s. Capture the proxy's upstream leg to tell which.`
          : `Their upstream legs tell different closers (${[...kinds].map(([k, m]) => `${m} ${k === 'proxy' ? 'by the proxy at the same moment' : k === 'target' ? 'by the target first, passed on' : 'not in the capture'}`).join(', ')}).`;
  const explanation =
    `${server}${named !== null ? ` (${named})` : ' (a forward proxy)'} closed ${n === 1 ? `a CONNECT tunnel (${first.request})` : `${n} CONNECT tunnels`} after ${silences} without a byte in either direction, ` +
    `with a bare ${how} and no goodbye from either end, and ${n === 1 ? 'its client' : 'their clients'} then wrote into ${n === 1 ? 'it' : 'them'} (${lates} s after the close) and ${n === 1 ? 'was' : 'were'} reset: ` +
    `${n === 1 ? 'the request' : 'the requests'} sent into the closed tunnel got no response. A stale reuse of the tunnel, the keep-alive race one layer down: the client keeps a tunnel as a pooled ` +
    `connection to ${target} and reused it after the FIN had reached it, idle longer than the tunnel is kept. ${who} ` +
    'The client read EOF on the tunnel and then a reset on its write (ECONNRESET or EPIPE), or an empty reply.';
  const closer = kind === 'target' ? "the target's keep-alive timeout" : kind === 'proxy' ? "the proxy's tunnel idle timeout" : "the proxy's tunnel idle timeout (or the target's keep-alive timeout)";
  const remedy =
    `Have the client drop a tunneled connection once its FIN arrives (check the socket before reuse), and keep tunnels idle for less than ${ms(silence)} s: a pool idle limit below it ` +
    '(Go http.Transport `IdleConnTimeout`, which covers connections through a proxy too; OkHttp `ConnectionPool` keep-alive; Apache HttpClient `evictIdleConnections`; ' +
    'Python requests/urllib3 keep no idle limit: retry on a new connection there), ' +
    `or raise ${closer} above the pool's longest idle. Retry automatically on a new tunnel only idempotent requests.`;
  const inferred: Record<string, InferredValue> =
    n === 1 && kind !== 'mixed' ? { [kind === 'target' ? 'serverIdleTimeoutAtMost' : 'tunnelIdleTimeoutAtMost']: { value: first.silence, samples: 1, spread: 0 } } : {};
  ctx.diagnose({ server, count: n, severity: 'error', inferred, explanation, remedy, anomalyIds: ids });
}
