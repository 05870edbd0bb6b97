#!/usr/bin/env bash
# Helpers of the recorders that capture with "tcpdump -i any" in a namespace between client and
# server (keepalive-race-{bridge,nat,docker,txcsum}-any). Source after lib.sh and lib-b.sh; the
# capturing namespace is CC_NS.
#   ccany_veth PEER_NS IFACE CIDR [GATEWAY]   a veth pair: IFACE in CC_NS, eth0 in PEER_NS with
#                                             CIDR (and a default route via GATEWAY), both up
#   ccany_stale_race SERVER_NS SERVER_IP CLIENT_NS TARGET TARGET_PORT FILTER [TCPDUMP ARGS...]
#                                             keepalive-race-stale's race, captured on "any" in CC_NS
#   ccany_client_side HTTP_PORT               the client's veth (veth-c) alone, checked by b-meta.py
#                                             keepalive-race-stale: $CCB_WORK/client-side.meta.json
set -euo pipefail

ccany_veth() {
  local peer="$1" iface="$2" cidr="$3" gateway="${4:-}"
  cc_in ip link add "$iface" type veth peer name eth0 netns "$peer"
  cc_in ip link set "$iface" up
  ip netns exec "$peer" ip addr add "$cidr" dev eth0
  ip netns exec "$peer" ip link set eth0 up
  if [ -n "$gateway" ]; then ip netns exec "$peer" ip route add default via "$gateway"; fi
}

# A Node http server that closes idle sockets after 2.0 s (keepAliveTimeout 1000 ms) on
# SERVER_IP:8080, and a raw net client that hands the dead connection out 25 and 50 ms after the
# FIN arrived, gets RST and retries; the client's log is $CCB_WORK/client.log.
ccany_stale_race() {
  local server_ns="$1" server_ip="$2" client_ns="$3" target="$4" target_port="$5" filter="$6"
  shift 6
  ccb_bg "$server_ns" node "$CCB_PROGRAMS/b-http-server.js" --host "$server_ip" --port 8080 --keep-alive-timeout 1000 2>"$CCB_WORK/server.log"
  ccb_wait_port "$server_ns" 8080
  ccb_capture_start "$CC_NS" any "$OUT" "$filter" "$@"
  ip netns exec "$client_ns" node "$CCB_PROGRAMS/b-race-client.js" --host "$target" --port "$target_port" --mode stale \
    --nominal-idle-ms 2000 --stale-delays 25,50 --log "$CCB_WORK/client.log"
  cc_capture_stop
}

ccany_client_side() {
  local client_if
  client_if="$(cc_in cat /sys/class/net/veth-c/ifindex)"
  tshark -r "$OUT" -Y "sll.ifindex == $client_if" -w "$CCB_WORK/client-side.pcap" 2>/dev/null
  python3 "$CCB_PROGRAMS/b-meta.py" keepalive-race-stale --capture "$CCB_WORK/client-side.pcap" --http-port "$1" \
    --meta "$CCB_WORK/client-side.meta.json" --client-log "$CCB_WORK/client.log" --set 'staleDelays=[25,50]'
}

# Variants (CCANY_VARIANT=-no-timestamps or -ipv6-no-timestamps, set by the
# keepalive-race-*-any-*no-timestamps.sh wrappers): the client's kernel sends no TCP timestamp option, as Windows does by default
# (Tcp1323Opts: window scaling only) and some embedded stacks and load balancers do. The sysctl is
# per namespace and covers IPv4 and IPv6.
#   ccany_client_timestamps CLIENT_NS   turns the client's timestamps off for that variant
#   ccany_meta_args                     the meta checker's arguments for the variant
ccany_client_timestamps() {
  case "${CCANY_VARIANT:-}" in *-no-timestamps) ip netns exec "$1" sysctl -qw net.ipv4.tcp_timestamps=0 ;; esac
}

ccany_meta_args() {
  case "${CCANY_VARIANT:-}" in *-no-timestamps) echo "--client-without-timestamps" ;; esac
}
