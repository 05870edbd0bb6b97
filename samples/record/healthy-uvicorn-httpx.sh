#!/usr/bin/env bash
# Healthy keep-alive reuse between httpx and uvicorn: uvicorn 0.17 (Debian python3-uvicorn, h11
# protocol, asyncio loop, default timeout_keep_alive 5 s) serving a small ASGI app; two
# httpx.Client (Debian python3-httpx 0.23, httpcore 0.16) one after the other, each sending GETs
# and POSTs on its one pooled connection with pauses of 0.05-3 s (all well inside the 5 s idle
# timeout), then closing (client.close(): FIN from the client; uvicorn closes its side on EOF).
# Loopback. conncheck must report nothing. (Each httpx POST body waits ~40 ms for uvicorn's delayed
# ACK of its headers: httpcore 0.16 leaves Nagle on; not a connection-reuse problem.)
# Writes samples/healthy-uvicorn-httpx.pcap and .meta.json (x16-meta.py checks it against the
# client's and uvicorn's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x16-lib.sh"
x16_require httpx

SCENARIO=healthy-uvicorn-httpx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT="$X16_PORT"
cc_netns_up ccx16u-hh
ccb_workdir
WORK="$CCB_WORK"
x16_uvicorn 127.0.0.1
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 /usr/bin/python3 "$CCB_PROGRAMS/x16-httpx-client.py" healthy --base "http://127.0.0.1:$PORT" --log "$WORK/client.log" \
  --steps 'GET:/items/a1,0.05,POST:/orders?n=a2,0.8,GET:/items/a3,2.5,POST:/orders?n=a4,0.3,GET:/items/a5,3.0,GET:/items/a6' \
  --steps 'GET:/items/b1,0.2,GET:/items/b2,1.5,POST:/orders?n=b3,0.1,POST:/orders?n=b4,2.0,GET:/items/b5'
cc_capture_stop
x16_uvicorn_stop
mapfile -t SOFTWARE < <(x16_software httpx)
python3 "$CCB_PROGRAMS/x16-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --healthy \
  --server-port "$PORT" --client-log "$WORK/client.log" --server-log "$WORK/server.log" \
  --configured '{"serverIdleTimeout": 5}' \
  --configured-notes "uvicorn's default timeout_keep_alive (5 s; not set). The server never reaches it here: the longest pause is 3 s and each client closes first." \
  --capture-side "loopback in one namespace (client and server)" \
  --software "${SOFTWARE[@]}" \
  --description "Healthy keep-alive reuse: ${SOFTWARE[0]%% (*} (h11 protocol, asyncio loop, default timeout_keep_alive 5 s) serving a small ASGI app (GET 200, POST 201, JSON bodies with Content-Length); two httpx.Client (httpx ${SOFTWARE[1]#httpx }) one after the other on loopback, each sending GETs and POSTs on its one pooled connection with pauses of 0.05-3 s (all well inside the server's 5 s), then client.close(): the client sends the first FIN, uvicorn closes its side on EOF. Every request answered, no reset, no race: conncheck must report nothing. (Not a reuse problem, and no conncheck kind: httpcore 0.16's sync backend leaves Nagle on and writes a POST's headers and body in two send() calls, so each POST body waits ~40 ms for the server's delayed ACK of the headers.)"
grep -v '"start"' "$WORK/client.log"
