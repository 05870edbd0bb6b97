#!/usr/bin/env bash
# keepalive-race-nat-any.sh with a client whose kernel sends no TCP timestamp option
# (net.ipv4.tcp_timestamps=0 in the client's namespace), as Windows clients do by default.
# Writes samples/keepalive-race-nat-any-no-timestamps.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CCANY_VARIANT=-no-timestamps exec "$HERE/keepalive-race-nat-any.sh"
