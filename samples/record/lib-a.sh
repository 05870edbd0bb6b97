#!/usr/bin/env bash
# Extra helpers for the clean-traffic recorders (keep-alive, close-delimited,
# pipelining, chunked, refused, IPv6, SLL2, pcapng, microsecond, midstream).
# Source after lib.sh. Capture starters store their PID in CC_TCPDUMP_PID, so
# lib.sh's cc_capture_stop and its EXIT cleanup stop them like its own tcpdump.
set -euo pipefail

CC_A_PROGRAMS="$CC_RECORD_DIR/programs"

# cc_a_wait_log LOGFILE PATTERN: wait (bounded, 5 s) for a capture tool to say it listens.
cc_a_wait_log() {
  local log="$1" pattern="$2" i
  for i in $(seq 1 100); do
    grep -q "$pattern" "$log" 2>/dev/null && return 0
    sleep 0.05
  done
  cat "$log" >&2
  echo "record: capture did not start" >&2
  exit 1
}

# cc_a_tcpdump_start IFACE OUTFILE FILTER [tcpdump args...]: like cc_capture_start, but
# on any interface of the namespace (e.g. "any" for LINUX_SLL2) and without forcing
# nanosecond timestamps (tcpdump's default is microseconds; pass
# --time-stamp-precision=nano yourself when wanted).
cc_a_tcpdump_start() {
  local iface="$1" out="$2" filter="$3"; shift 3
  local log; log="$(mktemp)"
  ip netns exec "$CC_NS" tcpdump -i "$iface" -U -n -s 0 "$@" -w "$out" "$filter" 2>"$log" &
  CC_TCPDUMP_PID="$!"
  cc_a_wait_log "$log" 'listening on'
  rm -f "$log"
}

# cc_a_dumpcap_start OUTFILE FILTER: capture pcapng with dumpcap on the namespace's
# loopback (tcpdump 4.99 on Debian 12 cannot write pcapng).
cc_a_dumpcap_start() {
  local out="$1" filter="$2"
  local log; log="$(mktemp)"
  ip netns exec "$CC_NS" dumpcap -i lo -f "$filter" -w "$out" 2>"$log" &
  CC_TCPDUMP_PID="$!"
  cc_a_wait_log "$log" 'Capturing on'
  rm -f "$log"
  # dumpcap reports "Capturing on" just before its capture loop runs; give it a moment.
  sleep 0.3
}

# cc_a_dumpcap_stop: dumpcap has no immediate mode; its libpcap ring hands packets over
# in blocks after a read timeout (250 ms in dumpcap), and a block still open at SIGINT
# can be lost. Waiting well past that timeout before stopping keeps the last packets.
cc_a_dumpcap_stop() {
  sleep 0.7
  cc_capture_stop
}

# cc_a_run SECONDS CMD...: run a client in the namespace in the foreground, bounded in time.
cc_a_run() {
  local limit="$1"; shift
  timeout --signal=TERM --kill-after=2 "$limit" ip netns exec "$CC_NS" "$@"
}

# cc_a_wait_file PATH: wait (bounded, 10 s) until PATH exists.
cc_a_wait_file() {
  local path="$1" i
  for i in $(seq 1 200); do
    [ -e "$path" ] && return 0
    sleep 0.05
  done
  echo "record: $path never appeared" >&2
  exit 1
}

# cc_a_wait_pid PID SECONDS: wait for a background process this recorder started to exit
# on its own; fail (cleanup then ends it) when it takes longer than SECONDS.
cc_a_wait_pid() {
  local pid="$1" limit="$2" i
  for i in $(seq 1 $((limit * 20))); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; return $?; }
    sleep 0.05
  done
  echo "record: process $pid still running after ${limit}s" >&2
  exit 1
}

# cc_a_meta CAPTURE TEMPLATE_JSON [HTTP_PORT...]: measure CAPTURE with tshark, check the
# template's expected facts against it and write <capture without extension>.meta.json.
cc_a_meta() {
  local capture="$1" template="$2"; shift 2
  local base="${capture%.gz}"; base="${base%.pcapng}"; base="${base%.pcap}"
  local tmp; tmp="$(mktemp)"
  printf '%s\n' "$template" >"$tmp"
  local args=() port
  for port in "$@"; do args+=(--http-port "$port"); done
  python3 "$CC_A_PROGRAMS/pcap-facts.py" --capture "$capture" --meta "$base.meta.json" \
    --template "$tmp" "${args[@]}"
  rm -f "$tmp"
}
