#!/usr/bin/env bash
# A server process stopped whole (SIGSTOP for 4 s, then SIGCONT), and a near miss, a server slow
# per request. Python ThreadingHTTPServer (HTTP/1.1 keep-alive), one per port:
#  - :8080 under two keep-alive clients, one with a 1.5 s timeout (shorter than the pause: it
#    gives up, closes and reconnects, and its request on the new connection times out too) and
#    one with 6 s (longer: answered late but in time). Stopped with SIGSTOP for 4 s: when it
#    resumes it answers everything it owed at one instant, the short client's closed sockets
#    reset the late answers. unanswered-request must say the process was paused (not slow per
#    request) and infer the pause (about 4 s, from the earliest stalled request).
#  - :8081 answers GET /slow after 2.5 s each (its handler sleeps): two clients with a 1.5 s
#    timeout give up on each, every late answer comes 2.5 s after its own request, at no common
#    instant: no pause may be claimed there ("slower than the timeout, not hung").
# Writes samples/server-paused-sigstop.pcap (its .meta.json is written by hand from the logs the
# script prints: the STOP/CONT instants and each client's TIMEOUT lines).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump ip

SCENARIO=server-paused-sigstop
WORK="$(mktemp -d)"
cc_netns_up fxs-pause
cc_bg python3 "$HERE/programs/fxs-pause-server.py" 8080 2.5 2>"$WORK/paused.log"
PAUSED_PID="$CC_LAST_PID"
cc_bg python3 "$HERE/programs/fxs-pause-server.py" 8081 2.5 2>"$WORK/slow.log"
cc_wait_port 8080
cc_wait_port 8081
OUT="$WORK/$SCENARIO.pcap"
cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081"

# Phase 1: the pause.
cc_bg python3 "$HERE/programs/fxs-pause-client.py" 8080 1.5 0.15 9 /short >"$WORK/short.log"
SHORT_PID="$CC_LAST_PID"
cc_bg python3 "$HERE/programs/fxs-pause-client.py" 8080 6 0.15 9 /long >"$WORK/long.log"
LONG_PID="$CC_LAST_PID"
sleep 2
echo "$(date +%s.%N) STOP" >"$WORK/events.log"
kill -STOP "$PAUSED_PID"
sleep 4
kill -CONT "$PAUSED_PID"
echo "$(date +%s.%N) CONT" >>"$WORK/events.log"
wait "$SHORT_PID" "$LONG_PID" || true

# Phase 2: the near miss, a handler slow per request.
cc_bg python3 "$HERE/programs/fxs-pause-client.py" 8081 1.5 0.2 6 /slow/a >"$WORK/slow-a.log"
A_PID="$CC_LAST_PID"
sleep 0.4
cc_bg python3 "$HERE/programs/fxs-pause-client.py" 8081 1.5 0.2 6 /slow/b >"$WORK/slow-b.log"
B_PID="$CC_LAST_PID"
wait "$A_PID" "$B_PID" || true
sleep 3                          # the last slow answers reach the closed sockets
cc_capture_stop
cat "$WORK/events.log"; grep -c TIMEOUT "$WORK"/short.log "$WORK"/long.log "$WORK"/slow-a.log "$WORK"/slow-b.log || true
cp "$OUT" "$CC_SAMPLES_DIR/"
echo "$WORK"
