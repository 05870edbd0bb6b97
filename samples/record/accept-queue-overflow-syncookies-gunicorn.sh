#!/usr/bin/env bash
# accept-queue-overflow-syncookies-gunicorn: gunicorn (sync, one worker, --backlog 2, each request
# sleeping 0.4 s) 25 ms (one way) from eight curl clients starting at once; the defaults
# tcp_syncookies=1 and tcp_abort_on_overflow=0. The SYN queue holds `backlog` (2) requests, so
# most of the burst's SYNs are answered with SYN cookies; their ACKs find the accept queue full
# and are dropped without a trace on the server (a cookie keeps no state: no SYN-ACK is re-sent,
# and abort_on_overflow does not apply), so the only sign is each GET retransmitted, unACKed,
# until a copy (carrying the cookie ACK again) finds room. Ground truth: SyncookiesSent,
# ListenOverflows/ListenDrops in the server namespace's /proc/net/netstat, gunicorn's access log.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"; . "$here/lib-b.sh"; . "$here/lib-x9.sh"
X15_ABORT=0; X15_COOKIES=1; X15_WAVES=8
. "$here/lib-x15.sh"
cc_require tcpdump tshark curl ip gunicorn python3
x15_record accept-queue-overflow-syncookies-gunicorn \
  "gunicorn (sync, one worker, --backlog 2, every request sleeping 0.4 s) 25 ms (one way) from eight curl clients starting at once; net.ipv4.tcp_syncookies=1 and tcp_abort_on_overflow=0 (the defaults). Beyond the SYN queue's 2 requests the kernel answers with SYN cookies; ACKs that find the accept queue full are dropped and, for a cookie, leave no state (no SYN-ACK re-sent), so the only trace is each GET retransmitted without an ACK until a copy finds room in the queue; all are served in the end."
