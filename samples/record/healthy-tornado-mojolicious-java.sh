#!/usr/bin/env bash
# Healthy keep-alive reuse: Tornado 6.2 (Debian python3-tornado; idle_connection_timeout=2 s) and
# Mojolicious 9.31 (Debian libmojolicious-perl; Mojo::Server::Daemon, keep_alive_timeout 5 s by
# default) side by side, each used by OkHttp 3.13 and by Apache HttpClient 5.2 (Debian packages,
# their defaults, one client each for the whole run) at once, behind a 5 ms one-way-latency link,
# captured on the server side. Every pause between two requests on a pooled connection stays well
# inside the server's idle timeout (Tornado: at most 1.5 s of its 2 s; Mojolicious: at most 3.5 s of
# its 5 s), GETs and POSTs mixed; each client closes its connections at the end. Nothing fails:
# conncheck must stay silent.
# Writes samples/healthy-tornado-mojolicious-java.pcap and .meta.json (x19t-meta.py checks the
# capture against the logs: no error, no failed attempt, no request on a new connection after a
# pause, else the attempt is redone, at most 3 times).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x19t-lib.sh"
x19t_require

SCENARIO=healthy-tornado-mojolicious-java
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
DELAY_MS=5
TORNADO_PORT=8888
MOJO_PORT=3000
NSS=ccx19t-hs
NSC=ccx19t-hc

x19t_setup
x19t_tornado "$NSS" "$CCB_SERVER_IP" "$TORNADO_PORT" 2
x19t_mojo "$NSS" "$CCB_SERVER_IP" "$MOJO_PORT" default
mapfile -t SOFTWARE < <(x19t_software)
T_STEPS=(GET:/t/a POST:/t/b sleep:0.4 GET:/t/c sleep:1.5 POST:/t/d GET:/t/e sleep:1.1 GET:/t/f sleep:0.8 POST:/t/g sleep:1.4 GET:/t/h)
M_STEPS=(GET:/m/a POST:/m/b sleep:1 GET:/m/c sleep:3.5 POST:/m/d GET:/m/e sleep:2.5 GET:/m/f sleep:0.3 POST:/m/g sleep:3 GET:/m/h)
for attempt in 1 2 3; do
  rm -f "$CCB_WORK"/client-*.log
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port $TORNADO_PORT or tcp port $MOJO_PORT"
  pids=()
  x19t_java "$NSC" healthy okhttp "http://$CCB_SERVER_IP:$TORNADO_PORT" "$CCB_WORK/client-ot.log" "${T_STEPS[@]}" & pids+=("$!")
  x19t_java "$NSC" healthy hc5 "http://$CCB_SERVER_IP:$TORNADO_PORT" "$CCB_WORK/client-ht.log" "${T_STEPS[@]}" & pids+=("$!")
  x19t_java "$NSC" healthy okhttp "http://$CCB_SERVER_IP:$MOJO_PORT" "$CCB_WORK/client-om.log" "${M_STEPS[@]}" & pids+=("$!")
  x19t_java "$NSC" healthy hc5 "http://$CCB_SERVER_IP:$MOJO_PORT" "$CCB_WORK/client-hm.log" "${M_STEPS[@]}" & pids+=("$!")
  for p in "${pids[@]}"; do wait "$p" || true; done
  sleep 0.5
  cc_capture_stop
  if python3 "$X19T_PROGRAMS/x19t-meta.py" healthy --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
      --server-log "$CCB_WORK/tornado.log" "$CCB_WORK/mojo.log" --client-log "$CCB_WORK"/client-*.log \
      --server-port "$TORNADO_PORT" "$MOJO_PORT" --set tornadoIdleConnectionTimeout=2 --set mojoliciousKeepAliveTimeout=5 \
      --set oneWayDelayMs="$DELAY_MS" --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
      --description "Healthy keep-alive reuse against Tornado 6.2 (Debian python3-tornado; HTTPServer(idle_connection_timeout=2)) on port $TORNADO_PORT and Mojolicious 9.31 (Debian libmojolicious-perl; Mojo::Server::Daemon, default keep_alive_timeout 5 s) on port $MOJO_PORT, each used at once by OkHttp 3.13.1 and Apache HttpClient 5.2.1 (Debian packages, defaults, one client per server and library for the whole run). 5 ms one-way latency, captured on the server side. GETs and POSTs with pauses of 0.4-1.5 s (Tornado) and 0.3-3.5 s (Mojolicious) between them, every one well inside the server's idle timeout, so every request reuses the pooled connection and is answered; each client closes its connection at the end (the client's FIN first). HttpClient 5 checks a connection idle more than 2 s (validateAfterInactivity) before reuse and OkHttp checks one before a POST: both find it open. No idle close, no error, no retry: conncheck should report nothing."; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
if [ -n "${X19T_LOG_DIR:-}" ]; then mkdir -p "$X19T_LOG_DIR"; cp "$CCB_WORK"/*.log "$X19T_LOG_DIR/"; fi
exit 0
