"""HTTP/1.1 server for port-reuse-time-wait-ack: reads one request (and its body), answers 200
with Connection: close and closes first, so its kernel holds each 4-tuple in TIME_WAIT. After
`--serve` connections it closes its listening socket (the listener gone, as a killed server's is)
and stays alive until `--linger` seconds have passed, so that nothing else changes meanwhile.
One log line per connection: time, client port, method, body bytes."""
import argparse, socket, time

ap = argparse.ArgumentParser()
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--serve', type=int, required=True)
ap.add_argument('--linger', type=float, default=2.0)
ap.add_argument('--log', required=True)
a = ap.parse_args()
log = open(a.log, 'w')
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', a.port))
ls.listen(16)
ls.settimeout(10)
for _ in range(a.serve):
    c, peer = ls.accept()
    c.settimeout(10)
    buf = b''
    while b'\r\n\r\n' not in buf:
        d = c.recv(65536)
        if not d:
            break
        buf += d
    head, _, body = buf.partition(b'\r\n\r\n')
    length = 0
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b':')
        if name.strip().lower() == b'content-length':
            length = int(value)
    got = len(body)
    while got < length:  # counted, not kept: the upload is only there for its sequence space
        d = c.recv(1 << 20)
        if not d:
            break
        got += len(d)
    c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
    c.close()  # first: this side keeps the 4-tuple in TIME_WAIT
    print(f'{time.time():.6f} served port={peer[1]} method={head.split(b" ", 1)[0].decode()} body={got}', file=log, flush=True)
ls.close()
print(f'{time.time():.6f} listener closed', file=log, flush=True)
time.sleep(a.linger)
