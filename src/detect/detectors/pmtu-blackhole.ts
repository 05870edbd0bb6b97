import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { at, ms, requestLine } from '../facts';
import { blackHoleOf, BlackHole } from '../path-loss';
import { firstCloseOf } from '../proxy-legs';
import { unfinishedResponse } from '../unfinished-response';

/** Connections kept for the diagnoses (the findings themselves are reported as connections end). */
const MAX_KEPT = 10_000;

interface Kept {
  id: string;
  server: string;
  clientHost: string;
  hole: BlackHole;
  /** Seconds from the request to the client's close, when the client gave up on it (null: it did not). */
  clientWaited: number | null;
}

const REMEDY =
  'Let the path tell the sender the smaller MTU, or keep segments under it: allow ICMP type 3 code 4 ("fragmentation needed") and ICMPv6 type 2 ("packet too big") through every firewall, ' +
  'security group and load balancer on the path (in both directions); clamp the MSS on the router at the small-MTU hop (nftables: `tcp flags syn tcp option maxseg size set rt mtu`; ' +
  'iptables: `-j TCPMSS --clamp-mss-to-pmtu`); or make the senders probe for it: `sysctl net.ipv4.tcp_mtu_probing=1` (Linux; Windows has black-hole detection on by default). ' +
  'A tunnel (VPN, VXLAN, GRE, IPsec, PPPoE) without such clamping is the usual cause: lower the MTU of the interface that feeds it instead. ' +
  'Raising the client\'s timeout does not help: the data never arrives.';

/**
 * pmtu-blackhole: a path that drops a connection's large segments while small ones pass — a hop
 * whose MTU is smaller than the ends' (a tunnel, a VPN, a PPPoE or VXLAN link) and whose ICMP
 * "fragmentation needed" / ICMPv6 "packet too big" is filtered (path-loss.ts's blackHoleOf). A
 * request and a response head get through, the body leaves in full-size segments that never
 * arrive, the sender resends the first of them at RTO backoff, and the client's timer ends the
 * exchange. It looks like a server that stalls mid-body (response-abandoned) or never answers
 * (unanswered-request): those defer to it. Random loss recovers and stays silent.
 */
export const pmtuBlackhole: DetectorDefinition = {
  id: 'pmtu-blackhole',
  meta: {
    description:
      'A path dropped a connection\'s full-size segments while smaller ones passed: a hop with a smaller MTU than the ends\' whose ICMP "fragmentation needed" / "packet too big" is filtered (a PMTU black hole). ' +
      'The sender resends the same large segment at RTO backoff, the receiver never acknowledges it, and the client gives up at its timeout.',
    severity: 'error',
    messages: {
      resent:
        '{request}: the {sender} resent its {lostSegment}-byte segment {resends} times ({firstResend} to {lastResend} s after it last got data through) and it was never acknowledged, while its segments of up to {passedSegment} bytes were ({mss}); {bytesLost} bytes never arrived{close}',
      resentFirst:
        '{request}: the {sender} resent its first {lostSegment}-byte segment {resends} times ({firstResend} to {lastResend} s after the handshake) and it was never acknowledged, while the handshake\'s small packets passed ({mss}); {bytesLost} bytes never arrived{close}',
      'never-arrived-first':
        '{request}: {bytesLost} bytes the {sender} sent never arrived (its later packet, {provenSent} s after the handshake, carried a sequence number past them), while no data segment of its came through, only its small packets without data ({mss}){close}',
      'never-arrived':
        '{request}: {bytesLost} bytes the {sender} sent never arrived (a later segment of its, {provenSent} s after the last data that did arrive, carried sequence numbers past them), while its segments of up to {passedSegment} bytes came through ({mss}){close}',
    },
  },
  create(ctx: DetectContext) {
    const kept: Kept[] = [];
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        const hole = blackHoleOf(conn);
        if (hole === null) return;
        const ex = unfinishedResponse(conn) ?? conn.app?.recent[conn.app.recent.length - 1] ?? null;
        const request = requestLine(ex);
        const close = waitEndOf(conn, hole);
        const requestTs = ex?.requestStart ?? null;
        const clientWaited = close !== null && close.byClient && requestTs !== null && close.ts > requestTs ? close.ts - requestTs : null;
        const sender = hole.fromServer ? 'server' : 'client';
        const since = (ts: number): number => ms(ts - hole.lastPassedTs);
        const closeText =
          close === null
            ? ''
            : `; the ${close.byClient ? 'client' : 'server'} closed the connection (${close.rst ? 'RST' : 'FIN'})` +
              (clientWaited !== null ? ` ${ms(clientWaited)} s after its request` : ` ${since(close.ts)} s after the last data that got through`);
        const finding = ctx.report({
          flowId: conn.id,
          client: conn.clientName,
          server: conn.serverName,
          ts: hole.seen === 'resent' ? hole.firstResendTs : hole.provenSentTs,
          message:
            hole.passedSegment > 0 ? hole.seen : hole.seen === 'resent' ? 'resentFirst' : 'never-arrived-first',
          data: {
            request: request ?? (hole.fromServer ? 'the response' : 'the request'),
            sender,
            lostSegment: hole.lostSegment,
            passedSegment: hole.passedSegment,
            resends: hole.resends,
            firstResend: since(hole.firstResendTs),
            lastResend: since(hole.lastResendTs),
            provenSent: since(hole.provenSentTs),
            bytesLost: hole.bytesLost,
            mss: hole.mssOffered > 0 ? `the ${hole.fromServer ? 'client' : 'server'}'s SYN offered MSS ${hole.mssOffered}` : 'no SYN seen',
            close: closeText,
          },
          evidence: {
            request,
            lostDirection: hole.fromServer ? 'server-to-client' : 'client-to-server',
            seenAs: hole.seen,
            // Payload bytes: the segment lost (the MSS offered less options when only its absence shows) and the largest that passed.
            lostSegmentBytes: hole.seen === 'resent' ? hole.lostSegment : null,
            largestPassedSegmentBytes: hole.passedSegment,
            mssOffered: hole.mssOffered > 0 ? hole.mssOffered : null,
            bytesNeverAcknowledged: hole.bytesLost,
            resends: hole.resends,
            firstResendAt: hole.firstResendTs >= 0 ? at(hole.firstResendTs) : null,
            lastResendAt: hole.lastResendTs >= 0 ? at(hole.lastResendTs) : null,
            lastPassedAt: at(hole.lastPassedTs),
            provenSentAt: hole.provenSentTs >= 0 ? at(hole.provenSentTs) : null,
            receiverLastAt: at(hole.receiverLastTs),
            closedBy: close === null ? null : close.byClient ? 'client' : 'server',
            closedWith: close === null ? null : close.rst ? 'RST' : 'FIN',
            closedAt: close === null ? null : at(close.ts),
            clientWaited: clientWaited !== null ? ms(clientWaited) : null,
          },
          frames: [
            ...new Set([ex?.requestFrame ?? 0, ex?.responseFrame ?? 0, hole.firstResendFrame, hole.lastResendFrame, hole.provenSentFrame, close?.frame ?? 0]),
          ]
            .filter((f) => f > 0)
            .sort((x, y) => x - y),
        });
        if (kept.length < MAX_KEPT) kept.push({ id: finding.id, server: conn.serverName, clientHost: conn.clientHost, hole, clientWaited });
      },

      onFinish(): void {
        const groups = new Map<string, Kept[]>();
        for (const k of kept) {
          const key = `${k.server} ${k.clientHost}`;
          const list = groups.get(key);
          if (list === undefined) groups.set(key, [k]);
          else list.push(k);
        }
        for (const list of groups.values()) diagnose(ctx, list);
      },
    };
  },
};

/**
 * The close that ended the receiver's wait: the first FIN or RST after the sender last got data
 * through, but not the sender's own FIN, which only ends its sending (a server closing right behind
 * its response: HTTP/1.0, Connection: close) while the bytes before it are lost on the way: the
 * receiver's close after it is what gave up (blind round 14, scene 6: python's http.server FIN
 * behind a one-segment body that never arrived, curl's FIN 5 s later at its --max-time).
 */
function waitEndOf(conn: AnalyzedConnection, hole: BlackHole): { ts: number; frame: number; byClient: boolean; rst: boolean } | null {
  const first = firstCloseOf(conn, hole.lastPassedTs);
  if (first === null || first.rst || first.byClient === hole.fromServer) return first;
  const r = hole.fromServer ? conn.client : conn.server;
  const fin = r.finTs >= first.ts;
  const rst = r.rstTs >= first.ts;
  if (!fin && !rst) return first;
  const byRst = rst && (!fin || r.rstTs < r.finTs);
  return { ts: byRst ? r.rstTs : r.finTs, frame: byRst ? r.rstFrame : r.finFrame, byClient: hole.fromServer, rst: byRst };
}

/** One diagnosis per server and client host: the path between them drops large segments. */
function diagnose(ctx: DetectContext, list: readonly Kept[]): void {
  const first = list[0];
  const n = list.length;
  const resent = list.filter((k) => k.hole.seen === 'resent');
  const lost = Math.max(...resent.map((k) => k.hole.lostSegment));
  const passed = Math.max(...list.map((k) => k.hole.passedSegment));
  const mss = Math.max(...list.map((k) => k.hole.mssOffered));
  const fromServer = list.filter((k) => k.hole.fromServer).length;
  const direction =
    fromServer === n ? `from ${first.server} to ${first.clientHost}` : fromServer === 0 ? `from ${first.clientHost} to ${first.server}` : `between ${first.clientHost} and ${first.server}, both ways`;
  const waited = list.map((k) => k.clientWaited).filter((w): w is number => w !== null);
  const waitedNote =
    waited.length > 0
      ? ` The client gave up on ${waited.length === n ? (n === 1 ? 'it' : 'each') : `${waited.length} of them`} ${Math.min(...waited) === Math.max(...waited) || ms(Math.min(...waited)) === ms(Math.max(...waited)) ? `${ms(waited[0])} s` : `${ms(Math.min(...waited))}-${ms(Math.max(...waited))} s`} after the request (its own timeout: curl --max-time, a requests timeout): the server was not slow, its data was lost on the way.`
      : '';
  const shown =
    resent.length > 0
      ? `The sender resent the same ${lost}-byte segment ${Math.min(...resent.map((k) => k.hole.resends))} or more times at RTO backoff and it was never acknowledged, ` +
        (passed > 0 ? `while its segments of up to ${passed} bytes were` : "while the handshake's small packets passed (the first segment of each connection was full-size)")
      : passed > 0
        ? `Captured next to the receiver: the sender's later small segments carried sequence numbers past bytes that never arrived, while its segments of up to ${passed} bytes did`
        : "Captured next to the receiver: the sender's later packets carried sequence numbers past bytes that never arrived, while no data segment of its came through, only its small packets without data (the handshake, ACKs)";
  const explanation =
    `The path ${direction} dropped the large segments of ${n} connection${n === 1 ? '' : 's'} while small ones passed: a PMTU black hole. ${shown}` +
    (mss > 0 ? `; the receiver's SYN offered MSS ${mss}, more than the path carries.` : '.') +
    ' A hop on the path has a smaller MTU than the two ends (a tunnel, VPN, PPPoE or VXLAN link, a cloud overlay) and the ICMP "fragmentation needed" (IPv6: "packet too big") that would make the sender use smaller segments is dropped by a firewall, ' +
    'and the sender does not probe for the path MTU (Linux net.ipv4.tcp_mtu_probing=0, the default). Small requests and responses work; anything larger than the small MTU hangs.' +
    waitedNote;
  ctx.diagnose({ server: first.server, count: n, inferred: {}, explanation, remedy: REMEDY, anomalyIds: list.map((k) => k.id) });
}
