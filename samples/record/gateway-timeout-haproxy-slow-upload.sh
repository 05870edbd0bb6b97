#!/usr/bin/env bash
# Near miss of gateway-timeout-haproxy-unfinished-body: the same HAProxy 2.6 (timeout server 1s) and
# Node backend, three clients POST /slow?ms=2500 with their whole 100-byte body; HAProxy answers 504
# at its timeout server: the backend is slow (namespace fxp-su).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FXP_SCENARIO=gateway-timeout-haproxy-slow-upload FXP_SENT=100 FXP_PATH='/slow?ms=2500' FXP_NS=fxp-su \
  exec bash "$HERE/gateway-timeout-haproxy-unfinished-body.sh"
