#!/usr/bin/env bash
# No upstream connect from Apache mod_proxy's connection pool: Apache 2.4 (event MPM, one child,
# 8 threads) on 127.0.0.2:8080 with `ProxyPass / http://127.0.0.3:9001/ max=1 acquire=1000`
# (ProxySourceAddress 127.0.0.2): the worker's pool holds at most one backend connection, and a
# request waits at most 1000 ms for it. Backend: a Node http server whose /slow?ms=2500 answers
# after 2.5 s. Four curl clients at once: one gets the pooled connection, the three others wait
# 1 s for it, then Apache logs AH00941 "(70007) The timeout specified has expired: HTTP: failed
# to acquire connection for (127.0.0.3:9001)" and answers 503, without any SYN to the backend.
# A fifth client 1.7 s later waits ~0.8 s, gets the connection when it is released and reuses it
# (no SYN either). The worker is not put in error state (retry= stays at its default).
# Writes samples/no-upstream-connect-apache-acquire.pcap and .meta.json (only when
# programs/x24a-meta.py's checks of the capture against Apache's, the backend's and curl's logs
# pass; up to 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 node curl python3 tcpdump tshark ip

SCENARIO=no-upstream-connect-apache-acquire
cc_netns_up cc-x24a-nuc
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass / http://127.0.0.3:9001/ max=1 acquire=1000"
SOFTWARE=("$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" "node $(node -v)"
  "$(curl --version | head -1 | cut -d' ' -f1-2)" "node http server (backend, b-http-server.js)")
CURL=(curl -sS -o /dev/null -m 8 -w '%{local_port} %{http_code} %{time_total} %{url}\n')

# One attempt: capture, clients, then the checks; 0 when the meta was written.
record() {
  local out="$WORK/$SCENARIO.pcap" meta="$WORK/$SCENARIO.meta.json" i backend apache pids=()
  rm -f "$WORK/client.log" "$WORK/proxy-access.log" "$WORK/apache-error.log"
  # Fresh servers each attempt: the capture must see the pool's one connection being opened.
  cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host 127.0.0.3 --port 9001 --keep-alive-timeout 10000 2>"$WORK/backend.log"
  backend="$CC_LAST_PID"
  cc_wait_port 9001
  cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
  apache="$CC_LAST_PID"
  cc_wait_port 8080
  cc_capture_start "$out" "tcp port 8080 or tcp port 9001"
  for i in 1 2 3 4; do
    cc_in "${CURL[@]}" "http://127.0.0.2:8080/slow?ms=2500&client=$i" >>"$WORK/client.log" &
    pids+=("$!")
    sleep 0.03
  done
  sleep 1.6
  cc_in "${CURL[@]}" "http://127.0.0.2:8080/slow?ms=2500&client=5" >>"$WORK/client.log" &
  pids+=("$!")
  wait "${pids[@]}" || true
  cc_capture_stop
  ccb_stop "$apache"
  ccb_stop "$backend"
  cat "$WORK/client.log"
  python3 "$CCB_PROGRAMS/x24a-meta.py" "$SCENARIO" --capture "$out" --meta "$meta" \
    --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" \
    --backend-log "$WORK/backend.log" --curl-log "$WORK/client.log" --software "${SOFTWARE[@]}" || return 1
  cp "$out" "$meta" "$CC_SAMPLES_DIR/"
}

for attempt in 1 2 3; do
  if record; then
    grep -E 'AH00941' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
    exit 0
  fi
  echo "record: attempt $attempt did not show the scenario; retrying" >&2
done
exit 1
