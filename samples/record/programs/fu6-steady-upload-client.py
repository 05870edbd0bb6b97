"""A raw-socket client that uploads steadily (recorder slow-client-timeout-upload-cut.sh): the request
head announces --total bytes, then --chunk bytes every --pace seconds, never pausing longer; then it
reads the answer. Logs one JSON line: its port, bytes sent, the error its send met, what it read."""
import argparse, json, socket, time

p = argparse.ArgumentParser()
p.add_argument('--port', type=int, required=True)
p.add_argument('--name', required=True)
p.add_argument('--total', type=int, required=True)
p.add_argument('--chunk', type=int, required=True)
p.add_argument('--pace', type=float, required=True)
a = p.parse_args()
s = socket.create_connection(('127.0.0.1', a.port))
port = s.getsockname()[1]
t0 = time.time()
s.sendall(b'POST /upload?%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (a.name.encode(), a.total))
sent, err = 0, None
while sent < a.total:  # bounded: total / chunk writes
    try:
        s.sendall(b'x' * min(a.chunk, a.total - sent))
        sent += min(a.chunk, a.total - sent)
    except OSError as e:
        err = repr(e)
        break
    if sent < a.total:
        time.sleep(a.pace)
s.settimeout(3)
got = b''
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError as e:
    err = err or repr(e)
s.close()
print(json.dumps({'name': a.name, 'port': port, 'sent': sent, 'total': a.total, 'error': err,
                  'answer': got.split(b'\r\n')[0].decode() if got else None, 'seconds': round(time.time() - t0, 3)}), flush=True)
