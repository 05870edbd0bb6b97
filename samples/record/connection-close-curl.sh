#!/usr/bin/env bash
# connection-close-curl: curl asks nginx for three static files, each with
# "Connection: close" on its own connection; then one HTTP/1.0 request (curl -0) to a
# tiny python server whose response has no Content-Length (body ends at the server's FIN).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos nginx curl python3 ip

out="$CC_SAMPLES_DIR/connection-close-curl.pcap"
nginx_port=8080
http10_port=8081
cc_netns_up cc-a-connection-close

# nginx in the foreground, single process, everything under a temporary prefix.
prefix="$(mktemp -d /tmp/cc-a-nginx.XXXXXX)"
trap 'cc_cleanup; rm -rf "$prefix"' EXIT
mkdir -p "$prefix/html" "$prefix/logs"
printf '<!doctype html><title>sample</title><p>hello from nginx</p>\n' >"$prefix/html/index.html"
printf '{"items":[1,2,3]}\n' >"$prefix/html/data.json"
printf 'User-agent: *\nDisallow:\n' >"$prefix/html/robots.txt"
cat >"$prefix/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  keepalive_timeout 2s;
  client_body_temp_path $prefix/client_body;
  proxy_temp_path $prefix/proxy;
  fastcgi_temp_path $prefix/fastcgi;
  uwsgi_temp_path $prefix/uwsgi;
  scgi_temp_path $prefix/scgi;
  types { text/html html; application/json json; text/plain txt; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $prefix/html;
  }
}
CONF
cc_bg nginx -p "$prefix" -e "$prefix/logs/error.log" -c "$prefix/nginx.conf"
cc_bg python3 -u "$CC_A_PROGRAMS/http10-close-server.py" --host 127.0.0.1 --port "$http10_port"
cc_wait_port "$nginx_port"
cc_wait_port "$http10_port"

# --immediate-mode: without it libpcap's TPACKET_V3 ring holds up to 1 s of packets
# that are lost when tcpdump is stopped.
cc_capture_start "$out" "tcp port $nginx_port or tcp port $http10_port" --immediate-mode
for path in index.html data.json robots.txt; do
  cc_a_run 5 curl -sS -o /dev/null -H 'Connection: close' "http://127.0.0.1:$nginx_port/$path"
  sleep 0.15
done
cc_a_run 5 curl -sS -0 -o /dev/null "http://127.0.0.1:$http10_port/close-delimited"
cc_capture_stop

cc_a_meta "$out" '{
  "scenario": "connection-close-curl",
  "description": "Three curl requests to nginx, each with Connection: close on its own connection (nginx answers 200 with Content-Length and Connection: close), 150 ms apart; after the complete response both nginx and curl close, so which FIN comes first varies from run to run (see facts.perConnection[].firstFin); then curl -0 sends an HTTP/1.0 request to a python server that answers HTTP/1.0 200 without Content-Length, writes the body in two parts 50 ms apart and closes: the body is close-delimited (it ends at the server FIN). Clean traffic.",
  "software": ["curl 7.88", "nginx 1.22 (single process)", "python3 http.server (HTTP/1.0)"],
  "configured": {"nginxKeepaliveTimeout": 2.0, "requestHeader": "Connection: close", "http10Server": "no Content-Length, close after the body"},
  "silent": true,
  "expectMode": "silent",
  "notes": "4 connections for 4 requests is not connection-churn: every response closes its connection (Connection: close asked by the client, or HTTP/1.0 without keep-alive). The HTTP/1.0 body is close-delimited: a parser must end it at the FIN, not report it truncated or unanswered.",
  "facts": {"connections": 4, "states": {"SF": 4}, "syn": 4, "synAck": 4, "fin": 8, "rst": 0,
            "httpRequests": 4, "httpResponses": 4, "requestsPerConnection": [1, 1, 1, 1], "exchanges": 4,
            "methods": {"GET": 4}, "statuses": {"200": 4},
            "requestVersions": {"HTTP/1.0": 1, "HTTP/1.1": 3}, "responseVersions": {"HTTP/1.0": 1, "HTTP/1.1": 3},
            "tcpAnalysisFlaggedPackets": 0}
}' "$nginx_port" "$http10_port"
