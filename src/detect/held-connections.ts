import type { AnalyzedConnection } from './analyzed-connection';
import { float64Column, grownColumn, int32Column, uint8Column } from './grown-column';
import { firstAfter, firstAtOrAfter } from './sorted-search';
import { clientHostKey, type HostKey, hostKeyOfText, hostKeyText } from './host-keys';

/**
 * The connections clients held open to each server, for one judgement at the end of a capture:
 * whether SYNs that went unanswered were dropped by a limit on concurrent connections (a firewall's
 * `connlimit` / `ct count`, a load balancer's per-client cap) rather than by an outage.
 *
 * Such a limit has an exact signature no outage or overloaded listener has: every SYN that found
 * N connections open (from the client, or to the server) was dropped, every one that found fewer
 * was answered, and the server went on answering on the N it held. An outage answers nothing; a
 * listener whose accept queue is full answers handshakes it then leaves unserved, so answered ones
 * begin with N or more open, and the connections it holds are not all served.
 *
 * A connection counts as open from its client's first SYN (conntrack makes its entry then) until
 * both sides sent FIN or either sent RST (conntrack's TIME_WAIT and CLOSE are what connection
 * limits stop counting), else until its last packet.
 */

const time = (t: number): number => t;

/** Connections kept (the latest ended): 32 bytes each, 512 KiB at most. */
const KEPT = 1 << 14;
const INITIAL_CAPACITY = 512;
/** Servers and client hosts named in the columns. */
const MAX_NAMES = 65_536;

/** When a connection stopped counting against a limit (see the file's comment). */
export function closedAt(conn: AnalyzedConnection): number {
  const c = conn.client;
  const s = conn.server;
  let closed = conn.endReason === 'capture-end' ? Infinity : conn.lastTs;
  if (c.rstTs >= 0) closed = Math.min(closed, c.rstTs);
  if (s.rstTs >= 0) closed = Math.min(closed, s.rstTs);
  if (c.finTs >= 0 && s.finTs >= 0) closed = Math.min(closed, Math.max(c.finTs, s.finTs));
  return closed;
}

export interface ConnectionLimit {
  /** The number of connections open at every dropped SYN, and below it at every answered one. */
  limit: number;
  /** The client host the count is of; null: all clients of the server. */
  clientHost: string | null;
  /** SYN transmissions dropped at that count, and handshakes answered below it. */
  dropped: number;
  answered: number;
}

export interface ServedMeanwhile {
  /** The fewest connections open at any dropped SYN, and the most. */
  fewestOpen: number;
  mostOpen: number;
  /** Dropped SYNs after which the server still sent data on a connection open at that moment. */
  servedAfter: number;
}

export class HeldConnections {
  private capacity = INITIAL_CAPACITY;
  private count = 0;
  private syn: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private closed: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private serverLastData: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private server: Int32Array = new Int32Array(INITIAL_CAPACITY);
  private clientHost: Int32Array = new Int32Array(INITIAL_CAPACITY);
  /** 1: the client sent data and the server none (a handshake the application never took up). */
  private unserved: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** 1: the client acknowledged the handshake (a connection its client used, not one it reset unanswered). */
  private acked: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** The distinct SYNs its client sent (at most 255): more than one, its connect outlived a SYN retransmission. */
  private syns: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /**
   * Server endpoints, and client hosts by HostKey: an IPv4 host keeps no string (a capture of a
   * public server has a client host per connection or so, and each host text was a slice holding
   * its whole endpoint text). Each numbered in its own column's order; MAX_NAMES in all.
   */
  private readonly names = new Map<string, number>();
  private readonly hosts = new Map<HostKey, number>();
  private readonly hostList: HostKey[] = [];
  /** The latest close among the connections the ring let go: counts at earlier moments are incomplete. */
  private forgottenUntil = -Infinity;

  /**
   * Notes a connection whose handshake the server answered, as it ends; `clientSyns`: the distinct
   * SYNs its client sent (capture copies left out).
   */
  note(conn: AnalyzedConnection, clientSyns = 1): void {
    if (conn.client.synTimes.length === 0 || conn.server.synAckTimes.length === 0) return;
    const server = this.nameIndex(conn.serverName);
    const client = this.hostIndex(clientHostKey(conn));
    if (server < 0 || client < 0) return;
    if (this.count === this.capacity && this.capacity < KEPT) this.grow();
    const e = this.count++ % this.capacity;
    if (this.count > this.capacity) this.forgottenUntil = Math.max(this.forgottenUntil, this.closed[e]);
    this.syn[e] = conn.client.synTimes[0];
    this.closed[e] = closedAt(conn);
    this.serverLastData[e] = conn.server.lastDataTs;
    this.server[e] = server;
    this.clientHost[e] = client;
    this.unserved[e] = conn.client.payloadBytes > 0 && conn.server.payloadBytes === 0 ? 1 : 0;
    this.acked[e] = conn.client.hasAck || conn.client.payloadBytes > 0 ? 1 : 0;
    this.syns[e] = Math.min(255, clientSyns);
  }

  /**
   * The connections `clientHost` used to `serverName` (their client acknowledged the handshake),
   * for when its load toward that server stopped (ClientLoad). Null when none was kept.
   */
  loadOf(serverName: string, clientHost: string): ClientLoad | null {
    const server = this.names.get(serverName);
    const client = this.hosts.get(hostKeyOfText(clientHost));
    if (server === undefined || client === undefined) return null;
    const all = this.rowsOf(server, client);
    const rows = all.filter((e) => this.acked[e] === 1);
    if (rows.length === 0) return null;
    let mostSyns = 1;
    let retried = 0;
    for (const e of rows) {
      mostSyns = Math.max(mostSyns, this.syns[e]);
      if (this.syns[e] > 1) retried++;
    }
    const syns = rows.map((e) => this.syn[e]).sort((a, b) => a - b);
    const ends = rows.map((e) => Math.max(this.syn[e], this.closed[e])).sort((a, b) => a - b);
    const starts = all.map((e) => this.syn[e]).sort((a, b) => a - b);
    return new ClientLoad(syns, ends, starts, mostSyns, retried, this.forgottenUntil);
  }

  /**
   * Whether the SYNs sent at `dropped` (times; each transmission of the unanswered attempts from
   * `clientHost` to `serverName`) fit a limit on concurrent connections (see the file's comment),
   * counted from that client host first, else from all clients. Null when they do not, or when
   * the connections open then are no longer all known.
   */
  limitOf(serverName: string, clientHost: string, dropped: readonly number[]): ConnectionLimit | null {
    if (dropped.length < 2 || dropped.some((t) => t <= this.forgottenUntil)) return null;
    const server = this.names.get(serverName);
    if (server === undefined) return null;
    const client = this.hosts.get(hostKeyOfText(clientHost)) ?? -1;
    return this.limitIn(server, client, dropped) ?? this.limitIn(server, -1, dropped);
  }

  /**
   * How many connections were open to `serverName` at the `dropped` SYNs, and after how many of
   * them the server still sent data on one of those: a server that kept working while its new
   * connections failed. Null when the connections open then are no longer all known.
   */
  servedMeanwhile(serverName: string, dropped: readonly number[]): ServedMeanwhile | null {
    if (dropped.length === 0 || dropped.some((t) => t <= this.forgottenUntil)) return null;
    const server = this.names.get(serverName);
    if (server === undefined) return { fewestOpen: 0, mostOpen: 0, servedAfter: 0 };
    const rows = this.rowsOf(server, -1);
    const openAt = this.counter(rows, (e) => this.closed[e]);
    // Open at t and the server's data on it after t: open until the sooner of its close and its last data.
    const servingAt = this.counter(rows, (e) => Math.min(this.closed[e], this.serverLastData[e]));
    let fewestOpen = Infinity;
    let mostOpen = 0;
    let servedAfter = 0;
    for (const t of dropped) {
      const open = openAt(t);
      fewestOpen = Math.min(fewestOpen, open);
      mostOpen = Math.max(mostOpen, open);
      if (servingAt(t) > 0) servedAfter++;
    }
    return { fewestOpen, mostOpen, servedAfter };
  }

  private limitIn(server: number, client: number, dropped: readonly number[]): ConnectionLimit | null {
    const rows = this.rowsOf(server, client);
    if (rows.length === 0) return null;
    const openAt = this.counter(rows, (e) => this.closed[e]);
    const limit = openAt(dropped[0]);
    if (limit < 1) return null;
    for (const t of dropped) if (openAt(t) !== limit) return null;
    // The connections held at the drops were all served: a listener that stopped accepting holds
    // handshakes nobody reads, and those count up to a constant too. (`dropped` is in time order.)
    for (const e of rows) {
      if (this.unserved[e] !== 1) continue;
      const next = firstAfter(dropped, this.syn[e], time);
      if (next < dropped.length && dropped[next] < this.closed[e]) return null;
    }
    let answered = 0;
    for (const e of rows) {
      // Answered handshakes before the ring's horizon cannot be counted against: skip them.
      if (this.syn[e] <= this.forgottenUntil) continue;
      if (openAt(this.syn[e]) >= limit) return null;
      answered++;
    }
    return { limit, clientHost: client < 0 ? null : hostKeyText(this.hostList[client]), dropped: dropped.length, answered };
  }

  /**
   * How many of `rows` were open at a time t: began before it, and their `end` after it. Sorted
   * once, each count two binary searches (a SYN flood's thousands of drops against 2^14 rows).
   */
  private counter(rows: readonly number[], end: (e: number) => number): (t: number) => number {
    const syns = rows.map((e) => this.syn[e]).sort((a, b) => a - b);
    // An end before its own SYN (no data at all) is taken at the SYN: such a row is open at no t.
    const ends = rows.map((e) => Math.max(this.syn[e], end(e))).sort((a, b) => a - b);
    return (t) => firstAtOrAfter(syns, t, time) - firstAfter(ends, t, time);
  }

  /** The kept rows of a server, of one client host (-1: any). */
  private rowsOf(server: number, client: number): number[] {
    const rows: number[] = [];
    const kept = Math.min(this.count, this.capacity);
    for (let e = 0; e < kept; e++) {
      if (this.server[e] === server && (client < 0 || this.clientHost[e] === client)) rows.push(e);
    }
    return rows;
  }

  private nameIndex(name: string): number {
    let i = this.names.get(name);
    if (i === undefined) {
      if (this.names.size + this.hosts.size >= MAX_NAMES) return -1;
      i = this.names.size;
      this.names.set(name, i);
    }
    return i;
  }

  private hostIndex(host: HostKey): number {
    let i = this.hosts.get(host);
    if (i === undefined) {
      if (this.names.size + this.hosts.size >= MAX_NAMES) return -1;
      i = this.hostList.length;
      this.hosts.set(host, i);
      this.hostList.push(host);
    }
    return i;
  }

  private grow(): void {
    this.capacity *= 2;
    this.syn = grownColumn(this.syn, this.capacity, float64Column);
    this.closed = grownColumn(this.closed, this.capacity, float64Column);
    this.serverLastData = grownColumn(this.serverLastData, this.capacity, float64Column);
    this.server = grownColumn(this.server, this.capacity, int32Column);
    this.clientHost = grownColumn(this.clientHost, this.capacity, int32Column);
    this.unserved = grownColumn(this.unserved, this.capacity, uint8Column);
    this.acked = grownColumn(this.acked, this.capacity, uint8Column);
    this.syns = grownColumn(this.syns, this.capacity, uint8Column);
  }
}

/**
 * One client host's connections to one server (HeldConnections.loadOf): when they were open, and
 * how long its connects waited. A client that stops (a load generator at the end of its run, a
 * script or process exiting) leaves the connects it still had in flight without a packet, as a
 * connect timeout does; what tells the two apart is that its other connections to the server ended
 * at that moment too, and that its connects elsewhere waited out a lost SYN.
 */
export class ClientLoad {
  constructor(
    /** First SYNs and ends (closedAt) of the connections it used, each sorted. */
    private readonly syns: readonly number[],
    private readonly ends: readonly number[],
    /** First SYNs of every connection of it the server answered, used or not, sorted. */
    private readonly starts: readonly number[],
    /** The most distinct SYNs one of its used connections sent, and how many sent more than one. */
    readonly mostSyns: number,
    readonly retried: number,
    /** The latest close among the connections the ring let go: what it tells of earlier moments is incomplete. */
    readonly forgottenUntil: number,
  ) {}

  /** How many of its connections were open at `t`: begun before it, not closed by then. */
  openAt(t: number): number {
    return firstAtOrAfter(this.syns, t, time) - firstAfter(this.ends, t, time);
  }

  /**
   * The first moment in (`from`, `to`] at which its last open connection closed and none was left
   * open: where its load toward the server stopped. -1 when none.
   */
  stopWithin(from: number, to: number): number {
    const stops = this.stopsOf();
    const i = firstAfter(stops, from, time);
    return i < stops.length && stops[i] <= to ? stops[i] : -1;
  }

  /** The moments at which none of its connections was left open, sorted: found once, for every attempt judged. */
  private stops: number[] | null = null;
  private stopsOf(): number[] {
    if (this.stops === null) {
      this.stops = [];
      for (const t of this.ends) if (t !== Infinity && this.openAt(t) === 0 && this.stops[this.stops.length - 1] !== t) this.stops.push(t);
    }
    return this.stops;
  }

  /** The first SYN of its next connection to the server after `t`, Infinity when none. */
  nextStartAfter(t: number): number {
    const i = firstAfter(this.starts, t, time);
    return i < this.starts.length ? this.starts[i] : Infinity;
  }
}
