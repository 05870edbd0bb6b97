import type { HttpExchange } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectorDefinition } from '../detector';
import { at, ms, requestLine, roundTripToServer, timeOfDay } from '../facts';
import { ownTtlWhereReset, resetFromOtherHost, resetFromPath } from '../path-reset';
import type { Finding } from '../finding';

/**
 * middlebox-idle-timeout: a NAT gateway, stateful firewall or load balancer between client and
 * server forgot a connection that stayed idle longer than its own timeout (AWS NAT gateway: 350 s;
 * Azure Load Balancer: 4 min by default; a Linux conntrack's established timeout), and told
 * neither end. The server never closed it: no FIN, no RST of its own. When the client reuses the
 * connection, the middlebox either
 *
 * - resets it in the server's name: a RST from the server's address whose IP TTL is not that of
 *   the server's own packets (PacketView.ttl: each router takes one off, so the server's packets
 *   all reach the capture point with one TTL; the middlebox is fewer hops away, or starts from
 *   another value), or
 * - drops what the client sends: the request retransmitted again and again, with nothing at all
 *   from the server after it.
 *
 * keepalive-race is the server closing first (its FIN, seen or proven); reset-before-response a
 * server's own reset (same TTL); unanswered-request a request the server received or that a path
 * delayed. Connections claimed here are left alone by the last two. Recorded in
 * middlebox-idle-reset-nat and middlebox-idle-drop-nat (client, NAT router with a 3 s conntrack
 * timeout, server in network namespaces).
 *
 * Seen from the server's side the same middlebox shows itself when the server sends on the idle
 * connection (its TCP keep-alive probe, an idle close): a masquerading router that forgot it
 * answers in the client's name, a RST with the router's own TTL where the client's forwarded
 * packets have one less (form 'idle-reset'; blind round 15, s07a: Go's 15 s keep-alive probe
 * through a 5 s conntrack timeout). A capture holding both sides of the NAT (client and server
 * captures merged: the connection's second view, past the translation) settles a dropped reuse:
 * the request never arrived past the NAT while the server went on sending there, so the path
 * dropped it, not a server that became unreachable.
 */

/** NAT and load-balancer idle timeouts are seconds to hours: a reuse sooner than this is not judged. */
const MIN_IDLE = 1;
/** A dropped request: retransmitted at least this often, over at least this long, with no packet back. */
const MIN_RETRANSMISSIONS = 2;
const MIN_SILENCE = 1;
const MAX_PER_SERVER = 4096;
const MAX_SERVERS = 10_000;

type Form = 'reset' | 'dropped' | 'idle-reset';

/** Second views (past a NAT) kept for the analyzed views' dropped reuses; beyond it, none is kept. */
const MAX_FAR_VIEWS = 4096;

/** What a connection's second view, past the address translation, showed (see onTranslatedViewEnd). */
interface FarView {
  /** The server's last packet there. */
  serverLastTs: number;
  /** The client's last data there (-1: none). */
  clientLastDataTs: number;
  /** The server's close (or probe) there answered by a middlebox in the client's name (idleResetOf), or null. */
  closedPast: ClosedPast | null;
}

/**
 * Past the translation, the server sent on the idle connection (its FIN at its keep-alive timeout,
 * a probe) and a middlebox that had forgotten the connection answered in the client's name: what
 * the server sent never crossed, so the client's view shows no close (blind round 17, s14: conntrack
 * 5 s, nginx keepalive_timeout 8 s; merged, the client's view alone said the server closed nothing).
 */
interface ClosedPast {
  /** The server's idle gap when it sent: the middlebox had forgotten the connection by then. */
  idle: number;
  trigger: string;
  /** The server's packet the RST answered, and the RST, there. */
  sentTs: number;
  rstTs: number;
  rstTtl: number;
  clientTtl: number;
}

/** The far view's close reset by the path before `requestTs` (the reuse that then failed), or null. */
function closedPastBefore(far: FarView | undefined, requestTs: number): ClosedPast | null {
  const closed = far?.closedPast ?? null;
  return closed !== null && closed.rstTs <= requestTs ? closed : null;
}

/**
 * A dropped reuse that the second view shows the path dropped: the request never arrived past the
 * NAT (no client data there from the request on), while the server sent there after it (it was
 * alive and reachable up to the NAT). The server's last packet there, or -1.
 */
function serverAlivePast(far: FarView | undefined, requestTs: number): number {
  return far !== undefined && far.clientLastDataTs < requestTs && far.serverLastTs > requestTs ? far.serverLastTs : -1;
}

interface Failure {
  finding: Finding;
  form: Form;
  idle: number;
  requestTs: number;
  rstTtl: number;
  serverTtl: number;
  /** What shows a reset came from the path (path-reset.ts); null for a drop. */
  shownBy: 'ttl' | 'too-soon' | null;
  /**
   * A drop: the server's last packet at a second capture point (past the NAT: serverAlivePast; or
   * on the same addresses: oneSidedAfter), which the request never reached; -1 unknown.
   */
  alivePast: number;
  /** An idle reset: the client's own TTL, and what of the server's the middlebox answered. */
  clientTtl: number;
  trigger: string;
  /** A drop: the server's close past the translation, before the request, reset by the path (null: none seen). */
  closedPast: ClosedPast | null;
}

/** The longest idle gap the middlebox's timeout is shown below by `f`: its reuse's, or less when past the translation the server's close met the forgotten connection sooner. */
function boundOf(f: Failure): number {
  return f.closedPast !== null && f.closedPast.idle < f.idle ? f.closedPast.idle : f.idle;
}

interface ServerPath {
  failures: Failure[];
  /** The longest idle gap after which a reuse of a connection to this server was answered. */
  longestAnsweredReuse: number;
  /** The last packet the server sent on any of its connections (it was alive and reachable then). */
  lastServerPacket: number;
}

/** A request a reused connection ended on, unanswered, after an idle gap: its HTTP exchange, or (TLS) none. */
interface IdleReuse {
  requestTs: number;
  requestFrame: number;
  idle: number;
  ex: HttpExchange | null;
}

/**
 * The request a reused connection ended on, unanswered, after an idle gap of at least MIN_IDLE;
 * null otherwise. On HTTPS it is the client's last turn of TLS application data, after a turn the
 * server answered, with no application data from the server since (the calls that go out through
 * a NAT gateway to other companies' APIs are mostly HTTPS).
 */
function lastIdleReuse(conn: AnalyzedConnection): IdleReuse | null {
  const app = conn.app;
  if (app === null) return null;
  if (app.session !== null && app.session.isHttp) {
    const recent = app.recent;
    if (recent.length === 0) return null;
    const ex = recent[recent.length - 1];
    if (ex.requestStart === null || ex.responseStart !== null || ex.idleBefore === null || ex.idleBefore < MIN_IDLE) return null;
    return { requestTs: ex.requestStart, requestFrame: ex.requestFrame ?? 0, idle: ex.idleBefore, ex };
  }
  const tls = app.tls;
  if (tls === null || !tls.ok) return null;
  const client = tls.client;
  const server = tls.server;
  if (client.turns < 2 || server.turns === 0 || !server.turnAnswers || server.lastAppEndTs < 0) return null;
  // Bytes lost since the turn began, or since the server's last data: neither the request nor the idle gap is known.
  if (!client.turnReadWhole || !server.lastAppSure) return null;
  const requestTs = client.turnStartTs;
  if (server.lastAppStartTs >= requestTs) return null; // answered
  const idle = requestTs - server.lastAppEndTs;
  return idle >= MIN_IDLE ? { requestTs, requestFrame: client.turnStartFrame, idle, ex: null } : null;
}

/**
 * A connection the server sent on after an idle gap of at least MIN_IDLE (its TCP keep-alive
 * probe, an idle close, late data), answered by a RST in the client's name that the client's host
 * did not send (its IP TTL is not that of the client's packets: resetFromOtherHost), the client
 * having closed nothing and sent nothing since: a middlebox between had forgotten the connection
 * and answered for it. The idle gap runs from the last data either side sent to the server's
 * packet; null otherwise. A client's own RST (its TTL) is the client's: no finding.
 */
function idleResetOf(conn: AnalyzedConnection): { idle: number; trigger: string; clientTtl: number } | null {
  const c = conn.client;
  const s = conn.server;
  if (c.rstTs < 0 || !resetFromOtherHost(c)) return null;
  // The client closed first, the server reset first, or the RST answered nothing of the server's since.
  if ((c.finTs >= 0 && c.finTs < c.rstTs) || (s.rstTs >= 0 && s.rstTs <= c.rstTs) || s.lastTs > c.rstTs) return null;
  const lastData = Math.max(c.lastDataTs, s.lastDataTs);
  // No exchange before (nothing pooled), or the client's data at the reset itself.
  if (lastData < 0 || c.lastDataTs >= c.rstTs) return null;
  const idle = s.lastTs - lastData;
  if (idle < MIN_IDLE) return null;
  const trigger = s.finTs >= 0 && s.finTs >= lastData ? 'FIN' : s.keepAliveProbes > 0 ? 'TCP keep-alive probe' : s.lastDataTs === s.lastTs ? 'data' : 'packet';
  const ownTtl = ownTtlWhereReset(c);
  return { idle, trigger, clientTtl: ownTtl };
}

/**
 * Client and server captures of one connection merged, with no translation between (a stateful
 * firewall): each packet that crossed from one point to the other is there twice (CaptureCopies),
 * a packet seen once reached one point only. The request and its retransmissions seen once, and
 * server packets after it seen once (at the server's point: the server's packets pass it first),
 * none of them data: the server was alive, and the request never reached its side. The server's
 * last packet, or -1.
 */
function oneSidedAfter(conn: AnalyzedConnection, requestTs: number): number {
  const c = conn.client;
  const s = conn.server;
  if (c.captureCopies === 0 || s.captureCopies === 0 || s.lastTs <= requestTs) return -1;
  return c.lastCopiedTs < requestTs && s.lastCopiedTs < requestTs && s.lastDataTs < requestTs ? s.lastTs : -1;
}

export const middleboxIdleTimeout: DetectorDefinition = {
  id: 'middlebox-idle-timeout',
  meta: {
    description:
      'A connection reused after a long idle gap met a middlebox (NAT gateway, firewall, load balancer) that had forgotten it, while the server never closed it: a RST in the server\'s name with another IP TTL than the server\'s packets or answering the request sooner than a round trip to the server allows, or the request dropped and retransmitted with no answer.',
    severity: 'error',
    messages: {
      reset:
        '{request} sent after {idle} s idle was reset {wait} ms later by a RST in the server\'s name with IP TTL {rstTtl}, where the server\'s packets have {serverTtl}: a middlebox on the path had forgotten the connection (the server never closed it)',
      resetSoon:
        '{request} sent after {idle} s idle was reset {wait} ms later by a RST in the server\'s name that answered it sooner than the {rtt} ms round trip to the server allows: a middlebox on the path had forgotten the connection (the server never closed it)',
      dropped:
        '{request} sent after {idle} s idle was retransmitted {retransmissions} times over {span} s with nothing back from the server, which had not closed the connection: the path drops it (a middlebox that forgot the connection, unless the server\'s host became unreachable)',
      droppedClosedPast:
        '{request} sent after {idle} s idle was retransmitted {retransmissions} times over {span} s with nothing back: past the address translation the server had closed the connection after {closedIdle} s idle, and its {trigger} was answered by a RST in the client\'s name with IP TTL {rstTtl}, where the client\'s packets have {clientTtl}, so it never reached the client: a middlebox on the path had forgotten the connection by then and dropped the request',
      droppedPast:
        '{request} sent after {idle} s idle was retransmitted {retransmissions} times over {span} s with nothing back from the server, which had not closed the connection; {where} it never arrived, while the server still sent there {after} s later: the path dropped it (a middlebox that forgot the connection)',
      idleReset:
        'the connection, idle for {idle} s, was reset in the client\'s name when the server sent its {trigger}: a RST with IP TTL {rstTtl}, where the client\'s packets have {clientTtl}, so a middlebox on the path had forgotten the connection (the client never closed it; a request it sent on it would not arrive)',
    },
  },
  create(ctx) {
    const servers = new Map<string, ServerPath>();
    const farViews = new Map<number, FarView>();
    const pathTo = (server: string): ServerPath | null => {
      let p = servers.get(server);
      if (p === undefined) {
        if (servers.size >= MAX_SERVERS) return null;
        p = { failures: [], longestAnsweredReuse: 0, lastServerPacket: -1 };
        servers.set(server, p);
      }
      return p;
    };

    return {
      onExchange(ex, conn) {
        // An answered reuse bounds the middlebox's timeout from below; not one whose idle TCP
        // keep-alive probes crossed (they keep a middlebox's state alive: Node's http.Agent sends
        // them after 1 s by default, and its reuses after 5 s went through the 3 s NAT).
        if (ex.index < 2 || ex.idleBefore === null || ex.responseStart === null || ex.idleBefore < MIN_IDLE) return;
        if (conn.client.keepAliveProbes > 0 || conn.server.keepAliveProbes > 0) return;
        const p = pathTo(conn.serverName);
        if (p !== null && ex.idleBefore > p.longestAnsweredReuse) p.longestAnsweredReuse = ex.idleBefore;
      },

      onTranslatedViewEnd(view, firstId) {
        // Only a view whose server spoke after its client's data stopped can settle a drop.
        const c = view.client;
        const s = view.server;
        if (farViews.size >= MAX_FAR_VIEWS || s.packets === 0 || s.lastTs - Math.max(c.lastDataTs, 0) < MIN_IDLE) return;
        // The server's close there answered in the client's name from elsewhere: its FIN never crossed.
        const reset = idleResetOf(view);
        const closedPast = reset === null ? null : { idle: reset.idle, trigger: reset.trigger, sentTs: s.lastTs, rstTs: c.rstTs, rstTtl: c.rstTtl, clientTtl: reset.clientTtl };
        farViews.set(firstId, { serverLastTs: s.lastTs, clientLastDataTs: c.lastDataTs, closedPast });
      },

      onConnectionEnd(conn) {
        const s = conn.server;
        const c = conn.client;
        const p = s.packets > 0 ? pathTo(conn.serverName) : null;
        if (p !== null && s.lastTs > p.lastServerPacket) p.lastServerPacket = s.lastTs;
        if (p === null || p.failures.length >= MAX_PER_SERVER) return;
        const idleReset = idleResetOf(conn);
        if (idleReset !== null) {
          const { idle, trigger, clientTtl } = idleReset;
          const finding = ctx.report({
            flowId: conn.id,
            client: conn.clientName,
            server: conn.serverName,
            ts: c.rstTs,
            message: 'idleReset',
            // Nothing failed in sight: the next request on it fails, at the client.
            severity: 'warning',
            data: { idle: ms(idle), trigger, rstTtl: c.rstTtl, clientTtl },
            evidence: {
              form: 'idle-reset', idleBefore: ms(idle), trigger, serverSentAt: at(s.lastTs), resetTs: at(c.rstTs),
              rstTtl: c.rstTtl, clientTtl, rstHasAck: c.rstHasAck,
            },
            frames: [c.rstFrame],
          });
          p.failures.push({ finding, form: 'idle-reset', idle, requestTs: s.lastTs, rstTtl: c.rstTtl, serverTtl: -1, shownBy: 'ttl', alivePast: -1, clientTtl, trigger, closedPast: null });
          return;
        }
        const reuse = lastIdleReuse(conn);
        if (reuse === null) return;
        const { requestTs, idle, ex } = reuse;
        // The server closed first (its FIN, seen or proven by a sequence number): keepalive-race's case.
        if (s.finUnseen || (s.finTs >= 0 && s.finTs <= requestTs)) return;
        // The client closed or reset before reusing the connection.
        if ((c.finTs >= 0 && c.finTs < requestTs) || (c.rstTs >= 0 && c.rstTs < requestTs)) return;
        if (ctx.reportedOn('keepalive-race', conn.id)) return;
        const line = ex === null ? 'an encrypted (TLS) request' : requestLine(ex) ?? 'a request';
        let form: Form;
        let finding: Finding;
        let shownBy: 'ttl' | 'too-soon' | null = null;
        let alivePast = -1;
        let closedPast: ClosedPast | null = null;
        // The RST's TTL is neither its handshake's nor its data's (a SYN proxy answers the handshake
        // from elsewhere), at the capture point where the RST was seen.
        const serverTtl = ownTtlWhereReset(s);
        const fromPath = s.finTs < 0 || s.finTs > s.rstTs ? resetFromPath(conn, requestTs) : null;
        if (fromPath !== null) {
          form = 'reset';
          shownBy = fromPath;
          finding = ctx.report({
            flowId: conn.id,
            client: conn.clientName,
            server: conn.serverName,
            ts: s.rstTs,
            message: fromPath === 'ttl' ? 'reset' : 'resetSoon',
            data: { request: line, idle: ms(idle), wait: ms((s.rstTs - requestTs) * 1000), rstTtl: s.rstTtl, serverTtl, rtt: ms(roundTripToServer(conn) * 1000) },
            evidence: evidenceOf(reuse, 'reset', {
              resetTs: at(s.rstTs), rstTtl: s.rstTtl >= 0 ? s.rstTtl : null, serverTtl: serverTtl >= 0 ? serverTtl : null, rstHasAck: s.rstHasAck, retransmissions: null, silentSeconds: null,
              resetShownBy: fromPath,
            }),
            frames: [reuse.requestFrame, s.rstFrame],
          });
        } else if (s.rstTs < 0 && s.finTs < 0 && (s.lastTs < requestTs || oneSidedAfter(conn, requestTs) >= 0) && c.retransmissions >= MIN_RETRANSMISSIONS && c.lastTs - requestTs >= MIN_SILENCE) {
          // Nothing from the server after the request, while the client sent it again and again.
          form = 'dropped';
          const span = c.lastTs - requestTs;
          // The connection's view past the NAT, when it ended first: the request never got there.
          const sameAddresses = oneSidedAfter(conn, requestTs);
          alivePast = sameAddresses >= 0 ? sameAddresses : serverAlivePast(farViews.get(conn.id), requestTs);
          closedPast = sameAddresses >= 0 ? null : closedPastBefore(farViews.get(conn.id), requestTs);
          const evidence = evidenceOf(reuse, 'dropped', { resetTs: null, rstTtl: null, serverTtl: s.firstTtl >= 0 ? s.firstTtl : null, rstHasAck: null, retransmissions: c.retransmissions, silentSeconds: ms(span) });
          if (closedPast !== null) {
            evidence.serverClosedPastTranslation = at(closedPast.sentTs);
            evidence.closeResetPastTranslation = at(closedPast.rstTs);
            evidence.closeIdleBefore = ms(closedPast.idle);
          }
          if (alivePast >= 0) {
            if (sameAddresses >= 0) {
              evidence.requestAtServerPoint = false;
              evidence.serverSentAtServerPoint = at(alivePast);
            } else {
              evidence.requestPastTranslation = false;
              evidence.serverSentPastTranslation = at(alivePast);
            }
          }
          finding = ctx.report({
            flowId: conn.id,
            client: conn.clientName,
            server: conn.serverName,
            ts: requestTs,
            message: closedPast !== null ? 'droppedClosedPast' : alivePast >= 0 ? 'droppedPast' : 'dropped',
            data: {
              request: line, idle: ms(idle), retransmissions: c.retransmissions, span: ms(span),
              ...(closedPast !== null ? { closedIdle: ms(closedPast.idle), trigger: closedPast.trigger, rstTtl: closedPast.rstTtl, clientTtl: closedPast.clientTtl } : {}),
              ...(alivePast >= 0 ? { after: ms(alivePast - requestTs), where: sameAddresses >= 0 ? "at the server's capture point" : 'past the address translation' } : {}),
            },
            evidence,
            frames: [reuse.requestFrame, c.lastDataFrame],
          });
        } else {
          return;
        }
        p.failures.push({ finding, form, idle, requestTs, rstTtl: s.rstTtl, serverTtl: ownTtlWhereReset(s), shownBy, alivePast, clientTtl: -1, trigger: '', closedPast });
      },

      onFinish() {
        /**
         * Failed reuses that reuses of the same server's other connections, answered after as long
         * an idle gap or longer, contradict: no idle timer dropped them. A backend removed behind a
         * load-balanced address (its DNAT rule and address deleted, its process still running) left
         * its 4 idle connections dead at one moment while the other backend's, reused after the same
         * 1.0 s, kept working (blind9 dnat-gone): that was taken for a middlebox forgetting
         * connections idle longer than 1.001 s. When every failed connection went idle before the
         * first failed request, one moment between explains them all.
         */
        const diagnoseContradicted = (server: string, p: ServerPath, f: { shortest: number; longest: number; what: string }): void => {
          const n = p.failures.length;
          const wentIdle = Math.max(...p.failures.map((x) => x.requestTs - x.idle));
          const firstFailed = Math.min(...p.failures.map((x) => x.requestTs));
          const together = n > 1 && wentIdle < firstFailed;
          ctx.diagnose({
            server,
            count: n,
            inferred: {},
            explanation:
              `${n} request${n === 1 ? '' : 's'} to ${server} on connections reused after ${ms(f.shortest)}${ms(f.longest) > ms(f.shortest) ? `-${ms(f.longest)}` : ''} s idle failed, and the server had closed none of those connections (no FIN, no RST of its own): ${f.what}. ` +
              `Yet reuses of its other connections after up to ${ms(p.longestAnsweredReuse)} s idle were answered, as long or longer: no idle timeout of a middlebox dropped these. ` +
              (together
                ? `All ${n} went idle by ${timeOfDay(wentIdle)} UTC and failed from ${timeOfDay(firstFailed)} on: at one moment between, the path to the server, or the host behind its address, went away for these connections alone `
                : 'The path to the server, or the host behind its address, went away for these connections alone ') +
              '(a backend behind a load-balanced address removed or unreachable, a route or a NAT entry changed), not an idle timer.',
            remedy:
              'No idle timeout avoids this, keeping connections idle for less does not help: find what changed on the path to the server at that moment ' +
              '(a backend removed from a load-balanced address without draining its connections, a route, NAT or conntrack entry changed or flushed). ' +
              'Remove a backend by draining it (stop sending it new requests, let it close its connections) or by resetting its connections (an iptables REJECT with tcp-reset) so that clients fail at once instead of retransmitting until their timeout; ' +
              'let clients give up on a dead connection sooner (a request timeout; TCP_USER_TIMEOUT) and retry idempotent requests that fail this way on a new connection.',
            anomalyIds: p.failures.map((x) => x.finding.id),
          });
        };
        for (const [server, p] of servers) {
          if (p.failures.length === 0) continue;
          // The connection's view past the NAT, when it ended after it: the server's close there, reset by the path.
          for (const f of p.failures) if (f.form === 'dropped' && f.closedPast === null && f.finding.flowId !== null) f.closedPast = closedPastBefore(farViews.get(f.finding.flowId), f.requestTs);
          const idles = p.failures.map(boundOf);
          const shortest = Math.min(...idles);
          const longest = Math.max(...idles);
          const resets = p.failures.filter((f) => f.form === 'reset');
          const idleResets = p.failures.filter((f) => f.form === 'idle-reset');
          const drops = p.failures.filter((f) => f.form === 'dropped');
          const dropped = drops.length;
          const requests = p.failures.length - idleResets.length;
          const reuseIdles = p.failures.filter((f) => f.form !== 'idle-reset').map((f) => f.idle);
          const reusedFrom = requests > 0 ? Math.min(...reuseIdles) : shortest;
          const reusedTo = requests > 0 ? Math.max(...reuseIdles) : longest;
          // Answered reuses idle as long as a failed one: other paths, or timers coarser than the gaps; no lower bound then.
          const answered = p.longestAnsweredReuse < shortest ? p.longestAnsweredReuse : 0;
          // The server still answered (on any connection) after the dropped requests: it was up and reachable.
          const aliveAfter = drops.filter((f) => p.lastServerPacket > f.requestTs).length;
          // The connection's view past the NAT (ended after it): the request never arrived there, the server still sent.
          for (const f of drops) if (f.alivePast < 0 && f.finding.flowId !== null) f.alivePast = serverAlivePast(farViews.get(f.finding.flowId), f.requestTs);
          const pastOnly = drops.filter((f) => f.alivePast >= 0 && !(p.lastServerPacket > f.requestTs)).length;
          const silentAfter = dropped - aliveAfter - pastOnly;
          const shownPast = drops.filter((f) => f.alivePast >= 0).length;
          const closedPast = drops.filter((f) => f.closedPast !== null);
          const oneClosed = closedPast.length === 1;
          const closedPastWhat =
            closedPast.length === 0
              ? ''
              : `; past the address translation the server had closed ${oneClosed ? 'it' : `${closedPast.length} of them`} after ${[...new Set(closedPast.map((f) => ms(f.closedPast?.idle ?? 0)))].join('/')} s idle, ` +
                `and ${oneClosed ? 'its' : 'their'} ${[...new Set(closedPast.map((f) => f.closedPast?.trigger ?? ''))].join('/')} ${oneClosed ? 'was' : 'were'} reset in the client's name from elsewhere on the path ` +
                `(IP TTL ${[...new Set(closedPast.map((f) => f.closedPast?.rstTtl ?? -1))].join('/')}, where the client's packets have ${[...new Set(closedPast.map((f) => f.closedPast?.clientTtl ?? -1))].join('/')}) ` +
                `and never reached the client: the middlebox had forgotten ${oneClosed ? 'the connection' : 'them'} by then`;
          const oneIdle = idleResets.length === 1;
          const idleReset =
            `${oneIdle ? 'was' : 'were'} reset in the client's name from elsewhere on the path when the server sent on ${oneIdle ? 'it' : 'them'} ` +
            `(its ${[...new Set(idleResets.map((f) => f.trigger))].join('/')}; IP TTL ${[...new Set(idleResets.map((f) => f.rstTtl))].join('/')}, where the client's packets have ${[...new Set(idleResets.map((f) => f.clientTtl))].join('/')})`;
          const idleWhat = idleResets.length === 0 ? '' : `${idleResets.length} idle connection${oneIdle ? '' : 's'} ${idleReset}`;
          const byTtl = resets.filter((f) => f.shownBy === 'ttl');
          const tooSoon = resets.length - byTtl.length;
          const shown = [
            byTtl.length > 0 ? `IP TTL ${[...new Set(byTtl.map((f) => f.rstTtl))].join('/')}, where the server's packets have ${[...new Set(byTtl.map((f) => f.serverTtl))].join('/')}` : '',
            tooSoon > 0 ? `${tooSoon === resets.length ? '' : `${tooSoon} `}sooner after the request than a round trip to the server allows` : '',
          ].filter((t) => t !== '').join('; ');
          const ttls = resets.length > 0 ? ` (${shown})` : '';
          const what = [
            resets.length > 0 ? `${resets.length} ${resets.length === 1 ? 'was' : 'were'} reset in the server's name from elsewhere on the path${ttls}` : '',
            dropped > 0 ? `${dropped} ${dropped === 1 ? 'was' : 'were'} dropped: retransmitted with nothing back${aliveAfter > 0 ? `, while the server went on answering${aliveAfter < dropped ? ` (after ${aliveAfter} of them)` : ''}` : ''}${closedPastWhat}` : '',
            requests > 0 ? idleWhat : '',
          ].filter((t) => t !== '').join('; ');
          const bound = answered > 0 ? `between ${ms(answered)} and ${ms(shortest)} s` : `at most ${ms(shortest)} s`;
          const inferred: Record<string, { value: number; samples: number; spread: number }> = {
            middleboxIdleTimeoutAtMost: { value: ms(shortest), samples: p.failures.length, spread: ms(longest - shortest) },
          };
          if (answered > 0) inferred.middleboxIdleTimeoutAtLeast = { value: ms(answered), samples: 1, spread: 0 };
          const keepBelow = answered > 0 ? answered : shortest;
          // Reuses of the server's other connections answered after idling as long as a failed one
          // or longer contradict an idle timeout: the path went away for these connections.
          if (p.longestAnsweredReuse >= shortest) {
            // Idle resets alone that answered reuses contradict: the findings stand, told no timeout.
            if (requests === 0) continue;
            diagnoseContradicted(server, p, { shortest, longest, what });
            continue;
          }
          const opening =
            requests > 0
              ? `${requests} request${requests === 1 ? '' : 's'} to ${server} on connections reused after ${ms(reusedFrom)}${reusedTo > reusedFrom ? `-${ms(reusedTo)}` : ''} s idle failed, and ${closedPast.length > 0 ? 'no close of the server reached the client on those connections' : 'the server had closed none of those connections'} (no FIN, no RST of its own): ${what}. `
              : `${idleResets.length} connection${oneIdle ? '' : 's'} to ${server} idle for ${ms(shortest)}${longest > shortest ? `-${ms(longest)}` : ''} s ${idleReset}; the client had closed ${oneIdle ? 'nothing' : 'none of them'}. `;
          ctx.diagnose({
            server,
            count: p.failures.length,
            inferred,
            // Nothing failed in sight when the server's side alone shows the middlebox (idle resets).
            ...(requests === 0 ? { severity: 'warning' as const } : {}),
            explanation:
              opening +
              (answered > 0 ? `Reuses after up to ${ms(answered)} s idle were answered. ` : '') +
              `A NAT gateway, stateful firewall or load balancer between the client and the server forgets connections idle longer than its timeout, here ${bound}, and tells neither end; ` +
              (requests > 0
                ? 'the client learns it only when it reuses the connection: ECONNRESET at once where the middlebox resets, a timeout where it drops.'
                : 'the server learns it only when it sends on the connection (a TCP keep-alive probe, an idle close), the client when it reuses it: ECONNRESET at once where the middlebox resets, a timeout where it drops; its request never reaches the server.') +
              (shownPast > 0
                ? ` At a second capture point nearer the server (past the address translation, or the server's own capture merged with this one${shownPast === 1 ? '' : `; ${shownPast} of the connections`}) the dropped request${shownPast === 1 ? '' : 's'} never arrived while the server went on sending there: the path dropped ${shownPast === 1 ? 'it' : 'them'}, a middlebox that forgot the connection, not a server that became unreachable.`
                : '') +
              (silentAfter > 0
                ? ` After ${silentAfter === dropped ? 'the' : `${silentAfter} of the`} dropped request${silentAfter === 1 ? '' : 's'} the server sent nothing more on any connection in this capture: a server host that became unreachable would look the same.`
                : ''),
            remedy:
              `Keep pooled connections idle for less than the middlebox's timeout (below ${ms(keepBelow)} s here): a client pool idle timeout below it, or TCP keep-alive probes more often than it ` +
              '(SO_KEEPALIVE with `tcp_keepalive_time` below it; Node http.Agent `keepAliveMsecs`, 1 s by default; Go net.Dialer `KeepAlive`, 15 s by default); ' +
              'or raise the middlebox\'s idle timeout (AWS NAT gateway: 350 s, fixed; Azure Load Balancer: 4 min by default, up to 100 min, and its TCP reset option makes clients fail at once instead of timing out; ' +
              'Linux conntrack: `net.netfilter.nf_conntrack_tcp_timeout_established`). Retry idempotent requests that fail this way on a new connection.',
            anomalyIds: p.failures.map((f) => f.finding.id),
          });
        }
      },
    };
  },
};

function evidenceOf(
  reuse: IdleReuse,
  form: Form,
  more: { resetTs: number | null; rstTtl: number | null; serverTtl: number | null; rstHasAck: boolean | null; retransmissions: number | null; silentSeconds: number | null; resetShownBy?: string },
): Record<string, number | string | boolean | null> {
  const ex = reuse.ex;
  return {
    form,
    method: ex?.method ?? null,
    uri: ex?.uri ?? null,
    requestLine: ex === null ? null : requestLine(ex),
    exchangeIndex: ex?.index ?? null,
    idleBefore: ms(reuse.idle),
    requestStart: at(reuse.requestTs),
    // An encrypted request's end cannot be told from its records alone: null.
    requestComplete: ex === null ? null : ex.state !== 'request-incomplete',
    ...more,
  };
}
