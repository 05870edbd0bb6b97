#!/usr/bin/env bash
# Helpers for the recorders of round 5's real-network samples: a client, a router and a server
# namespace joined by two impaired user-space wires (programs/x5-wire.py: delay, jitter, loss,
# reordering; this kernel has no netem), and tcpdump at any of the three points. Source after lib.sh.
#   x5_topology_up PREFIX ONE_WAY_MS [JITTER_MS LOSS_PCT REORDER_PCT SEED]
#       (X5_SERVER_WIRE_ARGS: more x5-wire.py options for the router-server wire, e.g. --drop-synacks 1)
#       namespaces PREFIX-c (client 10.55.1.1), PREFIX-r (router 10.55.1.2 / 10.55.2.1) and
#       PREFIX-s (server 10.55.2.2); each wire carries half the one-way delay and jitter, and
#       half the loss and reordering, so the router sits in the middle of the path.
#       Sets X5_C, X5_R, X5_S (namespace names), X5_CLIENT_IP, X5_SERVER_IP.
#   x5_capture_start NS IFACE OUT FILTER   one more tcpdump (several may run at once)
#   x5_capture_stop_all             stop every tcpdump started (SIGINT flushes the files)
# Namespaces, background processes, waits for a listener and the scratch directory are
# lib-b.sh's (ccb_netns_add, ccb_bg, ccb_wait_port, ccb_workdir / CCB_WORK), sourced here; its
# cleanup on exit stops this library's tcpdumps first (ccb_before_cleanup).
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X5_TCPDUMPS=()
X5_PROGRAMS="$CC_RECORD_DIR/programs"
X5_CLIENT_IP=10.55.1.1
X5_SERVER_IP=10.55.2.2

# Run by lib-b.sh's cleanup on exit, before it ends processes and deletes namespaces.
ccb_before_cleanup() {
  x5_capture_stop_all
}

# x5_wire NS_A TUN_A NS_B TUN_B ONE_WAY_MS JITTER_MS LOSS REORDER SEED [EXTRA WIRE ARGS...]
x5_wire() {
  local nsa="$1" tuna="$2" nsb="$3" tunb="$4" delay="$5" jitter="$6" loss="$7" reorder="$8" seed="$9"
  shift 9
  ccb_wire "$nsa" "$tuna" "$nsb" "$tunb" --delay-ms "$delay" --jitter-ms "$jitter" --loss "$loss" \
    --reorder "$reorder" --seed "$seed" --max-seconds 600 "$@"
}

x5_topology_up() {
  local p="$1" oneway="$2" jitter="${3:-0}" loss="${4:-0}" reorder="${5:-0}" seed="${6:-1}"
  local half hj hl hr
  half="$(python3 -c "print($oneway/2)")"; hj="$(python3 -c "print($jitter/2)")"
  hl="$(python3 -c "print($loss/2)")"; hr="$(python3 -c "print($reorder/2)")"
  X5_C="$p-c"; X5_R="$p-r"; X5_S="$p-s"
  ccb_netns_add "$X5_C"; ccb_netns_add "$X5_R"; ccb_netns_add "$X5_S"
  x5_wire "$X5_C" x5c "$X5_R" x5r1 "$half" "$hj" "$hl" "$hr" "$seed"
  # shellcheck disable=SC2086
  x5_wire "$X5_R" x5r2 "$X5_S" x5s "$half" "$hj" "$hl" "$hr" "$((seed + 1))" ${X5_SERVER_WIRE_ARGS:-}
  ip netns exec "$X5_C" ip addr add 10.55.1.1 peer 10.55.1.2 dev x5c
  ip netns exec "$X5_C" ip link set x5c up
  ip netns exec "$X5_C" ip route add 10.55.2.0/24 dev x5c
  ip netns exec "$X5_R" ip addr add 10.55.1.2 peer 10.55.1.1 dev x5r1
  ip netns exec "$X5_R" ip addr add 10.55.2.1 peer 10.55.2.2 dev x5r2
  ip netns exec "$X5_R" ip link set x5r1 up
  ip netns exec "$X5_R" ip link set x5r2 up
  ip netns exec "$X5_R" sysctl -qw net.ipv4.ip_forward=1
  ip netns exec "$X5_S" ip addr add 10.55.2.2 peer 10.55.2.1 dev x5s
  ip netns exec "$X5_S" ip link set x5s up
  ip netns exec "$X5_S" ip route add 10.55.1.0/24 dev x5s
}

# x5_path_check NS IP PORT: a TCP connect through the path (bounded, 5 s) before recording.
x5_path_check() {
  ip netns exec "$1" timeout 5 bash -c "exec 3<>/dev/tcp/$2/$3" || { echo "record: no path to $2:$3" >&2; exit 1; }
}

x5_capture_start() {
  local ns="$1" iface="$2" out="$3" filter="$4" log i
  log="$(mktemp "${CCB_WORK:-/tmp}/tcpdump.XXXXXX")"
  ip netns exec "$ns" tcpdump -i "$iface" --immediate-mode -U -n --time-stamp-precision=nano -s 0 -w "$out" "$filter" 2>"$log" &
  X5_TCPDUMPS+=("$!")
  for i in $(seq 1 100); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$log" || { cat "$log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}

x5_capture_stop_all() {
  local pid
  sleep 0.5
  for pid in "${X5_TCPDUMPS[@]:-}"; do
    [ -n "$pid" ] && kill -INT "$pid" 2>/dev/null || true
  done
  for pid in "${X5_TCPDUMPS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  X5_TCPDUMPS=()
}
