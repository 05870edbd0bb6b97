#!/usr/bin/env bash
# A refusal behind a DNAT, seen by "tcpdump -i any" on the translating router (blind test 12,
# scene 2): the client namespace talks to 10.96.0.10, the router namespace in the middle DNATs
# 10.96.0.10:80 to a Node http server on 10.98.1.2:8080 and 10.96.0.10:82 to 10.98.1.2:9999, where
# nothing listens: the backend's kernel answers the SYN with RST, which the router translates
# back. Each of those connections is in the capture twice (the client's veth with 10.96.0.10, the
# server's with 10.98.1.2). Near miss: the router's own 10.98.0.254:81, where nothing listens,
# refuses without any translation (one view). curl: GET / on :80 (200), then :82 and :81 (exit 7).
# conncheck must name 10.98.1.2, port 9999, as the host to check for :82's refusal (the RST came
# from there), and leave :81's remedy on the router. Ground truth: curl's exit codes and the
# capture (pcap-facts.py measures it; the recorder checks each translated view's SYN repeats the
# client's initial sequence number). Writes samples/refused-dnat-any.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip nft curl

SCENARIO=refused-dnat-any
SERVICE_IP=10.96.0.10
POD_IP=10.98.1.2
ROUTER_IP=10.98.0.254

cc_netns_up cc-x12-dnat-r          # the translating router, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
C_NS=cc-x12-dnat-c
S_NS=cc-x12-dnat-s
ccb_netns_add "$C_NS"
ccb_netns_add "$S_NS"
cc_in sysctl -qw net.ipv4.ip_forward=1
ccany_veth "$C_NS" veth-c 10.98.0.1/24 "$ROUTER_IP"
ccany_veth "$S_NS" veth-s "$POD_IP/24" 10.98.1.254
cc_in ip addr add "$ROUTER_IP/24" dev veth-c
cc_in ip addr add 10.98.1.254/24 dev veth-s
cc_in nft -f - <<NFT
table ip cc_nat {
  chain prerouting {
    type nat hook prerouting priority dstnat;
    ip daddr $SERVICE_IP tcp dport 80 dnat to $POD_IP:8080
    ip daddr $SERVICE_IP tcp dport 82 dnat to $POD_IP:9999
  }
}
NFT
ip netns exec "$C_NS" ip route add "$SERVICE_IP/32" via "$ROUTER_IP"

ccb_bg "$S_NS" node "$CCB_PROGRAMS/b-http-server.js" --host "$POD_IP" --port 8080 2>"$WORK/server.log"
ccb_wait_port "$S_NS" 8080
ccb_capture_start "$CC_NS" any "$OUT" "tcp port 80 or tcp port 81 or tcp port 82 or tcp port 8080 or tcp port 9999"
curl_c() { # curl_c ROLE URL: one curl from the client namespace, its outcome in client.log
  ip netns exec "$C_NS" curl -sS -o /dev/null --max-time 3 -w "$1 %{http_code} %{exitcode}\n" "$2" >>"$WORK/client.log" 2>>"$WORK/curl.err" || true
}
curl_c ok "http://$SERVICE_IP:80/ok"
sleep 0.2
curl_c dnat-refused "http://$SERVICE_IP:82/"
sleep 0.2
curl_c router-refused "http://$ROUTER_IP:81/"
cc_capture_stop
cat "$WORK/client.log"
grep -qx "ok 200 0" "$WORK/client.log" || { echo "record: $SCENARIO: GET / through the DNAT failed" >&2; exit 1; }
grep -qx "dnat-refused 000 7" "$WORK/client.log" || { echo "record: $SCENARIO: :82 was not refused" >&2; exit 1; }
grep -qx "router-refused 000 7" "$WORK/client.log" || { echo "record: $SCENARIO: :81 was not refused" >&2; exit 1; }

cat >"$WORK/template.json" <<JSON
{
  "scenario": "$SCENARIO",
  "description": "tcpdump -i any on a router namespace that DNATs (nftables) $SERVICE_IP:80 to a Node http server on $POD_IP:8080 and $SERVICE_IP:82 to $POD_IP:9999, where nothing listens (blind round 12, scene 2). curl in the client namespace (10.98.0.1): GET /ok on :80 (200), then a connect to :82, refused by the backend's kernel (RST from $POD_IP:9999, translated back; curl exit 7), then a connect to the router's own $ROUTER_IP:81, where nothing listens (refused by the router, no translation; curl exit 7). Each translated connection is in the capture twice (on veth-c with the Service address, on veth-s with the backend's): analyzed once. The :82 refusal's remedy must send the reader to $POD_IP (port 9999), not to $SERVICE_IP; :81's stays on the router.",
  "software": ["node $(node -v) (b-http-server.js)", "$(curl --version | head -1 | cut -d' ' -f1-2)", "tcpdump -i any", "nftables dnat"],
  "configured": {"dnat": {"$SERVICE_IP:80": "$POD_IP:8080", "$SERVICE_IP:82": "$POD_IP:9999"}, "routerOwnClosedPort": 81},
  "silent": false,
  "facts": {"connections": 5, "rst": 3, "httpRequests": 2, "httpResponses": 2},
  "expectMode": "refused"
}
JSON
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" \
  --http-port 80 --http-port 8080
# The translated views: each must repeat a client-side SYN's initial sequence number (the same
# connection after the DNAT); conncheck lists them, analyzed once, so they carry no finding.
python3 - "$WORK/$SCENARIO.meta.json" "$OUT" "$POD_IP" <<'PY'
import json, subprocess, sys
meta_path, capture, pod = sys.argv[1:]
rows = subprocess.run(["tshark", "-r", capture, "-Y", "tcp.flags == 0x002", "-T", "fields", "-e", "ip.dst", "-e", "tcp.dstport", "-e", "tcp.seq_raw"],
                      check=True, capture_output=True, text=True).stdout.split("\n")
syns = [r.split("\t") for r in rows if r.strip()]
front = {isn for dst, port, isn in syns if dst != pod}
translated = [(dst, port, isn) for dst, port, isn in syns if dst == pod]
assert len(translated) == 2 and all(isn in front for _, _, isn in translated), f"translated SYNs: {translated}"
meta = json.load(open(meta_path))
for e in meta["expect"]:
    if e["server"].startswith(pod + ":"):
        e.update(kind=None, notes="the same connection after the DNAT (its SYN repeats the client's initial sequence number): listed, not analyzed again")
    elif e["kind"] == "connection-refused" and e["server"].endswith(":82"):
        e["notes"] = f"curl exit 7; the RST came from {pod}:9999 behind the DNAT, where nothing listens: the remedy names that host and port"
    elif e["kind"] == "connection-refused":
        e["notes"] = "curl exit 7; the router's own port, no translation: the remedy stays on the router"
json.dump(meta, open(meta_path, "w"), indent=2)
open(meta_path, "a").write("\n")
PY
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
