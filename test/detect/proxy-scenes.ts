/**
 * Proxy scenes for the gateway-timeout / no-upstream-connect / intermittent-5xx tests: a client
 * (10.0.0.1) talks to a proxy (10.0.0.2:80), which talks to a backend (10.0.0.3:8080). Each scene
 * says what the proxy did upstream while the client waited, built on reuse-kit's scripted
 * connections.
 */
import { buildTcpPacket, TCP_SYN } from '../helpers/packet-builder';
import { Capture, Conn, get, ok } from './reuse-kit';

export const CLIENT = '10.0.0.1';
export const PROXY = '10.0.0.2';
export const BACKEND = '10.0.0.3';
export const PROXY_ENDPOINT = `${PROXY}:80`;
export const BACKEND_ENDPOINT = `${BACKEND}:8080`;

export type Upstream =
  /** The proxy forwards the request on a new backend connection; the backend never answers; the proxy closes it at the timeout. */
  | 'read'
  /** The proxy sends a SYN to the backend that is never answered. */
  | 'connect'
  /** The backend answers (with `backendStatus`) just before the proxy answers the client. */
  | 'answered'
  /** The proxy talks TLS to the backend (bytes that are not HTTP) on a new connection. */
  | 'tls'
  /** Nothing upstream during the wait. */
  | 'none';

export interface SceneOptions {
  uri?: string;
  /** The target the proxy sends upstream (default: `uri`; a proxy may strip or add a path prefix). */
  upstreamUri?: string;
  /** Seconds from the client's request to the proxy's answer. */
  delay: number;
  upstream: Upstream;
  /** The proxy's answer: a status line ("504 Gateway Time-out"), or 'FIN' to close without one. */
  answer?: string;
  backendStatus?: string;
  /** Payload bytes the capture kept of the proxy's answer (a snaplen that cut it; default all). */
  answerKept?: number;
  /** The address the proxy connects to the backend from (default: PROXY, the one it listens on). */
  via?: string;
  /** Header fields of the proxy's answer (`Server: Caddy`, `Via: 1.1 varnish (Varnish/7.1)`). */
  answerHeaders?: string[];
}

export function downstream(cap: Capture): Conn {
  return cap.connection({ client: CLIENT, server: PROXY, sport: 80 });
}

export function upstream(cap: Capture, via = PROXY): Conn {
  return cap.connection({ client: via, server: BACKEND, sport: 8080 });
}

/** One client request failed (or answered) by the proxy after `delay`; returns the client's connection. */
export function scene(cap: Capture, at: number, options: SceneOptions): Conn {
  const uri = options.uri ?? '/slow';
  const down = downstream(cap);
  down.handshake(at).request(at + 0.001, get(uri));
  const answerAt = at + 0.001 + options.delay;
  if (options.upstream === 'read' || options.upstream === 'answered') {
    const up = upstream(cap, options.via);
    up.handshake(at + 0.0015).request(at + 0.002, get(options.upstreamUri ?? uri));
    if (options.upstream === 'answered') up.response(answerAt - 0.0005, ok('', [], 'HTTP/1.1', options.backendStatus ?? '503 Service Unavailable'));
    up.close(answerAt - 0.0002, 'c');
  } else if (options.upstream === 'tls') {
    tlsLeg(cap, at + 0.0015, answerAt - 0.0002, [], options.via);
  } else if (options.upstream === 'connect') {
    const port = 50000 + Math.round(at * 10);
    cap.add(at + 0.0015, buildTcpPacket({ src: options.via ?? PROXY, dst: BACKEND, sport: port, dport: 8080, seq: 7000, flags: TCP_SYN }));
  }
  if (options.answer === 'FIN') {
    down.close(answerAt, 's');
  } else {
    down.response(answerAt, ok('upstream trouble', options.answerHeaders ?? [], 'HTTP/1.1', options.answer ?? '504 Gateway Time-out'), { keptPayload: options.answerKept });
    down.close(answerAt + 0.01, 'c');
  }
  return down;
}

/** A backend connection the proxy holds open (busy with a slow request) from `from` to `to`: the proxy's upstream is visible. */
export function busySlot(cap: Capture, from: number, to: number, via = PROXY): Conn {
  const up = upstream(cap, via);
  up.handshake(from).request(from + 0.001, get('/busy'));
  up.response(to, ok());
  return up;
}

/** TLS-looking bytes (a handshake record header, then noise) both ways on a proxy→backend connection. */
export function tlsLeg(cap: Capture, from: number, to: number, chatterAt: number[] = [], via = PROXY): Conn {
  const up = upstream(cap, via);
  const record = '\x16\x03\x01\x00\x20' + 'x'.repeat(32);
  up.handshake(from).send(from + 0.0005, 'c', record).send(from + 0.001, 's', record);
  for (const t of chatterAt) up.send(t, 'c', '\x17\x03\x03\x00\x10' + 'y'.repeat(16));
  up.close(to, 'c');
  return up;
}

/**
 * A front proxy (10.0.0.9:80) in front of the proxy of the scenes above: a chain client → FRONT →
 * PROXY → BACKEND. The front forwards on one keep-alive connection to PROXY_ENDPOINT.
 */
export const FRONT = '10.0.0.9';
export const FRONT_ENDPOINT = `${FRONT}:80`;

export interface Chain {
  /** The client's keep-alive connection to the front. */
  client: Conn;
  /** The front's keep-alive connection to the proxy (the proxy's downstream leg). */
  front: Conn;
}

export function chain(cap: Capture, at: number): Chain {
  const client = cap.connection({ client: CLIENT, server: FRONT, sport: 80 });
  const front = cap.connection({ client: FRONT, server: PROXY, sport: 80 });
  client.handshake(at);
  front.handshake(at + 0.0005);
  return { client, front };
}

/**
 * One request through the chain: the client's at `t`, the front's copy of it to the proxy at
 * t + 0.0002; the proxy answers `proxyStatus` at `proxyAnswerAt` (what it did upstream is the
 * caller's), and the front answers its client `frontStatus` (default: the proxy's, relayed) 0.3 ms later.
 */
export function throughChain(c: Chain, t: number, request: string, proxyAnswerAt: number, proxyStatus: string, frontStatus = proxyStatus): void {
  c.client.request(t, request);
  c.front.request(t + 0.0002, request);
  c.front.response(proxyAnswerAt, ok(proxyStatus.startsWith('200') ? 'created' : 'bad gateway', [], 'HTTP/1.1', proxyStatus));
  c.client.response(proxyAnswerAt + 0.0003, ok(frontStatus.startsWith('200') ? 'created' : 'bad gateway', [], 'HTTP/1.1', frontStatus));
}

const RACED_POST = `POST /items HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`;

/**
 * Keep-alive races behind a chain (blind test 9, chain: nginx → Go API → backend): client → front
 * 10.0.0.9:80 → proxy 10.0.0.2:80 → backend 10.0.0.3:8080. Each POST goes from the proxy on an
 * upstream connection that served a GET 1 s before; for `races` of them the backend's idle close
 * crosses it and the proxy answers 502. The front relays the proxy's answer (`raceFrontStatus`:
 * what it answers its client for those instead), except for `frontOwn`, which the front answers
 * 502 itself though the proxy answered 200.
 */
export function racedChain(races: readonly number[], frontOwn: readonly number[] = [], n = 6, raceFrontStatus = '502 Bad Gateway'): Capture {
  const cap = new Capture();
  const c = chain(cap, 0);
  for (let i = 0; i < n; i++) {
    const t = 2 + i * 2;
    const up = cap.connection({ client: PROXY, server: BACKEND, sport: 8080 });
    up.handshake(t - 1.01).exchange(t - 1.0, get('/warm'), ok('warm'));
    if (races.includes(i)) {
      up.fin(t + 0.0004, 's');
      up.request(t + 0.0005, RACED_POST, { sawFin: false, noAck: true });
      up.rst(t + 0.0006, 's');
      throughChain(c, t, RACED_POST, t + 0.0008, '502 Bad Gateway', raceFrontStatus);
    } else {
      up.exchange(t + 0.0005, RACED_POST, ok('created'));
      up.close(t + 0.5, 'c');
      throughChain(c, t, RACED_POST, t + 0.002, '200 OK', frontOwn.includes(i) ? '502 Bad Gateway' : '200 OK');
    }
  }
  return cap;
}

export interface UploadOptions {
  /** Content-Length declared, and body bytes the client sends (in `writes` writes `pace` s apart), then it stalls. */
  declared: number;
  sent: number;
  writes: number;
  pace: number;
  /**
   * Seconds after the client's request began when the backend gives up on the forwarded body: 'FIN'
   * closes without a response (Go's ReadTimeout), a status line answers it (Node's 408) and closes.
   * A complete body (sent = declared) is answered 200 instead, 0.05 s after its last byte.
   */
  backendAt: number;
  backend: 'FIN' | string;
  /** The proxy's answer to its client, 0.3 ms after the backend's (default: 502 Bad Gateway on a FIN, the backend's status passed on otherwise). */
  answer?: string;
  /** Capture only the upstream leg (the client's is built, then left out). */
  upstreamOnly?: boolean;
}

/**
 * An upload through a proxy that streams the body (nginx `proxy_request_buffering off`, HAProxy
 * without `option http-buffer-request`): each client write is forwarded upstream 0.5 ms later; when
 * the client stalls the proxy has nothing more to send. Returns the client's and the upstream connections.
 */
export function streamedUpload(cap: Capture, at: number, uri: string, o: UploadOptions): { down: Conn; up: Conn } {
  const down = downstream(o.upstreamOnly === true ? new Capture() : cap);
  const up = upstream(cap);
  const head = `POST ${uri} HTTP/1.1\r\nHost: example\r\nContent-Length: ${o.declared}\r\n\r\n`;
  down.handshake(at).request(at + 0.001, head);
  up.handshake(at + 0.0012).request(at + 0.0015, head);
  const chunk = Math.floor(o.sent / o.writes);
  let last = at + 0.001;
  for (let i = 0; i < o.writes; i++) {
    last = at + 0.002 + i * o.pace;
    const bytes = i === o.writes - 1 ? o.sent - chunk * (o.writes - 1) : chunk;
    down.request(last, 'u'.repeat(bytes));
    up.request(last + 0.0005, 'u'.repeat(bytes));
  }
  if (o.sent >= o.declared) {
    up.response(last + 0.05, ok());
    down.response(last + 0.0503, ok());
    up.close(last + 0.2, 'c');
    down.close(last + 0.3, 'c');
    return { down, up };
  }
  const gaveUp = at + 0.001 + o.backendAt;
  if (o.backend === 'FIN') {
    up.close(gaveUp, 's');
  } else {
    up.response(gaveUp, ok('', ['Connection: close'], 'HTTP/1.1', o.backend));
    up.close(gaveUp + 0.0001, 's');
  }
  down.response(gaveUp + 0.0003, ok('proxy', ['Connection: close'], 'HTTP/1.1', o.answer ?? (o.backend === 'FIN' ? '502 Bad Gateway' : o.backend)));
  down.close(gaveUp + 0.0004, 's');
  return { down, up };
}
