"""x32-requests-client: the Python requests client of the x32 recorders (Debian's /usr/bin/python3 with
python3-requests 2.28 / urllib3 1.26; User-Agent python-requests/2.28.1), over TLS with verify=False
(the recorders' throwaway self-signed certificates). urllib3 offers ALPN http/1.1 only.

--plan JSON: a list of sessions, one after the other:
  [{"urls": [...], "timeout": [CONNECT, READ], "idleAfter": SECONDS}]
Each session is a new requests.Session (so a new connection pool: a fresh TCP+TLS connection, no TLS
session resumed); its URLs go one after the other and reuse the connection while it stays open
(GET /ok, then GET /slow on the same connection). On a timeout requests raises (ReadTimeout) and urllib3
closes the connection. After the last URL the session sleeps idleAfter seconds (if given) and is closed
(session.close(): the pooled connection is closed).
One JSON line per request and per session (--log, appended): the local port of every connection the
request opened (urllib3's new connection, taken when it is made) or of the reused one, status, bytes, TLS
version, the exception's class and text, tStart, tEnd; sessions: tIdleFrom, tCloseCalled, tClosed.
"""
import argparse
import json
import sys
import time

import requests
import urllib3
import urllib3.connection

NEW_PORTS = []
_orig_new_conn = urllib3.connection.HTTPConnection._new_conn


def _new_conn(self):
    sock = _orig_new_conn(self)
    NEW_PORTS.append(sock.getsockname()[1])
    return sock


urllib3.connection.HTTPConnection._new_conn = _new_conn
urllib3.disable_warnings()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tag', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--plan', required=True)
    a = ap.parse_args()
    plan = json.loads(a.plan)
    version = f'requests {requests.__version__} urllib3 {urllib3.__version__}'
    with open(a.log, 'a') as out:
        for sess in plan:
            s = requests.Session()
            last_port = None
            for url in sess['urls']:
                NEW_PORTS.clear()
                m = {'tag': a.tag, 'kind': 'request', 'client': 'requests', 'version': version, 'url': url,
                     'timeout': sess.get('timeout'), 'tStart': time.time(), 'bytes': 0}
                r = None
                try:
                    r = s.get(url, timeout=tuple(sess.get('timeout', (5, 5))), verify=False, stream=True)
                    m['status'] = r.status_code
                    sock = r.raw._connection.sock
                    m['tlsVersion'] = sock.version()
                    m['alpn'] = sock.selected_alpn_protocol()
                    m['bytes'] = len(r.content)
                    m['tHead'] = time.time()
                except Exception as e:  # noqa: BLE001 - logged as the client saw it
                    m['exception'] = f'{type(e).__module__}.{type(e).__name__}'
                    m['error'] = str(e)
                finally:
                    if r is not None:
                        r.close()
                m['tEnd'] = time.time()
                m['newConnectionPorts'] = list(NEW_PORTS)
                m['reused'] = not NEW_PORTS
                m['localPort'] = NEW_PORTS[-1] if NEW_PORTS else last_port
                last_port = m['localPort']
                out.write(json.dumps(m) + '\n')
                out.flush()
            sm = {'tag': a.tag, 'kind': 'session', 'localPort': last_port, 'tIdleFrom': time.time()}
            if sess.get('idleAfter'):
                time.sleep(sess['idleAfter'])
            sm['tCloseCalled'] = time.time()
            s.close()
            sm['tClosed'] = time.time()
            out.write(json.dumps(sm) + '\n')
            out.flush()


if __name__ == '__main__':
    sys.exit(main())
