#!/usr/bin/env bash
# reset-before-response-tls-killed: an HTTPS server process that dies (SIGKILL) with requests it had not read.
# On one namespace's loopback (ccx33k): programs/x33-tls-server.py, a Python 3.11 stdlib server (ssl + socket,
# a thread per connection; Debian's OpenSSL 3.0; a throwaway self-signed ECDSA certificate made here by openssl;
# ALPN http/1.1 selected when offered; session tickets at OpenSSL's default: two TLS 1.3 NewSessionTicket records
# right after the handshake) with two listeners in one process:
#   127.0.0.2:8443  TLS 1.2-1.3 (1.3 negotiated)
#   127.0.0.2:9443  TLS 1.2 only
# It serves HTTP/1.1 keep-alive: /ok is answered at once (Content-Length, keep-alive); after answering a request
# with then=hang in its query, the connection's thread sleeps 30 s before reading the next request, which sits
# unread in the socket's receive buffer; a fresh connection from a local port in 20001-20009 (curl --local-port)
# gets its handshake completed and then the thread sleeps 30 s before reading anything.
# Clients from 127.0.0.1 (every URL carries c=LANE and a unique id):
#   healthy  before anything else: curl 7.88 --http1.1 -k /ok to 8443, Python requests /ok to 8443, Node /ok to
#            9443, each one request on its own connection, closed by the client (expected "kind": null);
#   then at once, each connection asking GET /ok?then=hang (answered), then its next request on the same
#   connection (never read), waiting up to 30 s:
#   requests Python requests 2.28 Session (programs/x32-requests-client.py; verify=False, ALPN http/1.1,
#            timeout=(5, 30)) to 8443 (TLS 1.3): 3 connections, one process each;
#   node     Node 20 https.Agent({keepAlive: true}) (programs/x32-node-client.js; no ALPN, timeout 30000) to 9443
#            (TLS 1.2): 3 connections, one process each;
#   curl     curl --http1.1 -k --max-time 30 with two URLs on one connection, to 8443 (TLS 1.3): 2 connections;
#   fresh    curl --http1.1 -k --max-time 30 --local-port 20001 / 20002, one URL, to 8443 (TLS 1.3): the first
#            request is never read (the server's two session tickets follow the handshake).
# Once the ten waiting requests sit in the server sockets' receive queues (ss, bounded 10 s) and 1.5 s more
# have passed, the server process gets SIGKILL (by its PID): its kernel resets every connection whose socket
# held unread data (no FIN, no close_notify). What the clients make of it: Node ECONNRESET; curl exit 56 on the
# fresh connections, but on the reused ones curl retries the request once on a fresh connect, which is refused
# (the listener died too: SYN answered by RST, expected "kind": "connection-refused"), so exit 7 with the reset's
# message (-v --trace-time output kept to tell which retry is whose); requests (Python 3.11 ssl, OpenSSL 3.0)
# sees the RST as an EOF: ConnectionError RemoteDisconnected. 1 s later a new server process (the same
# program) takes over both ports and curl fetches /ok from each (expected "kind": null). tcpdump captures tcp to
# 127.0.0.2 ports 8443 and 9443.
# TLS secrets: the server's (keylog_filename) and the clients' (SSLKEYLOGFILE, node --tls-keylog) key logs, in
# the scratch folder only (never committed), which programs/x33-meta.py uses to decrypt the capture while it
# checks every reset connection against the programs' logs (the server's log, the clients' logs, ss before the
# kill, the kill time): a server RST with no FIN and no close_notify before it, the unread request's record
# before the RST, no server application data after it (bar TLS 1.3 session tickets), the RSTs within a few ms
# of each other; then it writes samples/reset-before-response-tls-killed.pcap and .meta.json, or refuses (at
# most 3 attempts). One attempt takes ~15 s. Rerun: sudo bash samples/record/reset-before-response-tls-killed.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x32-lib.sh"
cc_require node curl openssl tcpdump tshark ip ss timeout /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=reset-before-response-tls-killed
cc_netns_up "${X33_NETNS:-ccx33k}"
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X32_PROGRAMS"
x32_addresses
x32_cert

T13=https://127.0.0.2:8443
T12=https://127.0.0.2:9443
HANG_S=30
WAITING=10   # requests left unread: 3 requests + 3 node + 2 curl + 2 fresh

SOFTWARE=(
  "Python $(/usr/bin/python3 -c 'import sys, ssl; print(sys.version.split()[0], "ssl + socket + threading,", ssl.OPENSSL_VERSION)') (programs/x33-tls-server.py: TLS 1.3 on 127.0.0.2:8443, TLS 1.2 only on 127.0.0.2:9443, one process; a connection's thread sleeps ${HANG_S} s before reading the next request after then=hang, or before the first one on a fresh connection from local ports 20001-20009)"
  "$(curl --version | head -1 | cut -d' ' -f1-2) ($(curl --version | head -1 | grep -o 'OpenSSL/[^ ]*'); --http1.1 -k --max-time 30)"
  "node $(node -v) https ($(node -p '"OpenSSL " + process.versions.openssl'); programs/x32-node-client.js: https.Agent({keepAlive: true, maxSockets: 1}), timeout 30000, no ALPN, no User-Agent header)"
  "$(/usr/bin/python3 -c 'import sys, ssl, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__} ({ssl.OPENSSL_VERSION})")') (Debian python3-requests; programs/x32-requests-client.py: Session, verify=False, timeout=(5, 30))"
  "Linux $(uname -r) (the kernel's close of a socket with unread data: RST)"
)

start_server() {   # LOGNAME
  cc_bg /usr/bin/python3 "$P/x33-tls-server.py" --listen 127.0.0.2:8443:1.3 --listen 127.0.0.2:9443:1.2 \
    --cert "$WORK/cert.pem" --key "$WORK/key.pem" --keylog "$WORK/keys-server.log" --log "$WORK/$1.log" \
    --hang "$HANG_S" --hang-fresh-ports 20001-20009 --max-seconds 90 2>>"$WORK/$1.err"
  SERVER_PID="$CC_LAST_PID"
  cc_wait_port 8443
  cc_wait_port 9443
}

healthy_lane() {
  x32_curl healthy --http1.1 -o /dev/null "$T13/ok?c=healthy&id=h1"
  x32_requests --tag healthy --plan '[{"urls":["'$T13'/ok?c=healthy&id=h2"],"timeout":[5,5]}]'
  x32_node --tag healthy --mode https --plan '[{"requests":[{"url":"'$T12'/ok?c=healthy&id=h3","timeoutMs":5000}]}]'
}

waiting_lanes() {   # background; their PIDs in LANES
  LANES=()
  local i
  for i in 1 2 3; do
    x32_requests --tag requests --plan '[{"urls":["'$T13'/ok?then=hang&c=requests&id=r'$i'a","'$T13'/next?c=requests&id=r'$i'b"],"timeout":[5,30]}]' &
    LANES+=("$!")
    x32_node --tag node --mode https --plan '[{"requests":[{"url":"'$T12'/ok?then=hang&c=node&id=n'$i'a","timeoutMs":30000},{"url":"'$T12'/next?c=node&id=n'$i'b","timeoutMs":30000}]}]' &
    LANES+=("$!")
  done
  for i in 1 2; do
    x32_curl curl --http1.1 --max-time 30 -v --trace-time --stderr "$WORK/curl-c$i.verbose" -o /dev/null "$T13/ok?then=hang&c=curl&id=c${i}a" \
      -o /dev/null "$T13/next?c=curl&id=c${i}b" &
    LANES+=("$!")
    x32_curl fresh --http1.1 --max-time 30 -v --trace-time --stderr "$WORK/curl-f$i.verbose" --local-port "2000$i" -o /dev/null "$T13/ok?c=fresh&id=f$i" &
    LANES+=("$!")
  done
}

# unread: how many server-side sockets on 8443/9443 hold unread bytes (Recv-Q > 0)
unread() {
  cc_in ss -Htn state established '( sport = :8443 or sport = :9443 )' | awk '$1 > 0' | wc -l
}

for attempt in 1 2 3; do
  rm -f "$WORK"/*.log "$WORK"/*.err "$WORK"/*.txt "$WORK"/*.verbose "$OUT"
  cc_capture_start "$OUT" "tcp and host 127.0.0.2 and (port 8443 or port 9443)"
  start_server server1
  healthy_lane
  sleep 0.3
  waiting_lanes
  for i in $(seq 1 100); do
    [ "$(unread)" -ge "$WAITING" ] && break
    sleep 0.1
  done
  echo "record: $(unread) sockets with unread requests" >&2
  sleep 1.5
  cc_in ss -Htnoi state established '( sport = :8443 or sport = :9443 )' >"$WORK/ss-before-kill.txt"
  date +%s.%N >"$WORK/kill-time.txt"
  kill -KILL "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  echo "$SERVER_PID" >"$WORK/killed-pid.txt"
  wait "${LANES[@]}" || true
  sleep 1
  date +%s.%N >"$WORK/restart-time.txt"
  start_server server2
  x32_curl restart --http1.1 -o /dev/null "$T13/ok?c=restart&id=s1" -o /dev/null "$T12/ok?c=restart&id=s2"
  sleep 0.3
  ccb_stop "$SERVER_PID"
  cc_capture_stop
  CC_PIDS=()
  cat "$WORK"/keys*.log >"$WORK/keys-all.txt" 2>/dev/null || true
  if [ -n "${X33_DEBUG_DIR:-}" ]; then
    mkdir -p "$X33_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK"/*.err "$WORK"/*.txt "$WORK"/*.verbose "$X33_DEBUG_DIR/$attempt/" 2>/dev/null || true
  fi
  if /usr/bin/python3 "$P/x33-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --software "${SOFTWARE[@]}"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
