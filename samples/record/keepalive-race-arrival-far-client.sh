#!/usr/bin/env bash
# Keep-alive race, closed-on-arrival form, captured at the CLIENT, 20 ms one way from the server
# (client, router and server namespaces joined by user-space wires: this kernel has no netem).
# lighttpd (server.max-keep-alive-idle = 1) sweeps idle keep-alive connections once a second,
# before reading that loop pass's sockets; arrival-race-client.py sends a request on a reused
# connection so that it arrives 5 ms into the second in which the sweep expires it (sent 15 ms
# before the second: the one-way delay ahead). lighttpd closes with the request unread (FIN that
# ACKs it); the client sees that FIN one round trip (~40 ms) after its request, gets EOF and
# retries (GET, then POST). Seen from the server the close follows the request by 0.1 ms; seen
# here by 40 ms, so judging it needs the round trip taken out.
# Writes samples/keepalive-race-arrival-far-client.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-x5.sh"
cc_require lighttpd python3 tcpdump tshark ip

SCENARIO=keepalive-race-arrival-far-client
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
ONE_WAY_MS=20
IDLE_S=1

ccb_workdir
WORK="$CCB_WORK"
x5_topology_up "${RECORD_NS:-x5-arrfar}" "$ONE_WAY_MS"
mkdir -p "$WORK/www/cgi-bin"
printf '{"cart":7,"items":[1,2]}\n' >"$WORK/www/cart.json"
printf '#!/bin/sh\ncat >/dev/null; printf '"'"'Status: 201 Created\\r\\nContent-Type: application/json\\r\\n\\r\\n{"ok":true}\\n'"'"'\n' >"$WORK/www/cgi-bin/post.sh"
chmod -R a+rX "$WORK"
: >"$WORK/access.log"
chmod a+w "$WORK/access.log"
cat >"$WORK/lighttpd.conf" <<CONF
server.document-root = "$WORK/www"
server.bind = "$X5_SERVER_IP"
server.port = 8082
server.modules = ( "mod_access", "mod_alias", "mod_cgi", "mod_accesslog" )
server.errorlog = "$WORK/error.log"
accesslog.filename = "$WORK/access.log"
mimetype.assign = ( ".json" => "application/json" )
cgi.assign = ( ".sh" => "/bin/sh" )
server.max-keep-alive-idle = $IDLE_S
server.max-keep-alive-requests = 100
CONF
ccb_bg "$X5_S" lighttpd -D -f "$WORK/lighttpd.conf"
ccb_wait_port "$X5_S" 8082
# Whether the request lands in the sweep's pass depends on lighttpd's own wake-ups: the whole
# recording is redone (at most 3 times) until the capture shows both closes on arrival.
for attempt in 1 2 3; do
  x5_capture_start "$X5_C" x5c "$OUT" "tcp port 8082"
  ip netns exec "$X5_C" timeout 40 python3 "$X5_PROGRAMS/arrival-race-client.py" --host "$X5_SERVER_IP" --port 8082 \
    --log "$WORK/client.log" --into-second-ms $((5 - ONE_WAY_MS)) || true
  x5_capture_stop_all
  cat >"$WORK/spec.json" <<SPEC
{ "description": "Keep-alive race, closed-on-arrival form, captured at the client, $ONE_WAY_MS ms one way from the server (client, router and server namespaces joined by user-space wires). lighttpd (server.max-keep-alive-idle = 1) checks idle keep-alive connections once a second, before it reads that loop pass's sockets. A Python client sends its next request on a reused connection about 1.2 s after the previous response, timed to reach lighttpd 5 ms into the second in which the sweep expires the connection: lighttpd closes it with the request unread (its FIN acknowledges the request; lingering close, no RST), no response, no access-log line. The client sees that FIN one round trip after its request, gets EOF and retries on a new connection (GET, then POST). The last connection is left idle until lighttpd closes it.",
  "software": ["$(lighttpd -v 2>&1 | head -1)", "Python $(python3 -c 'import platform; print(platform.python_version())') socket client (arrival-race-client.py)"],
  "configured": { "lighttpdMaxKeepAliveIdle": $IDLE_S },
  "configuredNotes": "lighttpdMaxKeepAliveIdle is server.max-keep-alive-idle; with the 1 s sweep an idle connection is closed 1-3 s after its last read.",
  "oneWayMs": $ONE_WAY_MS, "capturePoint": "client", "server": "$X5_SERVER_IP:8082",
  "clientLog": "$WORK/client.log", "accessLog": "$WORK/access.log" }
SPEC
  if python3 "$X5_PROGRAMS/x5-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --spec "$WORK/spec.json"; then break; fi
  [ "$attempt" = 3 ] && { echo "record: $SCENARIO: no usable recording in 3 attempts" >&2; exit 1; }
done
cat "$WORK/client.log"
