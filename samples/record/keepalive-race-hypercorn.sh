#!/usr/bin/env bash
# The keep-alive race against Hypercorn at its default keep-alive timeout: Hypercorn 0.13.2 (Debian
# python3-hypercorn, an ASGI server on h11) with keep_alive_timeout at its default (5 s) and its trio
# worker (-k trio; Debian python3-trio), serving a tiny ASGI app (programs/x20h-asgi-app.py: GET 200,
# POST 201, one log line per request with the client port), behind a 5 ms one-way-latency link.
# Why -k trio: in 0.13.2 the default asyncio worker (and uvloop, the same TCPServer) never restarts
# the keep-alive timer once a request has been served (asyncio/tcp_server.py _stop_keep_alive_timeout
# cancels the task but leaves _keep_alive_timeout_handle set, so _start_keep_alive_timeout does
# nothing afterwards): an idle keep-alive connection stays open for good and cannot race (the
# recorder checks this first, uncaptured, with programs/x20h-idle-probe.py at --keep-alive 1). The trio
# worker resets the handle, so after each response it sleeps keep_alive_timeout (trio.sleep) and
# closes the stream (send_eof + aclose): FIN ~5.00 s after the response.
# Clients: Node's http.Agent (programs/x17p-node-lanes.js, 6 lanes) and python requests
# (programs/x17p-requests-lanes.py, 6 lanes), each lane one pooled connection reused after pauses of
# 4.70-5.30 s (dense 4.975-5.015 s), GETs and POSTs alternating, so that some reuses cross
# Hypercorn's idle FIN. Neither client retries. Server-side capture. Bounded: the probe takes ~5 s, one attempt ~37 s;
# at most 3, until one has at least 3 races. Writes samples/keepalive-race-hypercorn.pcap and
# .meta.json (programs/x20h-meta.py, i.e. x19l-meta.py races, checks the capture against the clients'
# and the ASGI app's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20h-lib.sh"
x20h_require /usr/bin/hypercorn

SCENARIO=keepalive-race-hypercorn
DELAY_MS=5
# 72 pauses (s): 31 over 4.70-5.30 s outside 4.97-5.03 s (no race), 41 from 4.975 to 5.015 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(4.70 + 0.02 * k, 3) for k in range(31)]
v = [x for x in v if not 4.97 < x < 5.03] + [4.75, 4.85, 5.25]
v += [round(4.975 + 0.001 * k, 4) for k in range(41)]
random.Random(20).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x20h_setup ccx20h-hc "$DELAY_MS" 200
# First (not captured) the default asyncio worker at --keep-alive 1, probed by programs/x20h-idle-probe.py:
# does it close a connection that never sent a request, and one that sent one GET, within 4 s?
X20H_HYPERCORN_ARGS=(--keep-alive 1)
x20h_hypercorn_start
PROBE="$(ip netns exec "$X19L_NS_C" timeout 15 /usr/bin/python3 "$X19L_PROGRAMS/x20h-idle-probe.py" --host "$CCB_SERVER_IP" --port "$X19L_PORT" --wait 4)"
x19l_server_stop
echo "record: $SCENARIO: asyncio worker, --keep-alive 1: $PROBE" >&2
PROBE_TEXT="$(python3 -c "
import json, sys
p = json.loads(sys.argv[1])
f = lambda v: 'not within %g s' % p['waitSeconds'] if v is None else 'after %s s' % v
print('a connection that sent nothing was closed %s; one that had been answered one GET (%s) was closed %s' % (
    f(p.get('silentClosedAfter')), p.get('status'), f(p.get('afterRequestClosedAfter'))))" "$PROBE")"
X20H_HYPERCORN_ARGS=(--worker-class trio)
HC_V="$(/usr/bin/python3 -c 'import importlib.metadata as m; print(m.version("hypercorn"))')"
mapfile -t SOFTWARE < <(echo "Hypercorn $HC_V (Debian python3-hypercorn $(dpkg-query -W -f='${Version}' python3-hypercorn); h11 $(/usr/bin/python3 -c 'import h11; print(h11.__version__)'); trio $(/usr/bin/python3 -c 'import trio; print(trio.__version__)'); /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); --worker-class trio, every other option at its default: keep_alive_timeout 5 s, 1 worker)"; x19l_client_software)
x20h_record_races "$SCENARIO" x20h_hypercorn_start 3 "$GAPS" 6 6 6 6 \
  --server-name Hypercorn --idle-setting "Hypercorn keep_alive_timeout (--keep-alive), 5 s by default (hypercorn/config.py: keep_alive_timeout = 5 * SECONDS)" \
  --configured "{\"serverIdleTimeout\": 5, \"hypercornKeepAliveTimeout\": \"default (5)\", \"hypercornReadTimeout\": \"default (None)\", \"workerClass\": \"trio\", \"workers\": 1, \"oneWayDelayMs\": $DELAY_MS, \"asyncioWorkerProbe\": $PROBE}" \
  --configured-notes "Nothing about keep-alive is set: Hypercorn's keep_alive_timeout defaults to 5 s (hypercorn/config.py: keep_alive_timeout = 5 * SECONDS; --keep-alive) and read_timeout to None. The worker class is trio (--worker-class trio), not the default asyncio: in 0.13.2 the asyncio worker's keep-alive timer is never restarted after the first request on a connection (TCPServer._stop_keep_alive_timeout cancels the task but does not reset _keep_alive_timeout_handle to None, so _start_keep_alive_timeout is a no-op from then on): with the default worker an idle keep-alive connection that has served a request is never closed. Checked by this recorder before the capture (programs/x20h-idle-probe.py against the asyncio worker at --keep-alive 1; configured.asyncioWorkerProbe): $PROBE_TEXT. The trio worker (trio/tcp_server.py) resets it: after each response (h11 recycled, Updated(idle=True)) it starts _call_later(keep_alive_timeout) (trio.sleep) and on expiry closes the stream: send_eof (FIN) and aclose. Hypercorn sends 'server: hypercorn-h11' and a date header (include_server_header = True by default)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "Hypercorn's default response headers: 'server: hypercorn-h11' (config.include_server_header, True by default) and 'date'." \
  --description "The keep-alive race against Hypercorn at its default keep-alive timeout. ${SOFTWARE[0]} serves a tiny ASGI app (programs/x20h-asgi-app.py: GET 200, POST 201). After each response the trio worker waits keep_alive_timeout (5 s by default) for the next request, then closes: FIN ~5.0 s after the response. (The default asyncio worker of 0.13.2 never closes an idle keep-alive connection once it has served a request: its keep-alive timer is not restarted.) ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses of 4.70-5.30 s (dense 4.975-5.015 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Hypercorn's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
