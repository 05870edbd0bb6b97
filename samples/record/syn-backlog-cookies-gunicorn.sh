#!/usr/bin/env bash
# syn-backlog-cookies-gunicorn: as syn-backlog-full-gunicorn with tcp_syncookies=2 (always): every
# SYN is answered with a cookie and no request state, so the small tcp_max_syn_backlog never drops
# one; the accept queue (64) takes everyone. Nothing is wrong on the wire: conncheck must stay
# silent. Ground truth: SyncookiesSent = the SYN-ACKs in the capture, no ListenDrops.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"; . "$here/lib-b.sh"; . "$here/lib-x9.sh"
X15_BACKLOG=64; X15_COOKIES=2; X15_MAX_SYN_BACKLOG=8; X15_WAVES=10; X15_SLEEP=0.1
. "$here/lib-x15.sh"
cc_require tcpdump tshark curl ip gunicorn python3
x15_record syn-backlog-cookies-gunicorn \
  "gunicorn (sync, one worker, --backlog 64, every request sleeping 0.1 s) 25 ms (one way) from ten curl clients starting at once; net.ipv4.tcp_syncookies=2 (always) and tcp_max_syn_backlog=8 in the server's namespace. Every SYN is answered with a SYN cookie (no request state), so none is dropped and everyone is served: nothing for conncheck to report."
