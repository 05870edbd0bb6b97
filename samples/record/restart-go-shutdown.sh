#!/usr/bin/env bash
# restart-go-shutdown: a Go net/http server (programs/x27g-server.go: IdleTimeout 60 s, small responses, GET
# /slow answering after 0.5 s) replaced twice under steady keep-alive load, the way a deploy or a Kubernetes
# rollout does it: a new instance starts on the same address with SO_REUSEPORT, and once it listens the old
# one gets SIGTERM and calls http.Server.Shutdown(ctx) with a 1 s context. Shutdown closes the old listener,
# closes every idle kept-alive connection at once (FIN), lets the active ones finish (Connection: close, then
# FIN) and, when the deadline comes first, returns context.DeadlineExceeded; the process then exits with the
# requests it still holds. Replacement 1 (2.5 s into the load): the old instance's requests in flight (/slow,
# 0.5 s) finish within the second. Replacement 2 (6 s): the old instance (started with --slow-after-term-ms
# 2000) answers a /slow request waiting at SIGTERM only 2 s after its start, later than the deadline: those
# requests are cut when the process exits. No idle timer closes anything in the ~10 s of load.
# The server listens on 10.99.0.2:8080 in a server namespace; the clients are reload-nginx's
# (programs/x26n-node-lanes.js: four Node http.Agent lanes that never resend a failed request, and
# programs/x26n-requests-lanes.py: four python requests lanes, urllib3 Retry(total=1), a failed GET sent
# again once on a new connection) in a client namespace 10 ms one way away (programs/x5-wire.py), for 10 s.
# The capture is taken in the server namespace (tun ccbs, port 8080).
# Ground truth: each instance's own log (server-N.log: pid, every ConnState transition with the remote port,
# request start and end with status, SIGTERM, Shutdown's return and the open connections then, exit), the
# recorder's events.log (instance starts, when each new one listened, the SIGTERM times), the clients' logs;
# programs/x27g-meta.py checks them against the capture and writes samples/restart-go-shutdown.pcap and
# .meta.json, or refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go node tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=restart-go-shutdown
NSS=${X27G_NETNS:-ccx27g}-s
NSC=${X27G_NETNS:-ccx27g}-c
DELAY_MS=10
LOAD_SECONDS=10
P="$CCB_PROGRAMS"
SRV_PIDS=()

ccb_delay_namespaces "$NSS" "$NSC" "$DELAY_MS"
WORK="$CCB_WORK"
BASE="http://$CCB_SERVER_IP:8080"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/x27g-server" "$P/x27g-server.go")

ccb_before_cleanup() {   # the server instances this recorder started, by PID
  local pid
  for pid in "${SRV_PIDS[@]:-}"; do [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true; done
}

# x27g_start N [ARGS]: instance N in the server namespace; returns once it logged "listening" (bounded).
x27g_start() {
  local n="$1" i t; shift
  t=$(date +%s.%N)
  cc_bg "$WORK/x27g-server" --addr "$CCB_SERVER_IP:8080" --log "$WORK/server-$n.log" --inst "$n" \
    --grace 1s --idle-timeout 60s "$@"
  SRV_PIDS[$n]="$CC_LAST_PID"
  for i in $(seq 1 250); do grep -q '"listening"' "$WORK/server-$n.log" 2>/dev/null && break; sleep 0.01; done
  grep -q '"listening"' "$WORK/server-$n.log" || { echo "record: instance $n did not listen" >&2; exit 1; }
  echo "{\"event\":\"started\",\"inst\":$n,\"pid\":$CC_LAST_PID,\"t\":$t,\"listeningSeenAt\":$(date +%s.%N)}" >>"$WORK/events.log"
}

# x27g_replace N OLD NEW [ARGS]: the rollout step: instance NEW started (SO_REUSEPORT), 0.2 s later SIGTERM to OLD.
x27g_replace() {
  local n="$1" old="$2" new="$3" t; shift 3
  x27g_start "$new" "$@"
  sleep 0.2
  t=$(date +%s.%N)
  kill -TERM "${SRV_PIDS[$old]}"
  echo "{\"event\":\"replace\",\"n\":$n,\"old\":$old,\"oldPid\":${SRV_PIDS[$old]},\"new\":$new,\"newPid\":${SRV_PIDS[$new]},\"t\":$t}" >>"$WORK/events.log"
}

ATTEMPTS=${X27G_ATTEMPTS:-3}                 # at most 3 (fewer when asked, to look at one run with X27G_DEBUG_DIR)
[ "$ATTEMPTS" -ge 1 ] && [ "$ATTEMPTS" -le 3 ] || ATTEMPTS=3
for attempt in $(seq 1 "$ATTEMPTS"); do
  rm -f "$WORK"/server-*.log "$WORK"/events.log "$WORK"/node.log "$WORK"/requests.log "$WORK"/tcpdump.* "$OUT"
  SRV_PIDS=()
  x27g_start 1
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port 8080" -B 32768
  ip netns exec "$NSC" timeout 30 node "$P/x26n-node-lanes.js" --base "$BASE" --log "$WORK/node.log" --lanes 4 \
    --seconds "$LOAD_SECONDS" --seed "$attempt" --tag n --max-seconds 25 &
  node_pid=$!
  ip netns exec "$NSC" timeout 30 /usr/bin/python3 "$P/x26n-requests-lanes.py" --base "$BASE" --log "$WORK/requests.log" \
    --lanes 4 --seconds "$LOAD_SECONDS" --seed "$attempt" --tag p --max-seconds 25 &
  py_pid=$!
  load_t0=$(date +%s.%N)
  sleep "$(awk -v t0="$load_t0" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 2.3 - now; print (d > 0 ? d : 0) }')"
  x27g_replace 1 1 2 --slow-after-term-ms 2000   # instance 2 is the one replaced second, its /slow then too slow
  sleep "$(awk -v t0="$load_t0" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 5.8 - now; print (d > 0 ? d : 0) }')"
  x27g_replace 2 2 3
  wait "$node_pid" || true
  wait "$py_pid" || true
  sleep 0.5
  cc_capture_stop
  for i in 1 2 3; do ccb_stop "${SRV_PIDS[$i]}" TERM; done
  SRV_PIDS=()
  if [ -n "${X27G_DEBUG_DIR:-}" ]; then
    mkdir -p "$X27G_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$X27G_DEBUG_DIR/$attempt/" || true
  fi
  if /usr/bin/python3 "$P/x27g-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" --delay-ms "$DELAY_MS" \
      --software "Go $(go version | awk '{print $3}' | sed 's/^go//') net/http (x27g-server.go: SO_REUSEPORT, IdleTimeout 60s, Shutdown with a 1 s context)" \
        "node $(node -v) (x26n-node-lanes.js: http.Agent keepAlive, maxSockets 1)" \
        "python requests $(/usr/bin/python3 -c 'import requests, urllib3; print(f"{requests.__version__} (urllib3 {urllib3.__version__}; Retry(total=1))")') (x26n-requests-lanes.py, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))" \
        "user-space delay line (samples/record/programs/x5-wire.py, tun), 10 ms one way"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = "$ATTEMPTS" ] && { echo "record: $SCENARIO: no usable recording in $ATTEMPTS attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
