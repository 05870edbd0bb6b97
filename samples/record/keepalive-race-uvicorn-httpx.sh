#!/usr/bin/env bash
# The keep-alive race between httpx and uvicorn: uvicorn 0.17 (Debian python3-uvicorn, h11
# protocol, asyncio loop) with timeout_keep_alive 2 s (`--timeout-keep-alive 2`), behind a 5 ms
# one-way-latency link; httpx 0.23 (Debian python3-httpx, httpcore 0.16) in 8 threads at once, each
# with its own httpx.Client (default limits: idle connections kept 5 s, keepalive_expiry). Each
# lane reuses its pooled connection after idle pauses swept from 1.95 s to 2.05 s (dense from 1.985
# to 2.006 s), GETs and POSTs alternating, so that some requests cross uvicorn's idle-close FIN.
# Before reusing, httpcore checks whether the idle socket is readable (a FIN that has arrived) and
# then opens a new connection instead; a request already sent when the FIN arrives fails, and httpx
# does not retry it. Every client error is logged with its time and local port (ground truth).
# Server-side capture. Bounded: one attempt takes ~14 s, at most 3: attempts go on (at most 3)
# until one also shows a rarer form than crossing (stale reuse, closed on arrival), else the last
# usable one is kept.
# Writes samples/keepalive-race-uvicorn-httpx.pcap and .meta.json (x16-meta.py checks the capture
# against the client's and uvicorn's logs, and asks for at least 3 races, 1 of them a POST).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x16-lib.sh"
x16_require httpx

mapfile -t SOFTWARE < <(x16_software httpx; echo "user-space delay line (python3, tun) for path latency")
x16_race keepalive-race-uvicorn-httpx ccx16u-x \
  "serverIdleTimeout is uvicorn's timeout_keep_alive, a loop.call_later timer armed when the response is complete (after its last write): on the wire the FIN follows the last response byte by timeout + ~1 ms. httpx's pool (Limits keepalive_expiry, 5 s by default) would keep the connection longer." \
  "The keep-alive race between httpx and uvicorn. ${SOFTWARE[0]%% (*} (h11 protocol, asyncio loop) with timeout_keep_alive ${X16_IDLE_S} s serves a small ASGI app (GET 200, POST 201); after each response it arms a ${X16_IDLE_S} s timer and, with no new byte by then, closes the transport: FIN. The client, ${SOFTWARE[1]%% (*} (httpcore ${SOFTWARE[1]##* }, sync), runs 8 threads at once, each with its own httpx.Client (default limits: idle connections kept 5 s); each lane reuses its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.985-2.006 s), GET and POST alternating, and opens a new connection (another URI) after a failure. ${X16_DELAY_MS} ms one-way latency; captured on the server side. A reuse sent in the last RTT before the FIN reached the client crosses it: the request arrives at a closed socket and the kernel answers RST; httpx raises RemoteProtocolError ('Server disconnected without sending a response.') when it reads the FIN first, ReadError (ECONNRESET) when the RST comes first, and does not retry, whatever the method (groundTruth.clientLog.errors). A reuse after the FIN reached the client is safe: httpcore finds the idle socket readable and opens a new connection. Rarer forms, when the attempt kept shows them (expect[].evidence.form): stale reuse (the FIN reached the client's kernel just after httpcore's readability check, before the request was sent) and closed on arrival (the request reached uvicorn just as its timer closed the connection: the asyncio transport is closed with the request unread, so the kernel sends RST, not FIN)." \
  x16-httpx-client.py race
