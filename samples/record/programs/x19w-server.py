#!/usr/bin/python3
"""WSGI servers for the x19w recorders (waitress, CherryPy/cheroot; Debian python3-waitress,
python3-cherrypy3), run with Debian's /usr/bin/python3, with their ground truth.

  x19w-server.py waitress --host H --port P --log FILE [--channel-timeout S] [--cleanup-interval S] [--threads N]
  x19w-server.py cherrypy --host H --port P --log FILE [--socket-timeout S] [--threads N]

The app (a WSGI callable for waitress, a native CherryPy handler mounted with cherrypy.tree.mount)
answers GET with 200 and POST with 201 (small JSON bodies with Content-Length). Every request
it sees is one JSON line in FILE (wall-clock t, the client's port, method, URI, status). Each idle
close the server makes is one line too, logged from inside the server's own idle-close code:
  waitress: HTTPServer.maintenance(now) (run at most every cleanup_interval s, from the asyncore loop's
    readable() check, i.e. on any socket event or at the latest every asyncore_loop_timeout = 1 s)
    marks each channel with no request in progress whose last_activity < now - channel_timeout
    (will_close); its handle_write then closes the socket (socket.close(), no shutdown()). Logged:
    {"event": "idle-close", "port", "lastActivity", "idle": now - last_activity, "tick": now}.
  cheroot: ConnectionManager._expire(threshold = now - server.timeout), run from its selector loop
    when more than expiration_interval (0.5 s) passed since the last check (select() times out after
    0.5 s), closes each idle keep-alive connection whose last_used (set when the worker put it back
    after the response) < threshold: HTTPConnection.close() = shutdown(SHUT_RDWR) (the FIN), then
    close(). Logged: {"event": "idle-close", "port", "lastUsed", "idle": now - last_used}.
"""
import argparse
import json
import sys
import threading
import time

LOCK = threading.Lock()
OUT = None


def log(ev):
    with LOCK:
        OUT.write(json.dumps(ev) + '\n')
        OUT.flush()


def peer_port(environ):
    try:
        return int(environ.get('REMOTE_PORT'))
    except (TypeError, ValueError):
        return None


def app(environ, start_response):
    method = environ['REQUEST_METHOD']
    body = b''
    if method == 'POST':
        n = int(environ.get('CONTENT_LENGTH') or 0)
        body = environ['wsgi.input'].read(n) if n else b''
    uri = environ.get('PATH_INFO', '') + ('?' + environ['QUERY_STRING'] if environ.get('QUERY_STRING') else '')
    status = 201 if method == 'POST' else 200
    log({'t': round(time.time(), 6), 'event': 'request', 'port': peer_port(environ), 'method': method, 'uri': uri,
         'bodyBytes': len(body), 'status': status})
    out = json.dumps({'ok': True, 'method': method, 'uri': uri, 'received': len(body)}).encode()
    start_response('201 Created' if status == 201 else '200 OK',
                   [('Content-Type', 'application/json'), ('Content-Length', str(len(out)))])
    return [out]


def run_waitress(a):
    import waitress
    from waitress import server as wserver

    orig = wserver.BaseWSGIServer.maintenance

    def maintenance(self, now):
        cutoff = now - self.adj.channel_timeout
        for ch in list(self.active_channels.values()):
            if (not ch.requests) and ch.last_activity < cutoff:
                try:
                    port = ch.addr[1]
                except Exception:
                    port = None
                log({'t': round(time.time(), 6), 'event': 'idle-close', 'port': port, 'lastActivity': round(ch.last_activity, 6),
                     'idle': round(now - ch.last_activity, 6), 'tick': round(now, 6)})
        return orig(self, now)

    wserver.BaseWSGIServer.maintenance = maintenance
    log({'t': round(time.time(), 6), 'event': 'start', 'server': 'waitress', 'channelTimeout': a.channel_timeout,
         'cleanupInterval': a.cleanup_interval})
    waitress.serve(app, host=a.host, port=a.port, threads=a.threads, channel_timeout=a.channel_timeout,
                   cleanup_interval=a.cleanup_interval, _quiet=True)


def run_cherrypy(a):
    import cherrypy
    from cheroot import connections

    orig = connections.ConnectionManager._expire

    def _expire(self, threshold):
        now = time.time()
        for _fd, conn in list(self._selector.connections):
            if conn is not self.server and conn.last_used < threshold:
                try:
                    port = conn.socket.getpeername()[1]
                except Exception:
                    port = None
                log({'t': round(now, 6), 'event': 'idle-close', 'port': port, 'lastUsed': round(conn.last_used, 6),
                     'idle': round(now - conn.last_used, 6), 'timeout': self.server.timeout})
        return orig(self, threshold)

    connections.ConnectionManager._expire = _expire
    cherrypy.config.update({
        'server.socket_host': a.host, 'server.socket_port': a.port, 'server.socket_timeout': a.socket_timeout,
        'server.thread_pool': a.threads, 'engine.autoreload.on': False, 'log.screen': False,
        'checker.on': False, 'environment': 'production',
    })
    class Root:
        # A native CherryPy handler (not a grafted WSGI app, whose responses would carry cheroot's
        # `Server: <socket_host>`): CherryPy's own responses say `Server: CherryPy/<version>`.
        @cherrypy.expose
        def default(self, *_args, **_kw):
            req = cherrypy.request
            body = req.body.read() if req.method == 'POST' else b''
            uri = req.path_info + ('?' + req.query_string if req.query_string else '')
            status = 201 if req.method == 'POST' else 200
            log({'t': round(time.time(), 6), 'event': 'request', 'port': req.remote.port, 'method': req.method, 'uri': uri,
                 'bodyBytes': len(body), 'status': status})
            cherrypy.response.status = status
            cherrypy.response.headers['Content-Type'] = 'application/json'
            return json.dumps({'ok': True, 'method': req.method, 'uri': uri, 'received': len(body)}).encode()

    cherrypy.tree.mount(Root(), '/')
    log({'t': round(time.time(), 6), 'event': 'start', 'server': 'cherrypy', 'socketTimeout': a.socket_timeout})
    cherrypy.engine.signals.subscribe()
    cherrypy.engine.start()
    cherrypy.engine.block()


def main():
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument('server', choices=['waitress', 'cherrypy'])
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--channel-timeout', type=int, default=120)
    ap.add_argument('--cleanup-interval', type=int, default=30)
    ap.add_argument('--socket-timeout', type=float, default=10)
    ap.add_argument('--threads', type=int, default=8)
    a = ap.parse_args()
    OUT = open(a.log, 'a')
    (run_waitress if a.server == 'waitress' else run_cherrypy)(a)


if __name__ == '__main__':
    sys.exit(main())
