#!/usr/bin/env bash
# response-truncated-paced-exit: a raw server that writes a chunk every 0.2 s and exits (os._exit)
# 0.2 s after its third, mid-body: its kernel closes each connection with a FIN. The silence before
# each cut equals the pauses between the chunks before it, so it is no timer on the silence between
# bytes (one would have fired at the first pause): the server's own pace (blind round 13, S18, read
# as "responseStallTimeout ≈ 201.5 ms … proxy_read_timeout"). Clients: curl (exit 18), Node 20's
# fetch (TypeError "terminated", cause "other side closed"), Java 17's HttpClient ("chunked transfer
# encoding, state: READING_LENGTH"), one request each, the server started anew for each. Near miss:
# the same paced response finished (curl exit 0).
# In a namespace, on its loopback: programs/paced-exit-server.py on 127.0.0.2:8099. Ground truth:
# the server's event log and the clients' own reports; programs/paced-exit-meta.py checks them
# against the capture and writes the meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 curl node java tcpdump tshark ip

SCENARIO=response-truncated-paced-exit
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
META="$CC_SAMPLES_DIR/$SCENARIO.meta.json"
WORK="$(mktemp -d)"
chmod 755 "$WORK"
P="$CC_RECORD_DIR/programs"
cp "$P/JGet.java" "$WORK/"

cc_netns_up cc-paced-exit
cc_capture_start "$OUT" "tcp port 8099"
one() { # MODE CLIENT PATH
  cc_bg python3 "$P/paced-exit-server.py" 127.0.0.2 8099 0.2 3 "$1" "$WORK/server.log"
  local server="$CC_LAST_PID"
  cc_wait_port 8099
  cc_in "$P/paced-exit-clients.sh" "$2" "http://127.0.0.2:8099/$3" "$WORK" >>"$WORK/clients.log" 2>&1
  wait "$server" || true
}
one exit curl curl
one exit fetch fetch
one exit java java
one complete curl ok
cc_capture_stop
python3 "$P/paced-exit-meta.py" --capture "$OUT" --meta "$META" --server-log "$WORK/server.log" --clients-log "$WORK/clients.log" \
  --software "python3 $(python3 --version | cut -d' ' -f2) (paced-exit-server.py)" "$(curl --version | head -1 | cut -d' ' -f1-2)" "node $(node --version)" \
  "java $(java -version 2>&1 | head -1 | cut -d'"' -f2)"
rm -rf "$WORK"
