#!/usr/bin/env bash
# HTTP CONNECT tunnels that fail, through two forward proxies on one namespace's loopback, both legs
# captured: Squid 5.7 on 127.0.0.2:3128 (connect_timeout 3 seconds, read_timeout 4 seconds; CONNECT to
# blocked.test denied by an ACL) and tinyproxy 1.11 on 127.0.0.2:8888 (Timeout 3; ConnectPort 443, 8444
# and 8445 only), both connecting from 127.0.0.2 to 127.0.0.3, where nginx 1.22 serves TLS on :443
# (self-signed certificate made by openssl at record time), nothing listens on :8444, and an nftables
# rule drops every SYN to :8445. Clients on 127.0.0.1: curl 7.88 (-p), python requests 2.28 (urllib3
# 1.26), Node's https.Agent over CONNECT (x28c-node-tunnel.js) and a raw tunnel client
# (x28c-clients.py raw: CONNECT, TLS, then requests written without checking the connection first).
#   (a) CONNECT target.test:8444: the target refuses the proxy's connect (RST); Squid answers 503
#       (ERR_CONNECT_FAIL errno 111) and tinyproxy 500 "Unable to connect" at once.
#   (b) CONNECT target.test:8445: the proxy's SYNs go unanswered; Squid gives up at connect_timeout,
#       checked on its whole-second clock (503, ERR_CONNECT_FAIL errno 110), tinyproxy at Timeout (500).
#   (c) CONNECT blocked.test:443 (Squid: http_access deny CONNECT blocked) and target.test:8446
#       (tinyproxy: no ConnectPort for it): 403 at once, no target connection.
#   (d) tunnels left idle past the proxy's idle timeout for tunnels (Squid: read_timeout, tinyproxy:
#       Timeout): the proxy closes both legs; python requests and Node see the FIN, drop the pooled
#       tunnel and open a new one; the raw client writes its next request into the closed tunnel and
#       gets the proxy kernel's RST.
# Ground truth: Squid's access log (with the local port of each target connection), tinyproxy's log,
# nginx's access log and the clients' logs, checked against the capture by programs/x28c-meta.py, which
# writes samples/connect-tunnel-failures.pcap and .meta.json only when they agree (the recording is
# redone, at most 3 times, otherwise).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x28c-lib.sh"
cc_require squid tinyproxy nginx openssl node curl /usr/bin/python3 nft tcpdump tshark ip

SCENARIO=connect-tunnel-failures
CONNECT_TIMEOUT=3
READ_TIMEOUT=4
TINY_TIMEOUT=3
x28c_stage ccx28c-fail
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X28C_PROGRAMS"
LOG="$WORK/clients.log"
SQUID=http://127.0.0.2:3128
TINY=http://127.0.0.2:8888
x28c_cert
x28c_nginx_targets
x28c_squid_conf "$WORK/squid.conf" "connect_timeout $CONNECT_TIMEOUT seconds" "read_timeout $READ_TIMEOUT seconds"
ccb_drop_syns "$CC_NS" ccx28c_drop 8445

requests_client() { # NAME PROXY STEP...
  local name="$1" proxy="$2"; shift 2
  cc_in /usr/bin/python3 "$P/x28c-clients.py" requests --proxy "$proxy" --log "$LOG" --name "$name" "$@"
}
raw_client() { # NAME PROXY(host:port) STEP...
  local name="$1" proxy="$2"; shift 2
  cc_in /usr/bin/python3 "$P/x28c-clients.py" raw --proxy "$proxy" --log "$LOG" --name "$name" "$@"
}
node_client() { # NAME PROXY(host:port) TARGET PLAN
  cc_in node "$P/x28c-node-tunnel.js" --name "$1" --proxy "$2" --target "$3" --plan "$4" --log "$LOG"
}

for attempt in 1 2 3; do
  # nginx keeps its log open: emptied, not removed.
  rm -f "$LOG" "$WORK/curl.log" "$WORK/curl.err" "$WORK/tinyproxy.log" "$OUT" "$WORK/squid/access.log" "$WORK/squid/cache.log"
  : >"$WORK/nginx-access.log"
  x28c_squid_start "$WORK/squid.conf"
  x28c_tinyproxy_start "$TINY_TIMEOUT" "ConnectPort 443" "ConnectPort 8444" "ConnectPort 8445"
  sleep 0.5
  cc_capture_start "$OUT" "tcp"
  # A tunnel that works, for contrast.
  x28c_curl curl-ok -p -x "$SQUID" https://target.test/get?i=ok
  # (a) the target refuses the proxy's connect.
  x28c_curl curl-refused-squid -p -x "$SQUID" https://target.test:8444/get?i=a1
  requests_client requests-refused-squid "$SQUID" get:https://target.test:8444/get?i=a2
  node_client node-refused-squid 127.0.0.2:3128 target.test:8444 get:/get?i=a3
  x28c_curl curl-refused-tinyproxy -p -x "$TINY" https://target.test:8444/get?i=a4
  sleep 0.3
  # (c) denied by the proxy's rules.
  x28c_curl curl-denied-squid -p -x "$SQUID" https://blocked.test/get?i=c1
  node_client node-denied-squid 127.0.0.2:3128 blocked.test:443 get:/get?i=c2
  requests_client requests-denied-squid "$SQUID" get:https://blocked.test/get?i=c3
  x28c_curl curl-denied-tinyproxy -p -x "$TINY" https://target.test:8446/get?i=c4
  sleep 0.3
  # (b) the target's SYNs are dropped: three at once (0.3 s apart) and two alone through Squid, two at
  # once and one alone through tinyproxy.
  W=()
  for i in 1 2 3; do x28c_curl "curl-dropped-squid-$i" -p -x "$SQUID" "https://target.test:8445/get?i=b$i" & W+=("$!"); sleep 0.3; done
  wait "${W[@]}"
  requests_client requests-dropped-squid "$SQUID" get:https://target.test:8445/get?i=b4
  node_client node-dropped-squid 127.0.0.2:3128 target.test:8445 get:/get?i=b5
  W=()
  for i in 6 7; do x28c_curl "curl-dropped-tinyproxy-$i" -p -x "$TINY" "https://target.test:8445/get?i=b$i" & W+=("$!"); sleep 0.3; done
  wait "${W[@]}"
  requests_client requests-dropped-tinyproxy "$TINY" get:https://target.test:8445/get?i=b8
  # (d) tunnels held idle past the proxies' idle timeouts (Squid read_timeout 4 s on a whole-second
  # clock: closed 3.9-5.9 s idle in the trial recordings; tinyproxy Timeout 3 s), then used again 7.5-8 s (Squid)
  # and 5 s (tinyproxy) after their last response.
  W=()
  raw_client raw-idle-squid-1 127.0.0.2:3128 connect:target.test:443 get:/get?i=d1 sleep:8 get:/get?i=d1b close & W+=("$!")
  sleep 0.2
  raw_client raw-idle-squid-2 127.0.0.2:3128 connect:target.test:443 get:/get?i=d2 sleep:7.5 get:/get?i=d2b close & W+=("$!")
  sleep 0.2
  requests_client requests-idle-squid "$SQUID" get:https://target.test/get?i=d3 sleep:8 get:https://target.test/get?i=d3b & W+=("$!")
  sleep 0.2
  node_client node-idle-squid 127.0.0.2:3128 target.test:443 get:/get?i=d4,sleep:7.5,get:/get?i=d4b & W+=("$!")
  sleep 0.2
  raw_client raw-idle-tinyproxy 127.0.0.2:8888 connect:target.test:443 get:/get?i=d5 sleep:5 get:/get?i=d5b close & W+=("$!")
  sleep 0.2
  requests_client requests-idle-tinyproxy "$TINY" get:https://target.test/get?i=d6 sleep:5 get:https://target.test/get?i=d6b & W+=("$!")
  wait "${W[@]}"
  cc_capture_stop
  x28c_proxy_stop "$X28C_TINYPROXY_PID"
  x28c_squid_stop
  cat "$WORK/curl.err" 2>/dev/null || true
  # X28C_KEEP=DIR keeps the work directory (logs, capture) for a look at a refused recording.
  [ -n "${X28C_KEEP:-}" ] && { rm -rf "$X28C_KEEP"; cp -r "$WORK" "$X28C_KEEP"; }
  if python3 "$P/x28c-meta.py" failures --scenario "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
      --description "HTTP CONNECT tunnels that fail, through two forward proxies on one namespace's loopback, both legs captured: Squid 5.7 (Debian squid) on 127.0.0.2:3128 with connect_timeout $CONNECT_TIMEOUT seconds and read_timeout $READ_TIMEOUT seconds (CONNECT to blocked.test denied by an ACL), and tinyproxy 1.11.1 on 127.0.0.2:8888 with Timeout $TINY_TIMEOUT (ConnectPort 443, 8444 and 8445 only), both connecting from 127.0.0.2 to 127.0.0.3, where nginx 1.22 serves TLS on :443 (a self-signed certificate for target.test made by openssl at record time), nothing listens on :8444 and an nftables rule drops every SYN to :8445. Clients on 127.0.0.1: curl 7.88 -p, python requests 2.28 (urllib3 1.26), Node's https.Agent over CONNECT, and a raw tunnel client (python socket + ssl) that writes its requests without checking the connection first. After one working tunnel: (a) CONNECT target.test:8444: the target answers the proxy's SYN with RST, Squid answers 503 (ERR_CONNECT_FAIL, errno 111) and tinyproxy 500 Unable to connect within 2 ms; (c) CONNECT blocked.test:443 through Squid and target.test:8446 through tinyproxy: 403 at once, no target connection; (b) CONNECT target.test:8445, three at once and two alone through Squid, two at once and one alone through tinyproxy: the proxy's SYN is retransmitted by its kernel and never answered; Squid gives up at connect_timeout as checked on its whole-second clock (503, ERR_CONNECT_FAIL errno 110: waits in observed.squidConnectTimeoutWaits, 2.5-4.9 s over the trial recordings), tinyproxy at Timeout (500, 3.0-3.1 s); (d) tunnels used once, then held idle: the proxy closes both legs of an idle tunnel (Squid's read_timeout applies to tunnels: closed 3.9-5.9 s after the tunnel's last byte over the trial recordings; tinyproxy's Timeout: 3.00 s; observed.*TunnelIdleCloses), then used again 7.5-8 s (Squid) or 5 s (tinyproxy) after their last response; python requests and Node see the FIN, drop the tunnel from their pools and open a new one (no error), (Node answers the FIN with its TLS close_notify alert, which the proxy's kernel resets, and loses nothing), while the raw client writes its next request into the closed tunnel 0.1-3 s after the proxy's FIN and the proxy's kernel answers RST (the client sees the connection closed: a failed request). conncheck must report connection-refused on the proxies' refused target connections (not a timeout on the clients' 5xx: they came at once), gateway-timeout on each client connection whose CONNECT waited for an unanswered connect and syn-unanswered on the proxy's connection, nothing for the 403s, the working tunnels and the idle closes the clients noticed, and tunnel-idle-timeout (an error) on each tunnel the raw client wrote into after the proxy's FIN: a stale reuse of the tunnel, the keep-alive race one layer down." \
      --configured-notes "squid.conf: connect_timeout $CONNECT_TIMEOUT seconds (default 1 minute), read_timeout $READ_TIMEOUT seconds (default 15 minutes; for a tunnel it is the idle time allowed on either side), http_port 127.0.0.2:3128, tcp_outgoing_address 127.0.0.2, hosts_file naming target.test and blocked.test 127.0.0.3, http_access deny CONNECT blocked, cache deny all. Squid checks its timeouts against a clock of whole seconds once a second, so its connect timeouts ended 2.5-4.9 s after the CONNECT and its idle closes 3.9-5.9 s after the tunnel's last byte over the trial recordings. tinyproxy.conf: Timeout $TINY_TIMEOUT (Debian ships 600), Bind 127.0.0.2, ConnectPort 443/8444/8445: tinyproxy has no connect timeout of its own, its blocking connect() ends at the socket's send timeout, which is Timeout, and its relay of a tunnel ends after Timeout seconds without a byte either way ('Idle Timeout (after poll)'). The proxies' connect timeouts are left out of configured (proxyConnectTimeout, the name conncheck infers them under): conncheck infers tinyproxy's from two or three waits of 3.05-3.3 s, more than 2 % from the setting, and, in some recordings, a value for Squid's from waits its whole-second clock spreads over 2.5-4.9 s (3.77 s named in a trial recording for a setting of 3 s); the waits measured are in observed.squidConnectTimeoutWaits and observed.tinyproxyConnectTimeoutWaits." \
      --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "$(tinyproxy -v 2>&1 | head -1)" \
        "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" "$(openssl version | cut -d' ' -f1-2)" \
        "$(curl --version | head -1 | cut -d' ' -f1-2)" \
        "$(/usr/bin/python3 -c 'import requests, urllib3; print(f"python requests {requests.__version__} (urllib3 {urllib3.__version__})")')" \
        "python $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])') socket + ssl (programs/x28c-clients.py raw)" \
        "node $(node -v) https.Agent over CONNECT (programs/x28c-node-tunnel.js)" "nftables SYN drop rule"; then
    break
  fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
