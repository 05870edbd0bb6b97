#!/usr/bin/env bash
# syn-dropped-rate-limit: SYNs dropped by a rate limit on new connections to an idle server, and the
# near miss, a listener whose full accept queue drops them (blind round 11, S5b against S5a).
# One namespace; its nftables input chain has, for 127.0.0.1:8080 only:
#   tcp dport 8080 ct state new limit rate over 1/second burst 2 packets drop
# 8080: a Node http server (clean-http-server.js), idle, answers at once.
# 8081 (near miss): programs/rl-slow-accept-server.py, listen(1) and one accept() every 1 s, each
#   answered at once: the accept queue (2) fills and the kernel drops SYNs; no firewall rule.
# To each port, 8 curls 50 ms apart (--connect-timeout 4). On 8080 two connect at once (the burst),
# then one per second as their SYN retransmissions find the limit open, the rest time out; each
# connection is served at once. On 8081 connections wait in the queue before being served.
# Ground truth: curl's and the servers' logs, nft's counter; programs/rl-meta.py writes the meta.
# Must say: a rate limit on new connections on 8080 (no backlog), a full backlog on 8081.
# Bounded: ~12 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require tcpdump node python3 ip nft curl

SCENARIO=syn-dropped-rate-limit
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
P="$CC_RECORD_DIR/programs"

cc_netns_up ccratelimit
cc_in nft -f - <<'NFT'
table inet ratelimit {
  chain input {
    type filter hook input priority 0;
    tcp dport 8080 ct state new limit rate over 1/second burst 2 packets counter drop
  }
}
NFT
cc_bg node "$P/clean-http-server.js" --host 127.0.0.1 --port 8080
cc_wait_port 8080
cc_bg timeout 30 python3 "$P/rl-slow-accept-server.py" 127.0.0.1 8081 1 20 "$WORK/slow.log"
cc_wait_port 8081
# Let the limit's bucket fill after the port checks' own connections.
sleep 3
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"
CURLS=()
for port in 8080 8081; do
  for k in 1 2 3 4 5 6 7 8; do
    ip netns exec "$CC_NS" curl -s -o /dev/null --connect-timeout 4 --max-time 12 \
      -w "$port $k %{http_code} connect=%{time_connect} total=%{time_total} exit=%{exitcode}\n" "http://127.0.0.1:$port/items/$k" >>"$WORK/curl.log" 2>&1 &
    CURLS+=("$!")
    sleep 0.05
  done
  for pid in "${CURLS[@]}"; do wait "$pid" 2>/dev/null || true; done
  CURLS=()
done
cc_capture_stop
cc_in nft list table inet ratelimit >"$WORK/nft.txt"
python3 "$P/rl-meta.py" --capture "$OUT" --meta "$META" --curl-log "$WORK/curl.log" --slow-log "$WORK/slow.log" --nft "$WORK/nft.txt" \
  --software "node $(node -v) http server (clean-http-server.js)" "python $(python3 -c 'import sys;print(sys.version.split()[0])') socket server (rl-slow-accept-server.py)" \
  "$(curl --version | head -1 | cut -d' ' -f1-2)" "$(nft --version)"
rm -rf "$WORK"
