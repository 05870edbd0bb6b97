#!/usr/bin/env bash
# syn-backlog-full-gunicorn: the SYN (request) queue rather than the accept queue. gunicorn (sync,
# one worker, --backlog 64, each request sleeping 0.1 s) 25 ms (one way) from ten curl clients
# starting at once; in the server's namespace tcp_syncookies=0 and tcp_max_syn_backlog=8: without
# cookies the kernel drops a SYN once fewer than max_syn_backlog/4 request slots are left (here
# from the 7th half-open handshake on), so the last clients' SYNs go unanswered and are retried
# 1 s later. Ground truth: ListenDrops (without ListenOverflows) in the server namespace's
# /proc/net/netstat, gunicorn's access log, curl's times.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"; . "$here/lib-b.sh"; . "$here/lib-x9.sh"
X15_BACKLOG=64; X15_COOKIES=0; X15_MAX_SYN_BACKLOG=8; X15_WAVES=10; X15_SLEEP=0.1
. "$here/lib-x15.sh"
cc_require tcpdump tshark curl ip gunicorn python3
x15_record syn-backlog-full-gunicorn \
  "gunicorn (sync, one worker, --backlog 64, every request sleeping 0.1 s) 25 ms (one way) from ten curl clients starting at once; net.ipv4.tcp_syncookies=0 and tcp_max_syn_backlog=8 in the server's namespace. Without SYN cookies the kernel drops new SYNs once the SYN queue nears max_syn_backlog (fewer than a quarter of its slots free): the last clients' SYNs go unanswered and are retried 1 s later, then served."
