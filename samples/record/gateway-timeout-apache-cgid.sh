#!/usr/bin/env bash
# Apache's own 504, no proxy anywhere: Apache 2.4 (event MPM, mod_cgid, no mod_proxy loaded) with
# `CGIDScriptTimeout 2` (its `Timeout` left at 10, so the 2 s is mod_cgid's own setting) runs a CGI
# script that sleeps 4 s before writing its headers. mod_cgid gives up on it after 2 s, logs
# [cgid:error] "Script timed out before returning headers" and answers 504 Gateway Timeout itself,
# `Server: Apache`. curl on 127.0.0.1 fetches /index.html (200) and a quick CGI (201), then the
# slow CGI twice on one connection (504, 504), then /index.html again: Apache keeps the connection
# alive across its 504s. No upstream connection exists (mod_cgid talks to its script over a Unix
# socket). Blind round 17, appservers s07: such a 504 (with `Timeout 3`) was told "the proxy gave up
# on its upstream" and its remedy led with `ProxyTimeout`.
# Writes samples/gateway-timeout-apache-cgid.pcap and .meta.json (only when the capture and
# Apache's logs agree: programs/apache-cgid-meta.py).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
cc_require apache2 curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-apache-cgid
PORT=8080
CGID_TIMEOUT=2
cc_netns_up cc-x17-cgid
ccb_workdir
WORK="$CCB_WORK"
cca_docroot "$WORK/www"
# Sleeps before its headers: mod_cgid waits CGIDScriptTimeout for them.
printf '#!/bin/sh\nsleep 4\nprintf '"'"'Content-Type: text/plain\\r\\n\\r\\nlate\\n'"'"'\n' >"$WORK/www/cgi-bin/slow.sh"
chmod 755 "$WORK/www/cgi-bin/slow.sh"
cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen 127.0.0.1:$PORT" "KeepAlive On" "KeepAliveTimeout 5" \
  "Timeout 10" "CGIDScriptTimeout $CGID_TIMEOUT"
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
CLIENT_LOG="$WORK/client.log"
W='{"status":%{http_code},"time":%{time_total},"url":"%{url_effective}","port":%{local_port}}\n'
B="http://127.0.0.1:$PORT"
cc_capture_start "$OUT" "tcp port $PORT"
cc_in curl -s -m 10 -o /dev/null -w "$W" "$B/index.html" -o /dev/null -w "$W" -X POST -d 'a=1' "$B/cgi-bin/post.sh" >>"$CLIENT_LOG"
# Two slow scripts on one connection, then a static file on it: each 504 is Apache's own.
cc_in curl -s -m 10 -o /dev/null -w "$W" "$B/cgi-bin/slow.sh?a" -o /dev/null -w "$W" "$B/cgi-bin/slow.sh?b" \
  -o /dev/null -w "$W" "$B/index.html" >>"$CLIENT_LOG"
cc_capture_stop
python3 "$CCB_PROGRAMS/apache-cgid-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --cgid-timeout "$CGID_TIMEOUT" \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/apache-access.log" --client-log "$CLIENT_LOG" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_cgid; no mod_proxy)" "$(curl --version | head -1 | cut -d' ' -f1-2)" \
  || { sed 's/^\[[^]]*\] //' "$WORK/apache-error.log" >&2; exit 1; }
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
cat "$CLIENT_LOG"
grep -E 'timed out' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
