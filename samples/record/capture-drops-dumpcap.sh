#!/usr/bin/env bash
# A capture that dropped packets and says so: dumpcap (Wireshark's capture engine) with the
# smallest kernel buffer (-B 1, 1 MiB) records healthy keep-alive load from ApacheBench against
# a Node http server; for one burst of the load the recorder stops dumpcap (SIGSTOP, its own
# PID), so the kernel buffer fills and the kernel drops what no longer fits, then lets it go on
# (SIGCONT) for a last burst. dumpcap writes pcapng with an interface statistics block whose
# isb_ifdrop is the kernel's drop count. ab reports no failed requests: nothing failed on the
# wire, the capture lost packets. Snaplen 256.
# Writes samples/capture-drops-dumpcap.pcapng and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require ab node python3 dumpcap ip

SCENARIO=capture-drops-dumpcap
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcapng"
KEEPALIVE_MS=5000

cc_netns_up ccdrops
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CC_RECORD_DIR/programs/x13-node-server.js" --host 127.0.0.1 --port 8080 \
  --keep-alive-timeout "$KEEPALIVE_MS" --log "$WORK/access.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080

rm -f "$OUT"
cc_bg dumpcap -q -i lo -B 1 -s 256 -f "tcp port 8080" -w "$WORK/capture.pcapng"
DUMPCAP_PID="$CC_LAST_PID"
# dumpcap says nothing on stdout when ready with -q; wait (bounded) for its file to appear.
for i in $(seq 1 100); do [ -s "$WORK/capture.pcapng" ] && break; sleep 0.05; done
[ -s "$WORK/capture.pcapng" ] || { echo "record: dumpcap did not start" >&2; exit 1; }
sleep 0.5

cc_in timeout 20 ab -q -k -c 2 -n 100 http://127.0.0.1:8080/item >"$WORK/ab-1.log"
kill -STOP "$DUMPCAP_PID"
cc_in timeout 30 ab -q -k -c 4 -n 4000 http://127.0.0.1:8080/item >"$WORK/ab-2.log"
kill -CONT "$DUMPCAP_PID"
sleep 0.5
cc_in timeout 20 ab -q -k -c 2 -n 100 http://127.0.0.1:8080/item >"$WORK/ab-3.log"
sleep 0.3
kill -INT "$DUMPCAP_PID"; wait "$DUMPCAP_PID" 2>/dev/null || true
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
cp "$WORK/capture.pcapng" "$OUT"
chmod 644 "$OUT"
grep -E 'Complete|Failed' "$WORK"/ab-*.log

python3 - "$OUT" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$WORK" "$(node --version)" <<'PY'
import json, re, struct, sys, glob
out, meta_path, work, node = sys.argv[1:5]
# The interface statistics dumpcap wrote (the last block per interface holds the totals).
data = open(out, 'rb').read()
o, le, drops, received = 0, '<', {}, {}
while o + 12 <= len(data):
    btype = struct.unpack('<I', data[o:o + 4])[0]
    if btype == 0x0A0D0D0A:
        le = '<' if data[o + 8:o + 12] == b'\x4d\x3c\x2b\x1a' else '>'
    btype, length = struct.unpack(le + 'II', data[o:o + 8])
    if btype == 5:
        iface = struct.unpack(le + 'I', data[o + 8:o + 12])[0]
        p = o + 20
        while p + 4 <= o + length - 4:
            code, n = struct.unpack(le + 'HH', data[p:p + 4])
            if code == 0:
                break
            if code in (4, 5) and n == 8:
                (received if code == 4 else drops)[iface] = struct.unpack(le + 'Q', data[p + 4:p + 12])[0]
            p += 4 + (n + 3) // 4 * 4
    o += length
dropped = sum(drops.values())
assert dropped > 0, 'the kernel dropped nothing: stop dumpcap for a longer burst'
runs = []
for log in sorted(glob.glob(work + '/ab-*.log')):
    text = open(log).read()
    runs.append({'tool': 'ab', 'requests': int(re.search(r'Complete requests:\s+(\d+)', text).group(1)),
                 'failed': int(re.search(r'Failed requests:\s+(\d+)', text).group(1))})
assert all(r['failed'] == 0 for r in runs)
meta = {
    'scenario': 'capture-drops-dumpcap',
    'description': ('Healthy keep-alive load from ApacheBench 2.3 (-k) against a Node http server, captured by dumpcap '
                    'with a 1 MiB kernel buffer, stopped (SIGSTOP) during the middle burst of 4000 requests so that the kernel '
                    f'dropped {dropped} packets while dumpcap received {sum(received.values())}; the pcapng file records both in its interface '
                    'statistics (isb_ifdrop, isb_ifrecv). ab reports no failed requests. Snaplen 256. No failure on the wire: the report must '
                    'say the capture dropped packets, and find nothing.'),
    'software': ['ApacheBench 2.3', f'node {node} http', 'dumpcap (Wireshark)'],
    'configured': {'serverIdleTimeout': 5},
    'expect': [{'kind': None, 'notes': 'healthy load; the capture, not the traffic, lost packets'}],
    'silent': True,
    'facts': {'droppedByDumpcap': dropped, 'receivedByDumpcap': sum(received.values())},
    'groundTruth': {'loadGenerator': runs},
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
print(f'dumpcap: {dropped} dropped, {sum(received.values())} received')
PY
