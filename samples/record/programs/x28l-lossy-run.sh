#!/usr/bin/env bash
# One run of healthy keep-alive traffic over a lossy, jittery, reordering path, captured next to the
# server and (optionally) next to the clients; run by samples/record/healthy-lossy-path-*.sh.
#   bash x28l-lossy-run.sh SERVER_SCENARIO [CLIENT_SCENARIO]
# Settings (environment): X28L_NETNS (namespace prefix), X28L_DELAY_MS / X28L_JITTER_MS / X28L_LOSS /
# X28L_REORDER (per wire and per direction: the path has two wires, client-router and router-server),
# X28L_OUT_DIR (where the samples go: samples/ by default), X28L_WIRE (the wire program in programs/: x5-wire.py by default; X28L_WIRE_ARGS="--burst-rate …" for bursts of loss),
# X28L_WIRE_ARGS (more options for both wires), X28L_SEED, X28L_NEED_HANDSHAKE_REPEATS (a recording whose
# server-side capture shows fewer repeated SYNs or SYN-ACKs is refused; default 1).
# Topology (lib-x5.sh's addresses): client namespace PREFIX-c (10.55.1.1, tun x5c), router PREFIX-r,
# server PREFIX-s (10.55.2.2, tun x5s), joined by two wires (X28L_WIRE); SYNs and FINs may be lost.
# Servers in PREFIX-s: nginx 1.22 on :8080 (keepalive_timeout 30s; /s/ and /o/ answered by `return`,
# /big/ static files, /up/ proxied to a Node sink on the server's loopback 127.0.0.1:9002), a Node
# http server on :8081 (keepAliveTimeout 30 s) and a Go net/http server on :8082 (IdleTimeout 30 s).
# Clients in PREFIX-c, all at once: Node http.Agent lanes (x28l-node-lanes.js), python requests lanes
# (x28l-requests-lanes.py), Go http.Client lanes (x28l-go.go -mode client) and four curl runs of
# several URLs on one connection each plus 20 curls of one request; think times 0.05-2 s, far below every idle timeout.
# programs/x28l-meta.py checks the clients' and servers' logs against each capture and writes the
# metas, or refuses (at most 3 attempts, each on fresh namespaces and wires with new seeds).
set -euo pipefail
SERVER_SCENARIO="$1"
CLIENT_SCENARIO="${2:-}"
P="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$P/../lib.sh"
source "$P/../lib-x5.sh"
cc_require nginx node go curl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

PREFIX="${X28L_NETNS:-ccx28l}"
DELAY="${X28L_DELAY_MS:-10}"
JITTER="${X28L_JITTER_MS:-4}"
LOSS="${X28L_LOSS:-2}"
REORDER="${X28L_REORDER:-1}"
SEED="${X28L_SEED:-28}"
# shellcheck disable=SC2206
WIRE_ARGS=(${X28L_WIRE_ARGS:-})
S=10.55.2.2
WIRE="$P/${X28L_WIRE:-x5-wire.py}"

ccb_workdir
WORK="$CCB_WORK"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= go build -o "$WORK/x28l-go" "$P/x28l-go.go")
mkdir -p "$WORK/www/big" "$WORK/tmp"
for n in 200000 1000000; do head -c "$n" /dev/zero | tr '\0' 'z' >"$WORK/www/big/$n.bin"; done
head -c 102400 /dev/zero | tr '\0' 'u' >"$WORK/upload.bin"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x28l '\$msec \$remote_addr \$remote_port \$connection \$connection_requests \$status \$request_time \$request_length \$bytes_sent "\$request" "\$http_connection"';
  access_log $WORK/access.log x28l;
  keepalive_timeout 30s;
  default_type application/json;
  server {
    listen $S:8080;
    location /s/ { return 200 '{"ok":true}\n'; }
    location /o/ { return 201 '{"created":true}\n'; }
    location /big/ { root $WORK/www; }
    location /up/ { client_max_body_size 1m; client_body_buffer_size 256k; proxy_pass http://127.0.0.1:9002; }
  }
CONF

NODE_PLAN="0:10:big:1000000,1:8:big:200000,3:6:up,0:15:close,1:18:close,2:12:close,3:22:close"
PY_PLAN="1:12:big:200000,0:9:up,0:20:close,1:5:close,2:17:close"
GO_PLAN="1:5:big:150000,0:7:up,1:12:close"

# x28l_wire NS_A TUN_A NS_B TUN_B SEED: lib-b.sh's ccb_wire with the wire program WIRE (x5-wire.py, or
# x5-wire.py --burst-rate for bursts of loss), DELAY ± JITTER ms, LOSS % and REORDER % each way; its counts on exit
# are appended to WORK/wires.log
x28l_wire() {
  local ready i
  ip netns exec "$1" ip tuntap add dev "$2" mode tun
  ip netns exec "$3" ip tuntap add dev "$4" mode tun
  ready="$WORK/wire.$2"
  ccb_bg "$1" python3 "$WIRE" --tun-a "$2" --netns-b "/run/netns/$3" --tun-b "$4" --delay-ms "$DELAY" --jitter-ms "$JITTER" \
    --loss "$LOSS" --reorder "$REORDER" --seed "$5" --max-seconds 600 "${WIRE_ARGS[@]}" >"$ready" 2>>"$WORK/wires.log"
  for i in $(seq 1 100); do grep -q ready "$ready" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$ready" || { echo "record: wire $2-$4 did not start" >&2; exit 1; }
}

x28l_capture() {  # x28l_capture NS IFACE NAME: tcpdump (32 MiB buffer: bursts of a 1 MB response) to WORK/NAME.pcap, its stats in WORK/NAME.tcpdump
  local log="$WORK/$3.tcpdump" i
  ip netns exec "$1" tcpdump -i "$2" --immediate-mode -U -B 32768 -n --time-stamp-precision=nano -s 0 -w "$WORK/$3.pcap" tcp 2>"$log" &
  X5_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do grep -q 'listening on' "$log" 2>/dev/null && break; sleep 0.05; done
  grep -q 'listening on' "$log" || { cat "$log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}

curl_runs() {   # four curl runs of several URLs on one connection each, each followed by five one-request curls
                # (a new connection each: more handshakes for the path to lose a SYN of); one line per URL in curl.log
  local w='{"client":"curl","code":"%{http_code}","connects":%{num_connects},"port":%{local_port},"url":"%{url_effective}","bytes":%{size_download},"time":%{time_total}}\n'
  local c=(ip netns exec "$X5_C" curl -s --max-time 30 -o /dev/null -w "$w") k=10
  one_shots() {  # five curls of one request each (more, and 10 one-request connections to a server are churn), 0.2-0.7 s apart, to the three servers in turn
    local j port
    for j in 1 2 3 4 5; do
      port=$((8080 + k % 3))
      "${c[@]}" "http://$S:$port/s/c$k-0" >>"$WORK/curl.log" || echo "{\"client\":\"curl\",\"run\":$k,\"exit\":$?}" >>"$WORK/curl.log"
      k=$((k + 1))
      sleep "0.$((2 + RANDOM % 6))"
    done
  }
  sleep 1
  "${c[@]}" "http://$S:8080/s/c0-0" -o /dev/null "http://$S:8080/s/c0-1" -o /dev/null "http://$S:8080/o/c0-2" \
    -o /dev/null "http://$S:8080/s/c0-3" -o /dev/null "http://$S:8080/s/c0-4" -o /dev/null "http://$S:8080/s/c0-5" >>"$WORK/curl.log" || echo "{\"client\":\"curl\",\"run\":0,\"exit\":$?}" >>"$WORK/curl.log"
  one_shots
  sleep 5
  "${c[@]}" "http://$S:8081/s/c1-0" -o /dev/null "http://$S:8081/s/c1-1" -o /dev/null "http://$S:8081/big/100000.bin?r=c1-2" \
    -o /dev/null "http://$S:8081/s/c1-3" >>"$WORK/curl.log" || echo "{\"client\":\"curl\",\"run\":1,\"exit\":$?}" >>"$WORK/curl.log"
  one_shots
  sleep 5
  "${c[@]}" --data-binary @"$WORK/upload.bin" -H 'Content-Type: application/octet-stream' "http://$S:8080/up/c2-0" \
    --next -s --max-time 30 -o /dev/null -w "$w" "http://$S:8080/s/c2-1" >>"$WORK/curl.log" || echo "{\"client\":\"curl\",\"run\":2,\"exit\":$?}" >>"$WORK/curl.log"
  one_shots
  sleep 4
  "${c[@]}" "http://$S:8082/s/c3-0" -o /dev/null "http://$S:8082/s/c3-1" -o /dev/null "http://$S:8082/s/c3-2" \
    -o /dev/null "http://$S:8082/s/c3-3" >>"$WORK/curl.log" || echo "{\"client\":\"curl\",\"run\":3,\"exit\":$?}" >>"$WORK/curl.log"
  one_shots
}

for attempt in 1 2 3; do
  seed=$((SEED + 10 * attempt))
  rm -f "$WORK"/*.log "$WORK"/*.pcap "$WORK"/*.tcpdump "$WORK"/wire.*
  CC_PIDS=()
  # the path: client - wire - router - wire - server, each wire DELAY ± JITTER ms, LOSS % and REORDER % each way
  X5_C="$PREFIX-c"; X5_R="$PREFIX-r"; X5_S="$PREFIX-s"
  ccb_netns_add "$X5_C"; ccb_netns_add "$X5_R"; ccb_netns_add "$X5_S"
  x28l_wire "$X5_C" x5c "$X5_R" x5r1 "$seed"
  wire_client=$CC_LAST_PID
  x28l_wire "$X5_R" x5r2 "$X5_S" x5s "$((seed + 1))"
  wire_server=$CC_LAST_PID
  ip netns exec "$X5_C" ip addr add 10.55.1.1 peer 10.55.1.2 dev x5c
  ip netns exec "$X5_C" ip link set x5c up
  ip netns exec "$X5_C" ip route add 10.55.2.0/24 dev x5c
  ip netns exec "$X5_R" ip addr add 10.55.1.2 peer 10.55.1.1 dev x5r1
  ip netns exec "$X5_R" ip addr add 10.55.2.1 peer 10.55.2.2 dev x5r2
  ip netns exec "$X5_R" ip link set x5r1 up
  ip netns exec "$X5_R" ip link set x5r2 up
  ip netns exec "$X5_R" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$X5_S" ip addr add 10.55.2.2 peer 10.55.2.1 dev x5s
  ip netns exec "$X5_S" ip link set x5s up
  ip netns exec "$X5_S" ip route add 10.55.1.0/24 dev x5s

  ccb_bg "$X5_S" node "$P/x28l-node-server.js" --host 127.0.0.1 --port 9002 --log "$WORK/sink.log"
  sink=$CC_LAST_PID
  ccb_bg "$X5_S" node "$P/x28l-node-server.js" --host "$S" --port 8081 --keep-alive-timeout 30000 --log "$WORK/node-server.log"
  nodes=$CC_LAST_PID
  ccb_bg "$X5_S" "$WORK/x28l-go" -mode server -listen "$S:8082" -idle 30s -log "$WORK/go-server.log"
  gos=$CC_LAST_PID
  ccb_bg "$X5_S" nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  ngx=$CC_LAST_PID
  for port in 8080 8081 8082 9002; do ccb_wait_port "$X5_S" "$port"; done
  x5_path_check "$X5_C" "$S" 8080
  sleep 2   # the check's close, even if a FIN of it was lost and sent again, is over before the captures start

  x28l_capture "$X5_S" x5s server
  [ -n "$CLIENT_SCENARIO" ] && x28l_capture "$X5_C" x5c client
  ip netns exec "$X5_C" timeout 100 node "$P/x28l-node-lanes.js" --log "$WORK/node.log" --requests 30 --seed "$seed" --tag n \
    --targets "http://$S:8080,http://$S:8081,http://$S:8082,http://$S:8080" --plan "$NODE_PLAN" --max-seconds 90 &
  c1=$!
  ip netns exec "$X5_C" timeout 100 /usr/bin/python3 "$P/x28l-requests-lanes.py" --log "$WORK/python.log" --requests 30 --seed "$seed" \
    --tag p --targets "http://$S:8081,http://$S:8080,http://$S:8082" --plan "$PY_PLAN" --max-seconds 90 &
  c2=$!
  ip netns exec "$X5_C" timeout 100 "$WORK/x28l-go" -mode client -log "$WORK/go.log" -requests 25 -seed "$seed" -tag g \
    -targets "http://$S:8080,http://$S:8081" -plan "$GO_PLAN" &
  c3=$!
  curl_runs &
  c4=$!
  for pid in $c1 $c2 $c3 $c4; do wait "$pid" || echo "{\"event\":\"client-exit\",\"pid\":$pid,\"exit\":$?}" >>"$WORK/clients-exit.log"; done
  sleep 4   # the last closes, and any retransmission of a lost FIN or ACK, reach both capture points
  x5_capture_stop_all
  ccb_stop "$ngx" QUIT; ccb_stop "$nodes"; ccb_stop "$gos"; ccb_stop "$sink"
  ccb_stop "$wire_client" INT; ccb_stop "$wire_server" INT   # their counts, in this order, in wires.log
  ip netns del "$X5_C"; ip netns del "$X5_R"; ip netns del "$X5_S"
  if [ -n "${X28L_DEBUG_DIR:-}" ]; then
    mkdir -p "$X28L_DEBUG_DIR/$attempt"; cp "$WORK"/*.pcap "$WORK"/*.log "$WORK"/*.tcpdump "$WORK/nginx.conf" "$X28L_DEBUG_DIR/$attempt/" || true
  fi
  args=(--work "$WORK" --wire "$(basename "$WIRE")" --delay-ms "$DELAY" --jitter-ms "$JITTER" --loss "$LOSS" --reorder "$REORDER" --seed "$seed"
        --wire-args "${X28L_WIRE_ARGS:-}" --expect-requests node=120,python=90,go=50,curl=36
        --software "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian; one process)" "node $(node -v) http server and http.Agent client"
          "go $(go env GOVERSION) net/http Server and Client"
          "python requests $(/usr/bin/python3 -c 'import requests, urllib3; print(f"{requests.__version__} (urllib3 {urllib3.__version__})")') (/usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
          "$(curl --version | head -1 | cut -d' ' -f1-2)"
          "user-space impaired wires (samples/record/programs/$(basename "$WIRE"), tun), two in series")
  ok=1
  /usr/bin/python3 "$P/x28l-meta.py" "$SERVER_SCENARIO" --need-handshake-repeats "${X28L_NEED_HANDSHAKE_REPEATS:-1}" --point server --other "$CLIENT_SCENARIO" --capture "$WORK/server.pcap" --meta "$WORK/server.meta.json" "${args[@]}" || ok=0
  if [ -n "$CLIENT_SCENARIO" ] && [ "$ok" = 1 ]; then
    /usr/bin/python3 "$P/x28l-meta.py" "$CLIENT_SCENARIO" --point client --other "$SERVER_SCENARIO" --capture "$WORK/client.pcap" --meta "$WORK/client.meta.json" "${args[@]}" || ok=0
  fi
  [ "$ok" = 1 ] && break
  echo "record: $SERVER_SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SERVER_SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
OUT_DIR="${X28L_OUT_DIR:-$CC_SAMPLES_DIR}"   # another directory for trial runs
cp "$WORK/server.pcap" "$OUT_DIR/$SERVER_SCENARIO.pcap"
cp "$WORK/server.meta.json" "$OUT_DIR/$SERVER_SCENARIO.meta.json"
if [ -n "$CLIENT_SCENARIO" ]; then
  cp "$WORK/client.pcap" "$OUT_DIR/$CLIENT_SCENARIO.pcap"
  cp "$WORK/client.meta.json" "$OUT_DIR/$CLIENT_SCENARIO.meta.json"
fi
