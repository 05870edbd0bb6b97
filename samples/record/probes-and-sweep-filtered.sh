#!/usr/bin/env bash
# probes-and-sweep-filtered: health-check probes and a port sweep against ports an iptables rule
# drops (SYN DROP on 127.0.0.2:9002 and :9012), nothing else failing.
# Part 1, from 127.0.0.1: a connect check with a 0.8 s timeout (as `nc -z -w 1`) to 127.0.0.2:8001
# (open) and :9002 (filtered) every ~2 s, 3 rounds: each probe of 9002 sends one SYN and gives up
# after 0.8 s, before the kernel would retransmit it; the ~2 s between rounds is the prober's period, not a connect timeout, and nothing
# waits on 9002 (syn-unanswered at info, no clientConnectTimeout).
# Part 2, 5 s later, from 127.0.0.5: one sweep of the same checks over 14 ports twice (8001-8006 open,
# 9001 and 9003-9008 closed, 9012 filtered): a port scan (connection-refused at info) that counts
# 14 ports, 7 refused (14 refusals), 6 open and 9012 filtered, with no syn-unanswered of its own.
# Namespace fxq-probes. Writes samples/probes-and-sweep-filtered.pcap + meta.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
cc_require tcpdump python3 iptables ip

out="$CC_SAMPLES_DIR/probes-and-sweep-filtered.pcap"
meta="$CC_SAMPLES_DIR/probes-and-sweep-filtered.meta.json"
cc_netns_up fxq-probes
cc_in iptables -A INPUT -p tcp --dport 9002 --syn -j DROP
cc_in iptables -A INPUT -p tcp --dport 9012 --syn -j DROP
# Open ports: accept and close, never a byte.
cc_bg python3 -c '
import selectors, socket
sel = selectors.DefaultSelector()
for port in range(8001, 8007):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.2", port)); s.listen(64); sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        conn, _ = key.fileobj.accept(); conn.close()
'
for p in 8001 8002 8003 8004 8005 8006; do cc_wait_port "$p"; done

cc_capture_start "$out" "tcp"
# A connect check like `nc -z -w 1`, with a 0.8 s timeout: nc's 1 s races the kernel's first SYN
# retransmission (at 1 s), and the probe this sample records is the one that never retransmits.
probe() { cc_in python3 "$PROBE" "$@"; }
PROBE="$(mktemp --suffix=.py)"
cat >"$PROBE" <<'PY'
import socket, sys
src, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
s.bind((src, 0))
s.settimeout(0.8)
try:
    s.connect(("127.0.0.2", port))
    print(port, "open")
except OSError as e:
    print(port, type(e).__name__)
finally:
    s.close()
PY
for round in 1 2 3; do
  probe 127.0.0.1 8001
  probe 127.0.0.1 9002
  [ "$round" = 3 ] || sleep 1.2
done
sleep 5
for pass in 1 2; do
  for p in 8001 8002 8003 8004 8005 8006 9001 9012 9003 9004 9005 9006 9007 9008; do
    probe 127.0.0.5 "$p"
  done
done
rm -f "$PROBE"
cc_capture_stop

cat >"$meta" <<JSON
{
  "scenario": "probes-and-sweep-filtered",
  "description": "Health-check probes (python connect checks with a 0.8 s timeout, like nc -z -w 1, every ~2 s, 3 rounds, from 127.0.0.1) of 127.0.0.2:8001 (open) and 127.0.0.2:9002, where an iptables rule drops every SYN: each probe of 9002 sends one SYN and gives up after 0.8 s, before its retransmission; nothing waits on 9002. Then, from 127.0.0.5, one sweep of the same checks over 14 ports of 127.0.0.2 twice: 8001-8006 open, 9001 and 9003-9008 closed (RST), 9012 dropped. Expected: syn-unanswered at info for 9002 (independent probes, no connect timeout), and one port-scan diagnosis (connection-refused, info) counting 14 ports, 7 refused (14 refusals), 6 open, 9012 filtered, with no syn-unanswered for 9012.",
  "software": ["python3 $(python3 -c 'import platform; print(platform.python_version())') socket connect checks and listeners", "iptables SYN drop rule"],
  "configured": {},
  "silent": false,
  "facts": {}
}
JSON
echo "wrote $out"
