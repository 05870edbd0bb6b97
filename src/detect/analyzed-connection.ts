import type { FastcgiBridge } from '../http/fastcgi';
import type { Connection } from '../flow/connection';
import type { HttpExchange } from '../http/exchange';
import type { HttpSession } from '../http/session';
import type { TlsRecords } from '../http/tls-records';
import type { ProxyHeader } from '../http/proxy-protocol';

/** Most recent exchanges remembered per connection for detectors (the rest are streamed out). */
export const RECENT_EXCHANGES_KEPT = 4;

/** What the analysis attaches to each connection: its HTTP session and a short memory of exchanges. */
export interface ConnectionHttp {
  session: HttpSession | null;
  exchangeCount: number;
  /** The last few exchanges, oldest first (kept only when detectors run: nothing else reads them). */
  recent: HttpExchange[];
  /** TLS record headers of both directions, when the client's first bytes were a ClientHello (else null). */
  tls: TlsRecords | null;
  /** The FastCGI reader that hands the session the HTTP exchanges the connection carries, when the client's first bytes opened a FastCGI request (else null). */
  fastcgi: FastcgiBridge | null;
  /** How far the look at the client's first bytes got (see FirstBytes in analyze.ts). */
  firstBytes: number;
  /** The PROXY protocol header the client (a proxy or load balancer) opened with, or null. */
  proxyHeader: ProxyHeader | null;
  /** The frame that carried (the start of) that header. */
  proxyHeaderFrame: number;
  /** Bytes of that header still to come in later segments (a long version 2 header). */
  proxyHeaderLeft: number;
}

/** A connection as detectors see it: TCP facts from the flow stage plus its HTTP memory. */
export type AnalyzedConnection = Connection<ConnectionHttp>;
