#!/usr/bin/env bash
# response-truncated-hidden-by-caddy (blind round 15, S12): a backend's cut that the proxy in front
# hides. Caddy 2.6 reverse_proxy on 127.0.0.2:8080 (handle_path /stream/*) -> a Go net/http backend
# (programs/hidden-cut-go-server.go, http.Server{WriteTimeout: 1s}) on 127.0.0.3:9003 streaming
# /slow?chunks=N&ms=M: 64-byte chunks M ms apart, each flushed. Past 1 s the backend's next write
# fails ("i/o timeout") and net/http closes the upstream connection without the last chunk; Caddy logs
# "reading from backend: unexpected EOF" / "aborting with incomplete response", yet ends its own
# chunked response to curl with the last chunk: curl exits 0 with a 200 and a short body. Requests
# (curl, one connection each): /stream/slow?chunks=10&ms=200 (cut), /stream/slow?chunks=3&ms=200 (0.4 s:
# whole on both legs, the near miss), /stream/slow?chunks=8&ms=300 (cut). tcpdump on the namespace's
# loopback holds both legs (ports 8080 and 9003). Ground truth: curl's exit code, status and size,
# the backend's log (WRITE-ERR / DONE and bytes written), Caddy's error log; written only if they
# agree (two cuts curl took as whole, one healthy stream). One run takes ~5 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require caddy go curl tcpdump ip python3

SCENARIO=response-truncated-hidden-by-caddy
cc_netns_up cchidden-caddy
WORK="$(mktemp -d)"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"

(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/gosrv" "$HERE/programs/hidden-cut-go-server.go")
cat >"$WORK/Caddyfile" <<EOF
{
	admin off
	auto_https off
	log {
		output file $WORK/caddy.log
		format json
		level DEBUG
	}
}
http://127.0.0.2:8080 {
	handle_path /stream/* {
		reverse_proxy 127.0.0.3:9003
	}
}
EOF

cc_bg "$WORK/gosrv" -addr 127.0.0.3:9003 -wt 1s >"$WORK/gosrv.log" 2>&1
cc_wait_port 9003
cc_bg caddy run --config "$WORK/Caddyfile" --adapter caddyfile
CADDY_PID="$CC_LAST_PID"
cc_wait_port 8080

cc_capture_start "$OUT" "tcp port 8080 or tcp port 9003"
for q in "chunks=10&ms=200" "chunks=3&ms=200" "chunks=8&ms=300"; do
  set +e
  cc_in curl -s -o "$WORK/body.out" -w "%{http_code} %{size_download}" -m 10 "http://127.0.0.2:8080/stream/slow?$q" >"$WORK/curl.one" 2>&1
  rc=$?
  set -e
  echo "$q $(cat "$WORK/curl.one") $rc" | tee -a "$WORK/curl.txt"
  sleep 0.3
done
cc_capture_stop
kill "$CADDY_PID" 2>/dev/null || true
wait "$CADDY_PID" 2>/dev/null || true

python3 "$HERE/programs/hidden-cut-meta.py" "$META" "$WORK" "caddy $(caddy version | cut -d' ' -f1)" "$(go version | cut -d' ' -f3)" "$(curl --version | head -1 | cut -d' ' -f1-2)"
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
rm -rf "$WORK"
