#!/usr/bin/env bash
# worker-timeout-gunicorn-concurrent-nginx: the gunicorn workers killed at one check, behind nginx (worker-timeout-gunicorn-concurrent.sh with WK_NGINX=1).
# Writes samples/worker-timeout-gunicorn-concurrent-nginx.pcap + meta.
set -euo pipefail
WK_NGINX=1 exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/worker-timeout-gunicorn-concurrent.sh"
