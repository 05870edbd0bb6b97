#!/usr/bin/env bash
# gateway-timeout-nginx with nginx listening on one address and connecting to its backend from
# another, as a proxy with a client-facing and a backend-facing interface does: clients
# 127.0.0.1 -> nginx 127.0.0.2:8080; nginx 127.0.0.4 (proxy_bind) -> backend 127.0.0.3:9001.
# The analysis must learn 127.0.0.4 as the proxy's upstream address from the requests it
# forwards. Writes samples/gateway-timeout-nginx-other-address.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GTN_SCENARIO=gateway-timeout-nginx-other-address GTN_NETNS=cc-b-gwno GTN_BIND_IP=127.0.0.4 \
  exec bash "$HERE/gateway-timeout-nginx.sh"
