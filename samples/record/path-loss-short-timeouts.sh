#!/usr/bin/env bash
# path-loss-short-timeouts: a path losing 40 % of packets both ways, an idle fast server, and a client
# whose timeouts are shorter than one retransmission (blind round 11, S4c40). Two namespaces joined by
# a veth: the client (10.89.1.1) and a Python ThreadingHTTPServer on 10.89.1.2:8080 (programs/pl-server.py,
# answers GET /l?n=12000 at once). netem is not in every kernel, so the loss is nftables in the server's
# namespace: `numgen random mod 10 < 4 drop` on its input (client->server) and output (server->client)
# for port 8080, so SYNs, SYN-ACKs, requests, responses and ACKs are all lost alike. The client
# (programs/pl-client.py: python requests Session, timeout=0.5, 25 GETs 0.3 s apart, no retries) fails
# most requests: ConnectTimeout when a SYN or SYN-ACK is lost (the 1 s SYN RTO is past 0.5 s), ReadTimeout
# when the request or response is. Captured on the client's veth, as an SRE would.
# Ground truth: the client's and the server's logs (programs/pl-meta.py writes the meta from them).
# Must say: the path lost packets (no full accept queue, no hung application), and infer no connect
# timeout longer than the configured 0.5 s. Bounded: ~25 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require tcpdump python3 ip nft

SCENARIO=path-loss-short-timeouts
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
P="$CC_RECORD_DIR/programs"
SNS=ccplsrv

cc_netns_up ccplcli
ip netns del "$SNS" 2>/dev/null || true
ip netns add "$SNS"
trap 'cc_cleanup; ip netns del "$SNS" 2>/dev/null || true; rm -rf "$WORK"' EXIT
ip link add ccplc type veth peer name ccpls
ip link set ccplc netns "$CC_NS"
ip link set ccpls netns "$SNS"
cc_in ip addr add 10.89.1.1/24 dev ccplc
cc_in ip link set ccplc up
ip netns exec "$SNS" ip link set lo up
ip netns exec "$SNS" ip addr add 10.89.1.2/24 dev ccpls
ip netns exec "$SNS" ip link set ccpls up
# No segmentation offload: the capture shows the segments the wire carries (and loses).
cc_in ethtool -K ccplc tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$SNS" ethtool -K ccpls tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$SNS" nft -f - <<'NFT'
table inet pathloss {
  chain input { type filter hook input priority 0; policy accept;
    ip saddr 10.89.1.1 tcp dport 8080 numgen random mod 10 < 4 counter drop
  }
  chain output { type filter hook output priority 0; policy accept;
    ip daddr 10.89.1.1 tcp sport 8080 numgen random mod 10 < 4 counter drop
  }
}
NFT

ip netns exec "$SNS" python3 "$P/pl-server.py" 10.89.1.2 8080 "$WORK/server.log" &
CC_PIDS+=("$!")
for i in $(seq 1 100); do ip netns exec "$SNS" ss -Hltn 'sport = :8080' | grep -q . && break; sleep 0.05; done

ip netns exec "$CC_NS" tcpdump -i ccplc -U --immediate-mode -n --time-stamp-precision=nano -s 0 -w "$OUT" 'tcp port 8080' 2>"$WORK/tcpdump.log" &
CC_TCPDUMP_PID="$!"
for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
cc_in timeout 60 python3 "$P/pl-client.py" "http://10.89.1.2:8080/l?n=12000" 25 0.5 0.3 "$WORK/client.log"
sleep 1
cc_capture_stop
ip netns exec "$SNS" nft list table inet pathloss >"$WORK/nft.txt"
python3 "$P/pl-meta.py" --capture "$OUT" --meta "$META" --client-log "$WORK/client.log" --server-log "$WORK/server.log" --nft "$WORK/nft.txt" \
  --software "python $(python3 -c 'import sys;print(sys.version.split()[0])') http.server ThreadingHTTPServer (pl-server.py)" \
  "python requests $(python3 -c 'import requests;print(requests.__version__)') (pl-client.py)" "$(nft --version)"
