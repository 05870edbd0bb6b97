import { FASTCGI_READ_TIMEOUTS } from '../known-timeouts';
import type { DetectContext, DetectorDefinition } from '../detector';
import type { EvidenceValue, Finding, InferredValue } from '../finding';
import { at, isoTime, microsAsMs, ms } from '../facts';
import type { OwnHandlerTimeouts, ServerIdentity } from '../known-timeouts';
import { RefusalsDuring } from '../refusals-during';
import { GatewayClaims, sharedGatewayClaims } from '../gateway-claims';
import { APACHE_QUEUE_SETTINGS, gatewayErrorCauses, KNOWN_REQUEST_TIMEOUTS, lateProxyTimerNote, LIBRARY_PROXY_READ_TIMEOUTS, matchKnown, NGINX, NO_SERVER_HEADER, ownHandlerTimeouts, passedOnNote, proxyQueueSettings, proxyUpstreamTimeouts, SHUTDOWN_GRACE_SETTINGS } from '../known-timeouts';
import { agreedGrace, inferTimeout } from '../infer-timeout';
import { attemptWaits, clusterByDelay, FAST_GATEWAY_FAILURE, PairedFailure, sharedProxyLegs, type UnfinishedBody } from '../proxy-legs';
import { SERVER_SOFTWARE, ServerSoftware, viaComment } from '../server-software';
import { sharedProxyWaitsLeft } from './unanswered-request';


/** Where proxies set how long they wait for an HTTP backend's response. */
const HTTP_READ_TIMEOUTS =
  `nginx proxy_read_timeout, HAProxy timeout server, Envoy route timeout, Apache ProxyTimeout or ProxyPass timeout=, Varnish first_byte_timeout, Squid read_timeout, Caddy response_header_timeout, Traffic Server proxy.config.http.transaction_no_activity_timeout_out, h2o proxy.timeout.io, nghttpx --backend-read-timeout, tinyproxy Timeout, lighttpd proxy.server "read-timeout", ${LIBRARY_PROXY_READ_TIMEOUTS}`;
/**
 * gateway-timeout: a proxy answers 502/503/504 after a delay that clusters at a fixed value — its
 * upstream timeout gave up on a backend that did not answer in time.
 *
 * Each such answer is a finding when its delay is shared by at least one other gateway error at
 * the same endpoint (a timer, not chance), or when it is a 504 (which says "timeout" itself).
 * When both legs are in the capture, the client's request is paired with what the proxy did
 * upstream meanwhile (see proxy-legs.ts): a forwarded request left unanswered (read timeout) or a
 * backend connection that never carried it (connect timeout). A proxy that sent nothing upstream
 * at all is no-upstream-connect's case, and a backend's own error relayed by the proxy is not a
 * proxy timeout: both are left out here, and so is an error the proxy gave right after the backend
 * closed or refused the upstream connection (it relayed that close; no timer of its own fired), or
 * after its own client had closed the connection (the client's timeout; the proxy only followed).
 *
 * A reload is no timer either: a proxy that is reloaded or restarted closes its idle client
 * connections at one moment (ProxyLegs.reloadDuring) and lets requests in flight finish, until its
 * old process is stopped (HAProxy `hard-stop-after`, nginx `worker_shutdown_timeout`): a request
 * still waiting for its backend then is answered 502 and its upstream connection closed, as a read
 * timeout would, but at the reload's grace after that moment (reload-haproxy). Such an error is
 * told as the reload's, with that grace.
 */

/**
 * `waited`: a 502, or a 503 whose answers name a proxy (a `Via`, or the `Server` of one that answers
 * 503 for its upstream: Varnish, Envoy, Squid), after a real wait (past FAST_GATEWAY_FAILURE), its
 * upstream out of sight, from a proxy other than nginx. A failure its client saw, as a 504 is, but
 * its cause is not in the client leg: a timer of the proxy's that answers that status (Caddy's
 * dial_timeout, Varnish's first_byte_timeout, Traffic Server's connect attempts), or its backend
 * ending the connection without a response after that time (a worker killed at its time limit:
 * h2o's 502 for uWSGI's harakiri). Lone, or several sharing a delay: a proxy that retries (Caddy
 * re-sending a GET, Traffic Server's connect attempts) waits the attempts' sum, so a shared delay
 * is no single timer of the proxy's either (blind round 13: "a timer of 8.002 s" that was two 4 s
 * harakiri kills). A 503 with no proxy named is an application's as often (it answers 503 itself).
 *
 * `ended`: an error of a proxy whose timers answer another status, its upstream out of sight: nginx
 * answers 504 when proxy_read_timeout or proxy_connect_timeout fires, and 502 when its backend
 * ended the connection (FIN or RST) without a response ("upstream prematurely closed connection")
 * or refused it. A 502 of nginx's after a delay that clusters is the backend's time (a Go handler
 * outliving its http.Server WriteTimeout, which then closes without writing; a worker killed at its
 * time limit), not a proxy timer's (nginx-502-go-writetimeout, its client leg alone).
 */
type Phase = 'read' | 'connect' | 'opaque' | 'invisible' | 'ended' | 'waited';

function isGatewayPhase(phase: PairedFailure['phase']): phase is Exclude<Phase, 'ended' | 'waited'> {
  return phase === 'read' || phase === 'connect' || phase === 'opaque' || phase === 'invisible';
}

const TIMEOUT_NAME: Record<Phase, string> = {
  read: 'proxyReadTimeout',
  connect: 'proxyConnectTimeout',
  opaque: 'upstreamTimeout',
  invisible: 'upstreamTimeout',
  ended: 'backendEndedAfter',
  waited: 'gatewayErrorAfter',
};

/**
 * How far (a fraction of a cluster's value) waits of the same phase left out of it may lie and
 * still make it chance when they outnumber it (see onFinish).
 */
const SPREAD_AROUND_CLUSTER = 0.5;

/**
 * Errors other than 504 whose upstream the capture does not show prove a timer only by their delays:
 * a set that agrees must hold at least this share of the proxy's such errors. nginx answers 502
 * for a backend that reset a kept-alive connection (no timer at all): two of four such 502s 79 ms
 * after their requests, the other two 24 ms, made a "79 ms proxy timer".
 */
const INVISIBLE_AGREEING_SHARE = 2 / 3;
// Only errors after a real wait are counted in that share (and only they are candidates): an error
// within FAST_GATEWAY_FAILURE is no timer's (a refused backend, one the proxy marked down, a pooled
// connection reset under the request: intermittent-5xx's fast 502s). Varnish's three 503s at once
// for a backend it held down beside three at its 3 s first_byte_timeout had made that timer "chance".

/** The share of a retrying proxy's attempts that must agree to name its per-attempt timeout. */
const ATTEMPTS_AGREEING = 0.9;


/**
 * 504s kept whose request the capture does not show (it began, or `--since` cut, while the request
 * waited; or the request fell in a capture hole): past this many, only counted.
 */
const REQUESTLESS_KEPT = 10_000;

/** Connections with a 503 whose naming is kept for proxyNamed503 (one per failed connection; past this, the endpoint's naming). */
const FLOW_NAMES_KEPT = 10_000;

/** A 504 answering a request the capture does not show: only its time and where it went are known. */
interface Requestless504 {
  flowId: number;
  client: string;
  server: string;
  ts: number;
  frame: number;
  index: number;
}

/** A 5xx the proxy gave after a real wait, in a phase this detector owns. */
type Candidate = Omit<PairedFailure, 'phase'> & { phase: Phase; delay: number };

/** The waits of a paired failure's upstream attempts that the capture shows the end of. */
function knownAttemptWaits(p: Omit<PairedFailure, 'phase'>): number[] {
  return attemptWaits(p).filter((w): w is number => w !== null);
}


/**
 * The body the client had not finished sending when the proxy gave up (read, or unseen upstream),
 * or null: the backend of such a request waits for the rest of its body, however fast it is, and
 * the proxy's upstream timer (which a proxy that streams the body runs from the head it forwarded)
 * fires on that wait. A forwarded copy that stopped short says the same when the client's leg is
 * not in sight of it. A connect timeout is the connection's, whatever the body.
 */
function bodyShortOf(p: Candidate): UnfinishedBody | { sent: null; declared: null } | null {
  if (p.phase === 'connect' || p.phase === 'ended' || p.phase === 'waited') return null;
  if (p.failure.bodyShort !== null) return p.failure.bodyShort;
  return p.legRequest?.bodyUnfinished === true ? { sent: null, declared: null } : null;
}

/** "10 of 100 body bytes", "10 body bytes of a chunked body", or "part of the body" for a forwarded copy. */
function bodyShortText(b: UnfinishedBody | { sent: null; declared: null }): string {
  if (b.sent === null) return 'the proxy forwarded only part of the body';
  return b.declared !== null ? `${b.sent} of ${b.declared} body bytes sent` : `${b.sent} bytes of a chunked body sent, no last chunk`;
}

/** Seconds from the end of the upstream request to the proxy closing that connection, when it did. */
function upstreamWait(p: Omit<PairedFailure, 'phase'>): number | null {
  const leg = p.leg;
  const r = p.legRequest;
  if (leg === null || r === null || leg.closedBy !== 'proxy' || !Number.isFinite(leg.closeTs)) return null;
  return leg.closeTs - (r.end ?? r.start);
}

interface Reported {
  paired: Candidate;
  finding: Finding;
}

/** Every request went to a FastCGI backend (PHP-FPM): the proxy's FastCGI read timeout, not its HTTP one. */
function fastcgiOnly(reported: readonly Reported[]): boolean {
  return reported.every((r) => r.paired.leg?.fastcgi === true);
}

/** A proxy's reload during a request it failed, and the failure's delay after it (ProxyLegs.reloadDuring). */
interface CutAtReload {
  paired: Candidate;
  reloadTs: number;
  idleCloses: number;
}

export const gatewayTimeout: DetectorDefinition = {
  id: 'gateway-timeout',
  meta: {
    description:
      'A proxy answered 502/503/504 after a delay that clusters at a fixed value: its upstream timeout gave up on a backend that did not answer in time.',
    severity: 'error',
    messages: {
      read:
        '{request} answered {status} by the proxy after {delay} s: it had forwarded the request to {backend} ({leg}) and gave up waiting for the answer',
      readBodyShort:
        '{request} answered {status} by the proxy after {delay} s, its body unfinished ({body}): it had forwarded the request to {backend} ({leg}), ' +
        'which was still waiting for the rest of the body when the proxy gave up',
      connect:
        '{request} answered {status} by the proxy after {delay} s: its connection to {backend} ({leg}) never carried the request (upstream connect timeout)',
      opaque:
        "{request} answered {status} by the proxy after {delay} s, {why}; its upstream traffic meanwhile ({leg}, to {backend}) is not readable HTTP (TLS?)",
      invisible: '{request} answered {status} after {delay} s, {why}: an upstream timeout at the proxy',
      ownHandler:
        '{request} answered {status} after {delay} s, {why}, by {product} itself as far as the capture shows (no connection of its to any other server in it): ' +
        'a handler of its own that outlived its timer (a CGI script), or an upstream timeout out of sight',
      ended:
        '{request} answered {status} by nginx after {delay} s, {why}: nginx answers 502 when its backend ends the connection without a response ' +
        '(its own timeouts answer 504), so the backend ended it after that time (its upstream connections are not in the capture)',
      waited:
        '{request} answered {status} by the proxy after {delay} s, {why}: a gateway error after a real wait, its upstream connections not in the capture ' +
        '(a timer of the proxy\'s, or its backend ending the connection without a response)',
      invisibleBodyShort:
        '{request} answered {status} after {delay} s, {why}, its body unfinished ({body}): an upstream timeout at the proxy while its backend waited for the rest of the body',
      requestUnseen:
        'a 504 from {server} answered a request the capture does not show (sent before the capture or its time window began, or lost by it): ' +
        'a proxy gave up waiting for its backend; how long it waited is not in the capture',
      reload:
        '{request} answered {status} by the proxy {sinceReload} s after it was reloaded or restarted (it closed {closes} idle connections at one moment): ' +
        'it had forwarded the request to {backend} ({leg}) and cut it when its old process stopped',
    },
  },
  create(ctx: DetectContext) {
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());
    /**
     * The upstream timeouts of the proxy at `server` when its answers name it (nginx's own 504 says
     * `Server: nginx`); none when some of its answers name no software beside those naming one: a
     * proxy that passes its backend's header on (HAProxy) answered the errors itself.
     */
    const ownUpstreamTimeouts = (server: string, connectOnly = false): string | null =>
      software.of(server)?.passedOn === true ? null : proxyUpstreamTimeouts(software.softwareOf(server), connectOnly);
    /** The proxy at `server` is nginx answering on its own (not passing a backend's `Server` on): its 502s are no timer's (Phase `ended`). */
    const nginxOwnErrors = (server: string): boolean => software.of(server)?.passedOn !== true && NGINX.test(software.softwareOf(server) ?? '');
    /**
     * A 503 of `server`'s is a proxy's own when its answers name a proxy: a `Via` entry, or the
     * `Server` of one that answers 503 for its upstream (gatewayErrorCauses: Varnish, Envoy, Squid,
     * Apache's mod_proxy), or when they name no software at all: HAProxy's own 503 carries no
     * `Server` (blind 14 S2c, S6b: its lone 503s after 4.5 s and 1.5 s went unreported), where an
     * application server names itself (gunicorn, uvicorn, Kestrel, Jetty: their overload 503s stay
     * out). An application answers 503 itself (overloaded, in maintenance, a dependency down), and
     * nginx's slow 503 is its backend's, passed on (its timers answer 504, its backend's end 502).
     */
    const proxyNamed503 = (server: string, flowId: number): boolean => {
      // The 503's own connection first: a proxy passes its backend's `Server` on (Apache's mod_proxy,
      // HAProxy), so the endpoint's first named answer may be the backend's while this error is the
      // proxy's (blind 14 S2d: Apache's 503 beside its backend's 200s).
      const own = flowNames.get(flowId);
      // A head the snaplen cut names nothing for want of its bytes, not for want of a Server field.
      if (cut503.has(flowId) && (own === undefined || own === null)) return false;
      if (own !== undefined) return own === null || own.fromVia || gatewayErrorCauses(own.software, 503) !== null;
      const identity = software.of(server);
      if (identity === null) return software.softwareOf(server) === NO_SERVER_HEADER;
      if (identity.fromVia) return true;
      // Two writers, this 503's connection not kept: the endpoint's named software is a backend's.
      if (identity.passedOn === true) return false;
      return gatewayErrorCauses(identity.software, 503) !== null;
    };
    /**
     * The software whose own errors these are: NO_SERVER_HEADER where the endpoint's answers show two
     * writers (ServerIdentity.passedOn): the `Server` they name is the backend's, passed on, and the
     * errors that name nothing are the proxy's (HAProxy's), not that software's.
     */
    const ownName = (server: string): string | null => (software.of(server)?.passedOn === true ? NO_SERVER_HEADER : software.softwareOf(server));
    /**
     * What the connections of `reported` named (their first answer that named any), when every one
     * is known and all agree: an identity, or null for none named; undefined otherwise.
     */
    function flowsNamed(reported: readonly Reported[]): ServerIdentity | null | undefined {
      let common: ServerIdentity | null | undefined;
      for (const r of reported) {
        const own = flowNames.get(r.paired.failure.flowId);
        if (own === undefined) return undefined;
        if (common === undefined) common = own;
        else if ((common === null) !== (own === null) || (common !== null && own !== null && common.says !== own.says)) return undefined;
      }
      return common;
    }
    const refusals = new RefusalsDuring(() => ctx.findings('connection-refused'));
    /**
     * What each connection that carried a 503 named in its answers (null: nothing), at its end; at
     * most FLOW_NAMES_KEPT, past which the endpoint's naming stands in.
     */
    const flowNames = new Map<number, ServerIdentity | null>();
    /** Connections with a 503 not yet ended, at most FLOW_NAMES_KEPT. */
    const with503 = new Set<number>();
    /**
     * Connections whose 503's head the snaplen cut (its framing unseen): the `Server` it may have
     * carried is cut off with it, so its naming nothing tells nothing (at -s 96 Caddy's and a backend's
     * own 503s read as HAProxy's unnamed ones).
     */
    const cut503 = new Set<number>();
    /** Each proxy's gateway errors answered at once, no upstream in sight, told once in its first diagnosis of errors with no upstream in sight. */
    const fastToTell = new Map<string, Candidate[]>();
    const legs = sharedProxyLegs(ctx);
    /**
     * 5xx the proxy sent only after its client had closed the connection (answeredAfterClientClosed:
     * a half-close right behind the request is not giving up): the client gave up first, and the
     * proxy, cancelling the upstream request with it (Go's ReverseProxy cancels it with the
     * client's context), answered into a closed connection. Its delay is the client's timeout, not
     * the proxy's. They are kept in GatewayClaims, shared with unanswered-request.
     */
    const claims = sharedGatewayClaims(ctx);
    // unanswered-request leaves the upstream legs of the read timeouts this detector owns to its diagnosis (GatewayClaims).
    claims.active = true;

    /** unanswered-request's findings by upstream connection, made at the first question (onFinish: all are in). */
    let unansweredByFlow: Map<number, string[]> | null = null;
    function upstreamFindingsOn(flowId: number): readonly string[] {
      if (unansweredByFlow === null) {
        const byFlow = new Map<number, string[]>();
        for (const f of ctx.findings('unanswered-request')) {
          if (f.flowId === null) continue;
          const ids = byFlow.get(f.flowId);
          if (ids === undefined) byFlow.set(f.flowId, [f.id]);
          else ids.push(f.id);
        }
        unansweredByFlow = byFlow;
      }
      return unansweredByFlow.get(flowId) ?? [];
    }
    const upstreamFindingOn = (flowId: number): string | null => upstreamFindingsOn(flowId)[0] ?? null;
    /**
     * syn-unanswered's findings of the proxy connects this detector owns as connect timeouts
     * (GatewayClaims.ownsConnect: it marks them proxyConnectTimeout), by connection; made at the first question.
     */
    let synsByFlow: Map<number, string[]> | null = null;
    function connectFindingsOn(flowId: number): readonly string[] {
      if (synsByFlow === null) {
        const byFlow = new Map<number, string[]>();
        for (const f of ctx.findings('syn-unanswered')) {
          if (f.flowId === null || f.evidence.proxyConnectTimeout !== true) continue;
          const ids = byFlow.get(f.flowId);
          if (ids === undefined) byFlow.set(f.flowId, [f.id]);
          else ids.push(f.id);
        }
        synsByFlow = byFlow;
      }
      return synsByFlow.get(flowId) ?? [];
    }

    /**
     * The timers of `server`'s own handlers that answer `status` (Apache's for a CGI script it runs),
     * when its answers name such a server and the capture shows no upstream leg of its at all: then
     * its own handler's timer leads, a proxy's unseen upstream the other possibility (blind round 17,
     * appservers s07: Apache's own 504 for a CGI script was told "the proxy gave up on its upstream").
     */
    function ownHandlerOf(server: string, status: number | null): OwnHandlerTimeouts | null {
      const handler = status !== null ? ownHandlerTimeouts(ownName(server), status) : null;
      return handler !== null && !legs.upstreamSeen(server) ? handler : null;
    }

    function report(p: Candidate, clustered: boolean): Finding {
      const phase = p.phase;
      const f = p.failure;
      const request = f.method !== null ? `${f.method} ${f.uri ?? ''}`.trim() : 'a request';
      const evidence: Record<string, EvidenceValue> = {
        status: f.status,
        method: f.method,
        uri: f.uri,
        exchangeIndex: f.index,
        requestStart: at(f.requestStart),
        responseStart: at(f.failTs),
        delaySeconds: ms(f.delay),
        delayClustered: clustered,
        upstreamPhase: phase,
        upstreamFlowId: p.leg?.flowId ?? null,
        upstreamLeg: p.leg?.client ?? null,
        upstreamServer: p.leg?.server ?? null,
      };
      if (phase === 'ended') evidence.backendEndedAfter = ms(f.delay);
      if (phase === 'waited' && f.reason !== null && f.reason !== '') evidence.reason = f.reason;
      const frames = [f.requestFrame ?? 0, f.failFrame];
      const bodyShort = bodyShortOf(p);
      if (bodyShort !== null) {
        evidence.requestBodyUnfinished = true;
        evidence.requestBodySent = bodyShort.sent;
        evidence.requestBodyDeclared = bodyShort.declared;
      }
      if (p.retries.length > 0) {
        evidence.upstreamAttempts = 1 + p.retries.length;
        evidence.upstreamAttemptWaits = attemptWaits(p).map((w) => (w === null ? -1 : ms(w)));
        evidence.upstreamRetryFlowIds = p.retries.map((a) => a.leg.flowId);
      }
      if (p.leg !== null) {
        const leg = p.leg;
        const closed = Number.isFinite(leg.closeTs);
        evidence.upstreamClosedBy = leg.closedBy;
        evidence.upstreamClosedWith = leg.closedWith;
        // How the upstream close lines up with the 5xx: a proxy timer closes both at once.
        evidence.upstreamCloseVsResponse = closed ? ms(leg.closeTs - f.failTs) : null;
        // The upstream leg's own finding of this failure (its unanswered request), which this one's diagnosis lists too.
        const upstreamFinding = upstreamFindingOn(leg.flowId) ?? (phase === 'connect' ? connectFindingsOn(leg.flowId)[0] ?? null : null);
        if (upstreamFinding !== null) evidence.upstreamFinding = upstreamFinding;
        if (closed) frames.push(leg.closeFrame);
        if (p.legRequest !== null) {
          const r = p.legRequest;
          evidence.upstreamRequest = r.method !== null ? `${r.method} ${r.uri ?? ''}`.trim() : null;
          evidence.upstreamUriMatched = p.uriMatched;
          evidence.upstreamRequestAfter = ms(r.start - f.requestStart);
          evidence.upstreamWaitSeconds = closed ? ms(leg.closeTs - (r.end ?? r.start)) : null;
          evidence.upstreamAnswered = r.responseStart !== null;
          frames.push(r.frame ?? 0);
        } else {
          evidence.upstreamEstablished = leg.established;
          frames.push(leg.openFrame);
        }
      }
      const data: Record<string, string | number> = {
        request,
        status: f.status ?? '5xx',
        delay: ms(f.delay),
        backend: p.leg?.server ?? '',
        leg: p.leg !== null ? `flow ${p.leg.flowId}, ${p.leg.client}` : '',
        why: clustered ? 'a delay shared by other gateway errors' : phase === 'ended' || phase === 'waited' ? 'no other error sharing its delay' : 'a gateway timeout status',
      };
      const shortMessage = bodyShort !== null && (phase === 'read' || phase === 'invisible');
      if (shortMessage) data.body = bodyShortText(bodyShort);
      const handler = phase === 'invisible' && !shortMessage ? ownHandlerOf(f.server, f.status) : null;
      if (handler !== null) data.product = handler.product;
      const finding = ctx.report({
        flowId: f.flowId,
        client: f.client,
        server: f.server,
        ts: f.failTs,
        message: shortMessage ? `${phase}BodyShort` : handler !== null ? 'ownHandler' : phase,
        data,
        evidence,
        frames,
      });
      noteOwned(finding, p);
      return finding;
    }

    /** The upstream legs of a read timeout this detector owns (GatewayClaims), for claimedUpstream. */
    function noteOwned(finding: Finding, p: Candidate): void {
      if (p.leg === null) return;
      if (claims.ownsRead(p, ctx.options.spreadAbsolute)) ownedFlows.set(finding.id, [p.leg.flowId]);
      else if (claims.ownsConnect(p, ctx.options.spreadAbsolute)) ownedFlows.set(finding.id, GatewayClaims.connectFlows(p));
    }

    /** The reload the proxy went through while `p` waited for its backend, when the error came with the upstream connection's close. */
    function cutAtReload(p: Candidate): CutAtReload | null {
      const leg = p.leg;
      const f = p.failure;
      if (p.phase !== 'read' || leg === null || leg.closedBy !== 'proxy' || !(Math.abs(leg.closeTs - f.failTs) <= ctx.options.spreadAbsolute)) return null;
      const reload = legs.reloadDuring(f.server, f.requestStart, f.failTs);
      return reload === null ? null : { paired: p, reloadTs: reload.ts, idleCloses: reload.closes };
    }

    /** 504s whose request is not in the capture (see Requestless504). */
    const requestless: Requestless504[] = [];
    let requestlessNotKept = 0;

    /**
     * A 504 says "gateway timeout" itself: one whose request the capture missed is still a proxy's
     * upstream timeout a client got, though neither its wait nor the timer's value can be read. A
     * capture started (or a `--since` window set) while requests waited shows only their answers.
     */
    function reportRequestless(): void {
      const byServer = new Map<string, Finding[]>();
      for (const r of requestless) {
        const finding = ctx.report({
          flowId: r.flowId,
          client: r.client,
          server: r.server,
          ts: r.ts,
          message: 'requestUnseen',
          data: { server: r.server },
          evidence: { status: 504, requestSeen: false, exchangeIndex: r.index, responseStart: at(r.ts) },
          frames: [r.frame],
        });
        const list = byServer.get(r.server);
        if (list === undefined) byServer.set(r.server, [finding]);
        else list.push(finding);
      }
      for (const [server, findings] of byServer) {
        // Those past REQUESTLESS_KEPT are counted with the only server there is, else not placed.
        const n = findings.length + (byServer.size === 1 ? requestlessNotKept : 0);
        const first = findings[0].ts;
        const last = findings[findings.length - 1].ts;
        const when = n === 1 ? `at ${isoTime(first)}` : `from ${isoTime(first)} to ${isoTime(last)}`;
        const timeouts = ownUpstreamTimeouts(server) ?? HTTP_READ_TIMEOUTS;
        ctx.diagnose({
          server,
          count: n,
          inferred: {},
          explanation:
            `${server} answered ${n === 1 ? 'a request' : `${n} requests`} with 504 Gateway Timeout ${when}, but the capture does not show ${n === 1 ? 'the request' : 'their requests'}: ` +
            `${n === 1 ? 'it was' : 'they were'} sent before the capture (or the time window given with --since) began, or the capture lost ${n === 1 ? 'it' : 'them'}. ` +
            `A 504 is a proxy's upstream timeout (or a backend's, relayed): it gave up waiting for its backend, but how long ${n === 1 ? 'it' : 'each'} waited, and so the timer's value, is not in the capture.`,
          remedy:
            `Capture (or widen --since to) from before the requests to see how long the proxy waited, and its upstream leg to see whether the backend got the request and what it did. ` +
            `The timers that answer 504: ${timeouts}. Then find why the backend was slow (its logs at that time), or raise the timer if the work legitimately takes longer.`,
          anomalyIds: findings.map((f) => f.id),
        });
      }
    }

    function reportReloadCut(cut: CutAtReload): Finding {
      const finding = reportReloadCutFinding(cut);
      noteOwned(finding, cut.paired);
      return finding;
    }

    function reportReloadCutFinding(cut: CutAtReload): Finding {
      const p = cut.paired;
      const f = p.failure;
      const leg = p.leg;
      const request = f.method !== null ? `${f.method} ${f.uri ?? ''}`.trim() : 'a request';
      const frames = [f.requestFrame ?? 0, f.failFrame];
      if (leg !== null) frames.push(leg.closeFrame);
      return ctx.report({
        flowId: f.flowId,
        client: f.client,
        server: f.server,
        ts: f.failTs,
        message: 'reload',
        data: {
          request,
          status: f.status ?? '5xx',
          sinceReload: ms(f.failTs - cut.reloadTs),
          closes: cut.idleCloses,
          backend: leg?.server ?? '',
          leg: leg !== null ? `flow ${leg.flowId}, ${leg.client}` : '',
        },
        evidence: {
          status: f.status,
          method: f.method,
          uri: f.uri,
          exchangeIndex: f.index,
          requestStart: at(f.requestStart),
          responseStart: at(f.failTs),
          delaySeconds: ms(f.delay),
          delayClustered: false,
          upstreamPhase: p.phase,
          upstreamFlowId: leg?.flowId ?? null,
          upstreamLeg: leg?.client ?? null,
          upstreamServer: leg?.server ?? null,
          proxyReloadedAt: at(cut.reloadTs),
          sinceReload: ms(f.failTs - cut.reloadTs),
          idleClosesAtReload: cut.idleCloses,
        },
        frames,
      });
    }

    /** One diagnosis for the errors a proxy's reloads cut (see the module comment). */
    function diagnoseReloadCuts(server: string, cuts: CutAtReload[]): void {
      const findings = cuts.map(reportReloadCut);
      const graces = cuts.map((c) => c.paired.failure.failTs - c.reloadTs);
      const grace = agreedGrace(graces, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute });
      const lo = ms(Math.min(...graces));
      const hi = ms(Math.max(...graces));
      const range = lo === hi ? `${lo} s` : `${lo}–${hi} s`;
      const statuses = [...new Set(cuts.map((c) => c.paired.failure.status))].join('/');
      const backends = [...new Set(cuts.map((c) => c.paired.leg?.server).filter((b): b is string => b !== undefined))].slice(0, 3);
      const n = cuts.length;
      const settings = SHUTDOWN_GRACE_SETTINGS;
      ctx.diagnose({
        server,
        count: n,
        inferred: grace !== null ? { proxyHardStopAfter: grace } : {},
        explanation:
          `${n} request(s) to ${server} were answered ${statuses} ${range} after the proxy was reloaded or restarted: at that moment it closed ` +
          `its idle client connections all at once, and ${n === 1 ? 'this request, forwarded to ' : 'these requests, forwarded to '}${backends.join(', ') || 'a backend'} before it, ` +
          `${n === 1 ? 'was' : 'were'} still waiting for the answer. The old process cut ${n === 1 ? 'it' : 'them'} when it stopped, ${range} after the reload ` +
          `(its grace for requests in flight: ${settings}), closing the upstream connection with the error. Not an upstream read timeout: ` +
          `the backend was slower than the reload's grace, not than the proxy's timeout.`,
        remedy:
          `Give requests in flight at a reload the time they need: raise the old process's grace (${settings}) above the longest time the backend ` +
          `legitimately takes, or reload less often (not at peak, not for every configuration change). Each reload turns the requests it finds waiting into errors for their clients.`,
        anomalyIds: [...findings.map((f) => f.id), ...upstreamLeft(findings)],
      });
    }

    /**
     * The upstream legs' own findings (unanswered-request's, which it leaves to this diagnosis when
     * their waits infer nothing alone: ProxyWaitsLeft) of the requests these failures forwarded.
     */
    const leftToProxy = sharedProxyWaitsLeft(ctx);
    const upstreamLeft = (findings: readonly Finding[]): string[] =>
      [...new Set([...leftToProxy.on(new Set(findings.flatMap((f) => (typeof f.evidence.upstreamFlowId === 'number' ? [f.evidence.upstreamFlowId] : [])))), ...claimedUpstream(findings)])];
    /**
     * The upstream legs' unanswered-request findings of the read timeouts among `findings` that this
     * detector owns (GatewayClaims.ownsRead): unanswered-request leaves those to this diagnosis.
     */
    const ownedFlows = new Map<string, number[]>();
    const claimedUpstream = (findings: readonly Finding[]): string[] =>
      findings.flatMap((f) => (ownedFlows.get(f.id) ?? []).flatMap((flow) => [...upstreamFindingsOn(flow), ...connectFindingsOn(flow)]));

    /**
     * The proxy's gateway errors answered at once, its upstream out of sight, beside those after a
     * wait (told once per proxy): no timer's, and no backend's time limit, so not counted with them.
     */
    function fastNote(server: string): string {
      const fast = fastToTell.get(server);
      if (fast === undefined || fast.length === 0) return '';
      fastToTell.delete(server);
      const statuses = [...new Set(fast.map((p) => p.failure.status))].join('/');
      const slowest = microsAsMs(Math.max(...fast.map((p) => p.failure.delay)));
      return (
        ` ${fast.length} more answer${fast.length === 1 ? '' : 's'} (${statuses}) from it came at once (within ${slowest} ms of ${fast.length === 1 ? 'its request' : 'their requests'}): no timer's, not counted here, ` +
        `but another failure — a backend that refused the connection or that the proxy had marked down after a failure (Varnish's and Traffic Server's ` +
        `holddown of a sick backend, health checks), or a pooled upstream connection reset under the request.`
      );
    }

    /**
     * For 503s alone, seen from the client leg only: a proxy's queue timeout answers that status
     * after a fixed wait without sending the request upstream at all (HAProxy's `timeout queue`
     * behind a server maxconn, 503 sQ--; Apache's `acquire=`), and their read timeouts answer 504.
     * Blind 13b S8 (client leg): 70 × 503 at 1.002 s named only connect and read timers.
     */
    function queueNote(server: string, reported: readonly Reported[]): string {
      if (!reported.every((r) => r.paired.failure.status === 503)) return '';
      // Only for a proxy that queues so, or one whose answers name nothing (HAProxy's own 503 names
      // none): Varnish answers 503 for its timeouts and queues nothing.
      const name = ownName(server);
      if (name !== null && name !== NO_SERVER_HEADER && !/^haproxy\b|apache/i.test(name)) return '';
      const { settings: q, alsoApache } = proxyQueueSettings(name);
      const queue = `${q.timeout}${alsoApache ? `; ${APACHE_QUEUE_SETTINGS.timeout}` : ''}`;
      const log = `${q.log}${alsoApache ? `; ${APACHE_QUEUE_SETTINGS.log}` : ''}`;
      return (
        ` A 503 after a fixed wait is also a queue timeout: the request waited for a free connection slot to the backend and was never sent upstream (${queue}; ` +
        `its log marks those: ${log}); HAProxy and Apache answer 504, not 503, when their read timeout fires.`
      );
    }

    /**
     * What a proxy's gateway errors after a wait (Phase \`waited\`) tell, and what to do: their cause is
     * a timer of the proxy's or its backend's end, which the client leg does not tell apart; the
     * software its answers name says which timers answer that status and how it retries.
     */
    function waitedText(
      server: string,
      reported: readonly Reported[],
      inferred: InferredValue | null,
      t: { about: string; statuses: string; range: string; n: number },
    ): { explanation: string; remedy: string } {
      // The errors' own connections' naming first (a proxy passing its backend's `Server` on names
      // its own errors apart: Apache's `Server: Apache` 503 beside its backend's 200s).
      const named = flowsNamed(reported);
      const endpoint = software.of(server);
      const name = named === undefined ? ownName(server) : named === null ? NO_SERVER_HEADER : named.software;
      const identity = named === undefined ? endpoint : named;
      const unnamedBeside = named === null && endpoint !== null ? endpoint : null;
      const statusList = [...new Set(reported.map((r) => r.paired.failure.status))];
      const causes = statusList.map((st) => gatewayErrorCauses(name, st ?? 0)).find((c) => c !== null) ?? null;
      const delays = reported.map((r) => r.paired.failure.delay).sort((a, b) => a - b);
      const n = t.n;
      // A wait that is a whole multiple of another: the same time, once per attempt.
      const shortest = delays[0];
      const longest = delays[delays.length - 1];
      const times = Math.round(longest / shortest);
      const multiple = times >= 2 && Math.abs(longest - times * shortest) <= 0.03 * longest;
      const reasons = [...new Set(reported.map((r) => r.paired.failure.reason).filter((x): x is string => x !== null && x !== ''))];
      const connectReason = reasons.find((x) => /connect/i.test(x));
      const retries =
        causes?.retries ??
        'Caddy lb_try_duration and lb_retries, Traffic Server proxy.config.http.connect_attempts_max_retries, Envoy retry_policy, Squid forward_max_tries, HAProxy retries, nginx proxy_next_upstream_tries; Varnish and h2o 2.2 retry no timed-out request';
      const value = inferred !== null ? ms(inferred.value) : null;
      // A known default the wait matches: a hint only, one wait or several alike.
      const basis = value ?? (n === 1 ? delays[0] : null);
      const known = basis !== null ? matchKnown(basis, KNOWN_REQUEST_TIMEOUTS, name).filter((k) => k.side === 'proxy').map((k) => k.name) : [];
      const has503 = statusList.includes(503);
      const refused = refusedMeanwhile(reported);
      const explanation =
        `${n} request(s) to ${server}${t.about} were answered ${t.statuses} after ${t.range}` +
        (inferred !== null ? `, a delay shared by ${inferred.samples} of them` : '') +
        `.${unnamedBeside !== null ? ` ${passedOnNote(unnamedBeside)[0].toUpperCase()}${passedOnNote(unnamedBeside).slice(1)}.` : identity?.passedOn === true ? ` ${passedOnNote(identity)[0].toUpperCase()}${passedOnNote(identity).slice(1)}.` : identity !== null ? ` The answers name the proxy: ${identity.says}.` : name === NO_SERVER_HEADER ? ' The answers name no software (no Server, no Via), as HAProxy\'s own error pages do.' : ''} ` +
        `A gateway error after a real wait is a failure the client saw, as a 504 is, but ${refused === null ? "the capture does not show the proxy's upstream connections" : "the capture does not tell which upstream connections are the proxy's"}, ` +
        `and the client leg alone does not tell its cause: a timer of the proxy's that answers ${t.statuses} gave up on its upstream (connecting, or waiting for the answer), ` +
        `or the backend ended the connection without a response after that time (a worker killed at its time limit, as uWSGI harakiri and gunicorn --timeout kill them; a crash; ` +
        `a Go handler past its http.Server WriteTimeout), which the proxy answers ${t.statuses} as well` +
        (has503
          ? name === NO_SERVER_HEADER
            ? ', or the backend answered 503 itself and the proxy passed it on (where no proxy is in front, an application answered 503 after that time: a Go http.TimeoutHandler answers 503 when its timeout fires, with no Server header)'
            : ', or the backend answered 503 itself and the proxy passed it on'
          : '') +
        `. ${causes !== null ? `${causes.causes}. ` : ''}` +
        (connectReason !== undefined ? `Its reason phrase ("${connectReason}") says the proxy never got a connection to its backend: a connect timeout (times its attempts), or a backend that refused or was unreachable. ` : '') +
        (inferred !== null
          ? `A shared delay does not make it one timer of the proxy's: a backend that ends every request after its own limit gives one too, ` +
            `and a proxy that tries a request again upstream makes its client wait a per-attempt timer (or the backend's time) times its attempts (${retries}). `
          : n === 1
            ? 'One wait names no value. '
            : 'Their delays share no value (a timer checked on a coarse tick, attempts of different lengths, or different causes). ') +
        (multiple
          ? `The longest wait (${ms(longest)} s) is about ${times} times the shortest (${ms(shortest)} s): perhaps the same time spent once per attempt, the proxy trying again upstream. `
          : '') +
        (known.length > 0 ? `The wait matches ${known.join('; ')}${inferred === null ? ' (a hint: one wait)' : ''}.` : '').trimEnd();
      const refusedText =
        refused === null
          ? ''
          : ` The capture holds ${refused.ids.length} refused connect${refused.ids.length === 1 ? '' : 's'} within ${n === 1 ? 'its wait' : 'their waits'} ` +
            `(${refused.ids.slice(0, 5).join(', ')}: SYNs to ${refused.targets.slice(0, 3).join(', ')} answered by RST), most likely the proxy's own attempts from its backend-side address ` +
            `(no forwarded request names that address): its backend refused the connection, and a wait of seconds is then the proxy's pauses between attempts ` +
            `(HAProxy waits min(timeout connect, 1 s) before each retry after a refused connect), not a timer of its.`;
      const own = ownUpstreamTimeouts(server);
      const remedy =
        (refused !== null ? `Find why ${refused.targets.slice(0, 3).join(', ')} refuses connections (nothing listening, or a reject rule), or take it out of the proxy's pool. ` : '') +
        `Read the proxy's error log for these requests: it names the cause (a timeout that fired, an EOF or a reset from the backend, a failed connect) and the attempts it made; ` +
        `or capture its upstream side as well, which shows each attempt and who ended it. ` +
        `If the backend ended the connection, look at the backend for requests that take this long (its log, a worker time limit, a crash): raising a proxy timeout changes nothing then. ` +
        `If a timer of the proxy's fired${own !== null ? ` (${own})` : ''}, find why the backend is slow or unreachable, and raise it only if the backend is legitimately that slow, ` +
        `counting its attempts (${retries}); keep clients' timeouts longer than the proxy's whole wait.`;
      return { explanation: `${explanation.trimEnd()}${refusedText}`, remedy };
    }

    /**
     * connection-refused's findings (a SYN answered by RST) within the waits of `reported`, from
     * another host than each one's client and to another endpoint than the proxy, when every
     * reported error has one: the proxy's own refused attempts, its upstream address unknown (no
     * forwarded request copies one). Blind 14 S2 run0, both legs: HAProxy's 503 after 2.005 s beside
     * its three refused connects 1 s apart, told as "the capture does not show" the upstream.
     */
    function refusedMeanwhile(reported: readonly Reported[]): { ids: string[]; targets: string[] } | null {
      const ids: string[] = [];
      const targets = new Set<string>();
      for (const r of reported) {
        const f = r.paired.failure;
        const within = refusals.within(f.requestStart, f.failTs, f.server, f.client);
        if (within.length === 0) return null;
        for (const x of within) {
          if (!ids.includes(x.id)) ids.push(x.id);
          targets.add(x.server);
        }
      }
      return { ids, targets: [...targets] };
    }

    function diagnose(server: string, phase: Phase, reported: Reported[], inferred: InferredValue | null): void {
      const rangeOf = (values: readonly number[]): string => {
        const a = ms(Math.min(...values));
        const b = ms(Math.max(...values));
        return a === b ? `${a} s` : `${a}–${b} s`;
      };
      const delays = reported.map((r) => r.paired.failure.delay);
      const range = rangeOf(delays);
      // A proxy that tried again upstream after each attempt gave up: its timer is per attempt.
      const retried = reported.filter((r) => r.paired.retries.length > 0);
      const attemptValues = retried.length > 0 ? reported.flatMap((r) => knownAttemptWaits(r.paired)) : [];
      const timerRange = attemptValues.length > 0 ? rangeOf(attemptValues) : range;
      const value = inferred !== null ? ms(inferred.value) : ms(Math.max(...(attemptValues.length > 0 ? attemptValues : delays)));
      const counts = [...new Set(retried.map((r) => 1 + r.paired.retries.length))].sort((a, b) => a - b);
      const retryNote =
        retried.length === 0
          ? ''
          : ` The proxy did not give up after one attempt: it tried ${retried.length === reported.length ? 'each' : `${retried.length} of them`} ` +
            `${counts.join(' or ')} times upstream, each attempt on a new connection once the previous one had timed out after ${timerRange}, ` +
            `so its clients waited the attempts' sum (${rangeOf(retried.map((r) => r.paired.failure.delay))}): the proxy's timeout applies to each attempt.`;
      const retryRemedy =
        retried.length === 0
          ? ''
          : ` The proxy's retries multiply its timeout: lower the number of attempts for requests that time out ` +
            `(Traffic Server: proxy.config.http.connect_attempts_max_retries, 3 by default, and connect_attempts_max_retries_dead_server; ` +
            `nginx: proxy_next_upstream_tries; HAProxy: retries, 3 by default, which it spends on connect failures whatever its retry-on) or the per-attempt timeout, so that clients get an answer within their own timeout.`;
      // Without one shared delay there is no single value to name: the waits only bound it.
      const timeoutClause = (what: string, settings: string): string =>
        inferred !== null
          ? `its upstream ${what} timeout is ${value} s (${settings})`
          : reported.length === 1
            ? `its upstream ${what} timeout (${settings}) fired after ${timerRange} (a single wait: no other confirms it as the setting)`
            : `its upstream ${what} timeout (${settings}) fired after ${timerRange}, waits too spread to name one value ` +
              `(a timer checked on a coarse tick, as Squid's, Traffic Server's and lighttpd's are, or different timeouts for different requests)`;
      const statuses = [...new Set(reported.map((r) => r.paired.failure.status))].join('/');
      // The proxy's own settings when its responses name it (Server: Varnish on its own 503s), not every proxy's.
      const proxyOwn = ownUpstreamTimeouts(server);
      const requests = [...new Set(reported.map((r) => r.finding.evidence.method !== null ? `${String(r.finding.evidence.method)} ${String(r.finding.evidence.uri ?? '')}`.trim() : null))]
        .filter((x): x is string => x !== null)
        .slice(0, 5);
      const about = requests.length > 0 ? ` (${requests.join(', ')})` : '';
      const backends = [...new Set(reported.map((r) => r.paired.leg?.server).filter((s): s is string => s !== undefined))].slice(0, 3);
      // The proxy's own setting, when its responses name it (tinyproxy's 3 s connect is no Caddy dial_timeout).
      const known = inferred !== null ? matchKnown(inferred.value, KNOWN_REQUEST_TIMEOUTS, software.softwareOf(server)).map((k) => k.name) : [];
      // A proxy whose timers fire well after their setting (lighttpd): the waits only bound it.
      const late = lateProxyTimerNote(software.softwareOf(server));
      // A backend's time, not the proxy's: the proxy's known timeouts name nothing (Phase `ended`).
      const knownNote = phase === 'ended' ? '' : (known.length > 0 ? ` This matches ${known.join('; ')}.` : '') + (late !== null ? ` ${late[0].toUpperCase()}${late.slice(1)}.` : '');
      const n = reported.length;
      let explanation: string;
      let remedy: string;
      if (phase === 'read') {
        // A FastCGI backend (PHP-FPM): the proxy's FastCGI read timeout, not its HTTP one.
        const fastcgi = fastcgiOnly(reported);
        const readSettings = fastcgi ? FASTCGI_READ_TIMEOUTS : proxyOwn ?? HTTP_READ_TIMEOUTS;
        const closedTogether = reported.filter((r) => {
          const gap = r.finding.evidence.upstreamCloseVsResponse;
          return typeof gap === 'number' && Math.abs(gap) <= ctx.options.spreadAbsolute;
        }).length;
        explanation =
          `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}. The proxy had forwarded each to ${backends.join(', ')}, ` +
          `which had not answered when the proxy gave up` +
          (closedTogether > 0 ? `, closing ${closedTogether === n ? 'every' : `${closedTogether} of the`} upstream connection(s) at the same moment as the error` : '') +
          `: ${timeoutClause('read', readSettings)}. ` +
          `The backend hung or was too slow for these requests.${fastcgi ? ' It is a FastCGI application (PHP-FPM, say): whatever it did after the proxy gave up, such as finishing or being killed at its own time limit (PHP-FPM `request_terminate_timeout`), its log tells.' : ''}${knownNote}${retryNote}`;
        remedy =
          `Find why ${backends.join(', ') || 'the backend'} is slow for these URIs: its own request log and timings for them, a hung worker, a slow dependency. ` +
          `Raise the proxy's read timeout (${fastcgi ? FASTCGI_READ_TIMEOUTS : proxyOwn ?? 'nginx proxy_read_timeout, HAProxy timeout server, Apache ProxyTimeout or ProxyPass `timeout=`, Varnish first_byte_timeout, Squid read_timeout, Caddy response_header_timeout, Traffic Server proxy.config.http.transaction_no_activity_timeout_out, h2o proxy.timeout.io, nghttpx --backend-read-timeout, tinyproxy Timeout, lighttpd proxy.server "read-timeout", ' + LIBRARY_PROXY_READ_TIMEOUTS}) only if the backend is legitimately that slow. ` +
          `Keep the clients' own timeouts longer than the proxy's ${retried.length > 0 ? `${value} s times its attempts` : `${value} s`}, so that they see the ${statuses} instead of cancelling on their own.${retryRemedy}`;
      } else if (phase === 'connect') {
        // Every attempt of every request unanswered (no SYN-ACK, no RST): the backend was unreachable, not slow to accept.
        const attempts = reported.flatMap((r) => (r.paired.leg !== null ? [r.paired.leg, ...r.paired.retries.map((a) => a.leg)] : []));
        const unreachable = attempts.length >= 2 && attempts.every((leg) => !leg.established && leg.closedBy !== 'backend');
        const perRequest = counts.length === 1 ? counts[0] : null;
        const unreachableNote = !unreachable
          ? ''
          : ` None of the ${attempts.length} attempts got any answer (no SYN-ACK, no RST: the SYNs were dropped on the way to ${backends.join(', ')} or by its host — ` +
            `a firewall DROP rule, a host down or unreachable, a listener whose queue stays full)` +
            // The attempts' own waits, summed: a timer checked on a tick (Traffic Server's) makes them differ.
            (perRequest !== null && perRequest > 1 ? `, and the clients' wait is the sum of the attempts' connect timeouts (${perRequest} attempts of ${timerRange} each: ${range}).` : '.');
        explanation =
          `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}. For each, the proxy opened a connection to ${backends.join(', ')} ` +
          `that never carried the request (the handshake did not complete in time): ${timeoutClause('connect', ownUpstreamTimeouts(server, true) ?? 'nginx proxy_connect_timeout, HAProxy timeout connect, Apache ProxyPass connectiontimeout= (when unset: its timeout=, else ProxyTimeout, else Timeout), Varnish connect_timeout, Squid connect_timeout, or for a cache_peer its connect-timeout= or peer_connect_timeout, Caddy dial_timeout, Envoy cluster connect_timeout, Traffic Server proxy.config.http.connect_attempts_timeout, h2o 2.2 proxy.timeout.io, nghttpx --backend-connect-timeout, tinyproxy Timeout, lighttpd proxy.server "connect-timeout"')}.${knownNote}${retryNote}${unreachableNote}`;
        remedy =
          (unreachable
            ? `Make ${backends.join(', ')} reachable from the proxy — is the host up, is it listening, does a firewall rule (iptables/nftables DROP, a security group) drop SYNs to that port — or take it out of the proxy's pool (health checks) so that requests are not sent to it. ` +
              `Until then every request waits the proxy's connect timeout times its attempts before the error — HAProxy \`timeout connect\` × (\`retries\` + 1), ` +
              `nginx proxy_connect_timeout × proxy_next_upstream_tries, Envoy connect_timeout × (the retry policy's num_retries + 1), ` +
              `Traffic Server connect_attempts_timeout × (connect_attempts_max_retries + 1), Caddy dial_timeout as often as lb_try_duration allows: lower them to fail fast.`
            : `Check that ${backends.join(', ') || 'the backend'} is up, listening and reachable from the proxy (unanswered SYNs: a dead host, a firewall, a full accept queue — see syn-unanswered / accept-queue-overflow findings), ` +
              `and remove dead backends from the proxy's pool (health checks).`) +
          retryRemedy;
      } else if (phase === 'ended') {
        // A time shared by every one is the backend's limit; others beside it, or one alone, only say when it ended each.
        const after = inferred !== null && inferred.samples === n ? `${value} s` : range;
        explanation =
          `${n} request(s) to ${server}${about} were answered 502 by nginx after ${range}` +
          (inferred !== null ? `, a delay shared by ${inferred.samples} of them` : '') +
          `. nginx answers 502 when its backend ends the connection without a response (FIN or RST: "upstream prematurely closed connection" ` +
          `or "Connection reset by peer" in its error log) or refuses it; its own timers answer 504 (proxy_read_timeout, proxy_connect_timeout). ` +
          `So the wait is the backend's: it ended ${n === 1 ? 'the connection' : 'each connection'} ${after} after the request without answering — a handler that ran that long ` +
          `and whose answer was dropped (Go's http.Server closes the connection without a response when a handler outlives its WriteTimeout), ` +
          `or a time limit of the backend's own (a worker killed at its timeout), or the backend process ended (a crash, a kill, a restart). ` +
          (inferred === null
            ? n === 1
              ? `One such error names no time limit: whether another request would end after the same time cannot be told from one. `
              : `Their delays share no value, so they name no time limit (a limit checked on a coarse tick, as gunicorn's arbiter checks its workers once a second, ends them anywhere within it). `
            : '') +
          `Not nginx's read timeout. The capture does not show the upstream connections` +
          // nginx puts its own Server header on what it passes on: only its error page's body tells its 502 from a backend's.
          ` (a 502 the backend answered itself, passed on by nginx, reads the same here: nginx's own error page ends with "<center>nginx</center>").`;
        remedy =
          `Raising nginx's proxy_read_timeout changes nothing: look at the backend for requests that take ${after}. ` +
          `For a Go net/http server, keep http.Server WriteTimeout above the slowest handler's time (or bound handlers with http.TimeoutHandler, which answers 503 in time); ` +
          `keep a worker time limit (gunicorn --timeout, PHP-FPM request_terminate_timeout, uWSGI harakiri) above the slowest request. ` +
          `nginx's error log names each failure; a capture of the upstream side shows the backend's FIN or RST.`;
      } else if (phase === 'waited') {
        ({ explanation, remedy } = waitedText(server, reported, inferred, { about, statuses, range, n }));
      } else if (phase === 'opaque') {
        explanation =
          `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}` +
          (inferred !== null ? `, a delay shared by ${inferred.samples} of them: a timer of ${value} s at the proxy gave up on its upstream` : `: the proxy gave up on its upstream`) +
          `. The proxy's upstream connections (to ${backends.join(', ')}) carry traffic this capture cannot read as HTTP (TLS), so whether it waited for a connection or for an answer cannot be told.${knownNote}`;
        const own = ownUpstreamTimeouts(server);
        remedy =
          `Read the proxy's error log for these requests (upstream timed out while connecting / reading), find why the backend is slow for these URIs, ` +
          `and raise the proxy's upstream timeout${own !== null ? ` (its answers name it: ${own})` : ''} only if it is legitimately slow; keep clients' timeouts longer than the proxy's.`;
      } else {
        const own = ownUpstreamTimeouts(server);
        // A server that answers this status itself for a handler of its own (Apache for a CGI script
        // it runs), named by its answers: no upstream connection needs to exist.
        const ownStatuses = [...new Set(reported.map((r) => r.paired.failure.status))];
        const named = ownStatuses.length === 1 && ownStatuses[0] !== null ? ownHandlerTimeouts(ownName(server), ownStatuses[0]) : null;
        const handler = named !== null ? ownHandlerOf(server, ownStatuses[0]) : null;
        const says = software.of(server)?.says ?? '';
        if (handler !== null) {
          // Nothing of its host's connects anywhere in the capture, though its clients' connections are
          // in it: no proxy leg in sight, so its own handler's timer leads (blind round 17, appservers
          // s07: Apache's own 504 for a CGI script was told "the proxy gave up on its upstream").
          explanation =
            `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}` +
            (inferred !== null ? `, a delay shared by ${inferred.samples} of them: a timer of ${value} s` : '') +
            `. The capture holds ${server}'s own connections but none from its address to any other server: it was seen proxying nothing, ` +
            `so the ${statuses} is most likely its own. Its answers say \`${says}\`, and ${handler.product} answers ${statuses} itself, with no upstream connection at all, when ${handler.settings}` +
            ` (its error log: ${handler.log}). Only if it proxies these URIs to a backend out of sight (on another interface, or over a Unix socket: FastCGI, PHP-FPM) ` +
            `is it its upstream timeout instead${own !== null ? ` (${own})` : ''}.${knownNote}`;
          remedy =
            `Read ${server}'s error log at these moments: ${handler.log} names the script that outlived the timer; make it faster for these URIs, ` +
            `or raise that timeout (${handler.settings.slice(handler.settings.indexOf(': ') + 2)}) only if it is legitimately that slow` +
            `${own !== null ? ` (a backend's timeout message instead: ${own})` : ''}, and keep clients' timeouts longer than the server's.`;
        } else {
          explanation =
            `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}` +
            (inferred !== null ? `, a delay shared by ${inferred.samples} of them: a timer of ${value} s at the proxy gave up on its upstream` : `: the proxy gave up on its upstream`) +
            `. The capture does not show the proxy's upstream connections (they may go to another interface, or to a local process over a Unix socket: ` +
            `CGI, FastCGI, PHP-FPM, whose timeout — Apache Timeout, fastcgi_read_timeout — gives the same 5xx), ` +
            `so whether it waited for a connection or for an answer cannot be told.${queueNote(server, reported)}${knownNote}`;
          remedy =
            `Capture the proxy's upstream side as well (or read its error log) to see which backend is slow, then find why it is slow for these URIs; ` +
            `raise the proxy's upstream timeout${own !== null ? ` (its answers name it: ${own})` : ''}` +
            // Its answers name a server that also answers so for handlers of its own: those timers, beside its proxy's.
            (named !== null ? `, or, where ${named.product} answered for a handler of its own (${named.log} in its error log), the timer of that: ${named.settings}` : '') +
            ` only if the backend is legitimately slow, and keep clients' timeouts longer than the proxy's.`;
        }
      }
      if (phase === 'invisible' || phase === 'waited') explanation += fastNote(server);
      const unfinished = phase === 'connect' ? [] : reported.flatMap((r) => {
        const b = bodyShortOf(r.paired);
        return b !== null ? [bodyShortText(b)] : [];
      });
      if (unfinished.length > 0) {
        // The backend waited for a body that was never coming: the client's upload, not the backend, is what to look at.
        const bodies = [...new Set(unfinished)].slice(0, 3).join('; ');
        const timer =
          phase === 'read'
            ? timeoutClause('read', fastcgiOnly(reported) ? FASTCGI_READ_TIMEOUTS : HTTP_READ_TIMEOUTS)
            : inferred !== null ? `a timer of ${value} s at the proxy gave up on its upstream` : 'the proxy gave up on its upstream';
        if (unfinished.length === n) {
          explanation =
            `${n} request(s) to ${server}${about} were answered ${statuses} after ${range}, and ${n === 1 ? 'its client' : 'their clients'} had not finished sending the request body (${bodies}). ` +
            (phase === 'read'
              ? `The proxy forwarded the body as it arrived: it had passed the head and what came of the body to ${backends.join(', ') || 'its backend'}, which was waiting for the body the client never finished sending when the proxy gave up: ${timer}.`
              : `A proxy that forwards a body as it arrives (HAProxy by default, nginx with proxy_request_buffering off) leaves its backend waiting for the body the client never finished sending, and ${timer}; ` +
                `the capture does not show its upstream connections.`) +
            ` Not a slow backend: it cannot answer a request whose body has not all come.${knownNote}${retryNote}`;
          remedy =
            `Find why the client stopped sending its request body: its own upload (a stalled source, a paused process, a Content-Length larger than the body it writes). ` +
            `Have the proxy read the whole body before it forwards the request (nginx proxy_request_buffering on, its default; HAProxy option http-buffer-request), ` +
            `so that a client that stalls in its upload is timed out by the proxy's client-side timeout (nginx client_body_timeout, HAProxy timeout http-request or timeout client) ` +
            `with a 408 of its own and holds no backend connection meanwhile. Raising the proxy's upstream timeout does not help: the rest of the body is not coming.`;
        } else {
          explanation +=
            ` ${unfinished.length} of them had not finished sending the request body (${bodies}): for ${unfinished.length === 1 ? 'that one' : 'those'} the backend was waiting for the body the client never finished sending, not slow.`;
          remedy +=
            ` For the ${unfinished.length} with an unfinished body, look at the client's upload and have the proxy read whole bodies before it forwards (nginx proxy_request_buffering on, HAProxy option http-buffer-request), not at the backend.`;
        }
      }
      // The upstream legs' unanswered requests of these read timeouts are the same failures, seen on the other leg.
      const sameOnUpstream = claimedUpstream(reported.map((r) => r.finding)).length;
      if (sameOnUpstream > 0 && phase === 'connect') {
        explanation +=
          ` ${sameOnUpstream === 1 ? 'The unanswered connect' : `The ${sameOnUpstream} unanswered connects`} to the backend (syn-unanswered, listed here) ` +
          `${sameOnUpstream === 1 ? 'is' : 'are'} the ${statuses} ${n === 1 ? 'its client' : 'their clients'} got, seen upstream, not another failure.`;
      } else if (sameOnUpstream > 0) {
        explanation +=
          ` ${sameOnUpstream === n ? 'Each' : `${sameOnUpstream} of them`} is one failure seen on both legs: the unanswered request${sameOnUpstream === 1 ? '' : 's'} ` +
          `on the upstream connection${sameOnUpstream === 1 ? '' : 's'} (unanswered-request, listed here) ${sameOnUpstream === 1 ? 'is' : 'are'} the ${statuses} ${sameOnUpstream === 1 ? 'its client' : 'their clients'} got, not another failure.`;
      }
      ctx.diagnose({
        server,
        count: n,
        inferred: inferred !== null ? { [TIMEOUT_NAME[phase]]: inferred } : {},
        explanation,
        remedy,
        anomalyIds: [...reported.map((r) => r.finding.id), ...upstreamLeft(reported.map((r) => r.finding))],
      });
    }

    return {
      onConnectionEnd(conn) {
        software.note(conn);
        const session = conn.app?.session ?? null;
        if (with503.delete(conn.id) && session !== null && flowNames.size < FLOW_NAMES_KEPT) {
          const via = session.serverVia;
          const named = session.serverSoftware;
          flowNames.set(
            conn.id,
            via !== null
              ? { says: `Via: ${via}`, software: viaComment(via), fromVia: true }
              : named !== null ? { says: `Server: ${named}`, software: named, fromVia: false } : null,
          );
        }
      },
      onExchange(ex, conn) {
        claims.noteExchange(ex, conn);
        if (ex.status === 503 && with503.size < FLOW_NAMES_KEPT) with503.add(conn.id);
        if (ex.status === 503 && ex.responseFraming === 'cut' && cut503.size < FLOW_NAMES_KEPT) cut503.add(conn.id);
        if (ex.status === 504 && ex.method === null && ex.responseStart !== null) {
          if (requestless.length < REQUESTLESS_KEPT) {
            requestless.push({ flowId: conn.id, client: conn.clientName, server: conn.serverName, ts: ex.responseStart, frame: ex.responseFrame ?? 0, index: ex.index });
          } else {
            requestlessNotKept++;
          }
        }
      },
      onFinish() {
        reportRequestless();
        const clusterOptions = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        const byServer = new Map<string, Candidate[]>();
        /** Errors other than 504 with no upstream in sight after a real wait, by proxy (INVISIBLE_AGREEING_SHARE). */
        const invisibleErrors = new Map<string, number>();
        /** The same answered at once (FAST_GATEWAY_FAILURE), by proxy: another mechanism, only counted in the diagnosis. */
        const fastInvisible = new Map<string, Candidate[]>();
        for (const p of legs.pair()) {
          if (p.failure.how !== 'status') continue;
          if (!isGatewayPhase(p.phase)) continue;
          if (p.phase === 'invisible' && p.failure.status !== 504) {
            if (p.failure.delay <= FAST_GATEWAY_FAILURE) {
              // No timer and no backend's time limit: a refused or held-down backend, a pooled connection reset under the request.
              const list = fastInvisible.get(p.failure.server);
              if (list === undefined) fastInvisible.set(p.failure.server, [{ ...p, phase: 'invisible', delay: p.failure.delay }]);
              else list.push({ ...p, phase: 'invisible', delay: p.failure.delay });
              continue;
            }
            invisibleErrors.set(p.failure.server, (invisibleErrors.get(p.failure.server) ?? 0) + 1);
          }
          // An error at once is not a timeout (a refused backend, no server available).
          if (p.failure.delay <= ctx.options.spreadAbsolute) continue;
          // The backend closed (or refused) the upstream connection before the proxy's error: the
          // proxy relayed the backend's failure (Go's ReverseProxy answers 502 on the EOF of a
          // backend that died or hit its own WriteTimeout), no timer of its own fired. The upstream
          // leg is unanswered-request's (or reset-before-response's) to report.
          if (p.leg !== null && p.leg.closedBy === 'backend' && p.leg.closeTs <= p.failure.failTs) continue;
          // The client had closed before the 5xx: its own timeout, which the proxy followed (see above).
          if (claims.answeredAfterClientClosed(p.failure)) continue;
          let list = byServer.get(p.failure.server);
          if (list === undefined) byServer.set(p.failure.server, (list = []));
          // nginx's 502 with no upstream in sight: the backend ended the connection, no timer of nginx's (Phase `ended`);
          // another proxy's: a timer of its own or its backend's end, its attempts unseen (Phase `waited`).
          const phase: Phase =
            p.phase === 'invisible' && p.failure.status === 502 ? (nginxOwnErrors(p.failure.server) ? 'ended' : 'waited') : p.phase;
          list.push({ ...p, phase, delay: p.failure.delay });
        }
        for (const [server, fast] of fastInvisible) fastToTell.set(server, fast);
        for (const [server, failed] of byServer) {
          // Errors a reload cut: told apart, and kept out of the proxy's timers' waits.
          const cuts: CutAtReload[] = [];
          const all = failed.filter((p) => {
            const cut = cutAtReload(p);
            if (cut !== null) cuts.push(cut);
            return cut === null;
          });
          if (cuts.length > 0) diagnoseReloadCuts(server, cuts);
          // Requests the proxy tried several times upstream, each attempt given up in turn: their
          // chain of attempts proves its timer, and every attempt is a sample of it (per phase, one
          // diagnosis: the attempts of one proxy share one timer, whatever the clients waited).
          const candidates = all.filter((p) => p.retries.length === 0);
          for (const phase of ['read', 'connect'] as const) {
            const retried = all.filter((p) => p.retries.length > 0 && p.phase === phase);
            if (retried.length === 0) continue;
            const reported = retried.map((p) => ({ paired: p, finding: report(p, true) }));
            const attempts = retried.flatMap((p) => knownAttemptWaits(p));
            // A value needs nearly every attempt behind it: a timer checked on a coarse tick (Traffic
            // Server's, once a second) ends attempts anywhere within a second of it, and the retries it
            // starts right after a tick then agree with each other (not with the first attempts).
            const perAttempt = inferTimeout(attempts, clusterOptions);
            diagnose(server, phase, reported, perAttempt !== null && perAttempt.samples >= ATTEMPTS_AGREEING * attempts.length ? perAttempt : null);
          }
          const clustered = clusterByDelay(candidates, clusterOptions, (p) => p.failure.failTs);
          const rest = clustered.rest;
          // A few waits that happen to agree among more of the same kind spread around them are
          // chance, not a timer's value: a timer checked on a coarse tick (Squid's, once a second
          // on a clock of whole seconds) ends waits anywhere within a second or more of its value.
          const invisibleOfServer = invisibleErrors.get(server) ?? 0;
          const groups = clustered.groups.filter((g) => {
            const near = rest.filter((p) => g.members.some((m) => m.phase === p.phase) && Math.abs(p.delay - g.value.value) <= SPREAD_AROUND_CLUSTER * g.value.value);
            const invisible = g.members.filter((m) => (m.phase === 'invisible' || m.phase === 'ended' || m.phase === 'waited') && m.failure.status !== 504).length;
            const tooFew = invisible > 0 && invisible < INVISIBLE_AGREEING_SHARE * invisibleOfServer;
            if (near.length <= g.members.length && !tooFew) return true;
            rest.push(...g.members);
            return false;
          });
          const lone: Reported[] = [];
          /**
           * nginx's 502s after a wait (Phase `ended`), in one diagnosis per proxy: each is a fact
           * alone (its timers answer 504, so the backend ended the connection), a shared delay only
           * names the backend's limit. A kill on a coarse tick (gunicorn's arbiter, once a second)
           * leaves one 3.3 s beside three at 3.9 s: one diagnosis, the three's value.
           */
          const ended: Reported[] = [];
          let endedValue: InferredValue | null = null;
          /** The proxy's gateway errors after a wait whose cause the client leg does not tell (Phase `waited`), in one diagnosis per proxy. */
          const waited: Reported[] = [];
          let waitedValue: InferredValue | null = null;
          for (const g of groups) {
            const byPhase = new Map<Phase, Reported[]>();
            // A 503 sharing its delay with the same proxy's 502s is no more one timer than they are (Phase `waited`).
            const withWaited = g.members.some((m) => m.phase === 'waited');
            for (const p of g.members) {
              const phase: Phase = withWaited && p.phase === 'invisible' && p.failure.status !== 504 ? 'waited' : p.phase;
              const reported = { paired: p, finding: report(phase === p.phase ? p : { ...p, phase }, true) };
              const list = byPhase.get(phase);
              if (list === undefined) byPhase.set(phase, [reported]);
              else list.push(reported);
            }
            for (const [phase, reported] of byPhase) {
              // The upstream leg times the proxy's timer best: from its request to the backend to its close.
              const upstreamWaits = reported.map((r) => upstreamWait(r.paired));
              const value =
                phase === 'read' && upstreamWaits.every((w) => w !== null)
                  ? inferTimeout(upstreamWaits.filter((w): w is number => w !== null), clusterOptions) ?? g.value
                  : reported.length === g.members.length
                    ? g.value
                    : inferTimeout(reported.map((r) => r.paired.failure.delay), clusterOptions);
              if (phase === 'ended') {
                ended.push(...reported);
                if (value !== null && (endedValue === null || value.samples > endedValue.samples)) endedValue = value;
                continue;
              }
              if (phase === 'waited') {
                waited.push(...reported);
                if (value !== null && (waitedValue === null || value.samples > waitedValue.samples)) waitedValue = value;
                continue;
              }
              diagnose(server, phase, reported, value);
            }
          }
          for (const p of rest) {
            // Alone, a delay proves no timer: a 504 says "timeout" itself, and so do the packets of
            // a proxy that gave up on its own upstream attempt: a backend connection whose handshake
            // never completed (connect), or a forwarded request it closed unanswered (read).
            const upstreamProof = p.phase === 'connect' || (p.phase === 'read' && p.leg !== null && p.leg.closedBy === 'proxy');
            // nginx's 502 after a real wait says itself that the backend ended the connection (its
            // timers answer 504): one is a fact without a timer (a lone worker kill, a Go handler past
            // its WriteTimeout, a crash). One answered at once is a refused connect or a pooled
            // connection reset under the request: intermittent-5xx's fast 502s.
            if (p.phase === 'ended' && p.failure.delay > FAST_GATEWAY_FAILURE) {
              ended.push({ paired: p, finding: report(p, false) });
              continue;
            }
            // Another proxy's 502 after a real wait, or its 503 when its answers name a proxy: a failure
            // its client saw, whatever its cause (a timer of the proxy's or its backend's end, Phase `waited`).
            if (p.failure.delay > FAST_GATEWAY_FAILURE && (p.phase === 'waited' || (p.phase === 'invisible' && p.failure.status === 503 && proxyNamed503(p.failure.server, p.failure.flowId)))) {
              waited.push({ paired: p, finding: report({ ...p, phase: 'waited' }, false) });
              continue;
            }
            if (p.failure.status !== 504 && !upstreamProof) continue;
            lone.push({ paired: p, finding: report(p, false) });
          }
          for (const phase of ['read', 'connect', 'opaque', 'invisible'] as const) {
            const mine = lone.filter((r) => r.paired.phase === phase);
            if (mine.length > 0) diagnose(server, phase, mine, null);
          }
          if (ended.length > 0) diagnose(server, 'ended', ended.sort((a, b) => a.paired.failure.failTs - b.paired.failure.failTs), endedValue);
          if (waited.length > 0) {
            const byTime = waited.sort((a, b) => a.paired.failure.failTs - b.paired.failure.failTs);
            diagnose(server, 'waited', byTime.map((r) => ({ ...r, paired: { ...r.paired, phase: 'waited' } })), waitedValue);
          }
        }
      },
    };
  },
};
