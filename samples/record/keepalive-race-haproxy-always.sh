#!/usr/bin/env bash
# keepalive-race-haproxy.sh with `http-reuse always` and a new client connection for every request:
# each request is the first on its client connection and HAProxy 2.6 sends it on its pooled backend
# connection; a raced one is answered 502 (default retry-on conn-failure: not sent again).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X12_SCENARIO=keepalive-race-haproxy-always X12_REUSE=always X12_CLIENT_ARGS=--new-connections X12_NETNS=ccx12-kra \
  exec bash "$HERE/keepalive-race-haproxy.sh"
