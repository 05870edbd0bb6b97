#!/usr/bin/env bash
# The keep-alive race against Twisted Web with a 2 s Site timeout: Twisted 22.4.0 (Debian
# python3-twisted, default reactor: epoll) running twisted.web.server.Site(resource, timeout=2)
# (programs/x20h-twisted-server.py: one leaf resource, GET 200, POST 201, one log line per request
# with the client port, and one per Twisted "Timing out client" log event), behind a 5 ms
# one-way-latency link. The Site's timeout (HTTPFactory timeout, 60 s by default (_REQUEST_TIMEOUT = 1 * 60)) is each
# HTTPChannel's idle timeout (TimeoutMixin): paused while a request is handled, set again when the
# request is done (HTTPChannel.requestDone); on expiry timeoutConnection logs "Timing out client" and
# calls loseConnection: FIN ~2.0 s after the response. Clients: Node's http.Agent
# (programs/x17p-node-lanes.js, 6 lanes) and python requests (programs/x17p-requests-lanes.py, 6
# lanes), each lane one pooled connection reused after pauses of 1.70-2.30 s (dense 1.975-2.015 s),
# GETs and POSTs alternating, so that some reuses cross Twisted's idle FIN. Neither client retries.
# Server-side capture. Bounded: one attempt takes ~17 s; at most 3, until one has at least 3 races.
# Writes samples/keepalive-race-twisted.pcap and .meta.json (programs/x20h-meta.py: x19l-meta.py
# races, which checks the capture against the clients' and the server's logs, and --idle-log, which
# matches every server FIN on the wire with Twisted's own "Timing out client" event).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x20h-lib.sh"
x20h_require

SCENARIO=keepalive-race-twisted
DELAY_MS=5
X20H_TWISTED_TIMEOUT=2
# 72 pauses (s): 31 over 1.70-2.30 s outside 1.97-2.03 s (no race), 41 from 1.975 to 2.015 s in 1 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [round(1.70 + 0.02 * k, 3) for k in range(31)]
v = [x for x in v if not 1.97 < x < 2.03] + [1.75, 1.85, 2.25]
v += [round(1.975 + 0.001 * k, 4) for k in range(41)]
random.Random(20).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x20h_setup ccx20h-tw "$DELAY_MS" 150
TW_V="$(/usr/bin/python3 -c 'import twisted; print(twisted.__version__)')"
REACTOR="$(/usr/bin/python3 -c 'from twisted.internet import reactor; print(type(reactor).__name__)')"
mapfile -t SOFTWARE < <(echo "Twisted Web $TW_V (Debian python3-twisted $(dpkg-query -W -f='${Version}' python3-twisted); $REACTOR; /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); twisted.web.server.Site(resource, timeout=$X20H_TWISTED_TIMEOUT), everything else at its default)"; x19l_client_software)
x20h_record_races "$SCENARIO" x20h_twisted_start 3 "$GAPS" 6 6 6 3 --idle-log \
  --server-name "Twisted Web" --idle-setting "Twisted Web's Site timeout (twisted.web.server.Site(resource, timeout=...), HTTPFactory's timeout, 60 s by default (_REQUEST_TIMEOUT = 1 * 60)), here $X20H_TWISTED_TIMEOUT s" \
  --configured "{\"serverIdleTimeout\": $X20H_TWISTED_TIMEOUT, \"twistedSiteTimeout\": $X20H_TWISTED_TIMEOUT, \"twistedSiteTimeoutDefault\": 60, \"reactor\": \"$REACTOR\", \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Only the Site's timeout is set: twisted.web.server.Site(resource, timeout=$X20H_TWISTED_TIMEOUT) (twisted.web.http.HTTPFactory(timeout=_REQUEST_TIMEOUT), _REQUEST_TIMEOUT = 1 * 60 by default). Each HTTPChannel is a TimeoutMixin: the timeout is set when the connection is made, reset on data received, disabled (setTimeout(None)) while a request is being handled and set again when it is done (requestDone, after the response is written). On expiry HTTPChannel.timeoutConnection logs 'Timing out client: <peer>' and calls loseConnection (FIN once the write buffer is empty; abortTimeout, 15 s, would then abort a peer that does not close). The timer is the reactor's callLater (no tick). Twisted sends 'Server: TwistedWeb/$TW_V' and a Date header." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "Twisted Web's default response headers: 'Server: TwistedWeb/$TW_V' (twisted.web.server.version) and 'Date'." \
  --description "The keep-alive race against Twisted Web with a $X20H_TWISTED_TIMEOUT s Site timeout. ${SOFTWARE[0]} serves one tiny resource (programs/x20h-twisted-server.py: GET 200, POST 201). After each response the HTTPChannel's idle timeout (the Site's timeout) runs again and on expiry Twisted logs 'Timing out client' and closes: FIN ~$X20H_TWISTED_TIMEOUT.0 s after the response. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.30 s (dense 1.975-2.015 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before Twisted's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST; Node reports ECONNRESET 'socket hang up' (or 'read ECONNRESET'), requests a ConnectionError (RemoteDisconnected or ConnectionResetError); neither retries. A reuse after the FIN arrived goes on a new connection (Node drops the socket on 'end', urllib3 checks is_connection_dropped)."
