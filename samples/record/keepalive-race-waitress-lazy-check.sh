#!/usr/bin/env bash
# waitress's lazy idle check: one maintenance pass closes connections of different idle ages, the
# shortest far below the others (blind round 17, s09). waitress 2.1 (Debian python3-waitress,
# programs/x19w-server.py, which logs each idle close from inside waitress's maintenance) with
# channel_timeout 2 s and cleanup_interval 1 s; a raw-socket client (programs/lazycheck-client.py)
# on loopback: two connections G and R used at once, a third S 0.45 s later, a Connection: close
# request H 0.25 s after that (the last activity before the pass); the pass that closes G and R
# (idle alike) closes S too, idle 0.45 s less. G and S are closed by the client on their FIN; R is
# reused 0.9 s after its FIN with a POST, which meets the server's RST (stale reuse: the race). Near
# miss on the same server: K reused after 1.5 s idle, answered, then closed by the client.
# Whether S's close falls at G's pass depends on where waitress's passes fall; the recording is
# redone (at most 3 attempts) until the server's log shows S closed at least 0.1 s less idle than
# G and R, G and R within 30 ms of each other, and the POST failed.
# Writes samples/keepalive-race-waitress-lazy-check.pcap and .meta.json (programs/lazycheck-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require /usr/bin/python3 tcpdump ip timeout
/usr/bin/python3 -c 'import waitress' 2>/dev/null || { echo "record: apt-get install python3-waitress" >&2; exit 2; }

SCENARIO=keepalive-race-waitress-lazy-check
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8087
CHANNEL_TIMEOUT=2
CLEANUP_INTERVAL=1
PROGRAMS="$CC_RECORD_DIR/programs"
WORK="$(mktemp -d)"

cc_netns_up cc-lazycheck
for attempt in 1 2 3; do
  rm -f "$WORK/server.log" "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port $PORT"
  cc_bg /usr/bin/python3 "$PROGRAMS/x19w-server.py" waitress --host 127.0.0.1 --port "$PORT" --log "$WORK/server.log" \
    --channel-timeout "$CHANNEL_TIMEOUT" --cleanup-interval "$CLEANUP_INTERVAL" --threads 4
  SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$PORT"
  cc_in timeout 30 /usr/bin/python3 "$PROGRAMS/lazycheck-client.py" --host 127.0.0.1 --port "$PORT" --log "$WORK/client.log" || true
  sleep 0.5
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  # Ended and reaped: no longer this recorder's to end at exit (its PID may be reused).
  CC_PIDS=("${CC_PIDS[@]/$SERVER_PID/}")
  cc_capture_stop
  if /usr/bin/python3 "$PROGRAMS/lazycheck-meta.py" --scenario "$SCENARIO" --pcap "$OUT" \
      --server-log "$WORK/server.log" --client-log "$WORK/client.log" \
      --channel-timeout "$CHANNEL_TIMEOUT" --cleanup-interval "$CLEANUP_INTERVAL" \
      --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; cat "$WORK/server.log" "$WORK/client.log" >&2; exit 1; }
done
cat "$WORK/server.log" "$WORK/client.log"
rm -rf "$WORK"
exit 0
