"""x30a-requests-client: the Python requests client of response-abandoned-client-timeouts (Debian's
/usr/bin/python3 with python3-requests 2.28 / urllib3 1.26; User-Agent python-requests/2.28.1).
One requests.Session (keep-alive), the URLs one after the other, each with timeout=(CONNECT, READ)
(1, 1.5 in the recording: READ is the longest wait for any one recv, i.e. a silence between bytes),
stream=True and iter_content(1024). One JSON line per request (--log, appended): tag, url, local port
(the urllib3 connection's socket, taken as the head arrives), status, declared length, bytes read, the
time of the last body bytes read, the exception's class and text, tStart, tEnd."""
import argparse
import json
import sys
import time

import requests
import urllib3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tag', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--connect-timeout', type=float, default=1.0)
    ap.add_argument('--read-timeout', type=float, default=1.5)
    ap.add_argument('urls', nargs='+')
    a = ap.parse_args()
    s = requests.Session()
    with open(a.log, 'a') as out:
        for url in a.urls:
            m = {'tag': a.tag, 'client': 'requests', 'version': f'requests {requests.__version__} urllib3 {urllib3.__version__}',
                 'url': url, 'tStart': time.time(), 'bytes': 0}
            r = None
            try:
                r = s.get(url, timeout=(a.connect_timeout, a.read_timeout), stream=True)
                m['status'] = r.status_code
                m['contentLength'] = r.headers.get('Content-Length')
                m['localPort'] = r.raw._connection.sock.getsockname()[1]
                for chunk in r.iter_content(1024):
                    m['bytes'] += len(chunk)
                    m['tLastBytes'] = time.time()
            except Exception as e:  # noqa: BLE001 - logged as the client saw it
                m['exception'] = f'{type(e).__module__}.{type(e).__name__}'
                m['error'] = str(e)
                ctx = e.__context__ or (e.args[0] if e.args else None)
                if isinstance(ctx, BaseException):
                    m['cause'] = f'{type(ctx).__module__}.{type(ctx).__name__}: {ctx}'
            finally:
                if r is not None:
                    r.close()
            m['tEnd'] = time.time()
            out.write(json.dumps(m) + '\n')
            out.flush()


if __name__ == '__main__':
    sys.exit(main())
