#!/usr/bin/env bash
# Near miss of gateway-timeout-nginx-loopback-backend: the backend on 127.0.0.1 answers nginx's
# copies in time while a local curl on 127.0.0.1 sends the same URIs straight to it and gives up
# (see that recorder, LB_MODE=nearmiss).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LB_MODE=nearmiss exec bash "$HERE/gateway-timeout-nginx-loopback-backend.sh"
