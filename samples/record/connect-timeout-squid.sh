#!/usr/bin/env bash
# Backend connect timeout behind Squid 5.7: Squid in accelerator mode on 127.0.0.2:8080 with two
# cache_peer originservers: /x/ goes to 127.0.0.3:9009 (connect-timeout=2 on its cache_peer line;
# up when Squid starts, as Squid probes its peers then; then stopped, and an nftables rule drops
# every SYN to it), anything else to a Node http server on 127.0.0.3:9001.
# All on one loopback: Squid connects from 127.0.0.1, the clients' address. curl asks /ok/1 and
# /ok/2, then /x/1..3 0.3 s apart, then /x/4 and /x/5. Squid's SYN is never answered and Squid
# gives up at its peer connect timeout (checked on its whole-second timer tick) and answers an
# error (access log). Writes samples/connect-timeout-squid.pcap and .meta.json (only when
# programs/x8-meta.py finds capture and access log agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x8.sh"
cc_require squid node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-squid
DESCRIPTION="Backend connect timeout behind Squid 5.7: Squid in accelerator mode on 127.0.0.2:8080 with two cache_peer originservers: /x/ goes to 127.0.0.3:9009 (cache_peer connect-timeout=2), up when Squid started (Squid probes its peers then and never selects one whose probe failed), then stopped, with an nftables rule dropping every SYN to it; anything else to a Node http server on 127.0.0.3:9001 (all on one loopback: Squid connects from 127.0.0.1, the clients' address). curl fetches /ok/1 and /ok/2 on one connection (200), then /x/1..3 0.3 s apart, then /x/4 and /x/5. Each time Squid's SYN is sent and retransmitted by the kernel, never answered, and Squid gives up at its peer connect timeout, checked on its whole-second timer tick (2.1 to 2.9 s after the requests in two recordings: see observed.timeouts), and answers 503 Service Unavailable (access log TCP_MISS/503; cache_peer connect-fail-limit not reached). The waits are too spread for one value: conncheck must report all five, naming no timeout."
cc_netns_up ccx8-sct
ccb_workdir
WORK="$CCB_WORK"
ccb_proxy_backend 5000
X8_SQUID_PRE=("acl xpath urlpath_regex ^/x/"
  "cache_peer 127.0.0.3 parent 9009 0 no-query no-digest originserver name=down connect-timeout=2"
  "cache_peer_access down allow xpath" "cache_peer_access down deny all" "cache_peer_access origin deny xpath")
x8_squid_conf "$WORK/squid.conf" 127.0.0.2:8080 127.0.0.3 9001
# Squid probes each cache_peer with a TCP connect at startup and never selects one whose probe
# failed: the /x/ backend is up at first, then stops and its SYNs are dropped (a host gone dark).
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9009 --keep-alive-timeout 5000 2>"$WORK/backend-x.log"
BACKEND_X_PID="$CC_LAST_PID"
cc_wait_port 9009
x8_squid_start "$CC_NS" "$WORK/squid.conf"
cc_wait_port 8080
sleep 1
kill "$BACKEND_X_PID"; wait "$BACKEND_X_PID" 2>/dev/null || true
ccb_drop_syns "$CC_NS" ccx8_sct 9009
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001 or tcp port 9009"
cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.2:8080/ok/1 -o /dev/null http://127.0.0.2:8080/ok/2
CLIENTS=()
for i in 1 2 3; do
  cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i" &
  CLIENTS+=("$!")
  sleep 0.3
done
wait "${CLIENTS[@]}"
for i in 4 5; do cc_in curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total}\n' "http://127.0.0.2:8080/x/$i"; done
cc_capture_stop
x8_squid_stop
cc_in nft delete table inet ccx8_sct
[ -n "${X8_DEBUG_DIR:-}" ] && { mkdir -p "$X8_DEBUG_DIR/$SCENARIO"; cp -r "$OUT" "$WORK"/squid "$X8_DEBUG_DIR/$SCENARIO/" || true; }
python3 "$CCB_PROGRAMS/x8-meta.py" "$SCENARIO" --proxy squid --capture "$OUT" --meta "$META" \
  --proxy-log "$WORK/squid/access.log" --listen 127.0.0.2:8080 --backend 127.0.0.3:9009 --ok-backend 127.0.0.3:9001 \
  --configured proxyConnectTimeout=2 --description "$DESCRIPTION" \
  --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "node $(node -v)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
