#!/usr/bin/env bash
# Shared by the round-22p recorders (gateway-timeout-lighttpd.sh, connect-timeout-lighttpd.sh):
# lighttpd 1.4.69 (Debian lighttpd) as a reverse proxy (mod_proxy), which conncheck had only seen as an
# origin server. Source after lib.sh (it sources x20n-lib.sh, whose x20n_stage, x20n_curl,
# x20n_curl_three, x20n_gateway_requests, x20n_capture_begin/_end and x20n_proxy_stop it and the
# recorders use).
#   x22p_lighttpd_conf OUT TIMEOUT_S RULE...   a lighttpd.conf: bind 127.0.0.2:8080, mod_proxy and
#                          mod_accesslog, error log $CCB_WORK/lighttpd-error.log with proxy.debug = 1
#                          (each backend pick, release, timeout), access log $CCB_WORK/access.log with the
#                          client's port (%{remote}p) and the request's duration (%D, us), and
#                          proxy.server = ( RULE, ... ), each RULE one "prefix" => ( ( host ... ) ) line
#                          given by x22p_rule
#   x22p_rule PREFIX PORT TIMEOUT_S   one proxy.server entry: PREFIX to 127.0.0.3:PORT with
#                          "connect-timeout", "read-timeout" and "write-timeout" all TIMEOUT_S
#   x22p_setup NS TIMEOUT_S RULE...   the stage: x20n_stage NS (namespace, 127.0.0.2 on lo, a Node http
#                          server on 127.0.0.3:9001 whose log $CCB_WORK/backend.log has one JSON line per
#                          request with its client port), and lighttpd -D on 127.0.0.2:8080 (X20N_PROXY_PID)
#   x22p_software          lighttpd's version line for the meta
set -euo pipefail

declare -F x20n_curl >/dev/null || . "$CC_RECORD_DIR/programs/x20n-lib.sh"

x22p_rule() {
  printf '"%s" => ( ( "host" => "127.0.0.3", "port" => %s, "connect-timeout" => %s, "read-timeout" => %s, "write-timeout" => %s ) )' \
    "$1" "$2" "$3" "$3" "$3"
}

x22p_lighttpd_conf() {
  local out="$1"; shift 2
  local rules
  rules="$(printf '%s,\n  ' "$@")"
  mkdir -p "$CCB_WORK/www"
  cat >"$out" <<CONF
server.document-root = "$CCB_WORK/www"
server.bind = "127.0.0.2"
server.port = 8080
server.modules = ( "mod_proxy", "mod_accesslog" )
server.errorlog = "$CCB_WORK/lighttpd-error.log"
accesslog.filename = "$CCB_WORK/access.log"
accesslog.format = "%h %{remote}p %t \"%r\" %>s %b %D"
proxy.debug = 1
proxy.server = (
  ${rules%,*}
)
CONF
}

x22p_setup() {
  local ns="$1" timeout="$2"; shift 2
  x20n_stage "$ns"
  x22p_lighttpd_conf "$CCB_WORK/lighttpd.conf" "$timeout" "$@"
  : >"$CCB_WORK/access.log"; : >"$CCB_WORK/lighttpd-error.log"; : >"$CCB_WORK/curl.log"
  cc_bg lighttpd -D -f "$CCB_WORK/lighttpd.conf" 2>"$CCB_WORK/lighttpd.err"
  X20N_PROXY_PID="$CC_LAST_PID"
  cc_wait_port 8080
}

x22p_software() {
  echo "$(lighttpd -v 2>&1 | head -1 | sed 's/ - a light.*//') mod_proxy (Debian lighttpd $(dpkg-query -W -f='${Version}' lighttpd))"
}
