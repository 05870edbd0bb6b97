#!/usr/bin/env bash
# SYNs dropped on the router the capture was taken on (blind round 14, scene 9): client, router and
# server namespaces; "tcpdump -i any" in the router, which forwards 10.71.1.2 <-> 10.71.2.2, so every
# forwarded packet is in the capture twice (in on veth-c, out on veth-s; TTL 64, then 63). nginx on
# the server serves :8080 and :8081. For DROP_SECONDS an nft rule in the router's forward chain
# drops SYNs to :8081 (with a counter). curl in the client namespace: two fetches of :8081 and one of
# :8080 before; during the drop two connects to :8081 with --connect-timeout 1.5 (SYN, its
# retransmission at 1 s, given up: curl exit 28), one fetch of :8080 (passes: other port), and one
# connect to :8081 with --connect-timeout 4 begun 0.6 s before the rule goes, whose retransmitted SYN
# gets through (answered late, 200); two fetches of :8081 after. The dropped SYNs are seen once (on
# their way in), everything else twice: conncheck must say the SYNs were dropped on the capturing
# host and lead the remedy with its rules, not the server's backlog. Ground truth: curl's exit codes,
# ports and connect times, the nft counter, nginx's access log; the recorder checks the capture
# holds each dropped SYN once and the counter counts them. Writes samples/syn-dropped-router-any.pcap
# and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require nginx curl python3 tcpdump tshark ip nft

SCENARIO=syn-dropped-router-any
CLIENT_IP=10.71.1.2
SERVER_IP=10.71.2.2
DROP_SECONDS=4

cc_netns_up cc-rd-router           # the router, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
C_NS=cc-rd-client
S_NS=cc-rd-server
ccb_netns_add "$C_NS"
ccb_netns_add "$S_NS"
cc_in sysctl -qw net.ipv4.ip_forward=1
ccany_veth "$C_NS" veth-c "$CLIENT_IP/24" 10.71.1.1
ccany_veth "$S_NS" veth-s "$SERVER_IP/24" 10.71.2.1
cc_in ip addr add 10.71.1.1/24 dev veth-c
cc_in ip addr add 10.71.2.1/24 dev veth-s
cc_in nft -f - <<NFT
table inet cc_fw {
  counter syns_dropped { }
  chain forward {
    type filter hook forward priority 0; policy accept;
  }
}
NFT

mkdir -p "$WORK/www"
printf 'hello\n' >"$WORK/www/index.html"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server { listen $SERVER_IP:8080; listen $SERVER_IP:8081; root $WORK/www; }
CONF
ccb_bg "$S_NS" nginx -p "$WORK" -c "$WORK/nginx.conf"
ccb_wait_port "$S_NS" 8081

# fetch ROLE PORT CONNECT_TIMEOUT: one curl from the client namespace; its outcome in client.log.
fetch() {
  ip netns exec "$C_NS" curl -sS -o /dev/null --connect-timeout "$3" --max-time 6 \
    -w "$1 %{local_port} %{http_code} %{exitcode} %{time_connect}\n" "http://$SERVER_IP:$2/" >>"$WORK/client.log" 2>>"$WORK/curl.err" || true
}

ccb_capture_start "$CC_NS" any "$OUT" "tcp port 8080 or tcp port 8081"
sleep 0.5 # "any" attaches to each interface after it reports listening
fetch before 8081 2; sleep 0.2
fetch before 8081 2; sleep 0.2
fetch other 8080 2; sleep 0.3
cc_in nft add rule inet cc_fw forward tcp dport 8081 tcp flags '&' '(syn | ack)' == syn counter name syns_dropped drop
date +%s.%N >"$WORK/drop-on"
fetch timeout 8081 1.5
fetch other 8080 2
fetch timeout 8081 1.5
# Begun 0.6 s before the rule goes: its first SYN is dropped, its retransmission 1 s later is not.
sleep "$(python3 -c "import time; print(max(0.0, $(cat "$WORK/drop-on") + $DROP_SECONDS - 0.6 - time.time()))")"
fetch late 8081 4 &
LATE_PID=$!
sleep 0.6
cc_in nft flush chain inet cc_fw forward
date +%s.%N >"$WORK/drop-off"
wait "$LATE_PID"
sleep 0.3
fetch after 8081 2; sleep 0.2
fetch after 8081 2
cc_capture_stop
cc_in nft -j list counter inet cc_fw syns_dropped >"$WORK/nft.json"
cat "$WORK/client.log" "$WORK/nft.json"; echo

python3 - "$WORK" <<'PY'
import json, sys
work = sys.argv[1]
rows = [l.split() for l in open(f"{work}/client.log") if l.strip()]
def role(r): return [x for x in rows if x[0] == r]
assert len(role("timeout")) == 2 and all(x[3] == "28" for x in role("timeout")), f"timeouts: {role('timeout')}"
assert all(x[2] == "200" and x[3] == "0" for x in role("before") + role("after") + role("other")), rows
late = role("late")
assert len(late) == 1 and late[0][2] == "200" and float(late[0][4]) > 0.9, f"late: {late}"
PY

cat >"$WORK/template.json" <<JSON
{
  "scenario": "$SCENARIO",
  "description": "tcpdump -i any on a router namespace forwarding between a client (curl, $CLIENT_IP) and nginx ($SERVER_IP:8080 and :8081) (blind round 14, scene 9). Every forwarded packet is in the capture twice (in on veth-c with TTL 64, out on veth-s with TTL 63). For $DROP_SECONDS s an nft rule in the router's forward chain dropped SYNs to :8081: two connects with --connect-timeout 1.5 sent their SYN and its retransmission and gave up (curl exit 28), a third begun 0.6 s before the rule went was answered on its retransmitted SYN (connect took about 1 s, 200). Those SYNs are seen once, on their way in; every other packet twice, :8080 traffic during the drop included. conncheck must report the three attempts and say the SYNs were dropped on the capturing host (its forward rules), not by nginx's listener.",
  "software": ["$(nginx -v 2>&1 | cut -d' ' -f3)", "$(curl --version | head -1 | cut -d' ' -f1-2)", "tcpdump -i any", "nftables $(nft --version | cut -d' ' -f2)", "Linux $(uname -r)"],
  "configured": {"forwardDrop": {"port": 8081, "seconds": $DROP_SECONDS, "match": "tcp flags & (syn | ack) == syn"}, "curlConnectTimeouts": {"timeout": 1.5, "late": 4}},
  "silent": false,
  "facts": {"connections": 9, "httpRequests": 7, "httpResponses": 7}
}
JSON
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" \
  --http-port 8080 --http-port 8081
# The dropped SYNs: each seen once (its copy on the way out missing), and as many as the counter
# counted; every other SYN seen twice. The expected findings from curl's log.
python3 - "$WORK" "$OUT" <<'PY'
import json, subprocess, sys
from collections import Counter
work, capture = sys.argv[1:]
meta_path = f"{work}/syn-dropped-router-any.meta.json"
rows = [l.split() for l in open(f"{work}/client.log") if l.strip()]
counter = json.load(open(f"{work}/nft.json"))["nftables"][1]["counter"]
out = subprocess.run(["tshark", "-r", capture, "-Y", "tcp.flags == 0x002", "-T", "fields", "-e", "tcp.srcport", "-e", "ip.ttl"],
                     check=True, capture_output=True, text=True).stdout
# Per client port: SYNs seen on the way in (TTL 64, as the client sent them) and on the way out (63).
ttls = Counter(tuple(r.split("\t")) for r in out.splitlines() if r.strip())
assert set(t for _, t in ttls) == {"64", "63"}, ttls
ports_once = Counter({port: n - ttls[(port, "63")] for (port, ttl), n in ttls.items() if ttl == "64" and n > ttls[(port, "63")]})
assert sum(ports_once.values()) == counter["packets"], f"SYNs seen once {dict(ports_once)}, nft counted {counter['packets']}"
# curl names no local port for a connect it gave up: those are the ports whose every SYN was dropped.
late = [r for r in rows if r[0] == "late"][0]
timeouts = [r for r in rows if r[0] == "timeout"]
assert ports_once[late[1]] == 1, f"the late connect's dropped SYNs: {ports_once[late[1]]}"
given_up = sorted(p for p in ports_once if p != late[1])
assert len(given_up) == len(timeouts) and all(ports_once[p] == 2 and ttls[(p, "63")] == 0 for p in given_up), (given_up, dict(ports_once))
failed = {late[1]: late, **{p: ["timeout", p] for p in given_up}}
meta = json.load(open(meta_path))
meta["observed"] = {
    "nftSynsDropped": counter["packets"],
    "synsSeenOnce": sum(ports_once.values()),
    "curl": [{"role": r[0], "localPort": int(r[1]), "status": r[2], "exit": int(r[3]), "connectSeconds": float(r[4])} for r in rows],
    "givenUpPorts": [int(p) for p in given_up],
}
for e in meta["expect"]:
    port = e["client"].rsplit(":", 1)[1]
    if port in failed:
        r = failed[port]
        e["kind"] = "syn-unanswered"
        e["notes"] = (f"curl exit 28 (connect timeout 1.5 s): its {ports_once[port]} SYNs (the first and its retransmission at 1 s) dropped by the router's forward rule, each seen once" if r[0] == "timeout"
                      else f"answered late: its first SYN dropped (seen once), its retransmission after the rule went seen twice and answered; curl time_connect {r[4]} s")
json.dump(meta, open(meta_path, "w"), indent=2)
open(meta_path, "a").write("\n")
PY
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
