#!/usr/bin/env bash
# The keep-alive race against webfsd (Debian webfs 1.21, a small C static-file server, one select()
# loop) raced by the curl command line (7.88.1). webfsd's keep-alive idle time is not its -t option
# (-t, 60 s by default, is its network timeout for a request being read or a response being written;
# here set to 2 s, which changes nothing for idle connections): it is keepalive_time, hard-coded to
# 5 s in webfsd.c, with no option. mainloop() checks `now > req->ping + keepalive_time` where now =
# time(NULL) and ping = the whole second of the connection's last I/O, and only when select() returns
# (any socket's event; select's own timeout is keepalive_time s). So an idle connection is closed at
# the first wake-up after the whole second floor(last I/O) + 6: 5-6 s after its response on a busy
# server, up to ~10 s on an idle one. A request that arrives on the idle connection itself is read
# first (I/O is handled before the timeout check), so a race needs another socket's event to close
# the connection just before its request arrives: the curl lanes come in groups of 3 that share a
# --rate and start 6 ms apart, so their requests reach webfsd in bursts: the first request of a burst
# wakes the loop, webfsd closes the group's other idle connections past their boundary, and their
# requests, already on the wire (5 ms one-way delay), meet a closed socket (RST). curl sees nothing
# come back on a reused connection, logs "Connection died, retrying a fresh connect" and sends the
# request again on a new connection, a POST included. webfsd answers a POST (static files only) with
# 501 Not Implemented and Connection: Close.
# Lanes: 6 groups x 3 lanes, --rate 780 700 660 640 620 600 per hour (transfer starts 4.615 5.143
# 5.455 5.625 5.806 6.000 s apart), 8 transfers per lane (one a POST). Server-side capture. Bounded:
# one attempt takes ~50 s; at most 3, until one has at least 3 races, one of them a POST.
# Writes samples/keepalive-race-webfs-curl.pcap and .meta.json (programs/x24w-meta.py: the capture
# checked against curl's own traces (retries, reused and new connections, ports) and webfsd's debug
# lines (requests read, keepalive timeouts), each of which must match the wire).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x24w-lib.sh"
x24w_require

SCENARIO=keepalive-race-webfs-curl
DELAY_MS=5
RATES=780,700,660,640,620,600
KEEPALIVE_TIME=5
NETWORK_TIMEOUT=2
X24W_WEBFS_ARGS=(-t "$NETWORK_TIMEOUT")

x20h_setup ccx24w-wf "$DELAY_MS" 200
WEBFS_V="$(dpkg-query -W -f='${Version}' webfs)"
mapfile -t SOFTWARE < <(x24w_software)
GAPS="$(python3 -c "import sys; print(', '.join(f'{3600 / int(r):.3f}' for r in sys.argv[1].split(',')))" "$RATES")"
x24w_record_races "$SCENARIO" 3 "$RATES" 3 6 8 1 \
  --need-post-races 1 --keepalive-time "$KEEPALIVE_TIME" --one-way-ms "$DELAY_MS" \
  --configured "{\"webfsKeepaliveTime\": $KEEPALIVE_TIME, \"webfsClockResolutionSeconds\": 1, \"webfsNetworkTimeout\": $NETWORK_TIMEOUT, \"webfsNetworkTimeoutDefault\": 60, \"curlMaxAgeConnDefault\": 118, \"curlRatesPerHour\": [$RATES], \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "webfsd runs as 'webfsd -F -d -4 -t $NETWORK_TIMEOUT' (foreground, debug lines). -t is webfsd's network timeout (60 s by default: a connection reading a request or writing a response with no progress for longer gets 408 or is closed), not its keep-alive idle time, which is keepalive_time = $KEEPALIVE_TIME s, hard-coded in webfsd.c (no option). webfsd's main loop handles every connection in one select(): after each pass it closes a keep-alive connection when 'now > req->ping + keepalive_time', now = time(NULL) (whole seconds) and ping the time(NULL) of the connection's last read or write; select() waits at most keepalive_time s. A connection idle since T is closed at the first wake-up at or after the whole second floor(T) + $((KEEPALIVE_TIME + 1)): 5-6 s after its response when other connections keep the loop busy, later on a quiet server (up to ~10 s: two select timeouts). No configured key is named serverIdleTimeout: no single idle timeout exists to infer (the idle closes spread over a second by design). webfsd sends 'Server: webfs/$WEBFS_V' without the Debian suffix (webfs/1.21), 'Connection: Keep-Alive' and no Keep-Alive header. curl: the command line, one process per lane, each reusing its one connection (CURLOPT_MAXAGE_CONN left at 118 s, whole seconds); --rate N/h spaces transfer starts 3600/N s apart (gaps $GAPS s)." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --header-note "webfsd's response headers: 'Server: webfs/1.21', 'Connection: Keep-Alive' (a POST: 501 Not Implemented with 'Connection: Close'), no Keep-Alive header, so no idle timeout is advertised." \
  --description "The keep-alive race against webfsd (${SOFTWARE[0]%% (*}), a C static-file server with one select() loop, raced by the curl command line. webfsd's keep-alive idle time is keepalive_time, hard-coded to $KEEPALIVE_TIME s (its -t option, set to $NETWORK_TIMEOUT s here, is another timeout), compared in whole seconds (time(NULL)) and only when select() wakes: a connection closes at the first event after the whole second floor(last I/O) + $((KEEPALIVE_TIME + 1)), 5-6 s after its response. 18 curl 7.88.1 processes (6 groups of 3 lanes; each lane one connection reused for 8 transfers, one a POST, started by --rate $GAPS s apart; a group's lanes 6 ms apart, so that one lane's request wakes webfsd, which closes the others' idle connections just before their requests arrive); 5 ms one-way latency, captured on the server side. A request that crossed webfsd's FIN (or reached a connection closed in the same pass, RST with the request unread) gets nothing back: curl logs 'Connection died, retrying a fresh connect' and sends it again on a new connection, a POST too (webfsd answers POST with 501 and closes). A reuse after the FIN reached curl goes on a new connection ('Connection N seems to be dead')."
exit 0
