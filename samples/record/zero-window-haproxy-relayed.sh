#!/usr/bin/env bash
# A slow reader behind HAProxy, both legs (blind round 13b, S21): HAProxy 2.6 on 127.0.0.2:8390
# (mode http, `timeout client 2s`, `timeout server 10s`, source 127.0.0.2) in front of nginx 1.22 on
# 127.0.0.3:8380 serving a 600 kB file, socket buffers capped at 32 KiB in the
# namespace. Two Python clients (SO_RCVBUF 8 KiB) each read ~100 kB, then
# stop reading:
#   A  pauses 5 s: its receive window closes, HAProxy's buffers fill and it stops reading from nginx
#      (the backend leg's window closes too); after `timeout client` HAProxy gives up on the client
#      (its log: termination state cD--), the client reads what HAProxy's socket still held, then
#      EOF, a truncated body;
#   B  pauses 1.5 s (under HAProxy's 2 s): the transfer resumes and completes (the near miss: no
#      sender gave up; the backend leg's stall, if as long, is still the client's).
# Expected: zero-window-stall on both legs; the backend leg's (HAProxy reading from nginx) told as
# the client's stall passed down by the proxy (nginx not at fault); the front leg's sender gave up,
# HAProxy's `timeout client` named (the proxy forwarded the request upstream).
# Ground truth: the clients' own lines (bytes read, pause, EOF or complete), HAProxy's log
# (termination state, bytes), nginx's access log ($status $body_bytes_sent $request_completion).
# Captured with snaplen 400.
# Bounded: each client at most 20 s. Writes samples/zero-window-haproxy-relayed.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-c.sh"
source "$HERE/lib-x12.sh"
cc_require haproxy nginx python3 tcpdump ip

SCENARIO=zero-window-haproxy-relayed
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
FILE_BYTES=600000
CLIENT_TIMEOUT=2

cc_netns_up "cczw-hap"
ccb_workdir
WORK="$CCB_WORK"
# Small socket buffers in the namespace (loopback's autotuned ones would hold the whole file, and
# HAProxy would finish writing before any client stopped reading).
cc_c_sysctl "net.ipv4.tcp_wmem=4096 16384 32768" "net.ipv4.tcp_rmem=4096 16384 32768"
mkdir -p "$WORK/tmp" "$WORK/www"
head -c "$FILE_BYTES" /dev/zero | tr '\0' 'x' >"$WORK/www/big.bin"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format zw '\$remote_addr:\$remote_port "\$request" \$status \$body_bytes_sent \$request_completion';
  access_log $WORK/nginx-access.log zw;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  server {
    listen 127.0.0.3:8380;
    root $WORK/www;
  }
}
CONF
cc_bg nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8380
x12_haproxy_start "$CC_NS" 127.0.0.2:8390 "server s1 127.0.0.3:8380 source 127.0.0.2" "  timeout connect 2s
  timeout server 10s
  timeout client ${CLIENT_TIMEOUT}s"
mapfile -t SOFTWARE < <(haproxy -v | head -1 | cut -d' ' -f1-3; nginx -v 2>&1 | sed 's/.*: //'; python3 --version)

cat >"$WORK/slow-reader.py" <<'PY'
import socket, sys, time
name, pause = sys.argv[1], float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.settimeout(20)
s.connect(('127.0.0.2', 8390))
port = s.getsockname()[1]
s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: origin\r\nUser-Agent: slow-reader/1\r\n\r\n')
got = 0
while got < 100000:
    x = s.recv(4096)
    if not x:
        break
    got += len(x)
t_pause = time.time()
time.sleep(pause)
t_resume = time.time()
end = 'timeout'
try:
    while True:
        x = s.recv(65536)
        if not x:
            end = 'eof'
            break
        got += len(x)
except OSError as e:
    end = type(e).__name__
print(f'zw-client {name} {port} {pause} {t_pause:.6f} {t_resume:.6f} {time.time():.6f} {got} {end}', flush=True)
s.close()
PY

CLIENT_LOG="$WORK/client.log"
: >"$CLIENT_LOG"
# Headers and the first bytes of each segment (snaplen 400): the bodies stay out of the sample.
cc_capture_start "$OUT" "tcp port 8390 or tcp port 8380" -s 400
cc_in timeout 25 python3 "$WORK/slow-reader.py" A 5 >>"$CLIENT_LOG"
sleep 0.3
cc_in timeout 25 python3 "$WORK/slow-reader.py" B 1.5 >>"$CLIENT_LOG"
cc_capture_stop
x12_haproxy_stop
kill -QUIT "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

python3 - "$SCENARIO" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$WORK/nginx-access.log" "$WORK/haproxy.log" "$FILE_BYTES" "$CLIENT_TIMEOUT" "${SOFTWARE[@]}" <<'PY'
import json, sys
scenario, meta_path, client_log, access_log, haproxy_log, file_bytes, client_timeout = sys.argv[1:8]
software = sys.argv[8:]
file_bytes, client_timeout = int(file_bytes), float(client_timeout)
clients = {l.split()[1]: l.split() for l in open(client_log) if l.startswith('zw-client')}
haproxy = [l.strip() for l in open(haproxy_log) if 'GET /big.bin' in l]
access = [l.strip() for l in open(access_log) if l.strip()]
a, b = clients['A'], clients['B']
# A: cut short by HAProxy (EOF before the whole body); B: whole body.
assert a[-1] == 'eof' and int(a[-2]) < file_bytes, a
assert b[-1] == 'eof' or int(b[-2]) >= file_bytes, b
assert len(haproxy) == 2, haproxy
# X12 log format: ... %tsc (termination state) is the 7th field; HAProxy's give-up on the client is cD--.
states = [h.split()[6] for h in haproxy]
assert states[0].startswith('cD'), states
meta = {
  'scenario': scenario,
  'description': (
    f'HAProxy (timeout client {client_timeout:g} s) on 127.0.0.2:8390 in front of nginx on 127.0.0.3:8380 serving a {file_bytes}-byte file; two Python clients '
    '(SO_RCVBUF 8 KiB; socket buffers capped at 32 KiB in the namespace) read ~100 kB, then stop reading: A for 5 s (HAProxy gives up on it: cD--, the body cut short), B for 1.5 s (the transfer resumes and '
    'completes). Both legs captured (snaplen 400): when the client stops reading, HAProxy stops reading from nginx.'),
  'software': software,
  'configured': {'haproxyTimeoutClient': client_timeout, 'fileBytes': file_bytes, 'pauses': {'A': 5, 'B': 1.5}},
  'observed': {'clients': {k: {'port': int(v[2]), 'bytes': int(v[7]), 'end': v[8]} for k, v in clients.items()}, 'haproxyLog': haproxy, 'nginxAccess': access},
  'facts': {'proxy': '127.0.0.2:8390', 'backend': '127.0.0.3:8380', 'haproxyTermination': states},
  'expect': [
    {'kind': 'zero-window-stall', 'server': '127.0.0.2:8390',
     'notes': f"client A (port {a[2]}) stopped reading for 5 s: HAProxy gave up after timeout client ({states[0]}) and its FIN came behind the window once A read again; "
              "HAProxy's `timeout client` is named (it forwarded the request upstream). Client B (port " + b[2] + ') stalled 1.5 s and completed.'},
    {'kind': 'zero-window-stall', 'server': '127.0.0.3:8380',
     'notes': "HAProxy's own reads from nginx stalled while its clients did not read: told as the clients' stalls passed down, nginx not at fault."},
  ],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$WORK/haproxy.log" | grep big.bin || true
