#!/usr/bin/env bash
# gateway-timeout-tinyproxy.sh with tinyproxy connecting to its backend from another address than
# the one it listens on: Bind 127.0.0.4 (the address of a backend-facing interface), Listen
# 127.0.0.2. The backend never answers; at its Timeout (3 s) tinyproxy closes both connections and
# sends its client nothing (curl exit 52). The capture shows no connection from 127.0.0.2 to the
# backend: which connections are the proxy's upstream legs is learned from the requests they copy.
# Writes samples/gateway-timeout-tinyproxy-other-address.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X20N_TINYPROXY_BIND=127.0.0.4 X20N_SCENARIO=gateway-timeout-tinyproxy-other-address exec bash "$HERE/gateway-timeout-tinyproxy.sh"
