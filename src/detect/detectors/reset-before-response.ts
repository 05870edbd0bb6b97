import { statusClassEvidence, statusText, type HttpExchange } from '../../http/exchange';
import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, closeMayBeAnnounced, cutNoticeEvidence, endKnownDespiteLoss, hostOf, lostBeforeRequest, microsAsMs, ms, peerAckedAll, peerResetAfterReceivingAll, requestLine, reusedAfterCutHead } from '../facts';
import type { EvidenceValue, Finding } from '../finding';
import { firstCloseOf } from '../proxy-legs';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';
import { SERVER_STOPS, ServerStops } from '../server-stops';
import { AnswerRing } from '../server-stalls';
import { agesFitTickedLimit, SERVED_AFTER_KILLS_WITHIN, workerKillsDiagnosis } from '../worker-limits';
import { EncryptedRequest, encryptedEvidence, encryptedExchange, encryptedRequestText, sharedEncryptedRequests } from '../encrypted-request';
import type { Endpoint } from '../../flow/endpoint';
import { seqGe } from '../../flow/seq';
import { sharedLazyArrivalFlows } from './keepalive-race';
import { type HostTtls, type ResetSender, sharedHostTtls } from '../host-ttls';

/**
 * reset-before-response: the server resets (RST, no FIN first) a connection that carries an
 * outstanding request — no response yet, or a response cut short. A request sent after the
 * server's FIN is a keep-alive race, and a request after a `Connection: close` response is
 * request-after-close-notice: both are left to those detectors (the FIN, or the notice, comes
 * first). A client that gave up first (its FIN or RST before the server's RST) is
 * unanswered-request's case. A reset that met a request on arrival on a reused connection, when
 * its timing says it was the server's idle close, is keepalive-race's closed-on-arrival form.
 *
 * A server process that dies (crash, OOM kill, kill -9, a restart that does not drain) makes its
 * kernel reset every connection with unread or unanswered data in the same instant, and close its
 * idle ones with FIN: resets of one server within `resetBurstWindow` of each other form a burst,
 * reported with each finding and diagnosed per server. Findings are therefore reported at the end
 * of the capture, when every burst is complete.
 */

const MAX_CANDIDATES = 10_000;
const MAX_IDLE_CLOSES_PER_SERVER = 1_000;
/** Computed here, not where it is used: a shift there would be an operation the end handler had never run. */
const IDLE_CLOSES_DROPPED = MAX_IDLE_CLOSES_PER_SERVER >> 1;
const MAX_SERVERS = 10_000;

/**
 * A server's idle closes, the most recent ones: a ring in `times`, `count` of them from `start`.
 * The older half is dropped when it is full (the most recent matter: a burst is judged against its
 * own moment). It is updated with no branch of its own: the first list to fill comes long after the
 * end handler was compiled, and a step that handler had never taken (the splice that dropped the
 * older half) threw its compiled code away.
 */
interface IdleCloses {
  times: number[];
  start: number;
  count: number;
}


interface Tracked {
  ex: HttpExchange;
  afterCloseNotice: boolean;
  /** Server bytes after this moment are not accounted for by earlier responses (or this one's start). */
  answeredUntil: number;
}

interface Candidate {
  flowId: number;
  client: string;
  server: string;
  ex: HttpExchange;
  rstTs: number;
  rstFrame: number;
  requestAcked: boolean;
  /** The RST's own ACK number covered the request (the socket had it when it reset). */
  resetAcked: boolean;
  /**
   * A RST without the ACK flag, the request acknowledged neither before nor by it: the kernel's
   * answer to data for a socket already closed to receiving, or gone. A process that dies with a
   * request unread resets with ACK, after its kernel had ACKed the request; one whose connection
   * was idle closes it with a FIN, and resets without ACK only what arrives after. So the socket
   * was closed before the request came, and its FIN (if it sent one) is not in the capture.
   */
  closedBefore: boolean;
  /** The request was a turn of TLS application data (an HTTPS connection), or null. */
  encrypted: EncryptedRequest | null;
  /** The connection carried FastCGI (a web server's leg to PHP-FPM or another FastCGI application). */
  fastcgi: boolean;
  /** When the server's receive window went to zero and stayed there until its RST (-1: it did not). */
  zeroWindowSince: number;
  /**
   * The RST came from another hop than the server's own packets on the connection (path-reset.ts:
   * resetFromOtherHost): a firewall, NAT gateway or load balancer reset it in the server's name.
   * Such resets are told apart from the server's, never in its bursts.
   */
  fromPath: boolean;
  rstTtl: number;
  /** The TTL of the resetting side's own packets it was compared with (-1: none), lowest of a host's range. */
  serverTtl: number;
  /** The same in words ("63", or a host's range "63-64"). */
  serverTtlText: string;
  /** What gave the sender's own TTL: its packets on the same connection, or its host's on other connections (host-ttls.ts). */
  ttlBasis: ResetSender['basis'];
  /**
   * Whose name the RST bore: the server's (its own reset, or the path's in its name), or the
   * client's (only held when from the path: a RST in the client's name that reached the server
   * mid-response, a firewall cutting the server's side while the client saw no reset).
   */
  resetIn: 'server' | 'client';
  /** The host of the side whose name the RST bore: its other connections judge a RST that is its only packet. */
  senderHost: string;
  /** The RST was seen on the connection's translated view (both sides of a NAT captured), not on the analyzed one. */
  seenPastTranslation?: true;
  /**
   * The snaplen cut the previous response's Connection field, and the server closed right behind
   * it: judged because the client sent the request after that response (facts.reusedAfterCutHead),
   * and said (evidence closeNoticeUnseen) since whether that response announced the close is unseen.
   */
  closeNoticeUnseen?: true;
}

type ResetOrigin = Pick<Candidate, 'fromPath' | 'rstTtl' | 'serverTtl' | 'serverTtlText' | 'ttlBasis' | 'resetIn' | 'senderHost'>;

/** The facts of an endpoint's RST that place it (host-ttls.ts: its TTL against its sender's own packets). */
function resetOrigin(hostTtls: HostTtls, ep: Endpoint, name: string, resetIn: 'server' | 'client'): ResetOrigin {
  const senderHost = hostOf(name);
  return originOf(hostTtls.resetSender(ep, senderHost), resetIn, senderHost);
}

function originOf(sender: ResetSender, resetIn: 'server' | 'client', senderHost: string): ResetOrigin {
  const low = sender.ownTtl === '' ? -1 : Number(sender.ownTtl.split('-')[0]);
  return { fromPath: sender.fromPath, rstTtl: sender.rstTtl, serverTtl: low, serverTtlText: sender.ownTtl, ttlBasis: sender.basis, resetIn, senderHost };
}

/**
 * When the endpoint's zero window began, if it still advertised none at its RST (a RST does not
 * update the window, and the episode it was in is still open), else -1.
 */
function zeroWindowAtReset(ep: Endpoint): number {
  const episodes = ep.zeroWindowEpisodes;
  const last = episodes[episodes.length - 1];
  return ep.window === 0 && last !== undefined && last.endTs < 0 ? last.startTs : -1;
}

/** A reset this soon after a request that followed its previous response at once (closedAsAnswered, seconds). */
const CLOSED_AS_ANSWERED_RESET = 0.01;

export const resetBeforeResponse: DetectorDefinition = {
  id: 'reset-before-response',
  meta: {
    description:
      'The server reset (RST, no FIN first) a connection carrying a request it had not answered; bursts across connections point at a server process that died or was restarted.',
    severity: 'error',
    messages: {
      reset: '{request} was reset by the server {wait} s after it {began}, {progress}{burst}',
      resetFromPath:
        '{request} was reset {wait} s after it {began}, {progress}, by a RST in the server\'s name from another hop (IP TTL {rstTtl}, where the server\'s own packets{basis} have {serverTtl}): a firewall, NAT gateway or load balancer on the path reset it, not the server',
      resetFromPathInClientsName:
        '{request} was reset at the server {wait} s after it {began}, {progress}, by a RST in the client\'s name from another hop (IP TTL {rstTtl}, where the client\'s own packets{basis} have {clientTtl}): a firewall, IPS or NAT gateway on the path reset the server\'s side, not the client',
    },
  },
  create(ctx: DetectContext) {
    const tracked = new Map<number, Tracked>();
    const encryptedRequests = sharedEncryptedRequests(ctx);
    const candidates: Candidate[] = [];
    /** Per server, when it closed connections that had nothing outstanding (FIN or RST, first). */
    const idleCloses = new Map<string, IdleCloses>();
    /**
     * Flows whose close on arrival keepalive-race judges only when the capture ends (a lazy idle
     * close): their resets are held with the others, and at the end those it found a race are its.
     */
    const lazyFlows = sharedLazyArrivalFlows(ctx);
    /** What software each server named: its own settings are named only where it is known. */
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    /** When each server's port refused connections: an outage right after a burst is the same stop (connection-refused). */
    const stops = ctx.shared(SERVER_STOPS, () => new ServerStops());
    /** Each host's own TTLs across connections: judges a RST that is its sender's only packet on its connection. */
    const hostTtls = sharedHostTtls(ctx);
    /**
     * Connections whose client closed first while a response was due: held until the end, when a
     * translated view of theirs (hostTtls.twinPathReset) may show the path's reset of the server's
     * side in the client's name before that close. Bounded by MAX_CANDIDATES.
     */
    const twinWaiting = new Map<number, { flowId: number; client: string; server: string; ex: HttpExchange; closeTs: number; requestAcked: boolean; fastcgi: boolean }>();

    function reportAll(list: Candidate[]): void {
      allResets = list;
      const byServer = new Map<string, Candidate[]>();
      for (const c of list) {
        let l = byServer.get(c.server);
        if (l === undefined) byServer.set(c.server, (l = []));
        l.push(c);
      }
      const window = ctx.options.resetBurstWindow;
      for (const [server, all] of byServer) {
        all.sort((a, b) => a.rstTs - b.rstTs || a.flowId - b.flowId);
        // A RST that was its sender's only packet on its connection is judged now, by the sender's
        // packets on every other connection the capture holds (a stray retransmission's reset).
        for (const c of all) if (c.ttlBasis === 'none') Object.assign(c, originOf(hostTtls.judgeByHost(c.rstTtl, c.senderHost), c.resetIn, c.senderHost));
        // Resets from another hop are the path's: neither a burst of the server's nor alone amid its idle closes.
        const fromPath = all.filter((c) => c.fromPath);
        for (const side of ['server', 'client'] as const) {
          const mine = fromPath.filter((c) => c.resetIn === side);
          if (mine.length > 0) diagnoseFromPath(server, side, mine.map((c) => ({ candidate: c, finding: reportFromPath(c) })));
        }
        // (A RST in the client's name is held only as the path's: never the server's reset.)
        const resets = all.filter((c) => !c.fromPath && c.resetIn === 'server');
        // Single linkage on the capture clock: each reset within the window of the previous one.
        const bursts: Candidate[][] = [];
        for (const r of resets) {
          const last = bursts[bursts.length - 1];
          if (last !== undefined && r.rstTs - last[last.length - 1].rstTs <= window) last.push(r);
          else bursts.push([r]);
        }
        const closes = idleCloses.get(server) ?? { times: [], start: 0, count: 0 };
        const alone: Array<{ candidate: Candidate; finding: Finding }> = [];
        const closedAfterResponse: Array<{ candidate: Candidate; finding: Finding }> = [];
        const unfinished: Array<{ candidate: Candidate; finding: Finding }> = [];
        const killed: Array<{ candidate: Candidate; finding: Finding }> = [];
        let servedNew = 0;
        for (const burst of bursts) {
          const first = burst[0].rstTs;
          const lastTs = burst[burst.length - 1].rstTs;
          const spread = lastTs - first;
          let idle = 0;
          for (let i = 0; i < closes.count; i++) {
            const t = closes.times[(closes.start + i) % MAX_IDLE_CLOSES_PER_SERVER];
            if (t >= first - window && t <= lastTs + window) idle++;
          }
          // A reset after a response whose Connection field the snaplen cut (closeNoticeUnseen), alone:
          // that response may have announced the close (and its client ignored it). With other resets
          // or closes of the server at the time it is a process ending or reloading, as a whole capture shows.
          if (burst.length < 2 && idle === 0 && burst[0].closeNoticeUnseen === true) continue;
          const findings: Finding[] = burst.map((c) => report(c, burst.length, spread, idle));
          // Workers killed together at a time limit's check: no process died (a dying one closes its idle connections too).
          const served = burst.length >= 2 && idle === 0 ? killedAtTimeLimit(server, burst) : null;
          if (served !== null) {
            burst.forEach((c, i) => killed.push({ candidate: c, finding: findings[i] }));
            servedNew = Math.max(servedNew, served);
          }
          // A reset alone amid the server's idle closes is one event with them (a stop or restart
          // closing what it held): diagnosed like a burst.
          else if (burst.length >= 2 || idle > 0) diagnose(server, burst, findings, spread, idle);
          else if (killedAlone(burst[0])) (closedAsAnswered(burst[0]) ? closedAfterResponse : alone).push({ candidate: burst[0], finding: findings[0] });
          else unfinished.push({ candidate: burst[0], finding: findings[0] });
        }
        if (killed.length > 0) {
          // The server's resets one at a time at ages within the same tick are the same limit's.
          const withAlone = [...killed, ...alone];
          const together = agesFitTickedLimit(withAlone.map(({ candidate: c }) => waitOf(c)));
          diagnoseWorkerKills(server, together ? withAlone : killed, servedNew);
          if (together) alone.length = 0;
        }
        if (alone.length > 0) diagnoseAlone(server, alone);
        if (unfinished.length > 0) diagnoseUnfinished(server, unfinished);
        if (closedAfterResponse.length > 0) diagnoseClosedAfterResponse(server, closedAfterResponse);
      }
    }

    /**
     * A reset of one connection alone, its whole request received (acknowledged) and not yet
     * answered: the process or worker that had it died or was killed while it worked on it.
     */
    function killedAlone(c: Candidate): boolean {
      return c.ex.state !== 'request-incomplete' && (c.requestAcked || c.resetAcked) && !c.closedBefore && c.ex.responseStart === null;
    }

    /**
     * A request that followed the previous response on its kept-alive connection at once (sooner
     * than any idle timeout) and was reset at once: the server had closed the connection as that
     * response ended, unannounced, with this request on its way (an nginx reload's old worker closed
     * a kept-alive connection 21 µs after answering with `Connection: keep-alive`; ab's next request
     * on it was reset 0.4 ms later). No worker died over it.
     */
    function closedAsAnswered(c: Candidate): boolean {
      const ex = c.ex;
      const sent = ex.requestEnd ?? ex.requestStart;
      return ex.index > 1 && ex.idleBefore !== null && ex.idleBefore < ctx.options.minIdleTimeout && sent !== null && c.rstTs - sent <= CLOSED_AS_ANSWERED_RESET;
    }

    function diagnoseClosedAfterResponse(server: string, list: ReadonlyArray<{ candidate: Candidate; finding: Finding }>): void {
      const n = list.length;
      const gaps = list.map(({ candidate: c }) => c.ex.idleBefore ?? 0);
      const lines = [...new Set(list.map(({ candidate: c }) => requestLine(c.ex)))];
      const about = ` (${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''})`;
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${about} came right after the previous response on ${n === 1 ? 'its' : 'their'} kept-alive connection ` +
          `(${ms(Math.max(...gaps) * 1000)} ms or less after it) and ${n === 1 ? 'was' : 'were'} reset at once, unanswered: the server had closed the connection as that response ended, ` +
          'without announcing it (no `Connection: close`), and its kernel reset it over the request it had not read. ' +
          'A server shutting down gracefully does this to its kept-alive connections after their current response (an nginx reload\'s or stop\'s old workers, a graceful restart), ' +
          'and so does one that ends connections after a number of requests without saying so; a request already on its way fails (ECONNRESET), and only a retry on a new connection saves it.',
        remedy:
          `If ${server} was reloaded or stopped then, expect this of requests in flight: retry idempotent requests on a new connection, reload less often, or take the server out of rotation before a reload. ` +
          'Otherwise make it announce the close (`Connection: close` on the response it closes after), so that clients do not reuse the connection.',
        anomalyIds: list.map(({ finding }) => finding.id),
      });
    }

    /**
     * Resets that came one at a time (no other connection reset with them): one diagnosis for a
     * server's, so that a worker killed at a per-request time limit is named, not only listed.
     */
    function diagnoseAlone(server: string, alone: ReadonlyArray<{ candidate: Candidate; finding: Finding }>): void {
      const n = alone.length;
      const waits = alone.map(({ candidate: c }) => c.rstTs - (c.ex.requestEnd ?? c.ex.requestStart ?? c.rstTs));
      const lo = Math.min(...waits);
      const hi = Math.max(...waits);
      // (Under half a millisecond rounds to "0 s": said as such.)
      const range = hi < 0.0005 ? 'less than 1 ms' : ms(lo) === ms(hi) ? `${ms(lo)} s` : `${ms(lo)}–${ms(hi)} s`;
      const lines = [...new Set(alone.map(({ candidate: c }) => requestLine(c.ex)))];
      const about = ` (${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''})`;
      const fastcgi = alone.every(({ candidate: c }) => c.fastcgi);
      const reset = `${n === 1 ? '1 request' : `${n} requests`} to ${server}${about} ${n === 1 ? 'was' : 'were'} reset by the server ${range} after ${n === 1 ? 'it was' : 'each was'} sent, `;
      const moments = n === 1 ? 'that moment' : 'those moments';
      // Its port refusing connections right after each reset: the whole process ended with the
      // request in hand (a kill, a crash), its listener with it, not one worker of a live server.
      const refusedAfter = alone.map(({ candidate: c }) => stops.firstRefusalAfter(server, c.rstTs));
      const lag = Math.max(...alone.map(({ candidate: c }, i) => (refusedAfter[i] ?? Infinity) - c.rstTs));
      const processEnded = !fastcgi && Number.isFinite(lag);
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation: processEnded
          ? reset +
            `the request received (its kernel had acknowledged it) and no response begun, and its port refused connections from ${lag < 0.0005 ? 'less than 1 ms' : `${ms(lag)} s`} ` +
            `after ${n === 1 ? 'the' : 'each'} reset (the connection-refused diagnosis): the server's process ended with the request in hand — a kill -9, a crash, an OOM kill, ` +
            'or a stop or restart that does not finish its requests — and took its listener with it; its kernel reset the connection over the request bytes it had not read.'
          : reset +
            `${n === 1 ? 'alone' : 'each alone'} (no other connection reset with it), the request received (its kernel had acknowledged it) and no response begun: ` +
            'the process or worker that had it died or was killed while it worked on it, and its kernel reset the connection over the request bytes it had not read. ' +
            (fastcgi
              ? `These were FastCGI requests: PHP-FPM kills a worker whose request outlives \`request_terminate_timeout\` (checked about once a second: "execution timed out ... terminating" in its log), ` +
                'and the web server in front answers its client 502 (nginx: "recv() failed (104: Connection reset by peer) while reading response header from upstream") or 503 (Apache mod_proxy_fcgi), or sends the request again to another backend. '
              : 'A per-request time limit that kills the worker does this (PHP-FPM `request_terminate_timeout`, uWSGI `harakiri`), and so does a handler that crashes its worker or an OOM kill of one worker. ') +
            (n > 1 ? 'Similar waits point at such a time limit; scattered ones at crashes.' : ''),
        remedy: processEnded
          ? `Find what ended ${server}'s process at ${moments} (the service manager's log, its exit status, \`dmesg\` for the OOM killer). ` +
            'Make restarts graceful (stop accepting, finish in-flight requests, then exit), and let clients retry idempotent requests that were reset.'
          : `Look in ${server}'s log at ${moments} for the worker's end (PHP-FPM: "execution timed out", "exited on signal"; \`dmesg\` for the OOM killer). ` +
            (fastcgi
              ? "If its time limit killed them, make those requests faster or raise `request_terminate_timeout` (and PHP's `max_execution_time`), and keep the web server's read timeout (nginx `fastcgi_read_timeout`) the shorter of the two, so that a slow request ends as a 504 that names the timeout."
              : 'If a time limit killed them, make those requests faster or raise the limit; if the worker crashed, its log says why.'),
        anomalyIds: alone.map(({ finding }) => finding.id),
      });
    }

    /**
     * Resets alone that killedAlone does not take: an upload still arriving, a response begun, a
     * request the socket had not received (closed before, or unacknowledged). Every reset is an
     * error, and each gets its words here: an upload reset while arriving is the server closing
     * with request bytes unread in its receive buffer (Linux: RST instead of FIN, TCPAbortOnClose).
     */
    function diagnoseUnfinished(server: string, list: ReadonlyArray<{ candidate: Candidate; finding: Finding }>): void {
      const n = list.length;
      const uploads = list.filter(({ candidate: c }) => c.ex.state === 'request-incomplete' && c.ex.responseStart === null);
      const stalled = uploads.filter(({ candidate: c }) => c.zeroWindowSince >= 0);
      const midResponse = list.filter(({ candidate: c }) => c.ex.responseStart !== null).length;
      const closedBefore = list.filter(({ candidate: c }) => c.closedBefore && c.ex.responseStart === null && c.ex.state !== 'request-incomplete').length;
      const other = n - uploads.length - midResponse - closedBefore;
      const longestStall = Math.max(0, ...stalled.map(({ candidate: c }) => c.rstTs - c.zeroWindowSince));
      const lines = [...new Set(list.map(({ candidate: c }) => requestLine(c.ex) ?? 'a request'))];
      const about = ` (${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''})`;
      // How many of them a part is about: `it` or `all` when it is every one.
      const who = (k: number): string => (k === n ? (n === 1 ? 'it' : 'all') : String(k));
      const parts: string[] = [];
      if (uploads.length > 0) {
        parts.push(
          `${who(uploads.length)} ${uploads.length === 1 ? 'was an upload' : 'were uploads'} still arriving, unanswered: the server closed the connection with request bytes ` +
            'unread in its receive buffer, so its kernel sent RST instead of FIN (Linux counts TCPAbortOnClose)' +
            (stalled.length > 0
              ? `. ${stalled.length === uploads.length ? (uploads.length === 1 ? 'It' : 'All of them') : `${stalled.length} of them`} had stopped reading first: the server's receive window ` +
                `stayed at zero until the reset (up to ${ms(longestStall)} s), so the close came from a timeout or a decision of the server's own, not after a read. ` +
                'A client that gave up meanwhile (a send timeout) shows nothing on the wire: its FIN waits behind the body it could not send'
              : ''),
        );
      }
      if (midResponse > 0) {
        parts.push(`${who(midResponse)} ${midResponse === 1 ? 'was' : 'were'} reset after the response had begun, before it was complete: the server aborted the connection mid-response (a send timeout that closes with unread or unsent data, a worker that died, or SO_LINGER 0)`);
      }
      if (closedBefore > 0) {
        parts.push(`${who(closedBefore)} met a RST without ACK: the server's socket was already closed when the request came, its FIN not in this capture`);
      }
      if (other > 0) parts.push(`${who(other)} ${other === 1 ? 'was' : 'were'} reset before the server had acknowledged the request`);
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? `1 request to ${server}${about} was reset alone` : `${n} requests to ${server}${about} were reset one at a time`} (no other connection reset with ` +
          `${n === 1 ? 'it' : 'them'}): ${parts.join('; ')}.`,
        remedy:
          (uploads.length > 0
            ? `Find why ${server} stopped reading ${uploads.length === 1 ? 'the upload' : 'uploads'} and closed on ${uploads.length === 1 ? 'it' : 'them'} (a handler that does not read the body, or one blocked on a slow backend, disk or lock, and a request or read timeout that then closes): ` +
              'read or drain the body before closing (a lingering close: shutdown(SHUT_WR), then read and discard for a bounded time), so that the client gets a FIN and the response rather than a reset. '
            : '') +
          (midResponse > 0 ? `Check ${server}'s log at ${midResponse === 1 ? 'that moment' : 'those moments'} for a send timeout or a worker's end. ` : '') +
          'Let clients retry idempotent requests that were reset.',
        anomalyIds: list.map(({ finding }) => finding.id),
      });
    }

    /**
     * Resets in the server's name from another hop (Candidate.fromPath), one diagnosis per server:
     * a firewall that rejects with a tcp reset, a NAT gateway or load balancer that lost or refused
     * the connection. The server neither died nor closed these connections; its log will not show
     * the requests the reset met before they reached it.
     */
    function diagnoseFromPath(server: string, side: 'server' | 'client', list: ReadonlyArray<{ candidate: Candidate; finding: Finding }>): void {
      const n = list.length;
      const lines = [...new Set(list.map(({ candidate: c }) => requestLine(c.ex) ?? (c.encrypted !== null ? encryptedRequestText(c.encrypted) : 'a request')))];
      const about = ` (${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''})`;
      const rstTtls = [...new Set(list.map(({ candidate: c }) => c.rstTtl))].sort((a, b) => a - b);
      const ownTtls = [...new Set(list.map(({ candidate: c }) => c.serverTtlText))].sort();
      const ownLows = [...new Set(list.map(({ candidate: c }) => c.serverTtl))];
      const byHost = list.every(({ candidate: c }) => c.ttlBasis === 'host');
      const unreached = list.filter(({ candidate: c }) => !c.requestAcked && !c.resetAcked && c.ex.responseStart === null).length;
      // Both from one initial value (64, 128 or 255 minus the hops): the reset's sender is that many hops nearer the capture point.
      const initial = (ttl: number): number => (ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255);
      const single = rstTtls.length === 1 && ownTtls.length === 1 && !ownTtls[0].includes('-');
      const nearer = single && initial(rstTtls[0]) === initial(ownLows[0]) && rstTtls[0] > ownLows[0] ? rstTtls[0] - ownLows[0] : 0;
      const whose = side === 'server' ? 'the server' : 'the client';
      const pastNat = list.every(({ candidate: c }) => c.seenPastTranslation === true);
      const where = byHost
        ? `on ${n === 1 ? 'its' : 'their'} other connections`
        : `on the same connection${n === 1 ? '' : 's'}${pastNat ? ' past the address translation (the server\'s side of the NAT, where the RSTs were seen)' : ''}`;
      const ttlWords =
        `${n === 1 ? 'its' : 'their'} IP TTL (${rstTtls.join('/')}) is not that of ${whose}'s own packets ${where} (${ownTtls.join('/')}), ` +
        'and each router on the path takes one off, so one host\'s packets all arrive with one TTL' +
        (nearer > 0 ? `; ${n === 1 ? 'its' : 'their'} sender is ${nearer} hop${nearer === 1 ? '' : 's'} nearer the capture point than ${whose}. ` : '. ');
      if (side === 'client') {
        // The server's side of the story: its writes failed, it blames the client; the client, whose
        // packets the rule dropped, saw a stall. Only the TTL tells the path did it.
        ctx.diagnose({
          server,
          count: n,
          inferred: {},
          explanation:
            `${n === 1 ? '1 response' : `${n} responses`} of ${server}${about} ${n === 1 ? 'was' : 'were'} cut at the server by ${n === 1 ? 'a RST' : 'RSTs'} in the client's name that did not come from the client's host: ` +
            ttlWords +
            'A firewall or IPS between the client and the server (a rule that rejects with a tcp reset, on a byte count, a connection size or a DPI verdict), or a NAT gateway that dropped the connection, reset the server\'s side in the client\'s name; the client did not reset it. ' +
            'The server logs the client as gone ("connection reset by peer", nginx "client prematurely closed connection", a broken pipe), ' +
            'while the client, unless the path reset its side too, sees the download stop with no close and waits until its own timeout (curl (28) "Operation timed out").',
          remedy:
            `Find the rule on the path to ${server} that resets these connections${nearer > 0 ? ` (its sender is ${nearer} hop${nearer === 1 ? '' : 's'} nearer this capture point than the client)` : ''}: ` +
            'nftables/iptables `reject with tcp reset` rules and their counters (a limit on `ct bytes` / `ct reply bytes`, a connection size or rate limit), an IPS or DPI policy, a NAT gateway\'s connection table (entries dropped: `nf_conntrack_max`, its timeouts), and its log at those moments. ' +
            'Neither the server nor the client is at fault, and a retry of the same transfer meets the same rule.',
          anomalyIds: list.map(({ finding }) => finding.id),
        });
        return;
      }
      ctx.diagnose({
        server,
        count: n,
        inferred: {},
        explanation:
          `${n === 1 ? '1 request' : `${n} requests`} to ${server}${about} ${n === 1 ? 'was reset by a RST' : 'were reset by RSTs'} in the server's name that did not come from its host: ` +
          ttlWords +
          'A firewall between the client and the server (a rule that rejects with a tcp reset, a WAF or IPS blocking the request), or a NAT gateway or load balancer that lost or refused the connection, reset ' +
          `${n === 1 ? 'it' : 'them'}; the server did not crash or close ${n === 1 ? 'it' : 'them'}` +
          (unreached > 0 ? `, and ${unreached === n ? (n === 1 ? 'the request' : 'the requests') : `${unreached} of the requests`} may never have reached it (the server acknowledged none of ${unreached === 1 ? 'its' : 'their'} bytes).` : '.'),
        remedy:
          `Look at the firewall, NAT gateway or load balancer on the path to ${server}${nearer > 0 ? ` (${nearer} hop${nearer === 1 ? '' : 's'} from the server)` : ''}: ` +
          'its reject rules and their counters (nftables/iptables `reject with tcp reset`, a WAF or IPS policy that blocks these requests), its connection table (conntrack full or entries dropped: `nf_conntrack_max`, its idle timeouts), and its log at those moments. ' +
          (unreached === n
            ? "The server's log will not show these requests. "
            : unreached === 0
              ? "The server's log shows these requests (it acknowledged them, or had begun to answer), not the reset: to it the client is gone, or its responses go unacknowledged. "
              : `The server's log shows ${n - unreached} of these requests, not the other ${unreached}. `) +
          'A retry on a new connection helps only if the reset came from a lost connection entry; a rule that blocks the request blocks the retry too.',
        anomalyIds: list.map(({ finding }) => finding.id),
      });
    }

    /** The request and the reset, as every finding of a reset gives them. */
    function resetEvidence(c: Candidate, wait: number, arriving: boolean): Record<string, EvidenceValue> {
      const ex = c.ex;
      return {
        method: ex.method,
        uri: ex.uri,
        requestLine: requestLine(ex),
        exchangeIndex: ex.index,
        idleBefore: ex.idleBefore === null ? null : ms(ex.idleBefore),
        requestStart: ex.requestStart === null ? null : at(ex.requestStart),
        resetTs: at(c.rstTs),
        waitSeconds: ms(wait),
        requestComplete: !arriving,
        requestAcked: c.requestAcked,
        requestAckedByReset: c.resetAcked,
        responseStarted: ex.responseStart !== null,
        status: ex.status,
        ...statusClassEvidence(ex),
        ...(c.closeNoticeUnseen === true ? { closeNoticeUnseen: true } : {}),
      };
    }

    function reportFromPath(c: Candidate): Finding {
      const ex = c.ex;
      const line = requestLine(ex);
      const sent = ex.requestEnd ?? ex.requestStart ?? c.rstTs;
      const wait = c.rstTs - sent;
      const arriving = ex.state === 'request-incomplete';
      const progress =
        ex.responseStart !== null
          ? `after its response had begun (status ${statusText(ex) ?? '?'})`
          : c.requestAcked || c.resetAcked
            ? 'before any response (the server had acknowledged the request)'
            : 'before any response, the request not acknowledged by the server (it may never have reached it)';
      const encrypted = c.encrypted;
      return ctx.report({
        flowId: c.flowId,
        client: c.client,
        server: c.server,
        ts: c.rstTs,
        message: c.resetIn === 'client' ? 'resetFromPathInClientsName' : 'resetFromPath',
        data: {
          request: line ?? (encrypted !== null ? encryptedRequestText(encrypted) : 'a request'),
          wait: ms(wait), began: arriving ? 'began' : 'was sent', progress, rstTtl: c.rstTtl, serverTtl: c.serverTtlText, clientTtl: c.serverTtlText,
          basis: c.ttlBasis === 'host' ? ' on its other connections' : '',
        },
        evidence: {
          ...resetEvidence(c, wait, arriving),
          resetFrom: 'path',
          rstTtl: c.rstTtl,
          ...(c.resetIn === 'client' ? { resetInNameOf: 'client', clientTtl: c.serverTtlText } : { serverTtl: c.serverTtl }),
          ...(c.ttlBasis === 'host' ? { ttlComparedWith: 'host', hostTtls: c.serverTtlText } : {}),
          ...(c.seenPastTranslation === true ? { resetSeenPastTranslation: true } : {}),
          ...(encrypted !== null ? encryptedEvidence(encrypted) : {}),
        },
        frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0, c.rstFrame],
      });
    }

    function report(c: Candidate, burstSize: number, burstSpread: number, idleCloses: number): Finding {
      const ex = c.ex;
      const line = requestLine(ex);
      const sent = ex.requestEnd ?? ex.requestStart ?? c.rstTs;
      const wait = c.rstTs - sent;
      const responseStarted = ex.responseStart !== null;
      const arriving = ex.state === 'request-incomplete';
      const progress = responseStarted
        ? `after its response had begun (status ${statusText(ex) ?? '?'}) but before it was complete`
        : arriving
          ? `while the request was still arriving (${ex.method === null ? 'its head unfinished' : `${ex.requestBodyBytes} body bytes seen, the body unfinished`}), ` +
            `before any response${c.requestAcked ? ' (the server had ACKed what had arrived)' : ''}`
          : c.requestAcked
            ? 'before any response (the server had ACKed the request)'
            : c.resetAcked
              ? 'before any response (the RST acknowledged the request: the server\'s socket had received it, unread)'
              : c.closedBefore
                ? 'before any response, with a RST without ACK that did not acknowledge it: the server\'s socket was already closed when the request came, and its FIN is not in this capture (dropped by it or lost on the path, or the socket went without one)'
                : 'before any response (the server had not even ACKed the request)';
      const burst = burstSize >= 2 ? `; one of ${burstSize} such resets by this server within ${microsAsMs(burstSpread)} ms` : '';
      const encrypted = c.encrypted;
      return ctx.report({
        flowId: c.flowId,
        client: c.client,
        server: c.server,
        ts: c.rstTs,
        message: 'reset',
        data: {
          request: line ?? (encrypted !== null ? encryptedRequestText(encrypted) : 'a request'),
          wait: ms(wait), began: arriving ? 'began' : 'was sent', progress, burst,
        },
        evidence: {
          ...resetEvidence(c, wait, arriving),
          socketClosedBefore: c.closedBefore,
          burstSize,
          burstSpreadMs: microsAsMs(burstSpread),
          idleClosesInBurst: idleCloses,
          // Only on an encrypted request: what the TLS record headers and hellos told.
          ...(encrypted !== null ? encryptedEvidence(encrypted) : {}),
        },
        frames: [ex.requestFrame ?? 0, ex.responseFrame ?? 0, c.rstFrame],
      });
    }

    /** A reset to report at the end (bursts are complete then). */
    function hold(candidate: Candidate): void {
      if (candidates.length >= MAX_CANDIDATES) {
        // Bound memory: report what is held (a burst straddling this moment is split in two), but
        // for the resets keepalive-race has yet to judge (bounded by its own held closes).
        const waiting = candidates.filter((c) => lazyFlows.has(c.flowId));
        reportAll(candidates.filter((c) => !lazyFlows.has(c.flowId)));
        candidates.length = 0;
        candidates.push(...waiting);
      }
      candidates.push(candidate);
    }

    /**
     * A RST in the client's name, the connection's first close, that met a request the server had
     * not finished answering, and whose IP TTL says another hop sent it (host-ttls.ts): a firewall
     * that rejects with a tcp reset once a connection has carried so many bytes, an IPS, a NAT
     * gateway, cutting the server's side mid-response while the client saw no reset (blind round
     * 17, s08: nginx logged "connection reset by peer", the client stalled until its timeout).
     * Held as the path's, true. A client's own reset (its TTL) is its choice: not held, false.
     * A RST that is the client's only packet is held to be judged at the end by the client
     * host's other connections; held then only as the path's.
     */
    function heldAsClientResetByPath(conn: AnalyzedConnection, ex: HttpExchange, first: ReturnType<typeof firstCloseOf>): boolean {
      const c = conn.client;
      if (c.rstTs < 0 || first === null || !first.byClient || !first.rst || first.ts !== c.rstTs) return false;
      if (ex.requestStart === null || ex.requestStart >= c.rstTs) return false;
      const origin = resetOrigin(hostTtls, c, conn.clientName, 'client');
      if (!origin.fromPath && origin.ttlBasis !== 'none') return false;
      hold({
        flowId: conn.id, client: conn.clientName, server: conn.serverName, ex, rstTs: c.rstTs, rstFrame: c.rstFrame,
        requestAcked: peerAckedAll(c, conn.server),
        resetAcked: false,
        closedBefore: false,
        encrypted: null,
        fastcgi: conn.app !== null && conn.app.fastcgi !== null,
        zeroWindowSince: -1,
        ...origin,
      });
      return true;
    }

    /**
     * An HTTPS connection the server reset (no FIN or close_notify first) while the client's last
     * turn of application data was unanswered (encrypted-request.ts): held like a request, true.
     * The server's RST is itself the failure, so any turn counts, a connection's first or a later one.
     */
    function resetOfEncryptedRequest(conn: AnalyzedConnection, first: ReturnType<typeof firstCloseOf>): boolean {
      const s = conn.server;
      const server = conn.app?.tls?.server;
      if (server === undefined || s.lostBytes > 0 || s.finUnseen || (s.finTs >= 0 && s.finTs <= s.rstTs)) return false;
      if (first === null || first.byClient || !first.rst) return false;
      const turn = encryptedRequests.unansweredOn(conn);
      if (typeof turn === 'string' || turn.start >= s.rstTs) return false;
      // Its close_notify first: the server closed on purpose (an idle close meeting the turn is a keep-alive race).
      if (server.firstAlertTs >= 0 && server.firstAlertTs < s.rstTs) return false;
      if (ctx.reportedOn('keepalive-race', conn.id) || ctx.reportedOn('middlebox-idle-timeout', conn.id)) return false;
      const resetAcked = s.rstHasAck && seqGe(s.rstAck, turn.endSeq);
      hold({
        flowId: conn.id, client: conn.clientName, server: conn.serverName, ex: encryptedExchange(conn, turn), rstTs: s.rstTs, rstFrame: s.rstFrame,
        requestAcked: turn.serverAcked,
        resetAcked,
        closedBefore: !s.rstHasAck && !turn.serverAcked,
        encrypted: turn,
        fastcgi: false,
        zeroWindowSince: zeroWindowAtReset(s),
        ...resetOrigin(hostTtls, s, conn.serverName, 'server'),
      });
      return true;
    }

    /**
     * On an HTTPS connection whose client's last turn the server answered: where that answer began
     * (its latest turn), else null.
     */
    function answeredTurnOf(conn: AnalyzedConnection): number | null {
      const server = conn.app?.tls?.server;
      if (server === undefined || server.turns === 0) return null;
      return encryptedRequests.unansweredOn(conn) === 'answered' ? server.turnStartTs : null;
    }

    /** Each server's latest response start among connections that ended without a tracked failure. */
    const lastAnswered = new Map<string, number>();
    /** The first answer of each such connection and when it was opened: new connections served after a burst (servedNewAfter). Bounded ring. */
    const firstAnswers = new AnswerRing();

    /** Every server's resets being reported (reportAll), to see another port of the same host reset with a burst. */
    let allResets: readonly Candidate[] = [];

    /** The wait a reset cut: from the request's end (or start) to the reset. */
    const waitOf = (c: Candidate): number => c.rstTs - (c.ex.requestEnd ?? c.ex.requestStart ?? c.rstTs);

    /**
     * Resets at one moment that were workers killed at a per-request time limit's check, not a
     * dying process (worker-limits.ts): every request received whole and unanswered, each reset at
     * least MIN_WORKER_TIME_LIMIT after it was sent and all within one tick of each other, no
     * connection refused after and a new connection served within SERVED_AFTER_KILLS_WITHIN. How
     * many new connections it served; null when not such a burst.
     */
    function killedAtTimeLimit(server: string, burst: readonly Candidate[]): number | null {
      if (!burst.every(killedAlone) || !agesFitTickedLimit(burst.map(waitOf))) return null;
      const end = burst[burst.length - 1].rstTs;
      // Resets on another port of the same host in the same moment: one process held both listeners
      // and died (reset-before-response-tls-killed: a SIGKILLed server's two TLS ports, its
      // successor up 1.16 s later); a time limit kills a worker of one pool.
      const window = ctx.options.resetBurstWindow;
      const host = hostOf(server);
      if (allResets.some((c) => c.server !== server && hostOf(c.server) === host && c.rstTs >= burst[0].rstTs - window && c.rstTs <= end + window)) return null;
      if (stops.firstRefusalAfter(server, end) !== null) return null;
      const served = firstAnswers.answeredDuring(server, end, end + SERVED_AFTER_KILLS_WITHIN, new Set(burst.map((c) => c.flowId)));
      return served !== null && served.newConnections > 0 ? served.newConnections : null;
    }

    function diagnoseWorkerKills(server: string, list: ReadonlyArray<{ candidate: Candidate; finding: Finding }>, servedNew: number): void {
      const lines = [...new Set(list.map(({ candidate: c }) => requestLine(c.ex)))];
      const about = ` (${lines.slice(0, 3).join(', ')}${lines.length > 3 ? ', …' : ''})`;
      const killed = list.map(({ candidate: c }) => ({ ts: c.rstTs, wait: waitOf(c), frame: c.rstFrame, acked: c.requestAcked || c.resetAcked }));
      const words = workerKillsDiagnosis(server, about, killed, servedNew, 'reset');
      ctx.diagnose({ server, count: list.length, ...words, anomalyIds: list.map(({ finding }) => finding.id) });
    }

    /**
     * Where the server's port refused connections right after the burst (within STOPPED_WITHIN,
     * ServerStops): the same stop took its listener, and the connection-refused diagnosis is its outage.
     */
    function refusedRightAfter(server: string, end: number): string {
      const refused = stops.firstRefusalAfter(server, end);
      return refused === null
        ? ''
        : ` Its port refused connections from ${refused - end < 0.0005 ? 'less than 1 ms' : `${ms(refused - end)} s`} after the last reset ` +
          '(the connection-refused diagnosis): the same stop, which took its listener with it.';
    }

    function diagnose(server: string, burst: Candidate[], findings: Finding[], spread: number, idle: number): void {
      // Each reset counted once: uploads still arriving, then requests received, closed before, unacknowledged.
      const arriving = burst.filter((c) => c.ex.state === 'request-incomplete').length;
      const whole = burst.filter((c) => c.ex.state !== 'request-incomplete');
      const acked = whole.filter((c) => c.requestAcked || c.resetAcked).length;
      const closedBefore = whole.filter((c) => c.closedBefore).length;
      const unacked = whole.length - acked - closedBefore;
      const end = burst[burst.length - 1].rstTs;
      const servedAfter = (lastAnswered.get(server) ?? -Infinity) > end;
      const idleNote =
        idle > 0
          ? ` In the same moment it closed ${idle} idle connection${idle === 1 ? '' : 's'} that had nothing outstanding: ` +
            (servedAfter ? 'a process that stopped listening and closed what it held, or the kernel closing the sockets of one that exited.' : 'the kernel closing every socket of a process that exited.')
          : '';
      // The port went on answering: another process held it (a reload or a restart), and those that
      // never got an answer were the old one's, some perhaps never accepted (reload-haproxy: HAProxy
      // without a listening-socket hand-over closed its listener with 11 connections in its accept
      // queue, their requests sent; the kernel reset them all).
      // Every reset connection had carried earlier requests: the old process had accepted each long
      // before, and went away holding it with a new request unread (reload-apache-graceful: Apache's
      // `-k restart` closed kept-alive connections whose requests it had not read, and the kernel
      // reset them), no accept queue involved.
      const heldOnly = burst.every((c) => c.ex.index > 1);
      // Apache's restart commands only where its responses named Apache.
      const apache = /apache/i.test(software.softwareOf(server) ?? '');
      const refusedAfter = refusedRightAfter(server, end);
      const takenOver = !servedAfter
        ? ''
        : heldOnly
          ? ` ${server} went on answering new connections afterwards: another process held the port — a restart or reload whose old process went away ` +
            'holding kept-alive connections with new requests it had not read (a socket closed with unread data is reset): a restart that does not drain ' +
            (apache ? '(Apache `-k restart` or SIGHUP, where `-k graceful` lets children finish)' : '(the old process killed or exiting without finishing them)') +
            ', or a stop that kills its workers before they are done.'
          : ` ${server} went on answering new connections afterwards: another process held the port — a reload or a restart in which the old process ` +
            'closed its listening socket with connections still in its accept queue (the kernel resets those, their requests sent and never read) or went away ' +
            'with requests in hand; HAProxy does this on a reload without a hand-over of its listeners (`expose-fd listeners` on the stats socket and `-x`, or ' +
            'a master-worker reload), any server on a restart that closes its listener before the new one takes over (SO_REUSEPORT listeners, `net.ipv4.tcp_migrate_req`).';
      const spreadText = `${microsAsMs(spread)} ms`;
      const counts =
        (acked > 0 ? ` ${burst.length === 1 ? 'The request' : `${acked} of the requests`} had been received: the server's kernel had ${burst.length === 1 ? 'it' : 'them'}, its application never answered.` : '') +
        (arriving > 0 ? ` ${arriving} of them were still arriving, their bodies not all sent: uploads cut off in the middle.` : '') +
        (closedBefore > 0
          ? ` ${closedBefore} of them met a RST without ACK that did not acknowledge them: the socket was already closed when the request came,` +
            ` and its FIN is not in this capture (a process that exits closes its idle connections with FIN and resets what arrives after;` +
            ` the FIN may have been dropped by the capture or lost on the path, or the socket went without one: a host, container or middlebox state gone).`
          : '') +
        (unacked > 0 ? ` ${unacked} of the requests had not been acknowledged.` : '');
      ctx.diagnose({
        server,
        count: burst.length,
        inferred: {},
        explanation:
          (burst.length === 1
            ? `1 connection to ${server} carrying an unanswered request was reset by the server.${counts}${idleNote}${takenOver} `
            : `${burst.length} connections to ${server} carrying unanswered requests were reset by the server within ${spreadText}.${counts}${idleNote}${takenOver} `) +
          (closedBefore < burst.length
            ? `Resets ${burst.length === 1 ? 'amid idle closes' : 'of many connections at once'}, with no FIN first, are what a kernel does when the process that owns them dies — a crash, an OOM kill, ` +
              `a kill -9, or a restart/reload that does not drain its connections — or when the application aborts its sockets on purpose (SO_LINGER 0).` +
              (burst.every((c) => c.fastcgi)
                ? ' These were FastCGI connections: PHP-FPM checks `request_terminate_timeout` about once a second and kills every worker past it at that check, so several requests killed at once is that limit too ("execution timed out" in its log), not only a restart.'
                : '')
            : `Sockets closed before requests came, many at once: a restart whose FINs this capture does not show, or idle closes meeting reused connections ` +
              `(keep-alive races) with their FINs missing.`) +
          refusedAfter,
        remedy:
          (servedAfter
            ? `Check what replaced ${server}'s process at that time: a reload (its log, the service manager's history) or a restart after a crash (the old process's exit status, \`dmesg\` for the OOM killer). ` +
              (heldOnly
                ? `Restart gracefully, so that the old workers finish what their kept-alive connections brought${apache ? ' (Apache: `apachectl -k graceful`, not `-k restart`)' : ''}. `
                : 'Reload with the listening sockets handed over (HAProxy: `expose-fd listeners` and `-x`, or master-worker mode), or drain the old listener before closing it. ')
            : `Check ${server}'s process at that time: its logs and exit status, \`dmesg\` for the OOM killer, the service manager's restart history. `) +
          `Make restarts graceful (stop accepting, finish in-flight requests, then exit), and let clients retry idempotent requests that were reset.` +
          (closedBefore > 0 ? ` Where the sockets were closed before the requests came, check whether the capture dropped packets (tcpdump's "dropped by kernel"): a FIN it missed makes a keep-alive race look like this.` : ''),
        anomalyIds: findings.map((f) => f.id),
      });
    }

    return {
      onExchange(ex, conn) {
        if (ex.uncertain || ex.requestStart === null) return;
        // A request still arriving (its head or body unfinished) when the server reset counts too: a
        // server that dies during an upload resets it like any other. One the server had answered
        // already (an early 413 or 401 to an upload) is rst-on-close's case.
        const arriving = ex.state === 'request-incomplete' && ex.responseStart === null;
        if (ex.state !== 'no-response' && ex.state !== 'response-incomplete' && !arriving) return;
        if (tracked.has(conn.id)) return;
        const previous = conn.app?.recent.find((e) => e.index === ex.index - 1);
        // A reused connection whose previous response was not read whole (lost bytes), or whose
        // Connection field the snaplen cut off with the server's close right behind it
        // (closeMayBeAnnounced): when it ended, or whether the server meant to keep the connection,
        // is unknown, so a reset here may be the server's idle timer meeting the request (a
        // keep-alive race, which keepalive-race cannot judge either) as well as a dying server.
        // Neither is said.
        // A previous response whose holes all lay inside its body ended where its framing says (endKnownDespiteLoss).
        // Unless the client sent this request after that response had ended, which a client told to
        // close does not do (reusedAfterCutHead): then the finding says the notice was unseen.
        if (previous !== undefined && (!endKnownDespiteLoss(previous, conn) || (previous.responseCloseUnknown === true && closeMayBeAnnounced(previous, conn) && !reusedAfterCutHead(previous, ex, conn)))) return;
        tracked.set(conn.id, {
          ex,
          afterCloseNotice: previous?.responseClose === true,
          answeredUntil: Math.max(ex.requestEnd ?? ex.requestStart, previous?.responseEnd ?? -Infinity),
        });
      },

      onConnectionEnd(conn) {
        software.note(conn);
        const s = conn.server;
        const t = tracked.get(conn.id);
        tracked.delete(conn.id);
        const first = firstCloseOf(conn);
        if (t === undefined && conn.app?.tls != null && s.rstTs >= 0 && resetOfEncryptedRequest(conn, first)) return;
        if (t === undefined) {
          // When the server last answered: after a burst of resets, it tells a listener taken over
          // (a reload, a restart) from a service that stayed down. Bounded by the servers kept.
          const recent = conn.app?.recent;
          const answered = recent !== undefined && recent.length > 0 ? recent[recent.length - 1].responseStart : answeredTurnOf(conn);
          if (answered !== null && answered !== undefined && (lastAnswered.has(conn.serverName) || lastAnswered.size < MAX_SERVERS)) {
            if (answered > (lastAnswered.get(conn.serverName) ?? -Infinity)) lastAnswered.set(conn.serverName, answered);
          }
          const firstAnswered = recent !== undefined && recent.length > 0 ? recent[0].responseStart : answered;
          if (firstAnswered !== null && firstAnswered !== undefined) {
            const server = firstAnswers.serverIndex(conn.serverName);
            if (server >= 0) firstAnswers.note(server, conn.id, firstAnswered, conn.client.synTimes.length > 0 ? conn.client.synTimes[0] : -Infinity);
          }
          // A server close with nothing outstanding: context for bursts (a dying process closes these too).
          // Not one its last response announced (Connection: close): the server's ordinary close after
          // it; nor a refused attempt (a SYN answered by RST): no connection the process held.
          const refused = s.synAckCount === 0 && conn.client.synCount > 0;
          if (first !== null && !first.byClient && !conn.serverCloseAnnounced && !refused) {
            let list = idleCloses.get(conn.serverName);
            if (list === undefined) {
              if (idleCloses.size >= MAX_SERVERS) return;
              idleCloses.set(conn.serverName, (list = { times: [], start: 0, count: 0 }));
            }
            // Full: the older half goes (see IdleCloses), by arithmetic every call runs. Until the
            // ring is full the store appends (start 0, index count = length).
            const dropped = list.count >= MAX_IDLE_CLOSES_PER_SERVER ? IDLE_CLOSES_DROPPED : 0;
            list.start = (list.start + dropped) % MAX_IDLE_CLOSES_PER_SERVER;
            list.count -= dropped;
            list.times[(list.start + list.count) % MAX_IDLE_CLOSES_PER_SERVER] = first.ts;
            list.count++;
          }
          return;
        }
        if (!t.afterCloseNotice && heldAsClientResetByPath(conn, t.ex, first)) return;
        // The client closed first on this view: with both sides of a NAT captured, its translated
        // view may show the path reset the server's side in the client's name (judged at the end:
        // either view may end first).
        if (!t.afterCloseNotice && first !== null && first.byClient && (t.ex.requestStart ?? Infinity) < first.ts && twinWaiting.size < MAX_CANDIDATES) {
          twinWaiting.set(conn.id, { flowId: conn.id, client: conn.clientName, server: conn.serverName, ex: t.ex, closeTs: first.ts, requestAcked: peerAckedAll(conn.client, s), fastcgi: conn.app !== null && conn.app.fastcgi !== null });
        }
        if (t.afterCloseNotice || s.rstTs < 0) return;
        // Server bytes the capture missed, or unparsed server bytes after an unanswered request:
        // the capture cannot vouch that nothing was answered.
        // Server bytes lost from the capture could hide an answer; bytes the snaplen cut from seen segments cannot.
        // Lost bytes that all lie before the request (inside an earlier download: holesBefore) hide no
        // answer to it; bytes unseen before the server's RST (Endpoint.unseenBeforeRst) may be it.
        if (((s.lostBytes > 0 || s.unseenBeforeRst) && !lostBeforeRequest(t.ex, conn)) || (t.ex.state === 'no-response' && s.lastDataTs > t.answeredUntil)) return;
        if (s.finTs >= 0 && s.finTs <= s.rstTs) return; // FIN first: a close, then a reset of late data
        if (s.finUnseen) return; // so too after a FIN the capture missed (Endpoint.finUnseen)
        if (first === null || first.byClient || !first.rst) return; // the client gave up (or closed) first
        const ex = t.ex;
        if ((ex.requestStart ?? Infinity) >= s.rstTs) return; // sent after the reset: not outstanding
        // A reused connection reset by the server's idle close as the request arrived: keepalive-race
        // (closed-on-arrival) has spoken for it (it runs first, see the registry).
        if (ctx.reportedOn('keepalive-race', conn.id)) return;
        // A reset in the server's name from a middlebox that forgot the connection (another IP TTL).
        if (ctx.reportedOn('middlebox-idle-timeout', conn.id)) return;
        // The listener refused the connection as its first data arrived (a full accept queue with
        // tcp_abort_on_overflow = 1): no socket was ever closed, accept-queue-overflow (run first) said so.
        const requestAcked = peerAckedAll(conn.client, s);
        if (!requestAcked && !s.rstHasAck && ctx.reportedOn('accept-queue-overflow', conn.id)) return;
        const resetAcked = peerResetAfterReceivingAll(conn.client, s);
        hold({
          flowId: conn.id, client: conn.clientName, server: conn.serverName, ex, rstTs: s.rstTs, rstFrame: s.rstFrame,
          requestAcked,
          resetAcked,
          closedBefore: !s.rstHasAck && !requestAcked, // (a reset that acknowledged the request has ACK)
          encrypted: null,
          fastcgi: conn.app !== null && conn.app.fastcgi !== null,
          zeroWindowSince: zeroWindowAtReset(s),
          ...resetOrigin(hostTtls, s, conn.serverName, 'server'),
          ...cutNoticeEvidence(ex, conn),
        });
      },

      onFinish() {
        for (const w of twinWaiting.values()) {
          const twin = hostTtls.twinPathReset(w.flowId);
          if (twin === undefined || twin.rstTs > w.closeTs || (w.ex.requestStart ?? Infinity) >= twin.rstTs) continue;
          hold({
            flowId: w.flowId, client: w.client, server: w.server, ex: w.ex, rstTs: twin.rstTs, rstFrame: twin.rstFrame,
            requestAcked: w.requestAcked, resetAcked: false, closedBefore: false, encrypted: null, fastcgi: w.fastcgi, zeroWindowSince: -1,
            fromPath: true, rstTtl: twin.rstTtl, serverTtl: twin.ownTtl, serverTtlText: twin.ownTtl >= 0 ? String(twin.ownTtl) : '', ttlBasis: 'connection',
            resetIn: 'client', senderHost: hostOf(w.client), seenPastTranslation: true,
          });
        }
        twinWaiting.clear();
        // keepalive-race (run first) has released its lazy closes on arrival: a race it found is not a dying worker.
        // accept-queue-overflow (run first) took, at its end, the fresh connections a connection limit reset as it accepted them.
        reportAll(candidates.filter((c) => !(lazyFlows.has(c.flowId) && ctx.reportedOn('keepalive-race', c.flowId)) && !ctx.reportedOn('accept-queue-overflow', c.flowId)));
        candidates.length = 0;
      },
    };
  },
};
