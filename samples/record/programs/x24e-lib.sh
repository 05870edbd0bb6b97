#!/usr/bin/env bash
# Shared by the round-24e recorder (keepalive-race-inets.sh): Erlang/OTP's inets httpd at a low
# keep_alive_timeout behind a delay line, raced by Erlang's own httpc (programs/x24e-inets.escript
# httpc-lanes) and python requests (programs/x17p-requests-lanes.py). Built on programs/x20h-lib.sh
# (x20h_setup) and programs/x19l-lib.sh (x19l_record_races, x19l_server_stop); source after lib.sh.
#   x24e_require TOOL...   x19l_require TOOL..., escript and Erlang's inets application
#   x24e_inets_start       x24e-inets.escript server (httpd, keep_alive_timeout $X24E_KEEP_ALIVE_TIMEOUT s)
#                          on 10.99.0.2:$X19L_PORT (log $CCB_WORK/server.log, its output $CCB_WORK/inets.err).
#                          Sets X19L_SERVER_PID (the Erlang VM: escript execs it).
#   x24e_lanes GAPS HTTPC_LANES PY_LANES ROUNDS [MAX_S]   in X19L_NS_C at once: x24e-inets.escript
#                          httpc-lanes (tag h, every httpc option at its default) and
#                          x17p-requests-lanes.py (tag p); the pauses GAPS dealt alternately,
#                          even-numbered to httpc, odd-numbered to requests; each ends after MAX_S s
#                          (50 by default); both log to $CCB_WORK/client.log. This library makes
#                          x19l_lanes run x24e_lanes, so that x19l_record_races drives them.
#   x24e_gaps SEED         72 reuse pauses (s), comma-separated and shuffled: 31 spread over 1.70-2.30 s
#                          away from the race window (none in 1.97-2.03 s), 41 from 1.975 to 2.015 s
#                          in 1 ms steps
#   x24e_client_software   the clients' versions and the delay line, one a line
#   x24e_record_races SCENARIO START NEED_RACES GAPS HTTPC_LANES PY_LANES ROUNDS TAIL_S META_ARGS...
#                          x19l_record_races with programs/x24e-meta.py as the meta writer (up to 3
#                          attempts); X24E_LOG_DIR=DIR keeps the programs' logs.
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X24E_KEEP_ALIVE_TIMEOUT=2
X24E_ESCRIPT="$CC_RECORD_DIR/programs/x24e-inets.escript"

x24e_require() {
  x19l_require escript erl "$@"
  erl -noshell -eval 'ok = application:load(inets), halt(0).' >/dev/null 2>&1 || { echo "record: apt-get install -y erlang-inets" >&2; exit 2; }
}

x24e_inets_start() {
  : >"$CCB_WORK/server.log"
  mkdir -p "$CCB_WORK/httpd"
  cc_bg escript "$X24E_ESCRIPT" server --host "$CCB_SERVER_IP" --port "$X19L_PORT" --log "$CCB_WORK/server.log" \
    --dir "$CCB_WORK/httpd" --keep-alive-timeout "$X24E_KEEP_ALIVE_TIMEOUT" >>"$CCB_WORK/inets.err" 2>&1
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x24e_lanes() {
  local gaps="$1" httpc_lanes="$2" py_lanes="$3" rounds="$4" max_s="${5:-50}" base="http://$CCB_SERVER_IP:$X19L_PORT" even odd
  even=$(echo "$gaps" | tr ',' '\n' | awk 'NR % 2 == 1' | paste -sd,)
  odd=$(echo "$gaps" | tr ',' '\n' | awk 'NR % 2 == 0' | paste -sd,)
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" escript "$X24E_ESCRIPT" httpc-lanes --base "$base" --log "$CCB_WORK/client.log" \
    --lanes "$httpc_lanes" --rounds "$rounds" --gaps "$even" --stagger 0.13 --tag h --max-seconds "$max_s" 2>>"$CCB_WORK/httpc.err" &
  local httpc_pid=$!
  sleep 0.065
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 5))" /usr/bin/python3 "$X19L_PROGRAMS/x17p-requests-lanes.py" --base "$base" \
    --log "$CCB_WORK/client.log" --lanes "$py_lanes" --rounds "$rounds" --gaps "$odd" --stagger 0.13 --tag p --max-seconds "$max_s" &
  local py_pid=$!
  wait "$httpc_pid" || true
  wait "$py_pid" || true
}

# x19l_record_races runs x19l_lanes: here, the httpc and requests lanes.
x19l_lanes() { x24e_lanes "$@"; }

x24e_gaps() {
  python3 - "$1" <<'PY'
import random, sys
spread = [x / 1000 for x in range(1700, 2301, 20) if not 1970 < x < 2030] + [1.75, 1.85, 2.25]
dense = [(1975 + k) / 1000 for k in range(41)]
v = spread + dense
assert len(v) == 72, len(v)
random.Random(int(sys.argv[1])).shuffle(v)
print(','.join(f'{x:g}' for x in v))
PY
}

x24e_client_software() {
  local otp inets
  otp=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')
  inets=$(erl -noshell -eval 'application:load(inets), {ok, V} = application:get_key(inets, vsn), io:format("~s", [V]), halt().')
  echo "Erlang/OTP $otp httpc (inets $inets, Debian erlang-inets $(dpkg-query -W -f='${Version}' erlang-inets); programs/x24e-inets.escript httpc-lanes: one httpc profile per lane, every option at its default (keep_alive_timeout 120000 ms, max_sessions 2, pipeline_timeout 0), no User-Agent header (httpc sends none), no retry of its own"
  x19l_client_software | sed -n 2p
  x19l_client_software | sed -n 3p
}

x24e_record_races() {
  local X19L_META=("$X19L_PROGRAMS/x24e-meta.py")
  x19l_record_races "$@"
  if [ -n "${X24E_LOG_DIR:-}" ]; then mkdir -p "$X24E_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK"/*.err "$X24E_LOG_DIR/" 2>/dev/null || true; fi
}
