# Helpers of the round-9 recorders (gunicorn, Tomcat, Python requests/urllib3). Source after
# lib.sh and lib-b.sh (its delay link, scratch directory and extra namespaces are reused).
#   x9_delay_setup NSC NSS MS   server namespace NSS (CC_NS, 10.99.0.2) and client namespace NSC
#                               (10.99.0.1) joined by a wire with MS ms one-way latency, plus
#                               a scratch directory X9_WORK (all removed on exit)
#   x9_gunicorn NS PORT ARGS... gunicorn (Debian's, /usr/bin/gunicorn) serving programs/x9-wsgi-app.py
#                               in NS with its access log ($X9_WORK/access.log, with the client's
#                               port and the request time in µs), error log ($X9_WORK/error.log)
#                               and the application's own log ($X9_WORK/app.log)
#   x9_software_gunicorn        the versions, for the meta
set -euo pipefail

X9_WORK=""
X9_PROGRAMS="$CC_RECORD_DIR/programs"

x9_delay_setup() {
  local nsc="$1" nss="$2" delay="$3"
  cc_netns_up "$nss"
  ccb_workdir
  X9_WORK="$CCB_WORK"
  ccb_netns_add "$nsc"
  ccb_delay_link "$nsc" "$nss" "$delay"
}

x9_gunicorn() {
  local ns="$1" port="$2"
  shift 2
  : >"$X9_WORK/app.log"
  X9_APP_LOG="$X9_WORK/app.log" ccb_bg "$ns" /usr/bin/gunicorn --chdir "$X9_PROGRAMS" -b "$CCB_SERVER_IP:$port" \
    --access-logfile "$X9_WORK/access.log" \
    --access-logformat '%(t)s %(h)s:%({REMOTE_PORT}e)s "%(r)s" %(s)s %(b)s %(D)sus pid=%(p)s' \
    --error-logfile "$X9_WORK/error.log" --log-level debug "$@" 'x9-wsgi-app:app'
  ccb_wait_port "$ns" "$port"
}

x9_software_gunicorn() {
  printf '%s\n' "gunicorn $(/usr/bin/gunicorn --version 2>&1 | sed 's/.*version \([0-9.]*\).*/\1/') (Debian, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
  python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")'
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

# x9_nginx_proxy LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT: nginx (default timeouts, one upstream
# server, no upstream keep-alive) in CC_NS, error log at info level in $X9_WORK/nginx-error.log,
# access log with $upstream_status and $request_time in $X9_WORK/nginx-access.log.
x9_nginx_proxy() {
  local listen="$1" upstream="$2"
  mkdir -p "$X9_WORK/tmp"
  cat >"$X9_WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $X9_WORK/nginx.pid;
error_log $X9_WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format x9 '\$time_iso8601 \$remote_addr:\$remote_port "\$request" \$status us=\$upstream_status ut=\$upstream_response_time rt=\$request_time';
  access_log $X9_WORK/nginx-access.log x9;
  client_body_temp_path $X9_WORK/tmp/body;
  proxy_temp_path $X9_WORK/tmp/proxy;
  fastcgi_temp_path $X9_WORK/tmp/fastcgi;
  uwsgi_temp_path $X9_WORK/tmp/uwsgi;
  scgi_temp_path $X9_WORK/tmp/scgi;
  upstream backend { server $upstream; }
  server {
    listen $listen;
    location / { proxy_pass http://backend; }
  }
}
CONF
  cc_bg nginx -p "$X9_WORK" -e "$X9_WORK/nginx-error.log" -c "$X9_WORK/nginx.conf"
  cc_wait_port "${listen##*:}"
}
