#!/usr/bin/env bash
# syn-unanswered-client-stop-ab: ab (-n 200 -c 10, no keep-alive) against nginx over a path losing 3 %
# of packets both ways (blind round 14b, falsepos S2). ab exits as soon as its 200th request completes;
# connects it still had in flight then (their SYN or SYN-ACK lost, waiting for the 1 s retransmission)
# are closed in SYN-SENT: nothing goes out, and a SYN-ACK the server resends later is reset. Mid-run,
# ab waits out every lost SYN (no connect timeout). Two namespaces joined by a veth: client 10.91.1.1,
# nginx on 10.91.1.2:80; the loss is nftables in the server's namespace (input and output, port 80,
# `numgen random mod 100 < 3`), so SYNs, SYN-ACKs, requests and responses are all lost alike.
# Captured on the client's veth. Ground truth: ab's own report (Complete/Failed requests), its exit
# time, nginx's access log, the nft counters; programs/ab-stop-meta.py writes the meta from them and
# from the capture's packets (which connects got no answer before ab exited).
# A run whose lost SYNs all fell mid-run leaves nothing in flight at exit: the recorder tries again
# (at most 8 runs, each ~5 s) until ab left at least one connect in flight. Must say: at most info,
# the path's loss; no connect timeout blamed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require tcpdump ip nft ab nginx python3

SCENARIO=syn-unanswered-client-stop-ab
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
P="$CC_RECORD_DIR/programs"
SNS=ccabsrv

cc_netns_up ccabcli
ip netns del "$SNS" 2>/dev/null || true
ip netns add "$SNS"
trap 'cc_cleanup; ip netns del "$SNS" 2>/dev/null || true; rm -rf "$WORK"' EXIT
ip link add ccabc type veth peer name ccabs
ip link set ccabc netns "$CC_NS"
ip link set ccabs netns "$SNS"
cc_in ip addr add 10.91.1.1/24 dev ccabc
cc_in ip link set ccabc up
ip netns exec "$SNS" ip link set lo up
ip netns exec "$SNS" ip addr add 10.91.1.2/24 dev ccabs
ip netns exec "$SNS" ip link set ccabs up
cc_in ethtool -K ccabc tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$SNS" ethtool -K ccabs tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$SNS" nft -f - <<'NFT'
table inet pathloss {
  chain input { type filter hook input priority 0; policy accept;
    ip saddr 10.91.1.1 tcp dport 80 numgen random mod 100 < 3 counter drop
  }
  chain output { type filter hook output priority 0; policy accept;
    ip daddr 10.91.1.1 tcp sport 80 numgen random mod 100 < 3 counter drop
  }
}
NFT

mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log $WORK/nginx/access.log;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  keepalive_timeout 30s;
  server { listen 10.91.1.2:80 backlog=511; location / { return 200 "ok\n"; } }
}
CONF
ip netns exec "$SNS" nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
CC_PIDS+=("$!")
for i in $(seq 1 100); do ip netns exec "$SNS" ss -Hltn 'sport = :80' | grep -q . && break; sleep 0.05; done

for try in $(seq 1 8); do
  : >"$WORK/nginx/access.log"
  ip netns exec "$SNS" nft reset counters table inet pathloss >/dev/null
  ip netns exec "$CC_NS" tcpdump -i ccabc -U --immediate-mode -n --time-stamp-precision=nano -s 0 -w "$OUT" 'tcp port 80' 2>"$WORK/tcpdump.log" &
  CC_TCPDUMP_PID="$!"
  for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.05; done
  sleep 0.3
  date +%s.%N >"$WORK/ab.start"
  cc_in timeout 60 ab -n 200 -c 10 http://10.91.1.2/ >"$WORK/ab.log" 2>&1 || true
  date +%s.%N >"$WORK/ab.end"
  # Long enough for the server's resent SYN-ACKs (1 s, 3 s) to meet the closed sockets.
  sleep 3.5
  cc_capture_stop
  ip netns exec "$SNS" nft list table inet pathloss >"$WORK/nft.txt"
  if python3 "$P/ab-stop-meta.py" --capture "$OUT" --meta "$META" --ab-log "$WORK/ab.log" --ab-start "$(cat "$WORK/ab.start")" \
      --ab-end "$(cat "$WORK/ab.end")" --access-log "$WORK/nginx/access.log" --nft "$WORK/nft.txt" \
      --software "$(ab -V | head -1)" "$(nginx -v 2>&1)" "$(nft --version)"; then
    echo "record: run $try left connects in flight at ab's exit: kept" >&2
    exit 0
  fi
  echo "record: run $try left no connect in flight at ab's exit: again" >&2
done
echo "record: no run left a connect in flight" >&2
exit 1
