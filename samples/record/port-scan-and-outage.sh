#!/usr/bin/env bash
# port-scan-and-outage: a connect scan of 40 closed ports and one open port (each tried once,
# from 127.0.0.5), next to a real outage: an HTTP server on 127.0.0.1:8081 stopped for about 2 s
# while a client on 127.0.0.6 keeps asking it every 0.3 s (one kept-alive connection, connected
# again after each failure). The scan's refusals
# are a scan's probes (info, one diagnosis); the outage's refusals are an outage (warning).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
. "$here/lib-a.sh"
cc_require tcpdump tshark capinfos node python3 ip

out="$CC_SAMPLES_DIR/port-scan-and-outage.pcap"
scanned_open=8080
outage_port=8081
log="$(mktemp)"
cc_netns_up cc-a-scan
cc_in ip addr add 127.0.0.5/8 dev lo 2>/dev/null || true

cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$scanned_open"
cc_wait_port "$scanned_open"
cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$outage_port"
outage_pid="$CC_LAST_PID"
cc_wait_port "$outage_port"

cc_capture_start "$out" "tcp" --immediate-mode
cc_a_run 10 python3 "$CC_A_PROGRAMS/x36-scan-and-outage.py" scan >>"$log"
# The outage: the client polls for 5 s; the server is stopped after 1 s and started again 2 s later.
cc_bg python3 "$CC_A_PROGRAMS/x36-scan-and-outage.py" poll 5 >>"$log"
poller_pid="$CC_LAST_PID"
sleep 1
kill "$outage_pid"
wait "$outage_pid" 2>/dev/null || true
sleep 2
cc_bg node "$CC_A_PROGRAMS/clean-http-server.js" --host 127.0.0.1 --port "$outage_port"
cc_wait_port "$outage_port"
wait "$poller_pid" >>"$log" 2>&1 || true
sleep 0.3
cc_capture_stop

refused_polls=$(grep -c 'poll .* ConnectionRefusedError' "$log" || true)
[ "$refused_polls" -ge 3 ] || { cat "$log" >&2; echo "record: expected at least 3 refused polls, got $refused_polls" >&2; exit 1; }
closed_scanned=$(grep -c 'scan 200[0-9][0-9] errno=111' "$log" || true)
[ "$closed_scanned" = 40 ] || { cat "$log" >&2; echo "record: expected 40 refused scan probes, got $closed_scanned" >&2; exit 1; }
# The poll that was on the kept-alive connection when the server stopped: its request met the
# closed socket (a stale reuse the restart caused), reported as keepalive-race.
stale_ports=$(grep -E 'poll [0-9]+ (RemoteDisconnected|ConnectionResetError|BrokenPipeError|BadStatusLine) port=[0-9]+' "$log" | sed 's/.*port=//' || true)
rm -f "$log"

cc_a_meta "$out" '{
  "scenario": "port-scan-and-outage",
  "description": "A connect scan from 127.0.0.5: one connect() to each of the closed ports 20001-20040 of 127.0.0.1 (each answered RST: ECONNREFUSED) and to the open port 8080 (accepted, closed at once without a byte), 20 ms apart. Then an outage: a Node HTTP server on 127.0.0.1:8081 is stopped for about 2 s while python http.client on 127.0.0.6 asks it for /health every 0.3 s on one kept-alive connection, connecting again after each failure; the attempts while it is down are refused. The scan probes are reported as such (info, one diagnosis); the outage refusals as a restart (errors: each failed a /health call, but the last, whose next connect got through at once: a warning).",
  "software": ["python3 socket and http.client", "node v20 http server"],
  "configured": {"scannedPorts": 41, "scannedClosedPorts": 40, "scanSpacingSeconds": 0.02, "outagePort": 8081, "pollSpacingSeconds": 0.3, "outageSeconds": 2},
  "silent": false,
  "expectMode": "refused",
  "expectNotes": {"refused": "SYN answered by RST,ACK: a scan probe of a closed port (127.0.0.5), or a poll while the server on 8081 was down (127.0.0.6)", "clean": "the scan probe of the open port, or a poll answered 200: no finding"},
  "facts": {}
}' "$scanned_open" "$outage_port"
# pcap-facts' "refused" mode expects nothing on the connections it does not mark refused: the
# stale reuse's connection expects the race.
python3 - "$CC_SAMPLES_DIR/port-scan-and-outage.meta.json" $stale_ports <<'PY'
import json, sys
path, ports = sys.argv[1], set(sys.argv[2:])
meta = json.load(open(path))
marked = 0
for e in meta["expect"]:
    if e["kind"] is None and e["client"].startswith("127.0.0.6:") and e["client"].rsplit(":", 1)[1] in ports:
        e["kind"] = "keepalive-race"
        e["notes"] = "the poll on the kept-alive connection when the server was stopped: its request met the closed socket (FIN, then RST); the restart's close, not an idle timeout"
        marked += 1
if marked != len(ports):
    sys.exit(f"record: {len(ports)} stale polls logged, {marked} connections marked")
json.dump(meta, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
