#!/usr/bin/env bash
# pipehalf-closes-without-timer: closes that no timer made (blind6 c4_pipe, c6_half).
# Port 8080: a raw python server that answers pipelined requests 20 ms apart and closes
# right after its 2nd response; a client writes 5 requests at once, twice: 6 requests
# unanswered, and no serverTimeout in the 40 ms the two responses took.
# Port 8081: a raw python server that takes a client's FIN for a disconnect: a client that
# half-closes right behind its request (shutdown(SHUT_WR), still reading) gets nothing, twice.
# Port 8082 (near miss): python http.server answers the same half-closing client 0.1 s after its FIN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark ip
scenario=pipehalf-closes-without-timer
out="$CC_SAMPLES_DIR/$scenario.pcap"

cc_netns_up "fp6-$(cc_c_ns "$scenario")"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/fp6-no-timer-server.py" --port 8080 --mode close-after --limit 2 --delay 0.02 --lifetime 20
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/fp6-no-timer-server.py" --port 8081 --mode drop-on-fin --delay 0.3 --lifetime 20
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-py-http.py" --port 8082 --delay 0.1 --lifetime 20
cc_wait_port 8080
cc_wait_port 8081
cc_wait_port 8082

cc_c_capture_start "$out" "tcp portrange 8080-8082"
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/fp6-pipeline-client.py" --port 8080 --prefix /limit-a
sleep 0.2
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/fp6-pipeline-client.py" --port 8080 --prefix /limit-b
sleep 0.2
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port 8081 --path /dropped-a
sleep 0.2
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port 8081 --path /dropped-b
sleep 0.2
cc_c_run 8 "$CC_C_PY" "$CC_C_PROGRAMS/c-half-close-client.py" --port 8082 --path /answered
cc_c_capture_stop

"$CC_C_PY" - "$CC_SAMPLES_DIR/$scenario.meta.json" "$(cc_c_py_version)" <<'PY'
import json, sys
meta = {
  "scenario": "pipehalf-closes-without-timer",
  "description": "Closes no timer made. :8080, a raw python server that answers pipelined requests 20 ms apart and closes right after its 2nd response (an unannounced limit of 2 requests per connection); a client writes 5 requests at once, twice: /limit-a/3-5 and /limit-b/3-5 unanswered (6), no serverTimeout from the 40 ms the responses took. :8081, a raw python server that takes the client's FIN for a disconnect: a client that half-closes right behind its request (shutdown(SHUT_WR), still reading) gets nothing, twice (/dropped-a, /dropped-b), no timeout of either side. :8082 (near miss), python http.server answers the same half-closing client 0.1 s after its FIN.",
  "software": [f"python {sys.argv[2]} raw socket servers (close after 2 responses; FIN taken for a disconnect)", f"python {sys.argv[2]} http.server", f"python {sys.argv[2]} socket clients (pipelining; shutdown SHUT_WR)"],
  "configured": {"requestsPerConnection": "2", "serverDropsOnFin": "yes"},
  "expect": [
    {"kind": "unanswered-request", "server": "127.0.0.1:8080", "notes": "2 findings (closeEnding afterOwnResponse), 6 requests counted and named, no serverTimeout"},
    {"kind": "unanswered-request", "server": "127.0.0.1:8081", "notes": "2 findings (closeEnding onClientFin), dropped on the half-close, no timeout"},
    {"kind": None, "server": "127.0.0.1:8082", "notes": "answered after the half-close: silent"}
  ]
}
json.dump(meta, open(sys.argv[1], "w"), indent=2)
open(sys.argv[1], "a").write("\n")
PY
