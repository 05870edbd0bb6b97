#!/usr/bin/env bash
# Connections rejected by ICMP on the way, and one dropped (the near miss). Three namespaces:
# client (10.77.0.1, fd77::1; where tcpdump runs, on its veth) -- router (nftables) -- server
# (10.77.1.2, fd77:1::2; python3 http.server on 8084 and 8085, both families). The router's
# forward chain rejects
#   8080  with icmp port-unreachable   / icmpv6 port-unreachable   (iptables REJECT's default, kube-proxy's answer for a Service with no endpoints)
#   8081  with icmp admin-prohibited   / icmpv6 admin-prohibited
#   8082  with icmp host-unreachable   / icmpv6 addr-unreachable
#   8083  drop (near miss: an unanswered SYN, retransmitted: syn-unanswered, not a rejection)
# and the server's own input chain rejects 8085 (nft `reject`: port unreachable from the server's
# own address). 8084 is served (200): the path works. ICMP rate limits are off in the router and
# the server (net.ipv4.icmp_ratelimit=0, net.ipv6.icmp.ratelimit=0) so that every SYN gets its error.
# For each family and port curl (--connect-timeout 2.5) then a python socket.create_connection
# (timeout 2.5) connect once; their exit codes and errno are logged and checked into the meta.
# Over IPv6 each rejected client resent its SYN once, 1 s later, and failed on that SYN's error:
# the first error arrived (within 0.1 ms, on veths) while connect() still held the socket, and
# Linux keeps an error then as a soft one (sk_err_soft). Over IPv4 they failed on the first.
# Writes samples/connection-rejected-icmp.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require curl python3 tcpdump tshark ip nft

SCENARIO=connection-rejected-icmp
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
R_NS=cc-icmp-r
S_NS=cc-icmp-s
WORK="$(mktemp -d)"

cc_netns_up cc-icmp-c
cleanup_all() {
  cc_cleanup
  ip netns del "$R_NS" 2>/dev/null || true
  ip netns del "$S_NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup_all EXIT
for ns in "$R_NS" "$S_NS"; do
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
done

ip link add veth-c netns "$CC_NS" type veth peer name veth-rc netns "$R_NS"
ip link add veth-s netns "$S_NS" type veth peer name veth-rs netns "$R_NS"
cc_in ip addr add 10.77.0.1/24 dev veth-c
cc_in ip -6 addr add fd77::1/64 dev veth-c nodad
cc_in ip link set veth-c up
cc_in ip route add default via 10.77.0.254
cc_in ip -6 route add default via fd77::fe
ip netns exec "$R_NS" ip addr add 10.77.0.254/24 dev veth-rc
ip netns exec "$R_NS" ip -6 addr add fd77::fe/64 dev veth-rc nodad
ip netns exec "$R_NS" ip addr add 10.77.1.254/24 dev veth-rs
ip netns exec "$R_NS" ip -6 addr add fd77:1::fe/64 dev veth-rs nodad
ip netns exec "$R_NS" ip link set veth-rc up
ip netns exec "$R_NS" ip link set veth-rs up
ip netns exec "$R_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0
ip netns exec "$S_NS" ip addr add 10.77.1.2/24 dev veth-s
ip netns exec "$S_NS" ip -6 addr add fd77:1::2/64 dev veth-s nodad
ip netns exec "$S_NS" ip link set veth-s up
ip netns exec "$S_NS" ip route add default via 10.77.1.254
ip netns exec "$S_NS" ip -6 route add default via fd77:1::fe
ip netns exec "$S_NS" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv6.icmp.ratelimit=0

ip netns exec "$R_NS" nft -f - <<'NFT'
table inet cc_icmp {
  chain forward {
    type filter hook forward priority 0;
    meta nfproto ipv4 tcp dport 8080 reject with icmp type port-unreachable
    meta nfproto ipv6 tcp dport 8080 reject with icmpv6 type port-unreachable
    meta nfproto ipv4 tcp dport 8081 reject with icmp type admin-prohibited
    meta nfproto ipv6 tcp dport 8081 reject with icmpv6 type admin-prohibited
    meta nfproto ipv4 tcp dport 8082 reject with icmp type host-unreachable
    meta nfproto ipv6 tcp dport 8082 reject with icmpv6 type addr-unreachable
    tcp dport 8083 drop
  }
}
NFT
ip netns exec "$S_NS" nft -f - <<'NFT'
table inet cc_icmp_host {
  chain input {
    type filter hook input priority 0;
    tcp dport 8085 reject
  }
}
NFT

ip netns exec "$S_NS" python3 -m http.server 8084 --bind :: >"$WORK/server.log" 2>&1 &
CC_PIDS+=("$!")
for i in $(seq 1 100); do
  ip netns exec "$S_NS" ss -Hltn 'sport = :8084' | grep -q . && break
  sleep 0.05
done

cat >"$WORK/connect.py" <<'PY'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    socket.create_connection((host, port), timeout=2.5).close()
    print(f"python {host} {port} connected")
except socket.timeout:
    print(f"python {host} {port} timeout")
except OSError as e:
    print(f"python {host} {port} {errno.errorcode.get(e.errno, e.errno)} {e.strerror}")
PY

# Neighbours resolved before the capture (one served request per family): a host unreachable must
# be the rule's, not a neighbour resolution's, and the first IPv6 SYN, sent while neighbour
# discovery ran, was resent at 1 s in a first recording.
cc_in curl -sS -o /dev/null --connect-timeout 3 http://10.77.1.2:8084/
cc_in curl -sS -o /dev/null --connect-timeout 3 'http://[fd77:1::2]:8084/'

# Capture on the client's veth: what the client host sees (its SYNs, the errors back).
ip netns exec "$CC_NS" tcpdump -i veth-c -U --immediate-mode -n --time-stamp-precision=nano -s 0 -w "$OUT" \
  'tcp or (icmp and icmp[0] != 8 and icmp[0] != 0) or (icmp6 and (ip6[40] == 1 or ip6[40] == 3))' 2>"$WORK/tcpdump.log" &
CC_TCPDUMP_PID="$!"
for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.log" 2>/dev/null && break; sleep 0.05; done

: >"$WORK/clients.log"
for host in 10.77.1.2 '[fd77:1::2]'; do
  bare="${host#[}"; bare="${bare%]}"
  for port in 8080 8081 8082 8085 8083 8084; do
    set +e
    err="$(cc_in curl -sS -o /dev/null -w '%{http_code}' --connect-timeout 2.5 "http://$host:$port/" 2>&1)"
    rc=$?
    set -e
    echo "curl $bare $port exit=$rc ${err//$'\n'/ }" >>"$WORK/clients.log"
    sleep 0.2
    cc_in python3 "$WORK/connect.py" "$bare" "$port" >>"$WORK/clients.log"
    sleep 0.2
  done
done
cc_capture_stop
cat "$WORK/clients.log"

python3 - "$OUT" "$WORK/clients.log" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" <<'PY'
import json, subprocess, sys
pcap, log, meta_path = sys.argv[1:4]
lines = [l.split() for l in open(log).read().splitlines() if l.strip()]
clients = {}
for f in lines:
    who, host, port = f[0], f[1], f[2]
    clients.setdefault(f"{host} {port}", {})[who] = " ".join(f[3:])
def fields(filter_, cols):
    out = subprocess.run(["tshark", "-r", pcap, "-Y", filter_, "-T", "fields", "-E", "separator=|"] + sum([["-e", c] for c in cols], []), capture_output=True, text=True, check=True).stdout
    return [l.split("|") for l in out.splitlines() if l]
errors = {}
for src, typ, code, dport in fields("icmp.type == 3", ["ip.src", "icmp.type", "icmp.code", "tcp.dstport"]):
    errors.setdefault(f"10.77.1.2 {dport}", []).append({"from": src.split(",")[0], "type": int(typ), "code": int(code)})
for src, typ, code, dport in fields("icmpv6.type == 1", ["ipv6.src", "icmpv6.type", "icmpv6.code", "tcp.dstport"]):
    errors.setdefault(f"fd77:1::2 {dport}", []).append({"from": src.split(",")[0], "type": int(typ), "code": int(code)})
syns = {}
for dst, dport in fields("tcp.flags.syn == 1 && tcp.flags.ack == 0", ["ip.dst", "tcp.dstport"]) + fields("ipv6 && tcp.flags.syn == 1 && tcp.flags.ack == 0", ["ipv6.dst", "tcp.dstport"]):
    if dst:
        syns[f"{dst} {dport}"] = syns.get(f"{dst} {dport}", 0) + 1
observed = {k: {"clients": v, "syns": syns.get(k, 0), "icmpErrors": errors.get(k, [])} for k, v in clients.items()}
# Checks: every rejected port's clients failed at once with the errno of its code, the dropped
# port timed out, the served one connected, and each rejected SYN got exactly one error.
want = {"8080": "ECONNREFUSED", "8081": None, "8082": "EHOSTUNREACH", "8085": "ECONNREFUSED"}
for k, o in observed.items():
    host, port = k.split()
    c = o["clients"]
    if port in want:
        assert c["curl"].startswith("exit=7"), (k, c)
        exp = want[port] if port != "8081" else ("EHOSTUNREACH" if ":" not in host else "EACCES")
        assert c["python"].startswith(exp), (k, c, exp)
        # One error per SYN. A SYN is retransmitted (once, at 1 s) only when its error came while
        # connect() still held the socket (Linux keeps it as a soft error): seen over IPv6 here.
        assert o["syns"] >= 2 and len(o["icmpErrors"]) == o["syns"], (k, o)
    elif port == "8083":
        assert c["curl"].startswith("exit=28") and c["python"] == "timeout", (k, c)
        assert o["syns"] >= 4 and not o["icmpErrors"], (k, o)
    else:
        assert c["curl"] == "exit=0 200" and c["python"] == "connected", (k, c)
servers = lambda port: [f"10.77.1.2:{port}", f"[fd77:1::2]:{port}"]
meta = {
    "scenario": "connection-rejected-icmp",
    "description": "Client, router and server namespaces; the capture is the client's veth. The router's nftables forward chain rejects port 8080 with icmp/icmpv6 port-unreachable, 8081 with admin-prohibited, 8082 with icmp host-unreachable / icmpv6 addr-unreachable, and drops 8083 (the near miss); the server's own input chain rejects 8085 (nft `reject`: port unreachable from the server's address); 8084 is served by python3 http.server. For IPv4 and IPv6, curl (--connect-timeout 2.5) then python socket.create_connection (timeout 2.5) connect once to each port. Every rejected SYN is answered by one ICMP error quoting it; over IPv4 the clients fail at once, over IPv6 each retransmits its SYN once (1 s later: the first error came while connect() still held the socket, a soft error) and fails on the second error (curl exit 7 after about 1 s, ECONNREFUSED / EHOSTUNREACH / EACCES); the dropped SYNs are retransmitted until the 2.5 s timeout.",
    "software": ["curl " + subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout.split()[1], "Python " + sys.version.split()[0] + " http.server and socket.create_connection", subprocess.run(["nft", "--version"], capture_output=True, text=True).stdout.strip()],
    "configured": {},
    "observed": observed,
    "facts": {
        "router": ["10.77.0.254", "fd77::fe"],
        "rejectedAtRouter": [8080, 8081, 8082],
        "rejectedAtServerHost": [8085],
        "dropped": [8083],
        "served": [8084],
        "clientErrno": {"8080": "ECONNREFUSED", "8081": "EHOSTUNREACH (IPv4) / EACCES (IPv6)", "8082": "EHOSTUNREACH", "8085": "ECONNREFUSED", "8083": "timeout"},
    },
    "expect": [
        *[{"kind": "connection-rejected-icmp", "server": s, "notes": "port unreachable from the router (10.77.0.254 / fd77::fe): ECONNREFUSED"} for s in servers(8080)],
        *[{"kind": "connection-rejected-icmp", "server": s, "notes": "administratively prohibited from the router: EHOSTUNREACH (IPv4), EACCES (IPv6)"} for s in servers(8081)],
        *[{"kind": "connection-rejected-icmp", "server": s, "notes": "host unreachable / address unreachable from the router: EHOSTUNREACH"} for s in servers(8082)],
        *[{"kind": "connection-rejected-icmp", "server": s, "notes": "port unreachable from the server's own address (a reject rule on its host): ECONNREFUSED"} for s in servers(8085)],
        *[{"kind": "syn-unanswered", "server": s, "notes": "near miss: the router drops the SYNs (no ICMP): retransmitted and unanswered, not a rejection"} for s in servers(8083)],
    ],
}
json.dump(meta, open(meta_path, "w"), indent=2)
open(meta_path, "a").write("\n")
print("meta written:", meta_path)
PY
