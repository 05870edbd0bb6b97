/**
 * Worker limits of application servers (gunicorn, uWSGI, PHP-FPM), as the capture shows them.
 *
 * A per-request time limit checked on the master's tick (gunicorn's arbiter, uWSGI's master,
 * PHP-FPM's process manager: about once a second) kills every worker whose request has outlived
 * it at one check: the connections of all those workers close at one moment, while their requests
 * were sent at different times. That is what a restart looks like too (closeBursts), and what
 * tells them apart is what each leaves behind: a restart cuts every request in flight, whatever its
 * age, and its listener goes away for a while (connections refused) or a new process serves; time
 * limits cut only requests older than the limit, all within one tick of each other, and the master,
 * which never stopped, keeps accepting and has the next connections served by the workers it
 * boots at once.
 */
import { isoTime, microsAsMs, ms } from './facts';
import { MAX_TIMER_TICK } from './infer-timeout';

/**
 * The shortest per-request time limit these servers take: whole seconds (gunicorn `--timeout`,
 * uWSGI `harakiri`, PHP-FPM `request_terminate_timeout`). Requests cut younger than this were not
 * cut by one (a graceful reload's old Apache processes cut requests 0.03-0.45 s old:
 * reload-apache-graceful).
 */
export const MIN_WORKER_TIME_LIMIT = 1;
/**
 * The next connection served within this long (seconds) after the kills, with no connection
 * refused until then, shows a listener that never went away. (gunicorn boots a new sync worker in
 * about 0.1 s; the recordings' clients came back 1.1 s later.)
 */
export const SERVED_AFTER_KILLS_WITHIN = 5;
/** A kill follows the tick's check by up to this long (seconds): the signal, the exit, the close. */
const KILL_LATENCY = 0.05;
/**
 * The limit can start this long (seconds) before the request's last byte: gunicorn counts from the
 * worker's heartbeat as it accepted the connection, before a proxy's request had all arrived (behind
 * nginx, a POST cut 1.9996 s after its request by `--timeout 2`).
 */
const STARTED_BEFORE_REQUEST = 0.05;

/**
 * Whether requests cut at these ages (seconds from each request to its close) can be one time
 * limit's checked on a tick: each at least MIN_WORKER_TIME_LIMIT, all within one tick (and no more
 * than the shortest age) of each other.
 */
export function agesFitTickedLimit(ages: readonly number[]): boolean {
  if (ages.length === 0) return false;
  const lo = Math.min(...ages);
  const hi = Math.max(...ages);
  return lo >= MIN_WORKER_TIME_LIMIT - STARTED_BEFORE_REQUEST && hi - lo <= Math.min(MAX_TIMER_TICK, lo);
}

/**
 * The whole-second limit that requests cut at these ages show, or null when none or several fit:
 * a limit T cuts a request older than T at the first check after, so T ≤ the shortest age (plus
 * STARTED_BEFORE_REQUEST) and T ≥ the longest age − one tick (gunicorn; uWSGI's harakiri can cut a
 * second later still, so its T may be a second less).
 */
export function wholeSecondLimit(ages: readonly number[]): number | null {
  if (ages.length === 0) return null;
  const lo = Math.min(...ages);
  const hi = Math.max(...ages);
  const from = Math.max(MIN_WORKER_TIME_LIMIT, Math.ceil(hi - MAX_TIMER_TICK - KILL_LATENCY));
  const to = Math.floor(lo + STARTED_BEFORE_REQUEST);
  return from === to ? from : null;
}

/** Closes less than this apart (seconds) were one check's kills: the workers exit within milliseconds of each other. */
export const KILLS_LINK_GAP = 0.05;

/** One request cut by a killed worker, for workerKillsDiagnosis. */
export interface KilledRequest {
  /** When its connection was closed or reset. */
  ts: number;
  /** Seconds from the request to that. */
  wait: number;
  frame: number;
  /** The server's TCP stack had acknowledged the request. */
  acked: boolean;
}

/**
 * The words of a diagnosis of workers killed at a per-request time limit, several at one check:
 * shared by unanswered-request (the killed worker's connection closed with FIN) and
 * reset-before-response (reset: the request's body unread). `about` names the requests
 * (" (GET /a, …)"); `served` is how many new connections the server answered right after.
 */
export function workerKillsDiagnosis(
  server: string,
  about: string,
  members: readonly KilledRequest[],
  servedNew: number,
  how: 'closed' | 'reset',
  /** New connections taken after the kills whose requests were cut at the limit in turn (none served). */
  cutAgain = 0,
): { inferred: Record<string, { value: number; samples: number; spread: number }>; explanation: string; remedy: string } {
  const sorted = [...members].sort((a, b) => a.ts - b.ts);
  const moments: KilledRequest[][] = [];
  for (const m of sorted) {
    const run = moments[moments.length - 1];
    if (run !== undefined && m.ts - run[run.length - 1].ts <= KILLS_LINK_GAP) run.push(m);
    else moments.push([m]);
  }
  const together = moments.filter((m) => m.length >= 2);
  const ages = members.map((m) => m.wait);
  const lo = Math.min(...ages);
  const hi = Math.max(...ages);
  const acked = members.filter((m) => m.acked).length;
  const limit = wholeSecondLimit(ages);
  const togetherText = together
    .slice(0, 3)
    .map((m) => `${m.length} at ${isoTime(m[0].ts)} within ${microsAsMs(m[m.length - 1].ts - m[0].ts)} ms (frames ${m.map((k) => k.frame).join(', ')})`)
    .join('; ');
  const limitText =
    limit !== null
      ? `A whole-second limit of ${limit} s fits every cut (each came after it, within one tick): gunicorn \`--timeout ${limit}\`, PHP-FPM \`request_terminate_timeout = ${limit}s\`` +
        ` (uWSGI's \`harakiri\` cuts up to a second later still: ${limit - 1 >= MIN_WORKER_TIME_LIMIT ? `${limit - 1} or ` : ''}${limit} s).`
      : `The limit is at most ${ms(lo)} s; no single whole second fits every cut.`;
  const closedText =
    how === 'reset'
      ? `the server reset each connection ${ms(lo)}–${ms(hi)} s after its request (RST, no FIN first: the killed worker had not read the whole request, and its kernel reset the connection over the unread bytes)`
      : `the server side closed each connection ${ms(lo)}–${ms(hi)} s after its request`;
  return {
    inferred: limit !== null ? { workerTimeLimit: { value: limit, samples: members.length, spread: Math.round((hi - lo) * 1e6) / 1e6 } } : {},
    explanation:
      `${members.length} requests to ${server}${about} got no response: ${closedText}; ` +
      (together.length > 0
        ? `several at one moment (${togetherText}), though their requests had been sent at different times. `
        : `within ${ms(sorted[sorted.length - 1].ts - sorted[0].ts)} s of each other (frames ${sorted.slice(0, 5).map((k) => k.frame).join(', ')}), though their requests had been sent at different times. `) +
      `That is no restart: a restart cuts every request in flight whatever its age, and its listener goes away; these were each cut at least ${ms(lo)} s old, all within ${ms(hi - lo)} s ` +
      `(one tick) of each other, and ${server} kept accepting: ` +
      (servedNew === 0 && cutAgain > 0
        ? `it took ${cutAgain} new connection${cutAgain === 1 ? '' : 's'} within ${SERVED_AFTER_KILLS_WITHIN} s after, whose request${cutAgain === 1 ? ' was' : 's were'} cut at the same limit in turn (a new worker had taken ${cutAgain === 1 ? 'it' : 'them'}), and refused none. `
        : `it answered ${servedNew} new connection${servedNew === 1 ? '' : 's'} within ${SERVED_AFTER_KILLS_WITHIN} s after, and refused none. `) +
      `Workers were killed at a per-request time limit checked on a periodic tick (about once a second): at one check, every worker whose request had outlived the limit is killed, ` +
      `and the master boots new ones at once. gunicorn's \`--timeout\` (sync workers; 30 s by default): "[CRITICAL] WORKER TIMEOUT (pid:N)" in its error log for each; ` +
      `uWSGI's \`harakiri\`: "HARAKIRI ON WORKER"; PHP-FPM's \`request_terminate_timeout\`: "execution timed out ... terminating". ` +
      `The killed worker's connection ends without a response (nginx in front logs "upstream prematurely closed connection" or "Connection reset by peer" and answers 502). ` +
      (acked === members.length ? 'The server ACKed every one of them: the application was still working on them. ' : `The server ACKed ${acked} of them. `) +
      limitText,
    remedy:
      `Find why these requests take longer than the limit (the handler's own timings, a slow dependency) and make them faster, or raise the limit above the slowest legitimate request ` +
      `(gunicorn \`--timeout\`, or a gthread/async worker class, whose heartbeat goes on while a handler runs; uWSGI \`harakiri\`; PHP-FPM \`request_terminate_timeout\`). ` +
      `Keep a proxy's read timeout in front (nginx \`proxy_read_timeout\`) shorter than the limit, so that a slow request ends as a 504 that names it. Clients can retry idempotent requests that failed this way.`,
  };
}
