#!/usr/bin/env bash
# Keep-alive race (stale reuse) over IPv6 loopback, captured with tcpdump -s 96: a Node http
# server closes idle sockets after 2.0 s (keepAliveTimeout 1000 ms + Node's 1 s buffer); a raw
# net client acting as a pool that ignores 'end' hands the dead connection out 25 ms (GET) and
# 50 ms (POST) after the FIN arrived, gets RST, and retries on a new connection. Ethernet 14 +
# IPv6 40 + TCP 32 (timestamps) = 86 bytes of headers: each packet keeps 10 bytes of payload
# (`POST /cart`, `HTTP/1.1 2`), so every request and status line is cut by the snaplen.
# Writes samples/snaplen-96-ipv6-keepalive-race.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require node python3 tcpdump tshark ip

SCENARIO=snaplen-96-ipv6-keepalive-race
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up fs6-snaplen
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CCB_PROGRAMS/b-http-server.js" --host ::1 --port 8080 --keep-alive-timeout 1000 2>"$WORK/server.log"
cc_wait_port 8080
cc_capture_start "$OUT" "tcp port 8080" -s 96
cc_in node "$CCB_PROGRAMS/b-race-client.js" --host ::1 --port 8080 --mode stale \
  --nominal-idle-ms 2000 --stale-delays 25,50 --log "$WORK/client.log"
cc_capture_stop
cat "$WORK/client.log"

# The capture must show what the scenario claims: every data packet cut to 10 bytes, and the
# server answering the two stale requests with RST.
cut=$(tshark -r "$OUT" -Y 'tcp.len > 0 && frame.cap_len < frame.len' -T fields -e frame.number | wc -l)
short=$(tshark -r "$OUT" -Y 'tcp.len > 10 && frame.cap_len == 96' -T fields -e frame.number | wc -l)
rsts=$(tshark -r "$OUT" -Y 'tcp.flags.reset == 1 && tcp.srcport == 8080' -T fields -e frame.number | wc -l)
[ "$cut" -gt 0 ] && [ "$cut" = "$short" ] || { echo "record: expected every data packet cut at 96 bytes ($cut cut, $short at 96)" >&2; exit 1; }
[ "$rsts" -ge 2 ] || { echo "record: expected the server's RST to the 2 stale requests, saw $rsts" >&2; exit 1; }

python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$cut" "$rsts" <<'PY'
import json, sys
meta_path, cut, rsts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
meta = {
  "scenario": "snaplen-96-ipv6-keepalive-race",
  "description": "keepalive-race-stale over IPv6 loopback (::1), captured with tcpdump -s 96: a Node http server (keepAliveTimeout 1000 ms: idle sockets closed after 2.0 s) and a raw net client acting as a pool that ignores 'end' and hands the dead connection out 25 and 50 ms after the server's FIN (GET, then POST); the server answers RST, and the client retries on a new connection. Ethernet + IPv6 + TCP with timestamps take 86 of the 96 bytes: every data packet keeps 10 bytes of payload ('GET /cart/', 'HTTP/1.1 2'), so every request and status line is cut inside itself. The requests must still be read as HTTP (not 'neither HTTP nor TLS') and the races found.",
  "software": ["node v20 http server", "node net (raw client acting as a buggy pool)", "tcpdump -s 96"],
  "configured": {"serverIdleTimeout": 2.0, "snaplen": 96},
  "expect": [{"kind": "keepalive-race", "server": "[::1]:8080", "notes": "stale reuse twice; each request line cut to 10 bytes by the snaplen"}],
  "facts": {"dataPacketsCut": cut, "serverRsts": rsts},
}
with open(meta_path, "w") as f:
    json.dump(meta, f, indent=2)
    f.write("\n")
PY
