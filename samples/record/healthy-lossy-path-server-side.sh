#!/usr/bin/env bash
# healthy-lossy-path-server-side (and, from the same run, healthy-lossy-path-client-side): healthy
# keep-alive traffic over a lossy, jittery, reordering path, as production captures see it
# (retransmissions, repeated SYNs, out-of-order segments, duplicate ACKs, exchanges delayed by loss).
# Client, router and server namespaces (ccx28l-c/-r/-s) joined by two user-space wires
# (programs/x5-wire.py), each 10 ms ± 4 ms one way, 2 % loss and 1 % reordering each way, SYNs not
# spared. Servers: nginx 1.22 (keepalive_timeout 30s), a Node http server (keepAliveTimeout 30 s) and a
# Go net/http server (IdleTimeout 30 s); clients: Node http.Agent lanes, python requests sessions, Go
# http.Client lanes and curl (several URLs on one connection, and one request each), think times 0.05-2 s (no idle close can race), GETs, POSTs, 100 KB
# uploads, 200 KB-1 MB responses, a few Connection: close. One run is captured next to the server (this
# scenario) and next to the clients (healthy-lossy-path-client-side); programs/x28l-lossy-run.sh runs it
# and programs/x28l-meta.py checks every request against the clients' and servers' logs (all answered,
# none failed or sent twice) before writing the metas (at most 3 attempts). Silent: nothing failed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X28L_NETNS=ccx28l X28L_DELAY_MS=10 X28L_JITTER_MS=4 X28L_LOSS=2 X28L_REORDER=1 X28L_SEED=28 \
  exec bash "$HERE/programs/x28l-lossy-run.sh" healthy-lossy-path-server-side healthy-lossy-path-client-side
