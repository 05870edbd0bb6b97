#!/usr/bin/env bash
# healthy-tls-idle-closes: HTTPS traffic where every request is answered, but connections then sit idle and are
# closed at FIXED delays (a naive reader would see "client data, then a close at a constant delay"). On one
# namespace's loopback (ccx32h): the backend of programs/x32-backend.py on 127.0.0.3:9001 (/ok at once,
# /slow?ms=800 answered after 0.8 s) and nginx 1.22 (Debian, OpenSSL 3.0; a throwaway self-signed ECDSA
# certificate made here by openssl) in front of it with three TLS listeners, all proxying to the backend
# (HTTP/1.1, proxy_read_timeout 60s) with keepalive_timeout 3s:
#   127.0.0.2:8443  TLS 1.3 (ssl_protocols TLSv1.2 TLSv1.3; session tickets on, the default)
#   127.0.0.2:9443  TLS 1.2 only
#   127.0.0.2:8444  ssl http2, TLS 1.3 only
# Lanes from 127.0.0.1, at once; every URL carries c=LANE and a unique id:
#   a. Python requests 2.28 (programs/x32-requests-client.py), verify=False: a new Session per connection, one
#      GET /ok, then exactly 2.0 s idle, then session.close(): 4 connections to 8443 and 4 to 9443;
#   b. Node 20 https (programs/x32-node-client.js) with https.Agent({keepAlive: true, timeout: 1500}): one
#      request per connection; the agent destroys the idle pooled socket after 1.5 s: 4 to 8443, 4 to 9443;
#   c. HTTP/2 over TLS to 8444: Node http2.connect, 3 requests on one session, 2 session.ping(), 2 s idle,
#      session.close(): 3 sessions; and curl 7.88 --http2 -k fetching 3 URLs on one connection, 2 runs;
#   d. slow but answered: /slow?ms=800 by curl --max-time 3 (to 8443, 2 connections) and by Node https
#      timeout: 2500 (to 9443, 2 connections): answered after 0.8 s, then the client closes;
#   e. nginx's own idle close: a Node keepAlive agent without a timeout makes one request and waits 4 s;
#      nginx's keepalive_timeout 3s closes the connection (close_notify and FIN from the server): 8443 and 9443.
# tcpdump captures the client side only (tcp to 127.0.0.2 ports 8443, 9443, 8444). The clients write their TLS
# secrets to a key log in the scratch folder (SSLKEYLOGFILE, node --tls-keylog) that programs/x32-meta.py uses
# to decrypt the capture while it checks it (never committed). x32-meta.py checks that every request was
# answered (the clients' logs, nginx's access log: all 200, and the capture: server application data after
# every HTTP/1.1 request record, before any close), then writes samples/healthy-tls-idle-closes.pcap and
# .meta.json, or refuses (at most 3 attempts). One attempt takes ~25 s.
# Rerun: sudo bash samples/record/healthy-tls-idle-closes.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x32-lib.sh"
cc_require nginx node curl openssl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=healthy-tls-idle-closes
cc_netns_up "${X32H_NETNS:-ccx32h}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X32_PROGRAMS"
x32_addresses
x32_cert
x32_nginx_conf 3s 1
x32_software

T13=https://127.0.0.2:8443
T12=https://127.0.0.2:9443
H2=https://127.0.0.2:8444

requests_lane() {   # a
  local base="$1" tag="$2" plan="" i
  for i in 1 2 3 4; do
    plan="$plan${plan:+,}{\"urls\":[\"$base/ok?c=$tag&id=$tag-$i\"],\"timeout\":[2,2],\"idleAfter\":2.0}"
  done
  x32_requests --tag "$tag" --plan "[$plan]"
}
node_idle_lane() {   # b
  local base="$1" tag="$2" plan="" i
  for i in 1 2 3 4; do
    plan="$plan${plan:+,}{\"requests\":[{\"url\":\"$base/ok?c=$tag&id=$tag-$i\"}],\"agentTimeoutMs\":1500,\"watchMs\":4000}"
  done
  x32_node --tag "$tag" --mode https --plan "[$plan]"
}
h2_lane() {   # c
  local plan="" i
  for i in 1 2 3; do
    plan="$plan${plan:+,}{\"origin\":\"$H2\",\"paths\":[\"/ok?c=h2node&id=h2node-$i-1\",\"/ok?c=h2node&id=h2node-$i-2\",\"/ok?c=h2node&id=h2node-$i-3\"],\"pings\":2,\"idleMs\":2000}"
  done
  x32_node --tag h2node --mode h2 --plan "[$plan]"
  for i in 1 2; do
    x32_curl curlh2 --http2 -o /dev/null "$H2/ok?c=curlh2&id=curlh2-$i-1" -o /dev/null "$H2/ok?c=curlh2&id=curlh2-$i-2" \
      -o /dev/null "$H2/ok?c=curlh2&id=curlh2-$i-3"
  done
}
slow_lane() {   # d
  local i
  for i in 1 2; do x32_curl curlslow --max-time 3 -o /dev/null "$T13/slow?ms=800&c=curlslow&id=curlslow-$i"; done
  x32_node --tag nodeslow --mode https --plan '[
    {"requests":[{"url":"'$T12'/slow?ms=800&c=nodeslow&id=nodeslow-1","timeoutMs":2500}]},
    {"requests":[{"url":"'$T12'/slow?ms=800&c=nodeslow&id=nodeslow-2","timeoutMs":2500}]}]'
}
nginx_idle_lane() {   # e
  x32_node --tag nginxidle --mode https --plan '[
    {"requests":[{"url":"'$T13'/ok?c=nginxidle&id=nginxidle-1"}],"watchMs":4000},
    {"requests":[{"url":"'$T12'/ok?c=nginxidle&id=nginxidle-2"}],"watchMs":4000}]'
}

all_lanes() {
  cc_wait_port 8444
  LANES=()
  (requests_lane "$T13" requests13; requests_lane "$T12" requests12) & LANES+=("$!")
  (sleep 0.2; node_idle_lane "$T13" nodeidle13; node_idle_lane "$T12" nodeidle12) & LANES+=("$!")
  (sleep 0.4; h2_lane; slow_lane) & LANES+=("$!")
  (sleep 0.6; nginx_idle_lane) & LANES+=("$!")
  wait "${LANES[@]}" || true
  sleep 0.5
}

x32_record healthy "tcp and host 127.0.0.2 and (port 8443 or port 9443 or port 8444)" all_lanes
