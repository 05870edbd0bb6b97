import type { AnalyzedConnection } from './analyzed-connection';
import type { DetectContext } from './detector';
import { handshakeCapturePosition } from '../flow/capture-point';
import { firstAfter, firstAtOrAfter } from './sorted-search';
import { float64Column, grownColumn } from './grown-column';
import { inferTimeout } from './infer-timeout';

/**
 * A server that ran out of connection slots and reclaimed idle keep-alive connections to take new
 * ones: nginx, when its `worker_connections` are all in use, closes its longest-idle keep-alive
 * connections as it accepts a new one (ngx_drain_connections: "N worker_connections are not
 * enough, reusing connections" in its error log; since 1.19.2 already when fewer than 1/16 of
 * them are free, up to 32 at once).
 *
 * Its closes look like an idle timer's (a FIN on an idle connection, the client's next request
 * racing it), but no idle age decides them: they come as other connections arrive, while the
 * server holds as many connections as it can. An idle age read from them follows the clients'
 * pauses between requests (0.131 s at 0.15 s pauses, 0.245 s at 0.3 s: blind test 13, S11b/S11c),
 * so it is no timeout to set a client's idle timeout below.
 *
 * The signature, per server, over its idle closes: most of them come within ARRIVAL_WINDOW after
 * another connection's handshake completed (nginx closes as it accepts it; a capture away from the
 * server sees the FIN one round trip after the handshake's ACK) or just before another
 * connection's first response (it accepted one that had waited in its listen queue), while the
 * connections the server was serving stood at about one number (the level its idle closes came at,
 * within an eighth of it), near the most it served in the capture. An idle timer's
 * closes meet arrivals only by chance: that share (the same test at moments shortly before each
 * close) must be well exceeded, or the server must have left connections waiting unserved meanwhile
 * (a server that has slots serves them); and its closes keep one idle age, which reclaimed ones do
 * not, unless clients pause alike: then handshakes must have brought the closes on far beyond chance.
 */

/**
 * How long (seconds) after another connection's arrival a reclaiming close comes, beyond the
 * round trip to the server: nginx closes within the event-loop turn that accepts (on the blind
 * test's recordings 248 of 255 within 1 ms, all within 2 ms).
 */
export const ARRIVAL_WINDOW = 0.003;
/** Idle closes at least, of which MAJORITY follow arrivals, for a server to have reclaimed them. */
export const MIN_RECLAIMS = 4;
/** The share of the idle closes that must follow arrivals at that level. */
const MAJORITY = 2 / 3;
/** A connection that sent its request this long (seconds) before a close without an answer yet waited for a slot. */
const WAITED = 0.005;
/**
 * Moments (seconds) before each close at which the same test measures how often arrivals meet a
 * moment by chance: unequal, so that periodic arrivals do not fall in step with all of them.
 */
const CONTROL_SHIFTS = [0.007, 0.013, 0.023, 0.037, 0.053];
/** Times this close (seconds) are one: a finding's evidence keeps them rounded to the microsecond. */
const SAME_MOMENT = 1e-6;
/** Candidate connections checked around one close (bounded work per close). */
const MAX_CANDIDATES = 64;
/** Connections kept (seven numbers each, and the row's index under its server); past it none is judged. */
const MAX_KEPT = 1 << 16;
const INITIAL_CAPACITY = 256;
const MAX_NAMES = 65_536;

/** What the capture shows of a server reclaiming idle connections for lack of slots. */
export interface SlotReclaims {
  /** The most connections the server was serving at once (after their first response, before their end). */
  peak: number;
  /** How many it was serving at its idle closes (the median): at or just below `peak`. */
  level: number;
  /** Its idle closes in all, and those that followed an arrival while it served about `peak`. */
  idleCloses: number;
  reclaimed: number;
  /** Close times of the reclaimed ones, sorted. */
  times: number[];
  /** The share of moments arrivals met by chance: the same test at moments shortly before each idle close. */
  chance: number;
  /** Reclaimed closes while another connection waited unserved (its request sent, no answer yet). */
  whileWaiting: number;
}

const time = (t: number): number => t;

export class ConnectionSlots {
  private capacity = INITIAL_CAPACITY;
  private count = 0;
  private overflow = false;
  private lastId = -1;
  /** The handshake's ACK (NaN: no handshake seen). */
  private arrival: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** Round trip from the capture point to the server (0 unknown). */
  private reach: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The server's first data (NaN: none). */
  private admit: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The client's first data (NaN: none). */
  private request: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The server's last data (NaN: none): before an idle close, its last response. */
  private lastAnswer: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** When it stopped holding a slot: its first FIN or RST, else its last packet (Infinity: open at the capture's end). */
  private end: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The server's FIN when it closed the connection idle (NaN: it did not). */
  private idleClose: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private readonly names = new Map<string, number>();
  /** Each server's rows, in the order noted: a judgement reads its server's alone. */
  private readonly rowsOf: number[][] = [];
  private readonly judged = new Map<string, SlotReclaims | null>();

  /**
   * Notes a connection as it ends, once however many detectors offer it; `idleCloseTs` says when
   * the server closed it idle (NaN: it did not), asked only the first time.
   */
  note(conn: AnalyzedConnection, idleCloseTs: (conn: AnalyzedConnection) => number): void {
    if (conn.id === this.lastId) return;
    this.lastId = conn.id;
    // A connection with neither a completed handshake nor the server's data held no slot that shows (a refused SYN).
    if (this.overflow || (conn.handshakeAckTs < 0 && conn.server.payloadBytes === 0)) return;
    if (this.count === this.capacity) {
      if (this.capacity >= MAX_KEPT) {
        this.overflow = true;
        return;
      }
      this.grow();
    }
    let server = this.names.get(conn.serverName);
    if (server === undefined) {
      if (this.names.size >= MAX_NAMES) return;
      server = this.names.size;
      this.names.set(conn.serverName, server);
      this.rowsOf.push([]);
    }
    const e = this.count++;
    this.rowsOf[server].push(e);
    const c = conn.client;
    const s = conn.server;
    this.arrival[e] = conn.handshakeAckTs >= 0 ? conn.handshakeAckTs : NaN;
    this.reach[e] = handshakeCapturePosition(conn)?.serverRtt ?? 0;
    this.admit[e] = s.payloadBytes > 0 ? s.firstDataTs : NaN;
    this.request[e] = c.payloadBytes > 0 ? c.firstDataTs : NaN;
    this.lastAnswer[e] = s.payloadBytes > 0 ? s.lastDataTs : NaN;
    let end = conn.endReason === 'capture-end' ? Infinity : conn.lastTs;
    if (c.finTs >= 0) end = Math.min(end, c.finTs);
    if (s.finTs >= 0) end = Math.min(end, s.finTs);
    if (c.rstTs >= 0) end = Math.min(end, c.rstTs);
    if (s.rstTs >= 0) end = Math.min(end, s.rstTs);
    this.end[e] = end;
    this.idleClose[e] = idleCloseTs(conn);
  }

  /** Whether the server reclaimed idle connections for lack of slots (see the file's comment); null when not, or not known. */
  reclaimsOf(serverName: string, minIdleTimeout: number, inferTimer: (ages: readonly number[]) => number): SlotReclaims | null {
    const known = this.judged.get(serverName);
    if (known !== undefined) return known;
    const found = this.judge(serverName, minIdleTimeout, inferTimer);
    this.judged.set(serverName, found);
    return found;
  }

  /** Whether the close at `ts` of `serverName` was a reclaim (`ts` as findings keep it too: rounded to the microsecond). */
  reclaimedAt(serverName: string, ts: number): boolean {
    const r = this.judged.get(serverName);
    if (r === undefined || r === null) return false;
    const i = firstAtOrAfter(r.times, ts - SAME_MOMENT, time);
    return i < r.times.length && r.times[i] <= ts + SAME_MOMENT;
  }

  private judge(serverName: string, minIdleTimeout: number, inferTimer: (ages: readonly number[]) => number): SlotReclaims | null {
    if (this.overflow) return null;
    const server = this.names.get(serverName);
    if (server === undefined) return null;
    const rows = this.rowsOf[server];
    let closes = 0;
    for (const e of rows) if (!Number.isNaN(this.idleClose[e])) closes++;
    if (closes < MIN_RECLAIMS) return null;
    // Serving: from its first response until it ended. Counted at a close, the closing one included.
    const served = rows.filter((e) => !Number.isNaN(this.admit[e]));
    const admits = served.map((e) => this.admit[e]).sort((a, b) => a - b);
    const ends = served.map((e) => Math.max(this.admit[e], this.end[e])).sort((a, b) => a - b);
    const servingAt = (t: number): number => firstAfter(admits, t, time) - firstAtOrAfter(ends, t, time);
    let peak = 0;
    for (const t of admits) peak = Math.max(peak, servingAt(t));
    // nginx reclaims from 1/16 of its slots free on, up to 32 at once: near the peak, not at it only.
    const slack = Math.max(1, Math.ceil(peak / 8));
    // The level the server's idle closes typically came at (the median), near its peak: a connection
    // whose FIN the capture lost counts as served until its RST, one above the real number for a while.
    const levels: number[] = [];
    for (const e of rows) if (!Number.isNaN(this.idleClose[e])) levels.push(servingAt(this.idleClose[e]));
    levels.sort((a, b) => a - b);
    const level = levels[levels.length >> 1];
    if (level < peak - slack) return null;
    const ceiling = level - slack;
    const byArrival = rows.filter((e) => !Number.isNaN(this.arrival[e])).sort((a, b) => this.arrival[a] - this.arrival[b]);
    const arrivals = byArrival.map((e) => this.arrival[e]);
    const byAdmit = served.slice().sort((a, b) => this.admit[a] - this.admit[b]);
    const admitTimes = byAdmit.map((e) => this.admit[e]);
    let maxReach = 0;
    for (const e of byArrival) maxReach = Math.max(maxReach, this.reach[e]);
    const times: number[] = [];
    const ages: number[] = [];
    let whileWaiting = 0;
    let afterHandshake = 0;
    const byRequest = rows
      .filter((e) => !Number.isNaN(this.request[e]))
      .map((e) => [this.request[e], Math.max(this.request[e], Math.min(Number.isNaN(this.admit[e]) ? Infinity : this.admit[e], this.end[e]))])
      .sort((a, b) => a[0] - b[0]);
    const waits = { requests: byRequest.map((w) => w[0]), ended: byRequest.map((w) => w[1]).sort((a, b) => a - b), byRequest };
    /** 0: no arrival met a close of `c` at `t`; 1: a handshake just before it; 2: a first answer just after it. */
    const metAt = (t: number, c: number): number => {
      // A connection whose handshake completed just before (its accept took a slot)...
      const from = firstAtOrAfter(arrivals, t - ARRIVAL_WINDOW - maxReach, time);
      for (let i = from, n = 0; i < arrivals.length && arrivals[i] <= t && n < MAX_CANDIDATES; i++, n++) {
        const e = byArrival[i];
        if (e === c || t - arrivals[i] > ARRIVAL_WINDOW + this.reach[e]) continue;
        if (Number.isNaN(this.admit[e]) || this.admit[e] >= t) return 1;
      }
      // ...or one answered just after, waiting since before it (accepted from the listen queue).
      const next = firstAtOrAfter(admitTimes, t, time);
      for (let i = next, n = 0; i < admitTimes.length && admitTimes[i] <= t + ARRIVAL_WINDOW && n < MAX_CANDIDATES; i++, n++) {
        const e = byAdmit[i];
        if (e !== c && this.arrival[e] <= t) return 2;
      }
      return 0;
    };
    // Chance, measured: the same test at moments shortly before each close, where no close was.
    let controls = 0;
    let controlMet = 0;
    let controlAfterHandshake = 0;
    for (const c of rows) {
      const t = this.idleClose[c];
      if (Number.isNaN(t)) continue;
      const met = servingAt(t) >= ceiling ? metAt(t, c) : 0;
      for (const shift of CONTROL_SHIFTS) {
        const k = metAt(t - shift, c);
        controls++;
        if (k > 0) controlMet++;
        if (k === 1) controlAfterHandshake++;
      }
      if (met === 0) continue;
      times.push(t);
      if (met === 1) afterHandshake++;
      // Its idle age: from its last response (the handshake when it had none).
      const idleFrom = !Number.isNaN(this.lastAnswer[c]) && this.lastAnswer[c] <= t ? this.lastAnswer[c] : this.arrival[c];
      if (!Number.isNaN(idleFrom)) ages.push(t - idleFrom);
      if (ConnectionSlots.waitingAt(waits, t) > 0) whileWaiting++;
    }
    if (times.length < MIN_RECLAIMS || times.length < MAJORITY * closes) return null;
    const chance = controlMet / controls;
    const afterChance = controlAfterHandshake / controls;
    if (inferTimer(ages) >= minIdleTimeout) {
      // Most closes at one idle age: a timer's, unless handshakes brought them on far beyond chance
      // (clients that pause alike make a reclaimed connection's age alike too). A close that only
      // let a waiting connection in is what a timer does at a server whose workers are all taken.
      if (afterHandshake / closes < (1 + afterChance) / 2) return null;
    } else if (times.length / closes < (1 + chance) / 2 && whileWaiting < MAJORITY * times.length) {
      // Arrivals so frequent that closes meet them by chance, and no connection left waiting meanwhile.
      return null;
    }
    times.sort((a, b) => a - b);
    return { peak, level, idleCloses: closes, reclaimed: times.length, times, chance, whileWaiting };
  }

  /**
   * How many connections had sent their request WAITED before `t` and got neither an answer nor an
   * end until after it (left unserved), from `waits`: each one's request and when its wait ended
   * (its first answer or its end, no sooner than its request), in two sorted columns.
   */
  private static waitingAt(waits: { requests: number[]; ended: number[]; byRequest: number[][] }, t: number): number {
    const asked = firstAfter(waits.requests, t - WAITED, time);
    // Of the waits ended by t, those whose request came after t − WAITED (few: ones just served) are not of `asked`.
    let endedOfAsked = firstAfter(waits.ended, t, time);
    const from = firstAfter(waits.byRequest, t - WAITED, (w) => w[0]);
    for (let i = from; i < waits.byRequest.length && waits.byRequest[i][0] <= t; i++) if (waits.byRequest[i][1] <= t) endedOfAsked--;
    return asked - endedOfAsked;
  }

  private grow(): void {
    this.capacity *= 2;
    this.arrival = grownColumn(this.arrival, this.capacity, float64Column);
    this.reach = grownColumn(this.reach, this.capacity, float64Column);
    this.admit = grownColumn(this.admit, this.capacity, float64Column);
    this.request = grownColumn(this.request, this.capacity, float64Column);
    this.lastAnswer = grownColumn(this.lastAnswer, this.capacity, float64Column);
    this.end = grownColumn(this.end, this.capacity, float64Column);
    this.idleClose = grownColumn(this.idleClose, this.capacity, float64Column);
  }
}

export const CONNECTION_SLOTS = 'connection-slots';

/** The table shared by keepalive-race and idle-timeout-mismatch: built once per analysis. */
export function sharedConnectionSlots(ctx: Pick<DetectContext, 'shared'>): ConnectionSlots {
  return ctx.shared(CONNECTION_SLOTS, () => new ConnectionSlots());
}

/**
 * The reclaims of a server (ConnectionSlots.reclaimsOf), its closes' idle ages judged by the
 * analysis's spread options: most of them at one age of at least minIdleTimeout are a timer's.
 */
export function slotReclaimsOf(
  slots: ConnectionSlots,
  server: string,
  options: { minIdleTimeout: number; spreadFraction: number; spreadAbsolute: number },
): SlotReclaims | null {
  return slots.reclaimsOf(server, options.minIdleTimeout, (ages) => {
    const cluster = inferTimeout(ages, { fraction: options.spreadFraction, absolute: options.spreadAbsolute, minSamples: Math.max(MIN_RECLAIMS, Math.ceil(MAJORITY * ages.length)) });
    return cluster?.value ?? 0;
  });
}
