#!/usr/bin/env bash
# A masquerading router's conntrack forgets an idle keep-alive connection before the server's own
# idle close (blind round 17, s14), seen by "tcpdump -i any" on the router: both sides of the NAT in
# one file (the client's veth with 10.98.0.1, the server's with the router's 10.98.1.254), so each
# connection is there twice and analyzed once. The router (nftables masquerade, conntrack
# established timeout CT s, nf_conntrack_tcp_loose=0, `ct state invalid drop` in forward) forgets
# the connection after CT s idle; the Node server closes it 1 s after its keepAliveTimeout (KA_MS): its FIN
# reaches the router with no conntrack entry, so it is not translated back and the router's own
# stack answers it with a RST in the client's name (TTL 64; the client's forwarded packets have 63),
# and the client never sees the close. The client (python http.client) reuses the connection after
# PAUSE2 s: the router drops the request and its retransmissions, the client times out. Ground
# truth: the client's log, the server's FIN and the router's RST measured in the capture.
# Writes samples/middlebox-idle-fin-nat-any.pcap and .meta.json. Bounded: ~12 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-any.sh"
cc_require node python3 tcpdump tshark ip nft

SCENARIO=middlebox-idle-fin-nat-any
SERVER_IP=10.98.1.2
ROUTER_S=10.98.1.254
CT=2
KA_MS=3500
PAUSE1=1
PAUSE2=6
TIMEOUT=2

cc_netns_up cc-x17-fin-r           # the masquerading router, where tcpdump runs (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
C_NS=cc-x17-fin-c
S_NS=cc-x17-fin-s
ccb_netns_add "$C_NS"
ccb_netns_add "$S_NS"
cc_in sysctl -qw net.ipv4.ip_forward=1
ccany_veth "$C_NS" veth-c 10.98.0.1/24 10.98.0.254
ccany_veth "$S_NS" veth-s "$SERVER_IP/24" "$ROUTER_S"
cc_in ip addr add 10.98.0.254/24 dev veth-c
cc_in ip addr add "$ROUTER_S/24" dev veth-s
cc_in nft -f - <<NFT
table ip cc_x17 {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ct state invalid counter drop
  }
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 10.98.0.0/24 oifname "veth-s" counter masquerade
  }
}
NFT
# The conntrack sysctls exist once the table above makes the namespace track connections.
cc_in sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established="$CT"
cc_in sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
[ "$(cc_in sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)" = "$CT" ] ||
  { echo "record: $SCENARIO: the router's conntrack timeout did not apply" >&2; exit 1; }

ccb_bg "$S_NS" node "$CCB_PROGRAMS/b-http-server.js" --host "$SERVER_IP" --port 8080 --keep-alive-timeout "$KA_MS" 2>"$WORK/server.log"
ccb_wait_port "$S_NS" 8080
ccb_capture_start "$CC_NS" any "$OUT" "tcp port 8080"
: >"$WORK/client.log"
ip netns exec "$C_NS" timeout 20 python3 "$CCB_PROGRAMS/x17-idle-client.py" --host "$SERVER_IP" --port 8080 \
  --pause1 "$PAUSE1" --pause2 "$PAUSE2" --timeout "$TIMEOUT" --log "$WORK/client.log"
sleep 0.5
cc_in nft list table ip cc_x17 >"$WORK/nft-counters.txt"
cc_capture_stop
cat "$WORK/client.log"

# Ground truth: the client's log (two answers, then the stale reuse timed out) and the capture
# (the server's FIN on the server's side, answered by a RST from the router's own stack, TTL 64,
# where the client's forwarded packets have 63; no FIN from the server on the client's side).
python3 - "$WORK/client.log" "$OUT" "$SERVER_IP" "$ROUTER_S" "$WORK/template.json" "$CT" "$KA_MS" "$PAUSE1" "$PAUSE2" "$TIMEOUT" "$(node -v)" <<'PY'
import json, subprocess, sys
log, cap, server, router, template, ct, ka_ms, p1, p2, timeout, node = sys.argv[1:]
rows = [json.loads(l) for l in open(log) if l.strip()]
reqs = [r for r in rows if "uri" in r]
assert [r.get("status") for r in reqs[:2]] == [200, 200], reqs
assert reqs[2].get("error") in ("TimeoutError", "timeout"), reqs[2]
port = reqs[0]["port"]
out = subprocess.run(["tshark", "-r", cap, "-T", "fields", "-e", "frame.time_relative", "-e", "ip.src", "-e", "tcp.srcport", "-e", "ip.dst",
                      "-e", "tcp.dstport", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "ip.ttl", "-e", "tcp.len"],
                     check=True, capture_output=True, text=True).stdout
pk = [l.split("\t") for l in out.split("\n") if l.strip()]
fins = [p for p in pk if p[1] == server and p[5] == "1"]
assert len(fins) >= 1 and all(p[3] == router for p in fins), f"server FIN to the router's address expected: {fins}"
rsts = [p for p in pk if p[1] == router and p[6] == "1"]
assert rsts and all(p[7] == "64" for p in rsts), f"router RST (TTL 64) expected: {rsts}"
fwd_ttls = sorted({p[7] for p in pk if p[1] == router and p[6] != "1"})
assert fwd_ttls == ["63"], f"forwarded client packets TTL 63 expected: {fwd_ttls}"
assert not [p for p in pk if p[1] == server and p[3] == "10.98.0.1" and p[5] == "1"], "the client saw the server's FIN"
json.dump({
  "scenario": "middlebox-idle-fin-nat-any",
  "description": f"tcpdump -i any on a masquerading router namespace (nftables masquerade of 10.98.0.0/24, conntrack established timeout {ct} s, nf_conntrack_tcp_loose=0, forward 'ct state invalid drop') between a python http.client keep-alive client (10.98.0.1) and a Node {node} http server on {server}:8080 with keepAliveTimeout {int(ka_ms)/1000} s, which closes an idle socket 1 s later ({int(ka_ms)/1000 + 1} s idle; keepAliveTimeout 1000 closes after 2.0 s in keepalive-race-nat-any) (blind round 17, s14). GET /a, GET /b after {p1} s idle (answered), then GET /c after {p2} s idle with a {timeout} s socket timeout. The router forgets the idle connection after {ct} s; the server closes it at {int(ka_ms)/1000 + 1} s: its FIN reaches the router with no conntrack entry, is not translated back, and the router's own stack answers it with a RST in the client's name (TTL 64; the client's forwarded packets have 63); the client never sees the close. The reuse is dropped by the router (ct state invalid) with its retransmissions; the client times out. Each connection is in the capture twice (client's veth, server's veth after the masquerade): analyzed once.",
  "software": [f"node {node} (b-http-server.js)", "python3 http.client (x17-idle-client.py)", "tcpdump -i any", "nftables masquerade, Linux conntrack"],
  "configured": {"middleboxIdleTimeout": float(ct), "serverIdleTimeout": int(ka_ms) / 1000 + 1, "clientPauses": [float(p1), float(p2)], "clientTimeout": float(timeout)},
  "silent": False,
  "facts": {},
  "expectMode": "silent",
  "observed": {"clientPort": port, "clientLog": reqs, "serverFins": len(fins), "routerRsts": len(rsts), "routerRstTtl": 64, "forwardedClientTtl": 63},
}, open(template, "w"), indent=2)
PY
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" --http-port 8080
python3 - "$WORK/$SCENARIO.meta.json" "$WORK/template.json" "$SERVER_IP" <<'PY'
import json, sys
meta_path, template_path, server = sys.argv[1:]
meta = json.load(open(meta_path))
observed = json.load(open(template_path))["observed"]
meta["observed"] = observed
port = observed["clientPort"]
for e in meta["expect"]:
    if e["client"].startswith("10.98.1.254:"):
        e["notes"] = "the same connection after the masquerade (its SYN repeats the client's initial sequence number): listed, not analyzed again"
    elif e["client"] == f"10.98.0.1:{port}":
        e.update(kind="middlebox-idle-timeout", notes="GET /c after the pause dropped by the router (conntrack forgot the connection); past the masquerade the server had closed it, its FIN answered by the router's RST in the client's name (TTL 64 vs 63), never reaching the client")
json.dump(meta, open(meta_path, "w"), indent=2)
open(meta_path, "a").write("\n")
PY
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
