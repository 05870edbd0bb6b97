#!/usr/bin/env bash
# port-reuse-unseen-handshake: a 4-tuple reused by a new connection whose SYN and SYN-ACK the
# capture lost, and a near miss. A client bound to local port 40001 makes two connections to a
# Python server 1.5 s apart (the server answers Connection: close and closes first, so it holds
# TIME_WAIT and Linux gives the new connection a server ISN 65537 past the old one's; the
# client's ISN moves with the clock). Then, from port 40002, one connection fetches 6 MiB sent
# in two halves 1.5 s apart. The capture is real and whole; it is then cut with editcap: the
# second 40001 connection's SYN and SYN-ACK are removed (what a lossy capture such as
# `tcpdump -B 32` under load drops), and on 40002 the packets from 1 MiB before the pause to
# 1 MiB after it (a real hole of lost packets in a live connection, idle 1.5 s in the file).
# The first must split into two connections (the second seen mid-stream), the second must not.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
cc_require tcpdump tshark editcap python3 ip
scenario=port-reuse-unseen-handshake
out="$CC_SAMPLES_DIR/$scenario.pcap"
whole="$(mktemp --suffix=.pcap)"
prog="$here/programs/fx5e-reuse.py"
port=8080

cc_netns_up fx5e-reuse
cc_bg python3 "$prog" server 20
cc_wait_port "$port"
cc_capture_start "$whole" "tcp port $port"
cc_in timeout 15 python3 "$prog" client
cc_capture_stop

# Frames to cut: the second SYN from 40001 and its SYN-ACK; on 40002, server segments whose
# relative sequence number lies within 1 MiB of the pause (3 MiB + headers), and every packet between.
fields() { tshark -r "$whole" -Y "$1" -T fields -e frame.number; }
syns="$(fields 'tcp.srcport==40001 && tcp.flags.syn==1 && tcp.flags.ack==0' | sed -n 2p)"
synacks="$(fields 'tcp.dstport==40001 && tcp.flags.syn==1 && tcp.flags.ack==1' | sed -n 2p)"
first="$(fields 'tcp.srcport==8080 && tcp.dstport==40002 && tcp.seq > 2097152 && tcp.len > 0' | head -1)"
last="$(fields 'tcp.srcport==8080 && tcp.dstport==40002 && tcp.seq > 4194304 && tcp.len > 0' | head -1)"
[ -n "$syns" ] && [ -n "$synacks" ] && [ -n "$first" ] && [ -n "$last" ] || { echo "record: frames to cut not found" >&2; exit 1; }
editcap -F nsecpcap "$whole" "$out" "$syns" "$synacks" "$first-$((last - 1))"
frames="$(tshark -r "$whole" -T fields -e frame.number | wc -l)"
rm -f "$whole"

python3 - "$CC_SAMPLES_DIR/$scenario.meta.json" "$syns" "$synacks" "$first" "$((last - 1))" "$frames" <<'PY'
import json, platform, sys
path, syn, synack, first, last, frames = sys.argv[1], *map(int, sys.argv[2:])
json.dump({
    "scenario": "port-reuse-unseen-handshake",
    "description": "A cut of a real capture (loopback in a network namespace, then editcap). Client port 40001: GET /close answered with Connection: close (the server closes first and holds TIME_WAIT), then 1.5 s later a new connection from the same port; the capture's copy of the new connection's SYN and SYN-ACK was removed, so the file shows its data with a client sequence number far from the old connection's and an acknowledgement past the server's FIN (Linux chose the server ISN 65537 past the old one's next sequence number). conncheck must start a new connection there (seen mid-stream), not count the jump as missing bytes. Client port 40002 (the near miss): one GET /big of 6 MiB sent in two halves 1.5 s apart; the frames from 1 MiB before the pause to 1 MiB after it were removed: a real hole in one live connection, kept as one connection with 2 MiB of capture loss.",
    "software": [f"python {platform.python_version()} socket server and client (programs/fx5e-reuse.py)", "Linux loopback"],
    "configured": {},
    "setup": {"reusedLocalPort": 40001, "pauseSeconds": 1.5, "nearMissLocalPort": 40002, "responseBytes": 6291456},
    "cut": {"framesInWholeCapture": frames, "removed": {"reusedSyn": syn, "reusedSynAck": synack, "nearMissHole": [first, last]}},
    "silent": True, "observed": {"portReusesUnseen": 1, "connections": 3, "nearMissConnections": 1},
}, open(path, "w"), indent=2)
open(path, "a").write("\n")
PY
echo "wrote $out"
