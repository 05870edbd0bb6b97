#!/usr/bin/env bash
# no-upstream-connect-haproxy with HAProxy listening on one address and connecting to its
# backend from another, as a proxy with a client-facing and a backend-facing interface does:
# clients 127.0.0.1 -> HAProxy 127.0.0.2:8080; HAProxy 127.0.0.4 (source) -> backend
# 127.0.0.3:9001. The analysis must learn 127.0.0.4 as the proxy's upstream address from the
# requests it forwards. Writes samples/no-upstream-connect-haproxy-other-address.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NUC_SCENARIO=no-upstream-connect-haproxy-other-address NUC_NETNS=cc-b-nuco NUC_PROXY_IP=127.0.0.2 NUC_SOURCE_IP=127.0.0.4 NUC_BACKEND_IP=127.0.0.3 \
  exec bash "$HERE/no-upstream-connect-haproxy.sh"
