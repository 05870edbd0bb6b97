#!/usr/bin/python3
"""A tiny aiohttp web server for keepalive-race-aiohttp.sh (Debian python3-aiohttp 3.8):
web.run_app(app, host, port, keepalive_timeout=K) with one catch-all route: GET -> 200 text/plain
"ok <uri>", POST -> reads the body, 201 application/json. Nothing else is configured (HTTP/1.1
keep-alive is aiohttp's default; access log off).

How aiohttp 3.8 closes an idle keep-alive connection (aiohttp/web_protocol.py, RequestHandler): after
a response it sets _keepalive_time = loop.time(), and only if the connection has no keep-alive
handle yet (its first response) arms one: loop.call_at(now + keepalive_timeout, _process_keepalive).
_process_keepalive closes the connection (force_close: transport.close(), FIN) when the handler is
waiting for a request and loop.time() > _keepalive_time + keepalive_timeout; otherwise it re-arms
itself KEEPALIVE_RESCHEDULE_DELAY (1 s) later. So the timer is not restarted by later responses: on a
connection reused after its first response, the close comes at the first of its checks (its first
response + keepalive_timeout + k s) that finds it idle longer than keepalive_timeout: keepalive_timeout
to keepalive_timeout + 1 s after the last response, on a per-connection one-second tick.

This program wraps RequestHandler._process_keepalive (unchanged behaviour) to log each check: ground
truth for every idle close and for the tick.

Usage: x21a-aiohttp-server.py --host 10.99.0.2 --port 8080 --log FILE [--keepalive-timeout 2]

One JSON line per event in FILE (t: wall clock, epoch s), the format programs/x19l-meta.py and
x20h-meta.py read: "request" (the client's port, method, uri, status, body bytes) for each request
the handler answered; "idle-timeout" (the client's port and address, idle seconds since the last response by the
loop's clock, the check's number on that connection) when a keep-alive check closed the connection
(logged just before transport.close()); "keepalive-check" (port, idle seconds, whether the handler was
waiting for a request) for each check that did not close; "start" (versions, settings).
"""
import sys
import time

import aiohttp
from aiohttp import web, web_protocol

import event_log
from event_log import log


def peer_port(transport):
    if transport is None:
        return None
    peer = transport.get_extra_info('peername')
    return peer[1] if peer else None


def peer_text(transport):
    peer = transport.get_extra_info('peername') if transport is not None else None
    return f'{peer[0]}:{peer[1]}' if peer else None


_orig_process_keepalive = web_protocol.RequestHandler._process_keepalive
_checks = {}


def process_keepalive(self):
    """aiohttp's own _process_keepalive, called unchanged; logs what it decided."""
    if self._force_close or not self._keepalive:
        return _orig_process_keepalive(self)
    port, peer = peer_port(self.transport), peer_text(self.transport)
    idle = round(self._loop.time() - self._keepalive_time, 6)
    waiting = self._waiter is not None
    t = time.time()
    n = _checks[id(self)] = _checks.get(id(self), 0) + 1
    _orig_process_keepalive(self)
    if self._force_close:
        log(t=t, event='idle-timeout', port=port, peer=peer, idleSeconds=idle, check=n)
        _checks.pop(id(self), None)
    else:
        log(event='keepalive-check', port=port, idleSeconds=idle, waiting=waiting, check=n)


web_protocol.RequestHandler._process_keepalive = process_keepalive


async def handle(request):
    body = await request.read()
    uri = request.path_qs
    port = peer_port(request.transport)
    if request.method == 'POST':
        status, resp = 201, web.json_response({'ok': True, 'bytes': len(body)}, status=201)
    else:
        status, resp = 200, web.Response(text=f'ok {uri}\n')
    log(event='request', port=port, method=request.method, uri=uri, status=status, bodyBytes=len(body))
    return resp


def main():
    ap = event_log.server_arguments()
    ap.add_argument('--keepalive-timeout', type=float, default=2)
    a = ap.parse_args()
    event_log.open_log(a.log)
    app = web.Application()
    app.router.add_route('*', '/{tail:.*}', handle)
    log(event='start', aiohttp=aiohttp.__version__, python=sys.version.split()[0], keepaliveTimeout=a.keepalive_timeout,
        keepaliveRescheduleDelay=web_protocol.RequestHandler.KEEPALIVE_RESCHEDULE_DELAY)
    web.run_app(app, host=a.host, port=a.port, keepalive_timeout=a.keepalive_timeout, access_log=None, print=None)


if __name__ == '__main__':
    main()
