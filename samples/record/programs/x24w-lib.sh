#!/usr/bin/env bash
# Shared by the round-24w recorder (keepalive-race-webfs-curl.sh): webfsd (Debian webfs 1.21) behind
# a delay line, raced by curl command lines (programs/x24w-curl-lanes.py). Built on
# programs/x20h-lib.sh (x20h_setup) and programs/x19l-lib.sh (x19l_record_races, x19l_server_stop);
# source after lib.sh.
#   x24w_require           root, the tools, and webfsd: installs Debian webfs (apt-get install -y
#                          webfs) when it is missing; exit 2 when that fails
#   x24w_webfs_start       webfsd -F -d $X24W_WEBFS_ARGS serving $CCB_WORK/www (item.txt) on
#                          10.99.0.2:$X19L_PORT under programs/x24w-webfs-run.py (its debug lines,
#                          time-stamped, in $CCB_WORK/server.log; access log $CCB_WORK/access.log).
#                          Sets X19L_SERVER_PID.
#   x24w_lanes RATES LANES_PER_GROUP STAGGER_MS TRANSFERS [MAX_S]   in X19L_NS_C:
#                          programs/x24w-curl-lanes.py (one curl process per lane, one lane group per
#                          rate in RATES, transfers per hour; curl's traces in $CCB_WORK/curl/, its
#                          lane lines in $CCB_WORK/client.log). This library makes x19l_lanes run
#                          x24w_lanes, so that x19l_record_races drives them (its GAPS NODE_LANES
#                          PY_LANES ROUNDS are RATES LANES_PER_GROUP STAGGER_MS TRANSFERS here).
#   x24w_software          webfsd's and curl's versions and the delay line, one a line
#   x24w_record_races SCENARIO NEED_RACES RATES LANES_PER_GROUP STAGGER_MS TRANSFERS TAIL_S META_ARGS...
#                          x19l_record_races with x24w_webfs_start and programs/x24w-meta.py (up to 3
#                          attempts; one whose tcpdump dropped a packet is not used); X24W_LOG_DIR=DIR keeps
#                          the programs' logs and curl's traces.
set -euo pipefail

. "$CC_RECORD_DIR/programs/x20h-lib.sh"

X24W_WEBFS=/usr/bin/webfsd
X24W_WEBFS_ARGS=(-t 2)

x24w_require() {
  cc_require tcpdump tshark ip python3 /usr/bin/curl
  if [ ! -x "$X24W_WEBFS" ]; then
    echo "record: $X24W_WEBFS missing: apt-get install -y webfs" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y webfs >&2 || true
    [ -x "$X24W_WEBFS" ] || { echo "record: could not install Debian webfs (apt-get install -y webfs); $X24W_WEBFS is required" >&2; exit 2; }
    # The package's init script may have started a webfsd of its own (port 8000, all addresses).
    echo "record: webfs installed; the recorder runs its own webfsd in a namespace" >&2
  fi
}

x24w_webfs_start() {
  mkdir -p "$CCB_WORK/www"
  printf 'an item, served as a static file by webfsd\n' >"$CCB_WORK/www/item.txt"
  : >"$CCB_WORK/server.log"
  : >"$CCB_WORK/access.log"
  cc_bg python3 "$X19L_PROGRAMS/x24w-webfs-run.py" --log "$CCB_WORK/server.log" --max-seconds 120 -- \
    "$X24W_WEBFS" -F -d -4 "${X24W_WEBFS_ARGS[@]}" -i "$CCB_SERVER_IP" -p "$X19L_PORT" -r "$CCB_WORK/www" \
    -L "$CCB_WORK/access.log"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

x24w_lanes() {
  local rates="$1" per_group="$2" stagger="$3" transfers="$4" max_s="${5:-60}"
  rm -rf "$CCB_WORK/curl"
  ip netns exec "$X19L_NS_C" timeout "$((max_s + 15))" python3 "$X19L_PROGRAMS/x24w-curl-lanes.py" \
    --base "http://$CCB_SERVER_IP:$X19L_PORT" --out-dir "$CCB_WORK/curl" --log "$CCB_WORK/client.log" \
    --rates "$rates" --lanes-per-group "$per_group" --stagger-ms "$stagger" --transfers "$transfers" \
    --max-seconds "$max_s" || true
}

# x19l_record_races runs x19l_lanes: here, the curl lanes.
x19l_lanes() { x24w_lanes "$@"; }

x24w_software() {
  echo "webfs $(dpkg-query -W -f='${Version}' webfs) (Debian; $X24W_WEBFS -F -d -4 ${X24W_WEBFS_ARGS[*]}, everything else at its default)"
  echo "$(/usr/bin/curl --version | head -1 | cut -d' ' -f1-3) (Debian curl $(dpkg-query -W -f='${Version}' curl); the curl command line, one process per lane, --rate N/h, -v --trace-time)"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

x24w_record_races() {
  local scenario="$1" need="$2"
  shift 2
  local X19L_META=("$X19L_PROGRAMS/x24w-meta.py")
  X19L_LANES_MAX_S=60
  x19l_record_races "$scenario" x24w_webfs_start "$need" "$@" --curl-dir "$CCB_WORK/curl" --access-log "$CCB_WORK/access.log" \
    --tcpdump-log "$CCB_WORK/tcpdump.*"
  if [ -n "${X24W_LOG_DIR:-}" ]; then
    mkdir -p "$X24W_LOG_DIR"
    cp -r "$CCB_WORK"/*.log "$CCB_WORK/curl" "$X24W_LOG_DIR/" 2>/dev/null || true
  fi
}
