#!/usr/bin/env bash
# slowrace: slow clients against nginx, and an application's deliberate resets on a line protocol,
# neither of which is a keep-alive race (programs/fxs-slowrace-clients.py runs the five clients at once):
#   127.0.0.1:8080  nginx, client_header_timeout 2s, client_body_timeout 1.5s: a GET whose head is
#                   trickled 8 bytes every 0.4 s (never finished) and a POST whose body goes silent
#                   after 4 bytes; nginx closes each (FIN, no byte, 408 in its log) and the client
#                   sends on after the FIN, drawing a RST. conncheck must say slow-client-timeout,
#                   measured to the client's last byte before the FIN, and no keepalive-race.
#   127.0.0.1:7000  programs/fxs-line-server.py: answers each line, resets (SO_LINGER 0) on CRASH,
#                   has no idle timeout. CRASH after 1.0 s and after 2.0 s idle, reuses answered after
#                   1.0, 1.5 and 2.0 s: no keepalive-race.
# Ground truth: the clients' and the line server's JSON lines, nginx's access log. Bounded: the
# clients end within ~6 s, the line server after 15 s. Namespace fxs-slowrace-PID.
# Writes samples/slowrace.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-c.sh"
cc_require nginx python3 tcpdump tshark ip ss
SCENARIO=slowrace
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
WORK="$(mktemp -d)"

cc_netns_up "fxs-slowrace-$$"
mkdir -p "$WORK/logs" "$WORK/tmp"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log info;
events { worker_connections 64; }
http {
  access_log $WORK/logs/access.log;
  client_body_temp_path $WORK/tmp;
  client_header_timeout 2s;
  client_body_timeout 1500ms;
  server {
    listen 127.0.0.1:8080;
    location / { return 200 "ok\n"; }
    # nginx reads a body before proxying it (proxy_request_buffering on): the body timeout comes first.
    location /upload { proxy_pass http://127.0.0.1:9; }
  }
}
CONF
cc_bg nginx -c "$WORK/nginx.conf" -p "$WORK"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/fxs-line-server.py" --port 7000 --lifetime 15
cc_wait_port 8080
cc_wait_port 7000

cc_c_capture_start "$OUT" "tcp port 8080 or tcp port 7000"
cc_c_run 12 "$CC_C_PY" "$CC_C_PROGRAMS/fxs-slowrace-clients.py"
cc_c_capture_stop

cat "$WORK/logs/access.log" || true
"$CC_C_PY" "$CC_C_PROGRAMS/fxs-slowrace-meta.py" --capture "$OUT" --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --software "$(nginx -v 2>&1 | sed 's/^nginx version: //')" --software "python $(cc_c_py_version) line server (SO_LINGER 0 on CRASH)" \
  --software "python $(cc_c_py_version) socket clients"
rm -rf "$WORK"
