#!/usr/bin/env bash
# Idle keep-alive 408: a raw Python server's idle timer (0.6 s, run on a 0.1 s tick before reading)
# announces the close with `408 Request Timeout` + Connection: close and closes without reading
# what is pending. A request it crosses (unread in the buffer) and requests sent 3 ms and 0.2 s
# after it are keep-alive races (request-after-close-notice, error); a reuse within the timeout is
# answered, and a connection never reused gets its 408 and closes: silent (the near miss).
# Writes samples/request-after-close-notice-idle-408.pcap and .meta.json (the meta script checks
# each client met what it needs, else it fails and writes nothing; redone at most 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump ip

SCENARIO=request-after-close-notice-idle-408
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE_S=0.6
PROGRAMS="$HERE/programs"

cc_netns_up "${RECORD_NS:-fn4-idle408}"
WORK="$(mktemp -d)"
for attempt in 1 2 3; do
  rm -f "$WORK/client.log"
  cc_capture_start "$OUT" "tcp port 8080"
  cc_in timeout 30 python3 "$PROGRAMS/fn4-idle408.py" --port 8080 --idle "$IDLE_S" --log "$WORK/client.log"
  cc_capture_stop
  if python3 "$PROGRAMS/fn4-idle408-meta.py" --log "$WORK/client.log" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --port 8080 --idle "$IDLE_S" \
    --software "Python $(python3 -c 'import platform; print(platform.python_version())') raw socket server and clients (fn4-idle408.py)"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
rm -rf "$WORK"
