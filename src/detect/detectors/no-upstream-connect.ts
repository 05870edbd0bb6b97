import type { DetectContext, DetectorDefinition } from '../detector';
import { at, ms } from '../facts';
import type { Finding, InferredValue } from '../finding';
import { APACHE_QUEUE_SETTINGS, KNOWN_REQUEST_TIMEOUTS, matchKnown, proxyQueueSettings } from '../known-timeouts';
import { atOneMoment } from '../infer-timeout';
import { clusterByDelay, FAST_GATEWAY_FAILURE, PairedFailure, sharedProxyLegs } from '../proxy-legs';
import { SERVER_SOFTWARE, ServerSoftware } from '../server-software';

/**
 * no-upstream-connect: at a proxy whose two legs are both in the capture, a client's request
 * arrives, the proxy sends no SYN to any backend and no request on an existing backend connection,
 * and after a fixed delay it fails the request (503/504, or closes the connection without an
 * answer). The request never left the proxy: it sat in a queue (waiting for a connection slot)
 * until the queue or connect-slot timeout fired.
 *
 * The number of backend connections the proxy held meanwhile tells why: a constant small number
 * is a connection limit (HAProxy server `maxconn`, or its dynamic form
 * max(minconn, maxconn × load / fullconn)) that every slot was busy under.
 *
 * A finding needs the delay to be shared with another such failure at the endpoint (a timer, not
 * chance), a 504, or a 503 after a wait while the proxy's backends were busy with other requests
 * (queued503). Pairing with upstream activity is shared with gateway-timeout (proxy-legs.ts).
 */

type Candidate = PairedFailure & { delay: number };

interface Reported {
  paired: Candidate;
  finding: Finding;
}

/** Resets within this long of each other (seconds) came at one moment. */
const RESET_MOMENT = 0.005;
/** How many resets at one moment at one proxy endpoint make them an event. */
const RESET_BURST_MIN = 3;

/**
 * The failures that were resets of several connections of one endpoint at one moment: HAProxy's
 * reload without a socket hand-over closed its listener with 11 connections still in the accept
 * queue, their requests sent, and the kernel reset them all within 0.11 ms (reload-haproxy). They
 * agreed in age as a queue timeout's would, having arrived together.
 */
function resetBursts(paired: readonly PairedFailure[]): Set<PairedFailure['failure']> {
  const out = new Set<PairedFailure['failure']>();
  const byServer = new Map<string, Array<PairedFailure['failure']>>();
  for (const p of paired) {
    if (p.failure.how !== 'RST') continue;
    const list = byServer.get(p.failure.server);
    if (list === undefined) byServer.set(p.failure.server, [p.failure]);
    else list.push(p.failure);
  }
  for (const resets of byServer.values()) {
    for (const run of atOneMoment(resets, (f) => f.failTs, RESET_MOMENT)) if (run.length >= RESET_BURST_MIN) for (const f of run) out.add(f);
  }
  return out;
}

export const noUpstreamConnect: DetectorDefinition = {
  id: 'no-upstream-connect',
  meta: {
    description:
      'A proxy failed a request after a fixed delay without sending any SYN or request to a backend meanwhile: it waited in a queue until its queue (or connect-slot) timeout.',
    severity: 'error',
    messages: {
      status:
        '{request} answered {status} by the proxy after {delay} s without any SYN or request to a backend meanwhile ({concurrent} backend connection(s) open)',
      closed:
        '{request} failed by the proxy ({how}) after {delay} s without any SYN or request to a backend meanwhile ({concurrent} backend connection(s) open)',
      // Other clients' requests went upstream during the wait (the slot served them): none was this one's copy.
      statusServedOthers:
        '{request} answered {status} by the proxy after {delay} s without being sent to a backend: the {others} backend request(s) sent meanwhile carried other clients\' requests ({concurrent} backend connection(s) open)',
      closedServedOthers:
        '{request} failed by the proxy ({how}) after {delay} s without being sent to a backend: the {others} backend request(s) sent meanwhile carried other clients\' requests ({concurrent} backend connection(s) open)',
    },
  },
  create(ctx: DetectContext) {
    const legs = sharedProxyLegs(ctx);
    // The proxy's own answers name it (Apache's 503 says `Server: Apache/…`; HAProxy's says nothing).
    const software = ctx.shared(SERVER_SOFTWARE, () => new ServerSoftware());

    /**
     * A lone 503 after a real wait that is a queue's on its own packets: the proxy sent this request
     * nowhere (phase `none`) while its backends were busy with other clients' requests (in flight
     * when it came, or sent while it waited: the slot it waited for served others). A proxy that
     * queues behind a connection limit answers so when its queue timeout fires (HAProxy `timeout
     * queue` behind a server `maxconn`, 503 sQ--; Apache `acquire=`), and one such wait proves it
     * as a 504 does: nothing else holds a request back from an idle-free backend it is using. A 503
     * with the backends idle meanwhile is left out (a proxy that marked them all down, a local
     * answer: no queue shown), and so is one given at once (FAST_GATEWAY_FAILURE). Blind 14 S6b:
     * a single sQ-- 503 after 1.501 s, the backend serving two other requests, went unreported.
     */
    function queued503(p: Candidate): boolean {
      if (p.failure.how !== 'status' || p.failure.status !== 503 || p.failure.delay <= FAST_GATEWAY_FAILURE) return false;
      const busy = legs.busyDuring(p.failure.server, p.failure.requestStart, p.failure.failTs);
      return busy.inFlight + busy.sent > 0;
    }

    function report(p: Candidate, clustered: boolean): Finding {
      const f = p.failure;
      const request = f.method !== null ? `${f.method} ${f.uri ?? ''}`.trim() : 'a request';
      const meanwhile = legs.activityDuring(f.server, f.requestStart, f.failTs);
      return ctx.report({
        flowId: f.flowId,
        client: f.client,
        server: f.server,
        ts: f.failTs,
        message: (f.how === 'status' ? 'status' : 'closed') + (meanwhile.requests > 0 ? 'ServedOthers' : ''),
        data: { request, status: f.status ?? '', how: f.how, delay: ms(f.delay), concurrent: p.concurrentAtRequest, others: meanwhile.requests },
        evidence: {
          status: f.status,
          failedWith: f.how === 'status' ? String(f.status) : f.how,
          method: f.method,
          uri: f.uri,
          exchangeIndex: f.index,
          requestStart: at(f.requestStart),
          failTs: at(f.failTs),
          delaySeconds: ms(f.delay),
          delayClustered: clustered,
          concurrentBackendConnections: p.concurrentAtRequest,
          maxBackendConnectionsDuringWait: p.concurrentMaxDuringWait,
          // Other clients' upstream traffic during the wait (0 and 0 when the proxy was idle upstream).
          backendConnectionsOpenedDuringWait: meanwhile.connections,
          backendRequestsDuringWait: meanwhile.requests,
        },
        frames: [f.requestFrame ?? 0, f.failFrame],
      });
    }

    function diagnose(server: string, reported: Reported[], inferred: InferredValue | null): void {
      const n = reported.length;
      const delays = reported.map((r) => r.paired.failure.delay);
      const lo = ms(Math.min(...delays));
      const hi = ms(Math.max(...delays));
      const range = lo === hi ? `${lo} s` : `${lo}–${hi} s`;
      const value = inferred !== null ? ms(inferred.value) : hi;
      const outcomes = [...new Set(reported.map((r) => (r.paired.failure.how === 'status' ? String(r.paired.failure.status) : `a ${r.paired.failure.how}`)))].join('/');
      const requests = [...new Set(reported.map((r) => (r.paired.failure.method !== null ? `${r.paired.failure.method} ${r.paired.failure.uri ?? ''}`.trim() : null)))]
        .filter((x): x is string => x !== null)
        .slice(0, 5);
      const about = requests.length > 0 ? ` (${requests.join(', ')})` : '';
      const counts = reported.flatMap((r) => [r.paired.concurrentAtRequest, r.paired.concurrentMaxDuringWait]);
      const cmin = Math.min(...counts);
      const cmax = Math.max(...counts);
      const { settings: q, alsoApache } = proxyQueueSettings(software.softwareOf(server));
      const apache = alsoApache ? `; ${APACHE_QUEUE_SETTINGS.timeout}` : '';
      const apacheLimit = alsoApache ? `; ${APACHE_QUEUE_SETTINGS.limit}` : '';
      const known = inferred !== null ? matchKnown(inferred.value, KNOWN_REQUEST_TIMEOUTS).map((k) => k.name) : [];
      const knownNote = known.length > 0 ? ` This matches ${known.join('; ')}.` : '';
      const limit =
        cmin === cmax && cmax > 0
          ? ` Throughout, the proxy held exactly ${cmax} connection(s) to its backends: a connection limit (${q.limit}${apacheLimit}) ` +
            `with every slot busy kept these requests queued.`
          : cmax === 0
            ? ` The proxy held no backend connection meanwhile: no server was available to it (all down, or a limit of zero).`
            : ` The proxy held ${cmin}–${cmax} connection(s) to its backends meanwhile.`;
      // One wait names no value of the timer: it fired after that long (a queue's timeout counts from
      // the request's arrival in the queue, which a slow request head or a connect before it moves).
      const busy = inferred === null && n === 1 ? legs.busyDuring(server, reported[0].paired.failure.requestStart, reported[0].paired.failure.failTs) : null;
      const until =
        busy !== null
          ? `it waited in its queue until a timeout fired after ${value} s (one wait names no exact value of it: ${q.timeout}${apache}), while the backend was busy with other requests ` +
            `(${busy.inFlight} in flight when it came, ${busy.sent} sent upstream while it waited: the slots it waited for served others)`
          : `they waited in its queue until a timeout of ${value} s (${q.timeout}${apache})`;
      const explanation =
        `${n} request(s) to ${server}${about} were failed with ${outcomes} after ${range}, and the proxy sent no SYN and no request to any backend for them in the meantime: ` +
        `${until}.${limit}${knownNote}`;
      const remedy =
        `If the backend can take more concurrent requests, raise the per-server connection limit (${q.raiseLimit}${alsoApache ? `; ${APACHE_QUEUE_SETTINGS.raiseLimit}` : ''}); ` +
        `otherwise make the backend faster, since slow requests hold the slots; raise ${q.raiseTimeout}${alsoApache ? ` (Apache: ${APACHE_QUEUE_SETTINGS.raiseTimeout})` : ''} only if clients can wait longer, and keep clients' timeouts above it. ` +
        `The proxy's log marks these requests (${q.log}${alsoApache ? `; ${APACHE_QUEUE_SETTINGS.log}` : ''}).`;
      ctx.diagnose({
        server,
        count: n,
        inferred: inferred !== null ? { proxyQueueTimeout: inferred } : {},
        explanation,
        remedy,
        anomalyIds: reported.map((r) => r.finding.id),
      });
    }

    return {
      onConnectionEnd(conn) {
        software.note(conn);
      },
      onFinish() {
        const clusterOptions = { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 2 };
        const byServer = new Map<string, Candidate[]>();
        const paired = legs.pair();
        const resetTogether = resetBursts(paired);
        for (const p of paired) {
          if (p.phase !== 'none') continue;
          // Several connections reset at one moment are the listener or its process going away
          // (reset-before-response): a proxy's queue timeout answers each request, 503 or a close.
          if (resetTogether.has(p.failure)) continue;
          // An error at once is no timeout (no server available, a local answer).
          if (p.failure.delay <= ctx.options.spreadAbsolute) continue;
          let list = byServer.get(p.failure.server);
          if (list === undefined) byServer.set(p.failure.server, (list = []));
          list.push({ ...p, delay: p.failure.delay });
        }
        for (const [server, candidates] of byServer) {
          const { groups, rest } = clusterByDelay(candidates, clusterOptions);
          for (const g of groups) {
            diagnose(server, g.members.map((p) => ({ paired: p, finding: report(p, true) })), g.value);
          }
          const lone = rest.filter((p) => p.failure.status === 504 || queued503(p)).map((p) => ({ paired: p, finding: report(p, false) }));
          if (lone.length > 0) diagnose(server, lone, null);
        }
      },
    };
  },
};
