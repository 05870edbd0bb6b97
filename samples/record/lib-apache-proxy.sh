#!/usr/bin/env bash
# Helpers for the recorders of the Apache 2.4 reverse-proxy samples (mod_proxy / mod_proxy_http).
# Source after lib.sh, lib-b.sh and lib-apache.sh, and call ccb_workdir first (everything goes
# to CCB_WORK, removed on exit).
#   ccp_apache_proxy_conf OUT DIRECTIVE...   an event-MPM config with mod_proxy, mod_proxy_http and
#                              the balancer modules loaded, one child process (one backend connection
#                              pool), logs in CCB_WORK: apache-error.log (LogLevel info,
#                              proxy/proxy_http debug: AH01104 is a debug message) and
#                              proxy-access.log (see CCP_ACCESS_FORMAT). Run it with
#                              `apache2 -f OUT -DFOREGROUND`.
set -euo pipefail

CCP_MODULES=/usr/lib/apache2/modules
# Request end time (s.us), client address:port, request line, status, bytes, connection status
# (+ kept alive, - closed), time taken (%D, µs), the balancer member when one was chosen.
CCP_ACCESS_FORMAT='%{%s}t.%{usec_frac}t %a:%{remote}p \"%r\" %>s %b conn=%X D=%D backend=%{BALANCER_WORKER_NAME}e'

ccp_apache_proxy_conf() {
  local out="$1"; shift
  mkdir -p "$CCB_WORK/www"
  chmod -R a+rX "$CCB_WORK"
  cca_apache_conf "$out" "$CCB_WORK" \
    "LoadModule proxy_module $CCP_MODULES/mod_proxy.so" \
    "LoadModule proxy_http_module $CCP_MODULES/mod_proxy_http.so" \
    "LoadModule slotmem_shm_module $CCP_MODULES/mod_slotmem_shm.so" \
    "LoadModule proxy_balancer_module $CCP_MODULES/mod_proxy_balancer.so" \
    "LoadModule lbmethod_byrequests_module $CCP_MODULES/mod_lbmethod_byrequests.so" \
    "StartServers 1" "ServerLimit 1" "ThreadsPerChild 8" "MaxRequestWorkers 8" "MinSpareThreads 1" "MaxSpareThreads 8" \
    "KeepAlive On" "KeepAliveTimeout 5" \
    "LogFormat \"$CCP_ACCESS_FORMAT\" ccp" \
    "CustomLog $CCB_WORK/proxy-access.log ccp" \
    "LogLevel info proxy:debug proxy_http:debug proxy_balancer:debug" \
    "$@"
}
