#!/usr/bin/python3
"""Daphne (Debian daphne / python3-daphne 4.0) exactly as /usr/bin/daphne runs it, with one Twisted log
observer added, for keepalive-race-daphne.sh: ground truth for Daphne's idle closes.

How Daphne 4.0 closes an idle keep-alive HTTP/1.1 connection: it does not itself. Its HTTPFactory
(daphne/http_protocol.py) calls twisted.web.http.HTTPFactory.__init__(self) with no timeout, so each
HTTPChannel gets Twisted's default timeOut, _REQUEST_TIMEOUT = 1 * 60 (60 s; Twisted 22.4
twisted/web/http.py). HTTPChannel is a TimeoutMixin: the timeout is set on connect, reset on data,
paused while a request is handled and set again when it is done (requestDone); on expiry
HTTPChannel.timeoutConnection logs "Timing out client: <peer>" and calls loseConnection (FIN). No
Daphne option changes it: -t/--http-timeout is how long the application may take to answer one request
(WebRequest.check_timeouts, every 2 s, 503 or finish), --ping-interval/--ping-timeout and
--websocket_timeout are for WebSockets. At verbosity 1 (the default) Daphne sends Twisted's log to
nowhere (globalLogBeginner.beginLoggingTo([lambda _: None])); the observer added here to
twisted.logger.globalLogPublisher still sees the events.

Usage: x21a-daphne-run.py --idle-log FILE --app-file PATH DAPHNE-ARGS...
         (e.g. --app-file programs/x20h-asgi-app.py -b 10.99.0.2 -p 8080 x21a_app:app)
The ASGI application file PATH is loaded as the module x21a_app (a file name with hyphens is not
importable by Daphne's module:instance argument).

FILE gets one JSON line per Twisted "Timing out client" event: {"t", "event": "idle-timeout",
"port", "peer"} (the format programs/x20h-meta.py --idle-log reads), and one "twisted-log" line for
each Twisted error. The application (e.g. programs/x20h-asgi-app.py) logs the requests.
"""
import importlib.util
import json
import re
import sys
import time

import daphne.server  # noqa: F401  (installs the asyncio reactor first, as Daphne's CLI does)
from daphne.cli import CommandLineInterface
from twisted.logger import globalLogPublisher

LOG = None


def observer(event):
    fmt = event.get('log_format') or ''
    if fmt.startswith('Timing out client') or fmt.startswith('Forcibly timing out client'):
        m = re.search(r'port=(\d+)', str(event.get('peer', '')))
        ev = 'idle-timeout' if fmt.startswith('Timing') else 'forced-abort'
        line = {'t': round(time.time(), 6), 'event': ev, 'port': int(m.group(1)) if m else None, 'peer': str(event.get('peer'))}
    elif event.get('log_failure') is not None or (event.get('log_level') is not None and event['log_level'].name in ('error', 'critical')):
        line = {'t': round(time.time(), 6), 'event': 'twisted-log', 'level': getattr(event.get('log_level'), 'name', None), 'text': fmt[:300]}
    else:
        return
    LOG.write(json.dumps(line) + '\n')
    LOG.flush()


def main():
    global LOG
    args = sys.argv[1:]
    if len(args) < 4 or args[0] != '--idle-log' or args[2] != '--app-file':
        sys.exit('usage: x21a-daphne-run.py --idle-log FILE --app-file PATH DAPHNE-ARGS...')
    LOG = open(args[1], 'a')
    spec = importlib.util.spec_from_file_location('x21a_app', args[3])
    mod = importlib.util.module_from_spec(spec)
    sys.modules['x21a_app'] = mod
    spec.loader.exec_module(mod)
    globalLogPublisher.addObserver(observer)
    sys.argv = ['daphne'] + args[4:]
    CommandLineInterface.entrypoint()


if __name__ == '__main__':
    main()
