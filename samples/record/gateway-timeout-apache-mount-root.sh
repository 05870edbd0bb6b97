#!/usr/bin/env bash
# Gateway timeouts from Apache mod_proxy on a mount point mapped onto the backend's root:
# Apache 2.4 (event MPM, one child) on 127.0.0.2:8080 with `ProxyPass /b/ http://127.0.0.3:9001/
# timeout=1` (ProxySourceAddress 127.0.0.2) in front of gunicorn with ONE sync worker (--timeout 30,
# programs/x9-wsgi-app.py). curl, on one connection: /b/items/1 (sent on as /items/1: 200), then
# /b/sleep/3/a (502 after 1 s, AH01102 "(70007) The timeout specified has expired"; the worker keeps
# sleeping), then at once /b/ (sent on as GET /, queued behind the busy worker: 502 after 1 s again;
# gunicorn answers it later into the closed connection), then /b/items/2 once the worker is free.
# Blind round 15, S5: the second 502's upstream GET / was told "not in the capture" (a bare `/`
# never paired with `/b/`). Writes samples/gateway-timeout-apache-mount-root.pcap and .meta.json
# (only when the capture passes programs/apache-proxy-meta.py's checks against Apache's logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
source "$HERE/lib-apache-proxy.sh"
cc_require apache2 gunicorn curl python3 tcpdump tshark ip

SCENARIO=gateway-timeout-apache-mount-root
cc_netns_up cc-x40-mnt
ccb_workdir
WORK="$CCB_WORK"
ccp_apache_proxy_conf "$WORK/apache.conf" "Listen 127.0.0.2:8080" "ProxySourceAddress 127.0.0.2" \
  "ProxyPass /b/ http://127.0.0.3:9001/ timeout=1"
: >"$WORK/app.log"
X9_APP_LOG="$WORK/app.log" cc_bg /usr/bin/gunicorn --chdir "$CCB_PROGRAMS" -b 127.0.0.3:9001 -w 1 -k sync --timeout 30 \
  --access-logfile "$WORK/gunicorn-access.log" --error-logfile "$WORK/gunicorn-error.log" 'x9-wsgi-app:app'
cc_wait_port 9001
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_wait_port 8080
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
CLIENT_LOG="$WORK/client.log"
W='{"status":%{http_code},"time":%{time_total},"url":"%{url_effective}"}\n'
cc_capture_start "$OUT" "tcp port 8080 or tcp port 9001"
# One connection, four requests in order (curl reuses it; Apache keeps it alive across its 502s).
cc_in curl -s -m 10 -o /dev/null -w "$W" http://127.0.0.2:8080/b/items/1 \
  -o /dev/null -w "$W" http://127.0.0.2:8080/b/sleep/3/a \
  -o /dev/null -w "$W" http://127.0.0.2:8080/b/ >>"$CLIENT_LOG"
# The worker sleeps until about 3 s after /b/sleep/3/a arrived, then answers GET /: free by then.
sleep 2
cc_in curl -s -m 10 -o /dev/null -w "$W" http://127.0.0.2:8080/b/items/2 >>"$CLIENT_LOG"
sleep 0.5
cc_capture_stop
python3 "$CCB_PROGRAMS/apache-proxy-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --timeout 1 --mount /b \
  --error-log "$WORK/apache-error.log" --access-log "$WORK/proxy-access.log" --client-log "$CLIENT_LOG" \
  --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM, mod_proxy_http)" \
    "gunicorn $(/usr/bin/gunicorn --version 2>&1 | sed 's/.*version \([0-9.]*\).*/\1/') (sync worker, -w 1)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
grep -E 'AH01102' "$WORK/apache-error.log" | sed 's/^\[[^]]*\] //' || true
