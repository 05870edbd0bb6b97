#!/usr/bin/env bash
# response-abandoned-lone-stall: one client program, one cut each, where the server went silent in the
# middle of a body it declared. A python server (programs/c-stall-server.py) sends each /stall response's
# head (Content-Length 40000) and 10000 body bytes at once, stalls 3 s, then sends the rest. wget -t 1
# --read-timeout=1 gives up once ("Read error at byte 10000/40000 (Connection timed out). Giving up.",
# exit 4), curl --max-time 1 once (exit 28 "... with 10000 out of 40000 bytes received"); each closes
# (FIN), and the server's late bytes meet the closed socket (RST). Near misses that must stay silent: curl
# interrupted (SIGINT, a person's Ctrl-C) 0.7 s into a /flow download whose bytes still flow every 0.1 s,
# and 1.6 s into an /events stream (chunked text/event-stream) pausing 2 s between its events: at other
# moments than curl's --max-time, as a person's cancels are (at one delay, three cuts of one program would
# be a timer's, which response-abandoned names).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip curl wget
scenario=response-abandoned-lone-stall
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080
logs="$(mktemp -d)"

cc_netns_up "fxl-$$"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-stall-server.py" --port "$port" --length 40000 --first 10000 --stall 3 \
  --piece 1000 --every 0.1 --pause 2 --lifetime 20 >"$logs/server.log"
server_pid="$CC_LAST_PID"
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
rc=0; cc_c_run 5 wget -t 1 --read-timeout=1 -O /dev/null "http://127.0.0.1:$port/stall?c=wget" 2>"$logs/wget.log" || rc=$?
echo "$rc" >"$logs/wget.rc"
sleep 0.2
rc=0; cc_c_run 5 curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$port/stall?c=curl" 2>"$logs/curl-stall.log" || rc=$?
echo "$rc" >"$logs/curl-stall.rc"
sleep 0.2
# A person's Ctrl-C: SIGINT to curl (no --max-time), 0.7 s and 1.6 s after it started.
rc=0; ip netns exec "$CC_NS" timeout --signal=INT --kill-after=2 0.7 curl -sS -o /dev/null "http://127.0.0.1:$port/flow?c=ctrl-c" 2>"$logs/curl-flow.log" || rc=$?
echo "$rc" >"$logs/curl-flow.rc"
sleep 0.2
rc=0; ip netns exec "$CC_NS" timeout --signal=INT --kill-after=2 1.6 curl -sS -N -o /dev/null "http://127.0.0.1:$port/events?c=ctrl-c" 2>"$logs/curl-events.log" || rc=$?
echo "$rc" >"$logs/curl-events.rc"
sleep 2.5   # the stalled responses' rest and the stream's next event meet the closed sockets
cc_c_capture_stop
cc_c_wait_pid 25 "$server_pid"

"$CC_C_PY" - "$logs" >"$logs/observed.json" <<'PY'
import json, os, sys
d = sys.argv[1]
read = lambda n: open(os.path.join(d, n)).read().strip()
print(json.dumps({
    "wget": {"exit": int(read("wget.rc")), "log": [l for l in read("wget.log").splitlines() if "error" in l.lower() or "giving up" in l.lower()]},
    "curlStall": {"exit": int(read("curl-stall.rc")), "log": read("curl-stall.log")},
    "curlFlowInterrupted": {"exit": int(read("curl-flow.rc")), "log": read("curl-flow.log")},
    "curlEventsInterrupted": {"exit": int(read("curl-events.rc")), "log": read("curl-events.log")},
    "server": read("server.log").splitlines(),
}))
PY
CC_C_OBSERVED="$logs/observed.json" cc_c_meta "$scenario" "$out" \
  '{"wgetReadTimeout": 1.0, "curlMaxTime": 1.0, "serverStall": 3.0, "bodyLength": 40000, "bodyBeforeStall": 10000, "interruptAfter": [0.7, 1.6], "flowEvery": 0.1, "eventsPause": 2.0}' \
  "python $(cc_c_py_version) socket server (programs/c-stall-server.py)" "$(wget --version | head -1 | awk '{print $1, $2, $3}') -t 1 --read-timeout=1" \
  "curl $(cc_c_curl_version) --max-time 1, and interrupted by SIGINT"
rm -rf "$logs"
