#!/usr/bin/env bash
# worker-timeout-gunicorn behind nginx: the same gunicorn sync worker with --timeout 2, reached
# through nginx 1.22 (which logs "upstream prematurely closed connection" and answers 502).
# Writes samples/worker-timeout-gunicorn-nginx.pcap + meta.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X9_NGINX=1 exec bash "$HERE/worker-timeout-gunicorn.sh"
