#!/usr/bin/env bash
# Helpers of the x16 uvicorn recorders (uvicorn 0.17 from Debian python3-uvicorn serving
# programs/x16-asgi-server.py; clients: aiohttp or httpx from Debian python3-aiohttp /
# python3-httpx, run by /usr/bin/python3): healthy-uvicorn-httpx.sh,
# keepalive-race-uvicorn-aiohttp.sh, keepalive-race-uvicorn-httpx.sh. Source after lib.sh (it
# sources lib-b.sh when that is not loaded yet).
#   x16_require CLIENT           the tools, and uvicorn and CLIENT (aiohttp or httpx) importable
#   x16_uvicorn ADDR [ARGS...]   x16-asgi-server.py on ADDR:X16_PORT in CC_NS (more server
#                                options: ARGS), its log in $CCB_WORK/server.log; sets X16_SERVER_PID
#                                and returns once it listens
#   x16_uvicorn_stop             SIGTERM, wait
#   x16_software CLIENT          the versions of uvicorn and of CLIENT, one a line, for the meta
#   x16_race SCENARIO NS_PREFIX CONFIGURED_NOTES DESCRIPTION CLIENT_PROGRAM [CLIENT_ARGS...]
#       the keep-alive race recording: namespaces NS_PREFIX"s" (server, CC_NS) and NS_PREFIX"c"
#       (client) X16_DELAY_MS apart (ccb_delay_link), uvicorn with timeout_keep_alive X16_IDLE_S,
#       programs/CLIENT_PROGRAM CLIENT_ARGS in 8 lanes of 6 rounds with the pauses X16_GAPS, a
#       server-side capture, and x16-meta.py (at least 3 races, 1 of them a POST, and wished for:
#       a stale reuse or a closed on arrival). Attempts go on (at most 3) until one shows a rarer
#       form than crossing, else the last usable one is kept. Uses SOFTWARE (x16_software and the
#       delay line) for the meta.
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X16_PORT=8000
X16_DELAY_MS=5
X16_IDLE_S=2
X16_SERVER_PID=""

x16_require() {
  local client="$1"
  cc_require /usr/bin/python3 python3 tcpdump tshark ip
  /usr/bin/python3 -c "import uvicorn, $client" 2>/dev/null || { echo "record: apt-get install -y python3-uvicorn python3-$client" >&2; exit 2; }
}

x16_uvicorn() {
  local addr="$1"; shift
  cc_bg /usr/bin/python3 "$CCB_PROGRAMS/x16-asgi-server.py" --host "$addr" --port "$X16_PORT" "$@" --log "$CCB_WORK/server.log"
  X16_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X16_PORT"
}

x16_uvicorn_stop() {
  kill -TERM "$X16_SERVER_PID"; wait "$X16_SERVER_PID" 2>/dev/null || true
}

x16_software() {
  local py=/usr/bin/python3
  echo "uvicorn $($py -c 'import uvicorn; print(uvicorn.__version__)') (Debian python3-uvicorn; h11 $($py -c 'import h11; print(h11.__version__)'), asyncio loop; /usr/bin/python3 $($py -c 'import platform; print(platform.python_version())'))"
  case "$1" in
    aiohttp) echo "aiohttp $($py -c 'import aiohttp; print(aiohttp.__version__)') (Debian python3-aiohttp)" ;;
    httpx) echo "httpx $($py -c 'import httpx; print(httpx.__version__)') (Debian python3-httpx), httpcore $($py -c 'import httpcore; print(httpcore.__version__)')" ;;
    *) echo "record: x16_software: unknown client $1" >&2; exit 2 ;;
  esac
}

x16_race() {
  local scenario="$1" nss="${2}s" nsc="${2}c" notes="$3" description="$4"
  shift 4
  local out="$CC_SAMPLES_DIR/$scenario.pcap" meta="$CC_SAMPLES_DIR/$scenario.meta.json"
  local gaps attempt rc kept=""
  # 48 pauses (s): 5 outside the race window, 43 from 1.985 to 2.006 s in 0.5 ms steps, in a fixed
  # shuffled order, dealt round-robin to 8 lanes of 6 rounds.
  gaps=$(python3 -c "
import random
v = [1.95, 1.965, 1.98, 2.025, 2.05] + [round(1.985 + 0.0005 * k, 4) for k in range(43)]
random.Random(16).shuffle(v)
print(','.join(map(str, v)))")

  cc_netns_up "$nss"             # server side (CC_NS)
  ccb_workdir
  ccb_netns_add "$nsc"           # client side
  ccb_delay_link "$nsc" "$nss" "$X16_DELAY_MS"
  for attempt in 1 2 3; do
    rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
    x16_uvicorn "$CCB_SERVER_IP" --timeout-keep-alive "$X16_IDLE_S"
    ccb_capture_start "$nss" ccbs "$out" "tcp port $X16_PORT"
    ip netns exec "$nsc" timeout 25 /usr/bin/python3 "$CCB_PROGRAMS/$1" "${@:2}" --base "http://$CCB_SERVER_IP:$X16_PORT" \
      --log "$CCB_WORK/client.log" --lanes 8 --rounds 6 --stagger 0.11 --gaps "$gaps" --max-seconds 20 || true
    cc_capture_stop
    x16_uvicorn_stop
    rc=0
    python3 "$CCB_PROGRAMS/x16-meta.py" "$scenario" --capture "$out" --meta "$meta" \
        --server-port "$X16_PORT" --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" --need-races 3 --need-post-races 1 \
        --want-form stale-reuse --want-form closed-on-arrival \
        --configured "{\"serverIdleTimeout\": $X16_IDLE_S, \"oneWayDelayMs\": $X16_DELAY_MS}" \
        --configured-notes "$notes" \
        --capture-side "server (tun ccbs in the server namespace)" \
        --software "${SOFTWARE[@]}" \
        --description "$description" || rc=$?
    if [ "$rc" = 0 ]; then
      kept=""
      cp "$CCB_WORK/client.log" "$CCB_WORK/kept-client.log"
      break
    fi
    if [ "$rc" = 3 ]; then  # usable, but only crossings: keep it, and try once more for a rarer form
      cp "$out" "$CCB_WORK/kept.pcap"; cp "$meta" "$CCB_WORK/kept.meta.json"; cp "$CCB_WORK/client.log" "$CCB_WORK/kept-client.log"
      kept=1
    fi
    if [ "$attempt" = 3 ]; then
      [ -n "$kept" ] || { echo "record: $scenario: no usable recording in 3 attempts" >&2; exit 1; }
      cp "$CCB_WORK/kept.pcap" "$out"; cp "$CCB_WORK/kept.meta.json" "$meta"
      echo "record: $scenario: kept an attempt with crossings only" >&2
    fi
  done
  grep '"error"' "$CCB_WORK/kept-client.log" || true
}
