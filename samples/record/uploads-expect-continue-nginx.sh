#!/usr/bin/env bash
# uploads-expect-continue-nginx: HTTP/1.1 upload edge cases from real clients against nginx (Debian
# 1.22) with client_max_body_size 64k, keep-alive on. nginx proxies /up/ to the Node backend
# (programs/b-http-server.js on 127.0.0.1:9001, not captured: it reads the body and answers 201 to a
# POST, 200 to a PUT), answers /drop/ itself (return 201: the body is discarded, not read first) and
# every other path 200. Two listeners: 127.0.0.1:8080 with nginx's default lingering close
# (lingering_close on, lingering_time 30s, lingering_timeout 5s) and 127.0.0.1:8081 with
# lingering_close off.
#  1. curl on 8080, one invocation, every request after the first with --next (one kept-alive
#     connection until nginx closes it): 1 KiB and 60 KiB --data-binary POSTs without and with a forced
#     Expect: 100-continue (curl 7.88 only adds it itself to bodies over 1 MiB), 60 KiB chunked PUTs
#     (-H 'Transfer-Encoding: chunked') without and with Expect, a POST to /drop/ with Expect (nginx
#     answers 100 Continue and its 201 before the body has arrived), then 200 KiB uploads that nginx
#     refuses with 413 (Connection: close): with Expect (refused at the headers, no 100 Continue, curl
#     sends no body), without Expect (-H 'Expect:': refused while the body is on its way), chunked
#     (refused after 64 KiB were read) and chunked with Expect (100 Continue first, then the 413);
#     small GETs before and after each, each 413 ending its connection.
#  2. curl on 8081 (lingering_close off): GET, a 200 KiB chunked PUT refused with 413 after 64 KiB,
#     then a GET on a new connection, the same chunked PUT with Expect (100 Continue, then the 413) and
#     a last GET: each time nginx closes with the rest of the upload unread, so its kernel resets the
#     connection (RST after the 413).
#  3. python requests (Debian's) on 8080, one Session: GET, a 200 KiB bytes body (no Expect: requests
#     never sends one) refused with 413, GET, a generator body (chunked, 48 KiB) accepted, GET.
# Ground truth: curl's -w (local port, status, connects, bytes uploaded, exit code) and -v traces,
# the requests client's JSON log, nginx's access log ($remote_port $status $request_length
# $connection $connection_requests ...) and error log, all checked against the capture by
# programs/x24u-meta.py, which writes the meta (and exits 1 when any of them disagree).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-b.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl nginx node ip
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import requests' 2>/dev/null \
  || { echo "record: Debian's python3-requests is required (apt-get install python3-requests)" >&2; exit 2; }
scenario=uploads-expect-continue-nginx
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080
port_nolinger=8081
backend=9001

cc_netns_up "$(cc_c_ns x24u)"
ccb_workdir
w="$CCB_WORK"
head -c 1024 /dev/zero | tr '\0' 'a' >"$w/1k"
head -c 61440 /dev/zero | tr '\0' 'b' >"$w/60k"
head -c 204800 /dev/zero | tr '\0' 'c' >"$w/200k"

ccb_nginx_conf "$w/nginx.conf" <<CONF
  log_format x24u '\$remote_port \$status \$request_length \$connection \$connection_requests \$server_port \$msec "\$request" \$bytes_sent';
  access_log $w/access.log x24u;
  client_max_body_size 64k;
  keepalive_timeout 30s;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  server {
    listen 127.0.0.1:$port;
    lingering_close on;
    lingering_time 30s;
    lingering_timeout 5s;
    location /up/ { proxy_pass http://127.0.0.1:$backend; }
    location /drop/ { return 201 "dropped\n"; }
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.1:$port_nolinger;
    lingering_close off;
    location /up/ { proxy_pass http://127.0.0.1:$backend; }
    location / { return 200 "ok\n"; }
  }
CONF
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.1 --port "$backend" 2>"$w/backend.log"
cc_wait_port "$backend"
cc_bg nginx -p "$w" -e "$w/error.log" -c "$w/nginx.conf"
cc_wait_port "$port"
cc_wait_port "$port_nolinger"

# curl_chain LANE PORT SPEC...: one curl run in the namespace, SPEC = "METHOD PATH BODY OPTS" per
# request (BODY: - or a file in $w; OPTS: expect | noexpect | chunked | chunked+expect | -), all on one
# curl invocation joined by --next. -w logs one line per request: lane, local port, status, connects,
# bytes uploaded, exit code, URL; -v goes to the lane's trace.
curl_chain() {
  local lane="$1" p="$2"; shift 2
  local args=() spec method path body opts first=1
  for spec in "$@"; do
    read -r method path body opts <<<"$spec"
    [ "$first" = 1 ] || args+=(--next)
    first=0
    args+=(-sS -v -o /dev/null --max-time 10 -w "$lane %{local_port} %{http_code} %{num_connects} %{size_upload} %{exitcode} %{url}\n")
    if [ "$method" = PUT ]; then args+=(-X PUT); fi   # GET and POST follow from the body
    [ "$body" = - ] || args+=(--data-binary "@$w/$body")
    case "$opts" in
      expect) args+=(-H 'Expect: 100-continue') ;;
      noexpect) args+=(-H 'Expect:') ;;
      chunked) args+=(-H 'Transfer-Encoding: chunked') ;;
      chunked+expect) args+=(-H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue') ;;
    esac
    args+=("http://127.0.0.1:$p$path")
  done
  cc_c_run 40 curl "${args[@]}" >>"$w/curl.log" 2>"$w/curl-$lane.trace" || true
}

cc_c_capture_start "$out" "tcp port $port or tcp port $port_nolinger"
curl_chain c1 "$port" \
  "GET /c1/get-1 - -" \
  "POST /up/c1-1k 1k -" \
  "POST /up/c1-1k-expect 1k expect" \
  "POST /up/c1-60k 60k -" \
  "POST /up/c1-60k-expect 60k expect" \
  "PUT /up/c1-60k-chunked 60k chunked" \
  "PUT /up/c1-60k-chunked-expect 60k chunked+expect" \
  "POST /drop/c1-60k-expect 60k expect" \
  "GET /c1/get-2 - -" \
  "POST /up/c1-200k-expect 200k expect" \
  "GET /c1/get-3 - -" \
  "POST /up/c1-200k-noexpect 200k noexpect" \
  "GET /c1/get-4 - -" \
  "PUT /up/c1-200k-chunked 200k chunked" \
  "GET /c1/get-5 - -" \
  "PUT /up/c1-200k-chunked-expect 200k chunked+expect" \
  "GET /c1/get-6 - -"
sleep 0.2
curl_chain c2 "$port_nolinger" \
  "GET /c2/get-1 - -" \
  "PUT /up/c2-200k-chunked 200k chunked" \
  "GET /c2/get-2 - -" \
  "PUT /up/c2-200k-chunked-expect 200k chunked+expect" \
  "GET /c2/get-3 - -"
sleep 0.2
cc_c_run 40 /usr/bin/python3 "$CCB_PROGRAMS/x24u-requests-client.py" --base "http://127.0.0.1:$port" --log "$w/requests.log"
sleep 0.3
cc_c_capture_stop

python3 "$CCB_PROGRAMS/x24u-meta.py" "$scenario" --capture "$out" --meta "$CC_SAMPLES_DIR/$scenario.meta.json" \
  --work "$w" --ports "$port,$port_nolinger" \
  --software "curl $(cc_c_curl_version)" "$(nginx -v 2>&1 | sed 's/^nginx version: //') (Debian)" \
  "$(/usr/bin/python3 -c 'import requests, urllib3, platform; print(f"python requests {requests.__version__} (urllib3 {urllib3.__version__}, python {platform.python_version()})")')" \
  "node $(cc_c_node_version) http server (backend, not captured)"
