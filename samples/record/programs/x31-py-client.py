"""x31 Python client (http.client, stdlib): GETs a list of targets one after the other on one keep-alive
HTTPConnection (socket timeout --timeout, 10 s: longer than the proxies' 2 s timers), and logs per request
one JSON line: url, id, local port, status, Content-Length, body bytes received, complete, and the
exception (class, message) if any. Stops after the first exception. Used by proxy-uri-rewrite.sh.
  python3 x31-py-client.py --base http://127.0.0.2:8080 --tag pn1 --targets '/api/ok?id=pn1-1,/api/ok?id=pn1-2' \
      --gaps-ms 300 --log FILE
"""
import argparse
import http.client
import json
import time
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base', required=True)
    ap.add_argument('--tag', required=True)
    ap.add_argument('--targets', required=True, help='comma-separated request targets (path?query)')
    ap.add_argument('--gaps-ms', default='')
    ap.add_argument('--timeout', type=float, default=10)
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    targets = a.targets.split(',')
    gaps = [int(x) / 1000 for x in a.gaps_ms.split(',') if x]
    u = urllib.parse.urlsplit(a.base)
    prefix = u.path.rstrip('/')  # http://127.0.0.2:8080/api: the targets go out as /api/...
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=a.timeout)
    out = open(a.log, 'a')
    for i, target in enumerate(targets):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))
        rec = {'tag': a.tag, 'client': 'python-http.client', 'url': a.base + target, 'id': q.get('id'),
               'tStart': time.time()}
        ok = True
        try:
            conn.request('GET', prefix + target)
            rec['localPort'] = conn.sock.getsockname()[1]
            r = conn.getresponse()
            rec['status'] = r.status
            cl = r.getheader('Content-Length')
            rec['declared'] = int(cl) if cl is not None else None
            rec['received'] = 0
            try:
                # read() (no size) raises IncompleteRead when the connection ends before Content-Length
                try:
                    rec['received'] = len(r.read())
                except http.client.IncompleteRead as e:
                    rec['received'] = len(e.partial)
                    raise
            except Exception as e:
                rec['exception'] = {'class': f'{type(e).__module__}.{type(e).__name__}', 'message': str(e) or repr(e)}
                ok = False
        except Exception as e:
            rec['exception'] = {'class': f'{type(e).__module__}.{type(e).__name__}', 'message': str(e) or repr(e)}
            ok = False
        rec['tEnd'] = time.time()
        rec['complete'] = ok and rec.get('status') == 200 and rec.get('received') == rec.get('declared')
        out.write(json.dumps(rec) + '\n')
        out.flush()
        if not ok:
            break
        if i + 1 < len(targets):
            time.sleep(gaps[i] if i < len(gaps) else 0.2)
    conn.close()


if __name__ == '__main__':
    main()
