#!/usr/bin/env bash
# Two client programs with different timeouts through one proxy that has none of its own (blind
# 15, S17: Go 1 s and aiohttp 1.5 s through Caddy). Client 127.0.0.1: a Go http.Client (Timeout
# 1 s) and curl (--max-time 1.5) -> Go httputil.ReverseProxy on 127.0.0.2:8090, connecting
# upstream from 127.0.0.4 (its backend-facing address) -> Go http.Server on 127.0.0.3:8091 whose
# /report?sleep=3000 answers after 3 s. Each client gives up on its own timer; the proxy cancels
# the forward with its client (closes upstream within a millisecond), answers 502 (context
# canceled) into the closed socket; the backend's late 200 is reset. Each client's next request
# leaves while the backend still holds the forward before it: what conncheck must not take for
# the backend forwarding from the clients' address (before: the clients were "the address proxy
# 127.0.0.3 connects to its backends from" and their timeouts a proxy read timeout).
# Writes samples/client-timeouts-two-clients-go-reverseproxy.pcap and .meta.json (checked by
# two-client-timeouts-meta.py against the programs' logs). proxy-read-timeout-two-clients-go-reverseproxy.sh
# runs it as its near miss: the proxy's own ResponseHeaderTimeout (TC_RESPHEADER) shorter than both
# clients' timeouts (TC_GO_TIMEOUT, TC_CURL_MAXTIME).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require go curl python3 tcpdump tshark ip

SCENARIO=${TC_SCENARIO:-client-timeouts-two-clients-go-reverseproxy}
RESPHEADER=${TC_RESPHEADER:-0}
GO_TIMEOUT=${TC_GO_TIMEOUT:-1}
CURL_MAXTIME=${TC_CURL_MAXTIME:-1.5}
PROXY=127.0.0.2:8090
BIND=127.0.0.4
BACKEND=127.0.0.3:8091
SLOW='/report?sleep=3000'

cc_netns_up "${TC_NETNS:-cc-two-cto}"
ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/go-http" "$CCB_PROGRAMS/go-http.go")
cc_bg "$WORK/go-http" server -addr "$BACKEND" -idle 30s >"$WORK/server.log"
cc_bg "$WORK/go-http" proxy -addr "$PROXY" -backend "http://$BACKEND" -bind "$BIND" -respheader "${RESPHEADER}s" >"$WORK/proxy.log"
cc_wait_port 8091
cc_wait_port 8090
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8090 or tcp port 8091"
# Go: the slow URI at 0 s and again 0.5 s after its failure, then a fast one.
cc_in timeout 20 "$WORK/go-http" client -url "http://$PROXY" -timeout "${GO_TIMEOUT}s" \
  -steps "GET:$SLOW:0,GET:$SLOW:500,GET:/items/1:0" >"$WORK/client-go.log" &
GO_PID=$!
sleep 3
# curl: the same slow URI at 3 s and again 0.5 s after its failure (each on its own connection).
for i in 1 2; do
  cc_in timeout 10 curl -sS -o /dev/null --max-time "$CURL_MAXTIME" \
    -w '{"role":"curl","local":"%{local_ip}:%{local_port}","status":"%{http_code}","exit":%{exitcode},"elapsed":%{time_total}}\n' \
    "http://$PROXY$SLOW" >>"$WORK/client-curl.log" 2>/dev/null || true
  [ "$i" = 1 ] && sleep 0.5
done
wait "$GO_PID"
sleep 2.5                       # the backend's last late answer (3 s after its request) meets the closed socket
cc_capture_stop
cat "$WORK/client-go.log" "$WORK/client-curl.log" "$WORK/proxy.log"
python3 "$CCB_PROGRAMS/two-client-timeouts-meta.py" --capture "$OUT" --meta "$META" \
  --go-log "$WORK/client-go.log" --curl-log "$WORK/client-curl.log" --proxy-log "$WORK/proxy.log" --server-log "$WORK/server.log" \
  --scenario "$SCENARIO" --proxy "$PROXY" --bind "$BIND" --server "$BACKEND" --slow "$SLOW" \
  --go-timeout "$GO_TIMEOUT" --curl-max-time "$CURL_MAXTIME" --proxy-timeout "$RESPHEADER" \
  --software "$(go version | sed 's/^go version //') net/http: http.Client, httputil.ReverseProxy, http.Server (go-http.go)" \
  "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
