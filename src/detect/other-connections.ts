import { hostOfEndpoint } from '../decode/address';
import type { AnalyzedConnection } from './analyzed-connection';
import { float64Column, grownColumn, uint8Column } from './grown-column';
import { lossFromOf, lossToOf } from './facts';
import type { UpstreamLeg } from './proxy-legs';

/**
 * The last connections, once ended, from addresses that serve nothing: the candidates for the
 * address a proxy connects to its backends from when that is not the one it listens on (see
 * ProxyLegs). Which of them matters is known only at the end of the analysis, and every client
 * connection of a capture passes through here, so they sit in a ring of columns (typed arrays and
 * arrays of shared strings) rather than an object each; objects are made only for the
 * connections of the address asked for.
 */

const MAX_CAPACITY = 1 << 15;
/** Small, so that the ring first grows before V8 compiles add() (see RequestIndex's INITIAL_CAPACITY). */
const INITIAL_CAPACITY = 1 << 6;

/** closedBy / closedWith codes. */
const NONE = 0;
const BY_CLIENT = 1;
const BY_SERVER = 2;
const WITH_FIN = 1;
const WITH_RST = 2;

export class OtherConnections {
  private capacity = INITIAL_CAPACITY;
  /** Connections written so far; number n sits in slot n % capacity while n >= written - capacity. */
  private written = 0;
  private flowId: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private openTs: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private openFrame: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private closeTs: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private closeFrame: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private requestCount: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private clientBytes: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private clientDataFrom: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private clientDataTo: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** The connection's last packet (a retry of a connect attempt follows it: proxy-legs.ts). */
  private lastTs: Float64Array = new Float64Array(INITIAL_CAPACITY);
  /** When bytes the capture lost were sent (UpstreamLeg.lossFrom/lossTo; -1: none). */
  private lossFrom: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private lossTo: Float64Array = new Float64Array(INITIAL_CAPACITY);
  private established: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private closedBy: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  private closedWith: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** 1: a response among its last exchanges had its Connection field cut off (UpstreamLeg.closeTermsUnseen). */
  private closeTermsUnseen: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** 1: a response among its last exchanges was still arriving when it ended (UpstreamLeg.cutMidResponse). */
  private cutMidResponse: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** 1: it carried FastCGI (UpstreamLeg.fastcgi). */
  private fastcgi: Uint8Array = new Uint8Array(INITIAL_CAPACITY);
  /** Text columns grow by appending while the ring fills (see RequestIndex). */
  private client: string[] = [];
  private server: string[] = [];

  /** Records a connection that has ended. */
  add(conn: AnalyzedConnection): void {
    if (this.written === this.capacity && this.capacity < MAX_CAPACITY) this.grow();
    const slot = this.written++ % this.capacity;
    const c = conn.client;
    const s = conn.server;
    this.flowId[slot] = conn.id;
    this.openTs[slot] = c.synTimes.length > 0 ? c.synTimes[0] : conn.startTs;
    this.openFrame[slot] = c.synFrames.length > 0 ? c.synFrames[0] : conn.firstFrame;
    this.established[slot] = s.synAckCount > 0 || s.payloadBytes > 0 ? 1 : 0;
    this.requestCount[slot] = conn.app?.exchangeCount ?? 0;
    this.clientBytes[slot] = c.payloadBytes;
    this.clientDataFrom[slot] = c.firstDataTs;
    this.clientDataTo[slot] = c.lastDataTs;
    this.lastTs[slot] = conn.lastTs;
    this.lossFrom[slot] = lossFromOf(conn);
    this.lossTo[slot] = lossToOf(conn);
    this.closeTermsUnseen[slot] = conn.app?.recent.some((ex) => ex.responseCloseUnknown === true) ? 1 : 0;
    this.cutMidResponse[slot] = conn.app?.recent.some((ex) => ex.state === 'response-incomplete') ? 1 : 0;
    this.fastcgi[slot] = conn.app !== null && conn.app.fastcgi !== null ? 1 : 0;
    // The first FIN or RST from either side (ties: client FIN, client RST, server FIN, server RST).
    let by = NONE;
    let how = NONE;
    let ts = Infinity;
    let frame = 0;
    if (c.finTs >= 0) {
      by = BY_CLIENT; how = WITH_FIN; ts = c.finTs; frame = c.finFrame;
    }
    if (c.rstTs >= 0 && c.rstTs < ts) {
      by = BY_CLIENT; how = WITH_RST; ts = c.rstTs; frame = c.rstFrame;
    }
    if (s.finTs >= 0 && s.finTs < ts) {
      by = BY_SERVER; how = WITH_FIN; ts = s.finTs; frame = s.finFrame;
    }
    if (s.rstTs >= 0 && s.rstTs < ts) {
      by = BY_SERVER; how = WITH_RST; ts = s.rstTs; frame = s.rstFrame;
    }
    this.closedBy[slot] = by;
    this.closedWith[slot] = how;
    this.closeTs[slot] = ts;
    this.closeFrame[slot] = frame;
    // One store whether it appends (slot = length, while the ring fills) or overwrites: the first
    // overwrite, when the ring wraps long after this was compiled, was a step never taken that
    // threw the compiled code away.
    this.client[slot] = conn.clientName;
    this.server[slot] = conn.serverName;
  }

  /** The remembered connections from `address` (an IP, no port), oldest first, as the upstream legs they would be. */
  from(address: string): UpstreamLeg[] {
    const out: UpstreamLeg[] = [];
    for (let n = Math.max(0, this.written - this.capacity); n < this.written; n++) {
      const slot = n % this.capacity;
      if (hostOfEndpoint(this.client[slot]) === address) out.push(this.legAt(slot));
    }
    return out;
  }

  /** The remembered connection with this flow id (the newest, should ids repeat), as an upstream leg, or null. */
  byFlow(flowId: number): UpstreamLeg | null {
    for (let n = this.written - 1; n >= Math.max(0, this.written - this.capacity); n--) {
      const slot = n % this.capacity;
      if (this.flowId[slot] === flowId) return this.legAt(slot);
    }
    return null;
  }

  private legAt(slot: number): UpstreamLeg {
    const by = this.closedBy[slot];
    const how = this.closedWith[slot];
    return {
      flowId: this.flowId[slot],
      client: this.client[slot],
      server: this.server[slot],
      openTs: this.openTs[slot],
      openFrame: this.openFrame[slot],
      established: this.established[slot] === 1,
      closeTs: this.closeTs[slot],
      closeFrame: this.closeFrame[slot],
      closedBy: by === BY_CLIENT ? 'proxy' : by === BY_SERVER ? 'backend' : null,
      closedWith: how === WITH_FIN ? 'FIN' : how === WITH_RST ? 'RST' : null,
      requestCount: this.requestCount[slot],
      closeTermsUnseen: this.closeTermsUnseen[slot] === 1,
      cutMidResponse: this.cutMidResponse[slot] === 1,
      fastcgi: this.fastcgi[slot] === 1,
      proxyBytes: this.clientBytes[slot],
      proxyDataFrom: this.clientDataFrom[slot],
      proxyDataTo: this.clientDataTo[slot],
      lastTs: this.lastTs[slot],
      lossFrom: this.lossFrom[slot],
      lossTo: this.lossTo[slot],
    };
  }

  /** Doubles the ring before it first wraps (connections still sit at their own number). */
  private grow(): void {
    const capacity = this.capacity * 2;
    this.flowId = grownColumn(this.flowId, capacity, float64Column);
    this.openTs = grownColumn(this.openTs, capacity, float64Column);
    this.openFrame = grownColumn(this.openFrame, capacity, float64Column);
    this.closeTs = grownColumn(this.closeTs, capacity, float64Column);
    this.closeFrame = grownColumn(this.closeFrame, capacity, float64Column);
    this.requestCount = grownColumn(this.requestCount, capacity, float64Column);
    this.clientBytes = grownColumn(this.clientBytes, capacity, float64Column);
    this.clientDataFrom = grownColumn(this.clientDataFrom, capacity, float64Column);
    this.clientDataTo = grownColumn(this.clientDataTo, capacity, float64Column);
    this.lastTs = grownColumn(this.lastTs, capacity, float64Column);
    this.lossFrom = grownColumn(this.lossFrom, capacity, float64Column);
    this.lossTo = grownColumn(this.lossTo, capacity, float64Column);
    this.established = grownColumn(this.established, capacity, uint8Column);
    this.closedBy = grownColumn(this.closedBy, capacity, uint8Column);
    this.closedWith = grownColumn(this.closedWith, capacity, uint8Column);
    this.closeTermsUnseen = grownColumn(this.closeTermsUnseen, capacity, uint8Column);
    this.cutMidResponse = grownColumn(this.cutMidResponse, capacity, uint8Column);
    this.fastcgi = grownColumn(this.fastcgi, capacity, uint8Column);
    this.capacity = capacity;
  }
}
