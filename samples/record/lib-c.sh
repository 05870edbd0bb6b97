#!/usr/bin/env bash
# Extra helpers for the handshake / reset / stall recorders and their silent traps
# (prefix cc_c_). Source after lib.sh. Everything runs inside the recorder's own
# namespace; processes are ended by PID only.
set -euo pipefail

CC_C_PROGRAMS="$CC_RECORD_DIR/programs"
# The real interpreter, not a version-manager shim: a shim would add startup time and
# a PID that is not the server's (kill -9 must hit the server itself).
CC_C_PY="$(python3 -c 'import sys; print(sys.executable)')"

# cc_c_ns SCENARIO: a namespace name unique to this recorder run.
cc_c_ns() { echo "cc-c-$1-$$"; }

# cc_c_sysctl KEY=VALUE...: set per-namespace TCP knobs (they do not leak to the host).
cc_c_sysctl() {
  local kv
  for kv in "$@"; do ip netns exec "$CC_NS" sysctl -qw "$kv"; done
}

# cc_c_sysctl_if_present KEY=VALUE: the same, for knobs that older kernels lack
# (e.g. net.ipv4.tcp_syn_linear_timeouts, added in Linux 6.x); skipped when absent.
cc_c_sysctl_if_present() {
  local kv="$1" key="${1%%=*}"
  if ip netns exec "$CC_NS" sysctl -n "$key" >/dev/null 2>&1; then cc_c_sysctl "$kv"; fi
}

# cc_c_nft: load an nftables ruleset read from stdin into the namespace.
cc_c_nft() { ip netns exec "$CC_NS" nft -f -; }

# cc_c_capture_start OUTFILE FILTER: lib.sh's capture, in immediate mode (without it
# libpcap's ring buffer may still hold packets when tcpdump is stopped) and with a
# 32 MiB buffer: in immediate mode libpcap uses fixed ring frames sized for the
# loopback's 64 KiB MTU, so its default 2 MiB ring holds only ~30 packets and a burst
# is "dropped by kernel". Fails when tcpdump reports any drop.
cc_c_capture_start() {
  cc_capture_start "$1" "$2" --immediate-mode -B 32768
  # lib.sh sends tcpdump's stderr to a temporary file; find it to read the drop count.
  CC_C_CAPTURE_LOG="$(readlink "/proc/$CC_TCPDUMP_PID/fd/2" 2>/dev/null || true)"
}

# cc_c_capture_stop: lib.sh's stop, then refuse a capture that lost packets.
cc_c_capture_stop() {
  cc_capture_stop
  if [ -n "${CC_C_CAPTURE_LOG:-}" ] && [ -f "$CC_C_CAPTURE_LOG" ]; then
    if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$CC_C_CAPTURE_LOG"; then
      cat "$CC_C_CAPTURE_LOG" >&2
      echo "record: tcpdump dropped packets; capture is incomplete" >&2
      exit 1
    fi
    rm -f "$CC_C_CAPTURE_LOG"
  fi
}

# cc_c_run SECONDS CMD...: run a client in the namespace in the foreground, bounded.
cc_c_run() {
  local limit="$1"; shift
  timeout --signal=TERM --kill-after=2 "$limit" ip netns exec "$CC_NS" "$@"
}

# cc_c_wait_pid SECONDS PID: wait (bounded) for a background process of ours to end;
# TERM it when it overstays. Never fails the recorder: the capture decides.
cc_c_wait_pid() {
  local limit="$1" pid="$2" i
  for i in $(seq 1 $((limit * 20))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# cc_c_meta SCENARIO CAPTURE CONFIGURED_JSON SOFTWARE...: measure the capture with tshark,
# check that it shows the scenario, and write samples/SCENARIO.meta.json (exit 1 if not).
cc_c_meta() {
  local scenario="$1" capture="$2" configured="$3"; shift 3
  local sw=() s
  for s in "$@"; do sw+=(--software "$s"); done
  local obs=()
  # CC_C_OBSERVED: a JSON of the programs' own logs (exit codes, messages), checked and kept as "observed".
  if [ -n "${CC_C_OBSERVED:-}" ]; then obs=(--observed "$CC_C_OBSERVED"); fi
  "$CC_C_PY" "$CC_C_PROGRAMS/c-meta.py" --scenario "$scenario" --capture "$capture" \
    --configured "$configured" --out "$CC_SAMPLES_DIR/$scenario.meta.json" "${sw[@]}" ${obs[@]+"${obs[@]}"}
}

# Version strings for meta.json "software".
cc_c_node_version() { node --version; }
cc_c_py_version() { "$CC_C_PY" -c 'import platform; print(platform.python_version())'; }
cc_c_curl_version() { curl --version | awk 'NR==1{print $2}'; }
