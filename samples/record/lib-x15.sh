#!/usr/bin/env bash
# Round-15 helpers: a busy gunicorn (sync, one worker, each request sleeping 0.4 s) behind a small
# listen backlog, waves of curl clients one delay line away (25 ms one way), the server
# namespace's kernel settings per scenario and its counters as ground truth. Source after lib.sh,
# lib-b.sh and lib-x9.sh.
#   x15_backlog_run SCENARIO DESCRIPTION
#       reads X15_SLEEP (handler seconds), X15_BACKLOG (gunicorn --backlog), X15_ABORT (tcp_abort_on_overflow), X15_COOKIES
#       (tcp_syncookies), X15_MAX_SYN_BACKLOG (tcp_max_syn_backlog), X15_WAVES (clients per wave,
#       e.g. "3 3"), X15_WAVE_GAP (seconds between waves). Server namespace ccx15-s-<tail>,
#       client namespace ccx15-c-<tail>. /proc/net/netstat is read in the server namespace before
#       and after, `ss -lnt` during the burst; programs/x15-meta.py checks the capture against
#       those counters, gunicorn's access log and curl's results and writes the meta (or refuses).
set -euo pipefail

X15_PORT=8080
X15_DELAY_MS=25
X15_MAX_TIME=6
: "${X15_SLEEP:=0.4}" "${X15_BACKLOG:=2}" "${X15_ABORT:=0}" "${X15_COOKIES:=1}" "${X15_MAX_SYN_BACKLOG:=128}"
: "${X15_WAVES:=3 3}" "${X15_WAVE_GAP:=0.1}"

x15_backlog_run() {
  local scenario="$1" description="$2"
  local out="$CC_SAMPLES_DIR/$scenario.pcap" nss="ccx15-s-${scenario: -12}" nsc="ccx15-c-${scenario: -12}"
  x9_delay_setup "$nsc" "$nss" "$X15_DELAY_MS"
  ip netns exec "$nss" sysctl -qw net.ipv4.tcp_abort_on_overflow="$X15_ABORT" net.ipv4.tcp_synack_retries=2 \
    net.ipv4.tcp_syncookies="$X15_COOKIES" net.ipv4.tcp_max_syn_backlog="$X15_MAX_SYN_BACKLOG"
  # Newer kernels retry SYNs linearly first; keep the classic doubling (absent on older kernels).
  ip netns exec "$nsc" sysctl -qw net.ipv4.tcp_syn_linear_timeouts=0 2>/dev/null || true
  x9_gunicorn "$nss" "$X15_PORT" -w 1 -k sync --backlog "$X15_BACKLOG" --timeout 30
  local somaxconn; somaxconn="$(ip netns exec "$nss" sysctl -n net.core.somaxconn)"
  mapfile -t software < <(x9_software_gunicorn | grep -v 'requests'; curl --version | head -1 | cut -d' ' -f1-2)
  ip netns exec "$nss" cat /proc/net/netstat >"$X9_WORK/netstat.before"
  ccb_capture_start "$nss" ccbs "$out" "tcp port $X15_PORT"
  sleep 0.2   # tcpdump reports "listening" a moment before its filter sees everything (a first SYN was missed)
  local pids=() i=0 n k first=1
  : >"$X9_WORK/client.log"
  for n in $X15_WAVES; do
    [ "$first" = 1 ] || sleep "$X15_WAVE_GAP"
    first=0
    for k in $(seq 1 "$n"); do
      i=$((i + 1))
      ip netns exec "$nsc" curl -sS -o /dev/null -m "$X15_MAX_TIME" \
        -w '{"port": %{local_port}, "status": "%{http_code}", "exit": %{exitcode}, "error": "%{errormsg}", "time": %{time_total}}\n' \
        "http://$CCB_SERVER_IP:$X15_PORT/sleep/$X15_SLEEP/c$i" >>"$X9_WORK/client.log" 2>/dev/null &
      pids+=("$!")
    done
  done
  sleep 0.1
  ip netns exec "$nss" ss -Hlnt "sport = :$X15_PORT" >"$X9_WORK/ss.during"
  for k in "${pids[@]}"; do wait "$k" || true; done   # bounded by curl -m
  cc_capture_stop
  ip netns exec "$nss" cat /proc/net/netstat >"$X9_WORK/netstat.after"
  python3 "$X9_PROGRAMS/x15-meta.py" "$scenario" --capture "$out" --meta "$CC_SAMPLES_DIR/$scenario.meta.json" \
    --port "$X15_PORT" --clients "$i" --work "$X9_WORK" --cookies "$X15_COOKIES" \
    --configured "{\"listenBacklog\": $X15_BACKLOG, \"somaxconn\": $somaxconn, \"tcpAbortOnOverflow\": $X15_ABORT, \"tcpSyncookies\": $X15_COOKIES, \"tcpMaxSynBacklog\": $X15_MAX_SYN_BACKLOG, \"tcpSynackRetries\": 2, \"handlerSleep\": $X15_SLEEP, \"oneWayDelay\": 0.025, \"clientMaxTime\": $X15_MAX_TIME}" \
    --description "$description" --software "${software[@]}"
}

# x15_record SCENARIO DESCRIPTION: x15_backlog_run in a subshell (its namespaces and processes are
# cleaned up on its exit), at most three times: on a busy machine tcpdump on the tun device misses
# a SYN of the burst now and then, and x15-meta.py then refuses the capture.
x15_record() {
  local attempt
  for attempt in 1 2 3; do
    if ( x15_backlog_run "$@" ); then return 0; fi
    echo "record: attempt $attempt refused, recording again" >&2
  done
  return 1
}
