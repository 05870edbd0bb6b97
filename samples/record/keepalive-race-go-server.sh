#!/usr/bin/env bash
# The keep-alive race against a Go net/http server with a 2 s IdleTimeout: Go 1.19 (Debian golang-go),
# programs/x22g-go-server.go (standard library only: http.Server{IdleTimeout: 2 * time.Second}, every
# other field at its zero value; GET 200, POST 201 after reading the body; one log line per request with
# the client port, one per ConnState hook call, and one per idle close, written by a wrapped listener
# just before net/http closes a connection that is idle and whose read deadline expired), behind a
# 5 ms one-way-latency link. Go's idle timeout is a read deadline per connection: after each response
# conn.serve sets SetReadDeadline(now + IdleTimeout) and Peeks for the next request; when the deadline
# expires it closes the socket (FIN): ~2.00 s after each response, on the connection's own timer.
# Before a connection's first request no deadline is set at all when ReadTimeout and ReadHeaderTimeout
# are zero (the recorder checks this first, uncaptured, with programs/x20h-idle-probe.py).
# Clients: Node's http.Agent (programs/x17p-node-lanes.js, 6 lanes) and python requests
# (programs/x17p-requests-lanes.py, 6 lanes), each lane one pooled connection reused after pauses of
# 1.70-2.30 s (dense 1.975-2.015 s), GETs and POSTs alternating, so that some reuses cross Go's idle
# FIN. Neither client retries. Server-side capture. Bounded: the build and probe take ~10 s, one
# attempt ~22 s; at most 3, until one has at least 3 races. Writes samples/keepalive-race-go-server.pcap
# and .meta.json (programs/x21a-meta.py, imported from x21a-lib.sh's x21a_record_races: x20h-meta.py,
# i.e. x19l-meta.py races, which checks the capture against the clients' and the server's logs, and
# --idle-log, which matches every server close on the wire with the server's own idle-close line).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x21a-lib.sh"
x19l_require go

SCENARIO=keepalive-race-go-server
DELAY_MS=5
IDLE_TIMEOUT=2
# 72 pauses (s): 31 over 1.70-2.30 s outside 1.97-2.03 s (no race), 41 from 1.975 to 2.015 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(1.70 + 0.02 * k, 3) for k in range(31)]
v = [x for x in v if not 1.97 < x < 2.03] + [1.75, 1.85, 2.25]
v += [round(1.975 + 0.001 * k, 4) for k in range(41)]
random.Random(22).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x21a_setup ccx22g-go "$DELAY_MS" 150
# Built as the other Go recorders build (lib-x11.sh x11_go_build): GOPATH mode, no modules, scratch caches.
(cd "$CCB_WORK" && GOCACHE="$CCB_WORK/gocache" GOPATH="$CCB_WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$CCB_WORK/x22g-go-server" "$X19L_PROGRAMS/x22g-go-server.go")

x22g_go_server_start() {
  : >"$CCB_WORK/server.log"
  cc_bg "$CCB_WORK/x22g-go-server" -addr "$CCB_SERVER_IP:$X19L_PORT" -log "$CCB_WORK/server.log" \
    -idle-timeout "${IDLE_TIMEOUT}s" 2>>"$CCB_WORK/go-server.err"
  X19L_SERVER_PID="$CC_LAST_PID"
  cc_wait_port "$X19L_PORT"
}

# First (not captured): does the Go server close, within 4 s, a connection that never sent a request,
# and one that was answered one GET?
x22g_go_server_start
PROBE="$(ip netns exec "$X19L_NS_C" timeout 15 /usr/bin/python3 "$X19L_PROGRAMS/x20h-idle-probe.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" --wait 4)"
x19l_server_stop
echo "record: $SCENARIO: IdleTimeout $IDLE_TIMEOUT s: $PROBE" >&2
PROBE_TEXT="$(python3 -c "
import json, sys
p = json.loads(sys.argv[1])
f = lambda v: 'not within %g s' % p['waitSeconds'] if v is None else 'after %s s' % v
print('a connection that sent nothing was closed %s; one that had been answered one GET (%s) was closed %s' % (
    f(p.get('silentClosedAfter')), p.get('status'), f(p.get('afterRequestClosedAfter'))))" "$PROBE")"
GO_V="$(go env GOVERSION)"
mapfile -t SOFTWARE < <(echo "Go $GO_V net/http server (Debian golang-go $(dpkg-query -W -f='${Version}' golang-go); programs/x22g-go-server.go, standard library only: http.Server{IdleTimeout: $IDLE_TIMEOUT * time.Second}, ReadTimeout, ReadHeaderTimeout, WriteTimeout zero, keep-alives on)"; x19l_client_software)
x21a_record_races "$SCENARIO" x22g_go_server_start 3 "$GAPS" 6 6 6 4 50 --idle-log \
  --server-name "Go net/http" --idle-setting "Go net/http http.Server.IdleTimeout, here $IDLE_TIMEOUT s (when zero, ReadTimeout is used; when both are zero, no idle timeout)" \
  --configured "{\"serverIdleTimeout\": $IDLE_TIMEOUT, \"goIdleTimeout\": $IDLE_TIMEOUT, \"goReadTimeout\": 0, \"goReadHeaderTimeout\": 0, \"goWriteTimeout\": 0, \"oneWayDelayMs\": $DELAY_MS, \"idleProbe\": $PROBE}" \
  --configured-notes "Only IdleTimeout is set: http.Server{IdleTimeout: $IDLE_TIMEOUT * time.Second} (Go $GO_V net/http). After each response conn.serve sets the connection's state to StateIdle, then its read deadline to now + IdleTimeout (Server.idleTimeout(): IdleTimeout, or ReadTimeout when IdleTimeout is zero) and Peeks for the next request; when the deadline expires first it returns and closes the socket (conn.close: flush, net.Conn.Close; a FIN, or an RST if a request arrived after the read failed and lies unread), then calls the ConnState hook with StateClosed. So each connection closes $IDLE_TIMEOUT.00 s after its last response, on its own timer (the runtime's netpoller deadline), restarted by every response. Before a connection's first request the read deadline is ReadHeaderTimeout (or ReadTimeout), here zero: no timer (checked by this recorder before the capture with programs/x20h-idle-probe.py; configured.idleProbe): $PROBE_TEXT. Go's server sends no Server header (Date, Content-Type, Content-Length only) and no Keep-Alive header." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "Go net/http sends no Server header of its own: Date, Content-Type and Content-Length (set by the handler); no Keep-Alive header." \
  --description "The keep-alive race against a Go net/http server with a $IDLE_TIMEOUT s IdleTimeout. ${SOFTWARE[0]} serves GET 200 and POST 201. After each response Go sets a read deadline IdleTimeout ahead and waits for the next request; when it expires Go closes the connection: FIN $IDLE_TIMEOUT.00 s after the response, one timer per connection. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.30 s (dense 1.975-2.015 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Go's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
