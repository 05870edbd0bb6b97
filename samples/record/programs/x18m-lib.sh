#!/usr/bin/env bash
# Helpers for the recorders of the middlebox idle-timeout samples (round 18m):
# middlebox-idle-reset-nat.sh, middlebox-idle-drop-nat.sh and (X18M_TLS=1) middlebox-idle-reset-nat-tls.sh.
# Source after lib.sh (it sources lib-b.sh when that is not loaded yet).
#
# Topology: three namespaces PREFIX-c (clients, 10.77.1.2 on veth x18mc), PREFIX-r (the middlebox: a
# Linux router, 10.77.1.1 on x18mrc and 10.77.2.1 on x18mrs, ip_forward=1) and PREFIX-s (the server,
# 10.77.2.2 on x18ms; CC_NS), joined by two veth pairs; default routes via the router. The router
# masquerades (SNAT) the client subnet towards the server (nftables, table ip x18m) and its conntrack
# forgets an established TCP connection after X18M_CT_TIMEOUT s without a packet
# (net.netfilter.nf_conntrack_tcp_timeout_established, per network namespace) and does not pick up
# mid-stream packets of connections it does not know (nf_conntrack_tcp_loose=0): such packets are
# `ct state invalid`, and the forward chain then either answers them with a TCP reset (X18M_INVALID=reset:
# `reject with tcp reset`, as an AWS NAT gateway or a firewall's reject rule) or drops them silently
# (X18M_INVALID=drop, as an Azure load balancer by default, or a firewall dropping INVALID).
#   x18m_require              root and the tools (nft, conntrack, tcpdump, tshark, node, python3-requests;
#                             openssl with X18M_TLS=1)
#   x18m_setup PREFIX         the namespaces, links, routes, router rules and sysctls (checked); CCB_WORK
#   x18m_record SCENARIO DESCRIPTION   the server (programs/x18m-node-server.js, keepAliveTimeout
#                             X18M_SERVER_KA_MS), two captures of its tcp port (client side: x18mc in
#                             PREFIX-c; server side: x18ms in PREFIX-s), the clients at once
#                             (x18m-node-client.js, x18m-requests-client.py; pause X18M_PAUSE s, timeout
#                             X18M_CLIENT_TIMEOUT s), X18M_TAIL s more of capture, the router's conntrack table at three moments and its
#                             rule counters, then programs/x18m-meta.py, which checks the capture against
#                             the logs and writes samples/SCENARIO.{pcap,meta.json} and
#                             samples/SCENARIO-server-side.{pcap,meta.json}. X18M_KEEP_WORK=DIR: a copy
#                             of the scratch dir (logs, captures) is left in DIR.
# X18M_TLS=1: the same over HTTPS: the server is a Node https server on port 8443 with a self-signed
# certificate (openssl req -x509 -newkey ec, made at run time in the scratch dir, removed with it,
# never committed); the clients use https.Agent (rejectUnauthorized false) and requests
# (verify=False); the meta writer, which cannot read the encrypted requests, finds them by the
# clients' logs (local port, send time). Only the client-side capture becomes a sample then (the
# server-side one is still recorded in the scratch dir, for the checks).
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X18M_CT_TIMEOUT=${X18M_CT_TIMEOUT:-3}
X18M_PAUSE=${X18M_PAUSE:-5}
X18M_CLIENT_TIMEOUT=${X18M_CLIENT_TIMEOUT:-4}
X18M_SERVER_KA_MS=${X18M_SERVER_KA_MS:-60000}
X18M_INVALID=${X18M_INVALID:-reset}
# Seconds the captures go on after the clients end (the drop variant: long enough for the clients'
# FINs, queued behind their unacknowledged requests, to leave with the next retransmission).
X18M_TAIL=${X18M_TAIL:-0.5}
# X18M_LATE_PROBE=1: after the tail, one more GET /late/probe by curl on a new connection (other traffic
# that goes on: the capture then lasts past the stale requests' age that conncheck reports open
# requests at), logged in the clients' log as lane "late".
X18M_LATE_PROBE=${X18M_LATE_PROBE:-0}
X18M_TLS=${X18M_TLS:-0}
X18M_NS_C=""
X18M_NS_R=""
X18M_TCPDUMPS=()

x18m_require() {
  cc_require nft conntrack tcpdump tshark node ip curl /usr/bin/python3
  /usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }
  [ "$X18M_TLS" = 0 ] || cc_require openssl
}

# The server's port and the clients' base URL (X18M_TLS: https on 8443, else http on 8080).
x18m_port() { if [ "$X18M_TLS" = 1 ]; then echo 8443; else echo 8080; fi; }
x18m_base() { if [ "$X18M_TLS" = 1 ]; then echo https://10.77.2.2:8443; else echo http://10.77.2.2:8080; fi; }

# Stop the captures (SIGINT flushes them) before the namespaces go.
ccb_before_cleanup() {
  local pid
  for pid in "${X18M_TCPDUMPS[@]:-}"; do
    [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${X18M_TCPDUMPS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  X18M_TCPDUMPS=()
}

x18m_setup() {
  local p="$1" rule
  cc_netns_up "$p-s"
  ccb_workdir
  ccb_netns_add "$p-c"
  ccb_netns_add "$p-r"
  X18M_NS_C="$p-c"
  X18M_NS_R="$p-r"
  ip link add x18mc netns "$p-c" type veth peer name x18mrc netns "$p-r"
  ip link add x18ms netns "$p-s" type veth peer name x18mrs netns "$p-r"
  ip -n "$p-c" addr add 10.77.1.2/24 dev x18mc
  ip -n "$p-r" addr add 10.77.1.1/24 dev x18mrc
  ip -n "$p-r" addr add 10.77.2.1/24 dev x18mrs
  ip -n "$p-s" addr add 10.77.2.2/24 dev x18ms
  ip -n "$p-c" link set x18mc up
  ip -n "$p-r" link set x18mrc up
  ip -n "$p-r" link set x18mrs up
  ip -n "$p-s" link set x18ms up
  ip -n "$p-c" route add default via 10.77.1.1
  ip -n "$p-s" route add default via 10.77.2.1
  ip netns exec "$p-r" sysctl -qw net.ipv4.ip_forward=1
  case "$X18M_INVALID" in
    reset) rule="ct state invalid ip protocol tcp counter reject with tcp reset" ;;
    drop) rule="ct state invalid counter drop" ;;
    *) echo "record: X18M_INVALID is reset or drop" >&2; exit 2 ;;
  esac
  ip netns exec "$p-r" nft -f - <<NFT
table ip x18m {
  chain forward {
    type filter hook forward priority 0; policy accept;
    $rule
    ct state established,related counter accept
    ct state new counter accept
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    ip saddr 10.77.1.0/24 oifname "x18mrs" counter masquerade
  }
}
NFT
  # The conntrack sysctls exist once the table above has made this namespace track connections.
  ip netns exec "$p-r" sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established="$X18M_CT_TIMEOUT"
  ip netns exec "$p-r" sysctl -qw net.netfilter.nf_conntrack_tcp_loose=0
  [ "$(ip netns exec "$p-r" sysctl -n net.netfilter.nf_conntrack_tcp_timeout_established)" = "$X18M_CT_TIMEOUT" ] &&
    [ "$(ip netns exec "$p-r" sysctl -n net.netfilter.nf_conntrack_tcp_loose)" = 0 ] ||
    { echo "record: the router namespace's conntrack sysctls did not apply" >&2; exit 1; }
  ip netns exec "$p-r" sysctl net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_loose \
    net.netfilter.nf_conntrack_tcp_be_liberal >"$CCB_WORK/router-sysctl.txt"
}

# x18m_capture NS IFACE OUT: a tcpdump of the server's tcp port (x18m_port) on IFACE in NS (nanosecond timestamps), its
# stderr in OUT.log; returns once it listens.
x18m_capture() {
  local ns="$1" iface="$2" out="$3" i
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 0 \
    -w "$out" "tcp port $(x18m_port)" 2>"$out.log" &
  X18M_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$out.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$out.log" || { cat "$out.log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}

x18m_conntrack() {
  { echo "# $(date +%s.%N) $1"; ip netns exec "$X18M_NS_R" conntrack -L -p tcp 2>&1 || true; } >>"$CCB_WORK/conntrack.txt"
}

x18m_record() {
  local scenario="$1" description="$2" w="$CCB_WORK" cpid i port base tls_args=() meta_args=()
  port="$(x18m_port)"
  base="$(x18m_base)"
  if [ "$X18M_TLS" = 1 ]; then
    # A throwaway certificate for this recording only (in the scratch dir; never committed).
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$w/key.pem" \
      -out "$w/cert.pem" -days 1 -subj /CN=x18m-server -addext "subjectAltName=IP:10.77.2.2" 2>"$w/openssl.log" ||
      { cat "$w/openssl.log" >&2; echo "record: openssl req failed" >&2; exit 1; }
    tls_args=(--tls-cert "$w/cert.pem" --tls-key "$w/key.pem")
    meta_args=(--tls --client-side-only)
  fi
  ccb_bg "$CC_NS" node "$CCB_PROGRAMS/x18m-node-server.js" --host 10.77.2.2 --port "$port" \
    --keep-alive-timeout "$X18M_SERVER_KA_MS" --log "$w/server.log" "${tls_args[@]}"
  cc_wait_port "$port"
  x18m_capture "$X18M_NS_C" x18mc "$w/client-side.pcap"
  x18m_capture "$CC_NS" x18ms "$w/server-side.pcap"
  : >"$w/client.log"
  local t0; t0="$(date +%s.%N)"
  ip netns exec "$X18M_NS_C" timeout 40 node "$CCB_PROGRAMS/x18m-node-client.js" --base "$base" \
    --log "$w/client.log" --pause "$X18M_PAUSE" --timeout-ms "$((X18M_CLIENT_TIMEOUT * 1000))" --tag n &
  cpid="$!"
  sleep 0.1
  ip netns exec "$X18M_NS_C" timeout 40 /usr/bin/python3 "$CCB_PROGRAMS/x18m-requests-client.py" --base "$base" \
    --log "$w/client.log" --pause "$X18M_PAUSE" --timeout "$X18M_CLIENT_TIMEOUT" --tag p &
  local ppid="$!"
  sleep 0.9
  x18m_conntrack "1.0 s after the clients started (warm requests done)"
  sleep 3.7
  x18m_conntrack "4.7 s after the clients started (the stale lanes idle > ${X18M_CT_TIMEOUT} s, not yet reused)"
  wait "$cpid" || true
  wait "$ppid" || true
  x18m_conntrack "after the clients ended"
  sleep "$X18M_TAIL"
  if [ "$X18M_LATE_PROBE" = 1 ]; then
    local out
    out="$(ip netns exec "$X18M_NS_C" curl -s -k -m 4 -o /dev/null -w '%{local_port} %{http_code}' "$base/late/probe" || true)"
    printf '{"t": %s, "client": "curl", "lib": "%s", "lane": "late", "event": "response", "method": "GET", "uri": "/late/probe", "status": %s, "port": %s, "reused": false}\n' \
      "$(date +%s.%N)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "${out#* }" "${out% *}" >>"$w/client.log"
    sleep 0.5
  fi
  ip netns exec "$X18M_NS_R" nft list table ip x18m >"$w/nft-counters.txt"
  ccb_before_cleanup
  # The certificate and key stay in the scratch dir (removed with it), never in a kept copy.
  [ -z "${X18M_KEEP_WORK:-}" ] || { mkdir -p "$X18M_KEEP_WORK" && cp -a "$w/." "$X18M_KEEP_WORK/" && rm -f "$X18M_KEEP_WORK/key.pem" "$X18M_KEEP_WORK/cert.pem"; }
  python3 "$CCB_PROGRAMS/x18m-meta.py" "$scenario" --work "$w" --samples "$CC_SAMPLES_DIR" --started "$t0" \
    --invalid "$X18M_INVALID" --ct-timeout "$X18M_CT_TIMEOUT" --pause "$X18M_PAUSE" \
    --client-timeout "$X18M_CLIENT_TIMEOUT" --server-ka-ms "$X18M_SERVER_KA_MS" --port "$port" "${meta_args[@]}" \
    --description "$description"
}
