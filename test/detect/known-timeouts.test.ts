import * as path from 'node:path';
import { analyzeFiles } from '../../src/analyze';
import { CLIENT_IDLE_SETTINGS, KNOWN_IDLE_TIMEOUTS, knownDefaultsText, matchKnown, UNREAD_CLIENT_IDLE_SETTING_LIST, UNREAD_CLIENT_IDLE_SETTINGS, NO_SERVER_HEADER, proxyPoolIdleSetting, pumaServerPattern, serverIdleSettings, serverProduct } from '../../src/detect/known-timeouts';
import { viaComment } from '../../src/detect/server-software';

describe('known idle timeouts', () => {
  // Node 20's fetch (undici 6): keepAliveTimeout 4e3 ms unless the server sends a Keep-Alive hint
  // (then the hint less keepAliveTimeoutThreshold, 2e3 ms); measured against a Python server with
  // no hint, which closed at 1 s: undici reused its connections up to that moment.
  test('Node fetch (undici) keeps idle connections 4 s by default, not 15 s', () => {
    expect(matchKnown(4, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/undici/);
    expect(matchKnown(15, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).not.toMatch(/undici/);
  });

  // Starman/Server.pm: keepalive_timeout 1 unless given; it sends no Server header
  // (keepalive-race-starman: 51 idle closes at 1.0005-1.0117 s).
  test('a 1 s idle close names Starman\'s --keepalive-timeout default', () => {
    expect(matchKnown(1.001, KNOWN_IDLE_TIMEOUTS).map((k) => k.name).join('\n')).toMatch(/Starman --keepalive-timeout/);
    // In the list for a server whose responses named an unlisted product (for none read, see below: TLS terminators first).
    expect(serverIdleSettings({ says: 'Server: Cowboy', software: 'Cowboy', fromVia: false })).toMatch(/Starman `--keepalive-timeout`/);
  });
});

describe('the Server header narrows server settings to the product that answered', () => {
  const names = (seconds: number, software: string | null) => matchKnown(seconds, KNOWN_IDLE_TIMEOUTS, software).map((k) => k.name).join('\n');

  test('a 2 s idle close is gunicorn\'s default only on a server that could be gunicorn', () => {
    expect(names(2, null)).toMatch(/gunicorn/);
    expect(names(2, 'gunicorn')).toMatch(/gunicorn/);
    expect(names(2, 'nginx/1.22.1')).not.toMatch(/gunicorn/);
    // No header narrows nothing: the hint stays a hint.
    expect(names(5, null)).toMatch(/Node.js http.Server keepAliveTimeout/);
    // A product not listed is none of the listed ones (keepalive-race-tornado-okhttp: a 2 s close by
    // TornadoServer/6.2 was called gunicorn's default), nor one that sends no Server header.
    expect(names(2, 'TornadoServer/6.2')).not.toMatch(/gunicorn/);
    expect(names(5, 'Cowboy')).not.toMatch(/Node.js http.Server|Apache|lighttpd|Varnish|uvicorn/);
    expect(names(1, 'Cowboy')).not.toMatch(/Starman/);
    // Client and proxy settings do not depend on what the server says it is.
    expect(names(4, 'Cowboy')).toMatch(/undici/);
  });

  test('responses that named no software: only products that send no Server header, not gunicorn (keepalive-race-nghttpx: a Node backend)', () => {
    expect(names(1.952, NO_SERVER_HEADER)).not.toMatch(/gunicorn/);
    expect(names(5, NO_SERVER_HEADER)).toMatch(/Node.js http.Server keepAliveTimeout/);
    expect(names(5, NO_SERVER_HEADER)).not.toMatch(/Apache|lighttpd|uvicorn|Hypercorn/);
    expect(names(1.952, NO_SERVER_HEADER)).toMatch(/nghttpx --backend-keep-alive-timeout/); // a client's pool: kept
  });

  test('Hypercorn, Twisted, Yaws and nghttpx by their headers (recorded this round)', () => {
    expect(names(5.001, 'hypercorn-h11')).toMatch(/^Hypercorn keep_alive_timeout/m);
    expect(names(5.001, 'hypercorn-h11')).not.toMatch(/Node.js http.Server|Apache|uvicorn/);
    expect(names(30, 'Yaws 2.1.1')).toMatch(/Yaws keepalive_timeout/);
    expect(names(60, 'TwistedWeb/22.4.0')).toMatch(/Twisted Site timeout \(60 s default\)/);
    // The product's own default explains the value: no ALB for a server that says daphne (keepalive-race-daphne).
    expect(names(60.001, 'daphne')).toMatch(/Daphne: Twisted's connection timeout/);
    expect(names(60.001, 'daphne')).not.toMatch(/ALB/);
    expect(names(60.001, null)).toMatch(/ALB/);
    expect(names(2.001, 'Python/3.11 aiohttp/3.8.4')).not.toMatch(/gunicorn|aiohttp server/);
    expect(names(75, 'Python/3.11 aiohttp/3.8.4')).toMatch(/aiohttp server keepalive_timeout/);
    expect(names(60, 'nghttpx')).toMatch(/nghttpx --frontend-keep-alive-timeout/);
    expect(serverProduct('Yaws 2.1.1')?.idleSetting).toMatch(/milliseconds/);
    expect(serverIdleSettings({ says: 'Server: Cowboy', software: 'Cowboy', fromVia: false })).toMatch(/Hypercorn `keep_alive_timeout`; Twisted `Site\(timeout=…\)`; Yaws `keepalive_timeout`/);
  });

  test('Tornado, Mojolicious, waitress and CherryPy by their headers', () => {
    expect(names(5, 'Mojolicious (Perl)')).toMatch(/^Mojolicious keep_alive_timeout/m);
    expect(names(5, 'Mojolicious (Perl)')).not.toMatch(/Apache|Node.js http.Server/);
    expect(names(3600, 'TornadoServer/6.2')).toMatch(/Tornado idle_connection_timeout/);
    expect(names(120, 'waitress')).toMatch(/waitress channel_timeout/);
    expect(names(120, 'waitress')).not.toMatch(/Squid|IIS|Traffic Server proxy.config.http.keep_alive_no_activity_timeout_in/);
    expect(names(10, 'CherryPy/18.8.0')).toMatch(/CherryPy server.socket_timeout/);
    expect(serverProduct('waitress')?.idleSetting).toMatch(/cleanup_interval/);
  });

  test('5 s on Apache names Apache, not Node or lighttpd; client-side entries are kept', () => {
    expect(names(5, 'Apache/2.4.71 (Debian)')).toMatch(/Apache/);
    expect(names(5, 'Apache/2.4.71 (Debian)')).not.toMatch(/Node.js http.Server|lighttpd|Varnish/);
    expect(names(5, 'Apache/2.4.71 (Debian)')).toMatch(/HttpURLConnection/);
    expect(names(75, 'openresty/1.21')).toMatch(/nginx keepalive_timeout/);
  });

  // h2o's docs: `http1-request-timeout` (10 s by default) also closes an idle HTTP/1 keep-alive
  // connection; `http2-idle-timeout` (10 s) for HTTP/2 (blind round 15 stacks S8: h2o 2.2.5 set to 2
  // got every common server's setting but its own).
  test('h2o by its header: its http1-request-timeout, and 10 s is its default', () => {
    expect(serverProduct('h2o/2.2.5')?.idleSetting).toMatch(/h2o `http1-request-timeout` \(10 s by default/);
    const own = serverIdleSettings({ says: 'Server: h2o/2.2.5', software: 'h2o/2.2.5', fromVia: false });
    expect(own).toContain('http1-request-timeout');
    expect(own).not.toMatch(/nginx `keepalive_timeout`/);
    expect(names(10, 'h2o/2.2.5')).toMatch(/^h2o http1-request-timeout/m);
    expect(names(10, 'h2o/2.2.5')).not.toMatch(/CherryPy/);
  });

  test('products are told apart by the start of the value, not a word inside it', () => {
    expect(serverProduct('nginx')?.idleSetting).toMatch(/keepalive_timeout/);
    expect(serverProduct('Microsoft-IIS/10.0')?.idleSetting).toMatch(/connectionTimeout/);
    expect(serverProduct('ATS/9.2.9')?.idleSetting).toMatch(/keep_alive_no_activity_timeout_in/);
    expect(serverProduct('my-nginx-clone')).toBeNull();
    expect(serverProduct('nginxish')).toBeNull();
    expect(serverProduct(null)).toBeNull();
  });

  test('the remedy names the one setting when the product is known, every common one otherwise', () => {
    const known = serverIdleSettings({ says: 'Server: Caddy', software: 'Caddy', fromVia: false });
    expect(known).toMatch(/`Server: Caddy`: Caddy `servers \{ timeouts \{ idle \} \}`/);
    expect(known).toMatch(/unless a proxy in front of it passes that header on/);
    expect(known).not.toMatch(/nginx/);
    // Through a proxy that says so in Via: the proxy's setting, and no caveat about passed-on headers.
    const via = serverIdleSettings({ says: 'Via: 1.1 varnish (Varnish/7.1)', software: viaComment('1.1 varnish (Varnish/7.1)'), fromVia: true });
    expect(via).toMatch(/`Via: 1\.1 varnish \(Varnish\/7\.1\)`: Varnish `timeout_idle`/);
    expect(via).not.toMatch(/unless a proxy/);
    expect(serverProduct(viaComment('http/1.1 edge (ApacheTrafficServer/9.2.9 [uScMs f p eN:t cCMi p s ])'))?.idleSetting).toMatch(/keep_alive_no_activity_timeout_in/);
    expect(serverProduct(viaComment('1.1 vm (squid/5.7)'))?.idleSetting).toMatch(/client_idle_pconn_timeout/);
    expect(viaComment('1.1 corp-proxy')).toBeNull();
    for (const unknown of [null, { says: 'Server: Cowboy', software: 'Cowboy', fromVia: false }, { says: 'Via: 1.1 corp-proxy', software: null, fromVia: true }]) {
      const list = serverIdleSettings(unknown);
      expect(list).toMatch(/nginx `keepalive_timeout`/);
      expect(list).toMatch(/Apache `KeepAliveTimeout`/);
    }
  });
});

describe('nothing names the server (TLS, or no Server header): defaults are candidates, not matches', () => {
  const oneSecond = matchKnown(1.002, KNOWN_IDLE_TIMEOUTS, null).filter((k) => k.side === 'server');

  test('"matches" only where the responses named the product', () => {
    expect(knownDefaultsText(matchKnown(2.001, KNOWN_IDLE_TIMEOUTS, 'gunicorn/20.1.0').filter((k) => k.side === 'server'), 'gunicorn/20.1.0')).toBe(' (matches gunicorn --keep-alive (2 s default))');
    expect(knownDefaultsText(oneSecond, null)).toBe(
      " (Starman --keepalive-timeout (1 s default) has this default, but nothing in the capture names the server's software (TLS hides its Server header): any product set to this value fits)",
    );
    expect(knownDefaultsText(oneSecond, NO_SERVER_HEADER)).toMatch(/^ \(Starman .* has this default, but the responses name no server software: any product set to this value fits\)$/);
    expect(knownDefaultsText([], null)).toBe('');
  });

  test('the client settings for requests none of which could be read: the 14 common clients and proxy pools, each found in the whole list', () => {
    expect(UNREAD_CLIENT_IDLE_SETTING_LIST).toHaveLength(14); // an entry renamed in CLIENT_IDLE_SETTING_LIST would drop out silently
    expect(UNREAD_CLIENT_IDLE_SETTINGS.length).toBeLessThan(CLIENT_IDLE_SETTINGS.length * 0.7);
    expect(UNREAD_CLIENT_IDLE_SETTINGS).toMatch(/another client or proxy: its pool's own idle limit$/);
  });

  test('the idle settings for a server none of whose responses was read: the TLS terminators, HAProxy among them, in a short list', () => {
    const list = serverIdleSettings(null);
    expect(list).toContain('HAProxy `timeout http-keep-alive` (when unset, `timeout http-request`, then `timeout client`)');
    for (const setting of ['nginx `keepalive_timeout`', 'Envoy `common_http_protocol_options.idle_timeout`', 'Caddy `servers { timeouts { idle } }`', 'Apache `KeepAliveTimeout`', 'Node http.Server `keepAliveTimeout`', 'Go http.Server `IdleTimeout`']) {
      expect(list).toContain(setting);
    }
    expect(list.length).toBeLessThan(1000);
    // Named but unlisted: every common one still, HAProxy too (it passes its backend's Server header on).
    expect(serverIdleSettings({ says: 'Server: Cowboy', software: 'Cowboy', fromVia: false })).toContain('HAProxy `timeout http-keep-alive`');
  });

  test('answers with no Server header list the servers that send none, uWSGI among them (blind17 appservers s10: --socket-timeout 2 closed at 2.002 s)', () => {
    const list = serverIdleSettings(null, NO_SERVER_HEADER);
    expect(list).toContain('uWSGI: `--socket-timeout` for its `--http11-socket` (4 s by default)');
    expect(list).toContain('`--http-keepalive`');
    // Servers that always name themselves are no candidates there.
    expect(list).not.toMatch(/gunicorn|uvicorn|waitress/);
  });
});

describe('diagnoses on recorded servers name the software that answered', () => {
  const diagnosis = async (sample: string, kind: string) => {
    const r = await analyzeFiles([path.resolve(__dirname, '../../samples', sample)]);
    const found = r.diagnoses.filter((d) => d.kind === kind);
    expect(found.length).toBeGreaterThan(0);
    return found[0];
  };

  test('Puma: idle closes 0.2 s past a whole second, no Server header, no Keep-Alive hint, are linked to persistent_timeout (blind17 appservers s15: 2.205 s)', async () => {
    expect(pumaServerPattern(2.205, null, NO_SERVER_HEADER, 0.05)).toEqual({ persistentTimeout: 2 });
    expect(pumaServerPattern(20.21, null, NO_SERVER_HEADER, 0.4)).toEqual({ persistentTimeout: 20 });
    // Near misses: a Keep-Alive hint (Node, Tomcat), a Server header, a close off the pattern, nothing read (TLS).
    expect(pumaServerPattern(2.205, 2, NO_SERVER_HEADER, 0.05)).toBeNull();
    expect(pumaServerPattern(2.205, null, 'gunicorn', 0.05)).toBeNull();
    expect(pumaServerPattern(2.5, null, NO_SERVER_HEADER, 0.05)).toBeNull();
    expect(pumaServerPattern(2.205, null, null, 0.05)).toBeNull();
    for (const kind of ['keepalive-race', 'idle-timeout-mismatch']) {
      const d = await diagnosis('keepalive-race-puma-ruby.pcap', kind);
      expect(d.explanation).toContain('(= 2 s + 0.2 s: the pattern of Puma');
      expect(d.remedy).toContain('the closes fit Puma with `persistent_timeout` 2 s');
    }
    // A Go server (no Server header, no hint either) closing after 1 s is not Puma's.
    const go = await diagnosis('keepalive-race-go-server.pcap', 'keepalive-race');
    expect(go.explanation).not.toContain('the pattern of Puma');
  });

  test('nginx with keepalive_timeout 2s: nginx\'s setting, not gunicorn\'s 2 s default', async () => {
    const d = await diagnosis('keepalive-race-nginx.pcap', 'keepalive-race');
    expect(d.explanation).toContain('(Server: nginx/1.22.1) closes idle keep-alive connections after ~2.001 s,');
    expect(d.explanation).not.toMatch(/gunicorn/);
    expect(d.remedy).toContain('nginx `keepalive_timeout`');
    expect(d.remedy).not.toMatch(/Apache `KeepAliveTimeout`|Caddy `servers/);
  });

  test('gunicorn at its default: still matched', async () => {
    const d = await diagnosis('keepalive-race-gunicorn.pcap', 'idle-timeout-mismatch');
    expect(d.explanation).toMatch(/\(Server: gunicorn\) closed \d+ idle keep-alive connections .*matches gunicorn --keep-alive/);
    expect(d.remedy).toContain('gunicorn `--keep-alive`');
  });

  test('a server that sends no Server field, whose closes and hint fit Node (Caddy\'s Node backend, keepAliveTimeout 300 ms), gets Node\'s setting', async () => {
    const d = await diagnosis('keepalive-race-caddy.pcap', 'keepalive-race');
    expect(d.explanation).not.toContain('(Server:');
    expect(d.explanation).toContain('the pattern of a Node.js server with keepAliveTimeout 0.301 s');
    expect(d.remedy).toContain("fit Node's http.Server with `keepAliveTimeout` 0.301 s, which closes 1 s later");
    expect(d.remedy).not.toMatch(/nginx `keepalive_timeout`|Apache `KeepAliveTimeout`/);
  });

  test('a server whose answers were never read (TLS) gets the list of common settings', async () => {
    const d = await diagnosis('keepalive-race-tls-nginx.pcap', 'keepalive-race');
    expect(d.remedy).toMatch(/nginx `keepalive_timeout`.*Apache `KeepAliveTimeout`/);
  });

  test('Erlang inets httpd by its Server header: its keep_alive_timeout, in whole seconds', async () => {
    const d = await diagnosis('keepalive-race-inets.pcap', 'idle-timeout-mismatch');
    expect(d.remedy).toContain('its responses say `Server: inets/8.2.2`: Erlang inets httpd `keep_alive_timeout` (whole seconds, 150 s by default)');
  });

  test('webfs by its Server header: no setting, 5 s fixed; curl the command line tool by its agent, not libcurl', async () => {
    const d = await diagnosis('keepalive-race-webfs-curl.pcap', 'keepalive-race');
    expect(d.remedy).toContain('webfs: none (its idle time, `keepalive_time`, is 5 s fixed in webfsd.c');
    expect(d.remedy).toContain("their User-Agent says `curl/7.88.1`");
    expect(d.remedy).toContain("curl, the command line tool: no option for libcurl's `CURLOPT_MAXAGE_CONN`");
    expect(d.remedy).not.toContain('libcurl (PHP curl, pycurl)');
  });

  test('WEBrick by its Server header: its :RequestTimeout', async () => {
    const d = await diagnosis('keepalive-race-webrick.pcap', 'keepalive-race');
    expect(d.remedy).toContain('WEBrick `:RequestTimeout` (30 s by default');
    expect(d.remedy).not.toContain('nginx `keepalive_timeout`');
  });

  test("Python's http.server by its Server header (`BaseHTTP/0.6 Python/3.11.2`): its handler's `timeout`, not the list of every server (blind round 12, S1)", async () => {
    const d = await diagnosis('keepalive-race-python.pcap', 'keepalive-race');
    expect(d.remedy).toContain("Python http.server: the request handler's `timeout` class attribute");
    expect(d.remedy).not.toContain('nginx `keepalive_timeout`');
    expect(serverProduct('SimpleHTTP/0.6 Python/3.12.1')?.idleSetting).toMatch(/StreamRequestHandler\.timeout/);
    // aiohttp's server names Python too, but its own product.
    expect(serverProduct('Python/3.11 aiohttp/3.8.4')?.idleSetting).toMatch(/keepalive_timeout/);
  });
});

describe('proxyPoolIdleSetting: the pool idle setting of the proxy a Server header names', () => {
  test.each([
    ['nginx/1.22.1', 'nginx upstream: `keepalive_timeout`'],
    ['Apache/2.4.71 (Debian)', 'Apache mod_proxy'],
    ['ATS/9.2.9', 'Traffic Server'],
    // Traffic Server's Via comment (blind round 15 stacks S14: had been taken for Apache httpd's mod_proxy).
    ['ApacheTrafficServer/9.2.9 [c sSf ]', 'Traffic Server'],
    ['squid/5.7', 'Squid'],
    ['Caddy', 'Caddy'],
    ['h2o/2.2.5', 'h2o'],
  ])('%s → %s', (server, start) => {
    expect(proxyPoolIdleSetting(server)).toMatch(new RegExp(`^${start.replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}`));
  });

  test('a server that is no proxy of these names none', () => {
    expect(proxyPoolIdleSetting('gunicorn')).toBeNull();
    expect(proxyPoolIdleSetting('Werkzeug/3.0 Python/3.11')).toBeNull();
  });
});
