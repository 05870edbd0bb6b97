#!/usr/bin/env bash
# Keep-alive race on Varnish Cache 7.1's backend leg, absorbed by Varnish's retry: as
# keepalive-race-varnish.sh (Varnish on 127.0.0.2:8080, backend_idle_timeout 10 s, a Node backend
# closing idle connections after 1.3 s, 5 ms away; a paced Node client, every second request a
# POST), but vcl_recv calls std.cache_req_body() for POSTs: Varnish keeps the body and may send it
# again, so every request that failed on a recycled connection before any response byte (GET or
# POST) is retried once on a new connection (varnishlog: FetchError, then BackendOpen ... connect)
# and the client sees no failure. Writes samples/keepalive-race-varnish-cached-body.pcap and
# .meta.json (only when programs/x8-meta.py finds the capture and varnishlog agree and at least one
# raced POST answered 201; at most 4 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
X8_CACHED_BODY=1 exec bash "$HERE/keepalive-race-varnish.sh"
