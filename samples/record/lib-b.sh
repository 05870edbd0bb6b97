#!/usr/bin/env bash
# Extra helpers for the recorders of the connection-reuse / timeout samples
# (keepalive races, idle-timeout mismatch, proxies' timeouts). Source after lib.sh.
#   ccb_workdir                 scratch directory CCB_WORK, removed on exit
#   ccb_netns_add NAME          a second namespace (removed on exit with the first)
#   ccb_bg NS CMD...            background process in namespace NS, ended by PID on exit
#   ccb_stop PID [SIGNAL]       end a process this recorder started, by PID (SIGTERM), and wait for it
#   ccb_wait_port NS PORT       bounded wait for a listener in namespace NS
#   ccb_wire NS_A TUN_A NS_B TUN_B ARGS...   two namespaces joined by programs/x5-wire.py
#   ccb_delay_link NSC NSS MS   a point-to-point link with MS ms one-way latency between
#                               namespaces NSC (10.99.0.1, tun ccbc) and NSS (10.99.0.2, tun ccbs)
#   ccb_delay_namespaces NSS NSC MS   the server's namespace NSS (CC_NS), CCB_WORK, the client's
#                               namespace NSC and the delay link between them
#   ccb_capture_start NS IFACE OUT FILTER [ARGS]   tcpdump on IFACE in NS (stopped by cc_capture_stop)
#   ccb_meta SCENARIO ARGS...   measure the capture and write samples/SCENARIO.meta.json
#   ccb_nginx_conf OUT          an nginx config (foreground, one worker, files in CCB_WORK) whose
#                               http block holds the lines read from stdin
#   ccb_drop_syns NS TABLE PORT an nftables table TABLE in NS that drops SYNs to PORT: a backend
#                               whose handshakes are never answered (firewalled, host down)
#   ccb_proxy_backend KEEPALIVE_MS  the proxy recorders' backend: a Node http server on
#                               127.0.0.3:9001 (and 127.0.0.2 added to lo for the proxy)
#   ccb_healthy_clients BASE [Q Q Q Q]  the healthy proxy recorders' clients: a paced Node agent
#                               (think times 0.05-3.5 s, every third request a POST), then curl
#                               fetching BASE/get?i=Q for four Q (a b c d) on one connection
#   ccb_slow_clients BASE [MAX_S]  the gateway-timeout recorders' clients: two quick requests,
#                               three BASE/slow?ms=2500 at once, two quick ones again
#   ccb_blackhole_clients BASE [MAX_S]  the connect-timeout recorders' clients: two requests
#                               answered through BASE/ok/, then five to BASE/x/ (three at once, two alone)
set -euo pipefail

CCB_EXTRA_NS=()
CCB_WORK=""
CCB_PROGRAMS="$CC_RECORD_DIR/programs"
CCB_CLIENT_IP=10.99.0.1
CCB_SERVER_IP=10.99.0.2

ccb_cleanup() {
  # A recorder's library may stop its own things first (lib-x5.sh: its tcpdumps, which must
  # flush before their namespaces go).
  if declare -F ccb_before_cleanup >/dev/null; then ccb_before_cleanup || true; fi
  cc_cleanup || true
  [ -n "$CCB_WORK" ] && rm -rf "$CCB_WORK"
  local ns
  for ns in "${CCB_EXTRA_NS[@]:-}"; do
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
  done
}

# ccb_workdir: a scratch directory (configs, logs) in CCB_WORK, removed on exit. Call it
# after cc_netns_up (it takes over the EXIT trap, and still runs cc_cleanup).
ccb_workdir() {
  CCB_WORK="$(mktemp -d)"
  trap ccb_cleanup EXIT
}

# ccb_netns_add NAME: one more fresh namespace, loopback up, deleted on exit.
ccb_netns_add() {
  local ns="$1"
  ip netns del "$ns" 2>/dev/null || true
  ip netns add "$ns"
  ip netns exec "$ns" ip link set lo up
  CCB_EXTRA_NS+=("$ns")
  trap ccb_cleanup EXIT
}

# ccb_bg NS CMD...: like cc_bg, in namespace NS.
ccb_bg() {
  local ns="$1"; shift
  ip netns exec "$ns" "$@" &
  CC_PIDS+=("$!")
  CC_LAST_PID="$!"
}

# ccb_stop PID [SIGNAL]: send SIGNAL (TERM by default) to a process this recorder started, by its
# PID, and wait for it to end.
ccb_stop() {
  kill "-${2:-TERM}" "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# ccb_wait_port NS PORT: bounded (5 s) wait until something listens on PORT in NS.
ccb_wait_port() {
  local ns="$1" port="$2" i
  for i in $(seq 1 100); do
    if ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.05
  done
  echo "record: nothing listens on port $port in $ns" >&2; exit 1
}

# ccb_wire NS_A TUN_A NS_B TUN_B WIRE_ARGS...: a tun device in each namespace, joined by
# programs/x5-wire.py with WIRE_ARGS (a one-way delay, and optionally jitter, loss, reordering:
# this kernel has no netem); returns once the wire is up. Its counts on exit go to
# $CCB_WORK/wires.log.
ccb_wire() {
  local nsa="$1" tuna="$2" nsb="$3" tunb="$4" ready i
  shift 4
  ip netns exec "$nsa" ip tuntap add dev "$tuna" mode tun
  ip netns exec "$nsb" ip tuntap add dev "$tunb" mode tun
  ready="$(mktemp "${CCB_WORK:-/tmp}/wire.XXXXXX")"
  ccb_bg "$nsa" python3 "$CCB_PROGRAMS/x5-wire.py" --tun-a "$tuna" --netns-b "/run/netns/$nsb" --tun-b "$tunb" "$@" \
    >"$ready" 2>>"${CCB_WORK:-/tmp}/wires.log"
  for i in $(seq 1 100); do
    grep -q ready "$ready" 2>/dev/null && break
    sleep 0.05
  done
  grep -q ready "$ready" || { echo "record: wire $tuna-$tunb did not start" >&2; exit 1; }
}

# ccb_delay_link NSC NSS DELAY_MS: the two namespaces joined by a wire with a fixed one-way
# latency and nothing else; client side 10.99.0.1, server side 10.99.0.2.
ccb_delay_link() {
  local nsc="$1" nss="$2" delay="$3"
  ccb_wire "$nsc" ccbc "$nss" ccbs --delay-ms "$delay" --max-seconds 120
  ip netns exec "$nsc" ip addr add "$CCB_CLIENT_IP" peer "$CCB_SERVER_IP" dev ccbc
  ip netns exec "$nsc" ip link set ccbc up
  ip netns exec "$nss" ip addr add "$CCB_SERVER_IP" peer "$CCB_CLIENT_IP" dev ccbs
  ip netns exec "$nss" ip link set ccbs up
}

# ccb_delay_namespaces NSS NSC DELAY_MS: the server's namespace NSS (CC_NS, removed on exit), the
# scratch directory CCB_WORK, the client's namespace NSC, and ccb_delay_link between them.
ccb_delay_namespaces() {
  local nss="$1" nsc="$2" delay="$3"
  cc_netns_up "$nss"
  ccb_workdir
  ccb_netns_add "$nsc"
  ccb_delay_link "$nsc" "$nss" "$delay"
}

# ccb_capture_start NS IFACE OUT FILTER [TCPDUMP ARGS...]: tcpdump with nanosecond timestamps on
# IFACE in NS.
ccb_capture_start() {
  local ns="$1" iface="$2" out="$3" filter="$4"
  shift 4
  local log; log="$(mktemp "${CCB_WORK:-/tmp}/tcpdump.XXXXXX")"
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 0 "$@" -w "$out" "$filter" 2>"$log" &
  CC_TCPDUMP_PID="$!"
  local i
  for i in $(seq 1 100); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$log" || { cat "$log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}

# ccb_meta SCENARIO ARGS...: measure samples/SCENARIO.pcap with tshark and write its meta.json
# (b-meta.py refuses, exit 1, when the capture does not show what the scenario claims).
ccb_meta() {
  local scenario="$1"; shift
  python3 "$CCB_PROGRAMS/b-meta.py" "$scenario" --capture "$CC_SAMPLES_DIR/$scenario.pcap" \
    --meta "$CC_SAMPLES_DIR/$scenario.meta.json" "$@"
}

# ccb_nginx_conf OUT: an nginx configuration to run with `nginx -p "$CCB_WORK" -c OUT` (no daemon,
# no master, one worker; pid, error log and temporary files in CCB_WORK); its http block holds the
# lines read from stdin (servers, access log, keep-alive settings).
ccb_nginx_conf() {
  local out="$1"
  mkdir -p "$CCB_WORK/tmp"
  {
    cat <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $CCB_WORK/nginx.pid;
error_log $CCB_WORK/error.log info;
events { worker_connections 64; }
http {
  client_body_temp_path $CCB_WORK/tmp/body;
  proxy_temp_path $CCB_WORK/tmp/proxy;
  fastcgi_temp_path $CCB_WORK/tmp/fastcgi;
  uwsgi_temp_path $CCB_WORK/tmp/uwsgi;
  scgi_temp_path $CCB_WORK/tmp/scgi;
CONF
    cat
    echo "}"
  } >"$out"
}

# ccb_drop_syns NS TABLE PORT: nftables in NS drops every SYN to PORT (its handshakes go unanswered).
ccb_drop_syns() {
  local ns="$1" table="$2" port="$3"
  ip netns exec "$ns" nft -f - <<NFT
table inet $table {
  chain input {
    type filter hook input priority 0; policy accept;
    tcp dport $port tcp flags & (syn | ack) == syn drop
  }
}
NFT
}

# ccb_blackhole_clients BASE [MAX_S]: curl in CC_NS fetches BASE/ok/1 and BASE/ok/2 on one connection (a
# working backend), then BASE/x/1..3 at once and BASE/x/4 and BASE/x/5 one after the other (the
# proxy routes /x/ to a backend whose SYNs are dropped), each given MAX_S seconds (default 10);
# each prints its status and time.
ccb_blackhole_clients() {
  local base="$1" max="${2:-10}" i
  local clients=()
  cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/ok/1" -o /dev/null "$base/ok/2"
  for i in 1 2 3; do
    cc_in curl -s -o /dev/null -m "$max" -w '%{http_code} %{time_total}\n' "$base/x/$i" &
    clients+=("$!")
  done
  wait "${clients[@]}"
  for i in 4 5; do cc_in curl -s -o /dev/null -m "$max" -w '%{http_code} %{time_total}\n' "$base/x/$i"; done
}

# ccb_proxy_backend KEEPALIVE_MS: in CC_NS, 127.0.0.2 on lo (where the proxy listens) and a Node
# http server on 127.0.0.3:9001 with keepAliveTimeout KEEPALIVE_MS (its log: $CCB_WORK/backend.log).
ccb_proxy_backend() {
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout "$1" 2>"$CCB_WORK/backend.log"
  cc_wait_port 9001
}

# ccb_healthy_clients BASE [Q1 Q2 Q3 Q4]: a Node http.Agent (keepAlive, maxSockets 1) sends 11
# requests to BASE, every third a POST, with think times of 0.05-3.5 s (log: $CCB_WORK/client.log);
# then curl fetches BASE/get?i=Q for the four Q given (default a b c d) on one connection.
ccb_healthy_clients() {
  local base="$1"; shift
  local q=(a b c d)
  [ $# -eq 4 ] && q=("$@")
  cc_in timeout 60 node "$CCB_PROGRAMS/paced-keepalive-client.js" --base "$base" \
    --gaps-ms 50,300,800,1500,2500,200,3500,100,400,1200 --post-every 3 --log "$CCB_WORK/client.log"
  cc_in curl -s -w '%{http_code}\n' -o /dev/null "$base/get?i=${q[0]}" -o /dev/null "$base/get?i=${q[1]}" \
    -o /dev/null "$base/get?i=${q[2]}" -o /dev/null "$base/get?i=${q[3]}"
}

# ccb_slow_clients BASE [MAX_S]: curl in CC_NS fetches BASE/get?i=1 and i=2 on one connection, then
# BASE/slow?ms=2500&i=1..3 at once (a backend answer slower than the proxy's read timeout), each
# given MAX_S seconds (default 10), then BASE/get?i=3 and i=4; each prints its status and time.
ccb_slow_clients() {
  local base="$1" max="${2:-10}" i
  local clients=()
  cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/get?i=1" -o /dev/null "$base/get?i=2"
  for i in 1 2 3; do
    cc_in curl -s -o /dev/null -m "$max" -w '%{http_code} %{time_total}\n' "$base/slow?ms=2500&i=$i" &
    clients+=("$!")
  done
  wait "${clients[@]}"
  cc_in curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$base/get?i=3" -o /dev/null "$base/get?i=4"
}
