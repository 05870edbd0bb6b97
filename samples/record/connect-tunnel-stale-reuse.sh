#!/usr/bin/env bash
# A CONNECT tunnel reused after its proxy closed it idle (blind round 15, s12b): a small Go CONNECT
# proxy (programs/x15c-connect-proxy.go, built at record time) on 127.0.0.2:3128 whose tunnels close
# after 3 s without a byte either way (both legs, FIN), connecting from 127.0.0.2 to a keep-alive
# HTTP/1.1 target on 127.0.0.3:9005 (programs/x15c-target.py, no idle timeout of its own). Two
# clients on 127.0.0.1 (programs/x15c-tunnel-client.py) each open a tunnel, send GET /a in clear
# inside it, wait, and send GET /b on the same tunnel without checking it first: one after 1.5 s
# (answered: the near miss), one after 5 s, 2 s after the proxy's FIN: the proxy's kernel answers
# RST and the client gets no response. One namespace, its own loopback, both legs captured.
# Writes samples/connect-tunnel-stale-reuse.pcap and .meta.json (only when programs/x15c-meta.py
# finds the capture and the three programs' logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require go /usr/bin/python3 tcpdump tshark ip ss

SCENARIO=connect-tunnel-stale-reuse
IDLE=3
P="$CC_RECORD_DIR/programs"
WORK="$(mktemp -d)"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off go build -o "$WORK/connect-proxy" "$P/x15c-connect-proxy.go")
cc_netns_up ccx15c
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_bg /usr/bin/python3 "$P/x15c-target.py" 127.0.0.3 9005 "$WORK/target.log"
cc_wait_port 9005
cc_bg "$WORK/connect-proxy" 127.0.0.2:3128 127.0.0.2 "$IDLE" 2>"$WORK/proxy.log"
cc_wait_port 3128
: >"$WORK/clients.log"
cc_capture_start "$OUT" "tcp port 3128 or tcp port 9005"
cc_in /usr/bin/python3 "$P/x15c-tunnel-client.py" 127.0.0.2 3128 127.0.0.3:9005 1.5 reuse-within "$WORK/clients.log"
sleep 0.3
cc_in /usr/bin/python3 "$P/x15c-tunnel-client.py" 127.0.0.2 3128 127.0.0.3:9005 5 reuse-after-close "$WORK/clients.log"
cc_capture_stop
cat "$WORK/proxy.log" "$WORK/clients.log"
DESCRIPTION="A CONNECT tunnel reused after its forward proxy closed it idle, both legs captured on one namespace's loopback: a small Go CONNECT proxy (x15c-connect-proxy.go, Go $(go version | cut -d' ' -f3 | sed 's/^go//')) on 127.0.0.2:3128 closes a tunnel after $IDLE s without a byte in either direction (both legs, FIN; its log says 'tunnel closing: idle timeout'), connecting from 127.0.0.2 to an HTTP/1.1 keep-alive target on 127.0.0.3:9005 (python http.server, no idle timeout of its own). Two raw-socket clients on 127.0.0.1 each send CONNECT 127.0.0.3:9005, then GET /a in clear inside the tunnel, wait, and send GET /b on the same tunnel without checking it (a pool that does not look for a FIN): after 1.5 s (answered 200; the client then closes the tunnel: the near miss), and after 5 s, 2 s after the proxy's idle FIN, which the client's kernel had acknowledged: the proxy's kernel answers the request with RST and the client gets no response (EOF or ECONNRESET). conncheck must report the reused tunnel as tunnel-idle-timeout (an error: a stale reuse of the tunnel, the keep-alive race one layer down, the proxy's own timer told by the upstream leg it closed at the same moment, at most $IDLE s from this one close) and nothing for the tunnel reused in time or the upstream legs."
python3 "$P/x15c-meta.py" --capture "$OUT" --meta "$META" --proxy-log "$WORK/proxy.log" --client-log "$WORK/clients.log" \
  --target-log "$WORK/target.log" --idle "$IDLE" --proxy 127.0.0.2:3128 --target 127.0.0.3:9005 \
  --capture-side "one namespace's loopback, both legs: clients 127.0.0.1 -> proxy 127.0.0.2:3128; proxy 127.0.0.2 -> target 127.0.0.3:9005" \
  --description "$DESCRIPTION" \
  --software "Go $(go version | cut -d' ' -f3 | sed 's/^go//') CONNECT proxy (programs/x15c-connect-proxy.go)" \
    "python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())') http.server (programs/x15c-target.py)" \
    "python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())') socket client (programs/x15c-tunnel-client.py)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
rm -rf "$WORK"
