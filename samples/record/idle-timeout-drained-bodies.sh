#!/usr/bin/env bash
# A Node http server with keepAliveTimeout 2300 ms (it closes idle connections 3.3 s after its last
# response was written: Node 20 adds 1 s; it advertises timeout=2), sending small responses and
# 256 KB ones that the client reads slowly (a 100 ms pause per chunk, its receive buffer capped at
# 32 KB by this namespace's tcp_rmem): res.end() returns as soon as the send buffer holds the body,
# which then takes about a second to leave, so the server's idle timer runs from a moment between the
# response's first and last byte on the wire. Six lanes (one keep-alive http.Agent each) whose pauses
# sometimes outlast the timeout; the longest reuse is 2.4 s; at the end the process destroys its
# agents, closing connections idle 1.4-2.7 s at one moment.
# Two recordings (loopback, namespace fx5d-ids):
#   samples/idle-timeout-drained-bodies.pcap: the near miss, nothing to report;
#   samples/idle-timeout-drained-bodies-race.pcap: the same, plus three raw connections that read a
#     large body slowly and then, ignoring the server's FIN, send another request 0.2 s after its
#     timeout: stale reuses the server resets (keepalive-race, and idle-timeout-mismatch's warning).
# Each with its .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require node python3 tcpdump ip

PROGRAMS="$HERE/programs"
WORK="$(mktemp -d /tmp/fx5d-ids.XXXXXX)"
cc_netns_up fx5d-ids
# A small receive buffer for the slow reader: the body waits in the server's send buffer, not in the client's.
cc_in sysctl -q -w net.ipv4.tcp_rmem="4096 16384 32768"
cc_bg node "$PROGRAMS/idlestart-server.js" --host 127.0.0.1 --port 8080 --keep-alive-timeout 2300 2>"$WORK/server.log"
cc_wait_port 8080

record() {
  local scenario="$1" stale="$2" description="$3" expect="$4"
  local out="$CC_SAMPLES_DIR/$scenario.pcap"
  rm -f "$WORK/client.log"
  cc_capture_start "$out" "tcp port 8080"
  cc_in timeout 120 node "$PROGRAMS/idlestart-client.js" --host 127.0.0.1 --port 8080 --server-idle-ms 3300 --stale "$stale" --log "$WORK/client.log"
  cc_capture_stop
  python3 - "$CC_SAMPLES_DIR/$scenario.meta.json" "$scenario" "$description" "$expect" "$WORK/client.log" "$(node --version)" <<'PY'
import json, sys
path, scenario, description, expect, client_log, node = sys.argv[1:]
lines = [json.loads(l) for l in open(client_log)]
errors = [l for l in lines if 'error' in l and 'stale' not in l]
if errors:
    sys.exit(f'record: {scenario}: the lanes saw errors: {errors}')
stale_reuses = [l for l in lines if 'reusedAfterMs' in l]
stale_fins = [l for l in lines if l.get('event') == 'server FIN']
meta = {
    'scenario': scenario,
    'description': description,
    'software': [f'node {node} http.Server (keepAliveTimeout 2300 ms; programs/idlestart-server.js)', f'node {node} http.Agent per lane, raw net for the stale reuses (programs/idlestart-client.js)'],
    'configured': {'keepAliveTimeout': 2.3, 'serverIdleTimeout': 3.3, 'advertisedKeepAliveTimeout': 2},
    'observed': {'requests': sum(1 for l in lines if 'status' in l), 'staleReusesAfterServerFin': len(stale_reuses)},
}
if expect == 'silent':
    meta['silent'] = True
else:
    if len(stale_reuses) < 3 or len(stale_fins) < 3:
        sys.exit(f'record: {scenario}: expected 3 reuses after the server FIN, saw {stale_reuses} {stale_fins}')
    # The stale reuses (3.5 s idle from the write) are a race, and clients reusing past the timeout its warning.
    meta['expect'] = [{'kind': 'keepalive-race', 'server': '127.0.0.1:8080'}, {'kind': 'idle-timeout-mismatch', 'server': '127.0.0.1:8080'}]
json.dump(meta, open(path, 'w'), indent=2)
open(path, 'a').write('\n')
PY
}

record idle-timeout-drained-bodies 0 \
  "Healthy keep-alive against a Node http server with keepAliveTimeout 2300 ms (it closes idle connections 3.3 s after it finished writing the last response, Node 20 adding 1 s; it advertises Keep-Alive: timeout=2). Six client lanes, each its own http.Agent, ask for small responses and 256 KB ones they read slowly (a 100 ms pause per chunk, the receive buffer capped at 32 KB): the server's send buffer takes the body at once and it drains for about a second, so an idle close after a large response comes 3.3 s after its first byte but only some 2.5 s after its last. Some pauses outlast the timeout (the server closes, after small and after large responses); the longest reuse is 2.4 s, well below 3.3 s. At the end the process destroys its agents: six connections idle 1.4-2.7 s closed at one moment (a pool shut down, no idle timer). No failure of any kind: nothing to report." \
  silent
record idle-timeout-drained-bodies-race 3 \
  "The scene of idle-timeout-drained-bodies (Node http server, keepAliveTimeout 2300 ms: idle closes 3.3 s after the last response was written, small and slowly read 256 KB responses, six lanes, the agents destroyed at exit), plus three raw connections that read a 256 KB body slowly and then, ignoring the server's FIN, send another request 0.2 s after its 3.3 s timeout (counted from when the server finished writing, which is about a second before the body's last byte left): stale reuses, which the server answers with RST (keepalive-race). The idle timeout inferred from the closes must be 3.3 s, the drained bodies' closes supporting it." \
  race
cat "$WORK/client.log" | tail -20
rm -rf "$WORK"
