#!/usr/bin/env bash
# response-truncated-proxy-stall: a backend stalls in the middle of a response body, the proxy's
# read timeout (silence from the backend) expires and the proxy closes the client connection
# mid-body: the client got the head and part of the body, then a FIN ("curl: (18) transfer closed
# with N bytes remaining to read", Python IncompleteRead / ChunkedEncodingError, Node 'aborted').
# On one namespace's loopback, both legs captured: nginx 1.22 on 127.0.0.2:8080 (proxy_read_timeout
# 2s; HTTP/1.1 to the backend through an upstream keepalive pool), HAProxy 2.6 on 127.0.0.2:8081
# (mode http, timeout server 2s, timeout client 30s) and Apache 2.4 mod_proxy_http on 127.0.0.2:8082
# (ProxyTimeout 2; its own backend connection reuse), each connecting from 127.0.0.2 to the
# hand-written backend programs/x29p-backend.py on 127.0.0.3:9001: /stall-len (Content-Length 24000,
# 6000 bytes, then 6 s of silence), /stall-chunked (three 2000-byte chunks, then 6 s of silence),
# /ok (8000 bytes at once), /slow-ok (3000 bytes, a 1 s pause below the timeout, the rest: completes).
# Clients from 127.0.0.1: curl 7.88, Python requests 2.28 and http.client, Node 20 http; per proxy six
# truncated responses spread over ~12 s (three of them on connections that first carried healthy
# requests) and healthy keep-alive connections (including /slow-ok).
# Ground truth: the clients' logs (curl's exit code and error, the Python exception, Node's
# 'aborted'/error events, each with its local port), nginx's error log ("upstream timed out ... while
# reading upstream"), HAProxy's log (termination state sD--), Apache's error log (AH01102/AH01110 read
# timeout), the backend's log (the proxy closed the upstream connection ~2 s after its last byte).
# programs/x29p-meta.py checks them against the capture (read with tshark): on each truncated client
# leg the proxy's FIN came after fewer body bytes than declared (or without the last chunk), ~2 s after
# the last body byte; it writes samples/response-truncated-proxy-stall.pcap and .meta.json, or refuses
# (at most 3 attempts).
# Seen on this recording: every proxy closes the client leg with a FIN (no RST, no last chunk); HAProxy
# RSTs the upstream leg, nginx and Apache FIN it. HAProxy's client-leg FIN comes ~1.8 s after the last
# body byte the client got although its timer ran 2 s from the backend's last byte: it forwards an
# incomplete message with MSG_MORE and the kernel holds the last partial segment ~200 ms (with
# X29P_HAPROXY_OPTIONS="option http-no-delay" the client-leg silence is 2.00 s). nginx (proxy_buffering
# on) passes on only the full 4 KB buffers of a Content-Length body it is still reading: its clients got
# 4028 of the 6000 body bytes. The backend writes with TCP_NODELAY and spaces its chunks 0.4 s apart
# (nginx does not re-arm its read timer for reads less than 300 ms apart).
# Environment: X29P_DEBUG_DIR (copy each attempt's capture, logs and configs there), X29P_SKIP_META
# (stop after the first attempt, nothing written), X29P_KNOWN_MISS (mark the expectations knownMiss
# with this reason), X29P_HAPROXY_OPTIONS (extra lines in HAProxy's defaults), X29P_NETNS.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
source "$HERE/programs/x29p-lib.sh"
cc_require nginx haproxy apache2 node curl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=response-truncated-proxy-stall
TIMEOUT=2
STALL=6
cc_netns_up "${X29P_NETNS:-ccx29p}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
ccb_before_cleanup() { x29p_stop_servers; }
# Empty: conncheck reports each cut response (response-truncated); a reason here marks the
# expectations knownMiss.
KNOWN_MISS="${X29P_KNOWN_MISS:-}"

NG=http://127.0.0.2:8080
HA=http://127.0.0.2:8081
AP=http://127.0.0.2:8082
x29p_software
for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/*.jsonl "$WORK"/*.rc "$OUT"
  x29p_backend "$STALL"
  x29p_nginx ${TIMEOUT}s
  x29p_haproxy ${TIMEOUT}s
  x29p_apache "$TIMEOUT"
  cc_capture_start "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 8082 or tcp port 9001"
  X29P_CLIENTS=()
  T0=$(date +%s.%N)
  at() { sleep "$(echo "$T0 + $1 - $(date +%s.%N)" | bc | sed 's/^-.*/0/')"; }
  # wave 1: a healthy request, then a truncated one, on one connection (curl), per proxy
  at 0.0; x29p_curl cn1 $NG /ok /stall-len
  at 0.4; x29p_curl ch1 $HA /ok /stall-len
  at 0.8; x29p_curl ca1 $AP /ok /stall-len
  # Node: /ok, /slow-ok, then /stall-chunked on the same connection
  at 1.2; x29p_node nn1 $NG /ok,/slow-ok,/stall-chunked 300,300
  at 1.6; x29p_node nh1 $HA /ok,/slow-ok,/stall-chunked 300,300
  at 2.0; x29p_node na1 $AP /ok,/slow-ok,/stall-chunked 300,300
  # requests: /stall-chunked on a fresh connection
  at 2.5; x29p_py requests pn1 $NG /stall-chunked ""
  at 2.9; x29p_py requests ph1 $HA /stall-chunked ""
  at 3.3; x29p_py requests pa1 $AP /stall-chunked ""
  # healthy keep-alive connections (curl)
  at 3.7; x29p_curl kn1 $NG /ok /slow-ok /ok
  at 4.1; x29p_curl kh1 $HA /ok /slow-ok /ok
  at 4.5; x29p_curl ka1 $AP /ok /slow-ok /ok
  # wave 2: http.client, /ok then /stall-len on one connection
  at 6.5; x29p_py httpclient un1 $NG /ok,/stall-len 500
  at 7.0; x29p_py httpclient uh1 $HA /ok,/stall-len 500
  at 7.5; x29p_py httpclient ua1 $AP /ok,/stall-len 500
  # healthy Node keep-alive connections with pauses
  at 8.0; x29p_node hn1 $NG /slow-ok,/ok,/slow-ok 1500,800
  at 8.3; x29p_node hh1 $HA /slow-ok,/ok,/slow-ok 1500,800
  at 8.6; x29p_node ha1 $AP /slow-ok,/ok,/slow-ok 1500,800
  # wave 3: curl /stall-chunked and requests /stall-len, fresh connections
  at 10.0; x29p_curl cn2 $NG /stall-chunked
  at 10.4; x29p_curl ch2 $HA /stall-chunked
  at 10.8; x29p_curl ca2 $AP /stall-chunked
  at 11.5; x29p_py requests rn2 $NG /stall-len ""
  at 11.9; x29p_py requests rh2 $HA /stall-len ""
  at 12.3; x29p_py requests ra2 $AP /stall-len ""
  wait "${X29P_CLIENTS[@]}" || true
  sleep 1
  cc_capture_stop
  x29p_stop_servers
  for pid in "${CC_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  CC_PIDS=()
  if [ -n "${X29P_DEBUG_DIR:-}" ]; then
    mkdir -p "$X29P_DEBUG_DIR/$attempt"
    cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/*.jsonl "$WORK"/*.rc "$WORK"/*.conf "$WORK"/*.cfg "$X29P_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  [ -n "${X29P_SKIP_META:-}" ] && { echo "record: X29P_SKIP_META set: logs in $X29P_DEBUG_DIR, nothing written" >&2; exit 0; }
  if /usr/bin/python3 "$CCB_PROGRAMS/x29p-meta.py" "$SCENARIO" --timeout "$TIMEOUT" --stall "$STALL" --capture "$OUT" \
      --meta "$META" --work "$WORK" --known-miss "$KNOWN_MISS" --software "${X29P_SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
