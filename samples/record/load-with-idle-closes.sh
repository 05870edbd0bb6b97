#!/usr/bin/env bash
# Load with idle closes: wrk (16 keep-alive connections, 2 threads, 4 s, requests paced 50 ms
# by a Lua delay()) against nginx (keepalive_timeout 1 s, keepalive_requests 1000): after each
# thread's first 80 requests, every connection pauses 1.6 s (longer than nginx's idle
# timeout) before its next request, then load resumes. nginx closes the idle connections with
# a FIN during the pause; wrk sees the FIN (its read returns 0 with no response pending) and
# counts a "read" socket error, then reconnects. Recorded by load-with-keepalive-races.sh with a
# longer pause. Writes samples/load-with-idle-closes.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X13_IDLE_CLOSES=1 exec bash "$HERE/load-with-keepalive-races.sh"
