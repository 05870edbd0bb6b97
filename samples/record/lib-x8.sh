#!/usr/bin/env bash
# Helpers for the recorders of the Varnish Cache 7.1 and Squid 5.7 reverse-proxy samples (cross-check
# round 8). Source after lib.sh and lib-b.sh, and call ccb_workdir first (everything goes to
# CCB_WORK, removed on exit).
#   x8_varnish_start NS BACKEND_HOST BACKEND_PORT LISTEN PARAM...
#                      varnishd in the foreground (-F) in namespace NS, instance dir
#                      $CCB_WORK/varnish, no jail, a VCL that sends everything to the backend
#                      (builtin VCL otherwise: GETs are cached, POSTs passed), each PARAM given as
#                      `-p PARAM`; a varnishlog (raw grouping, every transaction) writes
#                      $CCB_WORK/varnishlog.txt. Sets X8_VARNISH_PID and X8_VARNISHLOG_PID.
#   x8_varnish_start_vcl NS VCL LISTEN PARAM...   the same with the recorder's own VCL file
#   x8_varnish_stop    stops both (varnishlog first, after a moment to drain the log)
#   x8_squid_conf OUT LISTEN BACKEND_HOST BACKEND_PORT [PEER_OPTIONS] -- DIRECTIVE...
#                      a squid.conf in accelerator mode (http_port LISTEN accel, one cache_peer
#                      parent originserver), memory cache only, pid/logs in $CCB_WORK/squid
#                      (access.log with request start, duration, status, hierarchy code; cache.log
#                      at debug_options ALL,1 11,2 17,3 (HTTP and forwarding: retries)). Lines in the
#                      array X8_SQUID_PRE go before the origin peer's cache_peer_access (acls, a
#                      second peer), whose rule is X8_SQUID_ORIGIN_ACCESS (default "allow all").
#   x8_squid_start NS CONF   squid -N (no daemon) in NS; sets X8_SQUID_PID
#   x8_squid_stop      SIGINT and a bounded wait (squid waits shutdown_lifetime, set to 0 here)
set -euo pipefail

X8_VARNISH_PID=""
X8_VARNISHLOG_PID=""
X8_SQUID_PID=""

x8_varnish_start() {
  local ns="$1" bhost="$2" bport="$3" listen="$4"; shift 4
  cat >"$CCB_WORK/default.vcl" <<VCL
vcl 4.1;
backend origin {
  .host = "$bhost";
  .port = "$bport";
}
VCL
  x8_varnish_start_vcl "$ns" "$CCB_WORK/default.vcl" "$listen" "$@"
}

# x8_varnish_start_vcl NS VCL LISTEN PARAM...: the same with a VCL file of the recorder's own.
x8_varnish_start_vcl() {
  local ns="$1" vcl="$2" listen="$3"; shift 3
  local vdir="$CCB_WORK/varnish" params=() p
  mkdir -p "$vdir"
  for p in "$@"; do params+=(-p "$p"); done
  ccb_bg "$ns" varnishd -F -j none -n "$vdir" -a "$listen" -f "$vcl" -s malloc,16m \
    -p thread_pools=1 -p thread_pool_min=5 "${params[@]}" >"$CCB_WORK/varnishd.out" 2>&1
  X8_VARNISH_PID="$CC_LAST_PID"
  local i
  for i in $(seq 1 100); do
    ip netns exec "$ns" varnishadm -n "$vdir" status 2>/dev/null | grep -q running && break
    sleep 0.1
  done
  ip netns exec "$ns" varnishadm -n "$vdir" status 2>/dev/null | grep -q running || { cat "$CCB_WORK/varnishd.out" >&2; echo "record: varnishd did not start" >&2; exit 1; }
  varnishlog -n "$vdir" -g raw >"$CCB_WORK/varnishlog.txt" 2>&1 &
  CC_PIDS+=("$!")
  X8_VARNISHLOG_PID="$!"
  sleep 0.3
}

x8_varnish_stop() {
  sleep 0.5
  [ -n "$X8_VARNISHLOG_PID" ] && { kill "$X8_VARNISHLOG_PID" 2>/dev/null || true; wait "$X8_VARNISHLOG_PID" 2>/dev/null || true; }
  [ -n "$X8_VARNISH_PID" ] && { kill "$X8_VARNISH_PID" 2>/dev/null || true; wait "$X8_VARNISH_PID" 2>/dev/null || true; }
  X8_VARNISHLOG_PID=""; X8_VARNISH_PID=""
}

x8_squid_conf() {
  local out="$1" listen="$2" bhost="$3" bport="$4"; shift 4
  local peeropts=""
  if [ "$#" -gt 0 ] && [ "$1" != "--" ]; then peeropts="$1"; shift; fi
  [ "$#" -gt 0 ] && [ "$1" = "--" ] && shift
  local sdir="$CCB_WORK/squid"
  mkdir -p "$sdir"
  chmod a+rx "$CCB_WORK"            # squid runs as its cache_effective_user (proxy)
  chmod 0777 "$sdir"
  {
    echo "http_port $listen accel defaultsite=origin.test no-vhost"
    echo "cache_peer $bhost parent $bport 0 no-query no-digest originserver name=origin $peeropts"
    printf '%s\n' "${X8_SQUID_PRE[@]:-}"
    echo "cache_peer_access origin ${X8_SQUID_ORIGIN_ACCESS:-allow all}"
    echo "never_direct allow all"
    echo "http_access allow all"
    echo "pid_filename $sdir/squid.pid"
    echo "cache_log $sdir/cache.log"
    echo "logformat x8 %ts.%03tu %>a:%>p %rm %ru %>Hs %<st %tr %Ss/%Sh %<a:%<p"
    echo "access_log stdio:$sdir/access.log x8"
    echo "cache_store_log none"
    echo "strip_query_terms off"
    echo "coredump_dir $sdir"
    echo "cache_mem 8 MB"
    echo "pinger_enable off"
    echo "shutdown_lifetime 0 seconds"
    echo "dns_nameservers 127.0.0.1"
    echo "debug_options ALL,1 11,2 17,3"
    printf '%s\n' "$@"
  } >"$out"
}

x8_squid_start() {
  local ns="$1" conf="$2"
  ccb_bg "$ns" squid -N -f "$conf" >"$CCB_WORK/squid.out" 2>&1
  X8_SQUID_PID="$CC_LAST_PID"
}

x8_squid_stop() {
  [ -n "$X8_SQUID_PID" ] || return 0
  kill -INT "$X8_SQUID_PID" 2>/dev/null || true
  local i
  for i in $(seq 1 50); do
    kill -0 "$X8_SQUID_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$X8_SQUID_PID" 2>/dev/null || true
  wait "$X8_SQUID_PID" 2>/dev/null || true
  X8_SQUID_PID=""
}
