"""Python requests client for response-truncated-server-time-limits.

Fetches its URLs one after the other with one requests.Session (keep-alive: a URL after a complete
response reuses the pooled connection), stream=True, reading each body to the end (--slow B:MS:
iter_content(B) with a pause of MS ms after each piece, a slow consumer). One JSON line per request
(--log): tag, url, local port (from the pooled connection's socket, taken before the body is read),
status, declared Content-Length, chunked, bytes read (the pieces iter_content handed over: when a
read fails, the bytes of that last, partial piece are not handed over), and the exception raised while reading (type
and text; e.g. requests.exceptions.ChunkedEncodingError wrapping urllib3's ProtocolError /
IncompleteRead), or none.
"""
import argparse
import json
import sys
import time

import requests
import urllib3


def local_port(resp):
    raw = resp.raw
    for get in (lambda: raw._connection.sock, lambda: raw._fp.fp.raw._sock):
        try:
            return get().getsockname()[1]
        except Exception:
            pass
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tag', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--slow', default=None)
    ap.add_argument('urls', nargs='+')
    a = ap.parse_args()
    step, pause = (None, 0.0)
    if a.slow:
        b, ms = a.slow.split(':')
        step, pause = int(b), int(ms) / 1000.0
    s = requests.Session()
    s.mount('http://', requests.adapters.HTTPAdapter(max_retries=0))
    for url in a.urls:
        m = {'tag': a.tag, 'client': 'requests', 'version': f'requests {requests.__version__} urllib3 {urllib3.__version__}',
             'url': url, 'readSize': step or 65536, 'tStart': time.time()}
        try:
            r = s.get(url, stream=True, timeout=20)
            m['localPort'] = local_port(r)
            m['status'] = r.status_code
            m['contentLength'] = int(r.headers['Content-Length']) if 'Content-Length' in r.headers else None
            m['chunked'] = r.headers.get('Transfer-Encoding', '').lower() == 'chunked'
            n = 0
            try:
                for piece in r.iter_content(step or 65536):
                    n += len(piece)
                    if pause:
                        time.sleep(pause)
            finally:
                m['bytes'] = n
                r.close()
        except Exception as e:  # noqa: BLE001 - logged as the ground truth
            m['exception'] = f'{type(e).__module__}.{type(e).__name__}'
            m['error'] = str(e)
        m['tEnd'] = time.time()
        with open(a.log, 'a') as f:
            f.write(json.dumps(m) + '\n')


if __name__ == '__main__':
    sys.exit(main())
