#!/usr/bin/env bash
# keepalive-race-node-proxy-pool captured on the clients' leg only (port 8001): the Node proxy's
# fast 502s with its upstream side out of the capture (intermittent-5xx's fast-502 finding).
# Writes samples/keepalive-race-node-proxy-client-leg.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NODEPOOL_SCENARIO=keepalive-race-node-proxy-client-leg NODEPOOL_FILTER="tcp port 8001" exec bash "$HERE/keepalive-race-node-proxy-pool.sh"
