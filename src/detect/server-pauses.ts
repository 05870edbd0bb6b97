/**
 * The pause of a whole server process (server-stalls' pauseOf: a SIGSTOP, a stop-the-world GC, a
 * blocked event loop, a stalled VM) as a fact shared by the detectors whose failures it explains:
 * unanswered-request (requests answered only after their clients gave up, all at one instant),
 * syn-unanswered and accept-queue-overflow (a listener whose backlog filled because no accept()
 * ran meanwhile: the SYNs and handshakes beyond it dropped). unanswered-request judged it in its
 * own onFinish, after those two had reported, so theirs said nothing of it.
 *
 * It follows the exchanges itself (an EventFollower, made by the first detector that asks for it:
 * syn-unanswered, so before any detector's hooks and before every onFinish), keeps the answers the
 * servers gave (the AnswerRing unanswered-request's other stall judgements read too) and the
 * stalled requests, and judges a server once, when first asked at the end.
 */
import type { HttpExchange } from '../http/exchange';
import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext, EventFollower } from './detector';
import { answeredAfterClientClosed, hostOf, ms, timeOfDay } from './facts';
import { AnswerRing, Pause, pauseOf, StalledRequest } from './server-stalls';

export const SERVER_PAUSES = 'server-pauses';

/** Slots by connection id for the server index of each live connection's answers: a power of two. */
const SLOTS = 1 << 15;
/** Stalled requests kept, all servers together (about 100 B each); later ones are not judged. */
const MAX_STALLED = 1 << 16;

export class ServerPauses implements EventFollower {
  readonly followsEvents = true;
  /** Every answer servers gave while their clients still listened (response start), by server. */
  readonly answers = new AnswerRing();
  private readonly slotId = new Float64Array(SLOTS).fill(-1);
  private readonly slotServer = new Int32Array(SLOTS);
  /**
   * By server: its requests answered late, after their clients had closed (they gave up). Not the
   * slow answers clients waited for: a worker queue whose long request was answered right before
   * the queued ones (each in no time) shows those at one instant as well (blind round 11, php-fpm
   * pm.max_children = 1), and a long-poll server answers its waiting clients at one event.
   */
  private readonly stalled = new Map<string, StalledRequest[]>();
  private stalledCount = 0;
  private readonly judged = new Map<string, Pause | null>();

  onOpen(conn: AnalyzedConnection): void {
    const slot = conn.id & (SLOTS - 1);
    this.slotId[slot] = conn.id;
    this.slotServer[slot] = this.answers.serverIndex(conn.serverName);
  }

  onExchange(ex: HttpExchange, conn: AnalyzedConnection): void {
    if (ex.uncertain || ex.requestStart === null || ex.requestEnd === null || ex.responseStart === null) return;
    const late = ex.state !== 'no-response' && answeredAfterClientClosed(ex, conn);
    const waited = ex.responseStart - ex.requestEnd;
    if (ex.state === 'complete' && !late && waited >= 0) {
      const slot = conn.id & (SLOTS - 1);
      if (this.slotId[slot] === conn.id && this.slotServer[slot] >= 0) {
        this.answers.note(this.slotServer[slot], conn.id, ex.responseStart, conn.client.synTimes.length > 0 ? conn.client.synTimes[0] : -Infinity, ex.requestEnd);
      }
    }
    if (!late || this.stalledCount >= MAX_STALLED) return;
    const closeTs = Math.min(conn.client.finTs > ex.requestEnd ? conn.client.finTs : Infinity, conn.client.rstTs >= ex.requestEnd ? conn.client.rstTs : Infinity);
    const list = this.stalled.get(conn.serverName);
    const r: StalledRequest = { flowId: conn.id, requestEnd: ex.requestEnd, closeTs, lateTs: ex.responseStart, firstOnConnection: ex.index === 1 };
    if (list === undefined) this.stalled.set(conn.serverName, [r]);
    else list.push(r);
    this.stalledCount++;
  }

  /** The pause `server`'s stalled requests show (pauseOf), or null. Asked at the end: judged once. */
  pauseOf(server: string): Pause | null {
    let pause = this.judged.get(server);
    if (pause === undefined) {
      const stalled = this.stalled.get(server);
      pause = stalled === undefined ? null : pauseOf(server, stalled, this.answers);
      this.judged.set(server, pause);
    }
    return pause;
  }

  /**
   * The pause of `server` that `ts` fell in (from the earliest stalled request to the burst of
   * answers it ended with), or null.
   */
  pausedAt(server: string, ts: number): Pause | null {
    const pause = this.pauseOf(server);
    return pause !== null && ts >= pause.from && ts <= pause.burstFirst ? pause : null;
  }
}

export function sharedServerPauses(ctx: Pick<DetectContext, 'shared'>): ServerPauses {
  return ctx.shared(SERVER_PAUSES, () => new ServerPauses());
}

/**
 * What a listener's dropped connections (syn-unanswered's SYNs, accept-queue-overflow's
 * handshakes) say when `inPause` of their `count` attempts began in `pause` of `server`: the
 * backlog filled because the process ran no accept() meanwhile, and a larger one would only have
 * held more connections waiting. `dropped` names what the kernel dropped.
 */
export function pausedListenerWords(
  server: string,
  pause: Pause,
  inPause: number,
  count: number,
  dropped: string,
): { note: string; remedy: string; inferred: { serverPause: { value: number; samples: number; spread: number } } } {
  const length = pause.burstFirst - pause.from;
  return {
    note:
      ` ${inPause === count ? (count === 1 ? 'It' : 'Every one of them') : `${inPause} of them`} began while ${server}'s process was paused: ` +
      `from ${timeOfDay(pause.from)} to ${timeOfDay(pause.burstFirst)} (${ms(length)} s) it answered nothing on any connection, then the requests stalled on ${pause.members.size} connections ` +
      `at one instant (serverPause). Stopped or hung (a SIGSTOP, a stop-the-world GC, a blocked event loop, a stalled VM), it ran no accept(): its listen backlog filled, ` +
      `and the kernel dropped ${dropped} beyond it.`,
    remedy:
      `Find what froze ${hostOf(server)}'s server process for ${ms(length)} s first (GC logs, a debugger or profiler attached, a container freeze: docker pause, the cgroup freezer, ` +
      `the VM's steal time, swapping): the backlog filled only because nothing accepted meanwhile, and a larger one would only hold more connections waiting. `,
    inferred: { serverPause: { value: length, samples: inPause, spread: 0 } },
  };
}
