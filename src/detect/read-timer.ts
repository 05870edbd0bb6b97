import type { AnalyzedConnection } from './analyzed-connection';
import { RECENT_SERVER_DATA } from '../http/session';
import { ms, timeOfDay } from './facts';

/**
 * nginx re-arms its upstream read timer (proxy_read_timeout, fastcgi_/uwsgi_/scgi_read_timeout) at
 * each read with ngx_add_timer, which keeps the deadline already set when the new one differs from
 * it by less than NGX_TIMER_LAZY_DELAY, 300 ms (src/event/ngx_event_timer.c). A read less than
 * 0.3 s after the timer was last set does not move it: the timer runs from an earlier read, and the
 * silence before its close is shorter than the setting by up to 0.3 s (blind round 14, S3c:
 * `proxy_read_timeout 1700ms`, chunks 0.300 s apart, nginx's FIN 1.404 s after the last and
 * 1.704 s after the one before it).
 */
export const NGINX_LAZY_DELAY = 0.3;
/**
 * nginx's clock is the one it cached when its event loop woke, in whole milliseconds, and it
 * handles a read a moment after the capture stamped it: a read stamped a little over 0.3 s after
 * the one that set the timer may still be under 0.3 s on nginx's clock (S3c: 0.3003 s).
 */
const CLOCK_SLACK = 0.01;

/**
 * The earliest of `conn`'s server reads from which a read timer re-armed as nginx re-arms its own
 * may have run, for a response begun at `responseStart` whose last byte before the cut came at
 * `lastByteTs`: the earliest data segment at most NGINX_LAZY_DELAY (and the clock's slack) before
 * that last byte. `lastByteTs` itself when no earlier one is that close, or when the session no
 * longer holds that response's reads; the window's start when its reads outnumbered the ring (an
 * earlier one may have been dropped: a bound).
 */
export function lazyTimerStart(conn: AnalyzedConnection, responseStart: number, lastByteTs: number): number {
  const session = conn.app?.session ?? null;
  if (session === null || session.responseGapFrom !== responseStart) return lastByteTs;
  const n = session.recentServerCount;
  const from = lastByteTs - NGINX_LAZY_DELAY - CLOCK_SLACK;
  const kept = Math.min(n, RECENT_SERVER_DATA);
  let earliest = lastByteTs;
  let reachedBack = kept === n;
  for (let i = 0; i < kept; i++) {
    const ts = session.recentServerData[(n - 1 - i) % RECENT_SERVER_DATA];
    if (ts > lastByteTs) continue; // written after the cut: no read the timer saw
    if (ts < from) {
      reachedBack = true;
      break;
    }
    earliest = ts;
  }
  return reachedBack ? earliest : from;
}

/** How far back a lazily re-armed read timer may have run, for one cut: [lo, hi] seconds before the close, and the read it may have run from. */
export interface LazyRange {
  lo: number;
  hi: number;
  fromTs: number;
  /** Measured on the proxy's upstream leg (its reads), not on its client leg (its relays). */
  upstream: boolean;
}

/** The sentence that says where nginx's read timer lies for one cut (lazyRangeOf). */
export function lazyRangeText(r: LazyRange): string {
  const reads = r.upstream ? "the backend's last data came" : 'the last data it relayed (with `proxy_buffering off` it relays as it reads) came';
  const from = r.upstream ? `its segment at ${timeOfDay(r.fromTs)} UTC` : `its relay at ${timeOfDay(r.fromTs)} UTC`;
  return (
    ` nginx moves that read timer only for a read ${NGINX_LAZY_DELAY} s or more after it last set it (NGX_TIMER_LAZY_DELAY), and ${reads} within ${NGINX_LAZY_DELAY} s of ${from}, ` +
    `${ms(r.hi)} s before the close: the timer may have run from that one, so its value lies between ${ms(r.lo)} s and ${ms(r.hi)} s, not at the silence alone` +
    (r.upstream ? '.' : ' (the client leg shows its relays, which can trail its reads: the silence is a lower bound).')
  );
}

/**
 * The range of a lazily re-armed read timer that closed at `closeTs`: from the silence after the
 * last byte (a timer on the silence is no shorter: it runs from a read no later than that) to the
 * time since `fromTs` (lazyTimerStart); null when they round to the same millisecond.
 */
export function lazyRange(closeTs: number, lastByteTs: number, fromTs: number, upstream: boolean): LazyRange | null {
  const lo = closeTs - lastByteTs;
  const hi = closeTs - fromTs;
  return ms(hi) > ms(lo) ? { lo, hi, fromTs, upstream } : null;
}
