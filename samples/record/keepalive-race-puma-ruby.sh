#!/usr/bin/env bash
# The keep-alive race between Ruby's Net::HTTP and Puma: Puma 5.6 (Debian puma, single mode, 16
# threads) with persistent_timeout 2 s serving a small Rack app (programs/x17r-app.ru), behind a 5 ms
# one-way-latency link; Ruby 3.1's Net::HTTP (Debian ruby) in 8 threads at once, each its own
# Net::HTTP with keep_alive_timeout raised to 5 s (max_retries left at 1). Puma 5 holds a connection
# 0.2 s in its worker thread after each response (FAST_TRACK_KA_TIMEOUT) before its reactor starts
# the persistent_timeout, so it closes an idle connection ~2.2 s after the response: each lane reuses
# its connection after pauses swept from 2.17 to 2.23 s (dense 2.188-2.209 s), GETs and POSTs
# alternating, so that some requests cross Puma's idle-close FIN. Every request is logged with
# Net::HTTP's own debug messages, its local ports and its outcome (ground truth: Net::HTTP retries a
# GET once on a new connection, raises EOFError for a POST). Server-side capture. Bounded: one
# attempt takes ~16 s; redone (at most 3 attempts) until one has at least 3 races, a POST among them
# and a GET that Net::HTTP retried.
# Writes samples/keepalive-race-puma-ruby.pcap and .meta.json (x17r-meta.py checks the capture
# against the client's and the Rack app's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x17r-lib.sh"
x17r_require

SCENARIO=keepalive-race-puma-ruby
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8000
DELAY_MS=5
PERSISTENT_S=2
CLIENT_KAT_S=5
NSS=ccx17r-ks
NSC=ccx17r-kc
# 48 pauses (s): 5 outside the race window, 43 from 2.188 to 2.209 s in 0.5 ms steps, in a fixed
# shuffled order, dealt round-robin to 8 lanes of 6 rounds.
GAPS=$(python3 -c "
import random
v = [2.17, 2.178, 2.184, 2.215, 2.23] + [round(2.188 + 0.0005 * k, 4) for k in range(43)]
random.Random(17).shuffle(v)
print(','.join(map(str, v)))")

cc_netns_up "$NSS"
ccb_workdir
ccb_netns_add "$NSC"
ccb_delay_link "$NSC" "$NSS" "$DELAY_MS"
mapfile -t SOFTWARE < <(x17r_software; echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency")
BASE="http://$CCB_SERVER_IP:$PORT"
for attempt in 1 2 3; do
  rm -f "$CCB_WORK/client.log" "$CCB_WORK/server.log"
  x17r_puma "$NSS" "$CCB_SERVER_IP" "$PORT" "$PERSISTENT_S" "$CCB_WORK/server.log"
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port $PORT"
  ip netns exec "$NSC" timeout 40 /usr/bin/ruby "$X17R_PROGRAMS/x17r-net-http-client.rb" sweep --base "$BASE" \
    --log "$CCB_WORK/client.log" --lanes 8 --rounds 6 --stagger 0.11 --keep-alive-timeout "$CLIENT_KAT_S" \
    --gaps "$GAPS" --max-seconds 30 || true
  sleep 2.6   # Puma's idle closes of the connections opened last, if any, and the clients' FINs
  cc_capture_stop
  kill -TERM "$X17R_PUMA_PID"; wait "$X17R_PUMA_PID" 2>/dev/null || true
  if python3 "$X17R_PROGRAMS/x17r-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --server-port "$PORT" --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" \
      --need-races 3 --need-post-races 1 --need-retries 1 \
      --configured "{\"serverIdleTimeout\": 2.2, \"persistentTimeout\": $PERSISTENT_S, \"clientKeepAliveTimeout\": $CLIENT_KAT_S, \"oneWayDelayMs\": $DELAY_MS}" \
      --configured-notes "persistentTimeout is Puma's persistent_timeout (2 s, set in programs/x17r-puma.rb from X17R_PERSISTENT_TIMEOUT). Puma 5.6 applies it late: after a response the worker thread first waits FAST_TRACK_KA_TIMEOUT = 0.2 s (lib/puma/const.rb; Client#reset) for a next request, and only then hands the connection to the reactor with persistent_timeout; so serverIdleTimeout, the idle time after which Puma's FIN leaves (last response byte to FIN), is 2.2 s (2.200-2.203 s measured, see observed). clientKeepAliveTimeout is Net::HTTP's keep_alive_timeout, raised from its 2 s default to 5 s (with 2 s Net::HTTP itself would reconnect before Puma's close)." \
      --capture-side "server (tun ccbs in the server namespace)" \
      --software "${SOFTWARE[@]}" \
      --description "The keep-alive race between Ruby's Net::HTTP and Puma. ${SOFTWARE[0]%% (*} (Debian puma, single mode, 16 threads) with persistent_timeout ${PERSISTENT_S} s serves a small Rack app (GET 200, POST 201). After a response Puma waits 0.2 s in the worker thread (FAST_TRACK_KA_TIMEOUT) for another request, then its reactor waits persistent_timeout; with no new byte by then it closes the socket: FIN, ~2.201 s after the response. The client, ${SOFTWARE[1]%% (*}, runs 8 threads at once, each its own Net::HTTP (keep_alive_timeout raised to ${CLIENT_KAT_S} s, max_retries 1, the default), reusing its persistent connection after pauses swept from 2.17 to 2.23 s (dense 2.188-2.209 s), GET and POST alternating; after a failed request the lane sends a new warm GET (Net::HTTP reconnects). ${DELAY_MS} ms one-way latency; captured on the server side. A reuse sent in the last RTT before Puma's FIN reached the client crosses it: the request arrives at a closed socket and the kernel answers RST (one per segment: Net::HTTP sends a POST's headers and body in two segments); Net::HTTP reads the FIN first and sees EOF: for a GET it logs 'Conn close because of error end of file reached, and retry' and sends it again on a new connection (the application gets 200); a POST raises EOFError ('end of file reached'), not retried. A reuse after the FIN reached the client is safe: before each reuse Net::HTTP checks the socket (wait_readable(0) && eof?), logs 'Conn close because of EOF' and connects anew."; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
grep -h '"error"\|"retried":true' "$CCB_WORK/client.log" || true
# X17R_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
[ -n "${X17R_LOG_DIR:-}" ] && { mkdir -p "$X17R_LOG_DIR"; cp "$CCB_WORK"/*.log "$X17R_LOG_DIR/"; }
exit 0
