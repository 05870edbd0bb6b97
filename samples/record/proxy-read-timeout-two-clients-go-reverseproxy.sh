#!/usr/bin/env bash
# Near miss of client-timeouts-two-clients-go-reverseproxy: the same two client programs on
# 127.0.0.1 (Go http.Client Timeout 2 s, curl --max-time 3) through Go's httputil.ReverseProxy on
# 127.0.0.2:8090 (upstream from 127.0.0.4) with its own ResponseHeaderTimeout of 0.8 s, to the
# backend answering in 3 s: the proxy's timer fires first, closes the forward and answers 502 to
# both clients, which read it. A proxy read timeout (0.8 s), paired with its upstream leg, though
# two clients with different timeouts share the proxy. Writes
# samples/proxy-read-timeout-two-clients-go-reverseproxy.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TC_SCENARIO=proxy-read-timeout-two-clients-go-reverseproxy TC_NETNS=cc-two-prt TC_RESPHEADER=0.8 TC_GO_TIMEOUT=2 TC_CURL_MAXTIME=3 \
  exec bash "$HERE/client-timeouts-two-clients-go-reverseproxy.sh"
