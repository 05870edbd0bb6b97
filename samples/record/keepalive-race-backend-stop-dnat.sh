#!/usr/bin/env bash
# middlebox-backend-gone-dnat.sh with backend B's process killed too: its idle connections get a
# FIN at one instant whatever their idle age (a stop, no idle timer), while A's connections are
# reused after 1.0 s idle and answered. Writes samples/keepalive-race-backend-stop-dnat.pcap and .meta.json.
set -euo pipefail
BACKEND_STOP=1 exec "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/middlebox-backend-gone-dnat.sh"
