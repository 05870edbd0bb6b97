#!/usr/bin/env bash
# reset-before-response-upload: a server process dies while uploads are still arriving. The python
# stuck server (programs/c-stuck-server.py) serves its first connection (a GET from curl), then
# accepts later ones without ever reading them. Two curl uploads (POST, 1 MiB each, 64 KiB/s, no
# Expect: 100-continue) start at once; 1.0 s later the server is killed (SIGKILL, by PID), like a
# crash: its kernel resets both connections in the same instant (their unread bytes make it a RST),
# with the request bodies unfinished and no response begun. curl's own errors are printed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-c.sh"
cc_require tcpdump tshark curl ip
scenario=reset-before-response-upload
out="$CC_SAMPLES_DIR/$scenario.pcap"
port=8080
upload_bytes=1048576
limit_rate=64K

cc_netns_up "$(cc_c_ns "$scenario")"
work="$(mktemp -d)"
trap 'cc_cleanup; rm -rf "$work"' EXIT   # after cc_netns_up, whose trap this one extends
head -c "$upload_bytes" /dev/zero | tr '\0' 'a' >"$work/body"
cc_bg "$CC_C_PY" "$CC_C_PROGRAMS/c-stuck-server.py" --port "$port" --serve 1 --lifetime 20
server="$CC_LAST_PID"
cc_wait_port "$port"

cc_c_capture_start "$out" "tcp port $port"
cc_c_run 5 curl -sS -o /dev/null "http://127.0.0.1:$port/warmup"
sleep 0.2
uploads=()
for i in 1 2; do
  cc_bg curl -sS -o /dev/null -H 'Expect:' --limit-rate "$limit_rate" --max-time 10 \
    --data-binary "@$work/body" "http://127.0.0.1:$port/upload-$i"
  uploads+=("$CC_LAST_PID")
done
sleep 1.0
kill -KILL "$server"
wait "$server" 2>/dev/null || true
for pid in "${uploads[@]}"; do cc_c_wait_pid 6 "$pid"; done
cc_c_capture_stop

cc_c_meta "$scenario" "$out" '{"serverKilledAfter": 1.0, "uploads": 2, "uploadBytes": '"$upload_bytes"', "limitRate": "'"$limit_rate"'"}' \
  "curl $(cc_c_curl_version) (--data-binary, --limit-rate $limit_rate, Expect disabled)" \
  "python $(cc_c_py_version) socket server (killed with SIGKILL)"
