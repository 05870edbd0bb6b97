#!/usr/bin/env bash
# A client's timeout through Go's httputil.ReverseProxy, which has none of its own: client
# 127.0.0.1 (Go http.Client, Timeout 1.5 s) -> proxy on 127.0.0.2:8090 (connecting upstream from
# 127.0.0.2, no ResponseHeaderTimeout) -> Go http.Server on 127.0.0.3:8091 whose handler answers
# slow requests after 2.2-3 s. At 1.5 s the client closes its connection; the proxy cancels the
# forwarded request with the client's context (it closes the upstream connection 0.2 ms later) and
# answers 502 into the closed connection ("context canceled"), which the client's socket resets;
# the backend's late 200 is reset too. Fast requests around them are answered.
# What conncheck must say: the client's timeout (1.5 s) on the client's connections, the upstream
# requests abandoned because the client gave up, and no proxy timeout anywhere.
# Writes samples/client-timeout-go-reverseproxy.pcap and .meta.json (checked by x4-go-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go python3 tcpdump tshark ip

SCENARIO=client-timeout-go-reverseproxy
PROXY=127.0.0.2:8090
BACKEND=127.0.0.3:8091
TIMEOUT_S=1.5

cc_netns_up cc-x4-goprxto
ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
cc_bg "$WORK/go-http" server -addr "$BACKEND" -idle 30s >"$WORK/server.log"
cc_bg "$WORK/go-http" proxy -addr "$PROXY" -backend "http://$BACKEND" -bind 127.0.0.2 >"$WORK/proxy.log"
cc_wait_port 8091
cc_wait_port 8090
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8090 or tcp port 8091"
cc_in timeout 30 "$WORK/go-http" client -url "http://$PROXY" -timeout "${TIMEOUT_S}s" \
  -steps "GET:/items/1:0,GET:/report/1?sleep=3000:100,GET:/report/2?sleep=2500:300,POST:/orders?sleep=2200:300,GET:/items/2:300" \
  >"$WORK/client.log"
sleep 1.7                       # the backend's last late answer (3 s after its request) meets the closed socket
cc_capture_stop
cat "$WORK/client.log" "$WORK/proxy.log"
python3 "$CCB_PROGRAMS/x4-go-meta.py" proxy-client-timeout --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" \
  --proxy-log "$WORK/proxy.log" --server-log "$WORK/server.log" --proxy "$PROXY" --server "$BACKEND" --timeout "$TIMEOUT_S" \
  --software "$(go version | sed 's/^go version //') net/http: http.Client, httputil.ReverseProxy, http.Server (go-http.go)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
