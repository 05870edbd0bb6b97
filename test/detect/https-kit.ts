/**
 * Scripted HTTPS connections for the detector tests: real ClientHello and ServerHello records (the
 * ALPN offered and chosen, TLS 1.3's supported_versions), the handshake's records as clients and
 * servers send them, and turns of application data, on the reuse kit's TCP conversations.
 */
import { clientHelloRecord, concat, records, serverHelloRecord } from '../helpers/tls-hello-builder';
import type { Capture } from './reuse-kit';

export type Version = '1.2' | '1.3';

export interface HttpsOptions {
  version?: Version;
  /** ALPN offered by the client (none: no extension). */
  offer?: readonly string[];
  /** ALPN chosen by the server (TLS 1.2 only: in clear). */
  choose?: string;
  /** TLS 1.3 session tickets the server sends after the client's Finished: their record lengths. */
  tickets?: readonly number[];
  client?: string;
  sport?: number;
}

export const REQUEST = 180;
export const ANSWER = 420;

/**
 * An HTTPS connection through its handshake, at `at`, with real hellos. TLS 1.3: the server's
 * encrypted flight before the client's Finished, which goes with the first request (`firstRequest`
 * sends it and the server's tickets right after); TLS 1.2: both Finished as handshake records.
 */
export class Https {
  readonly conn;
  private readonly version: Version;
  private readonly tickets: readonly number[];
  private finishedSent = false;

  constructor(cap: Capture, at: number, options: HttpsOptions = {}) {
    this.version = options.version ?? '1.3';
    this.tickets = options.tickets ?? (this.version === '1.3' ? [250, 250] : []);
    const c = cap.connection({ client: options.client, sport: options.sport ?? 443 });
    this.conn = c;
    const tls13 = this.version === '1.3';
    c.handshake(at).send(at + 0.001, 'c', clientHelloRecord({ alpn: options.offer, tls13: true, serverName: 'api.example' })).ack(at + 0.0011, 's');
    const hello = serverHelloRecord({ alpn: tls13 ? undefined : options.choose, tls13 });
    if (tls13) {
      c.send(at + 0.002, 's', concat(hello, records(20, 1), records(23, 30, 600, 100, 53))).ack(at + 0.0021, 'c');
    } else {
      c.send(at + 0.002, 's', concat(hello, records(22, 600, 100, 4))).ack(at + 0.0021, 'c');
      c.send(at + 0.003, 'c', concat(records(22, 37), records(20, 1), records(22, 40))).ack(at + 0.0031, 's');
      c.send(at + 0.004, 's', concat(records(20, 1), records(22, 40))).ack(at + 0.0041, 'c');
      this.finishedSent = true;
    }
  }

  /** A request turn at `t` (on TLS 1.3's first, with the client's Finished before it and the server's tickets after). */
  request(t: number, bytes = REQUEST): this {
    const c = this.conn;
    if (!this.finishedSent) {
      c.send(t, 'c', concat(records(20, 1), records(23, 53), records(23, bytes))).ack(t + 0.0001, 's');
      if (this.tickets.length > 0) c.send(t + 0.0002, 's', records(23, ...this.tickets)).ack(t + 0.0003, 'c');
      this.finishedSent = true;
    } else {
      c.send(t, 'c', records(23, bytes)).ack(t + 0.0001, 's');
    }
    return this;
  }

  answer(t: number, bytes = ANSWER): this {
    this.conn.send(t, 's', records(23, bytes)).ack(t + 0.0001, 'c');
    return this;
  }

  /** The client gives up: its close_notify, then FIN; the server answers with its own. */
  clientCloses(t: number): this {
    const alert = this.version === '1.3' ? records(23, 19) : records(21, 26);
    this.conn.send(t, 'c', alert).fin(t + 0.00001, 'c').ack(t + 0.0001, 's');
    this.conn.fin(t + 0.0002, 's').ack(t + 0.0003, 'c');
    return this;
  }

  /** The server closes (close_notify, FIN); the client answers with its FIN. */
  serverCloses(t: number): this {
    const alert = this.version === '1.3' ? records(23, 19) : records(21, 26);
    this.conn.send(t, 's', alert).fin(t + 0.00001, 's').ack(t + 0.0001, 'c');
    this.conn.fin(t + 0.0002, 'c').ack(t + 0.0003, 's');
    return this;
  }
}

