/**
 * Two ways a server leaves requests unanswered that look like a slow application from one
 * connection, and are told apart by what the server did on its other connections meanwhile:
 *
 * - A stop-the-world pause of the server process (SIGSTOP, a stop-the-world GC, a stalled VM,
 *   swapping): it answers nothing on any connection, then, when it resumes, everything it owed
 *   at one instant. The requests waited for different lengths (each from its own send time), but
 *   their answers share that instant, where a server slow per request answers each after its own
 *   delay.
 * - A server that does not accept() (EMFILE at its file-descriptor limit, a blocked accept loop):
 *   the kernel completes the handshakes from the backlog and ACKs the first requests sent on them,
 *   which nobody reads, while the requests on the connections it had accepted before are answered
 *   as usual.
 */

/** Answers remembered for these judgements: the latest this many (28 bytes each: 1.75 MiB; older windows cannot be judged). */
const ANSWERS_KEPT = 1 << 16;
const INITIAL_CAPACITY = 1024;
/** Server ports followed. */
const MAX_SERVERS = 10_000;

/**
 * Late answers at most this far apart were sent at one instant: a resumed process writes what it
 * owed within milliseconds (blind s1a: 7 answers to 2 programs within 1 ms after a SIGSTOP), a
 * little later on connections it still had to accept (Python's ThreadingHTTPServer starting a
 * thread for each: 39 ms, sample server-paused-sigstop).
 */
export const PAUSE_BURST_SPREAD = 0.05;
/**
 * The stalled requests must have been sent at least this far apart, and this many times further
 * apart than their answers: requests sent together and answered together after one equal delay
 * are what a server slow per request does as well (its answers spread as its requests did).
 * Blind s1a: two programs' requests 33 ms apart, answered within 1 ms.
 */
export const PAUSE_MIN_REQUEST_SPREAD = 0.02;
const PAUSE_SPREAD_RATIO = 10;
/** An answer this soon after the earliest stalled request was already on its way when the process stopped. */
const IN_FLIGHT_SLACK = 0.001;

/**
 * The answers servers gave, in typed-array columns (no object per answer), by server index: which
 * connection, and when the response began. Noted per exchange from a slot the connection's open
 * filled, so the per-exchange cost is a few array writes.
 */
export class AnswerRing {
  // Grown by doubling up to ANSWERS_KEPT (a small capture allocates little), a ring from then on.
  private capacity = INITIAL_CAPACITY;
  private ts = new Float64Array(INITIAL_CAPACITY);
  private flow = new Float64Array(INITIAL_CAPACITY);
  private server = new Int32Array(INITIAL_CAPACITY);
  /** When the answer's connection was opened (its first SYN; -Infinity: not seen). */
  private opened = new Float64Array(INITIAL_CAPACITY);
  /** When the request it answered had arrived (its end; NaN: not noted). */
  private requested = new Float64Array(INITIAL_CAPACITY);
  private count = 0;
  private readonly indexOf = new Map<string, number>();

  /** The index answers of `serverName` are noted under (-1 past MAX_SERVERS: not followed). Once per connection. */
  serverIndex(serverName: string): number {
    let i = this.indexOf.get(serverName);
    if (i === undefined) {
      if (this.indexOf.size >= MAX_SERVERS) return -1;
      i = this.indexOf.size;
      this.indexOf.set(serverName, i);
    }
    return i;
  }

  note(server: number, flowId: number, ts: number, opened: number, requested = NaN): void {
    if (this.count === this.capacity && this.capacity < ANSWERS_KEPT) this.grow();
    const e = this.count++ % this.capacity;
    this.ts[e] = ts;
    this.flow[e] = flowId;
    this.server[e] = server;
    this.opened[e] = opened;
    this.requested[e] = requested;
  }

  private grow(): void {
    this.capacity *= 2;
    const ts = new Float64Array(this.capacity);
    const flow = new Float64Array(this.capacity);
    const server = new Int32Array(this.capacity);
    const opened = new Float64Array(this.capacity);
    const requested = new Float64Array(this.capacity);
    ts.set(this.ts);
    flow.set(this.flow);
    server.set(this.server);
    opened.set(this.opened);
    requested.set(this.requested);
    this.ts = ts;
    this.flow = flow;
    this.server = server;
    this.opened = opened;
    this.requested = requested;
  }

  /** The latest answer `serverName` began in [from, to] on a connection not in `except`, or null (none, or the window no longer held). */
  latestDuring(serverName: string, from: number, to: number, except: ReadonlySet<number>): number | null {
    const server = this.indexOf.get(serverName);
    if (server === undefined) return null;
    const kept = Math.min(this.count, this.capacity);
    const start = this.count - kept;
    if (this.count > this.capacity && this.ts[start % this.capacity] >= from) return null;
    let latest = -Infinity;
    for (let k = start; k < this.count; k++) {
      const e = k % this.capacity;
      if (this.server[e] !== server || this.ts[e] < from || this.ts[e] > to || except.has(this.flow[e])) continue;
      if (this.ts[e] > latest) latest = this.ts[e];
    }
    return latest === -Infinity ? null : latest;
  }

  /**
   * The answers `serverName` began in [from, to] on connections other than `except`, on how many
   * connections, and how many of those were opened within the window, and the longest any of
   * them had waited (its request's end to the answer; 0 where none was noted); null when the ring no longer holds that window (answers before it were dropped).
   */
  answeredDuring(serverName: string, from: number, to: number, except: ReadonlySet<number>): { answers: number; connections: number; newConnections: number; longestWait: number } | null {
    const server = this.indexOf.get(serverName);
    if (server === undefined) return { answers: 0, connections: 0, newConnections: 0, longestWait: 0 };
    const kept = Math.min(this.count, this.capacity);
    const start = this.count - kept;
    if (this.count > this.capacity) {
      // The oldest kept answer must be before the window, else some of it may be gone.
      const oldest = this.ts[start % this.capacity];
      if (oldest >= from) return null;
    }
    let answers = 0;
    let longestWait = 0;
    const flows = new Set<number>();
    const opened = new Set<number>();
    for (let k = start; k < this.count; k++) {
      const e = k % this.capacity;
      if (this.server[e] !== server || this.ts[e] < from || this.ts[e] > to || except.has(this.flow[e])) continue;
      answers++;
      flows.add(this.flow[e]);
      if (this.opened[e] >= from) opened.add(this.flow[e]);
      // NaN (not noted) compares false: no wait.
      if (this.ts[e] - this.requested[e] > longestWait) longestWait = this.ts[e] - this.requested[e];
    }
    return { answers, connections: flows.size, newConnections: opened.size, longestWait };
  }
}

/** What the stall judgements need of an unanswered request. */
export interface StalledRequest {
  flowId: number;
  requestEnd: number;
  /** When the client gave up (closed). */
  closeTs: number;
  /** When a response came after all (after the client had closed), or null. */
  lateTs: number | null;
  /** The request was its connection's first. */
  firstOnConnection: boolean;
  /**
   * The wire shows the server's application had the connection (accepted it): its FIN came right
   * behind the client's (only a process closes a socket; for one still in the listen backlog the
   * kernel ACKs the client's FIN and sends nothing more), or, a proxy, it forwarded the request
   * upstream. Undefined: nothing shows it either way.
   */
  accepted?: boolean;
}

export interface Pause {
  /** The earliest stalled request's end: the process was stopped by then. */
  from: number;
  /** The first and last answer of the burst it resumed with. */
  burstFirst: number;
  burstLast: number;
  /** The stalled requests answered in the burst. */
  members: ReadonlySet<number>;
  /** Requests on other connections answered in the same burst (they had not timed out). */
  othersInBurst: number;
}

/**
 * The pause `requests` show, if any: the largest set of late answers on distinct connections
 * within PAUSE_BURST_SPREAD of each other, to requests sent PAUSE_MIN_REQUEST_SPREAD apart or more,
 * with no answer on any other connection of the server from the earliest of those requests to the
 * burst (a paused process answers nothing). Null otherwise.
 */
export function pauseOf(server: string, requests: readonly StalledRequest[], answers: AnswerRing): Pause | null {
  const late = requests.filter((r) => r.lateTs !== null).sort((a, b) => (a.lateTs ?? 0) - (b.lateTs ?? 0));
  let best: StalledRequest[] = [];
  for (let i = 0, j = 0; j < late.length; j++) {
    while ((late[j].lateTs ?? 0) - (late[i].lateTs ?? 0) > PAUSE_BURST_SPREAD) i++;
    if (j - i + 1 > best.length) best = late.slice(i, j + 1);
  }
  const flows = new Set(best.map((r) => r.flowId));
  if (flows.size < 2) return null;
  const burstFirst = best[0].lateTs ?? 0;
  const burstLast = best[best.length - 1].lateTs ?? 0;
  const ends = best.map((r) => r.requestEnd);
  const from = Math.min(...ends);
  const requestSpread = Math.max(...ends) - from;
  if (requestSpread < PAUSE_MIN_REQUEST_SPREAD || requestSpread < PAUSE_SPREAD_RATIO * (burstLast - burstFirst)) return null;
  // The server's own requests waiting (unanswered-request's other waits) before the burst count as
  // stalled too; any answer at all between is a server that was running.
  const meanwhile = answers.answeredDuring(server, from + IN_FLIGHT_SLACK, burstFirst - IN_FLIGHT_SLACK / 2, flows);
  if (meanwhile === null || meanwhile.answers > 0) return null;
  const inBurst = answers.answeredDuring(server, burstFirst, burstLast + PAUSE_BURST_SPREAD, flows);
  return { from, burstFirst, burstLast, members: flows, othersInBurst: inBurst?.answers ?? 0 };
}

/** One stalled new connection is one slow request as well: at least this many. */
const MIN_NOT_ACCEPTED = 2;
/** Unanswered first requests are "all, or nearly all" of a server's waits from this fraction. */
const NOT_ACCEPTED_SHARE = 0.8;

/**
 * The server was busy, not refusing: an answer meanwhile had waited at least this share of the
 * shortest stalled wait. A server serving in turn (W workers, S s a request, clients giving up at
 * T) answers a request that waited S (the first) and one that waited about T − S (the last before
 * the give-ups): the longer of the two is T/2 or more. A server that only stopped accepting
 * serves the connections it has at their own speed.
 */
const BUSY_WAIT_SHARE = 0.5;

export interface NotAccepted {
  /** How many of the waits were first requests on their connections. */
  firstRequests: number;
  /** Answers on the server's other connections from the earliest such request to the last give-up. */
  answeredMeanwhile: number;
  connectionsMeanwhile: number;
  /**
   * The longest of those answers' own waits, when it was BUSY_WAIT_SHARE of the stalled requests'
   * shortest or more: the server was busy serving in turn (its workers take a new connection only
   * when free), not at its descriptor limit; null otherwise.
   */
  busyWait: number | null;
}

/**
 * Whether `requests` are a server that did not accept new connections: (nearly) every one the
 * first request of its connection, while the server answered requests on its older connections in
 * the same window and none on a connection opened in it. Null when not, or when the window is no
 * longer known.
 *
 * A connection the wire shows accepted (StalledRequest.accepted) is none of them: a busy server
 * serving its connections in turn (one worker, 0.6 s a request) answers the ones opened a moment
 * before and leaves the newest waiting just the same, but it read their requests (nginx in front
 * of such a backend forwarded them, and closed at once when its clients gave up: blind round 16
 * load S18, told EMFILE).
 */
export function notAcceptedOf(server: string, requests: readonly StalledRequest[], answers: AnswerRing): NotAccepted | null {
  const firsts = requests.filter((r) => r.firstOnConnection && r.accepted !== true);
  if (firsts.length < MIN_NOT_ACCEPTED || firsts.length < NOT_ACCEPTED_SHARE * requests.length) return null;
  const from = Math.min(...firsts.map((r) => r.requestEnd));
  const to = Math.max(...firsts.map((r) => r.closeTs));
  const meanwhile = answers.answeredDuring(server, from, to, new Set(requests.map((r) => r.flowId)));
  // One answer could be an in-flight one; a running server answers more than its stalled count.
  // A slow handler hit on new connections (a curl per call) leaves the server answering the other
  // connections it opens meanwhile; one that does not accept answers none of them.
  if (meanwhile === null || meanwhile.answers < firsts.length || meanwhile.newConnections > 0) return null;
  const shortestStall = Math.min(...firsts.map((r) => r.closeTs - r.requestEnd));
  const busyWait = meanwhile.longestWait >= BUSY_WAIT_SHARE * shortestStall ? meanwhile.longestWait : null;
  return { firstRequests: firsts.length, answeredMeanwhile: meanwhile.answers, connectionsMeanwhile: meanwhile.connections, busyWait };
}

/**
 * A third way: requests queued behind a long one at a concurrency limit (PHP-FPM's
 * `pm.max_children`, gunicorn's `--workers` with sync workers, a thread pool). A worker busy with
 * one long request leaves the requests sent meanwhile waiting (in the listen backlog, or in the
 * server's own queue: the kernel ACKed them) until it is free; then they are answered one after
 * another, each its own (short) service time after the previous answer, in the order they came.
 * Their waits therefore shrink in the order they were sent (each waited for the long request's end
 * from a later moment), where a server slow per request answers each after about the same delay.
 */

/** A queue needs its long request and at least two behind it (QUEUE_MIN_MEMBERS − 1). */
const QUEUE_MIN_MEMBERS = 3;
/**
 * A queued request's answer came at most this share of its own wait after the previous answer:
 * its service time, short next to the time it spent waiting for the worker.
 */
const QUEUE_GAP_SHARE = 0.25;

export interface Queue {
  /** The long request the others queued behind (the earliest sent). */
  head: StalledRequest;
  /**
   * The long requests that ran together, the head first: those after it that waited about as long
   * (each ran on a worker of its own). As many workers as these, at least, were busy.
   */
  heads: StalledRequest[];
  /** The requests behind it, in the order sent (and answered). */
  queued: StalledRequest[];
  /** Every member's connection. */
  members: ReadonlySet<number>;
}

/**
 * The queues `requests` show (their late answers, see above), each a run in the order the requests
 * were sent: the first (the head) answered last of none, every later one sent before the head was
 * answered, answered after the previous one within QUEUE_GAP_SHARE of its own wait, and waiting no
 * longer than the one before it (within `tolerance`), the waits shrinking overall by more than the
 * agreement of one delay. Empty when none.
 */
export function queuesOf(requests: readonly StalledRequest[], tolerance: { fraction: number; absolute: number }): Queue[] {
  const late = requests.filter((r) => r.lateTs !== null).sort((a, b) => a.requestEnd - b.requestEnd);
  const waitOf = (r: StalledRequest): number => (r.lateTs ?? 0) - r.requestEnd;
  const agree = (a: number, b: number): boolean => Math.abs(a - b) <= Math.max(tolerance.fraction * Math.max(a, b), tolerance.absolute);
  const queues: Queue[] = [];
  let i = 0;
  while (i < late.length) {
    const head = late[i];
    const headAnswer = head.lateTs ?? 0;
    const run: StalledRequest[] = [head];
    let j = i + 1;
    for (; j < late.length; j++) {
      const prev = run[run.length - 1];
      const r = late[j];
      const wait = waitOf(r);
      const gap = (r.lateTs ?? 0) - (prev.lateTs ?? 0);
      const fits =
        r.requestEnd < headAnswer &&
        gap > 0 &&
        gap <= QUEUE_GAP_SHARE * wait &&
        (wait <= waitOf(prev) || agree(wait, waitOf(prev)));
      if (!fits) break;
      run.push(r);
    }
    // Long requests sent after the head that waited as long ran beside it, on other workers.
    let k = 1;
    while (k < run.length && agree(waitOf(run[k]), waitOf(head))) k++;
    const queued = run.slice(k);
    if (queued.length >= QUEUE_MIN_MEMBERS - 1 && !agree(waitOf(queued[0]), waitOf(queued[queued.length - 1])) && waitOf(queued[0]) > waitOf(queued[queued.length - 1])) {
      queues.push({ head, heads: run.slice(0, k), queued, members: new Set(run.map((r) => r.flowId)) });
      i = j;
    } else {
      i++;
    }
  }
  return queues;
}
