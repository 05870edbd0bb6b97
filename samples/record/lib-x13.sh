#!/usr/bin/env bash
# Shared helpers for the round-13 "healthy load" recorders (load generators at volume).
#   x13_wrk_script OUT DELAY_MS [PAUSE_AFTER PAUSE_MS PER_THREAD]   a wrk Lua script that paces
#       each connection (delay() before every request: bounded volume, small captures) and
#       optionally, once the thread has sent PAUSE_AFTER requests, makes its next PER_THREAD
#       delay() calls (one per connection of the thread: a paused connection calls no more)
#       wait PAUSE_MS: an idle gap on every connection
#   x13_meta SCENARIO ARGS...   check the capture against the load generator's and the
#       server's own numbers (programs/x13-meta.py) and write samples/SCENARIO.meta.json
set -euo pipefail

x13_wrk_script() {
  local out="$1" delay="$2" pause_after="${3:-0}" pause_ms="${4:-0}" per_thread="${5:-0}"
  cat >"$out" <<LUA
-- paced wrk: every request waits ${delay} ms; once the thread sent ${pause_after} requests
-- (0: never), its next ${per_thread} delays (one per connection) last ${pause_ms} ms.
local n = 0
local paused = 0
function delay()
  n = n + 1
  if ${pause_after} > 0 and n > ${pause_after} and paused < ${per_thread} then
    paused = paused + 1
    return ${pause_ms}
  end
  return ${delay}
end
LUA
}

x13_meta() {
  local scenario="$1"; shift
  python3 "$CC_RECORD_DIR/programs/x13-meta.py" --scenario "$scenario" "$@"
}
