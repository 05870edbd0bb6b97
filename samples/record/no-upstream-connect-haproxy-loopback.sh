#!/usr/bin/env bash
# no-upstream-connect-haproxy with everything on one address, as when a proxy is tried out on
# one host: clients 127.0.0.1 -> HAProxy 127.0.0.1:8080; HAProxy 127.0.0.1 -> backend
# 127.0.0.1:9001. The proxy's upstream connections come from the address its clients use, and
# the analysis must still tell its upstream leg (to another endpoint) from its downstream one.
# Writes samples/no-upstream-connect-haproxy-loopback.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NUC_SCENARIO=no-upstream-connect-haproxy-loopback NUC_NETNS=cc-b-nucl NUC_PROXY_IP=127.0.0.1 NUC_BACKEND_IP=127.0.0.1 \
  exec bash "$HERE/no-upstream-connect-haproxy.sh"
