#!/usr/bin/env bash
# The keep-alive race between aiohttp and uvicorn: uvicorn 0.17 (Debian python3-uvicorn, h11
# protocol, asyncio loop) with timeout_keep_alive 2 s (`--timeout-keep-alive 2`), behind a 5 ms
# one-way-latency link; aiohttp 3.8 (Debian python3-aiohttp) in 8 lanes at once, each an
# aiohttp.ClientSession on a TCPConnector(limit=1) whose pool keeps idle connections 15 s (the
# default keepalive_timeout). Each lane reuses its pooled connection after idle pauses swept from
# 1.95 s to 2.05 s (dense from 1.985 to 2.006 s), GETs and POSTs alternating, so that some requests
# cross uvicorn's idle-close FIN. Every client error is logged with its time and local port (ground
# truth); aiohttp does not retry. Server-side capture. Bounded: one attempt takes ~14 s; attempts go
# on (at most 3) until one also shows a rarer form than crossing (stale reuse, closed on arrival),
# else the last usable one is kept.
# Writes samples/keepalive-race-uvicorn-aiohttp.pcap and .meta.json (x16-meta.py checks the capture
# against the client's and uvicorn's logs, and asks for at least 3 races, 1 of them a POST).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x16-lib.sh"
x16_require aiohttp

mapfile -t SOFTWARE < <(x16_software aiohttp; echo "user-space delay line (python3, tun) for path latency")
x16_race keepalive-race-uvicorn-aiohttp ccx16u-a \
  "serverIdleTimeout is uvicorn's timeout_keep_alive, a loop.call_later timer armed when the response is complete (after its last write): on the wire the FIN follows the last response byte by timeout + ~1 ms. aiohttp's pool (TCPConnector keepalive_timeout, 15 s by default) would keep the connection far longer." \
  "The keep-alive race between aiohttp and uvicorn. ${SOFTWARE[0]%% (*} (h11 protocol, asyncio loop) with timeout_keep_alive ${X16_IDLE_S} s serves a small ASGI app (GET 200, POST 201); after each response it arms a ${X16_IDLE_S} s timer and, with no new byte by then, closes the transport: FIN. The client, ${SOFTWARE[1]%% (*}, runs 8 lanes at once (one ClientSession on a TCPConnector(limit=1) each, pool idle limit 15 s by default); each lane reuses its pooled connection after pauses swept from 1.95 to 2.05 s (dense 1.985-2.006 s), GET and POST alternating, and opens a new connection (another URI) after a failure. ${X16_DELAY_MS} ms one-way latency; captured on the server side. A reuse sent in the last RTT before the FIN reached the client crosses it: the request arrives at a closed socket, the kernel answers RST, and aiohttp raises ServerDisconnectedError when it reads the FIN first (ClientOSError if the RST came first; see groundTruth.clientLog.errors); it does not retry, whatever the method. A reuse after the FIN reached the client is safe: aiohttp's pool sees the connection closed (its protocol got EOF) and opens a new one. Rarer forms, when the attempt kept shows them (expect[].evidence.form): stale reuse (the FIN had reached the client's kernel, but the event loop had not yet delivered the EOF when the pool handed the connection out) and closed on arrival (the request reached uvicorn just as its timer closed the connection: the asyncio transport is closed with the request unread, so the kernel sends RST, not FIN)." \
  x16-aiohttp-client.py
