#!/usr/bin/env bash
# A backend killed with requests in flight, behind Go's httputil.ReverseProxy: client (127.0.0.1,
# Go http.Client, 3 workers) -> proxy on 127.0.0.2:8090 (connecting upstream from 127.0.0.2) ->
# Go http.Server on 127.0.0.3:8091. Each worker sends a warm-up GET, then a slow GET (the handler
# sleeps 3 s); 0.5 s into them the backend is killed (SIGKILL): its kernel closes the upstream
# connections (FIN) with the requests unanswered, all at one moment, and the proxy answers 502
# (EOF; Go's Transport retries a GET that failed on a reused connection, which is then refused).
# The workers' next GET and POST are refused upstream and answered 502 at once.
# What conncheck must say: the upstream requests were cut by the server going away (no server
# timeout, although they were all sent together and so have the same age), refused connections,
# and no gateway timeout (the proxy relayed the backend's close; no timer of its own fired).
# Writes samples/backend-killed-go-reverseproxy.pcap and .meta.json (checked by x4-go-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump tshark ip

SCENARIO=backend-killed-go-reverseproxy
PROXY=127.0.0.2:8090
BACKEND=127.0.0.3:8091

cc_netns_up cc-x4-gokill
ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
for attempt in 1 2 3; do
  cc_bg "$WORK/go-http" server -addr "$BACKEND" -idle 30s >"$WORK/server.log"
  BACKEND_PID="$CC_LAST_PID"
  cc_bg "$WORK/go-http" proxy -addr "$PROXY" -backend "http://$BACKEND" -bind 127.0.0.2 >"$WORK/proxy.log"
  PROXY_PID="$CC_LAST_PID"
  cc_wait_port 8091
  cc_wait_port 8090
  cc_capture_start "$OUT" "tcp port 8090 or tcp port 8091"
  cc_in timeout 30 "$WORK/go-http" client -url "http://$PROXY" -par 3 \
    -steps "GET:/items/1:0,GET:/items/slow?sleep=3000:100,GET:/items/2:500,POST:/orders:300" >"$WORK/client.log" &
  CLIENT_PID=$!
  sleep 0.6                      # the slow GETs have been upstream for about 0.5 s
  kill -KILL "$BACKEND_PID"
  date +%s.%N >"$WORK/killed-at"
  wait "$CLIENT_PID" || true
  cc_capture_stop
  kill "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
  wait "$BACKEND_PID" 2>/dev/null || true
  cat "$WORK/client.log" "$WORK/proxy.log"
  if python3 "$CCB_PROGRAMS/x4-go-meta.py" backend-killed --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" \
      --proxy-log "$WORK/proxy.log" --server-log "$WORK/server.log" --killed-at "$(cat "$WORK/killed-at")" \
      --proxy "$PROXY" --server "$BACKEND" \
      --software "$(go version | sed 's/^go version //') net/http: http.Server backend, httputil.ReverseProxy, http.Client (go-http.go)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
