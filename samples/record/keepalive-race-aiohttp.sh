#!/usr/bin/env bash
# The keep-alive race against aiohttp's web server with a 2 s keepalive_timeout: aiohttp 3.8.4 (Debian
# python3-aiohttp) running web.run_app(app, keepalive_timeout=2) (programs/x21a-aiohttp-server.py: one
# catch-all route, GET 200, POST 201, one log line per request with the client port, and one per
# aiohttp keep-alive check), behind a 5 ms one-way-latency link. aiohttp's keepalive_timeout (75 s by
# default) is not a timer restarted by each response: the connection's first response arms one
# check keepalive_timeout later (loop.call_at); a check closes the connection (force_close:
# transport.close(), FIN) when it is idle, waiting for a request, longer than keepalive_timeout since
# its last response, and otherwise runs again 1 s later (KEEPALIVE_RESCHEDULE_DELAY). So a connection
# closes 2.0 s after its first response if not reused by then, and 2 to 3 s after its last response
# when it was (on its own one-second tick). A connection that never sent a request is not closed by it
# (the recorder checks this first, uncaptured, with programs/x20h-idle-probe.py).
# Clients: Node's http.Agent (programs/x17p-node-lanes.js, 6 lanes) and python requests
# (programs/x17p-requests-lanes.py, 6 lanes), each lane one pooled connection reused after pauses of
# 1.70-2.90 s (dense 1.975-2.015 s), GETs and POSTs alternating, so that some reuses cross aiohttp's
# idle FIN. Neither client retries. Server-side capture. Bounded: the probe takes ~5 s, one attempt
# ~20 s; at most 3, until one has at least 3 races. Writes samples/keepalive-race-aiohttp.pcap and
# .meta.json (programs/x21a-meta.py: x20h-meta.py, i.e. x19l-meta.py races, which checks the capture
# against the clients' and the server's logs, --idle-log, which matches every server close on the wire
# with aiohttp's own closing check, and --keepalive-checks, the tick).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x21a-lib.sh"
x21a_require

SCENARIO=keepalive-race-aiohttp
DELAY_MS=5
X21A_AIOHTTP_KEEPALIVE=2
# 72 pauses (s): 31 over 1.70-2.90 s outside 1.97-2.03 s (those over 2.03 s on a connection already
# reused may or may not meet aiohttp's one-second tick), 41 from 1.975 to 2.015 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(1.70 + 0.04 * k, 3) for k in range(31)]
v = [x for x in v if not 1.97 < x < 2.03] + [1.75, 2.25]
v += [round(1.975 + 0.001 * k, 4) for k in range(41)]
random.Random(21).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x21a_setup ccx21a-ah "$DELAY_MS" 150
# First (not captured): does aiohttp close, within 4 s, a connection that never sent a request, and one
# that was answered one GET?
x21a_aiohttp_start
PROBE="$(ip netns exec "$X19L_NS_C" timeout 15 /usr/bin/python3 "$X19L_PROGRAMS/x20h-idle-probe.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" --wait 4)"
x19l_server_stop
echo "record: $SCENARIO: keepalive_timeout $X21A_AIOHTTP_KEEPALIVE: $PROBE" >&2
PROBE_TEXT="$(python3 -c "
import json, sys
p = json.loads(sys.argv[1])
f = lambda v: 'not within %g s' % p['waitSeconds'] if v is None else 'after %s s' % v
print('a connection that sent nothing was closed %s; one that had been answered one GET (%s) was closed %s' % (
    f(p.get('silentClosedAfter')), p.get('status'), f(p.get('afterRequestClosedAfter'))))" "$PROBE")"
AH_V="$(/usr/bin/python3 -c 'import aiohttp; print(aiohttp.__version__)')"
mapfile -t SOFTWARE < <(echo "aiohttp $AH_V web server (Debian python3-aiohttp $(dpkg-query -W -f='${Version}' python3-aiohttp); asyncio; /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); web.run_app(app, keepalive_timeout=$X21A_AIOHTTP_KEEPALIVE, access_log=None), everything else at its default)"; x19l_client_software)
x21a_record_races "$SCENARIO" x21a_aiohttp_start 3 "$GAPS" 6 6 6 4 50 --idle-log --keepalive-checks \
  --server-name "aiohttp" --idle-setting "aiohttp's keepalive_timeout (web.run_app(..., keepalive_timeout=...) or AppRunner(app, keepalive_timeout=...); 75 s by default), here $X21A_AIOHTTP_KEEPALIVE s, checked on a one-second tick per connection (it closes $X21A_AIOHTTP_KEEPALIVE to $((X21A_AIOHTTP_KEEPALIVE + 1)) s after the last response)" \
  --configured "{\"serverIdleTimeout\": $X21A_AIOHTTP_KEEPALIVE, \"aiohttpKeepaliveTimeout\": $X21A_AIOHTTP_KEEPALIVE, \"aiohttpKeepaliveTimeoutDefault\": 75, \"aiohttpKeepaliveRescheduleDelay\": 1, \"closesAfterLastResponse\": [$X21A_AIOHTTP_KEEPALIVE, $((X21A_AIOHTTP_KEEPALIVE + 1))], \"oneWayDelayMs\": $DELAY_MS, \"idleProbe\": $PROBE}" \
  --configured-notes "Only keepalive_timeout is set: web.run_app(app, keepalive_timeout=$X21A_AIOHTTP_KEEPALIVE) (aiohttp/web_protocol.py RequestHandler, keepalive_timeout 75.0 by default, 'NGINX default is 75 secs'); access_log=None. After each response RequestHandler.start sets _keepalive_time = loop.time(), and only when the connection has no keep-alive handle yet (after its first response) arms one: loop.call_at(now + keepalive_timeout, _process_keepalive). _process_keepalive closes the connection (force_close: transport.close(), FIN) if the handler is waiting for a request and loop.time() > _keepalive_time + keepalive_timeout; otherwise it runs again KEEPALIVE_RESCHEDULE_DELAY (1 s) later. So a connection not reused after its first response closes $X21A_AIOHTTP_KEEPALIVE.0 s after it; one reused closes at the first of its checks (its first response + $X21A_AIOHTTP_KEEPALIVE + k s) that finds it idle longer than $X21A_AIOHTTP_KEEPALIVE s: $X21A_AIOHTTP_KEEPALIVE to $((X21A_AIOHTTP_KEEPALIVE + 1)) s after its last response, on a per-connection one-second tick. No timer runs before a connection's first response (checked by this recorder before the capture with programs/x20h-idle-probe.py; configured.idleProbe): $PROBE_TEXT. aiohttp sends 'Server: Python/<version> aiohttp/<version>' and a Date header, and no Keep-Alive header." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "aiohttp's default response headers: 'Server: Python/3.11 aiohttp/$AH_V' (aiohttp.http.SERVER_SOFTWARE) and 'Date'; no Keep-Alive header." \
  --description "The keep-alive race against aiohttp's web server with a $X21A_AIOHTTP_KEEPALIVE s keepalive_timeout. ${SOFTWARE[0]} serves one catch-all route (programs/x21a-aiohttp-server.py: GET 200, POST 201). aiohttp closes an idle keep-alive connection from a check armed by its first response $X21A_AIOHTTP_KEEPALIVE s later and repeated every second: FIN $X21A_AIOHTTP_KEEPALIVE.0 s after the response when the connection served one request, $X21A_AIOHTTP_KEEPALIVE-$((X21A_AIOHTTP_KEEPALIVE + 1)) s after the last when it served more. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.90 s (dense 1.975-2.015 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before aiohttp's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
