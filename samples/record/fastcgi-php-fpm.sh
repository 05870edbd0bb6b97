#!/usr/bin/env bash
# FastCGI over TCP: nginx (127.0.0.2:8080) in front of a php-fpm 8.2 pool (127.0.0.3:9000, pm static,
# 4 workers, request_terminate_timeout 3s, catch_workers_output), nginx connecting from 127.0.0.2
# (fastcgi_bind) with one FastCGI connection per request (fastcgi_keep_conn off). Client: Python
# http.client from 127.0.0.1 (programs/x37-client.py). Both legs on the namespace's loopback.
#   1. healthy: 6 GETs of /fast.php 0.3 s apart on one kept-alive connection, 3 on another: all 200.
#   2. read timeout: 3 GETs of /slow/sleep.php?s=4 at once (location /slow/ has fastcgi_read_timeout
#      2s): nginx closes the FastCGI connection and answers 504 after 2 s; php-fpm kills the still
#      sleeping workers at 3 s (request_terminate_timeout).
#   3. terminate: 2 GETs of /kill/sleep.php?s=8 one after the other (nginx's default 60 s read
#      timeout): php-fpm kills the worker at 3 s ("execution timed out ... terminating"), its FastCGI
#      connection ends without a response and nginx answers 502.
# Writes samples/fastcgi-php-fpm.pcap and .meta.json; programs/x37-meta.py checks the capture against
# the programs' logs (nginx access and error log, php-fpm log and access log, client log) and refuses
# (exit 1) a recording that does not show this.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
PHP_FPM=${X37_PHP_FPM:-php-fpm8.2}
cc_require python3 tcpdump tshark ip nginx "$PHP_FPM"

SCENARIO=fastcgi-php-fpm
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PROGRAMS="$HERE/programs"
cc_netns_up cc-x37-fcgi
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
fill() { sed -e "s|@WORK@|$WORK|g" -e "s|@PROGRAMS@|$PROGRAMS|g" "$1" >"$2"; }
fill "$PROGRAMS/x37-nginx.conf.in" "$WORK/nginx.conf"
fill "$PROGRAMS/x37-php-fpm.conf.in" "$WORK/php-fpm.conf"

# php-fpm: no php.ini (-n), foreground (-F), pool may run as root (-R: the namespace is private).
cc_bg timeout 120 "$PHP_FPM" -n -R -F -y "$WORK/php-fpm.conf" -p "$WORK" 2>"$WORK/php-fpm.stderr"
FPM_PID=$CC_LAST_PID
cc_wait_port 9000
for _ in $(seq 1 100); do grep -q 'ready to handle connections' "$WORK/php-fpm.log" 2>/dev/null && break; sleep 0.05; done
grep -q 'ready to handle connections' "$WORK/php-fpm.log" || { cat "$WORK/php-fpm.log" >&2; echo "record: php-fpm not ready" >&2; exit 1; }
cc_bg timeout 120 nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
NGINX_PID=$CC_LAST_PID
cc_wait_port 8080
sleep 0.2

cc_capture_start "$OUT" "tcp port 8080 or tcp port 9000"
# php-fpm's side of the FastCGI connections, sampled every 0.25 s (bounded: 160 samples, or until the
# stop file appears): state and Recv-Q (bytes of the request the worker has not read).
cc_bg bash -c 'for i in $(seq 1 160); do [ -e "$1/ss.stop" ] && break; echo "T $(date +%s.%N)"; ss -Htna "( sport = :9000 )"; sleep 0.25; done' x37-ss "$WORK" >"$WORK/ss.log" 2>&1
SS_PID=$CC_LAST_PID
cc_in timeout 60 python3 "$PROGRAMS/x37-client.py" --host 127.0.0.2 --port 8080 --log "$WORK/client.log" >"$WORK/client.out" 2>&1 \
  || { cat "$WORK/client.out" >&2; echo "record: client failed" >&2; exit 1; }
touch "$WORK/ss.stop"
cc_capture_stop
ccb_stop "$SS_PID" TERM
# Stop nginx, then php-fpm (SIGQUIT: graceful), so that their logs are complete.
ccb_stop "$NGINX_PID" TERM
ccb_stop "$FPM_PID" QUIT

SOFTWARE=(
  "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
  "$("$PHP_FPM" -n -v | head -1 | sed 's/ (built.*//')"
  "Python $(python3 -c 'import platform; print(platform.python_version())') http.client"
)
python3 "$PROGRAMS/x37-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --work "$WORK" \
  --software "${SOFTWARE[@]}"
