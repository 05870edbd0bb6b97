#!/usr/bin/env bash
# The keep-alive race against gunicorn's gthread workers (--keep-alive 2, the default: an idle
# keep-alive connection is closed 2 s after its last response) with Python clients that pool
# connections and have no idle timeout of their own: requests.Session (no retries by default)
# and urllib3.PoolManager (Retry(3) by default: retries idempotent requests only). 5 ms one-way
# latency, captured on the server side. Probe rounds measure when the idle close reaches the
# client; race rounds send a GET or a POST a few ms before that (it crosses the FIN: gunicorn
# has closed, its kernel answers RST, the client sees RemoteDisconnected), and one round sends
# 20 ms after the FIN arrived (urllib3 sees the dropped connection and opens a new one: no error).
# Writes samples/keepalive-race-gunicorn.pcap and .meta.json (x9-meta.py checks the capture
# against the client's and gunicorn's logs, else writes nothing and the attempt is redone).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
cc_require python3 tcpdump tshark ip gunicorn

SCENARIO=keepalive-race-gunicorn
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
KEEPALIVE_S=2

x9_delay_setup ccx9-kr-c ccx9-kr-s "$DELAY_MS"
x9_gunicorn ccx9-kr-s 8080 -w 1 -k gthread --threads 4 --keep-alive "$KEEPALIVE_S"
mapfile -t SOFTWARE < <(x9_software_gunicorn)
for attempt in 1 2 3; do
  : >"$X9_WORK/client.log"; : >"$X9_WORK/app.log"
  ccb_capture_start ccx9-kr-s ccbs "$OUT" "tcp port 8080"
  ip netns exec ccx9-kr-c timeout 30 python3 "$X9_PROGRAMS/x9-pool-client.py" --lib requests \
    --base "http://$CCB_SERVER_IP:8080" --probes 2 --rounds GET:6,POST:6,GET:8,POST:8,GET:-20 --tag s \
    --log "$X9_WORK/client.log" || true
  ip netns exec ccx9-kr-c timeout 30 python3 "$X9_PROGRAMS/x9-pool-client.py" --lib urllib3 \
    --base "http://$CCB_SERVER_IP:8080" --probes 1 --rounds GET:6,POST:6,GET:8 --tag p \
    --log "$X9_WORK/client.log" || true
  cc_capture_stop
  if python3 "$X9_PROGRAMS/x9-meta.py" keepalive-race --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --client-log "$X9_WORK/client.log" --app-log "$X9_WORK/app.log" --access-log "$X9_WORK/access.log" --require-retry \
      --set serverIdleTimeout="$KEEPALIVE_S" --set oneWayDelayMs="$DELAY_MS" --software "${SOFTWARE[@]}"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$X9_WORK/client.log" | grep -v '"DEBUG"' || true
