#!/usr/bin/env bash
# Helpers for the recorders of the Caddy 2.6 and Apache Traffic Server 9.2 reverse-proxy samples
# (cross-check round 10). Source after lib.sh and lib-b.sh, and call ccb_workdir first
# (everything goes to CCB_WORK, removed on exit).
#   x10_caddy_start NS LISTEN BACKEND TRANSPORT_LINES [SITE_LINES]
#                      caddy run (foreground) in NS with a Caddyfile in $CCB_WORK/caddy: global
#                      `debug` (its log, JSON, on stderr → $CCB_WORK/caddy.log: the reverse proxy's
#                      upstream round trips and their errors), `auto_https off`, admin off, one site
#                      http://LISTEN with `log { output file $CCB_WORK/caddy-access.log; format json }`
#                      and `reverse_proxy BACKEND { transport http { TRANSPORT_LINES } }`
#                      (SITE_LINES go into the reverse_proxy block too: lb_try_duration, ...).
#                      X10_CADDY_SERVERS: lines for the global `servers { timeouts { } }` (idle 3s).
#                      Sets X10_CADDY_PID.
#   x10_caddy_stop     SIGINT, bounded wait
#   x10_ats_start NS PORT RECORDS_LINES REMAP_LINES
#                      traffic_server in the foreground in NS with a private runroot in
#                      $CCB_WORK/ats (its own records.config, remap.config, logging.yaml, a 32 MB
#                      cache file; logs in $CCB_WORK/ats/log: access.log in the x10 format below,
#                      error.log, diags.log). RECORDS_LINES are extra records.config lines.
#                      Sets X10_ATS_PID.
#   x10_ats_stop       SIGTERM, bounded wait
#   x10_h2o_start NS HOST PORT BACKEND_URL GLOBAL_LINES
#                      h2o (2.2) in NS listening on HOST:PORT, one path / with proxy.reverse.url
#                      BACKEND_URL, GLOBAL_LINES (proxy.timeout.keepalive, proxy.timeout.io, in ms)
#                      at the top level; error log $CCB_WORK/h2o-error.log, access log
#                      $CCB_WORK/h2o-access.log in the x10 format (request time s.ms, client
#                      address:port, request line, status, duration, h2o's error). Sets X10_H2O_PID.
#                      X10_H2O_PATHS: more path entries (YAML, 6 spaces in) before the one for /.
#   x10_h2o_stop       SIGTERM, bounded wait
set -euo pipefail

X10_CADDY_PID=""
X10_ATS_PID=""
X10_H2O_PID=""

x10_caddy_start() {
  local ns="$1" listen="$2" backend="$3" transport="$4" site="${5:-}"
  local dir="$CCB_WORK/caddy"
  mkdir -p "$dir/data" "$dir/config"
  cat >"$dir/Caddyfile" <<CADDY
{
  debug
  auto_https off
  admin off
  storage file_system $dir/data
  servers {
    timeouts {
      ${X10_CADDY_SERVERS:-}
    }
  }
}
http://$listen {
  log {
    output file $CCB_WORK/caddy-access.log
    format json
  }
  reverse_proxy $backend {
    $site
    transport http {
      $transport
    }
  }
}
CADDY
  ccb_bg "$ns" env HOME="$dir" XDG_DATA_HOME="$dir/data" XDG_CONFIG_HOME="$dir/config" \
    caddy run --config "$dir/Caddyfile" --adapter caddyfile >"$CCB_WORK/caddy.out" 2>"$CCB_WORK/caddy.log"
  X10_CADDY_PID="$CC_LAST_PID"
  sleep 0.3; kill -0 "$X10_CADDY_PID" 2>/dev/null || { cat "$CCB_WORK/caddy.log" >&2; echo "record: caddy did not start" >&2; exit 1; }
  ccb_wait_port "$ns" "${listen##*:}"
}

x10_caddy_stop() {
  [ -n "$X10_CADDY_PID" ] || return 0
  kill -INT "$X10_CADDY_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$X10_CADDY_PID" 2>/dev/null || break; sleep 0.1; done
  kill "$X10_CADDY_PID" 2>/dev/null || true
  wait "$X10_CADDY_PID" 2>/dev/null || true
  X10_CADDY_PID=""
}

# The access log format of the ATS samples: client request time (s.ms), client address:port,
# method, URL, status to the client, the backend's status, total ms, cache result, server
# connect attempts, transactions on the server connection so far, client/proxy finish codes.
X10_ATS_LOG_FORMAT='%<cqtq> %<chi>:%<chp> %<cqhm> %<cquc> %<pssc> %<sssc> %<ttms> %<crc> %<sca> %<sstc> %<cfsc> %<pfsc>'

x10_ats_start() {
  local ns="$1" port="$2" records="$3" remap="$4"
  local root="$CCB_WORK/ats"
  mkdir -p "$root/etc" "$root/log" "$root/run" "$root/cache"
  cp -r /etc/trafficserver/. "$root/etc/"
  cat >"$root/runroot.yaml" <<YAML
prefix: $root
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/sbin
sysconfdir: $root/etc
datadir: $root/cache
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: $root
runtimedir: $root/run
logdir: $root/log
cachedir: $root/cache
YAML
  echo "$root/cache 32M" >"$root/etc/storage.config"
  {
    echo "CONFIG proxy.config.admin.user_id STRING #-1"
    echo "CONFIG proxy.config.http.server_ports STRING $port"
    echo "CONFIG proxy.config.exec_thread.autoconfig INT 0"
    echo "CONFIG proxy.config.exec_thread.limit INT 1"
    echo "CONFIG proxy.config.task_threads INT 1"
    echo "CONFIG proxy.config.log.logging_enabled INT 3"
    echo "CONFIG proxy.config.log.max_secs_per_buffer INT 1"
    echo "CONFIG proxy.config.log.periodic_tasks_interval INT 1"
    echo "CONFIG proxy.config.url_remap.remap_required INT 1"
    echo "CONFIG proxy.config.reverse_proxy.enabled INT 1"
    echo "CONFIG proxy.config.http.cache.http INT 0"
    echo "CONFIG proxy.config.http.insert_request_via_str INT 0"
    echo "CONFIG proxy.config.diags.debug.enabled INT 1"
    echo "CONFIG proxy.config.diags.debug.tags STRING http_ss|http_connect"
    printf '%s\n' "$records"
  } >"$root/etc/records.config"
  printf '%s\n' "$remap" >"$root/etc/remap.config"
  cat >"$root/etc/logging.yaml" <<YAML
logging:
  formats:
    - name: x10
      format: '$X10_ATS_LOG_FORMAT'
  logs:
    - filename: access
      format: x10
      mode: ascii
YAML
  chmod -R a+rwX "$root"
  ccb_bg "$ns" env TS_RUNROOT="$root/runroot.yaml" traffic_server --run-root="$root/runroot.yaml" \
    --bind_stdout "$root/log/traffic.out" --bind_stderr "$root/log/traffic.out"
  X10_ATS_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "${port##*:}"
}

x10_ats_stop() {
  [ -n "$X10_ATS_PID" ] || return 0
  sleep 2.5                       # logs are flushed once a second (max_secs_per_buffer)
  kill -TERM "$X10_ATS_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$X10_ATS_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$X10_ATS_PID" 2>/dev/null || true
  wait "$X10_ATS_PID" 2>/dev/null || true
  X10_ATS_PID=""
}

x10_h2o_start() {
  local ns="$1" host="$2" port="$3" url="$4" lines="$5"
  cat >"$CCB_WORK/h2o.conf" <<H2O
user: root
pid-file: $CCB_WORK/h2o.pid
error-log: $CCB_WORK/h2o-error.log
access-log:
  path: $CCB_WORK/h2o-access.log
  format: "%{%s}t.%{msec_frac}t %h:%{remote}p \\"%r\\" %s %{duration}x %{error}x"
$lines
listen:
  host: $host
  port: $port
hosts:
  default:
    paths:
${X10_H2O_PATHS:-}
      /:
        proxy.reverse.url: $url
H2O
  ccb_bg "$ns" h2o -c "$CCB_WORK/h2o.conf"
  X10_H2O_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x10_h2o_stop() {
  [ -n "$X10_H2O_PID" ] || return 0
  sleep 0.3
  kill -TERM "$X10_H2O_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do kill -0 "$X10_H2O_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$X10_H2O_PID" 2>/dev/null || true
  wait "$X10_H2O_PID" 2>/dev/null || true
  X10_H2O_PID=""
}
