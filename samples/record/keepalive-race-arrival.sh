#!/usr/bin/env bash
# Keep-alive race, closed-on-arrival form, against lighttpd on loopback: lighttpd
# (server.max-keep-alive-idle = 1) sweeps idle keep-alive connections once per second, before
# reading that loop pass's sockets. The client (arrival-race-client.py) sends a request on a
# reused connection a few ms into the second in which the sweep expires it: lighttpd's kernel
# ACKs the request, lighttpd closes the connection (FIN) without reading it, the client gets EOF
# and retries on a new connection (GET, then POST). The last connection is left to idle out.
# Writes samples/keepalive-race-arrival.pcap and .meta.json (the meta script checks the capture
# shows exactly that, else it fails and writes nothing).
# RECORD_NS overrides the namespace name.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require lighttpd python3 tcpdump tshark ip

SCENARIO=keepalive-race-arrival
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
IDLE_S=1

cc_netns_up "${RECORD_NS:-cc-e-arrival}"
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www/cgi-bin"
printf '{"cart":7,"items":[1,2]}\n' >"$WORK/www/cart.json"
printf '#!/bin/sh\ncat >/dev/null; printf '"'"'Status: 201 Created\\r\\nContent-Type: application/json\\r\\n\\r\\n{"ok":true}\\n'"'"'\n' >"$WORK/www/cgi-bin/post.sh"
: >"$WORK/access.log"
cat >"$WORK/lighttpd.conf" <<CONF
server.document-root = "$WORK/www"
server.bind = "127.0.0.1"
server.port = 8082
server.modules = ( "mod_access", "mod_alias", "mod_cgi", "mod_accesslog" )
server.errorlog = "$WORK/error.log"
accesslog.filename = "$WORK/access.log"
mimetype.assign = ( ".json" => "application/json" )
cgi.assign = ( ".sh" => "/bin/sh" )
server.max-keep-alive-idle = $IDLE_S
server.max-keep-alive-requests = 100
CONF

cc_bg lighttpd -D -f "$WORK/lighttpd.conf"
cc_wait_port 8082
cc_capture_start "$OUT" "tcp port 8082"
cc_in timeout 40 python3 "$CCB_PROGRAMS/arrival-race-client.py" --host 127.0.0.1 --port 8082 --log "$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log"
python3 "$CCB_PROGRAMS/arrival-race-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" --idle-setting "$IDLE_S" \
  --software "$(lighttpd -v 2>&1 | head -1)" "Python $(python3 -c 'import platform; print(platform.python_version())') socket client (arrival-race-client.py)"
