#!/usr/bin/env bash
# proxy-uri-rewrite: proxies that REWRITE the request target, in the failure scenes conncheck knows
# without rewriting, both legs of every request captured. On one namespace's loopback (ccx31):
# nginx 1.22 on 127.0.0.2:8080 strips a prefix (location /api/ { proxy_pass http://backend/; }: the
# client's /api/x?y reaches the backend as /x?y; upstream keepalive 4, proxy_http_version 1.1,
# proxy_buffering off, proxy_read_timeout 2s, proxy_bind 127.0.0.2) and HAProxy 2.6 on 127.0.0.2:8081
# adds one (http-request set-path /v1%[path]: /x?y reaches the backend as /v1/x?y; timeout server 2s,
# option http-keep-alive, source 127.0.0.2), both in front of programs/x31-backend.py (Python stdlib
# sockets) on 127.0.0.3:9001. Clients from 127.0.0.1: curl 7.88 and Python http.client
# (programs/x31-py-client.py); every target carries id=TAG-N, which both rewrites keep.
# Scenes, each through both proxies:
#   1. gateway timeout: /slow-head?ms=4000 (the head after 4 s): each proxy answers 504 at 2 s and
#      closes its upstream leg (3 per proxy: curl after /ok on one connection, curl alone, http.client
#      then /ok on the same connection after the 504);
#   2. a body stalled 4 s after 6000 of 24000 bytes (/stall-body?first=6000&stall=4000): each proxy
#      cuts the client's response at its 2 s read timeout and closes the upstream leg (3 per proxy);
#   3. curl --max-time 2 on a slow flowing body (/flow: 1 KB every 300 ms, 17 KB, ~5 s): the client
#      gives up mid-body, the proxy closes its upstream leg after it (3 per proxy);
#   4. healthy keep-alive connections (curl, http.client) whose responses complete.
# Ground truth: curl's -w '%{json}' and exit codes, http.client's log, the backend's log (the target as it
# arrived, the peer, peer-closed / write-error), nginx's JSON access log and error log, HAProxy's log
# (termination state, backend source port, the rewritten path). programs/x31-meta.py checks them against
# the capture (tshark) and writes samples/proxy-uri-rewrite.pcap and .meta.json, or refuses (at most 3
# attempts). One attempt takes ~20 s.
# Environment: X31_DEBUG_DIR (copy each attempt's capture, logs and configs there), X31_SKIP_META (stop
# after the first attempt, nothing written), X31_NETNS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx haproxy curl tcpdump tshark ip bc /usr/bin/python3

SCENARIO=proxy-uri-rewrite
cc_netns_up "${X31_NETNS:-ccx31}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$CCB_PROGRAMS"
NGINX_PID=""
HAPROXY_PID=""
BACKEND_PID=""
CLIENTS=()

stop_servers() {
  [ -n "$NGINX_PID" ] && ccb_stop "$NGINX_PID" QUIT
  NGINX_PID=""
  [ -n "$HAPROXY_PID" ] && ccb_stop "$HAPROXY_PID" TERM
  HAPROXY_PID=""
  [ -n "$BACKEND_PID" ] && ccb_stop "$BACKEND_PID" TERM
  BACKEND_PID=""
}
ccb_before_cleanup() { stop_servers; }

cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x31 escape=json '{"msec":\$msec,"client":"\$remote_addr:\$remote_port","connection":\$connection,"connectionRequests":\$connection_requests,"request":"\$request","status":\$status,"bodyBytesSent":\$body_bytes_sent,"completion":"\$request_completion","upstream":"\$upstream_addr","upstreamStatus":"\$upstream_status","upstreamBytesReceived":"\$upstream_bytes_received","upstreamResponseTime":"\$upstream_response_time","requestTime":\$request_time}';
  access_log $WORK/nginx-access.log x31;
  keepalive_timeout 30s;
  upstream backend { server 127.0.0.3:9001; keepalive 4; }
  server {
    listen 127.0.0.2:8080;
    location /api/ {
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_bind 127.0.0.2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 2s;
      proxy_buffering off;
    }
  }
CONF

cat >"$WORK/haproxy.cfg" <<CONF
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  option http-keep-alive
  # accept time, client, method, URI as received, status, Tc/Tw/Tr/Ta (ms), Tt (ms), termination state,
  # the backend connection's source port, bytes from the server, the path+query sent to the server
  log-format "%Ts.%ms %ci:%cp %HM %HU %ST %Tc/%Tw/%Tr/%Ta %Tt %tsc %bp %B %[var(txn.newpath)]"
  timeout connect 2s
  timeout client 30s
  timeout server 2s
  timeout http-keep-alive 10s
frontend fe
  bind 127.0.0.2:8081
  default_backend be
backend be
  http-request set-path /v1%[path]
  http-request set-var(txn.newpath) pathq
  server b1 127.0.0.3:9001 source 127.0.0.2
CONF

start_servers() {
  cc_bg /usr/bin/python3 "$P/x31-backend.py" --host 127.0.0.3 --port 9001 --log "$WORK/backend.log" \
    --max-seconds 90 2>"$WORK/backend.err"
  BACKEND_PID="$CC_LAST_PID"
  cc_wait_port 9001
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
  cc_bg haproxy -db -f "$WORK/haproxy.cfg" 2>"$WORK/haproxy.log"
  HAPROXY_PID="$CC_LAST_PID"
  sleep 0.3
  kill -0 "$HAPROXY_PID" 2>/dev/null || { cat "$WORK/haproxy.log" >&2; echo "record: haproxy did not start" >&2; exit 1; }
  cc_wait_port 8081
}

# x31_curl TAG MAX_S BASE TARGET...: one curl in the background fetching BASE+TARGET (TARGET without the
# id) for each TARGET on one connection, each given id=TAG-N; -w '%{json}' per transfer to curl-TAG.jsonl,
# stderr to curl-TAG.err, its exit code to curl-TAG.rc.
x31_curl() {
  local tag="$1" max="$2" base="$3" n=0 t sep
  shift 3
  local args=(curl -sS --max-time "$max" -w '%{json}\n')
  for t in "$@"; do
    n=$((n + 1))
    sep='?'; [[ "$t" == *\?* ]] && sep='&'
    args+=(-o /dev/null "$base$t${sep}id=$tag-$n")
  done
  (
    rc=0
    cc_in timeout 25 "${args[@]}" >"$WORK/curl-$tag.jsonl" 2>"$WORK/curl-$tag.err" || rc=$?
    echo "$rc" >"$WORK/curl-$tag.rc"
  ) &
  CLIENTS+=("$!")
}

# x31_py TAG BASE GAPS_MS TARGET...: programs/x31-py-client.py in the background (py-clients.log).
x31_py() {
  local tag="$1" base="$2" gaps="$3" n=0 t sep list=""
  shift 3
  for t in "$@"; do
    n=$((n + 1))
    sep='?'; [[ "$t" == *\?* ]] && sep='&'
    list+="${list:+,}$t${sep}id=$tag-$n"
  done
  cc_in timeout 25 /usr/bin/python3 "$P/x31-py-client.py" --base "$base" --tag "$tag" --targets "$list" \
    --gaps-ms "$gaps" --timeout 10 --log "$WORK/py-clients.log" 2>>"$WORK/py-clients.err" &
  CLIENTS+=("$!")
}

SOFTWARE=(
  "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one worker; location /api/ { proxy_pass http://backend/; }, upstream keepalive 4, proxy_buffering off)"
  "$(haproxy -v | head -1 | cut -d' ' -f1-3) (http-request set-path /v1%[path])"
  "x31-backend.py: raw HTTP/1.1 server on Python stdlib sockets (/usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
  "$(curl --version | head -1 | cut -d' ' -f1-2)"
  "Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())') http.client (x31-py-client.py, socket timeout 10 s)"
)

NG=http://127.0.0.2:8080/api
HA=http://127.0.0.2:8081
FLOW='/flow?total=17408&chunk=1024&every=300'
SHORT='/flow?total=3072&chunk=1024&every=200'
SLOW='/slow-head?ms=4000'
STALL='/stall-body?first=6000&stall=4000'
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/*.jsonl "$WORK"/*.rc "$OUT"
  start_servers
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9001"
  CLIENTS=()
  T0=$(date +%s.%N)
  at() { sleep "$(echo "$T0 + $1 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"; }
  # scene 4 (healthy keep-alive), part 1
  at 0.0; x31_curl kn1 10 $NG /ok /ok "$SHORT" /ok
  at 0.2; x31_curl kh1 10 $HA /ok /ok "$SHORT" /ok
  # scene 1: gateway timeouts (the head comes after 4 s, the proxies give up at 2 s)
  at 0.6; x31_curl gn1 10 $NG /ok "$SLOW"
  at 0.8; x31_curl gh1 10 $HA /ok "$SLOW"
  at 1.0; x31_curl gn2 10 $NG "$SLOW"
  at 1.2; x31_curl gh2 10 $HA "$SLOW"
  at 1.4; x31_py gn3 $NG 300 "$SLOW" /ok
  at 1.6; x31_py gh3 $HA 300 "$SLOW" /ok
  # scene 2: bodies stalled 4 s after 6000 bytes (the proxies' read timeout, 2 s, cuts them)
  at 5.0; x31_curl sn1 10 $NG /ok "$STALL"
  at 5.2; x31_curl sh1 10 $HA /ok "$STALL"
  at 5.4; x31_curl sn2 10 $NG "$STALL"
  at 5.6; x31_curl sh2 10 $HA "$STALL"
  at 5.8; x31_py sn3 $NG 300 /ok "$STALL"
  at 6.0; x31_py sh3 $HA 300 /ok "$STALL"
  # scene 3: curl --max-time 2 on flowing bodies (1 KB every 300 ms for ~5 s)
  at 9.5; x31_curl an1 2 $NG /ok "$FLOW"
  at 9.7; x31_curl ah1 2 $HA /ok "$FLOW"
  at 9.9; x31_curl an2 2 $NG "$FLOW"
  at 10.1; x31_curl ah2 2 $HA "$FLOW"
  at 10.3; x31_curl an3 2 $NG "$FLOW"
  at 10.5; x31_curl ah3 2 $HA "$FLOW"
  # scene 4, part 2: http.client keep-alive connections with pauses
  at 13.0; x31_py hn1 $NG 500,300,800 /ok "$SHORT" /ok /ok
  at 13.2; x31_py hh1 $HA 500,300,800 /ok "$SHORT" /ok /ok
  wait "${CLIENTS[@]}" || true
  sleep 1
  cc_capture_stop
  stop_servers
  for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  CC_PIDS=()
  if [ -n "${X31_DEBUG_DIR:-}" ]; then
    mkdir -p "$X31_DEBUG_DIR/$attempt"
    cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/*.jsonl "$WORK"/*.rc "$WORK"/*.conf "$WORK"/*.cfg "$X31_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  [ -n "${X31_SKIP_META:-}" ] && { echo "record: X31_SKIP_META set: logs in ${X31_DEBUG_DIR:-nowhere}, nothing written" >&2; exit 0; }
  if /usr/bin/python3 "$P/x31-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
