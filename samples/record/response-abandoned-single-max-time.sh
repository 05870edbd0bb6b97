#!/usr/bin/env bash
# response-abandoned-single-max-time: one curl --max-time 2 that gives up once in the middle of a body
# it was owed while the bytes still flow (blind round 15, s12/s12b: "Operation timed out after 2000
# milliseconds with 19000 out of 50000 bytes received", and conncheck said nothing). A python server
# (programs/c-stall-server.py) sends each /flow response's head (Content-Length 50000) and 1000 body
# bytes every 0.1 s (5 s in all). curl --max-time 2 closes about 2 s after its request with some 20000
# bytes read; the server's next write meets the closed socket. Near misses that must stay silent: a
# reader that wanted the status only (python socket: reads the head of a /flow response and closes at
# once, like a HEAD-like health check), and curl -N --max-time 2 on an /events stream (chunked
# text/event-stream, 3 s between events) that it closes between events: a stream has no end it was owed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip curl
scenario=response-abandoned-single-max-time
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080
logs="$(mktemp -d)"

cc_netns_up "fxs-$$"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-stall-server.py" --port "$port" --length 50000 --piece 1000 --every 0.1 \
  --pause 3 --lifetime 20 >"$logs/server.log"
server_pid="$CC_LAST_PID"
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
rc=0; cc_c_run 5 curl -sS -o /dev/null --max-time 2 "http://127.0.0.1:$port/flow?c=curl" 2>"$logs/curl-flow.log" || rc=$?
echo "$rc" >"$logs/curl-flow.rc"
sleep 0.3
# A reader that wanted the status line only: the head read, the socket closed at once.
rc=0; cc_c_run 5 "$CC_C_PY" - "$port" >"$logs/head-reader.log" 2>&1 <<'PY' || rc=$?
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
s.sendall(b"GET /flow?c=head-reader HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: head-reader/1\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
s.close()
print(f"{time.time():.6f} status {data.split(b' ', 2)[1].decode()} read {len(data)} bytes, closed after the head")
PY
echo "$rc" >"$logs/head-reader.rc"
sleep 0.3
rc=0; cc_c_run 5 curl -sS -N -o /dev/null --max-time 2 "http://127.0.0.1:$port/events?c=sse" 2>"$logs/curl-events.log" || rc=$?
echo "$rc" >"$logs/curl-events.rc"
sleep 1.5   # the stream's next event meets the closed socket
cc_c_capture_stop
cc_c_wait_pid 25 "$server_pid"

"$CC_C_PY" - "$logs" >"$logs/observed.json" <<'PY'
import json, os, sys
d = sys.argv[1]
read = lambda n: open(os.path.join(d, n)).read().strip()
print(json.dumps({
    "curlFlow": {"exit": int(read("curl-flow.rc")), "log": read("curl-flow.log")},
    "headReader": {"exit": int(read("head-reader.rc")), "log": read("head-reader.log")},
    "curlEvents": {"exit": int(read("curl-events.rc")), "log": read("curl-events.log")},
    "server": read("server.log").splitlines(),
}))
PY
CC_C_OBSERVED="$logs/observed.json" cc_c_meta "$scenario" "$out" \
  '{"curlMaxTime": 2.0, "bodyLength": 50000, "flowPiece": 1000, "flowEvery": 0.1, "eventsPause": 3.0}' \
  "python $(cc_c_py_version) socket server (programs/c-stall-server.py) and socket client (a head reader)" \
  "curl $(cc_c_curl_version) --max-time 2"
rm -rf "$logs"
