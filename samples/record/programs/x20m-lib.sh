#!/usr/bin/env bash
# Shared by the round-20m recorders (keepalive-race-memcached.sh, keepalive-race-yaws.sh): servers
# conncheck had not met, behind the user-space delay line of lib-b.sh, server-side capture. Source
# after lib.sh (it sources lib-b.sh, and programs/x19l-lib.sh for the HTTP lanes, when not loaded).
# Namespaces ccx20m-*; processes ended by PID only.
#   x20m_require_memcached     the tools keepalive-race-memcached.sh runs (Debian memcached,
#                              python3-pymemcache)
#   x20m_memcached NS HOST PORT IDLE   memcached (Debian memcached, run as the memcache user) in NS on
#       HOST:PORT and on 127.0.0.1:X20M_WATCH_PORT (its watcher port, not on the captured link),
#       -o idle_timeout=IDLE, every other option at its default, -vv: its stderr timestamped line by
#       line into $CCB_WORK/server.log (programs/x20m-mc-log.py stamp), and a `watch connevents`
#       connection logging into $CCB_WORK/watch.log; sets X20M_SERVER_PID
#   x20m_memcached_stop        SIGTERM memcached (by PID) and wait; the watcher ends at EOF
#   x20m_memcached_record SCENARIO   namespaces, the delay link, then up to X20M_ATTEMPTS (3)
#       attempts of: memcached, capture, programs/x20m-memcache-client.py (X20M_CLIENT_ARGS), stop,
#       and programs/x20m-meta.py (X20M_META_ARGS) which refuses a recording that does not show
#       what is asked
#   x20m_yaws_start            (for x19l_record_races) Yaws (Debian yaws) on 10.99.0.2:8080 with
#       keepalive_timeout X20M_YAWS_KEEPALIVE_MS: static files for GET /warm/* and /items/*, POST
#       /orders by an appmod (programs/x20m_orders.erl, compiled with erlc) that logs its client
#       port; access log $CCB_WORK/access.log, appmod log $CCB_WORK/server.log; sets X19L_SERVER_PID
#   x20m_yaws_software         the Yaws / Erlang versions, one line
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X20M_PROGRAMS="$CC_RECORD_DIR/programs"
X20M_PY=/usr/bin/python3
X20M_WATCH_PORT=11212
X20M_SERVER_PID=""
X20M_WATCH_PID=""

x20m_require_memcached() {
  cc_require tcpdump tshark ip /usr/bin/memcached "$X20M_PY"
  "$X20M_PY" -c 'import pymemcache' 2>/dev/null || { echo "record: apt-get install -y python3-pymemcache" >&2; exit 2; }
}

x20m_memcached() {
  local ns="$1" host="$2" port="$3" idle="$4"
  : >"$CCB_WORK/server.log"
  : >"$CCB_WORK/watch.log"
  # -vv: each command read, each reply, "Closing idle fd N"; stderr is unbuffered. The process
  # substitution (a child of this shell) ends at memcached's EOF.
  ccb_bg "$ns" /usr/bin/memcached -u memcache -l "$host:$port,127.0.0.1:$X20M_WATCH_PORT" -o "idle_timeout=$idle" -vv \
    2> >("$X20M_PY" "$X20M_PROGRAMS/x20m-mc-log.py" stamp --out "$CCB_WORK/server.log") >/dev/null
  X20M_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
  ccb_bg "$ns" "$X20M_PY" "$X20M_PROGRAMS/x20m-mc-log.py" watch --port "$X20M_WATCH_PORT" --out "$CCB_WORK/watch.log" --max-seconds 120
  X20M_WATCH_PID="$CC_LAST_PID"
  local i
  for i in $(seq 1 50); do grep -q '"OK"' "$CCB_WORK/watch.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '"OK"' "$CCB_WORK/watch.log" || { echo "record: memcached's watcher did not start" >&2; exit 1; }
}

x20m_memcached_stop() {
  ccb_stop "$X20M_SERVER_PID"
  ccb_stop "$X20M_WATCH_PID"
  sleep 0.2   # the stamper's last lines
}

x20m_memcached_software() {
  echo "memcached $(/usr/bin/memcached -V | awk '{print $2}') (Debian memcached $(dpkg-query -W -f='${Version}' memcached)), -o idle_timeout set, every other option at its default (-c 1024, -t 4)"
  echo "pymemcache $("$X20M_PY" -c 'import pymemcache; print(pymemcache.__version__)') (Debian python3-pymemcache $(dpkg-query -W -f='${Version}' python3-pymemcache)) on Python $("$X20M_PY" -c 'import platform; print(platform.python_version())'), PooledClient(max_pool_size=1, default_noreply=False) per lane"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

# x20m_memcached_record SCENARIO: the recorder sets X20M_PORT, X20M_DELAY_MS, X20M_IDLE,
# X20M_CLIENT_ARGS (array) and X20M_META_ARGS (array).
x20m_memcached_record() {
  local scenario="$1" attempt
  local out="$CC_SAMPLES_DIR/$scenario.pcap"
  local nss=ccx20m-s nsc=ccx20m-c
  local side="server (tun ccbs in the server namespace)"
  mapfile -t X20M_SOFTWARE < <(x20m_memcached_software)
  ccb_delay_namespaces "$nss" "$nsc" "$X20M_DELAY_MS"
  for attempt in $(seq 1 "${X20M_ATTEMPTS:-3}"); do
    rm -f "$CCB_WORK/client.log"
    x20m_memcached "$nss" "$CCB_SERVER_IP" "$X20M_PORT" "$X20M_IDLE"
    ccb_capture_start "$nss" ccbs "$out" "tcp port $X20M_PORT"
    ip netns exec "$nsc" timeout 90 "$X20M_PY" "$X20M_PROGRAMS/x20m-memcache-client.py" --host "$CCB_SERVER_IP" --port "$X20M_PORT" \
      --owd-ms "$X20M_DELAY_MS" --log "$CCB_WORK/client.log" "${X20M_CLIENT_ARGS[@]}" || true
    cc_capture_stop
    x20m_memcached_stop
    if "$X20M_PY" "$X20M_PROGRAMS/x20m-meta.py" "$scenario" --capture "$out" \
        --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --server-port "$X20M_PORT" \
        --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" --watch-log "$CCB_WORK/watch.log" \
        --server-idle-setting "$X20M_IDLE" --one-way-delay-ms "$X20M_DELAY_MS" --capture-side "$side" \
        --software "${X20M_SOFTWARE[@]}" "${X20M_META_ARGS[@]}"; then break; fi
    if [ -n "${X20M_LOG_DIR:-}" ]; then mkdir -p "$X20M_LOG_DIR/attempt$attempt"; cp "$CCB_WORK"/*.log "$out" "$X20M_LOG_DIR/attempt$attempt/"; fi
    [ "$attempt" = "${X20M_ATTEMPTS:-3}" ] && { echo "record: $scenario: no usable recording in ${X20M_ATTEMPTS:-3} attempts" >&2; exit 1; }
  done
  grep -h '"error"' "$CCB_WORK/client.log" | cut -c1-300 || true
  # X20M_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X20M_LOG_DIR:-}" ]; then mkdir -p "$X20M_LOG_DIR"; cp "$CCB_WORK"/*.log "$X20M_LOG_DIR/"; fi
  return 0
}

# ------------------------------------------------------------------------------------------ Yaws
X20M_YAWS_KEEPALIVE_MS="${X20M_YAWS_KEEPALIVE_MS:-2000}"
X20M_YAWS_EBIN=/usr/lib/yaws/ebin

x20m_require_yaws() {
  cc_require /usr/bin/erl /usr/bin/erlc
  [ -f "$X20M_YAWS_EBIN/yaws.app" ] || { echo "record: apt-get install -y yaws" >&2; exit 2; }
}

# x20m_yaws_start: Yaws in CC_NS on $CCB_SERVER_IP:$X19L_PORT, run by erl directly (not the yaws
# script's daemon mode: the PID is beam's, no distribution, no epmd; HOME=$CCB_WORK/home for its ctl
# file), keepalive_timeout X20M_YAWS_KEEPALIVE_MS (global) and nothing else about keep-alive. GET
# /warm/* and /items/* are static files (hard links to one file for every name the lanes use: tags n
# and p, lanes and rounds 0-15); POST /orders goes to the appmod x20m-orders. Access log:
# $CCB_WORK/access.log (a symlink to Yaws's logdir/<server>:<port>.access, written at each request).
x20m_yaws_start() {
  local www="$CCB_WORK/www" tag l r
  if [ ! -d "$www" ]; then
    mkdir -p "$www/warm" "$www/items" "$CCB_WORK/ebin" "$CCB_WORK/home"
    printf 'an item, served as a static file by Yaws\n' >"$www/item.txt"
    for tag in n p; do for l in $(seq 0 15); do for r in $(seq 0 15); do
      ln "$www/item.txt" "$www/warm/${tag}l$l-r$r"
      ln "$www/item.txt" "$www/items/${tag}l$l-r$r"
    done; done; done
    ERL_LIBS=/usr/lib erlc -o "$CCB_WORK/ebin" "$X20M_PROGRAMS/x20m-orders.erl"
    cat >"$CCB_WORK/yaws.conf" <<CONF
logdir = $CCB_WORK/logs
ebin_dir = $CCB_WORK/ebin
keepalive_timeout = $X20M_YAWS_KEEPALIVE_MS
<server x20m>
        port = $X19L_PORT
        listen = $CCB_SERVER_IP
        docroot = $www
        appmods = <orders, x20m-orders>
</server>
CONF
  fi
  rm -rf "$CCB_WORK/logs"
  mkdir -p "$CCB_WORK/logs"
  : >"$CCB_WORK/server.log"
  ln -sfn "$CCB_WORK/logs/x20m:$X19L_PORT.access" "$CCB_WORK/access.log"
  cc_bg env HOME="$CCB_WORK/home" X20M_SERVER_LOG="$CCB_WORK/server.log" /usr/bin/erl -noshell -noinput -pa "$X20M_YAWS_EBIN" \
    -run yaws -conf "$CCB_WORK/yaws.conf" -yaws id x20m >"$CCB_WORK/yaws.out" 2>&1
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x20m_yaws_software() {
  echo "Yaws $(dpkg-query -W -f='${Version}' erlang-yaws | sed 's/+dfsg.*//') (Debian yaws $(dpkg-query -W -f='${Version}' yaws)) on Erlang/OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().') (Debian erlang-base $(dpkg-query -W -f='${Version}' erlang-base)); keepalive_timeout = $X20M_YAWS_KEEPALIVE_MS (default 30000), nothing else about keep-alive set"
}
