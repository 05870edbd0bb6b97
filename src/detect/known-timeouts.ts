/**
 * Defaults of common servers, clients and proxies, so a diagnosis can say "this is nginx's
 * keepalive_timeout" instead of just a number. Matching is a hint, never a conclusion.
 */
export interface KnownTimeout {
  seconds: number;
  name: string;
  /** Which side this setting belongs to. */
  side: 'server' | 'client' | 'proxy';
  /** The product's `Server` header, when it sends one (see serverProduct). */
  software?: RegExp;
  /** A connect timeout: it cannot be what ended an established connection's wait for an answer. */
  connectOnly?: true;
  /** The product sends no `Server` header (Node, Starman, Puma, Tomcat): a response that names software is not its. */
  noServerHeader?: true;
  /** Node's http.Server keepAliveTimeout at its default: a NodeServerPattern, which names the setting from the hint, supersedes it. */
  nodeServerDefault?: true;
}

/** Server products known by their `Server` header, with the setting that closes idle client connections. */
export interface ServerProduct {
  software: RegExp;
  /** The setting, named as its documentation names it, with its default. */
  idleSetting: string;
}

// Each checked against the product's documentation or a running server (the samples' nginx 1.22,
// Apache 2.4, lighttpd 1.4, gunicorn, Caddy 2.6, Squid 5.7, Traffic Server 9.2 send these values).
export const NGINX = /^(nginx|openresty)\b/i;
export const APACHE = /^Apache\b/i;
export const LIGHTTPD = /^lighttpd\b/i;
const GUNICORN = /^gunicorn\b/i;
const JETTY = /^Jetty\b/i;
const VARNISH = /^Varnish\b/i;
const SQUID = /^squid\b/i;
const CADDY = /^Caddy\b/i;
const TRAFFIC_SERVER = /^(ATS|ApacheTrafficServer)\b/;
const UVICORN = /^uvicorn\b/i;
const KESTREL = /^Kestrel\b/i;
const IIS = /^Microsoft-IIS\b/i;
const ENVOY = /^envoy\b/i;
// HAProxy names itself nowhere in its own answers; a `Server` added by `http-response set-header` might.
const HAPROXY = /^haproxy\b/i;
const WAITRESS = /^waitress\b/i;
const TORNADO = /^TornadoServer\b/;
const MOJOLICIOUS = /^Mojolicious\b/;
const CHERRYPY = /^CherryPy\b/i;
const HYPERCORN = /^hypercorn\b/i;
const TWISTED = /^TwistedWeb\b/;
const DAPHNE = /^daphne\b/i;
// aiohttp's server says `Python/3.11 aiohttp/3.8.4`.
const AIOHTTP = /^Python\/[\d.]+ aiohttp\//;
const YAWS = /^Yaws\b/;
const NGHTTPX = /^nghttpx\b/;
const TINYPROXY = /^tinyproxy\b/i;
const H2O = /^h2o\b/i;
// webfs 1.21 says `webfs/1.21` (keepalive-race-webfs-curl).
const WEBFS = /^webfs\b/;
// OTP 25's inets httpd says `inets/8.2.2` (server_tokens minimal, keepalive-race-inets).
const INETS = /^inets\b/;
// WEBrick 1.8 says `WEBrick/1.8.1 (Ruby/3.1.7/2025-03-26)` (keepalive-race-webrick).
export const WEBRICK = /^WEBrick\b/;
// Puma sends no Server header on its application's answers; its own error answers (the 408 of
// Client#timeout!, Puma 5.6 const.rb ERROR_RESPONSE) say `Server: Puma 5.6.5`.
export const PUMA = /^Puma\b/;
// Python's http.server says `BaseHTTP/0.6 Python/3.11.2` (SimpleHTTPRequestHandler: `SimpleHTTP/0.6 …`;
// keepalive-race-python, blind round 12 S1).
export const PYTHON_HTTP_SERVER = /^(BaseHTTP|SimpleHTTP)\/[\d.]+ Python\//;

export const SERVER_PRODUCTS: readonly ServerProduct[] = [
  { software: NGINX, idleSetting: 'nginx `keepalive_timeout` (75 s by default)' },
  { software: APACHE, idleSetting: 'Apache `KeepAliveTimeout` (5 s by default)' },
  { software: LIGHTTPD, idleSetting: 'lighttpd `server.max-keep-alive-idle` (5 s by default, checked once a second against whole-second clocks: it closes up to 2 s past the setting, 5 to 7 s after the response; set to 2, closes came 2.15-3.04 s after)' },
  { software: GUNICORN, idleSetting: 'gunicorn `--keep-alive` (2 s by default)' },
  { software: JETTY, idleSetting: 'Jetty: the connector\'s `idleTimeout` (30 s by default)' },
  { software: VARNISH, idleSetting: 'Varnish `timeout_idle` (5 s by default)' },
  { software: SQUID, idleSetting: 'Squid `client_idle_pconn_timeout` (2 min by default, counted in whole seconds: Squid may close up to a second early)' },
  { software: CADDY, idleSetting: 'Caddy `servers { timeouts { idle } }` (5 min by default)' },
  { software: TRAFFIC_SERVER, idleSetting: 'Traffic Server `proxy.config.http.keep_alive_no_activity_timeout_in` (120 s in its records.config)' },
  { software: UVICORN, idleSetting: 'uvicorn `--timeout-keep-alive` (5 s by default)' },
  { software: KESTREL, idleSetting: 'Kestrel `Limits.KeepAliveTimeout` (130 s by default)' },
  { software: IIS, idleSetting: 'IIS `connectionTimeout` (120 s by default)' },
  { software: ENVOY, idleSetting: 'Envoy `common_http_protocol_options.idle_timeout` (1 h by default)' },
  // waitress 2.1 server.py: maintenance() every cleanup_interval marks channels idle beyond channel_timeout.
  { software: WAITRESS, idleSetting: 'waitress `channel_timeout` (120 s by default), checked every `cleanup_interval` (30 s by default): it closes between the two summed' },
  // tornado/httpserver.py: idle_connection_timeout, 3600 s when None.
  { software: TORNADO, idleSetting: 'Tornado `HTTPServer(idle_connection_timeout=…)` (3600 s by default)' },
  // Mojo/Server/Daemon.pm: keep_alive_timeout, $ENV{MOJO_KEEP_ALIVE_TIMEOUT} // 5.
  { software: MOJOLICIOUS, idleSetting: 'Mojolicious `keep_alive_timeout` (5 s by default; the daemon\'s attribute or MOJO_KEEP_ALIVE_TIMEOUT)' },
  // cherrypy/_cpserver.py socket_timeout 10 → cheroot HTTPServer.timeout, expired by its selector loop every 0.5 s.
  { software: CHERRYPY, idleSetting: 'CherryPy `server.socket_timeout` (10 s by default; cheroot checks it every 0.5 s)' },
  // Recorded (keepalive-race-hypercorn): Hypercorn 0.13.2 sends `Server: hypercorn-h11`; its asyncio
  // worker never re-arms the timer once a request was served (only the trio worker closes idle connections).
  {
    software: HYPERCORN,
    idleSetting: 'Hypercorn `keep_alive_timeout` (`--keep-alive`, 5 s by default; Hypercorn 0.13\'s asyncio worker closes no connection idle after a request, its trio worker does)',
  },
  // twisted.web.http.HTTPFactory(timeout=_REQUEST_TIMEOUT), _REQUEST_TIMEOUT = 1 * 60 since Twisted
  // 16.x (checked in Twisted 22.4): TwistedWeb/22.4.0 (keepalive-race-twisted).
  { software: TWISTED, idleSetting: 'Twisted `Site(resource, timeout=…)` (60 s by default)' },
  // Daphne 4.0's HTTPFactory keeps Twisted's 60 s and has no option for it (keepalive-race-daphne).
  {
    software: DAPHNE,
    idleSetting: 'Daphne: none of its options (`--http-timeout` bounds a request\'s handling, not an idle connection): it keeps Twisted\'s 60 s (`_REQUEST_TIMEOUT`), so the clients must stay below it',
  },
  // aiohttp 3.8 web.run_app / AppRunner keepalive_timeout=75.0; once due, checked again every second (keepalive-race-aiohttp).
  { software: AIOHTTP, idleSetting: 'aiohttp `web.run_app(…, keepalive_timeout=…)` or `AppRunner(…, keepalive_timeout=…)` (75 s by default; once due, checked again every second)' },
  // yaws.conf keepalive_timeout, in milliseconds (Yaws 2.1.1, keepalive-race-yaws: `Server: Yaws 2.1.1`).
  { software: YAWS, idleSetting: 'Yaws `keepalive_timeout` in yaws.conf, in milliseconds (30000 by default)' },
  { software: NGHTTPX, idleSetting: 'nghttpx `--frontend-keep-alive-timeout` (1 min by default)' },
  // h2o's docs (configure/http1_directives, http2_directives): `http1-request-timeout`, 10 s by
  // default, also ends an idle HTTP/1 keep-alive connection (blind round 15 stacks S8: h2o 2.2.5
  // set to 2 closed idle connections 2.001 s after the response); HTTP/2's is `http2-idle-timeout`.
  { software: H2O, idleSetting: 'h2o `http1-request-timeout` (10 s by default, in seconds; `http2-idle-timeout`, 10 s by default, for HTTP/2 connections)' },
  // webfsd.c 1.21: keepalive_time = 5, no option; checked against time(NULL) whenever select()
  // returns, so at the first wake-up after whole second floor(last I/O) + 6 (keepalive-race-webfs-curl).
  {
    software: WEBFS,
    idleSetting:
      'webfs: none (its idle time, `keepalive_time`, is 5 s fixed in webfsd.c; `-t` is its network timeout): it closes 5-6 s after the response, ' +
      'checked on whole seconds when another connection wakes it, up to about 10 s on a quiet server; the clients must stay below 5 s',
  },
  // inets httpd_request_handler: one timer per connection, started at accept and after each
  // response's send returns (keepalive-race-inets).
  { software: INETS, idleSetting: 'Erlang inets httpd `keep_alive_timeout` (whole seconds, 150 s by default)' },
  // webrick/httpserver.rb (1.8.1): HTTPServer#run waits for the next request in 0.5 s steps up to
  // :RequestTimeout, from each response on, then closes (keepalive-race-webrick: 2.0 s for 2).
  {
    software: WEBRICK,
    idleSetting: 'WEBrick `:RequestTimeout` (30 s by default, waited in 0.5 s steps; the same setting bounds the reading of a request)',
  },
  // socketserver.StreamRequestHandler.timeout: a socket timeout on the wait for the next request line
  // (None by default: no idle close); http.server keeps a connection open only with protocol_version
  // "HTTP/1.1" (keepalive-race-python: timeout = 1.5 closes after 1.5 s).
  {
    software: PYTHON_HTTP_SERVER,
    idleSetting:
      'Python http.server: the request handler\'s `timeout` class attribute (socketserver `StreamRequestHandler.timeout`, None by default: no idle close; ' +
      'it also bounds the reading of a request)',
  },
];

/**
 * The idle settings of the servers that send no `Server` header by default (each recorded: Node's
 * http.Server, Go's net/http, Tomcat, Puma, Starman, uWSGI, the JDK's com.sun.net.httpserver), for a
 * server whose responses named none. uWSGI 2.0.21's --http11-socket closed idle connections after
 * its --socket-timeout, 4 s unset and 2.002 s set to 2 (blind round 17, appservers s10, where the
 * list lacked it).
 */
const NO_SERVER_HEADER_IDLE_SETTINGS =
  "(its responses carry no Server header, as by default those of Node's http.Server: `keepAliveTimeout` (5 s by default); Go's http.Server: " +
  '`IdleTimeout`, which when unset is `ReadTimeout`, else `ReadHeaderTimeout`; Tomcat: the connector\'s `keepAliveTimeout` (= `connectionTimeout`, ' +
  '20 s in the server.xml Tomcat ships); Puma: `persistent_timeout` (20 s by default, applied about 0.2 s late); Starman: `--keepalive-timeout` ' +
  '(1 s by default, each idle connection holding a worker: raise `--workers` with it); uWSGI: `--socket-timeout` for its `--http11-socket` ' +
  '(4 s by default), and for its HTTP router (`--http`) `--http-keepalive` given a number of seconds; the JDK\'s com.sun.net.httpserver: the ' +
  '`sun.net.httpserver.idleInterval` system property, in whole seconds (30 s by default), checked every `sun.net.httpserver.clockTick` ms ' +
  '(10 000 by default: closes come up to that much later); another server set to send none: its own idle timeout)';

/**
 * Server timers that close a connection on a request without answering it (unanswered-request, a
 * lone wait the server side closed), each with what names its server: its `Server` header, or
 * none by default. Blind round 15 longlived s17: Node's socket timeout was missing; blind round 17
 * appservers s05: gunicorn's `--timeout` sat in the middle of the list though the endpoint's other
 * answers said `Server: gunicorn`.
 */
const SERVER_CLOSE_TIMER_ENTRIES: ReadonlyArray<{ text: string; own: string; software?: RegExp }> = [
  {
    text: 'Go http.Server `WriteTimeout` (a handler that outlives it: the connection closes with no response)',
    own: 'Go http.Server `WriteTimeout`: a handler that outlives it has its connection closed with no response',
  },
  {
    text: 'a gunicorn sync worker\'s `--timeout`',
    own: 'gunicorn `--timeout` (30 s by default): its arbiter, checking once a second, kills a sync worker whose request runs longer ("[CRITICAL] WORKER TIMEOUT" in its error log), up to a second past the setting, and the worker\'s connection closes with no response',
    software: GUNICORN,
  },
  { text: 'uWSGI `harakiri`', own: 'uWSGI `harakiri`: its master SIGKILLs a worker whose request runs longer ("HARAKIRI ON WORKER" in its log)' },
  {
    text:
      'a Node http server\'s socket timeout (`server.setTimeout(ms)` / `server.timeout`, or `req.setTimeout` in a handler, without a \'timeout\' listener that answers: ' +
      'the socket is destroyed once inactive that long; its `requestTimeout` and `headersTimeout` bound only the receipt of the request and answer 408)',
    own: 'a Node http server\'s socket timeout',
  },
];
const LOAD_BALANCER_IDLE = 'a load balancer\'s idle timeout';

/**
 * The components that may have closed a connection on a request with no response, for a remedy:
 * led by the setting of the server the endpoint's answers name (`Server: gunicorn`: its
 * `--timeout`), with the caveat that a proxy in front may pass that header on; for answers that
 * named none (NO_SERVER_HEADER), the timers of servers that send none (gunicorn always names
 * itself); else every one known.
 */
export function serverCloseTimers(identity: ServerIdentity | null, software: string | null): string {
  if (identity !== null && !identity.fromVia && identity.passedOn !== true && software !== null) {
    const own = SERVER_CLOSE_TIMER_ENTRIES.filter((e) => e.software !== undefined && e.software.test(software));
    if (own.length > 0) {
      return `its responses say \`${identity.says}\`: ${own.map((e) => e.own).join('; ')}; unless a proxy in front passes that header on from its backend: that proxy's own timeout, or ${LOAD_BALANCER_IDLE}`;
    }
  }
  const list = SERVER_CLOSE_TIMER_ENTRIES.filter((e) => software !== NO_SERVER_HEADER || e.software === undefined).map((e) => e.text);
  return `${list.join(', ')}, ${LOAD_BALANCER_IDLE}`;
}

/** HAProxy's own idle timer for its client connections (it names itself in no response header of its own). */
const HAPROXY_FRONT_IDLE_SETTING = 'HAProxy `timeout http-keep-alive` (when unset, `timeout http-request`, then `timeout client`)';

/**
 * The idle settings for a server none of whose responses could be read (TLS hides the `Server`
 * header; blind round 13, tls: HAProxy, nginx and Caddy terminating TLS were all unnamed): the
 * servers that most often terminate TLS first, HAProxy among them, then the common application
 * servers that serve TLS themselves, and not every product known (60 of them, 2 KB of remedy).
 */
const UNREAD_SERVER_IDLE_SETTINGS =
  '(nothing in the capture names the server\'s software; where a proxy or load balancer ends the connections (and their TLS), its idle timeout is the one: ' +
  `nginx \`keepalive_timeout\` (75 s by default), ${HAPROXY_FRONT_IDLE_SETTING}, Envoy \`common_http_protocol_options.idle_timeout\` (1 h by default), ` +
  'Caddy `servers { timeouts { idle } }` (5 min by default), Traefik `respondingTimeouts.idleTimeout` (3 min by default), Apache `KeepAliveTimeout` (5 s by default), ' +
  'a cloud load balancer\'s idle timeout (AWS ALB 60 s by default); where the application serves them itself: Node http.Server `keepAliveTimeout` (5 s by default), ' +
  'Go http.Server `IdleTimeout` (when unset, `ReadTimeout`), Tomcat `keepAliveTimeout`, Jetty `idleTimeout`, Kestrel `Limits.KeepAliveTimeout`, ' +
  'gunicorn `--keep-alive`, uvicorn `--timeout-keep-alive`, Puma `persistent_timeout`)';

/**
 * What a server's responses say about the software that answered: its `Server` header, or, when
 * they came through a proxy, the `Via` entry of the proxy nearest the client (whose connection it
 * is: its `Server` header may be its backend's).
 */
export interface ServerIdentity {
  /** As the response says it: `Server: nginx/1.22.1`, `Via: 1.1 varnish (Varnish/7.1)`. */
  says: string;
  /** What names the product (the `Server` value, or the comment of the `Via` entry), or null. */
  software: string | null;
  fromVia: boolean;
  /**
   * The endpoint also gave answers that named no software (no `Server`, no `Via`) where this one
   * came by `Server`: two writers answer there, as when a proxy in front (HAProxy, which adds no
   * `Via`) passes its backend's `Server` on and writes its own errors (408, 503, 504) without one.
   * Its settings are then the proxy's as much as the named software's (ServerSoftware.of).
   * Also set where the `Server` field came named in lower case though the software it names
   * writes `Server` (rewrittenBy: 'case').
   */
  passedOn?: true;
  /**
   * What told that the header was passed on: 'case' when the field name came in lower case
   * (`server: nginx/1.22.1`), which the named software never writes and HAProxy 2.x (HTX) and
   * Envoy write for every field they send on; undefined for answers without a Server header.
   */
  rewrittenBy?: 'case';
}

/**
 * Servers whose own software writes its `Server` field name capitalized: a `server:` naming one of
 * them was written by something else, a proxy that rewrote the head and passed the value on
 * (blind round 16, pools S6: HAProxy 2.6 in front of nginx answered `server: nginx/1.22.1`).
 * Servers that write it in lower case themselves (uvicorn, Hypercorn, Cowboy, Envoy) are not listed.
 */
export const CAPITALIZED_SERVER_FIELD = /^(nginx|openresty|Apache(\/|$)|lighttpd|gunicorn|Microsoft-IIS|Jetty|Caddy|Werkzeug|TornadoServer|WEBrick)/i;

/** How a server is named in a diagnosis's first words: its `Server` header, or the proxy in front that passed it on. */
export function identityLabel(identity: ServerIdentity): string {
  if (identity.rewrittenBy === 'case') return `a proxy in front, passing on \`${identity.says}\` in lower case`;
  return identity.says;
}

/**
 * Where a proxy in front of a server sets its own client-side timers, named where the endpoint's
 * answers show two writers (ServerIdentity.passedOn): its idle keep-alive timeout.
 */
export const FRONT_PROXY_IDLE_SETTINGS = 'HAProxy `timeout http-keep-alive` (when unset, `timeout http-request`, then `timeout client`), nginx `keepalive_timeout`, Envoy `common_http_protocol_options.idle_timeout`';
/** The front proxies that write field names in lower case (ServerIdentity.rewrittenBy 'case'): their idle keep-alive timeouts. */
const FRONT_PROXY_CASE_IDLE_SETTINGS = 'HAProxy `timeout http-keep-alive` (when unset, `timeout http-request`, then `timeout client`), Envoy `common_http_protocol_options.idle_timeout`';
/** The same proxies' timers for a client's request head (and body): HAProxy's answers 408, nginx's closes without a byte. */
export const FRONT_PROXY_REQUEST_SETTINGS =
  'HAProxy `timeout http-request` (the whole head from the accept, the body too with `option http-buffer-request`; when unset, `timeout client`), nginx `client_header_timeout` / `client_body_timeout`, Envoy `request_headers_timeout`';

/**
 * A clause for a server whose answers show two writers (ServerIdentity.passedOn): its other
 * responses' `Server` names the backend a proxy passes on, the answers without one are the proxy's.
 */
export function passedOnNote(identity: ServerIdentity): string {
  if (identity.rewrittenBy === 'case') return caseNote(identity);
  return `these answers carry no Server header while its other responses say \`${identity.says}\`: the software that header names did not write them, most likely a proxy in front that passes its backend's header on and answers on its own`;
}

/** Why a lower-case `server` field means a proxy in front (ServerIdentity.rewrittenBy 'case'). */
function caseNote(identity: ServerIdentity): string {
  return `its responses say \`${identity.says}\` with the field name in lower case, which that software never writes: a proxy in front rewrote them and passed its backend's header on, as HAProxy 2.x and Envoy write every field name in lower case`;
}

/** The known product a `Server` value (or a `Via` comment) names, or null (no value, or a product not listed). */
export function serverProduct(software: string | null): ServerProduct | null {
  if (software === null) return null;
  return SERVER_PRODUCTS.find((p) => p.software.test(software)) ?? null;
}

export const KNOWN_IDLE_TIMEOUTS: readonly KnownTimeout[] = [
  { seconds: 5, name: 'Node.js http.Server keepAliveTimeout (5 s default)', side: 'server', noServerHeader: true, nodeServerDefault: true },
  { seconds: 5, name: 'Apache httpd KeepAliveTimeout (5 s default)', side: 'server', software: APACHE },
  { seconds: 5, name: 'lighttpd server.max-keep-alive-idle (5 s default)', side: 'server', software: LIGHTTPD },
  // Starman sends no Server header. Starman/Server.pm: keepalive_timeout 1 unless given.
  { seconds: 1, name: 'Starman --keepalive-timeout (1 s default)', side: 'server', noServerHeader: true },
  // JDK 17's sun.net.httpserver.ServerImpl: an idle-timeout task every clockTick closes connections
  // idle for idleInterval (keepalive-race-jdk-httpserver); no Server header.
  { seconds: 30, name: 'JDK com.sun.net.httpserver sun.net.httpserver.idleInterval (30 s default, checked every clockTick, 10 s)', side: 'server', noServerHeader: true },
  { seconds: 30, name: 'WEBrick :RequestTimeout (30 s default)', side: 'server', software: WEBRICK },
  { seconds: 150, name: 'Erlang inets httpd keep_alive_timeout (150 s default)', side: 'server', software: INETS },
  { seconds: 5, name: 'webfs keepalive_time (5 s, fixed; closes 5-6 s)', side: 'server', software: WEBFS },
  // httpc's profile option keep_alive_timeout, in milliseconds; it sends no User-Agent.
  { seconds: 120, name: 'Erlang httpc keep_alive_timeout (120 000 ms default)', side: 'client' },
  { seconds: 5, name: 'Java HttpURLConnection keep-alive cache (5 s when the server sends no Keep-Alive timeout)', side: 'client' },
  { seconds: 1200, name: 'Java HttpClient jdk.httpclient.keepalive.timeout (1200 s default in JDK 11-17)', side: 'client' },
  { seconds: 75, name: 'nginx keepalive_timeout (75 s default)', side: 'server', software: NGINX },
  { seconds: 60, name: 'AWS ALB / nginx upstream idle timeout (60 s)', side: 'proxy' },
  { seconds: 350, name: 'AWS NLB / NAT gateway / GCP LB idle timeout (350 s)', side: 'proxy' },
  { seconds: 600, name: 'nginx stream proxy_timeout (10 min default)', side: 'proxy' },
  { seconds: 240, name: 'Azure load balancer idle timeout (4 min)', side: 'proxy' },
  { seconds: 90, name: 'Go http.Transport IdleConnTimeout (90 s default)', side: 'client' },
  { seconds: 4, name: 'Node.js http.Agent freeSocketTimeout in agentkeepalive (4 s default)', side: 'client' },
  { seconds: 4, name: "Node.js fetch / undici Agent keepAliveTimeout (4 s default, used when the server sends no Keep-Alive hint)", side: 'client' },
  { seconds: 15, name: 'HAProxy timeout http-keep-alive', side: 'client' },
  // Checked on Debian 12's aiohttp 3.8 and httpx 0.23 (the keepalive-race-uvicorn-* samples).
  { seconds: 15, name: 'Python aiohttp TCPConnector keepalive_timeout (15 s default)', side: 'client' },
  { seconds: 5, name: 'Python httpx Limits keepalive_expiry (5 s default)', side: 'client' },
  // Checked on Debian 12's Ruby 3.1 (Net::HTTP 0.3) and Puma 5.6 (the *-puma-ruby samples; Puma sends no Server header).
  { seconds: 2, name: 'Ruby Net::HTTP keep_alive_timeout (2 s default)', side: 'client' },
  { seconds: 20.2, name: 'Puma persistent_timeout (20 s default; Puma 5 closes about 0.2 s after it)', side: 'server', noServerHeader: true },
  { seconds: 2, name: 'gunicorn --keep-alive (2 s default)', side: 'server', software: GUNICORN },
  { seconds: 30, name: 'Jetty 9 connector idleTimeout (jetty.http.idleTimeout, 30 s default)', side: 'server', software: JETTY },
  { seconds: 20, name: 'Tomcat keepAliveTimeout (= connectionTimeout: 20 s in the server.xml Tomcat ships; 60 s when that is unset too)', side: 'server', noServerHeader: true },
  // Checked in varnishd -x parameter (Varnish 7.1) and Squid 5.7's squid.conf.documented.
  { seconds: 5, name: 'Varnish timeout_idle (5 s default, client connections)', side: 'server', software: VARNISH },
  { seconds: 60, name: 'Varnish backend_idle_timeout (60 s default, its backend pool)', side: 'client' },
  { seconds: 120, name: 'Squid client_idle_pconn_timeout (2 min default, counted in whole seconds)', side: 'server', software: SQUID },
  { seconds: 60, name: 'Squid server_idle_pconn_timeout (1 min default, its backend pool)', side: 'client' },
  // Checked on Caddy 2.6 and Traffic Server 9.2 (its shipped records.config).
  { seconds: 120, name: "Caddy reverse_proxy transport http keepalive (2 min default, its backend pool's idle timeout)", side: 'client' },
  { seconds: 300, name: 'Caddy servers timeouts idle (5 min default, client connections)', side: 'server', software: CADDY },
  { seconds: 120, name: 'Traffic Server proxy.config.http.keep_alive_no_activity_timeout_out (120 s, its backend pool)', side: 'client' },
  { seconds: 120, name: 'Traffic Server proxy.config.http.keep_alive_no_activity_timeout_in (120 s, client connections)', side: 'server', software: TRAFFIC_SERVER },
  { seconds: 2, name: 'h2o proxy.timeout.keepalive (2 s default in h2o 2.2, its backend pool)', side: 'client' },
  { seconds: 5, name: 'uvicorn --timeout-keep-alive (5 s default)', side: 'server', software: UVICORN },
  { seconds: 130, name: 'Kestrel Limits.KeepAliveTimeout (130 s default)', side: 'server', software: KESTREL },
  { seconds: 120, name: 'IIS connectionTimeout (120 s default)', side: 'server', software: IIS },
  { seconds: 3600, name: 'Envoy idle_timeout (1 h default)', side: 'server', software: ENVOY },
  { seconds: 120, name: 'waitress channel_timeout (120 s default, checked every cleanup_interval, 30 s: closes 120-150 s)', side: 'server', software: WAITRESS },
  { seconds: 10, name: 'CherryPy server.socket_timeout (10 s default)', side: 'server', software: CHERRYPY },
  { seconds: 3600, name: 'Tornado idle_connection_timeout (3600 s default)', side: 'server', software: TORNADO },
  { seconds: 10, name: 'h2o http1-request-timeout (10 s default)', side: 'server', software: H2O },
  { seconds: 5, name: 'Mojolicious keep_alive_timeout (5 s default)', side: 'server', software: MOJOLICIOUS },
  { seconds: 5, name: 'Hypercorn keep_alive_timeout (5 s default)', side: 'server', software: HYPERCORN },
  { seconds: 60, name: 'Twisted Site timeout (60 s default)', side: 'server', software: TWISTED },
  { seconds: 60, name: 'Daphne: Twisted\'s connection timeout (60 s, not configurable)', side: 'server', software: DAPHNE },
  { seconds: 75, name: 'aiohttp server keepalive_timeout (75 s default)', side: 'server', software: AIOHTTP },
  { seconds: 30, name: 'Yaws keepalive_timeout (30 s default)', side: 'server', software: YAWS },
  { seconds: 60, name: 'nghttpx --frontend-keep-alive-timeout (1 min default)', side: 'server', software: NGHTTPX },
  // nghttpx 1.52 (keepalive-race-nghttpx): it drops a pooled backend connection at the backend's FIN when idle.
  { seconds: 2, name: 'nghttpx --backend-keep-alive-timeout (2 s default, its backend pool)', side: 'client' },
  // okhttp3.ConnectionPool(): 5 idle connections, kept 5 minutes.
  { seconds: 300, name: 'OkHttp ConnectionPool keep-alive (5 min default)', side: 'client' },
  // libcurl 7.65+: connections idle longer than this are not reused (whole seconds).
  { seconds: 118, name: 'libcurl CURLOPT_MAXAGE_CONN (118 s default)', side: 'client' },
];

export const KNOWN_REQUEST_TIMEOUTS: readonly KnownTimeout[] = [
  { seconds: 60, name: 'nginx proxy_read_timeout / proxy_connect_timeout (60 s default)', side: 'proxy', software: NGINX },
  { seconds: 30, name: 'HAProxy / many clients 30 s timeout', side: 'proxy' },
  { seconds: 300, name: 'Node.js http.Server requestTimeout (300 s default since Node 18)', side: 'server', noServerHeader: true },
  // undici 6.24 (Node 20's fetch): Client headersTimeout and bodyTimeout default to 3e5 ms.
  { seconds: 300, name: "Node.js fetch / undici headersTimeout and bodyTimeout (300 s default: UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT)", side: 'client' },
  { seconds: 50, name: 'HAProxy timeout server / client as often configured (50 s)', side: 'proxy' },
  { seconds: 60, name: 'Apache httpd Timeout / ProxyTimeout (60 s default)', side: 'proxy', software: APACHE },
  { seconds: 60, name: 'Varnish first_byte_timeout / between_bytes_timeout (60 s default)', side: 'proxy', software: VARNISH },
  { seconds: 3.5, name: 'Varnish connect_timeout (3.5 s default)', side: 'proxy', connectOnly: true, software: VARNISH },
  { seconds: 900, name: 'Squid read_timeout (15 min default)', side: 'proxy', software: SQUID },
  { seconds: 30, name: 'gunicorn --timeout (30 s default: a sync worker whose request runs longer is killed, WORKER TIMEOUT)', side: 'server' },
  { seconds: 60, name: 'Squid connect_timeout (1 min default)', side: 'proxy', connectOnly: true, software: SQUID },
  { seconds: 30, name: 'Squid peer_connect_timeout (30 s default, a cache_peer without connect-timeout=)', side: 'proxy', connectOnly: true, software: SQUID },
  { seconds: 3, name: 'Caddy reverse_proxy transport http dial_timeout (3 s default)', side: 'proxy', connectOnly: true, software: CADDY },
  { seconds: 30, name: 'h2o proxy.timeout.io (30 s default)', side: 'proxy', software: H2O },
  { seconds: 30, name: 'Traffic Server proxy.config.http.transaction_no_activity_timeout_out / connect_attempts_timeout (30 s, per attempt: retried connect_attempts_max_retries times, 3 by default)', side: 'proxy', software: TRAFFIC_SERVER },
  { seconds: 60, name: 'nghttpx --backend-read-timeout (1 min default)', side: 'proxy', software: NGHTTPX },
  { seconds: 30, name: 'nghttpx --backend-connect-timeout (30 s default)', side: 'proxy', connectOnly: true, software: NGHTTPX },
  // tinyproxy 1.11 (gateway-timeout-tinyproxy, connect-timeout-tinyproxy): Timeout bounds both its
  // connect and its wait for the backend's response head.
  { seconds: 600, name: 'tinyproxy Timeout (600 s default; its connect and its wait for the response alike)', side: 'proxy', software: TINYPROXY },
];

/**
 * Proxies whose upstream timers fire well after their setting, by the software their answers name:
 * a note for the diagnosis of their timeouts. lighttpd 1.4.69 (gateway-timeout-lighttpd,
 * connect-timeout-lighttpd) checks `proxy.server`'s "read-timeout" and "connect-timeout" once a
 * second against whole-second clocks: 3 s gave waits of 4.0-5.6 s.
 */
const LATE_PROXY_TIMERS: ReadonlyArray<{ software: RegExp; note: string }> = [
  {
    software: LIGHTTPD,
    note:
      'its answers name lighttpd, which checks its proxy timeouts (`proxy.server` "read-timeout", "connect-timeout") once a second against whole-second clocks, ' +
      'so its setting lies 1 to 2 s or more below these waits (3 s gave 4.0-5.6 s)',
  },
];

/** The note on a proxy's late-firing upstream timers for the software its answers name, or null. */
export function lateProxyTimerNote(software: string | null): string | null {
  if (software === null || software === NO_SERVER_HEADER) return null;
  return LATE_PROXY_TIMERS.find((p) => p.software.test(software))?.note ?? null;
}

/** What a proxy that queues requests for a free backend connection calls that queue's parts. */
export interface ProxyQueueSettings {
  /** The wait's timeout. */
  timeout: string;
  /** The connection limit the requests queued behind. */
  limit: string;
  /** How to raise the limit, for a remedy. */
  raiseLimit: string;
  /** How to raise the timeout, for a remedy. */
  raiseTimeout: string;
  /** How its log marks such a request. */
  log: string;
}

const HAPROXY_QUEUE: ProxyQueueSettings = {
  timeout: 'HAProxy timeout queue, or timeout connect when unset',
  limit: 'HAProxy server maxconn, or dynamic maxconn = max(minconn, maxconn × load / fullconn)',
  raiseLimit: 'HAProxy `maxconn` on the server line, or minconn/fullconn for dynamic limits',
  raiseTimeout: '`timeout queue`',
  log: 'HAProxy: <NOSRV> or termination state sQ',
};

/**
 * Apache httpd 2.4's mod_proxy (no-upstream-connect-apache-acquire): a worker's pool holds at most
 * `max=` connections per child process; a request waits at most `acquire=` for one to come free,
 * then Apache logs AH00941 and answers 503 itself, before any connect.
 */
const APACHE_QUEUE: ProxyQueueSettings = {
  timeout: 'Apache mod_proxy ProxyPass `acquire=`, in milliseconds; unset, a request waits for a free connection as long as it takes',
  limit: 'Apache ProxyPass `max=`, per child process: `ThreadsPerChild` by default, so the whole limit is `max=` times the children',
  raiseLimit: 'Apache ProxyPass `max=`, or the number of child processes',
  raiseTimeout: '`acquire=`',
  log: 'Apache: AH00941 "failed to acquire connection for (host:port)" in the error log, and no backend in the access log',
};

/**
 * The queue settings of the proxy whose answers name it (`Server: Apache/…` on its own 503), else
 * HAProxy's, which answers with no `Server` header, with Apache's beside them when nothing names it.
 */
export function proxyQueueSettings(software: string | null): { settings: ProxyQueueSettings; alsoApache: boolean } {
  if (software !== null && software !== NO_SERVER_HEADER && APACHE.test(software)) return { settings: APACHE_QUEUE, alsoApache: false };
  return { settings: HAPROXY_QUEUE, alsoApache: software === null || software === NO_SERVER_HEADER || !/^haproxy\b/i.test(software) };
}

export const APACHE_QUEUE_SETTINGS = APACHE_QUEUE;

/** matchKnown's `software` for a server whose responses named no software (no `Server`, no `Via`). */
export const NO_SERVER_HEADER = '';

/**
 * Known values within 2 % (or 50 ms) of an inferred one. `software`, the server's `Server` value:
 * when it names a known product, server settings of other products are left out (a 2 s idle
 * timeout on a server that says nginx is nginx's setting, not gunicorn's default); when it names
 * another product, so are the settings of every product known by its header or known to send none
 * (a 2 s close by `Server: TornadoServer/6.2` is not gunicorn's default). NO_SERVER_HEADER, responses
 * that named none: the settings of products known by their header are left out (gunicorn always
 * says `Server: gunicorn`; a Node server, which says nothing, closed keepalive-race-nghttpx's backend
 * connections after 1.95 s). Without any response (null) every server setting stays a hint.
 */
export function matchKnown(seconds: number, table: readonly KnownTimeout[], software: string | null = null): KnownTimeout[] {
  const matched = matchEntries(seconds, table, software);
  if (software === null || software === NO_SERVER_HEADER) return matched;
  // The named product's own setting explains the value: settings of no product are left out
  // (Daphne's 60 s is Twisted's default, not an ALB's idle timeout; keepalive-race-daphne).
  const own = matched.filter((k) => k.software !== undefined && k.side !== 'client');
  return own.length > 0 ? [...own, ...matched.filter((k) => k.side === 'client')] : matched;
}

/**
 * The words beside an inferred server timeout for the known defaults it equals (matchKnown's
 * result), in parentheses with a leading space, or '' for none. "Matches" only where the server's
 * responses named its software: without that (`software` null: no response read, as on TLS;
 * NO_SERVER_HEADER: none named) a default of the same value is a candidate among every product set
 * to it, not the server's identity (blind round 13, tls: nginx and HAProxy at 1 s were said to
 * match Starman's default, Caddy at 2 s gunicorn's).
 */
export function knownDefaultsText(known: readonly KnownTimeout[], software: string | null): string {
  if (known.length === 0) return '';
  const names = known.map((k) => k.name).join(' / ');
  if (software !== null && software !== NO_SERVER_HEADER) return ` (matches ${names})`;
  const unnamed = software === null ? 'nothing in the capture names the server\'s software (TLS hides its Server header)' : 'the responses name no server software';
  return ` (${names} ${known.length === 1 ? 'has' : 'have'} this default, but ${unnamed}: any product set to this value fits)`;
}

function matchEntries(seconds: number, table: readonly KnownTimeout[], software: string | null): KnownTimeout[] {
  const product = serverProduct(software);
  return table.filter(
    (k) =>
      Math.abs(k.seconds - seconds) <= Math.max(0.02 * k.seconds, 0.05) &&
      (software === null ||
        (k.side === 'server'
          ? software === NO_SERVER_HEADER
            ? k.software === undefined
            : product !== null
              ? k.software === product.software
              : k.software === undefined && k.noServerHeader !== true
          : // A proxy's own setting only for the proxy that answered (a 3 s connect timeout by
            // `Server: tinyproxy/1.11.1` is not Caddy's dial_timeout); settings of no product stay.
            // (tinyproxy 1.11 sends `Server: tinyproxy/1.11.1` on its own answers.)
            k.side === 'client' || k.software === undefined || (software !== NO_SERVER_HEADER && k.software.test(software)))),
  );
}

/**
 * What the client of a raced request received first: the server's FIN (a read returns EOF, and a
 * RST after it changes nothing: the socket is done), or a RST with no FIN before it (the read fails
 * with ECONNRESET); 'mixed' for races of both kinds, or not told.
 */
export type FirstClose = 'fin' | 'reset' | 'mixed';

/** What a client reports for a request that met the server's idle close. */
export interface RaceErrorText {
  /** Whichever came first (EOF, or the RST): for races of both kinds, or not told. */
  raceError: string;
  /** When the FIN came first, where that differs (Go: EOF). */
  raceErrorAfterFin?: string;
  /** When a RST came with no FIN before it, where that differs (Go: "read: connection reset by peer", blind round 12, S2). */
  raceErrorAfterReset?: string;
  /**
   * Over TLS, where the server's close_notify and FIN came first, where that differs: the TLS
   * layer reports the end, not the HTTP parser (Python's ssl: SSLEOFError, blind round 13b).
   */
  raceErrorOverTls?: string;
}

/** A client's report for races whose client received `first` first (`tls`: every race was over TLS). */
export function raceErrorFor(p: RaceErrorText, first: FirstClose, tls = false): string {
  if (tls && first !== 'reset' && p.raceErrorOverTls !== undefined) return p.raceErrorOverTls;
  if (first === 'fin') return p.raceErrorAfterFin ?? p.raceError;
  if (first === 'reset') return p.raceErrorAfterReset ?? p.raceError;
  return p.raceError;
}

/** Client software known by its `User-Agent`, with the setting that closes its idle pooled connections. */
export interface ClientProduct extends RaceErrorText {
  agent: RegExp;
  /** The setting, named as its documentation names it, with its default. */
  idleSetting: string;
  /** The setting after which it gives up waiting for a response, with its default and what it reports. */
  requestTimeout: string;
  /**
   * Its total timeout (the one requestTimeout names first) runs from before the connect, so on a
   * connection opened for the request its value is the wait counted from the SYN (Go's
   * http.Client.Timeout "includes connection time", curl --max-time, fetch's AbortSignal.timeout,
   * aiohttp's ClientTimeout total).
   */
  timeoutCoversConnect?: true;
  /** Its idle setting takes whole seconds only, so a limit suggested for it is one (wholeSecondsBelow). */
  wholeSeconds?: true;
  /** Named only where its User-Agent is seen, never in the lists for an unknown client (a command-line tool with no pool of its own). */
  namedOnly?: true;
  /**
   * It keeps an idle connection as long as the server's `Keep-Alive: timeout=N` says, less this
   * many seconds (0: exactly N, Java HttpURLConnection's KeepAliveCache; 2: undici 6's
   * keepAliveTimeoutThreshold). Unset: it ignores the hint.
   */
  hintMargin?: number;
  /** The setting that bounds how many idle connections it keeps per server, with its default (a pool that closes what it has no idle room for). */
  idleRoomSetting?: string;
  /** What it resends by itself on a new connection when a reused one fails before any response byte, and the setting that stops it. */
  resendsItself?: string;
  /** Where keep-alive is turned off in it (a client that sends `Connection: close` on every request). */
  keepAliveOff?: string;
}

/** What a whole-second idle setting must leave below the server's timeout (seconds): latency and the client's own timer. */
const WHOLE_SECOND_MARGIN = 0.25;

/**
 * The whole number of seconds to suggest for a setting that takes no fraction (Java HttpClient's
 * `jdk.httpclient.keepalive.timeout`: an integer property): the `safer` limit rounded down, or 1 s
 * when that leaves WHOLE_SECOND_MARGIN below the server's `timeout`; 0 when no whole second is below it.
 */
export function wholeSecondsBelow(safer: number, timeout: number): number {
  if (safer >= 1) return Math.floor(safer);
  return timeout - 1 >= WHOLE_SECOND_MARGIN ? 1 : 0;
}

/** A whole-second idle setting's text for a suggested limit: the value to set, or what to do when none fits. */
export function wholeSecondsText(safer: number, timeout: number): string {
  const whole = wholeSecondsBelow(safer, timeout);
  return whole >= 1
    ? `: whole seconds only, so ${whole} s here`
    : ': whole seconds only, and even 1 s, the least, is too close to the server\'s timeout: raise the server\'s idle timeout to 2 s or more instead';
}

/** The texts python-requests and python-urllib3 share (requests is urllib3's pool with its own exceptions). */
const PYTHON_REQUESTS_TEXTS = {
  idleSetting: 'Python requests/urllib3: none (it only checks for an arrived FIN before reuse): retry with urllib3 `Retry`, or keep the server\'s idle timeout above the clients\' pauses',
  raceError: 'Python requests: ConnectionError "Connection aborted." with RemoteDisconnected or ConnectionResetError (BrokenPipeError when the RST came while it was still writing the request)',
  raceErrorAfterFin: 'Python requests: ConnectionError "Connection aborted." with RemoteDisconnected',
  raceErrorAfterReset: 'Python requests: ConnectionError "Connection aborted." with ConnectionResetError (BrokenPipeError when the RST came while it was still writing the request)',
  requestTimeout: 'Python requests: `timeout=` (none by default): ReadTimeout while it waits for the response, ConnectionError "Read timed out." once the body has begun',
} as const;

/**
 * Each agent as these clients send it by default (recorded in the samples: okhttp/3.13.1,
 * Apache-HttpClient/5.2.1 (Java/17.0.15), Java-http-client/17.0.15, Go-http-client/1.1,
 * python-requests/2.28.1, python-httpx/0.23.3, Python/3.11 aiohttp/3.8.4, Ruby, libwww-perl/6.68,
 * node (Node 20's fetch), curl/7.88.1 (the command line tool)). Node's http module, Erlang's httpc and
 * libcurl (PHP's curl) send none.
 */
export const CLIENT_PRODUCTS: readonly ClientProduct[] = [
  { agent: /^okhttp\//i, idleSetting: 'OkHttp: `new ConnectionPool(maxIdle, keepAliveDuration, unit)` (5 min by default)', raceError: 'OkHttp: IOException "unexpected end of stream on Connection{…}", or SocketException "Connection reset" where the RST came first', raceErrorAfterFin: 'OkHttp: IOException "unexpected end of stream on Connection{…}"', raceErrorAfterReset: 'OkHttp: SocketException "Connection reset"', requestTimeout: 'OkHttp: `readTimeout` (10 s by default, between reads), `callTimeout` (none by default)' },
  {
    agent: /^Apache-HttpClient\/5\./,
    idleSetting: 'Apache HttpClient 5: `HttpClientBuilder.evictIdleConnections(…)`, or `ConnectionConfig` `setValidateAfterInactivity` (2 s by default: a connection idle less long is reused unchecked) and `setTimeToLive`',
    raceError: 'Apache HttpClient 5: NoHttpResponseException "The target server failed to respond" or SocketException "Connection reset"',
    raceErrorAfterFin: 'Apache HttpClient 5: NoHttpResponseException "The target server failed to respond"',
    raceErrorAfterReset: 'Apache HttpClient 5: SocketException "Connection reset"',
    requestTimeout: 'Apache HttpClient 5: `RequestConfig.custom().setResponseTimeout(…)`',
  },
  {
    agent: /^Apache-HttpClient\/4\./,
    idleSetting: 'Apache HttpClient 4: `HttpClientBuilder.evictIdleConnections(…)`, or the pool\'s `setValidateAfterInactivity` (2 s by default)',
    raceError: 'Apache HttpClient 4: NoHttpResponseException "The target server failed to respond" or SocketException "Connection reset"',
    raceErrorAfterFin: 'Apache HttpClient 4: NoHttpResponseException "The target server failed to respond"',
    raceErrorAfterReset: 'Apache HttpClient 4: SocketException "Connection reset"',
    requestTimeout: 'Apache HttpClient 4: `RequestConfig.custom().setSocketTimeout(…)`',
  },
  { agent: /^Java-http-client\//, idleSetting: 'Java HttpClient: the `jdk.httpclient.keepalive.timeout` system property, in seconds (1200 s by default)', wholeSeconds: true, raceError: 'Java HttpClient: IOException "HTTP/1.1 header parser received no bytes", or "Connection reset" where the RST came first', raceErrorAfterFin: 'Java HttpClient: IOException "HTTP/1.1 header parser received no bytes"', raceErrorAfterReset: 'Java HttpClient: IOException "Connection reset"', requestTimeout: 'Java HttpClient: `HttpRequest.Builder.timeout(Duration)` (none by default), from the send to the response headers: HttpTimeoutException "request timed out", and it closes the connection' },
  // JDK 17.0.15's sun.net.www.http: KeepAliveCache keeps an idle connection for the response's
  // Keep-Alive timeout as sent (no margin), else `http.keepAlive.time.server` (5 s); HttpClient
  // resends a request once on a new connection after a failure on a cached one, a POST too unless
  // `sun.net.http.retryPost=false`, never one in streaming mode; at most `http.maxConnections` (5)
  // idle connections per destination.
  {
    agent: /^Java\//,
    idleSetting:
      'Java HttpURLConnection: it keeps an idle connection exactly as long as the server\'s `Keep-Alive: timeout` says (no margin: have the server advertise less than its own timeout), ' +
      'else for the `http.keepAlive.time.server` system property, in seconds (5 s by default; JDK 19+ and JDK 17 updates such as 17.0.15 have it; `http.keepAlive=false` turns reuse off)',
    wholeSeconds: true,
    hintMargin: 0,
    idleRoomSetting: 'Java HttpURLConnection: the `http.maxConnections` system property (5 idle connections per server by default)',
    keepAliveOff: 'Java HttpURLConnection: the `http.keepAlive` system property (true by default; `-Dhttp.keepAlive=false` sends Connection: close on every request)',
    resendsItself:
      'Java HttpURLConnection sends a request that failed so on a cached connection again once by itself, a POST with its body too (`-Dsun.net.http.retryPost=false` stops that for POST; a request in streaming mode is never sent again)',
    raceError: 'Java HttpURLConnection: SocketException "Unexpected end of file from server", or "Connection reset" where the RST came first',
    raceErrorAfterFin: 'Java HttpURLConnection: SocketException "Unexpected end of file from server"',
    raceErrorAfterReset: 'Java HttpURLConnection: SocketException "Connection reset"',
    requestTimeout: 'Java HttpURLConnection: `setReadTimeout(ms)` (none by default): SocketTimeoutException "Read timed out"',
  },
  { agent: /^Go-http-client\//, idleSetting: 'Go http.Transport: `IdleConnTimeout` (90 s by default)', raceError: 'Go: EOF, or "read: connection reset by peer" where the RST came first', raceErrorAfterFin: 'Go: EOF', raceErrorAfterReset: 'Go: "read: connection reset by peer"', requestTimeout: 'Go: http.Client `Timeout` (none by default), Transport `ResponseHeaderTimeout`', timeoutCoversConnect: true, idleRoomSetting: 'Go: http.Transport `MaxIdleConnsPerHost` (2 by default)' },
  // urllib3 keeps at most `maxsize` idle connections per host (1 by default) and closes the rest
  // ("Connection pool is full, discarding connection"); requests mounts HTTPAdapter(pool_maxsize=10).
  {
    agent: /^python-requests\//,
    ...PYTHON_REQUESTS_TEXTS,
    idleRoomSetting: 'Python requests: `HTTPAdapter(pool_maxsize=N)` mounted on the Session (10 by default; urllib3 warns "Connection pool is full, discarding connection")',
  },
  // Its texts are requests' (named there in the lists): named only where its own agent is seen.
  {
    agent: /^python-urllib3\//,
    namedOnly: true,
    ...PYTHON_REQUESTS_TEXTS,
    idleRoomSetting: 'urllib3: the pool\'s `maxsize` (`PoolManager(maxsize=N)`, 1 by default per host; it warns "Connection pool is full, discarding connection")',
  },
  { agent: /^python-httpx\//, idleSetting: 'httpx: `Limits(keepalive_expiry=…)` (5 s by default)', raceError: 'httpx: RemoteProtocolError "Server disconnected without sending a response" or ReadError', raceErrorAfterFin: 'httpx: RemoteProtocolError "Server disconnected without sending a response"', raceErrorAfterReset: 'httpx: ReadError', requestTimeout: 'httpx: `Timeout(…)` (5 s by default): ReadTimeout' },
  { agent: /\baiohttp\//, idleSetting: 'aiohttp: `TCPConnector(keepalive_timeout=…)` (15 s by default)', raceError: 'aiohttp: ServerDisconnectedError or ClientOSError', raceErrorAfterFin: 'aiohttp: ServerDisconnectedError', raceErrorAfterReset: 'aiohttp: ClientOSError', requestTimeout: 'aiohttp: `ClientTimeout(total=…, sock_read=…)` (300 s in all by default): asyncio.TimeoutError', timeoutCoversConnect: true },
  { agent: /^Ruby$/, idleSetting: 'Ruby Net::HTTP: `keep_alive_timeout` (2 s by default)', raceError: 'Ruby Net::HTTP: EOFError or Errno::ECONNRESET', raceErrorAfterFin: 'Ruby Net::HTTP: EOFError', raceErrorAfterReset: 'Ruby Net::HTTP: Errno::ECONNRESET', requestTimeout: 'Ruby Net::HTTP: `read_timeout` (60 s by default, for each read): Net::ReadTimeout; with `max_retries` (1 by default) it sends a GET, HEAD, PUT, DELETE, OPTIONS or TRACE again once on a new connection, so its caller waits twice that' },
  { agent: /^(node|undici)$/, hintMargin: 2, idleSetting: "Node fetch: an undici Agent's `keepAliveTimeout` (4 s by default; undici also honours the server's Keep-Alive hint, less 2 s)", raceError: 'Node\'s fetch: TypeError "fetch failed" with cause SocketError "other side closed", or Error "read ECONNRESET" where the RST came first', raceErrorAfterFin: 'Node\'s fetch: TypeError "fetch failed" with cause SocketError "other side closed"', raceErrorAfterReset: 'Node\'s fetch: TypeError "fetch failed" with cause Error "read ECONNRESET"', requestTimeout: 'Node\'s fetch: the AbortSignal.timeout(ms) passed as `signal`, or an undici Agent\'s `headersTimeout`/`bodyTimeout`, 300 s by default', timeoutCoversConnect: true },
  // `curl/…` is the command line tool (libcurl sends no agent unless given one). curl 7.88 has no
  // option for CURLOPT_MAXAGE_CONN; it resent every request that met a closed reused connection,
  // POSTs included (keepalive-race-webfs-curl).
  {
    agent: /^curl\//,
    idleSetting:
      'curl, the command line tool: no option for libcurl\'s `CURLOPT_MAXAGE_CONN` (118 s): keep its pauses between transfers below the server\'s timeout ' +
      '(it sends a request that met a closed reused connection again by itself, "Connection died, retrying a fresh connect", a POST\'s body included)',
    raceError: 'curl, when it does not send the request again: "Empty reply from server" (52) or "Recv failure: Connection reset by peer" (56)',
    raceErrorAfterFin: 'curl, when it does not send the request again: "Empty reply from server" (52)',
    raceErrorAfterReset: 'curl, when it does not send the request again: "Recv failure: Connection reset by peer" (56)',
    requestTimeout: 'curl `--max-time` (none by default, and it covers the connect)',
    timeoutCoversConnect: true,
  },
  // GNU Wget 1.21: it retries a failed try itself, up to --tries (20), on a new connection; its
  // read timeout is a silence between reads (blind round 13, S11: "Read error at byte 50000/200000
  // (Connection timed out)", exit 4 once its tries were spent).
  {
    agent: /^Wget\//,
    namedOnly: true,
    idleSetting: 'GNU Wget: no idle limit (it reuses a connection only between the URLs of one run): keep the pauses between them below the server\'s timeout',
    raceError: 'Wget: "Read error (Connection reset by peer) in headers. Retrying." (it tries again, up to `--tries`, 20 by default)',
    requestTimeout: 'GNU Wget `--read-timeout` (900 s by default, a silence between reads: "Read error at byte N/M (Connection timed out). Retrying.") and `--timeout`; it tries again up to `--tries` (20 by default) and exits 4 when they are spent',
  },
  { agent: /^libwww-perl\//, idleSetting: 'Perl LWP::UserAgent: none (`keep_alive` keeps connections until the server closes them): `$ua->conn_cache->drop(SECONDS)` before requests drops older ones', raceError: 'Perl LWP: a 500 "Server closed connection without sending any data back" it makes itself, with Client-Warning: Internal response, which no server sent', requestTimeout: 'Perl LWP::UserAgent: `timeout` (180 s by default, between reads): a 500 "read timeout" it makes itself' },
];

/** The client products listed for a client that names none (ClientProduct.namedOnly). */
const LISTED_CLIENT_PRODUCTS = CLIENT_PRODUCTS.filter((p) => p.namedOnly !== true);

/** The known client product a `User-Agent` value names, or null. */
export function clientProduct(agent: string | null): ClientProduct | null {
  if (agent === null) return null;
  return CLIENT_PRODUCTS.find((p) => p.agent.test(agent)) ?? null;
}

/**
 * Where each common client and proxy pool sets how long it keeps an idle connection, for remedies
 * that tell the client to drop idle connections first (keepalive-race, idle-timeout-mismatch):
 * every client product's (CLIENT_PRODUCTS), and those of the clients and proxies that send no agent
 * of their own.
 */
/**
 * What the clients that send no `User-Agent` by default report for a request that met the server's
 * idle close (keepalive-race's outcome, beside the named clients' ClientProduct.raceError).
 */
const NO_AGENT_RACE_ERROR_LIST: readonly RaceErrorText[] = [
  // Node 20's http.Agent: "socket hang up" (code ECONNRESET) after the FIN (blind round 12, S3), "read ECONNRESET" after a bare RST (S7).
  { raceError: 'Node: "socket hang up", or "read ECONNRESET" where the RST came first', raceErrorAfterFin: 'Node: ECONNRESET "socket hang up"', raceErrorAfterReset: 'Node: "read ECONNRESET"' },
  { raceError: 'Erlang httpc: {error, socket_closed_remotely}' },
  {
    raceError: 'libcurl, when it does not send the request again: "Empty reply from server" (52) or "Recv failure: Connection reset by peer" (56)',
    raceErrorAfterFin: 'libcurl, when it does not send the request again: "Empty reply from server" (52)',
    raceErrorAfterReset: 'libcurl, when it does not send the request again: "Recv failure: Connection reset by peer" (56)',
  },
  // Blind test, round 29: a POST's body still being written when the RST came raised BrokenPipeError.
  {
    raceError: "Python's http.client: RemoteDisconnected, ConnectionResetError, or BrokenPipeError when the RST came while it was still writing the request",
    raceErrorAfterFin: "Python's http.client: RemoteDisconnected",
    raceErrorAfterReset: "Python's http.client: ConnectionResetError, or BrokenPipeError when the RST came while it was still writing the request",
    // Blind round 13b: over TLS (nginx, HAProxy, Caddy and Go servers alike) all five stale or raced requests raised this.
    raceErrorOverTls: 'Python\'s http.client over TLS: ssl.SSLEOFError "EOF occurred in violation of protocol"',
  },
];

/** What the clients that send no `User-Agent` report, for races whose client received `first` first. */
export function noAgentRaceErrors(first: FirstClose, tls = false): string {
  return NO_AGENT_RACE_ERROR_LIST.map((p) => raceErrorFor(p, first, tls)).join('; ');
}

/** Every common client's report of a request that met the server's idle close, when none is named. */
export function clientRaceErrors(first: FirstClose, tls = false): string {
  return [...NO_AGENT_RACE_ERROR_LIST, ...LISTED_CLIENT_PRODUCTS].map((p) => raceErrorFor(p, first, tls)).join('; ');
}

const NO_AGENT_REQUEST_TIMEOUT_LIST = [
  'Node http.request: the `timeout` option or `req.setTimeout(ms)` (none by default)',
  // OTP 25 (unanswered-request-jvm-ruby-erlang-timeouts): {error, timeout}, the session closed with a FIN.
  'Erlang httpc: `{timeout, Ms}` among httpc:request\'s HTTP options (infinity by default): {error, timeout}',
  'libcurl: `CURLOPT_TIMEOUT` / `CURLOPT_TIMEOUT_MS` (none by default)',
  "Python's http.client: HTTPConnection's `timeout` (none by default): TimeoutError",
];
/** The request timeouts of the clients that send no `User-Agent` by default. */
export const NO_AGENT_REQUEST_TIMEOUTS = NO_AGENT_REQUEST_TIMEOUT_LIST.join('; ');

/**
 * The request timeouts of the most common clients, when none is named: Node's (fetch, http), Go's,
 * curl's and Python requests', as their products and the agent-less clients give them.
 */
export const CLIENT_REQUEST_TIMEOUTS = [
  clientProduct('node')?.requestTimeout,
  NO_AGENT_REQUEST_TIMEOUT_LIST[0],
  ...['Go-http-client/1.1', 'curl/8', 'python-requests/2'].map((agent) => clientProduct(agent)?.requestTimeout),
].filter((t): t is string => t !== undefined).join('; ');

/** Clients that send no `User-Agent` by default. */
const NO_AGENT_CLIENT_IDLE_SETTINGS = [
  "Node http.Agent: the `timeout` option, which also lets the agent honour the server's Keep-Alive hint",
  'agentkeepalive: `freeSocketTimeout`',
  // OTP 25 (keepalive-race-inets): httpc never resends a request lost on a reused connection.
  'Erlang httpc: `httpc:set_options([{keep_alive_timeout, Ms}])` (120 000 ms by default)',
  // Measured with PHP 8.2 and libcurl 7.88.1: MAXAGE_CONN 1 still reused a connection idle 1.95 s
  // (libcurl compares whole seconds of idleness with it).
  'libcurl (PHP curl, pycurl): `CURLOPT_MAXAGE_CONN` (118 s by default), in whole seconds and checked as such (a connection idle less than the setting plus one second is still reused): keep the setting plus one second below the server\'s timeout',
  "Python's http.client: none (an HTTPConnection is reused as long as the code keeps it): close it after idling",
];

/** The idle settings of proxies' pools of connections to their backends. */
const PROXY_POOL_IDLE_SETTINGS = [
  'nginx upstream: `keepalive_timeout`',
  'Apache mod_proxy: the ProxyPass `ttl=` parameter, in whole seconds',
  'Varnish: `backend_idle_timeout` (60 s by default)',
  'Squid: `server_idle_pconn_timeout` (1 min by default)',
  "Caddy: `keepalive` in reverse_proxy's `transport http` (2 min by default)",
  'Traffic Server: `proxy.config.http.keep_alive_no_activity_timeout_out` (120 s in its records.config)',
  'h2o: `proxy.timeout.keepalive`, in milliseconds (2000, 2 s, by default)',
  'nghttpx: `--backend-keep-alive-timeout` (2 s by default)',
  // HAProxy has no idle timeout of its own for backend connections: only the purge of the idle pool
  // closes them (keepalive-race-haproxy: the backend's FIN crossed the reuse).
  "HAProxy: none, only `pool-purge-delay` on the server line, 5 s by default, which closes half of the idle backend connections each period: keep the backend's idle timeout well above it",
];

export const CLIENT_IDLE_SETTING_LIST: readonly string[] = [
  ...NO_AGENT_CLIENT_IDLE_SETTINGS,
  ...LISTED_CLIENT_PRODUCTS.map((p) => p.idleSetting),
  ...PROXY_POOL_IDLE_SETTINGS,
];
export const CLIENT_IDLE_SETTINGS = CLIENT_IDLE_SETTING_LIST.join('; ');

/**
 * The clients and proxy pools whose settings are listed for connections none of whose requests could
 * be read (TLS: no User-Agent): the most common ones, by the start of their entry in
 * CLIENT_IDLE_SETTING_LIST. The whole list (some 30 entries, 2.9 KB) buried the one that applied
 * (blind round 13, tls: "a wall of text"); the rarer ones are named where a User-Agent shows them.
 */
const UNREAD_CLIENT_ENTRIES = [
  'Node http.Agent', 'Node fetch', "Python's http.client", 'Python requests', 'httpx', 'aiohttp', 'Go http.Transport', 'Java HttpClient', 'OkHttp',
  'Apache HttpClient 5', 'libcurl', 'curl, the command line tool', 'nginx upstream', 'HAProxy',
];
export const UNREAD_CLIENT_IDLE_SETTING_LIST: readonly string[] = CLIENT_IDLE_SETTING_LIST.filter((s) => UNREAD_CLIENT_ENTRIES.some((e) => s.startsWith(e)));
export const UNREAD_CLIENT_IDLE_SETTINGS = `${UNREAD_CLIENT_IDLE_SETTING_LIST.join('; ')}; another client or proxy: its pool's own idle limit`;

/**
 * What sets how long a server's or proxy's old process lets requests in flight run after a reload,
 * restart or stop before it goes away with them (gateway-timeout's and unanswered-request's cuts at
 * a reload): its grace.
 */
export const SHUTDOWN_GRACE_SETTINGS =
  'HAProxy `hard-stop-after`, nginx `worker_shutdown_timeout`, Go `http.Server.Shutdown` (the deadline of the context given to it), ' +
  'Envoy `--drain-time-s` and `--parent-shutdown-time-s`, Apache `GracefulShutdownTimeout`, Kubernetes `terminationGracePeriodSeconds` (30 s by default) before its SIGKILL';

/**
 * Who holds a connection whose requests name no client (no `User-Agent`, `Via` or
 * `X-Forwarded-For`), by default: Node's http module, Erlang's httpc, Python's http.client and libcurl (PHP's curl,
 * pycurl) send no agent unless given one, and nginx (`proxy_pass` without `proxy_set_header`) and HAProxy (without
 * `option forwardfor`) forward their clients' requests, agent and all, without saying so; their
 * requests without an agent are their clients'. The other proxies listed add `Via` or
 * `X-Forwarded-For` by default.
 */
export const NO_AGENT_IDLE_SETTINGS = [
  ...NO_AGENT_CLIENT_IDLE_SETTINGS,
  ...PROXY_POOL_IDLE_SETTINGS.filter((p) => p.startsWith('nginx') || p.startsWith('HAProxy')),
].join('; ');

/**
 * A reverse proxy of one's own is a client library's pool (blind test, round 40: Node's
 * http.request with a keep-alive http.Agent, Go's httputil.ReverseProxy on http.DefaultTransport):
 * the most common libraries' idle settings, for a proxy whose responses name none of those above.
 */
const LIBRARY_PROXY_POOL_IDLE_SETTINGS =
  "a proxy of one's own: its HTTP client library's pool (Node http.Agent `timeout` or agentkeepalive `freeSocketTimeout`, undici `keepAliveTimeout`; " +
  'Go http.Transport `IdleConnTimeout`, 90 s in the DefaultTransport that httputil.ReverseProxy uses; Java HttpClient `jdk.httpclient.keepalive.timeout`; ' +
  'OkHttp `ConnectionPool` keepAliveDuration; Apache HttpClient `evictIdleConnections`; Python urllib3/requests: none, retry instead)';

/**
 * The pool settings of the proxies that write every field name in lower case (HAProxy 2.x, Envoy),
 * for upstream connections whose requests came so (proxy-tells.ts TELL_HEADER_CASE).
 */
export const CASE_PROXY_POOL_IDLE_SETTINGS = [
  ...PROXY_POOL_IDLE_SETTINGS.filter((p) => p.startsWith('HAProxy')),
  'Envoy: the cluster\'s `common_http_protocol_options.idle_timeout` (1 h by default)',
].join('; ');

/** The proxies' pool settings, for connections that carried requests a proxy said it forwarded. */
export const PROXY_POOL_IDLE_SETTING_TEXT = [...PROXY_POOL_IDLE_SETTINGS, LIBRARY_PROXY_POOL_IDLE_SETTINGS].join('; ');

/** Which proxy a `Server` header names, by the start of its pool setting in PROXY_POOL_IDLE_SETTINGS. */
const PROXY_SOFTWARE: ReadonlyArray<[RegExp, string]> = [
  [NGINX, 'nginx upstream'],
  // Before Apache's: Traffic Server's Via comment says `ApacheTrafficServer/9.2.9` (blind round 15,
  // stacks S14: taken for Apache httpd, its remedy was mod_proxy's ProxyPass `ttl=`).
  [TRAFFIC_SERVER, 'Traffic Server'],
  [APACHE, 'Apache mod_proxy'],
  [/varnish/i, 'Varnish'],
  [/^squid/i, 'Squid'],
  [/^Caddy/i, 'Caddy'],
  [/^h2o/i, 'h2o'],
  [/^nghttpx/i, 'nghttpx'],
  [/^HAProxy/i, 'HAProxy'],
];

/** The pool idle setting of the proxy a `Server` header names, or null when it names none of these. */
export function proxyPoolIdleSetting(software: string): string | null {
  const entry = PROXY_SOFTWARE.find(([pattern]) => pattern.test(software));
  return entry === undefined ? null : PROXY_POOL_IDLE_SETTINGS.find((s) => s.startsWith(entry[1])) ?? null;
}

/**
 * The settings of proxies that relay connections byte for byte (relayed-closes.ts) that close an
 * idle one, on both legs at once, in parentheses.
 */
export const RELAYING_PROXY_IDLE_SETTINGS =
  '(HAProxy in `mode tcp`: `timeout client` and `timeout server`, or `timeout tunnel` when set; nginx `stream`: `proxy_timeout`, 10 min by default; ' +
  "a cloud layer-4 load balancer's idle timeout: AWS NLB 350 s, Azure Load Balancer 4 min by default)";

/**
 * The server settings that close idle client connections, in parentheses: the one of the product
 * the server's responses name when it is known (with the caveat, for a `Server` header, that a
 * proxy may pass its backend's header on), else those of the common servers.
 */
export function serverIdleSettings(identity: ServerIdentity | null, software: string | null = null): string {
  const product = serverProduct(identity?.software ?? null);
  if (identity !== null && identity.rewrittenBy === 'case') {
    // The client connection is the proxy's: the backend's own idle timer acts on the proxy's backend connections only.
    const behind = product !== null ? `; ${product.idleSetting} is the backend's, for the proxy's own connections to it` : '';
    return `(${caseNote(identity)}: the idle timer is the proxy's: ${FRONT_PROXY_CASE_IDLE_SETTINGS}${behind})`;
  }
  if (identity !== null && identity.passedOn === true) {
    // Answers without a Server header beside those naming one: a proxy in front closes idle client connections with its own timer.
    const behind = product !== null ? `; or, if the close is the backend's own, ${product.idleSetting}` : '';
    return `(its responses say \`${identity.says}\`, yet some of them carry no Server header: a proxy in front passes that header on from its backend and answers on its own, so the idle timer is most likely the proxy's: ${FRONT_PROXY_IDLE_SETTINGS}${behind})`;
  }
  if (identity !== null && product !== null) {
    const caveat = identity.fromVia ? '' : '; unless a proxy in front of it passes that header on from its backend';
    return `(its responses say \`${identity.says}\`: ${product.idleSetting}${caveat})`;
  }
  if (identity === null && software === NO_SERVER_HEADER) return NO_SERVER_HEADER_IDLE_SETTINGS;
  if (identity === null && software === null) return UNREAD_SERVER_IDLE_SETTINGS;
  return (
    '(Node http.Server `keepAliveTimeout`, nginx `keepalive_timeout`, Apache `KeepAliveTimeout`, Go http.Server `IdleTimeout`, which when unset is `ReadTimeout`, else `ReadHeaderTimeout`; ' +
    `${HAPROXY_FRONT_IDLE_SETTING}; ` +
    'Varnish `timeout_idle`; Squid `client_idle_pconn_timeout`, counted in whole seconds: Squid may close up to a second early; Caddy `servers { timeouts { idle } }`; ' +
    'Traffic Server `proxy.config.http.keep_alive_no_activity_timeout_in`; uvicorn `--timeout-keep-alive`; Jetty the connector\'s `idleTimeout`; ' +
    'Puma `persistent_timeout`, which Puma 5 applies about 0.2 s late, after a worker\'s own wait for the next request; ' +
    'Starman `--keepalive-timeout`, 1 s by default, each idle connection holding a worker: raise `--workers` with it; ' +
    'Tornado `idle_connection_timeout`; Mojolicious `keep_alive_timeout`; waitress `channel_timeout`; CherryPy `server.socket_timeout`; ' +
    'Hypercorn `keep_alive_timeout`; Twisted `Site(timeout=…)`; Yaws `keepalive_timeout`, in milliseconds; aiohttp `keepalive_timeout`; WEBrick `:RequestTimeout`; ' +
    'Erlang inets httpd `keep_alive_timeout`, in whole seconds)'
  );
}

/**
 * How a reverse proxy of one's own, a client library's, gives up waiting for its backend's response
 * (blind test, round 40: Go's httputil.ReverseProxy with `ResponseHeaderTimeout` 3 s answered 502,
 * a Node proxy's `proxyReq.setTimeout(3000)` handler 504), for the lists of proxies' read timeouts.
 */
export const LIBRARY_PROXY_READ_TIMEOUTS =
  "a proxy of one's own: Go http.Client `Timeout` or http.Transport `ResponseHeaderTimeout` (httputil.ReverseProxy answers 502; a handler calling through an http.Client answers what it chooses), Node http.request's `timeout` option or `req.setTimeout(ms)` (its handler answers)";

/** Where web servers set how long they wait for a FastCGI backend's (PHP-FPM's) response (gateway-timeout, unanswered-request). */
/**
 * The upstream timeouts of a proxy that names itself in its own answers (`Server`, or a `Via`
 * entry's comment), so that a gateway error's remedy names that proxy's settings first rather than
 * a list of every proxy's. HAProxy names itself nowhere (no `Server` header of its own).
 */
/** Each proxy's upstream timeouts: `settings` for the response and the connection, `connect` for the connection alone. */
const PROXY_UPSTREAM_TIMEOUTS: ReadonlyArray<{ software: RegExp; settings: string; connect: string }> = [
  {
    software: NGINX,
    settings: 'nginx `proxy_read_timeout` for the response and `proxy_connect_timeout` for the connection, 60 s each by default (`fastcgi_read_timeout`, `uwsgi_read_timeout`, `grpc_read_timeout` for those backends)',
    connect: 'nginx `proxy_connect_timeout`, 60 s by default and at most 75 s (`fastcgi_connect_timeout`, `uwsgi_connect_timeout` for those backends)',
  },
  {
    software: APACHE,
    settings: 'Apache `ProxyTimeout` or ProxyPass `timeout=` for the response and `connectiontimeout=` for the connection (`Timeout`, 60 s by default, when unset)',
    connect: 'Apache ProxyPass `connectiontimeout=` (when unset: its `timeout=`, else `ProxyTimeout`, else `Timeout`, 60 s by default)',
  },
  {
    software: VARNISH,
    settings: 'Varnish `first_byte_timeout` (60 s by default) and `between_bytes_timeout` for the response, `connect_timeout` (3.5 s) for the connection',
    connect: 'Varnish `connect_timeout` (3.5 s by default)',
  },
  {
    software: SQUID,
    settings: 'Squid `read_timeout` for the response, `connect_timeout` and `forward_timeout` for the connection (for a cache_peer its `connect-timeout=` or `peer_connect_timeout`)',
    connect: 'Squid `connect_timeout` and `forward_timeout` (for a cache_peer its `connect-timeout=` or `peer_connect_timeout`)',
  },
  { software: CADDY, settings: 'Caddy reverse_proxy transport `response_header_timeout` and `dial_timeout`', connect: 'Caddy reverse_proxy transport `dial_timeout`' },
  {
    software: ENVOY,
    settings: 'Envoy the route `timeout` (15 s by default) for the response and the cluster `connect_timeout` (5 s) for the connection',
    connect: 'Envoy the cluster `connect_timeout` (5 s by default)',
  },
  {
    software: TRAFFIC_SERVER,
    settings: 'Traffic Server proxy.config.http.transaction_no_activity_timeout_out and proxy.config.http.connect_attempts_timeout',
    connect: 'Traffic Server proxy.config.http.connect_attempts_timeout',
  },
  {
    software: H2O,
    settings: 'h2o `proxy.timeout.io` (and `proxy.timeout.connect` from 2.3), in milliseconds (30000, 30 s, by default)',
    connect: 'h2o `proxy.timeout.connect` from 2.3, `proxy.timeout.io` before, in milliseconds (30000, 30 s, by default)',
  },
  { software: NGHTTPX, settings: 'nghttpx `--backend-read-timeout` and `--backend-connect-timeout`', connect: 'nghttpx `--backend-connect-timeout`' },
  { software: TINYPROXY, settings: 'tinyproxy `Timeout`', connect: 'tinyproxy `Timeout`' },
  { software: LIGHTTPD, settings: 'lighttpd proxy.server "read-timeout" and "connect-timeout"', connect: 'lighttpd proxy.server "connect-timeout"' },
];

/**
 * The upstream timeout settings of the proxy `software` names (see PROXY_UPSTREAM_TIMEOUTS), or null
 * when it names none listed; `connectOnly`: the connection's alone (a connect timeout's phase).
 */
export function proxyUpstreamTimeouts(software: string | null, connectOnly = false): string | null {
  if (software === null || software === NO_SERVER_HEADER) return null;
  const entry = PROXY_UPSTREAM_TIMEOUTS.find((p) => p.software.test(software));
  return entry === undefined ? null : connectOnly ? entry.connect : entry.settings;
}

/**
 * A server that runs request handlers of its own and answers a gateway timeout status itself when
 * one outlives its timer, no upstream connection involved (gateway-timeout, its upstream unseen).
 */
export interface OwnHandlerTimeouts {
  /** The product, as the text names it. */
  product: string;
  /** The statuses it answers so. */
  statuses: readonly number[];
  /** What outlived the timer, and the settings, with their defaults. */
  settings: string;
  /** What its error log says for each. */
  log: string;
}

// Recorded (gateway-timeout-apache-cgid): Apache 2.4.71's mod_cgid with CGIDScriptTimeout 2 (Timeout 10)
// answered 504 itself 2.002 s after a script that had not written its headers, logging
// "[cgid:error] ... Script timed out before returning headers"; mod_cgid's timeout is `Timeout`
// when unset, mod_cgi's always `Timeout` (blind round 17, appservers s07: `Timeout 3`, 504 after 3.002 s).
const OWN_HANDLER_TIMEOUTS: ReadonlyArray<{ software: RegExp } & OwnHandlerTimeouts> = [
  {
    software: APACHE, product: 'Apache', statuses: [504],
    settings: 'a CGI script it runs has not written its headers in time: mod_cgid `CGIDScriptTimeout` (when unset, `Timeout`, 60 s by default), mod_cgi `Timeout`',
    log: '"Script timed out before returning headers"',
  },
];

/**
 * The timers of the server `software` names that answer `status` for its own handlers (OWN_HANDLER_TIMEOUTS),
 * or null: software not listed, or none named.
 */
export function ownHandlerTimeouts(software: string | null, status: number): OwnHandlerTimeouts | null {
  if (software === null || software === NO_SERVER_HEADER) return null;
  const entry = OWN_HANDLER_TIMEOUTS.find((p) => p.software.test(software) && p.statuses.includes(status));
  return entry === undefined ? null : { product: entry.product, statuses: entry.statuses, settings: entry.settings, log: entry.log };
}

export const FASTCGI_READ_TIMEOUTS =
  'nginx fastcgi_read_timeout (60 s by default), Apache mod_proxy_fcgi ProxyTimeout or ProxyPass timeout=, Caddy php_fastcgi read_timeout';

/**
 * Node's http.Server closes an idle connection 1 s after its `keepAliveTimeout` and advertises
 * `Keep-Alive: timeout=` that timeout rounded down to whole seconds (500 ms: timeout=0). The second
 * is hard-coded in Node 20 (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER; its server has no
 * keepAliveTimeoutBuffer property); newer versions expose it as `server.keepAliveTimeoutBuffer`.
 */
export const NODE_KEEP_ALIVE_BUFFER = 1;
const NODE_BUFFER_TEXT =
  'a 1 s buffer, hard-coded in Node 20, `server.keepAliveTimeoutBuffer` in the newer versions that expose it';

/** A Node.js http.Server's pattern in an idle timeout and the hint its responses advertised (nodeServerPattern). */
export interface NodeServerPattern {
  /** Its `keepAliveTimeout` (seconds), as the close and the hint tell it. */
  keepAliveTimeout: number;
  /** The closes came exactly the advertised whole seconds plus the buffer. */
  exact: boolean;
  advertised: number;
}

/**
 * Whether idle closes after `timeout` s under `Keep-Alive: timeout=<advertised>` show a Node.js
 * http.Server (NODE_KEEP_ALIVE_BUFFER): timeout − 1 s within [advertised, advertised + 1), or
 * within `tolerance` of advertised + 1. Null otherwise, or without a hint.
 */
export function nodeServerPattern(timeout: number, advertised: number | null, tolerance: number): NodeServerPattern | null {
  if (advertised === null) return null;
  const setting = timeout - NODE_KEEP_ALIVE_BUFFER;
  const exact = Math.abs(setting - advertised) <= tolerance;
  if (!exact && !(setting > advertised && setting < advertised + 1)) return null;
  return { keepAliveTimeout: exact ? advertised : Math.round(setting * 1000) / 1000, exact, advertised };
}

/**
 * The known defaults that still fit beside a NodeServerPattern: where the hint plus Node's buffer
 * explains the closes, the server's keepAliveTimeout is the advertised value, not Node's default
 * (which would advertise timeout=5 and close after 6 s), so that match is dropped.
 */
export function withoutNodeDefault(known: readonly KnownTimeout[], node: NodeServerPattern | null): KnownTimeout[] {
  return node === null ? [...known] : known.filter((k) => k.nodeServerDefault !== true);
}

/** The explanation's words for a NodeServerPattern, in parentheses after the timeout it explains. */
export function nodeServerPatternText(p: NodeServerPattern): string {
  return p.exact
    ? ` (= the advertised ${p.advertised} s + 1 s: the pattern of a Node.js server, which closes an idle connection 1 s after its keepAliveTimeout (${NODE_BUFFER_TEXT}))`
    : ` (= ${p.keepAliveTimeout} s + 1 s: the pattern of a Node.js server with keepAliveTimeout ${p.keepAliveTimeout} s, which it advertises rounded down to whole seconds (timeout=${p.advertised}) and closes 1 s after (${NODE_BUFFER_TEXT}))`;
}

/** The server setting for a remedy (as serverIdleSettings gives it, in parentheses) where the closes show a NodeServerPattern. */
export function nodeServerSetting(p: NodeServerPattern): string {
  return (
    `(the closes and the Keep-Alive hint fit Node's http.Server with \`keepAliveTimeout\` ${p.keepAliveTimeout} s, which closes 1 s later ` +
    `(${NODE_BUFFER_TEXT}): raise \`keepAliveTimeout\`, its closes coming 1 s after it)`
  );
}

/**
 * Puma 5 waits FAST_TRACK_KA_TIMEOUT (0.2 s) in the worker thread for another request after each
 * response before its reactor counts `persistent_timeout`, an Integer of seconds (its DSL takes
 * Integer(seconds)): an idle close comes that setting plus 0.2 s after the response
 * (keepalive-race-puma-ruby: 2 → 2.2005-2.2068 s; blind round 17, appservers s15: 2.205 s). It
 * sends no `Server` header and no `Keep-Alive` hint.
 */
export const PUMA_KEEP_ALIVE_LEAD = 0.2;

/** A Puma server's pattern in an idle timeout (pumaServerPattern). */
export interface PumaServerPattern {
  /** Its `persistent_timeout` (whole seconds), as the closes tell it. */
  persistentTimeout: number;
}

/**
 * Whether idle closes after `timeout` s, from a server whose answers named no software
 * (`software` NO_SERVER_HEADER) and advertised no Keep-Alive hint (`advertised` null: Node and
 * Tomcat send one), show Puma: `timeout` − PUMA_KEEP_ALIVE_LEAD within `tolerance` of a whole
 * number of seconds (at least 1). Null otherwise. A fit, not a proof: another server that sends
 * neither header, set to that value, closes so too.
 */
export function pumaServerPattern(timeout: number, advertised: number | null, software: string | null, tolerance: number): PumaServerPattern | null {
  if (software !== NO_SERVER_HEADER || advertised !== null) return null;
  const setting = timeout - PUMA_KEEP_ALIVE_LEAD;
  const whole = Math.round(setting);
  return whole >= 1 && Math.abs(setting - whole) <= tolerance ? { persistentTimeout: whole } : null;
}

/** The known defaults that still fit beside a PumaServerPattern: Puma's own default entry is told by the pattern. */
export function withoutPumaDefault(known: readonly KnownTimeout[], puma: PumaServerPattern | null): KnownTimeout[] {
  return puma === null ? [...known] : known.filter((k) => !k.name.startsWith('Puma '));
}

/** The explanation's words for a PumaServerPattern, in parentheses after the timeout it explains. */
export function pumaServerPatternText(p: PumaServerPattern): string {
  return (
    ` (= ${p.persistentTimeout} s + ${PUMA_KEEP_ALIVE_LEAD} s: the pattern of Puma, which sends neither a Server header nor a Keep-Alive hint, as these answers, ` +
    `and closes an idle connection its \`persistent_timeout\` (whole seconds) after a ${PUMA_KEEP_ALIVE_LEAD} s wait of its worker thread for another request ` +
    `(Puma 5's FAST_TRACK_KA_TIMEOUT); another server that sends neither, set to that value, fits as well)`
  );
}

/** The server setting for a remedy (as serverIdleSettings gives it, in parentheses) where the closes show a PumaServerPattern. */
export function pumaServerSetting(p: PumaServerPattern): string {
  return (
    `(the closes fit Puma with \`persistent_timeout\` ${p.persistentTimeout} s, which it applies ${PUMA_KEEP_ALIVE_LEAD} s after each response: raise \`persistent_timeout\`, ` +
    `its closes coming ${PUMA_KEEP_ALIVE_LEAD} s after it; if the server is not Puma: ${NO_SERVER_HEADER_IDLE_SETTINGS.slice(1)}`
  );
}

/**
 * What a proxy's own 502 or 503 after a wait can be, by the software its answers name, and how it
 * retries upstream (gateway-timeout's `waited` errors: the client leg alone, upstream unseen). Each
 * product answers some of its timers with 504 and the rest with 502/503, and the same 502/503 when
 * its backend ends the connection without a response: a wait alone does not tell them apart.
 * Checked on Caddy 2.6, Varnish 7.1, Traffic Server 9.2 and h2o 2.2 (blind round 13, proxies).
 */
export interface GatewayErrorCauses {
  /** The product's name, as the text says it. */
  product: string;
  /** The statuses whose wait is told here (a 503 is an application's as often as a proxy's). */
  statuses: readonly number[];
  /** What answers those statuses after a wait, with the defaults. */
  causes: string;
  /** How it tries a request upstream again, which multiplies a per-attempt wait. */
  retries: string;
}

const GATEWAY_ERROR_CAUSES: ReadonlyArray<{ software: RegExp } & GatewayErrorCauses> = [
  {
    software: VARNISH, product: 'Varnish', statuses: [503],
    causes: 'Varnish answers 503 "Backend fetch failed" when its first_byte_timeout (60 s by default) or between_bytes_timeout fires, when its connect_timeout (3.5 s) fires, or when the backend closes the connection without a response',
    retries: 'Varnish tries again only a fetch whose reused backend connection failed before any answer, once, and never after a timeout (unless its VCL returns retry from vcl_backend_error, up to max_retries)',
  },
  {
    software: CADDY, product: 'Caddy', statuses: [502],
    causes: 'Caddy answers 502 when its dial_timeout (3 s by default) fires or its backend ends the connection without a response (EOF, reset); its response_header_timeout answers 504, not 502',
    retries: 'Caddy retries with lb_try_duration and lb_retries (off by default), and its Go transport re-sends an idempotent request once, on a new connection, when a reused upstream connection closes before answering',
  },
  {
    software: TRAFFIC_SERVER, product: 'Traffic Server', statuses: [502],
    causes: 'Traffic Server answers 502 ("connect failed", its page saying "Could Not Connect") when every connect attempt failed, each timed by proxy.config.http.connect_attempts_timeout, and 502 as well when its backend ends the connection without a response',
    retries: 'Traffic Server makes 1 + proxy.config.http.connect_attempts_max_retries (3 by default) connect attempts, proxy.config.http.connect_attempts_max_retries_dead_server for a server it marked down, and checks its timeouts on a tick of about a second',
  },
  {
    software: H2O, product: 'h2o', statuses: [502],
    causes: 'h2o answers 502 "Gateway Error" on any I/O error upstream: its proxy.timeout.io (30 s by default, the connect included in h2o 2.2) firing, or the backend ending the connection without a response',
    retries: 'h2o 2.2 retries nothing',
  },
  {
    software: ENVOY, product: 'Envoy', statuses: [503],
    causes: 'Envoy answers 503 ("upstream connect error or disconnect/reset before headers") when its cluster connect_timeout (5 s by default) fires or the backend resets or ends the connection; its route timeout answers 504',
    retries: "Envoy retries by the route's retry_policy (num_retries, per_try_timeout)",
  },
  {
    software: APACHE, product: 'Apache mod_proxy', statuses: [503],
    causes:
      'Apache mod_proxy answers 503 ("Service Unavailable", its own page, `Server: Apache`) when it got no connection to its backend: its ProxyPass connectiontimeout= fired ' +
      '(when unset: timeout=, else ProxyTimeout, else Timeout, 60 s by default; error log AH00957 "(70007)The timeout specified has expired"), the backend refused it (at once, "(111)Connection refused"), ' +
      'the worker was still in its retry= holddown after such an error (60 s by default: at once, AH00940), or acquire= fired while the request waited for a free connection of the pool (max=, AH00941); ' +
      'its read timeout (timeout=, ProxyTimeout) answers 504, not 503. Where Apache is no proxy, the application it runs answers 503 itself as well',
    retries: 'Apache mod_proxy makes one connect attempt per request to a worker (a balancer tries its other members, up to maxattempts=)',
  },
  {
    software: HAPROXY, product: 'HAProxy', statuses: [503],
    causes:
      'HAProxy answers 503 with its own page ("No server is available to handle this request") and no `Server` or `Date` header when it got no connection to a server: ' +
      'every connect attempt failed, each timed by timeout connect, and it makes retries + 1 of them (retries 3 by default), pausing min(timeout connect, 1 s) before each retry ' +
      'after a refused or failed connect (none after a connect timeout): a backend that drops SYNs makes its clients wait timeout connect × (retries + 1) (log sC--), one that refuses ' +
      'about retries × 1 s (SC--); or its queue timeout fired (timeout queue, else timeout connect) while the request waited behind a server maxconn, before any connect (sQ--, <NOSRV>); ' +
      'at once when no server is up (<NOSRV>). Its timeout server answers 504, not 503',
    retries: 'HAProxy retries (3 by default), spent on connect failures whatever its retry-on, with option redispatch moving the last attempt to another server',
  },
  {
    software: SQUID, product: 'Squid', statuses: [502, 503],
    causes: 'Squid answers 503 when it could not connect (connect_timeout, forward_timeout) and 502 when the backend ended the connection without a response',
    retries: 'Squid tries other paths and again up to forward_max_tries and connect_retries',
  },
];

/**
 * What the proxy `software` names answers `status` for after a wait, and how it retries; null for
 * software not listed, or a status it is not known to answer so (nginx's 502 is gateway-timeout's
 * `ended`; its slow 503 is its backend's, passed on). A 503 from a server whose answers name no
 * software (NO_SERVER_HEADER) is told as HAProxy's: its own error pages carry neither `Server` nor
 * `Date`, where application servers send a `Server` (gunicorn, uvicorn, Kestrel, Apache, Jetty) or
 * at least a `Date` (Go, Node); a Go http.TimeoutHandler's 503 is the one such answer after a wait
 * that is an application's, and the text says so (blind 14 S2c/S6b: HAProxy's lone 503s unreported).
 */
export function gatewayErrorCauses(software: string | null, status: number): GatewayErrorCauses | null {
  if (software === null) return null;
  // Answers that name no software at all: HAProxy's own 503 has no `Server`.
  const named = software === NO_SERVER_HEADER ? 'HAProxy' : software;
  if (software === NO_SERVER_HEADER && status !== 503) return null;
  const entry = GATEWAY_ERROR_CAUSES.find((p) => p.software.test(named) && p.statuses.includes(status));
  return entry === undefined ? null : { product: entry.product, statuses: entry.statuses, causes: entry.causes, retries: entry.retries };
}
