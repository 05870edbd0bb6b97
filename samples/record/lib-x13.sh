#!/usr/bin/env bash
# Shared helpers for the round-13 "healthy load" recorders (load generators at volume).
#   x13_wrk_script OUT DELAY_MS [PAUSE_AFTER PAUSE_MS]   a wrk Lua script that paces each
#       connection (delay() before every request: bounded volume, small captures) and
#       optionally pauses every connection once for PAUSE_MS after its PAUSE_AFTER-th request
#   x13_meta SCENARIO ARGS...   check the capture against the load generator's and the
#       server's own numbers (programs/x13-meta.py) and write samples/SCENARIO.meta.json
set -euo pipefail

x13_wrk_script() {
  local out="$1" delay="$2" pause_after="${3:-0}" pause_ms="${4:-0}"
  cat >"$out" <<LUA
-- paced wrk: every request waits ${delay} ms; after request ${pause_after} (0: never)
-- the thread waits ${pause_ms} ms once (an idle gap on every connection of the thread).
local n = 0
local paused = false
function delay()
  n = n + 1
  if ${pause_after} > 0 and not paused and n > ${pause_after} then
    paused = true
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
