#!/usr/bin/env bash
# The near miss of chain-haproxy-nginx-refused: the same HAProxy -> nginx chain with both upstream
# servers listening; every request answered 200, nothing to report.
# Writes samples/chain-haproxy-nginx-healthy.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHAIN_HEALTHY=1 exec bash "$HERE/chain-haproxy-nginx-refused.sh"
