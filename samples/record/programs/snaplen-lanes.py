#!/usr/bin/env python3
"""Keep-alive lanes: each holds one connection, sends GET (PATH?lane=N&req=K, each target its own), reads the whole response (Content-Length),
waits a little, and sends the next on the same connection without looking whether the server closed
it (a pool that does not check its connections before reuse). A failed request is logged and the lane
opens a new connection. Bounded by --seconds and --max-requests. One JSON line per request."""
import argparse, json, random, socket, threading, time

def lane(n, args, log, lock, deadline):
    rnd = random.Random(args.seed * 100 + n)
    sock = None
    sent = 0
    while time.time() < deadline and sent < args.max_requests:
        if sock is None:
            sock = socket.create_connection((args.host, args.port), timeout=2)
        port = sock.getsockname()[1]
        start = time.time()
        rec = {'lane': n, 'port': port, 'start': start}
        try:
            # Each request its own target: a lane's next request after a failure is a new one, not a retry.
            sock.sendall(f'GET {args.path}?lane={n}&req={sent} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nUser-Agent: snaplen-lanes/1\r\n\r\n'.encode())
            sent += 1
            buf = b''
            while b'\r\n\r\n' not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError('EOF before the response')
                buf += chunk
            head, body = buf.split(b'\r\n\r\n', 1)
            lines = head.decode('latin-1').split('\r\n')
            fields = {l.split(':', 1)[0].lower(): l.split(':', 1)[1].strip() for l in lines[1:] if ':' in l}
            need = int(fields.get('content-length', '0'))
            while len(body) < need:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError('EOF inside the body')
                body += chunk
            rec.update(status=int(lines[0].split()[1]), connection=fields.get('connection'), end=time.time())
            if fields.get('connection', '').lower() == 'close':
                sock.close()
                sock = None
        except (OSError, ConnectionError) as e:
            rec.update(error=type(e).__name__ + ': ' + str(e), end=time.time())
            sock.close()
            sock = None
        with lock:
            log.write(json.dumps(rec) + '\n')
        time.sleep(rnd.uniform(args.pause_min, args.pause_max))
    if sock is not None:
        sock.close()

p = argparse.ArgumentParser()
p.add_argument('--host', default='127.0.0.1'); p.add_argument('--port', type=int, default=8080); p.add_argument('--path', default='/')
p.add_argument('--lanes', type=int, default=6); p.add_argument('--seconds', type=float, default=1.2); p.add_argument('--max-requests', type=int, default=200)
p.add_argument('--pause-min', type=float, default=0.01); p.add_argument('--pause-max', type=float, default=0.04); p.add_argument('--seed', type=int, default=1)
p.add_argument('--log', required=True)
args = p.parse_args()
deadline = time.time() + args.seconds
lock = threading.Lock()
with open(args.log, 'w') as log:
    threads = [threading.Thread(target=lane, args=(n, args, log, lock, deadline)) for n in range(args.lanes)]
    for t in threads: t.start()
    for t in threads: t.join()
