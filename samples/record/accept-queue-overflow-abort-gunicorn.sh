#!/usr/bin/env bash
# accept-queue-overflow-abort-gunicorn: as accept-queue-overflow-gunicorn, with
# net.ipv4.tcp_abort_on_overflow=1 and tcp_syncookies=0 in the server's namespace: the kernel
# answers a handshake ACK that finds the accept queue full with a RST (curl: "Connection reset
# by peer" although gunicorn listens), and, without cookies, drops SYNs once the SYN queue holds
# `backlog` requests (those clients retry their SYN 1 s later). A SYN-cookie connection would not
# be reset (the cookie path drops the ACK silently), hence cookies off. Ground truth:
# ListenOverflows/ListenDrops in the server namespace's /proc/net/netstat, gunicorn's access log,
# curl's errors.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"; . "$here/lib-b.sh"; . "$here/lib-x9.sh"
X15_ABORT=1; X15_COOKIES=0
. "$here/lib-x15.sh"
cc_require tcpdump tshark curl ip gunicorn python3
x15_record accept-queue-overflow-abort-gunicorn \
  "gunicorn (sync, one worker, --backlog 2, every request sleeping 0.4 s) 25 ms (one way) from six curl clients: three at 0 s, three 0.1 s later. net.ipv4.tcp_abort_on_overflow=1, tcp_syncookies=0. A second-wave handshake completing on the client's side while the accept queue is full is answered with a RST (curl: Connection reset by peer) although gunicorn listens; without cookies, a SYN arriving with the SYN queue at the backlog would be dropped and retried 1 s later."
