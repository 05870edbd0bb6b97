#!/usr/bin/python3
"""The Tornado server of the x19t recorders; run with Debian's /usr/bin/python3 (python3-tornado
6.2). One tornado.httpserver.HTTPServer on ADDR:PORT with idle_connection_timeout=SECONDS
(Tornado's keep-alive idle close: HTTP1Connection waits for the next request's headers at most
that long (HTTP1ConnectionParameters.header_timeout), then closes the socket: a full close, FIN),
one application: GET or POST /anything answers 200 with {"client":"IP:PORT","method":...,"uri":...}
(the client address it saw, so the client logs can name the connection that answered).

One JSON object per line to LOG (epoch seconds): started (versions), open (a connection accepted),
request (one that reached the handler), idle-close (HTTP1Connection.close called from its header
wait: the idle timeout fired), close (the server closed the socket; after the idle close, or when
the client closed its side).

Usage: x19t-tornado-server.py ADDR PORT IDLE_SECONDS LOG
"""
import json
import sys
import time

import tornado
import tornado.http1connection
import tornado.httpserver
import tornado.ioloop
import tornado.web

addr, port, idle, log_path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
out = open(log_path, 'a', buffering=1)


def log(event, **kw):
    out.write(json.dumps({'t': round(time.time(), 6), 'lib': 'tornado', 'event': event, **kw}) + '\n')


def peer(stream):
    try:
        a = stream.socket.getpeername()
        return f'{a[0]}:{a[1]}'
    except Exception:
        return None


# Which close is the idle timeout's: HTTP1Connection.close() called from _read_message, the
# header wait that idle_connection_timeout bounds (Tornado 6.2, http1connection.py).
_close = tornado.http1connection.HTTP1Connection.close


def close(self):
    if sys._getframe(1).f_code.co_name == '_read_message' and self.stream is not None:
        log('idle-close', remote=getattr(self.stream, 'x19t_peer', None), timeout=idle)
    return _close(self)


tornado.http1connection.HTTP1Connection.close = close


class Server(tornado.httpserver.HTTPServer):
    def handle_stream(self, stream, address):
        stream.x19t_peer = f'{address[0]}:{address[1]}'
        log('open', remote=stream.x19t_peer)
        orig = stream.close

        def closing(exc_info=False):
            if not stream.closed():
                log('close', remote=stream.x19t_peer)
            return orig(exc_info)

        stream.close = closing
        return super().handle_stream(stream, address)


class Echo(tornado.web.RequestHandler):
    def answer(self):
        remote = getattr(self.request.connection.stream, 'x19t_peer', None)
        log('request', remote=remote, method=self.request.method, uri=self.request.uri)
        self.set_header('Content-Type', 'application/json')
        self.finish(json.dumps({'client': remote, 'method': self.request.method, 'uri': self.request.uri}))

    def get(self, _):
        self.answer()

    def post(self, _):
        self.answer()


app = tornado.web.Application([(r'/(.*)', Echo)])
server = Server(app, idle_connection_timeout=idle)
server.listen(port, address=addr)
log('started', tornado=tornado.version, python=sys.version.split()[0], idleConnectionTimeout=idle)
loop = tornado.ioloop.IOLoop.current()
loop.call_later(110, loop.stop)   # bounded: the recorder ends it long before
loop.start()
