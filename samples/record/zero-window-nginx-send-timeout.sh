#!/usr/bin/env bash
# zero-window-nginx-send-timeout: nginx (Debian 1.22, sendfile on, send_timeout 3s, listen ...
# sndbuf=16384, limit_rate 128 KiB/s so that a download lasts seconds) serves a 512 KiB static file
# (random bytes, written at record time) to curl (the command line, 7.88). The namespace's
# net.ipv4.tcp_rmem caps the client's receive buffer at 16 KiB. Mid-download the recorder stops curl
# (SIGSTOP, by the PID it started): curl stops reading, its receive buffer fills (at nginx's next
# limit_rate burst: nginx sends in bursts about a second apart), its kernel advertises a zero window
# and nginx's kernel probes it (persist timer). Three downloads, one after the other:
#   A  /big.bin      curl stopped 2.2 s, then continued: nginx still waiting (less than send_timeout
#                    since its last write), the transfer resumes and completes (200, all bytes, exit 0)
#   B  /big.bin      curl stopped 6 s: after send_timeout without progress nginx logs "client timed
#                    out (110: Connection timed out) while sending response to client" and close()s
#                    the socket; the bytes already in its send buffer and the FIN wait behind the zero
#                    window, nothing shows on the wire until curl reads again; then the rest of the
#                    send buffer and nginx's FIN: curl exits 18 (transfer closed with N bytes remaining)
#   C  /rst/big.bin  the same with reset_timedout_connection on (that location only): nginx's close is
#                    an abortive one, a RST in the middle of the zero window, at the timeout itself
# Ground truth: curl's -w summary (local port, status, bytes, exit code, error), nginx's access log
# ($remote_port $status $body_bytes_sent $bytes_sent $request_time $msec $connection) and error log,
# the times the recorder stopped and continued curl; programs/x24z-meta.py checks them against the
# capture (exit 1, no meta, when they disagree). Full packets (snaplen 0); about 1 MB.
# Bounded: each download at most 20 s (curl --max-time), at most 3 attempts of ~25 s.
# Writes samples/zero-window-nginx-send-timeout.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-c.sh"
cc_require nginx curl tcpdump tshark ip python3

SCENARIO=zero-window-nginx-send-timeout
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8080
FILE_BYTES=524288
SEND_TIMEOUT=3
LIMIT_RATE=131072
SNDBUF=16384
CLIENT_RMEM="4096 16384 16384"
ATTEMPTS=3
# name path outcome seconds-before-SIGSTOP seconds-stopped
DOWNLOADS=("A /big.bin kept 1.0 2.2" "B /big.bin fin 0.5 6.0" "C /rst/big.bin rst 0.5 6.0")

CURL_PIDS=()
# Never leave a client stopped: continue every curl of ours before cleanup ends anything.
ccb_before_cleanup() {
  local pid
  for pid in "${CURL_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null || true
  done
}

setup() {
  cc_netns_up "$(cc_c_ns "$SCENARIO")"
  ccb_workdir
  WORK="$CCB_WORK"
  # The client's receive buffer: at most 16 KiB, no autotuning past it (per namespace).
  cc_c_sysctl "net.ipv4.tcp_rmem=$CLIENT_RMEM"
  mkdir -p "$WORK/www"
  head -c "$FILE_BYTES" /dev/urandom >"$WORK/www/big.bin"
  ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format x24z '\$remote_port \$status \$body_bytes_sent \$bytes_sent \$request_time \$msec \$connection \$request_completion "\$request"';
  access_log $WORK/access.log x24z;
  sendfile on;
  server {
    listen 127.0.0.1:$PORT sndbuf=$SNDBUF;
    root $WORK/www;
    send_timeout ${SEND_TIMEOUT}s;
    limit_rate $LIMIT_RATE;
    location /rst/ {
      alias $WORK/www/;
      reset_timedout_connection on;
    }
  }
CONF
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  cc_wait_port "$PORT"
}

# download NAME PATH DELAY STOPPED: curl in the namespace, SIGSTOP after DELAY s, SIGCONT after
# STOPPED s more; curl's -w line and the recorder's times go to client.log.
download() {
  local name="$1" path="$2" delay="$3" stopped="$4" pid t_start t_stop t_cont
  t_start="$EPOCHREALTIME"
  ip netns exec "$CC_NS" curl -sS -o /dev/null --max-time 20 \
    -w "x24z-curl $name %{local_port} %{http_code} %{size_download} %{exitcode} %{time_total} %{errormsg}\n" \
    "http://127.0.0.1:$PORT$path" >>"$WORK/client.log" 2>>"$WORK/curl-stderr.log" &
  pid="$!"
  CURL_PIDS+=("$pid")
  sleep "$delay"
  # ip netns exec execs curl: the PID is curl's own. It must still be downloading.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != curl ]; then
    echo "record: curl $name ended before it was stopped" >&2
    wait "$pid" || true
    return 1
  fi
  t_stop="$EPOCHREALTIME"
  kill -STOP "$pid"
  sleep "$stopped"
  t_cont="$EPOCHREALTIME"
  kill -CONT "$pid"
  cc_c_wait_pid 20 "$pid"
  echo "x24z-client $name $path $t_start $t_stop $t_cont" >>"$WORK/client.log"
}

attempt() {
  : >"$WORK/client.log"; : >"$WORK/access.log"; : >"$WORK/error.log"
  cc_c_capture_start "$OUT" "tcp port $PORT"
  local d name path outcome delay stopped kinds=""
  for d in "${DOWNLOADS[@]}"; do
    read -r name path outcome delay stopped <<<"$d"
    download "$name" "$path" "$delay" "$stopped" || { cc_c_capture_stop; return 1; }
    kinds="${kinds:+$kinds,}$name=$outcome"
    sleep 0.5
  done
  cc_c_capture_stop
  cat "$WORK/client.log" "$WORK/access.log" >&2
  python3 "$CC_C_PROGRAMS/x24z-meta.py" --scenario "$SCENARIO" --capture "$OUT" \
    --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --client-log "$WORK/client.log" \
    --access-log "$WORK/access.log" --error-log "$WORK/error.log" --kinds "$kinds" \
    --configured "{\"nginxSendTimeout\": $SEND_TIMEOUT, \"nginxLimitRate\": $LIMIT_RATE, \"nginxSndbuf\": $SNDBUF, \"clientRcvBufMax\": ${CLIENT_RMEM##* }, \"fileBytes\": $FILE_BYTES}" \
    --description "$DESCRIPTION" \
    --software "nginx $(dpkg-query -W -f='${Version}' nginx 2>/dev/null || nginx -v 2>&1) (sendfile on, send_timeout ${SEND_TIMEOUT}s, limit_rate $LIMIT_RATE, listen sndbuf=$SNDBUF; reset_timedout_connection on in /rst/ only)" \
    --software "curl $(cc_c_curl_version) (the command line, -o /dev/null; net.ipv4.tcp_rmem $CLIENT_RMEM)"
}

DESCRIPTION="nginx (send_timeout 3s, limit_rate 128 KiB/s so that a download lasts seconds, sendfile, listen sndbuf=16k) serves a 512 KiB static file to curl, whose receive buffer the namespace's net.ipv4.tcp_rmem caps at 16 KiB. Mid-download the recorder stops curl (SIGSTOP): its receive buffer fills, its kernel advertises a zero window and nginx's kernel probes it (persist timer). Download A is continued after 2.2 s, before send_timeout: the transfer resumes and completes. Downloads B and C stay stopped 6 s: nginx gives up after send_timeout (error log: client timed out (110: Connection timed out) while sending response to client). In B (default reset_timedout_connection off) nginx close()s the socket: nothing shows on the wire, its kernel keeps the unsent bytes and the FIN behind the zero window and sends them when curl reads again, so the 200 response ends short of its Content-Length (curl exit 18, transfer closed with N bytes remaining to read). In C (/rst/, reset_timedout_connection on) nginx resets the connection in the middle of the zero window; the bytes in its send buffer are lost (curl exit 56, Connection reset by peer). A retransmission of the last segment a few ms before a zero window, when a run has one (measured: serverRetransmissions, answered with a D-SACK: the original had arrived), is nginx's kernel's tail-loss probe while the client delayed its ACK, not loss. Measured per connection in measured (times in seconds from the capture's first packet)."

setup
for try in $(seq 1 "$ATTEMPTS"); do
  if attempt; then
    grep -h "timed out" "$WORK/error.log" >&2 || true
    exit 0
  fi
  echo "record: attempt $try did not show the scenario" >&2
done
echo "record: no usable recording in $ATTEMPTS attempts" >&2
exit 1
