#!/usr/bin/env bash
# healthy-h2c-nginx-idle-closes: HTTP/2 without TLS (h2c with prior knowledge) to nginx, which closes the
# connections the clients leave idle. nginx waits for the client's preface ("PRI * HTTP/2.0", whose first line
# parses as an HTTP/1.x request line), so the client speaks first here, unlike in http2-cleartext (Node's
# server sends its SETTINGS first). At keepalive_timeout 1.7s nginx sends GOAWAY (NO_ERROR) and FIN; a Node
# client answers the GOAWAY with frames of its own, which nginx's closed socket resets. Nothing fails.
# conncheck reads HTTP/1.x only: it must count the connections as HTTP/2 without TLS, take the preface for
# no exchange, and call nothing here a failure (the client's frames after the server's FIN are no request).
# On one namespace's loopback: nginx 1.22 (one process) `listen 127.0.0.1:8082 http2;` answering every
# request itself; clients, all at once: 3 Node 20 http2 sessions (programs/h2c-client.js --idle-ms 2600):
# 2 or 3 streams 150 ms apart, then idle until nginx closes; 1 Node session closed by the client before
# nginx's timeout (--idle-ms 600); curl --http2-prior-knowledge fetching one URL.
# Rerun: sudo bash samples/record/healthy-h2c-nginx-idle-closes.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-a.sh"
cc_require nginx node curl tcpdump tshark capinfos ip /usr/bin/python3

SCENARIO=healthy-h2c-nginx-idle-closes
port=8082
out="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-h2c-idle
ccb_workdir
WORK="$CCB_WORK"

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/nginx-access.log;
  keepalive_timeout 1700ms;
  default_type text/plain;
  server {
    listen 127.0.0.1:$port http2;
    location / { return 200 "ok\n"; }
  }
CONF
cc_bg nginx -p "$WORK" -c "$WORK/nginx.conf"
cc_wait_port "$port"
cc_capture_start "$out" "tcp port $port"
logs=()
for spec in "2 2600" "3 2600" "2 2600" "2 600"; do
  set -- $spec
  log="$WORK/client-${#logs[@]}.log"
  logs+=("$log")
  cc_bg node "$CC_A_PROGRAMS/h2c-client.js" --host 127.0.0.1 --port "$port" --requests "$1" --pause-ms 150 --idle-ms "$2" >"$log" 2>&1
done
client_pids=("${CC_PIDS[@]:1}")
# One URL: curl 7.88 reusing an h2c prior-knowledge connection to nginx fails ("Error in the HTTP2 framing layer").
cc_a_run 10 curl -sS --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$port/a"
for pid in "${client_pids[@]}"; do cc_a_wait_pid "$pid" 10; done
cc_capture_stop
for log in "${logs[@]}"; do
  if grep -q 'h2c-client:' "$log"; then cat "$log" >&2; echo "record: a client failed" >&2; exit 1; fi
done
# Three sessions were closed by nginx's idle timeout (a GOAWAY logged), the fourth by its client.
goaways="$(cat "${logs[@]}" | grep -c 'goaway from the server' || true)"
[ "$goaways" -ge 3 ] || { cat "${logs[@]}" >&2; echo "record: expected nginx's GOAWAY on 3 sessions, saw $goaways" >&2; exit 1; }

cc_a_meta "$out" '{
  "scenario": "healthy-h2c-nginx-idle-closes",
  "description": "HTTP/2 without TLS (h2c with prior knowledge: the client sends the PRI * HTTP/2.0 preface first, nginx waits for it) to nginx 1.22 at keepalive_timeout 1700ms. Three Node 20 http2 sessions send 2-3 streams 150 ms apart and stay idle: nginx sends GOAWAY and FIN 1.7 s after each last stream, the client answers with frames of its own, which nginx resets. A fourth session is closed by its client before the timeout; curl fetches one URL. Every stream is answered 200; nothing fails. conncheck reads HTTP/1.x only: the preface is no HTTP/1.x request, the frames after nginx closed are no request sent on a closed connection.",
  "software": ["nginx 1.22 (http2 without TLS)", "node v20 http2 client (h2c)", "curl --http2-prior-knowledge"],
  "configured": {"keepaliveTimeoutSeconds": 1.7, "sessionsIdleClosed": 3},
  "silent": true,
  "expectMode": "silent",
  "facts": {"connections": 5}
}'
