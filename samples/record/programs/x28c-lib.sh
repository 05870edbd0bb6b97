#!/usr/bin/env bash
# Shared by the CONNECT-tunnel recorders (connect-tunnel-healthy.sh, connect-tunnel-failures.sh):
# forward proxies (Squid 5.7, tinyproxy 1.11) on one namespace's loopback, with TLS and plain HTTP
# targets behind them. Source after lib.sh and lib-b.sh.
#   x28c_stage NS          namespace NS (CC_NS) with its loopback, the work dir CCB_WORK, 127.0.0.2
#                          (the proxies) and 127.0.0.3 (the targets) on lo, and /etc/netns/NS/hosts
#                          (bind-mounted over /etc/hosts by `ip netns exec`, removed on exit) naming
#                          127.0.0.3 target.test and blocked.test
#   x28c_cert              a self-signed certificate for target.test made now by openssl
#                          ($CCB_WORK/target.crt, .key)
#   x28c_nginx_targets LINE...   nginx (one worker, foreground) with the TLS target on
#                          127.0.0.3:443 and the plain target on 127.0.0.3:80 (keepalive_timeout 60s,
#                          keepalive_requests 1000; /get... a small JSON, /big a 64 KiB file, POSTs 201;
#                          access log $CCB_WORK/nginx-access.log); each LINE goes into both server
#                          blocks. Sets X28C_NGINX_PID
#   x28c_squid_conf OUT DIRECTIVE...   squid.conf of a forward proxy on 127.0.0.2:3128, and on
#                          127.0.0.2:3129 the same proxy asking for Basic proxy authentication (407
#                          without credentials; user alice, password secret, checked by Debian's
#                          basic_ncsa_auth against an htpasswd file made with openssl passwd -apr1):
#                          CONNECT allowed to any port but denied to blocked.test (403), no cache,
#                          connections to targets from 127.0.0.2 (tcp_outgoing_address), hosts_file the
#                          namespace's hosts, access log $CCB_WORK/squid/access.log (x28c format below),
#                          cache.log at ALL,1 11,2 17,3 26,3 (26: tunnels); DIRECTIVEs appended
#   x28c_squid_start CONF  squid -N in CC_NS; sets X28C_SQUID_PID and waits for port 3128
#   x28c_squid_stop        SIGINT, bounded wait
#   x28c_tinyproxy_start TIMEOUT LINE...   tinyproxy 1.11 as a forward proxy on 127.0.0.2:8888 with
#                          Timeout TIMEOUT (Debian ships 600), Bind 127.0.0.2 (its connections to targets
#                          leave from its own address), log $CCB_WORK/tinyproxy.log at Info, ViaProxyName
#                          "tinyproxy" as Debian's config; with no ConnectPort line CONNECT goes to any
#                          port; the LINEs added; sets X28C_TINYPROXY_PID
#   x28c_proxy_stop PID    SIGTERM by PID and a bounded wait
#   x28c_curl NAME CURL_ARGS... URL...   curl 7.88 in CC_NS (-sS, --max-time 15, bodies discarded, -k: the
#                          target's certificate is self-signed) appending one JSON line per URL to
#                          $CCB_WORK/curl.log: name, url, local port, the proxy's answer to CONNECT
#                          (http_connect, 0 without one), the final status, connections opened, exit
#                          code, error message, total time
set -euo pipefail

X28C_NGINX_PID=""
X28C_SQUID_PID=""
X28C_TINYPROXY_PID=""
X28C_PROGRAMS="$CC_RECORD_DIR/programs"
# Squid's access log: the transaction's start (epoch s, ms), client ip:port, method, URL, status sent to the client,
# bytes sent, duration (ms), Squid status/hierarchy code, the server's ip:port (- without one),
# Squid's error code and detail, the local port of its connection to the server (- without one).
X28C_SQUID_LOGFORMAT='%tS %>a:%>p %rm %ru %>Hs %<st %tr %Ss/%Sh %<a:%<p %err_code/%err_detail %<lp'

x28c_cleanup_hosts() { [ -n "${CC_NS:-}" ] && rm -rf "/etc/netns/$CC_NS" 2>/dev/null || true; }
# lib-b.sh's cleanup calls this first.
ccb_before_cleanup() {
  x28c_squid_stop || true
  x28c_cleanup_hosts
}

x28c_stage() {
  cc_netns_up "$1"
  ccb_workdir
  chmod a+rx "$CCB_WORK"
  cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
  cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
  mkdir -p "/etc/netns/$1"
  printf '127.0.0.1 localhost\n127.0.0.2 proxy.test\n127.0.0.3 target.test blocked.test\n' >"/etc/netns/$1/hosts"
}

x28c_cert() {
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=target.test \
    -addext subjectAltName=DNS:target.test -keyout "$CCB_WORK/target.key" -out "$CCB_WORK/target.crt" 2>/dev/null
}

x28c_nginx_targets() {
  mkdir -p "$CCB_WORK/www"
  echo '{"ok":true}' >"$CCB_WORK/www/get"
  head -c 65536 /dev/zero | tr '\0' 'x' >"$CCB_WORK/www/big"
  local extra; extra="$(printf '    %s\n' "$@")"
  ccb_nginx_conf "$CCB_WORK/nginx.conf" <<CONF
  log_format t '\$msec \$server_port \$remote_addr:\$remote_port \$connection \$connection_requests "\$request" \$status \$body_bytes_sent \$request_time';
  access_log $CCB_WORK/nginx-access.log t;
  keepalive_timeout 60s;
  keepalive_requests 1000;
  default_type application/json;
  server {
    listen 127.0.0.3:443 ssl;
    server_name target.test;
    ssl_certificate $CCB_WORK/target.crt;
    ssl_certificate_key $CCB_WORK/target.key;
    root $CCB_WORK/www;
    location = /post { return 201 '{"created":true}\n'; }
    location /get { try_files /get =404; }
$extra
  }
  server {
    listen 127.0.0.3:80;
    server_name target.test;
    root $CCB_WORK/www;
    location = /post { return 201 '{"created":true}\n'; }
    location /get { try_files /get =404; }
$extra
  }
CONF
  cc_bg nginx -p "$CCB_WORK" -e "$CCB_WORK/error.log" -c "$CCB_WORK/nginx.conf"
  X28C_NGINX_PID="$CC_LAST_PID"
  cc_wait_port 443
  cc_wait_port 80
}

x28c_squid_conf() {
  local out="$1"; shift
  local sdir="$CCB_WORK/squid"
  mkdir -p "$sdir"
  chmod 0777 "$sdir"
  cp "/etc/netns/$CC_NS/hosts" "$sdir/hosts"
  printf 'alice:%s\n' "$(openssl passwd -apr1 secret)" >"$sdir/passwd"
  chmod a+r "$sdir/hosts" "$sdir/passwd"
  {
    echo "http_port 127.0.0.2:3128"
    echo "http_port 127.0.0.2:3129"
    echo "auth_param basic program /usr/lib/squid/basic_ncsa_auth $sdir/passwd"
    echo "auth_param basic realm x28c"
    echo "acl authport localport 3129"
    echo "acl authed proxy_auth REQUIRED"
    echo "acl blocked dstdomain blocked.test"
    echo "http_access deny CONNECT blocked"
    echo "http_access deny authport !authed"
    echo "http_access allow all"
    echo "tcp_outgoing_address 127.0.0.2"
    echo "cache deny all"
    echo "hosts_file $sdir/hosts"
    echo "dns_nameservers 127.0.0.1"
    echo "pid_filename $sdir/squid.pid"
    echo "cache_log $sdir/cache.log"
    echo "logformat x28c $X28C_SQUID_LOGFORMAT"
    echo "access_log stdio:$sdir/access.log x28c"
    echo "cache_store_log none"
    echo "strip_query_terms off"
    echo "coredump_dir $sdir"
    echo "cache_mem 8 MB"
    echo "pinger_enable off"
    echo "shutdown_lifetime 0 seconds"
    echo "debug_options ALL,1 11,2 17,3 26,3"
    printf '%s\n' "$@"
  } >"$out"
}

x28c_squid_start() {
  ccb_bg "$CC_NS" squid -N -f "$1" >"$CCB_WORK/squid.out" 2>&1
  X28C_SQUID_PID="$CC_LAST_PID"
  cc_wait_port 3128
}

x28c_squid_stop() {
  [ -n "$X28C_SQUID_PID" ] || return 0
  kill -INT "$X28C_SQUID_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$X28C_SQUID_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$X28C_SQUID_PID" 2>/dev/null || true
  wait "$X28C_SQUID_PID" 2>/dev/null || true
  X28C_SQUID_PID=""
}

x28c_tinyproxy_start() {
  local timeout="$1"; shift
  {
    echo "Port 8888"
    echo "Listen 127.0.0.2"
    echo "Bind 127.0.0.2"
    echo "Timeout $timeout"
    echo "LogFile \"$CCB_WORK/tinyproxy.log\""
    echo "LogLevel Info"
    echo "PidFile \"$CCB_WORK/tinyproxy.pid\""
    echo "MaxClients 50"
    echo "DefaultErrorFile \"/usr/share/tinyproxy/default.html\""
    echo "ViaProxyName \"tinyproxy\""
    printf '%s\n' "$@"
  } >"$CCB_WORK/tinyproxy.conf"
  cc_bg tinyproxy -d -c "$CCB_WORK/tinyproxy.conf"
  X28C_TINYPROXY_PID="$CC_LAST_PID"
  cc_wait_port 8888
}

x28c_proxy_stop() {
  local pid="$1" i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

x28c_curl() {
  local name="$1"; shift
  local w="{\"client\":\"$name\",\"url\":\"%{url}\",\"port\":%{local_port},\"connectCode\":\"%{http_connect}\",\"code\":\"%{http_code}\",\"connects\":%{num_connects},\"exit\":%{exitcode},\"error\":\"%{errormsg}\",\"time\":%{time_total}}\n"
  local args=() a
  for a in "$@"; do
    case "$a" in http://target.test*|https://target.test*|https://blocked.test*) args+=(-o /dev/null "$a") ;; *) args+=("$a") ;; esac
  done
  cc_in curl -sS -k --max-time 15 -w "$w" "${args[@]}" >>"$CCB_WORK/curl.log" 2>>"$CCB_WORK/curl.err" || true
}
