#!/usr/bin/env bash
# queued-behind-slow-php-fpm-2: the queue behind two long requests, pm.max_children = 2 (queued-behind-slow-php-fpm.sh with WK_CHILDREN=2).
# Writes samples/queued-behind-slow-php-fpm-2.pcap + meta.
set -euo pipefail
WK_CHILDREN=2 exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/queued-behind-slow-php-fpm.sh"
