#!/usr/bin/python3
"""A tiny Twisted Web server for keepalive-race-twisted.sh (Debian python3-twisted):
twisted.web.server.Site(resource, timeout=TIMEOUT) on the default reactor, serving one leaf resource:
GET -> 200 text/plain "ok <uri>", POST -> 201 application/json (Twisted reads the body into
request.content before render). Nothing else is configured: HTTP/1.1 keep-alive is Twisted's
default, and the Site's timeout (twisted.web.http.HTTPFactory timeout, 60 s by default (_REQUEST_TIMEOUT = 1 * 60)) is
the idle timeout of its HTTPChannel (a TimeoutMixin): paused while a request is handled, restarted
when the request is done (HTTPChannel.requestDone), and on expiry timeoutConnection logs "Timing out
client: <peer>" and calls loseConnection (FIN).

Usage: x20h-twisted-server.py --host 10.99.0.2 --port 8080 --log FILE [--timeout 2]

One JSON line per event in FILE (t: wall clock, epoch s), the format programs/x19l-meta.py reads:
"request" (the client's port, method, uri, status, body bytes) for each request the resource
rendered, "idle-timeout" (the client's port) for each of Twisted's own "Timing out client" log
events, and "start" (versions, reactor, timeout).
"""
import json
import re
import sys

import twisted
from twisted.internet import reactor
from twisted.logger import globalLogBeginner
from twisted.web import resource, server

import event_log
from event_log import log


class Leaf(resource.Resource):
    isLeaf = True

    def render(self, request):
        method = request.method.decode()
        uri = request.uri.decode('latin-1')
        body = request.content.read() if request.content is not None else b''
        if method == 'POST':
            status, ctype, out = 201, b'application/json', json.dumps({'ok': True, 'bytes': len(body)}).encode() + b'\n'
        else:
            status, ctype, out = 200, b'text/plain', f'ok {uri}\n'.encode()
        log(event='request', port=request.getClientAddress().port, method=method, uri=uri, status=status, bodyBytes=len(body))
        request.setResponseCode(status)
        request.setHeader(b'content-type', ctype)
        request.setHeader(b'content-length', str(len(out)).encode())
        return out


def observer(event):
    fmt = event.get('log_format') or ''
    if fmt.startswith('Timing out client'):
        m = re.search(r'port=(\d+)', str(event.get('peer', '')))
        log(event='idle-timeout', port=int(m.group(1)) if m else None, peer=str(event.get('peer')))
    elif event.get('log_failure') is not None or event.get('log_level') is not None and event['log_level'].name in ('error', 'critical'):
        log(event='twisted-log', level=event['log_level'].name, text=fmt[:300])


def main():
    ap = event_log.server_arguments()
    ap.add_argument('--timeout', type=float, default=2)
    a = ap.parse_args()
    event_log.open_log(a.log)
    globalLogBeginner.beginLoggingTo([observer], redirectStandardIO=False)
    site = server.Site(Leaf(), timeout=a.timeout)
    reactor.listenTCP(a.port, site, interface=a.host)
    log(event='start', twisted=twisted.__version__, reactor=type(reactor).__name__, timeout=site.timeOut,
        python=sys.version.split()[0])
    reactor.run()


if __name__ == '__main__':
    main()
