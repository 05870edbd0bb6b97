#!/usr/bin/env bash
# Healthy HTTP CONNECT tunnels through two forward proxies, both legs captured on one namespace's
# loopback: Squid 5.7 on 127.0.0.2:3128 (and :3129, the same Squid asking for Basic proxy
# authentication) and tinyproxy 1.11 on 127.0.0.2:8888, each connecting from 127.0.0.2 to nginx 1.22 on
# 127.0.0.3 (TLS on :443 with a self-signed certificate for target.test made by openssl at record time,
# plain HTTP on :80; keepalive_timeout 60s). Clients on 127.0.0.1: curl 7.88 (-p: a tunnel, several URLs
# on one; -x without -p: absolute-form GET http://target.test/... on a kept-alive proxy connection; -p to
# port 80: plain HTTP inside a tunnel; --proxy-anyauth: CONNECT answered 407, then CONNECT with
# credentials and 200 on the same connection), python requests (CONNECT ... HTTP/1.0, TLS inside,
# kept-alive tunnels idle 1-7 s between requests, plain requests through the same proxy) and Node's
# https.Agent over CONNECT (x28c-node-tunnel.js). Ground truth: Squid's access log, tinyproxy's log,
# nginx's access log and the clients' logs, checked against the capture by programs/x28c-meta.py, which
# writes samples/connect-tunnel-healthy.pcap and .meta.json only when they agree (silent: conncheck must
# report nothing).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/programs/x28c-lib.sh"
cc_require squid tinyproxy nginx openssl node curl /usr/bin/python3 tcpdump tshark ip

SCENARIO=connect-tunnel-healthy
x28c_stage ccx28c-ok
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
P="$X28C_PROGRAMS"
LOG="$WORK/clients.log"
SQUID=http://127.0.0.2:3128
TINY=http://127.0.0.2:8888
x28c_cert
x28c_nginx_targets
x28c_squid_conf "$WORK/squid.conf"
x28c_squid_start "$WORK/squid.conf"
x28c_tinyproxy_start 600
sleep 0.5
cc_capture_start "$OUT" "tcp"
# The long-running clients, at once: python requests and Node, each through each proxy.
cc_in /usr/bin/python3 "$P/x28c-clients.py" requests --proxy "$SQUID" --log "$LOG" --name requests-squid \
  get:https://target.test/get?i=r1a sleep:1.5 get:https://target.test/big sleep:4 post:https://target.test/post \
  get:http://target.test/get?i=r1b sleep:2 get:http://target.test/big sleep:5 get:https://target.test/get?i=r1c close &
R1=$!
cc_in /usr/bin/python3 "$P/x28c-clients.py" requests --proxy "$TINY" --log "$LOG" --name requests-tinyproxy \
  get:https://target.test/get?i=r2a sleep:1.5 get:https://target.test/big get:http://target.test/get?i=r2b sleep:1 \
  get:http://target.test/big sleep:2 get:https://target.test/get?i=r2c close &
R2=$!
cc_in /usr/bin/python3 "$P/x28c-clients.py" requests --proxy http://alice:secret@127.0.0.2:3129 --log "$LOG" \
  --name requests-squid-auth get:https://target.test/get?i=r3a sleep:1 get:https://target.test/get?i=r3b \
  get:http://target.test/get?i=r3c close &
R3=$!
cc_in node "$P/x28c-node-tunnel.js" --proxy 127.0.0.2:3128 --target target.test:443 --log "$LOG" --name node-squid \
  --plan get:/get?i=n1a,sleep:2,post:/post,get:/big,sleep:4,get:/get?i=n1b &
N1=$!
cc_in node "$P/x28c-node-tunnel.js" --proxy 127.0.0.2:8888 --target target.test:443 --log "$LOG" --name node-tinyproxy \
  --plan get:/get?i=n2a,sleep:1.5,post:/post &
N2=$!
# curl, one after the other meanwhile.
sleep 0.3
x28c_curl curl-squid-tunnel -p -x "$SQUID" https://target.test/get?i=c1a https://target.test/big https://target.test/get?i=c1b
sleep 0.5
x28c_curl curl-squid-plain -x "$SQUID" http://target.test/get?i=c2a http://target.test/big
sleep 0.5
x28c_curl curl-squid-tunnel-plain -p -x "$SQUID" http://target.test/get?i=c3a http://target.test/get?i=c3b
sleep 0.5
x28c_curl curl-squid-auth -p -x http://127.0.0.2:3129 --proxy-anyauth -U alice:secret \
  https://target.test/get?i=c4a https://target.test/get?i=c4b
sleep 0.5
x28c_curl curl-tinyproxy-tunnel -p -x "$TINY" https://target.test/get?i=c5a https://target.test/big
sleep 0.5
x28c_curl curl-tinyproxy-plain -x "$TINY" http://target.test/get?i=c6a http://target.test/get?i=c6b
wait "$R1" "$R2" "$R3" "$N1" "$N2" || true
cc_capture_stop
x28c_proxy_stop "$X28C_TINYPROXY_PID"
x28c_squid_stop
cat "$WORK/curl.log"
cat "$WORK/curl.err" 2>/dev/null || true
# X28C_KEEP=DIR keeps the work directory (logs, capture) for a look at a refused recording.
[ -n "${X28C_KEEP:-}" ] && { rm -rf "$X28C_KEEP"; cp -r "$WORK" "$X28C_KEEP"; }
DESCRIPTION="Healthy HTTP CONNECT tunnels through two forward proxies on one namespace's loopback, both legs captured: Squid 5.7 (Debian squid) on 127.0.0.2:3128, and on 127.0.0.2:3129 the same Squid asking for Basic proxy authentication (basic_ncsa_auth), and tinyproxy 1.11.1 on 127.0.0.2:8888 (Timeout 600, as Debian ships it), both connecting to the targets from 127.0.0.2; the targets are nginx 1.22 on 127.0.0.3, TLS on :443 (a self-signed certificate for target.test made by openssl at record time) and plain HTTP on :80 (keepalive_timeout 60s). Clients on 127.0.0.1 ask for target.test by name (each proxy resolves it from a hosts file): curl 7.88 with -p (CONNECT target.test:443, then several HTTPS requests on one tunnel), with -x alone (absolute-form GET http://target.test/... on one kept-alive proxy connection), with -p to port 80 (CONNECT target.test:80, plain HTTP inside the tunnel), and with --proxy-anyauth on :3129 (CONNECT answered 407 Proxy Authentication Required, then CONNECT with credentials answered 200 on the same connection); python requests 2.28 (urllib3 1.26: CONNECT ... HTTP/1.0, TLS inside, the tunnel kept in its pool and reused after 1-7 s idle, plain requests through the same proxy on kept-alive connections, and on :3129 Proxy-Authorization sent at once); Node's https.Agent (keepAlive) over CONNECT, tunnels reused after 1.5-4 s idle. Every tunnel is closed by its client (TLS close_notify, FIN) or at the client's end; no proxy timeout is near. The bytes after each 200 are TLS (or, in curl's port-80 tunnel, HTTP the proxy does not read): conncheck must take the connection as a tunnel from the 200 on, pair every CONNECT with its answer (200, 407), and report nothing."
python3 "$P/x28c-meta.py" healthy --scenario "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" \
  --description "$DESCRIPTION" \
  --software "$(squid -v | head -1 | sed 's/ Cache: Version//')" "$(tinyproxy -v 2>&1 | head -1)" \
    "nginx/$(nginx -v 2>&1 | sed 's/.*nginx\///') (Debian)" "$(openssl version | cut -d' ' -f1-2)" \
    "$(curl --version | head -1 | cut -d' ' -f1-2)" \
    "$(/usr/bin/python3 -c 'import requests, urllib3; print(f"python requests {requests.__version__} (urllib3 {urllib3.__version__})")')" \
    "node $(node -v) https.Agent over CONNECT (programs/x28c-node-tunnel.js)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
