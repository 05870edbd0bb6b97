#!/usr/bin/env bash
# syn-dropped-connection-limit: SYNs dropped by a connection limit while the server is up and serving.
# A Node http server (clean-http-server.js, keepAliveTimeout 5 s) on 127.0.0.1:8080 and :8081 in a
# namespace whose nftables input chain has:
#   8080: ct state new ct count over 4 drop      (at most 4 connections: a connlimit that drops)
#   8081: ct state new numgen inc mod 2 == 0 drop (the near miss: every other new-connection packet)
# A client holds 4 keep-alive connections to each port (programs/cl-lanes-client.js: 4 lanes, a GET
# every 200 ms for 7 s) while curl opens a new connection to each port every ~1.2 s
# (--connect-timeout 1, 5 times). On 8080 every curl SYN finds the 4 lanes open and is dropped, the
# lanes go on being served; on 8081 some curls connect (on the SYN or its retry) and some do not.
# Ground truth: the lanes' and curl's logs; programs/cl-limit-meta.py counts, for each unanswered
# SYN in the capture, how many connections were open when it was sent, and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-a.sh"
cc_require tcpdump tshark node python3 ip nft curl

SCENARIO=syn-dropped-connection-limit
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
P="$CC_A_PROGRAMS"

cc_netns_up cl-limit
cc_in nft -f - <<'NFT'
table inet connlimit {
  chain input {
    type filter hook input priority 0;
    tcp dport 8080 ct state new ct count over 4 drop
    tcp dport 8081 ct state new numgen inc mod 2 == 0 drop
  }
}
NFT

for port in 8080 8081; do
  cc_bg node "$P/clean-http-server.js" --host 127.0.0.1 --port "$port" --keep-alive-timeout 5000
  cc_wait_port "$port"
done
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"
for port in 8080 8081; do
  cc_bg timeout 20 node "$P/cl-lanes-client.js" --port "$port" --lanes 4 --seconds 7 --interval 200 --log "$WORK/lanes.log"
done
sleep 1
for i in 1 2 3 4 5; do
  for port in 8080 8081; do
    rc=0
    cc_in curl -s -o /dev/null --connect-timeout 1 "http://127.0.0.1:$port/items/9" || rc=$?
    echo "$port $rc" >>"$WORK/curl.log"
  done
  sleep 0.2
done
for pid in "${CC_PIDS[@]:2}"; do wait "$pid" 2>/dev/null || true; done
cc_capture_stop
python3 "$P/cl-limit-meta.py" --capture "$OUT" --meta "$META" --lanes-log "$WORK/lanes.log" --curl-log "$WORK/curl.log" \
  --software "node $(node -v) http server (clean-http-server.js)" "node $(node -v) http.Agent keepAlive (cl-lanes-client.js)" \
  "$(curl --version | head -1 | cut -d' ' -f1-2)" "$(nft --version)"
rm -rf "$WORK"
