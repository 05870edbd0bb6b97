import type { AnalyzedConnection } from '../analyzed-connection';
import type { DetectContext, DetectorDefinition } from '../detector';
import { hostOf, ms } from '../facts';
import { seqAdd, seqGe, seqGt } from '../../flow/seq';

/**
 * A client's data segments retransmitted at least this often without any ACK from a server that
 * had answered the handshake: more than one loss in a row, the server is dropping them.
 */
const MIN_UNACKED_RETRANSMISSIONS = 2;

/**
 * A SYN-ACK "repeat" sooner than this after the previous one is a copy of the same packet in the
 * capture (merged interfaces, VLAN copies), not the server's retransmission timer: no stack
 * retransmits sooner than its minimum RTO (Linux TCP_RTO_MIN 200 ms; SYN-ACKs start at 1 s).
 */
const DUPLICATE_COPY_WINDOW = 0.2;

type Outcome = 'accepted-later' | 'reset-by-server' | 'client-gave-up' | 'unresolved-at-capture-end' | 'released-unresolved';

const OUTCOME_WORDS: Record<Outcome, string> = {
  'accepted-later': 'the server accepted it later',
  'reset-by-server': 'the server reset it',
  'client-gave-up': 'the client gave up',
  'unresolved-at-capture-end': 'still pending when the capture ended',
  'released-unresolved': 'never accepted',
};

/**
 * accept-queue-overflow: the client completed the handshake but the server's kernel dropped the
 * final ACK because the listener's accept queue was full (Linux, tcp_abort_on_overflow = 0). The
 * connection stays half-open on the server: it retransmits its SYN-ACK although the client ACKed
 * it, and drops the client's data too (so the request is never ACKed). A single SYN-ACK repeat
 * with no data sent before it may be one lost ACK, so it needs a second repeat or dropped data.
 */
export const acceptQueueOverflow: DetectorDefinition = {
  id: 'accept-queue-overflow',
  meta: {
    description:
      "The server retransmitted its SYN-ACK although the client had ACKed it, or never ACKed the client's first data " +
      "after the handshake: its kernel dropped the handshake's last ACK because the listener's accept queue was full " +
      '(the application is not calling accept() fast enough).',
    severity: 'error',
    messages: {
      repeated: '{server} retransmitted its SYN-ACK {repeats}× after {client} ACKed it{data}: its accept queue was full',
      unacked: '{server} never ACKed the {bytes} bytes {client} sent after the handshake ({retransmissions} retransmissions): its accept queue was likely full',
    },
  },
  create(ctx: DetectContext) {
    return {
      onConnectionEnd(conn: AnalyzedConnection): void {
        const c = conn.client;
        const s = conn.server;
        if (s.synAckCount === 0 || !c.hasIsn || !s.hasIsn || c.synCount === 0) return;
        // The client completed the handshake: it acknowledged the server's SYN.
        if (!c.hasAck || !seqGe(c.highestAck, seqAdd(s.isn, 1))) return;

        const dataAcked = s.hasAck && seqGt(s.highestAck, seqAdd(c.isn, 1));
        const clientSentData = c.payloadBytes > 0;
        // Neither signal is possible (no repeated SYN-ACK, no unacknowledged data): the common case,
        // decided before anything is allocated for it.
        if (conn.synAckRepeatsAfterAck === 0 && !(clientSentData && !dataAcked && c.retransmissions >= MIN_UNACKED_RETRANSMISSIONS)) return;
        const firstSynAck = s.synAckTimes[0];
        const repeatTimes: number[] = [];
        const repeatFrames: number[] = [];
        for (const frame of conn.synAckRepeatFrames) {
          const i = s.synAckFrames.indexOf(frame);
          if (i <= 0 || s.synAckTimes[i] - s.synAckTimes[i - 1] < DUPLICATE_COPY_WINDOW) continue;
          repeatTimes.push(s.synAckTimes[i]);
          repeatFrames.push(frame);
        }
        // Past the kept frames, repeats are counted only (they come at growing RTOs, never as copies).
        const repeats = repeatFrames.length + Math.max(0, conn.synAckRepeatsAfterAck - conn.synAckRepeatFrames.length);
        // One repeat may be one lost ACK; the client's data, which also acknowledges the SYN-ACK, being
        // dropped too (retransmitted, or never ACKed) makes it the listener refusing the connection.
        const dataDropped = clientSentData && (c.retransmissions > 0 || !dataAcked);
        const repeated = repeats >= 2 || (repeats >= 1 && dataDropped);
        const unacked =
          !repeated && clientSentData && !dataAcked && c.retransmissions >= MIN_UNACKED_RETRANSMISSIONS &&
          s.payloadBytes === 0 && s.finTs < 0 && s.rstTs < 0;
        if (!repeated && !unacked) return;

        let outcome: Outcome;
        if (dataAcked || s.payloadBytes > 0) outcome = 'accepted-later';
        else if (s.rstTs >= 0) outcome = 'reset-by-server';
        else if (c.finTs >= 0 || c.rstTs >= 0) outcome = 'client-gave-up';
        else if (conn.endReason === 'capture-end') outcome = 'unresolved-at-capture-end';
        else outcome = 'released-unresolved';

        const evidence = {
          signal: repeated ? 'synack-repeated-after-ack' : 'data-not-acked',
          synAckRepeats: repeats,
          synAckOffsets: s.synAckTimes.map((t) => ms(t - firstSynAck)),
          clientDataBytes: c.payloadBytes,
          firstDataOffset: clientSentData ? ms(c.firstDataTs - firstSynAck) : null,
          dataRetransmissions: c.retransmissions,
          dataAcked,
          outcome,
        };
        const frames = [s.synAckFrames[0], ...repeatFrames, ...(clientSentData ? [c.firstDataFrame] : [])];
        if (repeated) {
          ctx.report({
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: repeatTimes.length > 0 ? repeatTimes[0] : s.synAckTimes[s.synAckTimes.length - 1],
            message: 'repeated',
            data: {
              server: conn.serverName, client: conn.clientName, repeats,
              data: clientSentData ? (dataAcked ? '; its data was ACKed only later' : `; its ${c.payloadBytes} bytes of data were never ACKed`) : '',
            },
            evidence,
            frames,
          });
        } else {
          ctx.report({
            flowId: conn.id, client: conn.clientName, server: conn.serverName,
            ts: c.firstDataTs,
            message: 'unacked',
            data: { server: conn.serverName, client: conn.clientName, bytes: c.payloadBytes, retransmissions: c.retransmissions },
            evidence,
            frames,
          });
        }
      },

      onFinish(): void {
        const byServer = new Map<string, Array<{ id: string; outcome: string; signal: string }>>();
        for (const f of ctx.findings('accept-queue-overflow')) {
          const list = byServer.get(f.server) ?? [];
          list.push({ id: f.id, outcome: String(f.evidence.outcome), signal: String(f.evidence.signal) });
          byServer.set(f.server, list);
        }
        const synDrops = new Map<string, number>();
        for (const f of ctx.findings('syn-unanswered')) synDrops.set(f.server, (synDrops.get(f.server) ?? 0) + 1);

        for (const [server, items] of byServer) {
          const n = items.length;
          const outcomes = new Map<string, number>();
          for (const i of items) outcomes.set(i.outcome, (outcomes.get(i.outcome) ?? 0) + 1);
          const outcomeText = [...outcomes].map(([o, k]) => `${k} ${OUTCOME_WORDS[o as Outcome] ?? o}`).join(', ');
          const onlyUnacked = items.every((i) => i.signal === 'data-not-acked');
          const drops = synDrops.get(server) ?? 0;
          const port = server.slice(server.lastIndexOf(':') + 1);
          ctx.diagnose({
            server,
            count: n,
            inferred: {},
            explanation:
              `${n} connection${n === 1 ? '' : 's'} to ${server} completed the handshake on the client's side, but ` +
              (onlyUnacked
                ? "the server never acknowledged the client's data (retransmitted without an ACK)"
                : 'the server kept retransmitting its SYN-ACK although the client had ACKed it') +
              ` (${outcomeText}). A Linux listener whose accept queue is full drops the handshake's last ACK ` +
              '(net.ipv4.tcp_abort_on_overflow = 0) and then the data, leaving the connection half-open: the application ' +
              'is not calling accept() fast enough (blocked event loop, too few workers, a backlog too small for bursts).' +
              (drops > 0 ? ` ${drops} other attempt${drops === 1 ? '' : 's'} to it had SYNs go unanswered (syn-unanswered): a full accept queue drops new SYNs too.` : '') +
              (onlyUnacked ? ' Without SYN-ACK repeats, a path dropping data after the handshake (MTU black hole, stateful firewall) would look the same.' : ''),
            remedy:
              `On ${hostOf(server)}: confirm with \`nstat -az TcpExtListenOverflows\` (growing) and \`ss -ltn 'sport = :${port}'\` ` +
              '(Recv-Q at the Send-Q backlog). Make the application accept faster — unblock its event loop or accept thread, ' +
              'add workers — and raise its listen() backlog together with net.core.somaxconn (the kernel caps the backlog ' +
              'at it). net.ipv4.tcp_abort_on_overflow = 1 would make clients fail fast with a RST instead of hanging, but also ' +
              'resets connections during short bursts that would otherwise recover: fix the accept rate first.',
            anomalyIds: items.map((i) => i.id),
          });
        }
      },
    };
  },
};
