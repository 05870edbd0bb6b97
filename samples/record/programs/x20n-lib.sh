#!/usr/bin/env bash
# Shared by the round-20n recorders (keepalive-race-nghttpx.sh, gateway-timeout-tinyproxy.sh,
# connect-timeout-tinyproxy.sh): two
# proxies conncheck had never seen, nghttpx (Debian nghttp2-proxy) and tinyproxy (Debian tinyproxy),
# with their own logs as ground truth. Source after lib.sh (it sources lib-b.sh and x19l-lib.sh).
#   x20n_nghttpx_start LISTEN BACKEND OPTION...   nghttpx in the foreground in X19L_NS_C (the proxy's
#                          namespace), cleartext HTTP/1.1 frontend LISTEN (IP,PORT), HTTP/1.1 backend
#                          BACKEND (IP,PORT), no configuration file (--conf=/dev/null), one worker,
#                          access log $CCB_WORK/nghttpx-access.log (X20N_NGHTTPX_ACCESS_FORMAT), error
#                          log $CCB_WORK/nghttpx-error.log at INFO (every backend connection's fate);
#                          each OPTION given as is. Sets X20N_PROXY_PID.
#   x20n_tinyproxy_start CONF   tinyproxy -d -c CONF in CC_NS; sets X20N_PROXY_PID
#   x20n_tinyproxy_conf OUT LISTEN_IP PORT TIMEOUT_S LINE...   a tinyproxy.conf: Listen/Port, Timeout,
#                          log $CCB_WORK/tinyproxy.log at LogLevel Info, no User/Group switch (runs
#                          as root here: nobody could not write the scratch dir), MaxClients 50, and
#                          the LINEs given (ReversePath, ReverseOnly ...)
#   x20n_stage NS          the proxy-timeout recorders' stage (tinyproxy's here, lighttpd's in x22p-lib.sh):
#                          namespace NS (CC_NS) on its own loopback, the work dir, 127.0.0.2 added to lo,
#                          a Node http server on 127.0.0.3:9001 (programs/b-http-server.js: /hang... read
#                          and never answered; log $CCB_WORK/backend.log)
#   x20n_tinyproxy_setup NS TIMEOUT_S LINE...   the tinyproxy recorders' stage: x20n_stage NS and
#                          tinyproxy on 127.0.0.2:8080 with Timeout TIMEOUT_S, Bind $X20N_TINYPROXY_BIND
#                          (the backend connections' source address; 127.0.0.2 when unset),
#                          ViaProxyName "tinyproxy" (as Debian's shipped tinyproxy.conf), ReverseOnly Yes
#                          and the LINEs given (ReversePath rules: tinyproxy tries the last one first)
#   x20n_curl [CURL ARGS...] URL   curl in CC_NS (-s, -m 10, body discarded) appending one JSON line
#                          (url, method, local port, code, time, exit code, error) to $CCB_WORK/curl.log
#   x20n_curl_three URL    x20n_curl URL1, URL2 and URL3 at once, started 0.3 s apart (so that the proxy's
#                          log lines of each setup do not interleave), and waits for the three
#   x20n_gateway_requests  the gateway-timeout recorders' requests to 127.0.0.2:8080: /get?i=1 and /get?i=2,
#                          /hang?i=1..3 (x20n_curl_three), /hang?i=4, a POST /hang?i=5, then /get?i=3
#   x20n_capture_begin FILTER   OUT=$CCB_WORK/$SCENARIO.pcap, META=$CCB_WORK/$SCENARIO.meta.json and the
#                          capture of FILTER into OUT started
#   x20n_capture_end       0.5 s, the capture stopped, then the proxy (x20n_proxy_stop)
#   x20n_proxy_stop        SIGTERM the proxy (by PID) and a bounded wait
#   x20n_software_nghttpx / x20n_software_tinyproxy   version lines for the meta
set -euo pipefail

declare -F x19l_setup >/dev/null || . "$CC_RECORD_DIR/programs/x19l-lib.sh"

X20N_PROGRAMS="$CC_RECORD_DIR/programs"
X20N_PROXY_PID=""
# nghttpx's access log: the client's port and the request tell the client-leg connection and URI in
# the capture; backend host:port is "-" when nghttpx never got a backend response header.
X20N_NGHTTPX_ACCESS_FORMAT='$time_iso8601 $remote_addr $remote_port "$method $path $protocol_version" $status $body_bytes_sent $backend_host:$backend_port $request_time'

x20n_nghttpx_start() {
  local listen="$1" backend="$2"; shift 2
  : >"$CCB_WORK/nghttpx-access.log"; : >"$CCB_WORK/nghttpx-error.log"
  ccb_bg "$X19L_NS_C" nghttpx --conf=/dev/null "--frontend=$listen;no-tls" "--backend=$backend" --workers=1 \
    "--accesslog-file=$CCB_WORK/nghttpx-access.log" "--accesslog-format=$X20N_NGHTTPX_ACCESS_FORMAT" \
    "--errorlog-file=$CCB_WORK/nghttpx-error.log" --log-level=INFO "$@" 2>"$CCB_WORK/nghttpx.err"
  X20N_PROXY_PID="$CC_LAST_PID"
  ccb_wait_port "$X19L_NS_C" "${listen##*,}"
}

x20n_tinyproxy_conf() {
  local out="$1" ip="$2" port="$3" timeout="$4"; shift 4
  {
    echo "Port $port"
    echo "Listen $ip"
    echo "Timeout $timeout"
    echo "LogFile \"$CCB_WORK/tinyproxy.log\""
    echo "LogLevel Info"
    echo "PidFile \"$CCB_WORK/tinyproxy.pid\""
    echo "MaxClients 50"
    echo "DefaultErrorFile \"/usr/share/tinyproxy/default.html\""
    echo "StatFile \"/usr/share/tinyproxy/stats.html\""
    printf '%s\n' "$@"
  } >"$out"
}

x20n_stage() {
  cc_netns_up "$1"
  ccb_workdir
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_bg node "$X20N_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 5000 2>"$CCB_WORK/backend.log"
  cc_wait_port 9001
}

x20n_tinyproxy_setup() {
  local ns="$1" timeout="$2"; shift 2
  x20n_stage "$ns"
  x20n_tinyproxy_conf "$CCB_WORK/tinyproxy.conf" 127.0.0.2 8080 "$timeout" "Bind ${X20N_TINYPROXY_BIND:-127.0.0.2}" 'ViaProxyName "tinyproxy"' \
    'ReverseOnly Yes' "$@"
  x20n_tinyproxy_start "$CCB_WORK/tinyproxy.conf"
  cc_wait_port 8080
}

X20N_CURL_W='{"url":"%{url_effective}","method":"%{method}","port":%{local_port},"code":"%{http_code}","time":%{time_total},"exit":%{exitcode},"error":"%{errormsg}"}\n'
x20n_curl() {
  cc_in curl -s -o /dev/null -m 10 -w "$X20N_CURL_W" "$@" >>"$CCB_WORK/curl.log" || true
}

x20n_curl_three() {
  local i clients=()
  for i in 1 2 3; do
    x20n_curl "$1$i" &
    clients+=("$!")
    sleep 0.3
  done
  wait "${clients[@]}"
}

x20n_gateway_requests() {
  x20n_curl http://127.0.0.2:8080/get?i=1
  x20n_curl http://127.0.0.2:8080/get?i=2
  x20n_curl_three "http://127.0.0.2:8080/hang?i="
  x20n_curl "http://127.0.0.2:8080/hang?i=4"
  x20n_curl -d '{"item":5}' -H 'content-type: application/json' "http://127.0.0.2:8080/hang?i=5"
  x20n_curl http://127.0.0.2:8080/get?i=3
}

x20n_capture_begin() {
  OUT="$CCB_WORK/$SCENARIO.pcap"
  META="$CCB_WORK/$SCENARIO.meta.json"
  cc_capture_start "$OUT" "$1"
}

x20n_capture_end() {
  sleep 0.5
  cc_capture_stop
  x20n_proxy_stop
}

x20n_tinyproxy_start() {
  : >"$CCB_WORK/tinyproxy.log"
  cc_bg tinyproxy -d -c "$1" 2>"$CCB_WORK/tinyproxy.err"
  X20N_PROXY_PID="$CC_LAST_PID"
}

x20n_proxy_stop() {
  [ -n "$X20N_PROXY_PID" ] || return 0
  kill -TERM "$X20N_PROXY_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 30); do kill -0 "$X20N_PROXY_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$X20N_PROXY_PID" 2>/dev/null || true
  wait "$X20N_PROXY_PID" 2>/dev/null || true
  X20N_PROXY_PID=""
}

x20n_software_nghttpx() {
  echo "$(nghttpx --version | head -1) (Debian nghttp2-proxy $(dpkg-query -W -f='${Version}' nghttp2-proxy))"
}

x20n_software_tinyproxy() {
  echo "$(tinyproxy -v 2>&1 | head -1) (Debian tinyproxy-bin $(dpkg-query -W -f='${Version}' tinyproxy-bin))"
}
