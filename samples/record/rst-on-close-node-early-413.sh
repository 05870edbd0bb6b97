#!/usr/bin/env bash
# rst-on-close-node-early-413: a Node http server answers 413 (Connection: close) to uploads that
# announce more than 1 KiB, without reading them (programs/c-node-early-413-server.js). Node closes
# such a connection itself: its FIN first (sent with a zero window, the receive buffer full of the
# unread upload), then, when the socket is destroyed right behind it, close() finds the upload
# unread and the kernel sends RST. curl uploads 3 MB twice with `Expect:` turned off (the body goes
# at once): two resets on close. Near misses: a 200-byte POST read whole and closed with FINs, and
# a 3 MB upload with curl's `Expect: 100-continue`, refused with 413 before its body was sent
# (nothing unread: FINs).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl node ip
scenario=rst-on-close-node-early-413
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080

cc_netns_up "$(cc_c_ns "$scenario")"
log="$(mktemp)"
cc_bg node "$CC_C_PROGRAMS/c-node-early-413-server.js" --port "$port" --max-body 1024 --lifetime 20 >"$log"
cc_wait_port "$port"
big="$(mktemp)"; small="$(mktemp)"
head -c 3000000 /dev/zero | tr '\0' 'x' >"$big"
head -c 200 /dev/zero | tr '\0' 'y' >"$small"

cc_c_capture_start "$out" "tcp port $port"
# -H 'Expect:': send the body at once instead of waiting for 100-continue.
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary "@$big" "http://127.0.0.1:$port/upload/1" || true
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' --data-binary "@$small" "http://127.0.0.1:$port/upload/small" || true
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' --data-binary "@$big" "http://127.0.0.1:$port/upload/expect" || true
sleep 0.2
cc_c_run 5 curl -sS -o /dev/null -w '%{http_code}\n' -H 'Expect:' --data-binary "@$big" "http://127.0.0.1:$port/upload/2" || true
cc_c_capture_stop
rm -f "$big" "$small"
cat "$log" >&2
grep -q '413 before 100-continue' "$log" || { echo "record: the Expect upload was not refused before its body" >&2; exit 1; }
rm -f "$log"

cc_c_meta "$scenario" "$out" '{"requestBodyBytes": 3000000, "serverMaxBody": 1024}' \
  "curl $(cc_c_curl_version)" "node $(cc_c_node_version) http server (413 without reading the upload)"
