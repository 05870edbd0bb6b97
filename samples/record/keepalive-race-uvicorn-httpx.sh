#!/usr/bin/env bash
# The keep-alive race between httpx and uvicorn: uvicorn 0.17 (Debian python3-uvicorn, h11
# protocol, asyncio loop) with timeout_keep_alive 2 s (`--timeout-keep-alive 2`), behind a 5 ms
# one-way-latency link; httpx 0.23 (Debian python3-httpx, httpcore 0.16) in 8 threads at once, each
# with its own httpx.Client (default limits: idle connections kept 5 s, keepalive_expiry). Each
# lane reuses its pooled connection after idle pauses swept from 1.95 s to 2.05 s (dense from 1.985
# to 2.006 s), GETs and POSTs alternating, so that some requests cross uvicorn's idle-close FIN.
# Before reusing, httpcore checks whether the idle socket is readable (a FIN that has arrived) and
# then opens a new connection instead; a request already sent when the FIN arrives fails, and httpx
# does not retry it. Every client error is logged with its time and local port (ground truth).
# Server-side capture. Bounded: one attempt takes ~14 s, at most 3: attempts go on (at most 3)
# until one also shows a rarer form than crossing (stale reuse, closed on arrival), else the last
# usable one is kept.
# Writes samples/keepalive-race-uvicorn-httpx.pcap and .meta.json (x16-meta.py checks the capture
# against the client's and uvicorn's logs, and asks for at least 3 races, 1 of them a POST).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require /usr/bin/python3 python3 tcpdump tshark ip
/usr/bin/python3 -c 'import uvicorn, httpx' 2>/dev/null || { echo "record: apt-get install -y python3-uvicorn python3-httpx" >&2; exit 2; }

SCENARIO=keepalive-race-uvicorn-httpx
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8000
DELAY_MS=5
IDLE_S=2
# 48 pauses (s): 5 outside the race window, 43 from 1.985 to 2.006 s in 0.5 ms steps, in a fixed
# shuffled order, dealt round-robin to 8 lanes of 6 rounds.
GAPS=$(python3 -c "
import random
v = [1.95, 1.965, 1.98, 2.025, 2.05] + [round(1.985 + 0.0005 * k, 4) for k in range(43)]
random.Random(16).shuffle(v)
print(','.join(map(str, v)))")

cc_netns_up ccx16u-xs            # server side (CC_NS)
ccb_workdir
WORK="$CCB_WORK"
ccb_netns_add ccx16u-xc          # client side
ccb_delay_link ccx16u-xc ccx16u-xs "$DELAY_MS"
KEPT=""
for attempt in 1 2 3; do
  CLIENT_LOG="$WORK/client.log"
  rm -f "$WORK/client.log" "$WORK/server.log"
  cc_bg /usr/bin/python3 "$CCB_PROGRAMS/x16-asgi-server.py" --host "$CCB_SERVER_IP" --port "$PORT" \
    --timeout-keep-alive "$IDLE_S" --log "$WORK/server.log"
  SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$PORT"
  ccb_capture_start ccx16u-xs ccbs "$OUT" "tcp port $PORT"
  ip netns exec ccx16u-xc timeout 25 /usr/bin/python3 "$CCB_PROGRAMS/x16-httpx-client.py" race --base "http://$CCB_SERVER_IP:$PORT" \
    --log "$WORK/client.log" --lanes 8 --rounds 6 --stagger 0.11 --gaps "$GAPS" --max-seconds 20 || true
  cc_capture_stop
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SOFTWARE=("uvicorn $(/usr/bin/python3 -c 'import uvicorn; print(uvicorn.__version__)') (Debian python3-uvicorn; h11 $(/usr/bin/python3 -c 'import h11; print(h11.__version__)'), asyncio loop; /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
            "httpx $(/usr/bin/python3 -c 'import httpx; print(httpx.__version__)') (Debian python3-httpx), httpcore $(/usr/bin/python3 -c 'import httpcore; print(httpcore.__version__)')"
            "user-space delay line (python3, tun) for path latency")
  RC=0
  python3 "$CCB_PROGRAMS/x16-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --server-port "$PORT" --client-log "$WORK/client.log" --server-log "$WORK/server.log" --need-races 3 --need-post-races 1 \
      --want-form stale-reuse --want-form closed-on-arrival \
      --configured "{\"serverIdleTimeout\": $IDLE_S, \"oneWayDelayMs\": $DELAY_MS}" \
      --configured-notes "serverIdleTimeout is uvicorn's timeout_keep_alive, a loop.call_later timer armed when the response is complete (after its last write): on the wire the FIN follows the last response byte by timeout + ~1 ms. httpx's pool (Limits keepalive_expiry, 5 s by default) would keep the connection longer." \
      --capture-side "server (tun ccbs in the server namespace)" \
      --software "${SOFTWARE[@]}" \
      --description "The keep-alive race between httpx and uvicorn. ${SOFTWARE[0]%% (*} (h11 protocol, asyncio loop) with timeout_keep_alive ${IDLE_S} s serves a small ASGI app (GET 200, POST 201); after each response it arms a ${IDLE_S} s timer and, with no new byte by then, closes the transport: FIN. The client, ${SOFTWARE[1]%% (*} (httpcore ${SOFTWARE[1]##* }, sync), runs 8 threads at once, each with its own httpx.Client (default limits: idle connections kept 5 s); each lane reuses its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.985-2.006 s), GET and POST alternating, and opens a new connection (another URI) after a failure. ${DELAY_MS} ms one-way latency; captured on the server side. A reuse sent in the last RTT before the FIN reached the client crosses it: the request arrives at a closed socket and the kernel answers RST; httpx raises RemoteProtocolError ('Server disconnected without sending a response.') when it reads the FIN first, ReadError (ECONNRESET) when the RST comes first, and does not retry, whatever the method (groundTruth.clientLog.errors). A reuse after the FIN reached the client is safe: httpcore finds the idle socket readable and opens a new connection. Rarer forms, when the attempt kept shows them (expect[].evidence.form): stale reuse (the FIN reached the client's kernel just after httpcore's readability check, before the request was sent) and closed on arrival (the request reached uvicorn just as its timer closed the connection: the asyncio transport is closed with the request unread, so the kernel sends RST, not FIN)." || RC=$?
  if [ "$RC" = 0 ]; then
    KEPT=""
    cp "$CLIENT_LOG" "$WORK/kept-client.log"
    break
  fi
  if [ "$RC" = 3 ]; then  # usable, but only crossings: keep it, and try once more for a rarer form
    cp "$OUT" "$WORK/kept.pcap"; cp "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$WORK/kept.meta.json"; cp "$CLIENT_LOG" "$WORK/kept-client.log"
    KEPT=1
  fi
  if [ "$attempt" = 3 ]; then
    [ -n "$KEPT" ] || { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
    cp "$WORK/kept.pcap" "$OUT"; cp "$WORK/kept.meta.json" "$CC_SAMPLES_DIR/$SCENARIO.meta.json"
    echo "record: $SCENARIO: kept an attempt with crossings only" >&2
  fi
done
grep '"error"' "$WORK/kept-client.log" || true
