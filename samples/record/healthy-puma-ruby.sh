#!/usr/bin/env bash
# Healthy keep-alive reuse between Ruby's Net::HTTP and Puma: Puma 5.6 (Debian puma, single mode,
# persistent_timeout left at its default, 20 s) serving a small Rack app (programs/x17r-app.ru);
# two Net::HTTP clients (Debian ruby 3.1; keep_alive_timeout left at 2 s, max_retries at 1) one
# after the other, each sending GETs and POSTs on its one persistent connection with pauses of
# 0.05-1.5 s (inside both timeouts), then Net::HTTP#finish. Loopback in one namespace.
# Writes samples/healthy-puma-ruby.pcap and .meta.json (x17r-meta.py --healthy checks that the
# capture and both logs show every request answered, no race, no retry, no reset).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x17r-lib.sh"
x17r_require

SCENARIO=healthy-puma-ruby
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
PORT=8000
cc_netns_up ccx17r-h
ccb_workdir
x17r_puma ccx17r-h 127.0.0.1 "$PORT" "" "$CCB_WORK/server.log"
mapfile -t SOFTWARE < <(x17r_software)
cc_capture_start "$OUT" "tcp port $PORT"
cc_in timeout 30 /usr/bin/ruby "$X17R_PROGRAMS/x17r-net-http-client.rb" healthy --base "http://127.0.0.1:$PORT" --log "$CCB_WORK/client.log" \
  --tag a --script GET:0,POST:0.05,GET:0.3,GET:0.8,POST:1.5,GET:0.2,POST:1.2,GET:0.1
cc_in timeout 30 /usr/bin/ruby "$X17R_PROGRAMS/x17r-net-http-client.rb" healthy --base "http://127.0.0.1:$PORT" --log "$CCB_WORK/client.log" \
  --tag b --script GET:0,GET:0.4,POST:1.0,GET:1.5,POST:0.05
cc_capture_stop
python3 "$X17R_PROGRAMS/x17r-meta.py" "$SCENARIO" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" --healthy \
  --server-port "$PORT" --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" \
  --configured '{"serverIdleTimeout": 20, "clientKeepAliveTimeout": 2}' \
  --configured-notes "Both left at their defaults. serverIdleTimeout: Puma's persistent_timeout (20 s); Puma 5 first waits FAST_TRACK_KA_TIMEOUT (0.2 s) in the worker thread for a next request, then hands the connection to its reactor with persistent_timeout, so an idle connection would be closed ~20.2 s after a response (never reached here). clientKeepAliveTimeout: Net::HTTP's keep_alive_timeout (2 s): before a reuse after a longer idle time it closes and reconnects (not reached either: the longest pause is 1.5 s)." \
  --capture-side "loopback in one namespace (client and server)" \
  --software "${SOFTWARE[@]}" \
  --description "Healthy keep-alive reuse: ${SOFTWARE[0]%% (*} (single mode, 16 threads, persistent_timeout left at its default 20 s) serving a small Rack app (GET 200, POST 201, JSON bodies with Content-Length); two Ruby Net::HTTP clients (${SOFTWARE[1]%% (*}; keep_alive_timeout 2 s and max_retries 1, the defaults) one after the other on loopback, each started once and sending GETs and POSTs on its one persistent connection with pauses of 0.05-1.5 s (inside both timeouts), then Net::HTTP#finish: the client sends the first FIN and Puma closes its side. Net::HTTP writes a POST's headers and its body in two send() calls (two segments; TCP_NODELAY is on, so no Nagle delay). Every request answered, no reset, no race, no retry: conncheck must report nothing."
