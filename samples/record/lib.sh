#!/usr/bin/env bash
# Shared helpers for the sample recorders. Every recorder runs its servers, clients
# and tcpdump inside a network namespace it creates (its own private loopback), so
# recordings never touch the host's network and never see each other's traffic.
# Needs root, tcpdump, iproute2. Processes are ended by PID only.
set -euo pipefail

CC_NS=""
CC_PIDS=()
CC_TCPDUMP_PID=""
CC_SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC_RECORD_DIR="$CC_SAMPLES_DIR/record"

cc_require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "record: '$tool' is required (apt-get install it)" >&2; exit 2; }
  done
  [ "$(id -u)" = 0 ] || { echo "record: run as root (network namespaces, tcpdump)" >&2; exit 2; }
}

# cc_netns_up NAME: a fresh namespace with loopback up; removed again on exit.
cc_netns_up() {
  CC_NS="$1"
  ip netns del "$CC_NS" 2>/dev/null || true
  ip netns add "$CC_NS"
  ip netns exec "$CC_NS" ip link set lo up
  trap cc_cleanup EXIT
}

# cc_in CMD...: run a command inside the namespace (foreground).
cc_in() { ip netns exec "$CC_NS" "$@"; }

# cc_bg CMD...: start a command in the namespace in the background; its PID is
# remembered so cleanup ends exactly the processes this recorder started.
cc_bg() {
  ip netns exec "$CC_NS" "$@" &
  CC_PIDS+=("$!")
  CC_LAST_PID="$!"
}

# cc_capture_start OUTFILE FILTER [tcpdump args...]: start tcpdump on the namespace's
# loopback with nanosecond timestamps; returns once tcpdump is listening.
cc_capture_start() {
  local out="$1" filter="$2"; shift 2
  local log; log="$(mktemp)"
  ip netns exec "$CC_NS" tcpdump -i lo -U --immediate-mode -B 32768 -n --time-stamp-precision=nano -s 0 "$@" -w "$out" "$filter" 2>"$log" &
  CC_TCPDUMP_PID="$!"
  local i
  for i in $(seq 1 100); do
    grep -q 'listening on' "$log" 2>/dev/null && break
    sleep 0.05
  done
  grep -q 'listening on' "$log" || { cat "$log" >&2; echo "record: tcpdump did not start" >&2; exit 1; }
}

# cc_capture_stop: let the last packets drain, then stop tcpdump (SIGINT flushes the file).
cc_capture_stop() {
  sleep 0.3
  if [ -n "$CC_TCPDUMP_PID" ]; then
    kill -INT "$CC_TCPDUMP_PID" 2>/dev/null || true
    wait "$CC_TCPDUMP_PID" 2>/dev/null || true
    CC_TCPDUMP_PID=""
  fi
}

# cc_wait_port PORT [ADDR]: wait (bounded, 5 s) until something listens on PORT in the namespace.
cc_wait_port() {
  local port="$1" i
  for i in $(seq 1 100); do
    if ip netns exec "$CC_NS" ss -Hltn "sport = :$port" | grep -q .; then return 0; fi
    sleep 0.05
  done
  echo "record: nothing listens on port $port" >&2; exit 1
}

cc_cleanup() {
  local pid
  cc_capture_stop || true
  for pid in "${CC_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${CC_PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  [ -n "$CC_NS" ] && ip netns del "$CC_NS" 2>/dev/null || true
}
