#!/usr/bin/env bash
# Backend connect timeout behind lighttpd 1.4.69 (Debian lighttpd) as a reverse proxy (mod_proxy):
# lighttpd on 127.0.0.2:8080 with proxy.server rules "/x/" to 127.0.0.3:9009 (nothing listens there and
# an nftables rule drops every SYN to it: a backend host gone dark) and "" to a Node http server on
# 127.0.0.3:9001, each host with "connect-timeout" => 3 (and read-/write-timeout 3). One namespace, its
# own loopback. curl (one request per connection) fetches /ok/1 and /ok/2, then /x/1..3 0.3 s apart
# (at once), then, 2.5 s later (after lighttpd's disable-time, 1 s by default but on whole-second
# ticks, has re-enabled the host), /x/4, again 2.5 s later a POST /x/5, and at once after it /x/6. lighttpd's non-blocking
# connect() goes unanswered (the kernel retransmits the SYN once a second); its connect-timeout is
# checked on its once-a-second tick with whole-second stamps, so it gives up later than 3 s, logs
# "establishing connection failed: socket: tcp:127.0.0.3:9009: Connection timed out", disables the
# host ("all handlers for ... are down") and answers 503 Service Unavailable (Connection: close).
# /x/6 comes while the host is disabled: 503 at once, no SYN. Writes samples/connect-timeout-lighttpd.pcap
# and .meta.json (only when programs/x22p-meta.py finds the capture and the logs agree).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x22p-lib.sh"
cc_require lighttpd node curl nft python3 tcpdump tshark ip

SCENARIO=connect-timeout-lighttpd
TIMEOUT=3
x22p_setup ccx22p-ct "$TIMEOUT" "$(x22p_rule /x/ 9009 "$TIMEOUT")" "$(x22p_rule "" 9001 "$TIMEOUT")"
ccb_drop_syns "$CC_NS" ccx22p_ct 9009
x20n_capture_begin "tcp port 8080 or tcp port 9001 or tcp port 9009"
x20n_curl http://127.0.0.2:8080/ok/1
x20n_curl http://127.0.0.2:8080/ok/2
x20n_curl_three http://127.0.0.2:8080/x/
sleep 2.5                          # past lighttpd's disable-time (1 s, on whole-second ticks: 1.5 s was not always enough)
x20n_curl http://127.0.0.2:8080/x/4
sleep 2.5
x20n_curl -d '{"item":5}' -H 'content-type: application/json' http://127.0.0.2:8080/x/5
x20n_curl http://127.0.0.2:8080/x/6    # while the host is disabled: 503 at once
x20n_capture_end                   # lighttpd flushes its access log on exit
cc_in nft delete table inet ccx22p_ct
cat "$CCB_WORK/curl.log"
python3 "$CCB_PROGRAMS/x22p-meta.py" "$SCENARIO" --mode connect --capture "$OUT" --meta "$META" \
  --error-log "$CCB_WORK/lighttpd-error.log" --access-log "$CCB_WORK/access.log" --curl-log "$CCB_WORK/curl.log" \
  --backend-log "$CCB_WORK/backend.log" --timeout "$TIMEOUT" \
  --software "$(x22p_software)" "node $(node -v) http.Server (programs/b-http-server.js) as the working backend" "$(curl --version | head -1 | cut -d' ' -f1-2)" "nftables SYN drop rule" \
  --capture-side "one namespace's loopback: both legs (client 127.0.0.1 -> lighttpd 127.0.0.2:8080; lighttpd 127.0.0.1 -> 127.0.0.3:9001 and :9009)" \
  --configured "{\"lighttpdConnectTimeout\": $TIMEOUT}" \
  --configured-notes "lighttpd.conf: proxy.server host option \"connect-timeout\" => $TIMEOUT (read-timeout and write-timeout $TIMEOUT too; all default to 0, none). lighttpd checks it on its once-a-second maintenance with whole-second stamps, so the waits measured (observed.waitSeconds) are longer than $TIMEOUT s. After a failed connect it disables the host for disable-time (1 s by default): a request then is answered 503 at once with no connection attempt (/x/6). mod_proxy has no source-address option: backend connections leave from 127.0.0.1. The 503 page carries Server: lighttpd/1.4.69 and Connection: close. lighttpd checks these timeouts once a second against whole-second clocks: the waits were 4.0-5.6 s for a setting of 3 s, so conncheck reports the waits' value and says the setting lies 1 to 2 s or more below it; the configured value is kept as lighttpdConnectTimeout, not as proxyConnectTimeout, which the sample test would compare with the waits." \
  --description "Backend connect timeout behind lighttpd 1.4.69 mod_proxy as a reverse proxy (proxy.server connect-timeout $TIMEOUT) on one namespace's loopback, both legs captured: /x/ goes to 127.0.0.3:9009, where nothing listens and nftables drops every SYN (a host gone dark), the rest to a Node http server on 127.0.0.3:9001. curl fetches /ok/1 and /ok/2 (200), then /x/1..3 at once (0.3 s apart), /x/4, a POST /x/5 (each after the host's disable-time), and /x/6 right after /x/5. Each /x/1..5 request's SYN is retransmitted once a second, never answered; lighttpd's connect-timeout fires on its once-a-second tick, later than $TIMEOUT s (see observed): it logs 'establishing connection failed ... Connection timed out', disables the host and answers 503 Service Unavailable, then closes. /x/6 finds the host disabled: 503 at once, no SYN."
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
if [ -n "${X22P_LOG_DIR:-}" ]; then mkdir -p "$X22P_LOG_DIR"; cp "$CCB_WORK"/*.log "$CCB_WORK/lighttpd.conf" "$X22P_LOG_DIR/" 2>/dev/null || true; fi
