#!/usr/bin/env bash
# accept-queue-overflow-gunicorn: gunicorn (sync, one worker, --backlog 2, each request sleeping
# 0.4 s) 25 ms (one way) from curl clients in two waves: three at 0 s (the worker takes one, the
# accept queue two), three more 0.1 s later, whose SYNs find the accept queue at its backlog but
# not yet full, so they are answered. Their ACKs arrive after the first of them has filled the
# queue: with tcp_abort_on_overflow=0 (the default) the kernel drops them, and the GETs too. The
# server re-sends a SYN-ACK if its 1 s timer fires first; a GET retransmitted sooner (or a
# SYN-cookie handshake, tcp_syncookies=1, which keeps no state) shows only as the GET
# retransmitted until a copy finds room. Ground truth: ListenOverflows/ListenDrops and the
# SYN-cookie counters in the server namespace's /proc/net/netstat, gunicorn's access log, curl's
# results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"; . "$here/lib-b.sh"; . "$here/lib-x9.sh"
X15_ABORT=0; X15_COOKIES=1
. "$here/lib-x15.sh"
cc_require tcpdump tshark curl ip gunicorn python3
x15_record accept-queue-overflow-gunicorn \
  "gunicorn (sync, one worker, --backlog 2, every request sleeping 0.4 s) 25 ms (one way) from six curl clients: three at 0 s, three 0.1 s later. net.ipv4.tcp_abort_on_overflow=0, tcp_syncookies=1 (the defaults). Second-wave handshakes that complete on the client's side while the accept queue is full: the server's kernel drops their ACKs and GETs, re-sends the SYN-ACK when its 1 s timer fires first (nothing to re-send for a SYN-cookie handshake), and the GETs are retransmitted until a copy finds room in the queue; all are served in the end."
