#!/usr/bin/env bash
# unanswered-request-tls-client-timeouts: HTTPS requests that are never answered, given up by the clients at
# their own timers. On one namespace's loopback (ccx32u): a Python stdlib backend on 127.0.0.3:9001
# (programs/x32-backend.py: /ok answers at once; /slow reads the request and never answers, holding the
# connection up to 20 s and logging when its peer went away) and nginx 1.22 (Debian, OpenSSL 3.0) in front
# of it with two TLS listeners (a throwaway self-signed ECDSA certificate made here by openssl; no http2):
#   127.0.0.2:8443  TLS 1.3 (ssl_protocols TLSv1.2 TLSv1.3: 1.22's default lacks 1.3; session tickets on, the default: nginx sends its
#                   NewSessionTicket records right after the handshake, encrypted, i.e. as application data)
#   127.0.0.2:9443  TLS 1.2 only (ssl_protocols TLSv1.2)
# both proxying everything to the backend (HTTP/1.1, proxy_read_timeout 60s: nginx never cuts first; a JSON
# access log with $remote_port, $status, $request_time, $ssl_protocol, $ssl_alpn_protocol, $http_user_agent).
# Five client lanes from 127.0.0.1, at once; every URL carries c=LANE and a unique id:
#   a. curl 7.88 --http1.1 --max-time 2 -k to 8443 (TLS 1.3, ALPN offered: http/1.1): one /ok, then 4 /slow,
#      each on a fresh connection (one curl per request); exit 28 at 2 s;
#   b. Python requests 2.28 (programs/x32-requests-client.py) timeout=(1, 1.5), verify=False, to 8443 (TLS 1.3,
#      ALPN http/1.1): 4 sessions, each GET /ok, then GET /slow on the same connection: ReadTimeout at 1.5 s;
#   c. Node 20 https (programs/x32-node-client.js) with https.Agent({keepAlive: true}), timeout: 2500 and
#      req.destroy() on 'timeout', to 9443 (TLS 1.2, no ALPN): 4 /slow, two on fresh connections, two on a
#      connection reused after an answered /ok;
#   d. curl --max-time 3 -k (no --http1.1: ALPN h2 and http/1.1 offered; nginx picks http/1.1, visible in the
#      clear ServerHello) to 9443 (TLS 1.2): one /ok, then 3 /slow on fresh connections;
#   e. the same curl --max-time 3 to 8443 (TLS 1.3, h2 offered; the server's choice is encrypted): one /ok,
#      then 3 /slow on fresh connections (expected as unanswered-request: a reader of the capture cannot tell
#      HTTP/1.1 from HTTP/2 here, but each is its connection's first request, answered by neither: an HTTP/2
#      server would have sent its SETTINGS at once).
# tcpdump captures the client side only (tcp to 127.0.0.2 ports 8443 and 9443). The clients write their TLS
# secrets to a key log in the scratch folder (SSLKEYLOGFILE, node --tls-keylog) that programs/x32-meta.py
# uses to decrypt the capture while it checks it; the key log and the key are never committed. Ground truth:
# the clients' logs (local port, id, elapsed, the error: curl's exit code and -w %{json}, requests' exception,
# Node's), nginx's access log (499, $request_time ~ the timer) and the backend's log. x32-meta.py checks
# that every abandoned request's connection shows the request record, no server application data after it
# other than TLS 1.3 session tickets, and the client's close at its timer, then writes
# samples/unanswered-request-tls-client-timeouts.pcap and .meta.json, or refuses (at most 3 attempts).
# One attempt takes ~25 s. Rerun: sudo bash samples/record/unanswered-request-tls-client-timeouts.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x32-lib.sh"
cc_require nginx node curl openssl tcpdump tshark ip /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=unanswered-request-tls-client-timeouts
cc_netns_up "${X32U_NETNS:-ccx32u}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X32_PROGRAMS"
x32_addresses
x32_cert
x32_nginx_conf 15s
x32_software

T13=https://127.0.0.2:8443
T12=https://127.0.0.2:9443

curl13_lane() {   # a
  x32_curl curl13 --http1.1 --max-time 2 -o /dev/null "$T13/ok?c=curl13&id=a1"
  local i
  for i in 2 3 4 5; do x32_curl curl13 --http1.1 --max-time 2 -o /dev/null "$T13/slow?c=curl13&id=a$i"; done
}
requests_lane() {   # b
  x32_requests --tag requests --plan '[
    {"urls":["'$T13'/ok?c=requests&id=b1","'$T13'/slow?c=requests&id=b2"],"timeout":[1,1.5]},
    {"urls":["'$T13'/ok?c=requests&id=b3","'$T13'/slow?c=requests&id=b4"],"timeout":[1,1.5]},
    {"urls":["'$T13'/ok?c=requests&id=b5","'$T13'/slow?c=requests&id=b6"],"timeout":[1,1.5]},
    {"urls":["'$T13'/ok?c=requests&id=b7","'$T13'/slow?c=requests&id=b8"],"timeout":[1,1.5]}]'
}
node_lane() {   # c
  x32_node --tag node --mode https --plan '[
    {"requests":[{"url":"'$T12'/ok?c=node&id=c1","timeoutMs":2500},{"url":"'$T12'/slow?c=node&id=c2","timeoutMs":2500}]},
    {"requests":[{"url":"'$T12'/slow?c=node&id=c3","timeoutMs":2500}]},
    {"requests":[{"url":"'$T12'/ok?c=node&id=c4","timeoutMs":2500},{"url":"'$T12'/slow?c=node&id=c5","timeoutMs":2500}]},
    {"requests":[{"url":"'$T12'/slow?c=node&id=c6","timeoutMs":2500}]}]'
}
curl12alpn_lane() {   # d
  x32_curl curl12alpn --max-time 3 -o /dev/null "$T12/ok?c=curl12alpn&id=d1"
  local i
  for i in 2 3 4; do x32_curl curl12alpn --max-time 3 -o /dev/null "$T12/slow?c=curl12alpn&id=d$i"; done
}
curl13alpn_lane() {   # e
  x32_curl curl13alpn --max-time 3 -o /dev/null "$T13/ok?c=curl13alpn&id=e1"
  local i
  for i in 2 3 4; do x32_curl curl13alpn --max-time 3 -o /dev/null "$T13/slow?c=curl13alpn&id=e$i"; done
}

all_lanes() {
  LANES=()
  (curl13_lane; curl12alpn_lane) & LANES+=("$!")
  (sleep 0.3; requests_lane; curl13alpn_lane) & LANES+=("$!")
  (sleep 0.6; node_lane) & LANES+=("$!")
  wait "${LANES[@]}" || true
  sleep 1
}

x32_record unanswered "tcp and host 127.0.0.2 and (port 8443 or port 9443)" all_lanes
