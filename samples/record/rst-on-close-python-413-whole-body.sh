#!/usr/bin/env bash
# rst-on-close when the whole request body had arrived. A Python socket server reads only each
# request's head, then waits (ioctl FIONREAD, bounded) until the whole body sits in its receive
# buffer, ACKed by its kernel:
#  - /early/N: it answers 413 (or 400) with Connection: close without reading the body and closes:
#    close() finds the body unread, Linux sends RST instead of FIN (TCPAbortOnClose) and the client
#    reads the answer, then ECONNRESET. The RST advertises a wider window than the server's last
#    segment: the close freed the room the body had taken.
#  - /read/N (near miss): it reads the body whole, then answers 413 and closes: FIN, nothing unread.
#  - /linger (near miss): a GET read whole, answered 200, closed with SO_LINGER 0: a RST on purpose
#    (TCPAbortOnData) with nothing unread, its window the one it had.
# Loopback MTU 1500 in namespace fx5c-413, so that segments and windows are those of an Ethernet path.
# Writes samples/rst-on-close-python-413-whole-body.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump tshark ip

SCENARIO=rst-on-close-python-413-whole-body
PORT=8093
BODY=30000
WORK="$(mktemp -d)"
cc_netns_up fx5c-413
cc_in ip link set lo mtu 1500

cat >"$WORK/server.py" <<'PY'
import fcntl, socket, struct, sys, termios, time
port, conns = int(sys.argv[1]), int(sys.argv[2])
def log(*a): print(f'{time.time():.6f}', *a, flush=True)
def head_of(c):
    # One byte at a time: nothing of the body is taken with the head.
    h = b''
    while not h.endswith(b'\r\n\r\n'):
        b = c.recv(1)
        if not b: break
        h += b
    return h
def queued(c): return struct.unpack('i', fcntl.ioctl(c, termios.FIONREAD, b'\0\0\0\0'))[0]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port)); s.listen(8); s.settimeout(20)
for _ in range(conns):
    c, a = s.accept()
    h = head_of(c); line = h.split(b'\r\n')[0].decode()
    length = next((int(l.split(b':')[1]) for l in h.split(b'\r\n') if l.lower().startswith(b'content-length:')), 0)
    for _ in range(200):  # bounded: 2 s for the body to arrive whole
        if queued(c) >= length: break
        time.sleep(0.01)
    time.sleep(0.05)
    if '/early/' in line:
        status = b'400 Bad Request' if line.endswith('?400 HTTP/1.1') or '?400 ' in line else b'413 Payload Too Large'
        c.sendall(b'HTTP/1.1 ' + status + b'\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        log(a[1], line, 'answered without reading', queued(c), 'queued body bytes; close'); c.close()
    elif '/read/' in line:
        got = 0
        while got < length: got += len(c.recv(65536))
        c.sendall(b'HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        log(a[1], line, 'read', got, 'body bytes, answered; close'); c.close()
    else:
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nlinger'); time.sleep(0.03)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0)); c.close()
        log(a[1], line, 'answered, closed with SO_LINGER 0')
PY
cat >"$WORK/client.py" <<'PY'
import socket, sys, time
port, uri, body = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(('127.0.0.1', port)); s.settimeout(5)
method = 'POST' if body else 'GET'
s.sendall(f'{method} {uri} HTTP/1.1\r\nHost: srv\r\nContent-Length: {body}\r\n\r\n'.encode() + b'u' * body)
got = b''
try:
    while True:
        x = s.recv(65536)
        if not x: break
        got += x
    print(f'{time.time():.6f} {s.getsockname()[1]} {uri} EOF got {len(got)} {got[:24]!r}', flush=True)
except OSError as e:
    print(f'{time.time():.6f} {s.getsockname()[1]} {uri} ERROR {type(e).__name__} got {len(got)} {got[:24]!r}', flush=True)
s.close()
PY
cc_bg python3 "$WORK/server.py" "$PORT" 5 >"$WORK/server.log"
cc_wait_port "$PORT"
OUT="$WORK/$SCENARIO.pcap"
cc_in nstat -n >/dev/null 2>&1 || true
cc_capture_start "$OUT" "tcp port $PORT" -s 256
for step in "/early/1 $BODY" "/read/1 $BODY" "/early/2?400 $BODY" "/read/2 $BODY" "/linger 0"; do
  # shellcheck disable=SC2086
  cc_in python3 "$WORK/client.py" "$PORT" $step >>"$WORK/client.log"
  sleep 0.3
done
cc_capture_stop
cc_in nstat 2>/dev/null | grep -E 'TcpExtTCPAbortOn(Close|Data)' >"$WORK/nstat.log" || true
cat "$WORK/server.log" "$WORK/client.log" "$WORK/nstat.log"
python3 - "$WORK" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$(python3 --version)" "$BODY" <<'PY'
import json, re, sys
work, meta, pyver, body = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
ports = {}
for l in open(f'{work}/client.log'):
    t, port, uri, how = l.split()[:4]
    ports[uri] = (int(port), how)
assert ports['/early/1'][1] == 'ERROR' and ports['/early/2?400'][1] == 'ERROR', ports   # ECONNRESET after the answer
assert ports['/read/1'][1] == 'EOF' and ports['/read/2'][1] == 'EOF', ports
nstat = open(f'{work}/nstat.log').read()
c = lambda uri: f'127.0.0.1:{ports[uri][0]}'
json.dump({
  'scenario': 'rst-on-close-python-413-whole-body',
  'description': f"A Python socket server reads only the head of each request and waits until the whole {body}-byte body sits in its receive buffer (ACKed by its kernel). To POST /early/1 it answers 413 and to POST /early/2?400 it answers 400 (Connection: close) without reading the body, and closes: Linux sends RST instead of FIN (TCPAbortOnClose), the RST advertising a wider window than the server's last segment, and the client reads the answer, then ECONNRESET. POST /read/1 and /read/2 have their body read whole before the same 413 and close: FINs. GET /linger is answered 200 and closed with SO_LINGER 0: a RST with nothing unread (TCPAbortOnData), its window unchanged. Before, the resets after a whole body were not seen.",
  'software': [f'{pyver} socket server', f'{pyver} socket client'],
  'configured': {'requestBodyBytes': body},
  'expect': [
    {'kind': 'rst-on-close', 'client': c('/early/1'), 'server': '127.0.0.1:8093', 'notes': '413 after the whole body had arrived, closed unread: RST (the client: ECONNRESET after the 413)'},
    {'kind': 'rst-on-close', 'client': c('/early/2?400'), 'server': '127.0.0.1:8093', 'notes': '400 after the whole body had arrived, closed unread: RST (the client: ECONNRESET after the 400)'},
    {'kind': None, 'client': c('/read/1'), 'server': '127.0.0.1:8093', 'notes': 'body read whole, 413, FIN: nothing unread'},
    {'kind': None, 'client': c('/read/2'), 'server': '127.0.0.1:8093', 'notes': 'body read whole, 413, FIN: nothing unread'},
    {'kind': None, 'client': c('/linger'), 'server': '127.0.0.1:8093', 'notes': 'SO_LINGER 0 after a full response to a GET read whole: a RST on purpose, nothing unread (window unchanged)'},
  ],
  'silent': False,
  'facts': {'clientLog': open(f'{work}/client.log').read().splitlines(), 'nstat': nstat.split()},
}, open(meta, 'w'), indent=2)
PY
cp "$OUT" "$CC_SAMPLES_DIR/"
