#!/usr/bin/env bash
# A server process stopped whole (SIGSTOP for 4 s, then SIGCONT) while clients keep opening new
# connections to it: its small listen backlog (4) fills (backlog + 1 handshakes queued), the kernel
# drops the next SYNs (Linux drops a SYN while the accept queue is full; the clients resend at 1 s
# and 3 s), and the requests on the connections already queued wait, ACKed by the kernel, unread.
# Python ThreadingHTTPServer (request_queue_size 4); clients open one connection per request
# (fxs-backlog-client.py), one every 0.3 s with a 2 s timeout (shorter than the pause: they give up
# on connects and requests) and one every 0.5 s with 9 s (longer: answered late). When the process
# resumes it accepts and answers everything it owed at one instant: the requests whose clients gave
# up get late answers (reset), from which the pause is inferred; syn-unanswered must say its SYNs
# fell in that pause (the process stopped: no accept() ran), as unanswered-request does.
# Writes samples/server-paused-backlog.pcap (its .meta.json is written by hand from the logs the
# script prints: the STOP/CONT instants and each client's lines).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump ip

SCENARIO=server-paused-backlog
WORK="$(mktemp -d)"
cc_netns_up fxs-backlog
cc_bg python3 "$HERE/programs/fxs-pause-server.py" 8080 2.5 4 2>"$WORK/server.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
cc_capture_start "$OUT" "tcp port 8080"

cc_bg python3 "$HERE/programs/fxs-backlog-client.py" 8080 2 0.3 16 /short >"$WORK/short.log"
SHORT_PID="$CC_LAST_PID"
sleep 1
echo "$(date +%s.%N) STOP" >"$WORK/events.log"
kill -STOP "$SERVER_PID"
cc_bg python3 "$HERE/programs/fxs-backlog-client.py" 8080 9 0.5 5 /long >"$WORK/long.log"
LONG_PID="$CC_LAST_PID"
sleep 4
kill -CONT "$SERVER_PID"
echo "$(date +%s.%N) CONT" >>"$WORK/events.log"
wait "$SHORT_PID" "$LONG_PID" || true
sleep 1
cc_in python3 "$HERE/programs/fxs-backlog-client.py" 8080 2 0 1 /after >>"$WORK/short.log"
cc_capture_stop
cat "$WORK/events.log"; sort "$WORK"/short.log "$WORK"/long.log
cp "$OUT" "$CC_SAMPLES_DIR/"
echo "$WORK"
