#!/usr/bin/env bash
# A response cut by nginx's send_timeout while a Python client did not read (blind round 15, s06b):
# nginx 1.22 (`send_timeout 2s`, reset_timedout_connection off, the default) on a namespace's
# loopback serves a 1,000,000-byte file; socket buffers capped at 32 KiB in the namespace. Two
# Python clients (SO_RCVBUF 8 KiB) each read ~100 kB of the body, then stop reading:
#   A  pauses 5 s: its receive window closes; after send_timeout nginx gives up ("client timed out
#      (110) while sending response to client") and closes; its kernel sends what the socket held
#      and the FIN only once A reads again: A reads to EOF short of the Content-Length (the request
#      failed; curl would say "transfer closed with N bytes remaining to read", 18);
#   B  pauses 1.5 s (under nginx's 2 s): the transfer resumes and completes (the near miss).
# Expected: zero-window-stall for both; A's an error (the response cut at N of 1000000 body bytes,
# nginx's send timer at most A's stall and longer than B's), B's a warning; no response-truncated
# (one finding for the event).
# Ground truth: the clients' own lines (bytes read, Content-Length, pause, EOF or complete), nginx's
# access log ($status $body_bytes_sent $request_completion $request_time) and error log.
# Captured with snaplen 400 (heads and TCP headers; the bodies stay out of the sample).
# Bounded: each client at most 20 s. Writes samples/zero-window-cut-nginx-python.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-c.sh"
cc_require nginx python3 tcpdump ip

SCENARIO=zero-window-cut-nginx-python
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
FILE_BYTES=1000000
SEND_TIMEOUT=2
PAUSE_A=5
PAUSE_B=1.5

cc_netns_up "cczw-cut"
ccb_workdir
WORK="$CCB_WORK"
# Small socket buffers (loopback's autotuned ones would hold the whole file, and nginx would finish
# writing before the client stopped reading).
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
  log_format zw '\$remote_addr:\$remote_port "\$request" \$status \$body_bytes_sent "\$request_completion" \$request_time';
  access_log $WORK/nginx-access.log zw;
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  send_timeout ${SEND_TIMEOUT}s;
  server {
    listen 127.0.0.1:8480;
    root $WORK/www;
  }
}
CONF
cc_bg nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID="$CC_LAST_PID"
cc_wait_port 8480
mapfile -t SOFTWARE < <(nginx -v 2>&1 | sed 's/.*: //'; python3 --version)

cat >"$WORK/slow-reader.py" <<'PY'
import socket, sys, time
name, pause = sys.argv[1], float(sys.argv[2])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
s.settimeout(20)
s.connect(('127.0.0.1', 8480))
port = s.getsockname()[1]
s.sendall(b'GET /big.bin HTTP/1.1\r\nHost: origin\r\nUser-Agent: slow-reader/1\r\n\r\n')
buf = b''
while b'\r\n\r\n' not in buf:
    x = s.recv(4096)
    if not x:
        break
    buf += x
head, _, body = buf.partition(b'\r\n\r\n')
length = next(int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:'))
got = len(body)
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
    while got < length:
        x = s.recv(65536)
        if not x:
            end = 'eof'
            break
        got += len(x)
    else:
        end = 'complete'
except OSError as e:
    end = type(e).__name__
print(f'zw-client {name} {port} {pause} {t_pause:.6f} {t_resume:.6f} {time.time():.6f} {got} {length} {end}', flush=True)
s.close()
PY

CLIENT_LOG="$WORK/client.log"
: >"$CLIENT_LOG"
cc_capture_start "$OUT" "tcp port 8480" -s 400
cc_in timeout 25 python3 "$WORK/slow-reader.py" A "$PAUSE_A" >>"$CLIENT_LOG"
sleep 0.3
cc_in timeout 25 python3 "$WORK/slow-reader.py" B "$PAUSE_B" >>"$CLIENT_LOG"
cc_capture_stop
kill -QUIT "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

python3 - "$SCENARIO" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CLIENT_LOG" "$WORK/nginx-access.log" "$WORK/nginx-error.log" "$FILE_BYTES" "$SEND_TIMEOUT" "$PAUSE_A" "$PAUSE_B" "${SOFTWARE[@]}" <<'PY'
import json, sys
scenario, meta_path, client_log, access_log, error_log, file_bytes, send_timeout, pause_a, pause_b = sys.argv[1:10]
software = sys.argv[10:]
file_bytes, send_timeout, pause_a, pause_b = int(file_bytes), float(send_timeout), float(pause_a), float(pause_b)
clients = {l.split()[1]: l.split() for l in open(client_log) if l.startswith('zw-client')}
access = [l.strip() for l in open(access_log) if l.strip()]
timed_out = [l.strip() for l in open(error_log) if 'timed out' in l]
a, b = clients['A'], clients['B']
# A: cut short by nginx's send timeout (EOF before the Content-Length); B: the whole body.
assert a[-1] == 'eof' and int(a[-3]) < int(a[-2]) == file_bytes, a
assert b[-1] == 'complete' and int(b[-3]) == file_bytes, b
assert len(access) == 2 and len(timed_out) == 1 and 'while sending response to client' in timed_out[0], (access, timed_out)
by_port = {l.split()[0].split(':')[1]: l.split() for l in access}
la, lb = by_port[a[2]], by_port[b[2]]
# nginx logs what it handed to the kernel: A's body_bytes_sent is what A read (the socket's bytes came after the window reopened).
assert la[-2] == '""' and int(la[-3]) == int(a[-3]), (la, a)
assert lb[-2] == '"OK"' and int(lb[-3]) == file_bytes, lb
meta = {
  'scenario': scenario,
  'description': (
    f'nginx (send_timeout {send_timeout:g} s, reset_timedout_connection off) on 127.0.0.1:8480 serving a {file_bytes}-byte file; two Python clients '
    f'(SO_RCVBUF 8 KiB; socket buffers capped at 32 KiB in the namespace) read ~100 kB of the body, then stop reading: A for {pause_a:g} s '
    '(nginx gives up at its send timeout and closes; its kernel sends the buffered bytes and the FIN once A reads again: EOF short of the Content-Length), '
    f'B for {pause_b:g} s (the transfer resumes and completes). Snaplen 400.'),
  'software': software,
  'configured': {'nginxSendTimeout': send_timeout, 'fileBytes': file_bytes, 'pauses': {'A': pause_a, 'B': pause_b}},
  'observed': {
    'clients': {k: {'port': int(v[2]), 'pausedAt': float(v[4]), 'resumedAt': float(v[5]), 'bodyBytes': int(v[7]), 'contentLength': int(v[8]), 'end': v[9]} for k, v in clients.items()},
    'nginxAccess': access,
    'nginxErrorTimedOut': [t.split(' [')[0] + ' ' + t[t.index('client timed out'):t.index(', client:')] for t in timed_out],
  },
  'facts': {'server': '127.0.0.1:8480', 'cut': {'client': f'127.0.0.1:{a[2]}', 'bodyBytes': int(a[7]), 'contentLength': int(a[8])}},
  'expect': [
    {'kind': 'zero-window-stall', 'client': f'127.0.0.1:{a[2]}', 'server': '127.0.0.1:8480',
     'notes': f"error: A stopped reading for {pause_a:g} s; nginx logged 'client timed out (110) while sending response to client' (send_timeout {send_timeout:g} s) and {la[-3]} body bytes, "
              f"status 200 without request_completion OK; its FIN came behind the window once A read again: the response cut at {a[7]} of {a[8]} body bytes (A: EOF)."},
    {'kind': 'zero-window-stall', 'client': f'127.0.0.1:{b[2]}', 'server': '127.0.0.1:8480',
     'notes': f'warning: B stopped reading for {pause_b:g} s, under send_timeout; the transfer resumed and completed ({b[7]} bytes, request_completion OK).'},
  ],
  'silent': False,
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
cat "$CLIENT_LOG"; cat "$WORK/nginx-access.log"; grep 'timed out' "$WORK/nginx-error.log" || true
