#!/usr/bin/env bash
# Requests queued behind one long request at an application server's concurrency limit: nginx
# (127.0.0.2:8080, fastcgi_pass, default timeouts) in front of php-fpm (127.0.0.3:9000, pm = static,
# pm.max_children = 1: one worker). One request works 5 s (/work?ms=5000); three more, sent 0.5 s
# apart while it runs, need 0.3 s each but wait in php-fpm's listen backlog (the kernel completed
# their handshakes and ACKed nginx's FastCGI requests; no worker accepted them) until the worker
# is free: each is answered right after the previous one ends, the first 0.3 s after the long one,
# so their waits shrink in the order they were sent (4.8, 4.6, 4.4 s). The client (python requests,
# timeout 4 s) gives up on all four; nginx closes their FastCGI connections with it, and php-fpm
# still runs them in turn and answers into the closed connections (reset): the queue shows on the
# wire. Two requests after that are answered in 0.3 s. Not a slow backend: a queue behind one slow
# request.
# WK_CHILDREN=2 records queued-behind-slow-php-fpm-2 instead: two workers, two long requests.
# WK_GUNICORN=1 records queued-behind-slow-gunicorn instead: gunicorn --workers 1 (sync), the
# client direct, the same schedule (gunicorn's socket backlog holds the queued connections).
# Writes samples/<scenario>.pcap and .meta.json (wk-meta.py checks it against the logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-x9.sh"
PHP_FPM=${WK_PHP_FPM:-php-fpm8.2}
GUNICORN=${WK_GUNICORN:-0}
CHILDREN=${WK_CHILDREN:-1}
cc_require python3 tcpdump tshark ip

PROGRAMS="$HERE/programs"
if [ "$GUNICORN" = 1 ]; then
  cc_require gunicorn
  SCENARIO=queued-behind-slow-gunicorn
  cc_netns_up ccwk-qg
  ccb_workdir
  X9_WORK="$CCB_WORK"
  CCB_SERVER_IP=127.0.0.1
  x9_gunicorn ccwk-qg 8081 -w 1 -k sync --timeout 30
  mapfile -t SOFTWARE < <(x9_software_gunicorn | grep -v 'delay line')
  BASE=http://127.0.0.1:8081
  FILTER="tcp port 8081"
  W() { echo "GET:/sleep/$1/$2"; }
else
  cc_require nginx "$PHP_FPM"
  SCENARIO=queued-behind-slow-php-fpm
  [ "$CHILDREN" != 1 ] && SCENARIO="queued-behind-slow-php-fpm-$CHILDREN"
  cc_netns_up "ccwk-qp$CHILDREN"
  ccb_workdir
  X9_WORK="$CCB_WORK"
  mkdir -p "$X9_WORK/tmp"
  sed -e "s|@WORK@|$X9_WORK|g" -e "s|@PROGRAMS@|$PROGRAMS|g" "$PROGRAMS/wk-nginx-fastcgi.conf.in" >"$X9_WORK/nginx.conf"
  sed -e "s|@WORK@|$X9_WORK|g" -e "s|@CHILDREN@|$CHILDREN|g" "$PROGRAMS/wk-php-fpm.conf.in" >"$X9_WORK/php-fpm.conf"
  # php-fpm: no php.ini (-n), foreground (-F), pool may run as root (-R: the namespace is private).
  cc_bg timeout 120 "$PHP_FPM" -n -R -F -y "$X9_WORK/php-fpm.conf" -p "$X9_WORK" 2>"$X9_WORK/php-fpm.stderr"
  FPM_PID=$CC_LAST_PID
  cc_wait_port 9000
  for _ in $(seq 1 100); do grep -q 'ready to handle connections' "$X9_WORK/php-fpm.log" 2>/dev/null && break; sleep 0.05; done
  grep -q 'ready to handle connections' "$X9_WORK/php-fpm.log" || { cat "$X9_WORK/php-fpm.log" >&2; echo "record: php-fpm not ready" >&2; exit 1; }
  cc_bg timeout 120 nginx -p "$X9_WORK" -e "$X9_WORK/nginx-error.log" -c "$X9_WORK/nginx.conf"
  NGINX_PID=$CC_LAST_PID
  cc_wait_port 8080
  SOFTWARE=("$(nginx -v 2>&1 | sed 's/^nginx version: //')" "$("$PHP_FPM" -n -v | head -1 | sed 's/ (built.*//')"
    "$(python3 -c 'import sys, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__}")')")
  BASE=http://127.0.0.2:8080
  FILTER="tcp port 8080 or tcp port 9000"
  W() { echo "GET:/work?ms=$(python3 -c "print(int($1 * 1000))")&i=$2"; }
fi
sleep 0.5
SCHEDULE=("0@$(W 5 slow1)")
[ "$CHILDREN" = 2 ] && SCHEDULE+=("0.2@$(W 5 slow2)")
SCHEDULE+=("0.5@$(W 0.3 q1)" "1.0@$(W 0.3 q2)" "1.5@$(W 0.3 q3)" "8.0@$(W 0.3 after1)" "8.5@$(W 0.3 after2)")
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_capture_start "$OUT" "$FILTER"
cc_in timeout 40 python3 "$PROGRAMS/wk-schedule-client.py" --base "$BASE" --log "$X9_WORK/client.log" --timeout 4 "${SCHEDULE[@]}"
cc_capture_stop
if [ "$GUNICORN" != 1 ]; then
  ccb_stop "$NGINX_PID" TERM
  ccb_stop "$FPM_PID" QUIT
fi
cat "$X9_WORK/client.log"
ARGS=(--capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --client-log "$X9_WORK/client.log" --set "concurrencyLimit=$CHILDREN")
if [ "$GUNICORN" = 1 ]; then
  ARGS+=(--server-port 8081 --app-log "$X9_WORK/app.log" --error-log "$X9_WORK/error.log")
else
  ARGS+=(--server-port 9000 --proxy-port 8080 --fpm-log "$X9_WORK/php-fpm.log" --proxy-access-log "$X9_WORK/nginx-access.log")
fi
[ -n "${WK_SKIP_META:-}" ] || python3 "$PROGRAMS/wk-meta.py" queued "${ARGS[@]}" --software "${SOFTWARE[@]}"
true
