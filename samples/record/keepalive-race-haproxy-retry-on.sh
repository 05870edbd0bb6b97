#!/usr/bin/env bash
# keepalive-race-haproxy.sh with `retry-on all-retryable-errors` (and retries 3): HAProxy 2.6 resends
# a request whose reused backend connection failed (empty response) on a new connection.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X12_SCENARIO=keepalive-race-haproxy-retry-on X12_RETRY_ON=all-retryable-errors X12_NETNS=ccx12-krr \
  exec bash "$HERE/keepalive-race-haproxy.sh"
