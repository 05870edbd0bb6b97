#!/usr/bin/env bash
# Keep-alive race on a connection whose capture lost bytes earlier (blind test 12: a busy host's
# tcpdump dropped packets during 3 MB downloads on the connection; the race after them was then
# not reported). nginx (keepalive_timeout 2s, one worker) serves GET /ok and a 160 KiB /big; a
# Python http.client connection (a pool that never checks a connection before reuse) asks
# /ok and /big, waits 2.05 s after /big, and reuses the connection nginx closed at 2 s (stale reuse):
# nginx's kernel answers RST, the client gets RemoteDisconnected / ConnectionResetError.
# The capture is then given the drops a busy tcpdump makes: editcap removes the server's data
# segments strictly inside /big's body (not its head's segment, not its last), as the kernel's
# "packets dropped by kernel" would; the client's ACKs of those bytes stay, so the loss shows.
# /big is the connection's last exchange before the idle close (as in the blind test): the race
# (FIN, stale GET, RST) lies after the hole and must be reported; the hole is capture loss.
# Writes samples/keepalive-race-after-capture-drops.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump editcap ip nginx

SCENARIO=keepalive-race-after-capture-drops
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
KEEPALIVE_S=2
IDLE_S=2.05
BIG=163840

cc_netns_up cc-lr-drops
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/www" "$WORK/tmp"
printf 'ok\n' >"$WORK/www/ok"
head -c "$BIG" /dev/zero | tr '\0' 'b' >"$WORK/www/big"
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  keepalive_timeout ${KEEPALIVE_S}s;
  server {
    listen 127.0.0.1:8080;
    default_type text/plain;
    location = /ok { alias $WORK/www/ok; }
    location = /big { alias $WORK/www/big; }
  }
CONF

cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_capture_start "$WORK/whole.pcap" "tcp port 8080"
cc_in timeout 20 python3 - "$IDLE_S" >"$WORK/client.log" <<'PY'
import http.client, sys, time
idle = float(sys.argv[1])
c = http.client.HTTPConnection('127.0.0.1', 8080, timeout=10)
def get(uri):
    c.request('GET', uri)
    r = c.getresponse()
    body = r.read()
    print(f'{time.time():.6f} GET {uri} {r.status} {len(body)} bytes port={c.sock.getsockname()[1]}', flush=True)
get('/ok')
get('/big')
time.sleep(idle)
try:
    get('/ok?stale=1')
    print('stale reuse answered', flush=True)
except Exception as e:
    print(f'{time.time():.6f} GET /ok?stale=1 failed: {type(e).__name__}', flush=True)
PY
cc_capture_stop
cat "$WORK/client.log"

# The server's data segments strictly inside /big's body (frames numbered from 1).
DROP="$(python3 - "$WORK/whole.pcap" "$BIG" <<'PY'
import struct, sys
path, big = sys.argv[1], int(sys.argv[2])
data = open(path, 'rb').read()
endian = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
link = struct.unpack(endian + 'I', data[20:24])[0]
off, frame, frames = 24, 0, []
while off + 16 <= len(data):
    _, _, incl, _ = struct.unpack(endian + 'IIII', data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    frame += 1
    ip = pkt[14:] if link == 1 else pkt[4:] if link == 0 else pkt[16:]
    ihl = (ip[0] & 15) * 4
    tcp = ip[ihl:]
    sport = struct.unpack('>H', tcp[0:2])[0]
    payload = tcp[(tcp[12] >> 4) * 4:]
    if sport == 8080 and payload:
        frames.append((frame, payload))
head = next(i for i, (_, p) in enumerate(frames) if f'Content-Length: {big}'.encode() in p)
got = len(frames[head][1]) - frames[head][1].index(b'\r\n\r\n') - 4
inside = []
for f, p in frames[head + 1:]:
    got += len(p)
    if got >= big:
        break
    inside.append(f)
assert inside, 'the body came in too few segments to drop one inside it'
print(' '.join(str(f) for f in inside))
PY
)"
echo "dropping frames: $DROP"
# shellcheck disable=SC2086
# -F nsecpcap: editcap writes pcapng unless told, and the file is named .pcap (nanoseconds, as recorded).
editcap -F nsecpcap "$WORK/whole.pcap" "$OUT" $DROP
chmod 644 "$OUT"

python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$WORK/client.log" "$WORK/access.log" "$DROP" "$KEEPALIVE_S" "$IDLE_S" "$(nginx -v 2>&1)" <<'PY'
import json, re, sys
meta_path, client_log, access_log, drop, keepalive, idle, nginx = sys.argv[1:8]
lines = open(client_log).read().splitlines()
port = int(re.search(r'port=(\d+)', lines[0]).group(1))
failed = [l for l in lines if 'stale=1 failed' in l]
assert failed, 'the stale reuse was answered: no race recorded'
error = failed[0].split('failed: ')[1]
meta = {
    'scenario': 'keepalive-race-after-capture-drops',
    'description': ('Keep-alive race after capture loss on the same connection, on loopback. nginx (keepalive_timeout 2s) serves /ok and '
                    'a 160 KiB /big; a Python http.client connection asks /ok and /big, then after 2.05 s idle reuses the connection '
                    f'nginx had closed (FIN at 2 s): nginx\'s kernel answers RST, the client gets {error}. The recorded capture was then '
                    f'given the drops of a busy tcpdump: editcap removed frames {drop} (the server\'s data segments strictly inside '
                    '/big\'s body); the client\'s ACKs of those bytes stayed. /big was the last exchange before the idle close, so the '
                    'idle time runs from its end, which its Content-Length places past the hole. The FIN, stale GET and RST lie after '
                    'the hole: the race is reported, and the capture loss is warned about.'),
    'software': [nginx.replace('nginx version: ', ''), 'python3 http.client', 'tcpdump', 'editcap (frames removed after recording)'],
    'configured': {'serverIdleTimeout': float(keepalive)},
    'configuredNotes': 'nginx keepalive_timeout 2s: a single idle close, so the timeout is stated as "at most".',
    'observed': {'clientLog': lines, 'clientError': error},
    'facts': {'framesRemovedByEditcap': [int(f) for f in drop.split()], 'clientIdleBeforeReuseSeconds': float(idle)},
    'expect': [{
        'kind': 'keepalive-race', 'client': f'127.0.0.1:{port}', 'server': '127.0.0.1:8080',
        'notes': f'stale reuse: GET /ok?stale=1 sent {idle} s after the last response, about 50 ms after nginx\'s idle FIN; nginx reset it ({error}). '
                 'Earlier on the connection the capture lost bytes inside /big\'s body: they lie before the idle close and do not hide it.',
    }],
}
with open(meta_path, 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
PY
