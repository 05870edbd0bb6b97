#!/usr/bin/env bash
# HAProxy's own idle timeout on its CLIENT leg, in front of nginx (blind round 16, pools S6): HAProxy
# 2.6 on 127.0.0.2:8090 (`timeout http-keep-alive 2s`) -> nginx on 127.0.0.3:8084 (keepalive_timeout
# 30s). HAProxy passes nginx's `Server` header on, written `server: nginx/...` in lower case as it
# writes every field name; nginx's 30 s never fires on the client leg. One Python http.client
# connection at a time from 127.0.0.5 (a one-connection pool that does not check for an arrived FIN
# before reuse) sends 8 requests with pauses of 0.3-2.3 s: after each 2.3 s pause HAProxy has closed
# the idle connection at 2 s, the request goes out on it anyway (a stale reuse: it ACKs the FIN) and
# HAProxy's kernel answers RST. The client then opens a new connection and, for a GET, sends the
# request again (as urllib3's Retry does). The capture holds both legs (ports 8090 and 8084).
# Writes samples/keepalive-race-haproxy-front-nginx.pcap and .meta.json (checked against the client's,
# HAProxy's and nginx's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require haproxy nginx python3 tcpdump ip

SCENARIO=keepalive-race-haproxy-front-nginx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
# method:pause-before-it (s); the three 2.3 s pauses outlast HAProxy's 2 s.
SPEC="GET:0,GET:0.5,GET:2.3,GET:1.0,POST:2.3,GET:0.3,GET:2.3,GET:1.5"

cc_netns_up ccpib-front
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format pib '\$msec \$remote_addr:\$remote_port "\$request" \$status \$connection_requests';
  access_log $WORK/nginx-access.log pib;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  keepalive_timeout 30s;
  server {
    listen 127.0.0.3:8084;
    default_type text/plain;
    location / { return 200 "ok\n"; }
  }
}
CONF
cc_bg nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8084
cat >"$WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  log-format "%Ts.%ms %ci:%cp %HM %HU %ST %tsc %bp"
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 2s
frontend fe
  bind 127.0.0.2:8090
  default_backend be
backend be
  server nginx 127.0.0.3:8084 source 127.0.0.2
CONF
cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
HAPROXY_PID="$CC_LAST_PID"
cc_wait_port 8090
mapfile -t SOFTWARE < <(haproxy -v | head -1 | cut -d' ' -f1-3; nginx -v 2>&1 | sed 's/.*: //'; python3 --version)

cat >"$WORK/client.py" <<'PY'
# One http.client connection at a time, reused whatever arrived on it (no FIN check); a request that
# fails on a reused connection is sent again on a new one if it is a GET. One JSON line per attempt.
import http.client, json, sys, time
spec = [(m, float(g)) for m, g in (x.split(':') for x in sys.argv[1].split(','))]
def connect():
    c = http.client.HTTPConnection('127.0.0.2', 8090, source_address=('127.0.0.5', 0), timeout=5)
    c.connect()
    return c
conn = connect()
t0 = time.time()
for i, (method, pause) in enumerate(spec, 1):
    time.sleep(pause)
    uri = f'/?i={i}&gap={int(pause * 1000)}'
    body = b'x=1' if method == 'POST' else None
    for attempt in (1, 2):
        port = conn.sock.getsockname()[1]
        at = round(time.time() - t0, 3)
        try:
            conn.request(method, uri, body=body)
            r = conn.getresponse()
            r.read()
            print(json.dumps({'i': i, 'method': method, 'uri': uri, 'attempt': attempt, 'port': port, 'at': at, 'status': r.status, 'server': r.getheader('server'), 'error': None}), flush=True)
            break
        except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine) as e:
            print(json.dumps({'i': i, 'method': method, 'uri': uri, 'attempt': attempt, 'port': port, 'at': at, 'status': None, 'error': type(e).__name__}), flush=True)
            conn.close()
            conn = connect()
            if method != 'GET':
                break
time.sleep(2.5)  # one more idle close by HAProxy, with nothing sent after it
PY
CLIENT_LOG="$WORK/client.log"
cc_capture_start "$OUT" "tcp port 8090 or tcp port 8084"
cc_in timeout 60 python3 "$WORK/client.py" "$SPEC" >"$CLIENT_LOG"
cc_capture_stop
kill -USR1 "$HAPROXY_PID" 2>/dev/null || true
kill -QUIT "$NGINX_PID" 2>/dev/null || true
wait "$HAPROXY_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

python3 - "$SCENARIO" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$WORK/haproxy.log" "$WORK/nginx-access.log" "$SPEC" "${SOFTWARE[@]}" <<'PY'
import json, sys
scenario, meta_path, client_log, haproxy_log, access_log, spec = sys.argv[1:7]
software = sys.argv[7:]
attempts = [json.loads(l) for l in open(client_log) if l.strip()]
failed = [a for a in attempts if a['error'] is not None]
resent = [a for a in attempts if a['attempt'] == 2]
haproxy = [l for l in open(haproxy_log).read().splitlines() if ' /?i=' in l]
access = open(access_log).read().splitlines()
served = [a for a in attempts if a['status'] == 200]
# Every raced request came after a pause above HAProxy's 2 s, none after a shorter one; the proxy
# logged only the answered ones, and nginx saw exactly those (it never saw a raced one).
assert failed and all(a['uri'].endswith('gap=2300') and a['attempt'] == 1 for a in failed), failed
assert len(haproxy) == len(served) == len(access), (haproxy, served, access)
assert all(a['server'].startswith('nginx/') for a in served), served
races = [{'method': a['method'], 'uri': a['uri'], 'clientPort': a['port'], 'clientError': a['error'],
          'resentOnPort': next((r['port'] for r in resent if r['i'] == a['i']), None)} for a in failed]
meta = {
  'scenario': scenario,
  'description': (
    "HAProxy 2.6 on 127.0.0.2:8090 (`timeout http-keep-alive 2s`, `timeout client 30s`) in front of nginx on 127.0.0.3:8084 (keepalive_timeout 30s); "
    "HAProxy passes nginx's Server header on as `server: nginx/...` (lower case, as it writes every field name). One Python http.client connection at a time "
    "from 127.0.0.5, reused without a check for an arrived FIN, sends " + str(len(spec.split(','))) + " requests with pauses of 0.3-2.3 s (" + spec + "): "
    "after each 2.3 s pause HAProxy has closed the idle connection at 2 s, the request goes out on it anyway (stale reuse) and HAProxy's kernel answers RST; "
    "the client opens a new connection and sends a GET again (not the POST). Both legs captured (8090 and 8084); nginx's 30 s never fires."),
  'software': software,
  'configured': {'serverIdleTimeout': 2.0, 'frontProxy': 'HAProxy timeout http-keep-alive 2s', 'backendKeepaliveTimeout': 30},
  'observed': {'clientAttempts': attempts, 'haproxyLog': haproxy, 'nginxAccess': access, 'races': races},
  'facts': {'front': '127.0.0.2:8090', 'backend': '127.0.0.3:8084', 'idleCloser': 'HAProxy (its client leg)',
            'serverHeader': served[0]['server'], 'failedRequests': len(failed), 'resentRequests': len(resent)},
  'silent': False,
  'expect': (
    [{'kind': 'keepalive-race', 'client': f"127.0.0.5:{r['clientPort']}", 'server': '127.0.0.2:8090',
      'notes': f"{r['method']} {r['uri']}: sent after HAProxy's idle FIN (2 s), RST; {'resent on 127.0.0.5:' + str(r['resentOnPort']) if r['resentOnPort'] else 'not resent'}. "
               "The idle timer is HAProxy's `timeout http-keep-alive`, not nginx's keepalive_timeout (the lower-case `server:` tells the proxy)."} for r in races]
    + [{'kind': 'retried-request', 'client': f"127.0.0.5:{r['resentOnPort']}", 'server': '127.0.0.2:8090',
        'notes': f"{r['method']} {r['uri']} sent again on a new connection after the race"} for r in races if r['resentOnPort']]
    + [{'kind': 'idle-timeout-mismatch', 'server': '127.0.0.2:8090',
        'notes': "HAProxy's 2 s idle closes against the client's reuses after 2.3 s"}]
  ),
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$WORK/haproxy.log"
