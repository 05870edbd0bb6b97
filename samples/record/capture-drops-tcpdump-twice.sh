#!/usr/bin/env bash
# Healthy ApacheBench load against a Node http server, captured twice at once: by a tcpdump with
# the smallest buffer (-B 32, 32 KiB), stopped (SIGSTOP, its own PID) for the middle burst so that
# the kernel drops what no longer fits, and by a tcpdump with a large buffer that drops nothing.
# Connections under way when the small buffer filled show their request and the server's ACK, then
# nothing at all: their responses and FINs were dropped; a slow keep-alive connection (curl) that
# spans the stop shows the loss in its sequence numbers. The capture goes on 32 s more (a last
# burst), so such a request looks 30 s unanswered. ab reports no failed requests: both captures must
# be silent (the small one says it lost packets; what went silent there is a note at most).
# Writes samples/capture-drops-tcpdump-b32.pcap, samples/capture-drops-tcpdump-whole.pcap and their .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require ab node python3 tcpdump ip

TINY=capture-drops-tcpdump-b32
WHOLE=capture-drops-tcpdump-whole
KEEPALIVE_MS=5000

cc_netns_up fx5fdrops
ccb_workdir
WORK="$CCB_WORK"
cc_bg node "$CC_RECORD_DIR/programs/x13-node-server.js" --host 127.0.0.1 --port 8080 \
  --keep-alive-timeout "$KEEPALIVE_MS" --log "$WORK/access.log"
SERVER_PID="$CC_LAST_PID"
cc_wait_port 8080

cc_bg tcpdump -i lo -B 32 --immediate-mode -s 256 -n -w "$WORK/tiny.pcap" "tcp port 8080" 2>"$WORK/tiny.err"
TINY_PID="$CC_LAST_PID"
cc_bg tcpdump -i lo -B 65536 --immediate-mode -s 256 -n -w "$WORK/whole.pcap" "tcp port 8080" 2>"$WORK/whole.err"
WHOLE_PID="$CC_LAST_PID"
for i in $(seq 1 100); do grep -q listening "$WORK/tiny.err" && grep -q listening "$WORK/whole.err" && break; sleep 0.05; done
sleep 0.5

cc_in timeout 20 ab -q -k -c 2 -n 100 http://127.0.0.1:8080/item >"$WORK/ab-1.log"
# One keep-alive connection that spans the stop (curl, 20 requests a second for 3 s): the bytes it
# carried meanwhile are missing from the small capture, and its later ACKs show it (measured loss).
cc_in timeout 20 curl -sS -o /dev/null --rate 20/s "http://127.0.0.1:8080/item?n=[1-60]" &
CURL=$!
sleep 0.5
kill -STOP "$TINY_PID"
cc_in timeout 30 ab -q -k -c 8 -n 3000 http://127.0.0.1:8080/item >"$WORK/ab-2.log" &
AB_K=$!
cc_in timeout 30 ab -q -c 4 -n 400 http://127.0.0.1:8080/item >"$WORK/ab-3.log"
wait "$AB_K"
kill -CONT "$TINY_PID"
wait "$CURL"
# Long enough for what went silent in the small capture to look 30 s unanswered at its end.
sleep 32
cc_in timeout 20 ab -q -k -c 2 -n 100 http://127.0.0.1:8080/item >"$WORK/ab-4.log"
sleep 1.5
kill -INT "$TINY_PID" "$WHOLE_PID"; wait "$TINY_PID" "$WHOLE_PID" 2>/dev/null || true
kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
cp "$WORK/tiny.pcap" "$CC_SAMPLES_DIR/$TINY.pcap"
cp "$WORK/whole.pcap" "$CC_SAMPLES_DIR/$WHOLE.pcap"
chmod 644 "$CC_SAMPLES_DIR/$TINY.pcap" "$CC_SAMPLES_DIR/$WHOLE.pcap"
grep -E 'Complete|Failed' "$WORK"/ab-*.log
cat "$WORK/tiny.err" "$WORK/whole.err"

python3 - "$CC_SAMPLES_DIR" "$WORK" "$(node --version)" "$TINY" "$WHOLE" <<'PY'
import json, re, sys, glob
samples, work, node, tiny, whole = sys.argv[1:6]
def dropped(err):
    m = re.search(r'(\d+) packets? dropped by kernel', open(err).read())
    return int(m.group(1))
runs = []
for log in sorted(glob.glob(work + '/ab-*.log')):
    text = open(log).read()
    runs.append({'tool': 'ab', 'requests': int(re.search(r'Complete requests:\s+(\d+)', text).group(1)),
                 'failed': int(re.search(r'Failed requests:\s+(\d+)', text).group(1))})
assert all(r['failed'] == 0 for r in runs)
d_tiny, d_whole = dropped(work + '/tiny.err'), dropped(work + '/whole.err')
assert d_tiny > 0, 'the small buffer dropped nothing: stop it for a longer burst'
assert d_whole == 0, 'the large buffer dropped packets too: record again'
for name, drops, how in ((tiny, d_tiny, 'the small capture (tcpdump -B 32, stopped during the middle burst)'),
                         (whole, d_whole, 'the whole capture (tcpdump -B 65536) taken beside the small one')):
    meta = {
        'scenario': name,
        'description': ('Healthy ApacheBench 2.3 load (keep-alive and not) against a Node http server, captured twice at once; this is '
                        f'{how}: tcpdump reported {drops} packets dropped by kernel. ab reports no failed requests. Connections under way '
                        'when the small buffer filled show a request and the server\'s ACK, then nothing (their responses and FINs dropped), '
                        'and the capture goes on 32 s more. Snaplen 256. No failure on the wire: nothing above a note.'),
        'software': ['ApacheBench 2.3', f'node {node} http', 'tcpdump'],
        'configured': {'serverIdleTimeout': 5},
        # The small capture: what went silent there is a note (info), uncertain, never a warning
        # (test/detect/load-samples.test.ts); the whole one finds nothing.
        'expect': ([{'kind': 'unanswered-request', 'server': '127.0.0.1:8080',
                     'notes': 'info, uncertain: connections that went silent after their request when the capture dropped their responses and FINs'}]
                   if name == tiny else [{'kind': None, 'notes': 'healthy load, captured whole'}]),
        'silent': name != tiny,
        'facts': {'droppedByTcpdump': drops, 'capturedAlongside': whole if name == tiny else tiny},
        'groundTruth': {'loadGenerator': runs},
    }
    with open(f'{samples}/{name}.meta.json', 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
print(f'tcpdump -B 32: {d_tiny} dropped; -B 65536: {d_whole} dropped')
PY
