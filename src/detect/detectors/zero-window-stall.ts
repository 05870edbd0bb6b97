import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { captureLossNote, captureLostOn, hostOf, ms, requestLine } from '../facts';
import type { Finding, InferredValue } from '../finding';
import { sharedProxyLegs } from '../proxy-legs';
import { inferTimeout } from '../infer-timeout';
import { FLUSH_AFTER_REOPEN } from '../unfinished-response';
import type { Endpoint, ZeroWindowEpisode } from '../../flow/endpoint';
import { statusClassEvidence, type HttpExchange } from '../../http/exchange';

type Side = 'client' | 'server';


/** A zero-window episode measured: an episode still open at the end lasts to the connection's last packet. */
interface Stall {
  episode: ZeroWindowEpisode;
  end: number;
  duration: number;
}

/**
 * The exchange whose bytes the stalled receiver was not reading when its window closed: the
 * response for a client, the request (upload) for a server. Only the last few exchanges are kept.
 */
function exchangeAt(conn: AnalyzedConnection, side: Side, ts: number): HttpExchange | null {
  const recent = conn.app?.recent ?? [];
  for (let i = recent.length - 1; i >= 0; i--) {
    const ex = recent[i];
    const start = side === 'client' ? ex.responseStart : ex.requestStart;
    if (start !== null && start <= ts) return ex;
  }
  return null;
}

/**
 * Whether the sender had data waiting while the window was zero: its persist timer probed the
 * window, or it sent data once the window reopened — unless the message under way when the window
 * closed had already all come (its last byte filled the buffer): what it sent later was a new
 * message, answering a new request. A full receive buffer after the sender finished stalls nobody.
 */
function senderWaited(episode: ZeroWindowEpisode, sender: Endpoint, side: Side, conn: AnalyzedConnection): boolean {
  if (episode.probes > 0) return true;
  if (episode.endTs < 0 || sender.lastDataTs < episode.endTs) return false;
  const ex = exchangeAt(conn, side, episode.startTs);
  const ended = ex === null ? null : side === 'client' ? (ex.state === 'complete' ? ex.responseEnd : null) : ex.requestEnd;
  return ended === null || ended > episode.startTs;
}

/** A client's timeouts that end a request while its upload is still being sent. */
const CLIENT_UPLOAD_TIMEOUTS =
  'curl `--max-time`, exit 28 "Operation timed out"; Go `http.Client.Timeout`; fetch with `AbortSignal.timeout(ms)`; Python requests\' `timeout`; ' +
  'Java HttpClient `HttpRequest.timeout`; a proxy\'s own send timeout toward its backend when the client is a proxy (nginx `proxy_send_timeout`, HAProxy `timeout server`)';

/**
 * The stall a proxy passed on: `upstream` is a stall where the receiver (the client) is a proxy's
 * host, reading a response from its backend; the proxy stopped reading because its own client had
 * stopped reading the same response (a stall on a connection the proxy serves, at a time the two
 * overlap, for the same request when both are known). A proxy buffers only so much: the backend
 * leg's stall is the client's, passed down, and the backend is not at fault. Either may show first:
 * the proxy stops reading once it cannot write, which a shrinking client window does before it is
 * zero (zero-window-haproxy-relayed: the backend leg's window closed 41 ms before the client's).
 * A proxy that stopped reading on its own would have left its client nothing to leave unread.
 */
function downstreamStallOf(upstream: Finding, stalls: readonly Finding[]): Finding | null {
  if (upstream.evidence.receiver !== 'client' || upstream.client === null) return null;
  const proxy = hostOf(upstream.client);
  const request = upstream.evidence.request;
  for (const f of stalls) {
    if (f === upstream || f.evidence.receiver !== 'client' || hostOf(f.server) !== proxy || f.client === upstream.client) continue;
    const duration = typeof f.evidence.duration === 'number' ? f.evidence.duration : 0;
    const upstreamDuration = typeof upstream.evidence.duration === 'number' ? upstream.evidence.duration : 0;
    if (f.ts > upstream.ts + upstreamDuration || f.ts + duration < upstream.ts) continue;
    if (typeof request === 'string' && typeof f.evidence.request === 'string' && request !== f.evidence.request) continue;
    return f;
  }
  return null;
}

/** The server settings that close a connection to a client that does not read. */
function sendTimeouts(proxy: boolean): string {
  return (
    'nginx `send_timeout`, 60 s by default, without `reset_timedout_connection`; ' +
    `${proxy ? 'HAProxy `timeout client`, its inactivity timer toward the client, writes included; ' : ''}` +
    "Apache `Timeout`, 60 s by default; Node's `server.timeout` (off by default) or a socket timeout that destroys the socket; " +
    `${proxy ? '' : 'HAProxy `timeout client`; '}` +
    "Go's http.Server `WriteTimeout`, counted from the request; a write deadline"
  );
}

/** The cut responses' bodies, for text (three at most). */
function cutList(cuts: readonly Finding[]): string {
  const parts = cuts.slice(0, 3).map((f) => {
    const got = f.evidence.bodyReceived;
    const declared = f.evidence.bodyDeclared;
    return typeof declared === 'number' && declared >= 0 ? `${got} of ${declared} body bytes` : `${got} body bytes without the last chunk`;
  });
  return parts.join('; ') + (cuts.length > 3 ? `; ${cuts.length - 3} more` : '');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * zero-window-stall: a receiver advertised a zero window for at least `zeroWindowStall` seconds
 * while its peer had data to send — its application stopped reading (blocked worker, full pipe,
 * slow consumer). The side named is the receiver that stopped reading.
 */
export const zeroWindowStall: DetectorDefinition = {
  id: 'zero-window-stall',
  meta: {
    description:
      'A receiver advertised a zero window for longer than the threshold while its peer had data to send: its ' +
      'application stopped reading (blocked worker, slow consumer, full pipe) and the transfer stalled. An error when the ' +
      "server's send timeout closed the connection during the stall and cut a response's declared body.",
    severity: 'warning',
    messages: {
      stall: 'the {side} stopped reading: zero window for {duration} s{open} while {peer} had data to send',
      cut:
        "the response was cut at {cut}: the client stopped reading (zero window for {duration} s) and the server's send timeout " +
        'closed the connection during the stall',
    },
  },
  create(ctx: DetectContext) {
    const threshold = ctx.options.zeroWindowStall;
    // Which stalled senders are proxies (they forwarded requests upstream meanwhile), and whose stall a proxy passed on.
    const legs = sharedProxyLegs(ctx);

    const check = (conn: AnalyzedConnection, side: Side): void => {
      const receiver = side === 'client' ? conn.client : conn.server;
      const sender = side === 'client' ? conn.server : conn.client;
      if (receiver.zeroWindowEpisodes.length === 0) return;
      const stalls: Stall[] = [];
      for (const episode of receiver.zeroWindowEpisodes) {
        const end = episode.endTs >= 0 ? episode.endTs : conn.lastTs;
        const duration = end - episode.startTs;
        if (duration >= threshold && senderWaited(episode, sender, side, conn)) stalls.push({ episode, end, duration });
      }
      if (stalls.length === 0) return;
      let longest = stalls[0];
      for (const s of stalls) if (s.duration > longest.duration) longest = s;
      const e = longest.episode;
      const open = e.endTs < 0;
      const ex = exchangeAt(conn, side, e.startTs);
      const peer = side === 'client' ? 'the server' : 'the client';
      // The sender gave up during the stall (its send timeout): it reset the connection while the
      // window was still zero, or closed it and its FIN, queued behind the zero window, left with the
      // bytes its buffer held once the window reopened, the message cut short (nginx send_timeout,
      // zero-window-nginx-send-timeout: a RST with reset_timedout_connection on, else such a FIN).
      const resetDuring = sender.rstTs >= e.startTs && sender.rstTs <= longest.end;
      const cutShort = side === 'client' ? ex !== null && ex.state === 'response-incomplete' : ex !== null && ex.state === 'request-incomplete';
      const finBehind = !resetDuring && !open && cutShort && sender.finTs >= e.endTs && sender.finTs - e.endTs <= FLUSH_AFTER_REOPEN;
      const gaveUp = resetDuring ? 'reset' : finBehind ? 'fin' : null;
      // The stall's end is the window update seen (or the connection's last packet): an absence
      // until then. On a connection whose packets the capture lost, the update that reopened the
      // window may be among them, and the stall was shorter than measured: a note, uncertain. A
      // sender's reset during it is seen, and stays what it is.
      const uncertain = !resetDuring && captureLostOn(conn);
      // A response whose declared body (Content-Length, or chunked) the server's FIN cut behind the
      // window: the server's send timeout fired while the client did not read, and the client read
      // a truncated body (blind round 15, s06b: nginx send_timeout 3 s, 612258 of 2000000 bytes,
      // "EOF mid-body"). A failed request, as the same cut by a crash is (response-truncated, which
      // leaves a cut the window held back to this detector: one finding for one event). A reset
      // during the stall stays a warning here: reset-before-response reports that cut.
      const cut =
        side === 'client' && gaveUp === 'fin' && !uncertain && ex !== null && (ex.responseFraming === 'length' || ex.responseFraming === 'chunked') ? ex : null;
      const declared = cut !== null && cut.responseFraming === 'length' ? (cut.responseLength ?? -1) : -1;
      ctx.report({
        flowId: conn.id,
        client: conn.clientName,
        server: conn.serverName,
        ts: e.startTs,
        message: cut !== null ? 'cut' : uncertain ? `${zeroWindowStall.meta.messages.stall}; ${captureLossNote('connection')}: the window update may have come sooner` : 'stall',
        ...(cut !== null ? { severity: 'error' as const } : uncertain ? { severity: 'info' as const } : {}),
        data: {
          side,
          duration: ms(longest.duration),
          open: open ? ' (still zero at the end)' : '',
          peer,
          cut: cut === null ? '' : declared >= 0 ? `${cut.responseBodyBytes} of ${declared} body bytes` : `${cut.responseBodyBytes} body bytes, without its last chunk`,
        },
        evidence: {
          receiver: side,
          duration: ms(longest.duration),
          startFrame: e.startFrame,
          endFrame: open ? null : e.endFrame,
          openAtEnd: open,
          probes: e.probes,
          transferResumed: !open && gaveUp === null && sender.lastDataTs >= e.endTs,
          senderGaveUp: gaveUp,
          // From the last moment the sender could write (the window closing) to its reset: its send timeout.
          senderGaveUpAfter: resetDuring ? ms(sender.rstTs - e.startTs) : null,
          stalls: stalls.length,
          totalStalled: ms(stalls.reduce((sum, s) => sum + s.duration, 0)),
          zeroWindowEpisodes: receiver.zeroWindowCount,
          request: requestLine(ex),
          status: ex?.status ?? null,
          ...(ex !== undefined && ex !== null ? statusClassEvidence(ex) : {}),
          ...(uncertain ? { uncertain: true, captureLoss: 'connection' } : {}),
          ...(cut !== null
            ? {
                responseCut: true,
                bodyReceived: cut.responseBodyBytes,
                // -1: chunked, its last chunk never came.
                bodyDeclared: declared,
                // The server's timer ran from its last write to its close, which came before the
                // window reopened (its FIN followed the buffered bytes). The last write came about
                // with its last data before the window closed, once its buffer was full (in
                // zero-window-cut-nginx-python nginx's 2 s fired 2.02 s after that data, 1.98 s into
                // the zero window): from there (or the window's closing, if sooner) to the reopening,
                // about the timer's most. The close itself is not on the wire. A stall waited out
                // bounds it below strictly.
                sendTimeoutAtMost: ms(e.endTs - (e.peerDataTs >= 0 ? Math.min(e.peerDataTs, e.startTs) : e.startTs)),
              }
            : {}),
        },
        frames: [e.startFrame, ...(open ? [] : [e.endFrame]), ...(resetDuring ? [sender.rstFrame] : finBehind ? [sender.finFrame] : [])],
      });
    };

    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        check(conn, 'client');
        check(conn, 'server');
      },

      onFinish(): void {
        // resets/fins: the server gave up sending to a client that did not read (its send timeout);
        // uploadResets/uploadFins: the client gave up sending to a server that did not read (its own
        // request timeout: blind round 13, S17, curl -m 1 on an upload), which no server setting explains.
        const byServer = new Map<
          string,
          { ids: string[]; client: number[]; server: number[]; open: number; resets: number[]; fins: number; uploadResets: number[]; uploadFins: number; uncertain: number; relayed: Finding[]; proxy: boolean; cuts: Finding[]; resumed: number[] }
        >();
        const all = ctx.findings('zero-window-stall');
        // The stalls a proxy passed down from its own client's (downstreamStallOf), by the passed-on one. Told in
        // the diagnosis only: a finding is final once reported (NDJSON has already streamed it).
        const passedOnFrom = new Map<Finding, Finding>();
        for (const f of all) {
          const agg = byServer.get(f.server) ?? { ids: [], client: [], server: [], open: 0, resets: [], fins: 0, uploadResets: [], uploadFins: 0, uncertain: 0, relayed: [], proxy: false, cuts: [], resumed: [] };
          agg.ids.push(f.id);
          const downstream = downstreamStallOf(f, all);
          if (downstream !== null) {
            passedOnFrom.set(f, downstream);
            if (!agg.relayed.includes(downstream)) agg.relayed.push(downstream);
          }
          // The stalled sender forwarded requests upstream around the stall: a proxy, whose own send timeout ended it.
          const stalled = typeof f.evidence.duration === 'number' ? f.evidence.duration : 0;
          if (f.evidence.receiver === 'client' && legs.activityDuring(f.server, f.ts - 60, f.ts + stalled).requests > 0) agg.proxy = true;
          if (f.evidence.uncertain === true) agg.uncertain++;
          const upload = f.evidence.receiver === 'server';
          if (typeof f.evidence.senderGaveUpAfter === 'number') (upload ? agg.uploadResets : agg.resets).push(f.evidence.senderGaveUpAfter);
          if (f.evidence.senderGaveUp === 'fin') {
            if (upload) agg.uploadFins++;
            else agg.fins++;
          }
          if (f.evidence.responseCut === true) agg.cuts.push(f);
          // A client stall the server waited out (the transfer went on, measured on a whole
          // connection): its send timeout, if the same one governs, is longer.
          if (!upload && f.evidence.transferResumed === true && f.evidence.uncertain !== true && typeof f.evidence.duration === 'number') {
            agg.resumed.push(f.evidence.duration);
          }
          const duration = typeof f.evidence.duration === 'number' ? f.evidence.duration : 0;
          if (f.evidence.receiver === 'server') agg.server.push(duration);
          else agg.client.push(duration);
          if (f.evidence.openAtEnd === true) agg.open++;
          byServer.set(f.server, agg);
        }
        for (const [server, agg] of byServer) {
          const parts: string[] = [];
          const remedies: string[] = [];
          if (agg.client.length > 0) {
            const n = agg.client.length;
            parts.push(
              `on ${n} connection${n === 1 ? '' : 's'} the client stopped reading the response from ${server} ` +
              `(zero window for up to ${ms(Math.max(...agg.client))} s)`,
            );
            remedies.push(
              'the client application must keep reading responses: look for a blocked worker or event loop, a slow ' +
              'consumer downstream (a full pipe, disk, or a proxy client that reads slowly — enable proxy buffering), ' +
              'or a stream paused without being resumed',
            );
          }
          if (agg.server.length > 0) {
            const n = agg.server.length;
            parts.push(
              `on ${n} connection${n === 1 ? '' : 's'} ${server} stopped reading what the client sent ` +
              `(zero window for up to ${ms(Math.max(...agg.server))} s)`,
            );
            remedies.push(
              'the server application must keep reading request bodies: look for a worker blocked on a slow backend, ' +
              'disk or lock while it streams an upload, or too few workers for the uploads in progress',
            );
          }
          const total = agg.ids.length;
          const sendTimeout = agg.resets.length > 0 ? inferTimeout(agg.resets, { fraction: ctx.options.spreadFraction, absolute: ctx.options.spreadAbsolute, minSamples: 1 }) : null;
          // The send timeout's bounds from what the wire shows: each cut's stall bounds it above
          // (sendTimeoutAtMost), each stall the server waited out below, when the two agree.
          const cutBounds = agg.cuts.map((f) => (typeof f.evidence.sendTimeoutAtMost === 'number' ? f.evidence.sendTimeoutAtMost : Infinity));
          const atMost: InferredValue | null =
            cutBounds.length > 0 && Number.isFinite(Math.min(...cutBounds))
              ? { value: Math.min(...cutBounds), samples: cutBounds.length, spread: ms(Math.max(...cutBounds) - Math.min(...cutBounds)) }
              : null;
          const atLeast: InferredValue | null =
            atMost !== null && agg.resumed.length > 0 && Math.max(...agg.resumed) < atMost.value
              ? { value: Math.max(...agg.resumed), samples: agg.resumed.length, spread: ms(Math.max(...agg.resumed) - Math.min(...agg.resumed)) }
              : null;
          const inferred: Record<string, InferredValue> = {};
          if (sendTimeout !== null) inferred.senderSendTimeout = sendTimeout;
          if (atMost !== null) inferred.senderSendTimeoutAtMost = atMost;
          if (atLeast !== null) inferred.senderSendTimeoutAtLeast = atLeast;
          const cuts = agg.cuts.length;
          const gaveUp =
            (agg.resets.length > 0
              ? ` On ${agg.resets.length} the sender gave up and reset the connection ${ms(Math.min(...agg.resets))}` +
                `${ms(Math.min(...agg.resets)) !== ms(Math.max(...agg.resets)) ? `–${ms(Math.max(...agg.resets))}` : ''} s after the window closed: its send timeout ` +
                `(nginx \`send_timeout\`, 60 s by default, with \`reset_timedout_connection on\`; ${agg.proxy ? "HAProxy `timeout client`, its inactivity timer toward the client, writes included; " : ''}a write deadline such as Go's \`WriteTimeout\`), what it held unsent lost.`
              : '') +
            (agg.fins > 0
              ? ` On ${agg.fins} the sender gave up during the stall and closed the connection` +
                (agg.cuts.length > 0 ? `, cutting the response (${cutList(agg.cuts)})` : '') +
                `: its send timeout fired because the client did not read (${sendTimeouts(agg.proxy)}). ` +
                'The close itself puts nothing on the wire until the window reopens: then only the bytes its socket buffer held came, and its FIN.' +
                (atMost !== null
                  ? ` The timer is at most about ${ms(atMost.value)} s: from the server's last data before the window closed (about its last write) to the window's reopening, before which it had closed` +
                    (atLeast !== null ? `, and longer than the ${ms(atLeast.value)} s stall it waited out on another connection` : '') +
                    '.'
                  : '') +
                ' The client reads a truncated body (curl: "transfer closed with N bytes remaining to read", 18; Python\'s IncompleteRead; Go\'s "unexpected EOF")' +
                (agg.cuts.length > 0 ? ': the request failed.' : '.')
              : '') +
            (agg.uploadResets.length > 0
              ? ` On ${agg.uploadResets.length} the client gave up on its upload and reset the connection ${ms(Math.min(...agg.uploadResets))}` +
                `${ms(Math.min(...agg.uploadResets)) !== ms(Math.max(...agg.uploadResets)) ? `–${ms(Math.max(...agg.uploadResets))}` : ''} s after the window closed: ` +
                `its own timeout for the request (${CLIENT_UPLOAD_TIMEOUTS}), counted from before the upload began; what it had not sent was lost and the server reads a short request body.`
              : '') +
            (agg.uploadFins > 0
              ? ` On ${agg.uploadFins} the client gave up on its upload during the stall and closed the connection: once the window reopened only the bytes its ` +
                'socket buffer held came, then its FIN (a close puts nothing on the wire until the window reopens, so when it gave up is not seen). ' +
                `That is the client's own timeout for the request (${CLIENT_UPLOAD_TIMEOUTS}), no server setting: the server reads a short request body ` +
                'and its answer, if any, meets a closed socket.'
              : '');
          const uncertainText =
            agg.uncertain === 0
              ? ''
              : ` ${agg.uncertain === total ? (total === 1 ? 'It is' : 'All are') : `${agg.uncertain} of them are`} uncertain: the capture lost packets of ` +
                `${agg.uncertain === 1 ? 'that connection' : 'those connections'}, and the window update that ended the stall may be among them (a shorter stall).`;
          // Stalls a proxy passed down from its own client (downstreamStallOf): the backend here is not at fault.
          const passedOnHere = all.filter((f) => f.server === server && passedOnFrom.has(f));
          const passedOn = passedOnHere.length;
          const proxies = [...new Set(passedOnHere.map((f) => hostOf(f.client ?? '')))];
          const relayedIds = agg.relayed.map((f) => f.id).join(', ');
          const relayText =
            passedOn === 0
              ? ''
              : ` On ${passedOn === agg.client.length ? (passedOn === 1 ? 'it' : passedOn === 2 ? 'both' : `all ${passedOn}`) : `${passedOn} of them`} the reader was a proxy (${proxies.join(', ')}) relaying the response to its own client, ` +
                `which was not reading it either (${relayedIds}): once the proxy could not write, it stopped reading from ${server}. ` +
                `${passedOn === 1 ? "That stall is the proxy's client's" : "Those stalls are the proxy's clients'"}, passed down; ${server} is not at fault.`;
          const allPassedOn = passedOn > 0 && passedOn === agg.client.length && agg.server.length === 0;
          ctx.diagnose({
            server,
            count: total,
            // A response the stall cut is a failed request; only stalls measured on whole connections make it a warning.
            ...(cuts > 0 ? { severity: 'error' as const } : agg.uncertain === total ? { severity: 'info' as const } : {}),
            inferred,
            explanation:
              (cuts > 0
                ? `${cuts === 1 ? 'A response' : `${cuts} responses`} from ${server} ${cuts === 1 ? 'was' : 'were'} cut short while the client was not reading: ` +
                  "the server's send timeout closed the connection during a zero-window stall. "
                : '') +
              `Transfers stalled because a receiver's buffer was full and its application did not read: ${parts.join('; ')}. ` +
              "The sender's kernel could only probe the zero window until the reader caught up" +
              (agg.open > 0 ? `; ${agg.open} stall${agg.open === 1 ? ' was' : 's were'} still open at the end of the connection.` : '.') +
              gaveUp + relayText + uncertainText,
            remedy: allPassedOn
              ? `Nothing to change on ${server}: look at the proxy's ${agg.relayed.length === 1 ? 'client' : 'clients'} that stopped reading (${relayedIds}). A proxy that buffers whole responses ` +
                '(nginx `proxy_buffering on`, with room in `proxy_max_temp_file_size`) lets go of its backend while its client reads slowly; one that streams (HAProxy) holds it as long as its client stalls.'
              : `${capitalize(remedies.join('; and '))}. A larger receive buffer only delays the stall; ` +
              // The sending side's timeouts: the server's toward a client that does not read, the client's toward a server that does not.
              (agg.client.length > 0 ? 'timeouts on the sending side (send_timeout, write deadlines) decide how long a stalled peer may hold a connection' : '') +
              (agg.client.length > 0 && agg.server.length > 0 ? '; ' : '') +
              (agg.server.length > 0 ? "the client's own request timeout decides how long it waits for a server that does not read its upload" : '') +
              '.' +
              (cuts > 0
                ? ' If clients legitimately pause reading longer than the send timeout (a consumer that processes as it streams), raise it for those routes only, ' +
                  'or have them save the download before processing it.'
                : ''),
            anomalyIds: agg.ids,
          });
        }
      },
    };
  },
};
