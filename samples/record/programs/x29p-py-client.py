"""x29p Python client: GETs a list of paths one after the other on one keep-alive connection, with
requests (a Session) or http.client (one HTTPConnection), and logs per request one JSON line: local
port, status, framing (Content-Length or chunked), body bytes received, and the exception raised
(class and message) if any. Stops after the first exception. Used by response-truncated-proxy-stall.sh.
  python3 x29p-py-client.py --lib requests --base http://127.0.0.2:8080 --tag p1 --paths /ok,/stall-chunked --log FILE
"""
import argparse
import http.client
import json
import time
import urllib.parse


def sock_port(sock):
    try:
        return sock.getsockname()[1]
    except Exception:
        return None


def run_requests(a, paths, gaps, log):
    import requests
    s = requests.Session()
    for i, path in enumerate(paths):
        rid = f'{a.tag}-{i + 1}'
        rec = {'tag': a.tag, 'client': 'python-requests', 'i': i + 1, 'path': path, 'id': rid, 'tStart': time.time()}
        ok = True
        try:
            r = s.get(f'{a.base}{path}?id={rid}', stream=True, timeout=15)
            rec['status'] = r.status_code
            rec['declared'] = int(r.headers['Content-Length']) if 'Content-Length' in r.headers else None
            rec['chunked'] = 'chunked' in r.headers.get('Transfer-Encoding', '').lower()
            # the socket under urllib3's response (http.client.HTTPResponse.fp is the socket's file)
            try:
                rec['localPort'] = sock_port(r.raw._fp.fp.raw._sock)
            except Exception:
                rec['localPort'] = None
            rec['received'] = 0
            try:
                for chunk in r.iter_content(4096):
                    rec['received'] += len(chunk)
            except Exception as e:
                rec['exception'] = {'class': f'{type(e).__module__}.{type(e).__name__}', 'message': str(e)}
                ok = False
        except Exception as e:
            rec['exception'] = {'class': f'{type(e).__module__}.{type(e).__name__}', 'message': str(e)}
            ok = False
        rec['tEnd'] = time.time()
        rec['complete'] = ok and (rec.get('declared') is None or rec.get('received') == rec.get('declared'))
        log(rec)
        if not ok:
            break
        if i + 1 < len(paths):
            time.sleep(gaps[i] if i < len(gaps) else 0.2)


def run_httpclient(a, paths, gaps, log):
    u = urllib.parse.urlsplit(a.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    for i, path in enumerate(paths):
        rid = f'{a.tag}-{i + 1}'
        rec = {'tag': a.tag, 'client': 'python-http.client', 'i': i + 1, 'path': path, 'id': rid, 'tStart': time.time()}
        ok = True
        try:
            conn.request('GET', f'{path}?id={rid}')
            rec['localPort'] = sock_port(conn.sock)
            resp = conn.getresponse()
            rec['status'] = resp.status
            cl = resp.getheader('Content-Length')
            rec['declared'] = int(cl) if cl is not None else None
            rec['chunked'] = 'chunked' in (resp.getheader('Transfer-Encoding') or '').lower()
            body = resp.read()
            rec['received'] = len(body)
        except Exception as e:
            rec['exception'] = {'class': f'{type(e).__module__}.{type(e).__name__}', 'message': str(e)}
            if isinstance(e, http.client.IncompleteRead):
                rec['received'] = len(e.partial)
            ok = False
        rec['tEnd'] = time.time()
        rec['complete'] = ok
        log(rec)
        if not ok:
            break
        if i + 1 < len(paths):
            time.sleep(gaps[i] if i < len(gaps) else 0.2)
    conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--lib', choices=['requests', 'httpclient'], required=True)
    ap.add_argument('--base', required=True)
    ap.add_argument('--tag', required=True)
    ap.add_argument('--paths', required=True)
    ap.add_argument('--gaps-ms', default='')
    ap.add_argument('--log', required=True)
    a = ap.parse_args()
    paths = a.paths.split(',')
    gaps = [int(g) / 1000 for g in a.gaps_ms.split(',') if g]

    def log(rec):
        with open(a.log, 'a') as f:
            f.write(json.dumps(rec) + '\n')

    (run_requests if a.lib == 'requests' else run_httpclient)(a, paths, gaps, log)


if __name__ == '__main__':
    main()
