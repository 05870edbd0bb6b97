#!/usr/bin/env bash
# queued-behind-slow-gunicorn: the queue behind one long request, gunicorn --workers 1 (queued-behind-slow-php-fpm.sh with WK_GUNICORN=1).
# Writes samples/queued-behind-slow-gunicorn.pcap + meta.
set -euo pipefail
WK_GUNICORN=1 exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/queued-behind-slow-php-fpm.sh"
