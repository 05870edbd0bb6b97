/**
 * A large synthetic capture for the benchmark: realistic HTTP/1.1 over Ethernet/IPv4/TCP,
 * as a server-side tap would record it.
 *
 *   node dist/bench/make-capture.js OUT.pcap [packets=2000000] [seed=1]
 *
 * Two kinds of connection arrive over time (Poisson arrivals, so thousands are open at once
 * after a ramp-up rather than all at the start):
 * - keep-alive clients (API clients, browsers): a handshake, then 20-200 small requests with
 *   think time between them, then the client closes;
 * - one-request clients: handshake, one request with `Connection: close`, the response, and
 *   the server-initiated FIN exchange.
 * Requests are 200-700 bytes (GETs with headers and cookies, some POSTs with a JSON body);
 * responses are mostly small JSON, some pages and scripts, few images, and 304s. Responses are
 * cut at an MSS of 1448 bytes and sent in slow-start windows; the client ACKs every second
 * segment one RTT later; every segment carries the TCP timestamp option, SYNs carry the usual
 * options. RTTs go from LAN (0.2 ms) to far WAN (120 ms). Everything is deterministic for a
 * given seed.
 */
import { closeSync, openSync, writeSync } from 'node:fs';

export interface CaptureSpec {
  /** Packets to write. */
  packets: number;
  seed?: number;
  /** Extra files to receive a byte-exact prefix of the capture: the first `packets` records each. */
  prefixes?: Array<{ file: string; packets: number }>;
}

export interface CaptureMade {
  packets: number;
  bytes: number;
  connections: number;
  exchanges: number;
  /** Capture time covered, seconds. */
  duration: number;
  /** Most connections open at one time. */
  peakOpen: number;
}

const START_TS = 1_700_000_000;
const MSS = 1448;
const SEGMENT_GAP = 12e-6; // a full frame every 12 µs: 1 Gbit/s
const KEEPALIVE_ARRIVALS_PER_S = 60;
const SINGLE_ARRIVALS_PER_S = 700;
const THINK_MEAN_S = 0.4;

const SYN = 0x02;
const FIN = 0x01;
const PSH = 0x08;
const ACK = 0x10;

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes of one HTTP message: a head, then `bodyLength` bytes of filler. */
interface Message {
  head: Uint8Array;
  length: number;
}

interface Packet {
  t: number;
  fromClient: boolean;
  flags: number;
  seq: number;
  ack: number;
  syn: boolean;
  message: Message | null;
  /** Offset of this segment in its message. */
  offset: number;
  length: number;
}

class Connection {
  queue: Packet[] = [];
  next = 0;
  /** Time of the next packet to write (the heap key). */
  t = 0;
  heapIndex = -1;
  cSeq: number;
  sSeq: number;
  cwnd = 10;
  exchangesLeft: number;
  closed = false;
  ipId = 0;

  constructor(
    readonly clientIp: number,
    readonly clientPort: number,
    readonly serverIp: number,
    readonly serverPort: number,
    readonly rtt: number,
    readonly keepAlive: boolean,
    exchanges: number,
    random: () => number,
  ) {
    this.cSeq = Math.floor(random() * 4294967296);
    this.sSeq = Math.floor(random() * 4294967296);
    this.exchangesLeft = exchanges;
  }
}

/** Min-heap of connections by next packet time. */
class Heap {
  private readonly items: Connection[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Connection | undefined {
    return this.items[0];
  }

  push(c: Connection): void {
    c.heapIndex = this.items.length;
    this.items.push(c);
    this.up(c.heapIndex);
  }

  pop(): Connection {
    const items = this.items;
    const top = items[0];
    const last = items.pop() as Connection;
    if (items.length > 0) {
      items[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  private up(i: number): void {
    const items = this.items;
    const c = items[i];
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (items[p].t <= c.t) break;
      items[i] = items[p];
      items[i].heapIndex = i;
      i = p;
    }
    items[i] = c;
    c.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const c = items[i];
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && items[m + 1].t < items[m].t) m++;
      if (items[m].t >= c.t) break;
      items[i] = items[m];
      items[i].heapIndex = i;
      i = m;
    }
    items[i] = c;
    c.heapIndex = i;
  }
}

const FILLER = (() => {
  const text = '{"id":12345,"sku":"AB-1234-XY","name":"Stainless steel water bottle, 750 ml","price":{"amount":1999,"currency":"EUR"},"stock":42,"tags":["outdoor","kitchen","gift"]},';
  const out = new Uint8Array(1 << 16);
  for (let i = 0; i < out.length; i++) out[i] = text.charCodeAt(i % text.length);
  return out;
})();

const encoder = new TextEncoder();

const API_PATHS = ['/api/v2/orders/', '/api/v2/products/', '/api/v2/cart/items/', '/api/v1/users/me/notifications?since=', '/api/v2/search?q=bottle&page='];
const PAGE_PATHS = ['/', '/static/js/app.8f3c2d1.js', '/static/css/main.41be07.css', '/img/products/', '/catalog/outdoor?page='];
const AGENTS = [
  'okhttp/4.12.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'python-requests/2.31.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)];
}

function request(random: () => number, keepAlive: boolean): Message {
  const api = random() < 0.7;
  const id = Math.floor(random() * 1e6);
  const path = api ? `${pick(API_PATHS, random)}${id}` : `${pick(PAGE_PATHS, random)}${random() < 0.5 ? id : ''}`;
  const post = api && random() < 0.15;
  const body = post ? `{"productId":${id},"quantity":${1 + Math.floor(random() * 4)},"note":"${'x'.repeat(Math.floor(random() * 120))}"}` : '';
  let head = `${post ? 'POST' : 'GET'} ${path} HTTP/1.1\r\nHost: ${api ? 'api' : 'www'}.shop.example\r\nUser-Agent: ${pick(AGENTS, random)}\r\n`;
  head += api ? 'Accept: application/json\r\n' : 'Accept: text/html,application/xhtml+xml,*/*;q=0.8\r\n';
  head += 'Accept-Encoding: gzip, deflate, br\r\n';
  if (api) head += `Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.${id.toString(36)}abcdefghijklmnopqrstuvwxyz0123\r\n`;
  else head += `Cookie: session=${(id * 7919).toString(36)}a8f3b2c1d4e5; theme=dark; consent=1\r\n`;
  if (post) head += `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`;
  head += keepAlive ? 'Connection: keep-alive\r\n\r\n' : 'Connection: close\r\n\r\n';
  const bytes = encoder.encode(head + body);
  return { head: bytes, length: bytes.length };
}

function response(random: () => number, keepAlive: boolean, ts: number): Message {
  const r = random();
  let status = '200 OK';
  let body = 0;
  let type = 'application/json';
  if (r < 0.1) status = '304 Not Modified';
  else if (r < 0.13) {
    status = '404 Not Found';
    body = 150;
  } else if (r < 0.65) body = 100 + Math.floor(random() * 1900);
  else if (r < 0.96) {
    body = 2000 + Math.floor(random() * 10000);
    type = random() < 0.5 ? 'text/html; charset=utf-8' : 'application/javascript';
  } else {
    body = 16000 + Math.floor(random() * 48000);
    type = 'application/octet-stream'; // images and downloads (filler bytes would not dissect as JPEG)
  }
  let head = `HTTP/1.1 ${status}\r\nServer: nginx/1.24.0\r\nDate: ${new Date(ts * 1000).toUTCString()}\r\n`;
  if (status !== '304 Not Modified') head += `Content-Type: ${type}\r\nContent-Length: ${body}\r\n`;
  head += 'Cache-Control: max-age=60\r\nETag: "5f3c-1a2b3c"\r\n';
  head += keepAlive ? 'Connection: keep-alive\r\nKeep-Alive: timeout=75\r\n\r\n' : 'Connection: close\r\n\r\n';
  const bytes = encoder.encode(head);
  return { head: bytes, length: bytes.length + body };
}

function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

function rttFor(random: () => number): number {
  const r = random();
  if (r < 0.3) return 0.0002 + random() * 0.001; // same data centre
  if (r < 0.8) return 0.01 + random() * 0.03; // same region
  return 0.06 + random() * 0.06; // far away
}

/**
 * Writes the capture. Returns what was written. Prefix files (if any) receive the first
 * `packets` records each, byte for byte.
 */
export function makeCapture(file: string, spec: CaptureSpec): CaptureMade {
  const random = rng(spec.seed ?? 1);
  const total = spec.packets;
  const outputs = [{ fd: openSync(file, 'w'), limit: total }];
  for (const p of spec.prefixes ?? []) outputs.push({ fd: openSync(p.file, 'w'), limit: Math.min(p.packets, total) });

  const buffer = Buffer.alloc(8 << 20);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let at = 0;
  let written = 0;
  const flush = (): void => {
    for (const out of outputs) if (out.fd >= 0) writeSync(out.fd, buffer, 0, at);
    written += at;
    at = 0;
  };

  // pcap global header: microsecond, little-endian, Ethernet.
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 262144, true);
  view.setUint32(20, 1, true);
  at = 24;

  const heap = new Heap();
  let nextKeepAlive = START_TS + exponential(random, 1 / KEEPALIVE_ARRIVALS_PER_S);
  let nextSingle = START_TS + exponential(random, 1 / SINGLE_ARRIVALS_PER_S);
  let nextPort = 0;
  let connections = 0;
  let exchanges = 0;
  let peakOpen = 0;
  let lastTs = START_TS;

  const open = (t: number, keepAlive: boolean): void => {
    const n = nextPort++;
    const clientIp = (10 << 24) | (1 << 16) | ((n % 250) << 8) | (1 + ((n / 250) % 250 | 0)); // 10.1.x.y
    const clientPort = 32768 + ((n / 62500) % 28000 | 0);
    const serverIp = (192 << 24) | (168 << 16) | (10 << 8) | (10 + (n % 4));
    const c = new Connection(clientIp, clientPort, serverIp, keepAlive ? 8080 : 80, rttFor(random), keepAlive, keepAlive ? 20 + Math.floor(random() * 181) : 1, random);
    connections++;
    handshake(c, t);
    c.t = c.queue[0].t;
    heap.push(c);
    if (heap.size > peakOpen) peakOpen = heap.size;
  };

  const push = (c: Connection, t: number, fromClient: boolean, flags: number, message: Message | null, offset: number, length: number, syn = false): void => {
    const seq = fromClient ? c.cSeq : c.sSeq;
    const ack = flags & ACK ? (fromClient ? c.sSeq : c.cSeq) : 0;
    c.queue.push({ t, fromClient, flags, seq, ack, syn, message, offset, length });
  };

  /** SYN, SYN-ACK, ACK, then the first exchange. */
  function handshake(c: Connection, t: number): void {
    c.queue = [];
    c.next = 0;
    push(c, t, true, SYN, null, 0, 0, true);
    c.cSeq = (c.cSeq + 1) >>> 0;
    push(c, t + 0.00003, false, SYN | ACK, null, 0, 0, true);
    c.sSeq = (c.sSeq + 1) >>> 0;
    push(c, t + c.rtt, true, ACK, null, 0, 0);
    exchange(c, t + c.rtt + 0.00002);
  }

  /** One request and its response (appended to the queue), then what follows it. */
  function exchange(c: Connection, t: number): void {
    exchanges++;
    c.exchangesLeft--;
    const req = request(random, c.keepAlive);
    push(c, t, true, PSH | ACK, req, 0, req.length);
    c.cSeq = (c.cSeq + req.length) >>> 0;
    const processing = Math.min(0.5, 0.0005 + exponential(random, 0.012));
    if (processing > 0.04) push(c, t + 0.04, false, ACK, null, 0, 0); // delayed ACK of the request
    const resp = response(random, c.keepAlive, t);
    let sent = 0;
    let segments = 0;
    let windowStart = t + processing;
    let tx = windowStart;
    let inWindow = 0;
    while (sent < resp.length) {
      const length = Math.min(MSS, resp.length - sent);
      const last = sent + length === resp.length;
      push(c, tx, false, last ? PSH | ACK : ACK, resp, sent, length);
      c.sSeq = (c.sSeq + length) >>> 0;
      sent += length;
      segments++;
      inWindow++;
      // The client ACKs every second segment (and the last), one RTT later at this tap.
      // Without keep-alive the client's FIN acknowledges the end of the response instead.
      if (segments % 2 === 0 || (last && c.keepAlive)) {
        const ackT = tx + c.rtt + (last && segments % 2 === 1 ? 0.04 : 0); // delayed ACK of an odd last segment
        c.queue.push({ t: ackT, fromClient: true, flags: ACK, seq: c.cSeq, ack: c.sSeq, syn: false, message: null, offset: 0, length: 0 });
      }
      if (inWindow >= c.cwnd && !last) {
        windowStart += c.rtt;
        tx = Math.max(tx + SEGMENT_GAP, windowStart);
        inWindow = 0;
        c.cwnd = Math.min(c.cwnd * 2, 64);
      } else {
        tx += SEGMENT_GAP;
      }
    }
    const end = tx + c.rtt + 0.00005;
    if (!c.keepAlive) {
      // Connection: close — the server closes right after the response, the client follows.
      push(c, tx, false, FIN | ACK, null, 0, 0);
      c.sSeq = (c.sSeq + 1) >>> 0;
      push(c, end, true, FIN | ACK, null, 0, 0);
      c.cSeq = (c.cSeq + 1) >>> 0;
      push(c, end + 0.00003, false, ACK, null, 0, 0);
      c.closed = true;
    }
    c.queue.sort((a, b) => a.t - b.t);
  }

  /** The queue ran dry: next request after think time, or the client closes. */
  function continueConnection(c: Connection, t: number): boolean {
    if (c.closed) return false;
    c.queue = [];
    c.next = 0;
    const next = t + c.rtt + exponential(random, THINK_MEAN_S);
    if (c.exchangesLeft > 0) {
      exchange(c, next);
    } else {
      push(c, next, true, FIN | ACK, null, 0, 0);
      c.cSeq = (c.cSeq + 1) >>> 0;
      push(c, next + 0.00003, false, FIN | ACK, null, 0, 0);
      c.sSeq = (c.sSeq + 1) >>> 0;
      push(c, next + c.rtt, true, ACK, null, 0, 0);
      c.closed = true;
    }
    return true;
  }

  const writePacket = (c: Connection, p: Packet, ts: number): void => {
    const tcpHeader = p.syn ? 40 : 32;
    const frameLength = 14 + 20 + tcpHeader + p.length;
    if (at + 16 + frameLength > buffer.length) flush();
    const sec = Math.floor(ts);
    view.setUint32(at, sec, true);
    view.setUint32(at + 4, Math.min(999_999, Math.round((ts - sec) * 1e6)), true);
    view.setUint32(at + 8, frameLength, true);
    view.setUint32(at + 12, frameLength, true);
    let o = at + 16;
    // Ethernet
    const clientMac = p.fromClient;
    buffer[o] = 0x02; buffer[o + 1] = 0; buffer[o + 2] = 0; buffer[o + 3] = 0; buffer[o + 4] = 0; buffer[o + 5] = clientMac ? 0x01 : 0x02;
    buffer[o + 6] = 0x02; buffer[o + 7] = 0; buffer[o + 8] = 0; buffer[o + 9] = 0; buffer[o + 10] = 0; buffer[o + 11] = clientMac ? 0x02 : 0x01;
    view.setUint16(o + 12, 0x0800);
    o += 14;
    // IPv4
    const ip = o;
    view.setUint16(ip, 0x4500);
    view.setUint16(ip + 2, 20 + tcpHeader + p.length);
    view.setUint16(ip + 4, c.ipId = (c.ipId + 1) & 0xffff);
    view.setUint16(ip + 6, 0x4000);
    view.setUint16(ip + 8, ((p.fromClient ? 52 : 64) << 8) | 6);
    view.setUint16(ip + 10, 0);
    view.setUint32(ip + 12, p.fromClient ? c.clientIp : c.serverIp);
    view.setUint32(ip + 16, p.fromClient ? c.serverIp : c.clientIp);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += view.getUint16(ip + i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    view.setUint16(ip + 10, ~sum & 0xffff);
    o += 20;
    // TCP
    view.setUint16(o, p.fromClient ? c.clientPort : c.serverPort);
    view.setUint16(o + 2, p.fromClient ? c.serverPort : c.clientPort);
    view.setUint32(o + 4, p.seq);
    view.setUint32(o + 8, p.ack);
    view.setUint16(o + 12, ((tcpHeader / 4) << 12) | p.flags);
    view.setUint16(o + 14, p.syn ? 64240 : p.fromClient ? 502 : 509);
    view.setUint32(o + 16, 0); // checksum (not computed, like an offloading NIC) and urgent pointer
    const tsval = (Math.floor(ts * 1000) + (p.fromClient ? 7_000_000 : 3_000_000)) >>> 0;
    const tsecr = (Math.floor((ts - c.rtt) * 1000) + (p.fromClient ? 3_000_000 : 7_000_000)) >>> 0;
    if (p.syn) {
      // MSS, SACK permitted, timestamps, NOP, window scale 7
      view.setUint32(o + 20, 0x020405b4);
      view.setUint16(o + 24, 0x0402);
      view.setUint16(o + 26, 0x080a);
      view.setUint32(o + 28, tsval);
      view.setUint32(o + 32, p.flags & ACK ? tsecr : 0);
      view.setUint32(o + 36, 0x01030307);
    } else {
      view.setUint32(o + 20, 0x0101080a);
      view.setUint32(o + 24, tsval);
      view.setUint32(o + 28, tsecr);
    }
    o += tcpHeader;
    const m = p.message;
    if (m !== null) {
      let from = p.offset;
      const to = p.offset + p.length;
      if (from < m.head.length) {
        const n = Math.min(to, m.head.length) - from;
        buffer.set(m.head.subarray(from, from + n), o);
        o += n;
        from += n;
      }
      while (from < to) {
        const f = (from - m.head.length) & 0xffff;
        const n = Math.min(to - from, FILLER.length - f);
        buffer.set(FILLER.subarray(f, f + n), o);
        o += n;
        from += n;
      }
    }
    at = o;
  };

  let packets = 0;
  while (packets < total) {
    const top = heap.peek();
    const arrival = Math.min(nextKeepAlive, nextSingle);
    if (top === undefined || arrival < top.t) {
      if (nextKeepAlive <= nextSingle) {
        open(nextKeepAlive, true);
        nextKeepAlive += exponential(random, 1 / KEEPALIVE_ARRIVALS_PER_S);
      } else {
        open(nextSingle, false);
        nextSingle += exponential(random, 1 / SINGLE_ARRIVALS_PER_S);
      }
      continue;
    }
    const c = heap.pop();
    const p = c.queue[c.next++];
    const ts = Math.max(p.t, lastTs);
    lastTs = ts;
    writePacket(c, p, ts);
    packets++;
    for (const out of outputs) {
      if (out.fd >= 0 && packets === out.limit && out.limit < total) {
        writeSync(out.fd, buffer, 0, at);
        closeSync(out.fd);
        out.fd = -1;
      }
    }
    if (c.next < c.queue.length || continueConnection(c, p.t)) {
      c.t = c.queue[c.next].t;
      heap.push(c);
    }
  }
  flush();
  for (const out of outputs) if (out.fd >= 0) closeSync(out.fd);
  return { packets, bytes: written, connections, exchanges, duration: lastTs - START_TS, peakOpen };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist/bench/make-capture.js OUT.pcap [packets=2000000] [seed=1]');
    process.exit(2);
  }
  const made = makeCapture(file, { packets: Number(process.argv[3] ?? 2_000_000), seed: Number(process.argv[4] ?? 1) });
  console.log(JSON.stringify(made));
}
