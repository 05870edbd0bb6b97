#!/usr/bin/env bash
# reload-haproxy: HAProxy 2.6 (Debian, mode http) reloaded the classic way, three times, under steady
# keep-alive load, WITHOUT seamless reload (a stats socket without `expose-fd listeners`, no -x): each
# reload starts a new daemon with `haproxy -D -f CFG -p PIDFILE -sf $(cat PIDFILE)`; the new process
# binds its own listener (SO_REUSEPORT) and sends SIGUSR1 to the old one, which unbinds, closes its idle
# kept-alive client connections at once, answers requests still in flight with `Connection: close`,
# and quits when they are done or after `hard-stop-after 1s`.
# Everything runs on loopback in a namespace of its own: HAProxy on 127.0.0.2:8080 in front of two Node
# http servers (programs/b-http-server.js, keepAliveTimeout 30 s) on 127.0.0.3:9001 and :9002, HAProxy
# connecting from 127.0.0.2. Clients on 127.0.0.1: three Node http.Agent lanes and three python
# requests lanes (programs/x17p-node-lanes.js, x17p-requests-lanes.py: one kept-alive connection each,
# pauses of 0.2-0.5 s), one curl reusing its connection five times a second, and around the reloads:
# reload 2 with a curl request whose backend answer takes 2.5 s in flight on the old process (cut by
# hard-stop-after), reload 3 in the middle of a burst of curl's parallel new connections.
# Ground truth: the clients' logs, HAProxy's log (`log` to a unix datagram socket read by
# programs/x24h-syslog.py: a daemon has no stdout; the process id is in each line), the backends' logs
# and the reload times; programs/x24h-meta.py checks them against the capture and writes
# samples/reload-haproxy.pcap and .meta.json (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x12.sh"           # X12_LOG_FORMAT: HAProxy's log line (client port, status, timers, termination state)
cc_require haproxy node python3 /usr/bin/python3 tcpdump tshark ip curl
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=reload-haproxy
NS=${X24H_NETNS:-ccx24h}
P="$CCB_PROGRAMS"
BASE=http://127.0.0.2:8080
X24H_HAPROXY_PIDS=()

cc_netns_up "$NS"
ccb_workdir
WORK="$CCB_WORK"

# Every HAProxy process this recorder started (their PIDs come from the pid file), ended by PID.
ccb_before_cleanup() {
  local pid
  for pid in "${X24H_HAPROXY_PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
}

x24h_reload() {       # x24h_reload N: a new daemon takes over from the one in the pid file
  local old new
  old=$(cat "$WORK/haproxy.pid")
  echo "{\"event\":\"reload\",\"n\":$1,\"t\":$(date +%s.%N),\"old\":$old}" >>"$WORK/reloads.log"
  cc_in haproxy -D -f "$WORK/haproxy.cfg" -p "$WORK/haproxy.pid" -sf "$old"
  new=$(cat "$WORK/haproxy.pid")
  X24H_HAPROXY_PIDS+=("$new")
  echo "{\"event\":\"started\",\"n\":$1,\"t\":$(date +%s.%N),\"pid\":$new,\"old\":$old}" >>"$WORK/reloads.log"
}

x24h_stop_all() {     # soft stop of the last one; then every one still alive is ended (bounded waits)
  local pid i
  kill -USR1 "$(cat "$WORK/haproxy.pid")" 2>/dev/null || true
  for i in $(seq 1 30); do
    alive=0
    for pid in "${X24H_HAPROXY_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  ccb_before_cleanup
  X24H_HAPROXY_PIDS=()
}

CURL_W='%{http_code} %{local_port} %{exitcode} %{num_connects} %{time_total} %{url_effective} %{errormsg}\n'
x24h_curl() {         # x24h_curl TAG ARGS...: curl in the namespace; each transfer's line, prefixed by the tag
  local tag="$1"; shift  # and the epoch time it was logged (at the transfer's end)
  cc_in stdbuf -oL curl -s -o /dev/null -w "$CURL_W" "$@" 2>/dev/null | while IFS= read -r line; do
    echo "$tag $(date +%s.%N) $line"; done >>"$WORK/curl.log" || true
}

cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
for port in 9001 9002; do
  cc_bg node "$P/b-http-server.js" --host 127.0.0.3 --port "$port" --keep-alive-timeout 30000 2>"$WORK/backend-$port.log"
  cc_wait_port "$port"
done
cc_bg python3 "$P/x24h-syslog.py" --socket "$WORK/log.sock" --out "$WORK/haproxy.log" --max-seconds 300
for i in $(seq 1 50); do [ -S "$WORK/log.sock" ] && break; sleep 0.05; done

cat >"$WORK/haproxy.cfg" <<CONF
global
  log $WORK/log.sock format raw local0 info
  # a stats socket WITHOUT "expose-fd listeners": the new process cannot take the old one's
  # listening sockets over (-x), it binds its own (SO_REUSEPORT)
  stats socket $WORK/admin.sock mode 600 level admin
  hard-stop-after 1s
defaults
  mode http
  log global
  # an httplog of our own (lib-x12.sh's format: client address:port, status, timers, termination
  # state, the backend connection's source port) and the process id
  log-format "$X12_LOG_FORMAT %pid"
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout http-keep-alive 10s
frontend fe
  bind 127.0.0.2:8080
  # a busy proxy: past 16 client connections a process stops accepting and new ones wait in its
  # listener's backlog (the kernel completes their handshakes)
  maxconn 16
  default_backend be
backend be
  balance roundrobin
  http-response del-header keep-alive
  server s1 127.0.0.3:9001 source 127.0.0.2
  server s2 127.0.0.3:9002 source 127.0.0.2
CONF

OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3; do
  rm -f "$WORK/lanes.log" "$WORK/curl.log" "$WORK/reloads.log" "$WORK/haproxy.pid" "$WORK"/tcpdump.*
  : >"$WORK/haproxy.log"
  for port in 9001 9002; do : >"$WORK/backend-$port.log"; done
  ccb_capture_start "$NS" lo "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9002" -B 32768
  cc_in haproxy -D -f "$WORK/haproxy.cfg" -p "$WORK/haproxy.pid"
  X24H_HAPROXY_PIDS=("$(cat "$WORK/haproxy.pid")")
  echo "{\"event\":\"started\",\"n\":0,\"t\":$(date +%s.%N),\"pid\":${X24H_HAPROXY_PIDS[0]}}" >>"$WORK/reloads.log"
  cc_wait_port 8080
  GAPS=$(python3 -c "import random; random.seed($attempt); print(','.join(str(round(random.uniform(0.2, 0.5), 3)) for _ in range(84)))")
  cc_in timeout 30 node "$P/x17p-node-lanes.js" --base "$BASE" --log "$WORK/lanes.log" --lanes 3 --rounds 28 \
    --gaps "$GAPS" --stagger 0.13 --tag n --max-seconds 25 &
  node_pid=$!
  sleep 0.065
  cc_in timeout 30 /usr/bin/python3 "$P/x17p-requests-lanes.py" --base "$BASE" --log "$WORK/lanes.log" --lanes 3 --rounds 28 \
    --gaps "$GAPS" --stagger 0.13 --tag p --max-seconds 25 &
  py_pid=$!
  x24h_curl k --max-time 20 --rate 5/s "$BASE/items/k?i=[1-50]" &
  keep_pid=$!
  sleep 2.5
  x24h_reload 1
  sleep 2.5
  x24h_curl s --max-time 8 "$BASE/slow?ms=2500&c=s1" &
  slow_pid=$!
  sleep 0.5
  x24h_reload 2                       # the slow request is in flight on the old process
  sleep 2.35
  x24h_curl b --max-time 8 -Z --parallel-immediate --parallel-max 20 "$BASE/slow?ms=400&b=[1-20]" &
  burst_pid=$!
  sleep 0.05
  x24h_reload 3                       # during a burst of 20 new connections (past maxconn: some wait in the backlog)
  wait "$node_pid" "$py_pid" "$keep_pid" "$slow_pid" "$burst_pid" || true
  sleep 1.5
  x24h_stop_all
  cc_capture_stop
  if [ -n "${X24H_DEBUG_DIR:-}" ]; then
    mkdir -p "$X24H_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK/haproxy.cfg" "$X24H_DEBUG_DIR/$attempt/" || true
  fi
  if python3 "$P/x24h-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "$(haproxy -v | head -1 | cut -d' ' -f1-3)" "node $(node -v) (b-http-server.js x2; x17p-node-lanes.js http.Agent)" \
        "python requests $(/usr/bin/python3 -c 'import requests; print(requests.__version__)') (x17p-requests-lanes.py)" \
        "$(curl --version | head -1 | cut -d' ' -f1-2)"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
