"""Client for port-reuse-time-wait-ack: each step binds a fixed local port (SO_REUSEADDR: the
client closed second, so its side of the old connection is gone, only the server's TIME_WAIT is
left), connects (PORT 0: an ephemeral port), sends one request (a POST with `body` bytes, or a GET), reads the answer to EOF
and closes. Steps: PORT:BODY, or sleep:SECONDS. One log line per step: the time, the port, how long
connect() took, and the status line or the connect error."""
import socket, sys, time

port, log = int(sys.argv[1]), open(sys.argv[2], 'w')
for step in sys.argv[3:]:
    if step.startswith('sleep:'):
        time.sleep(float(step[6:]))
        continue
    lport, body = (int(x) for x in step.split(':'))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(10)
    s.bind(('127.0.0.1', lport))
    t = time.time()
    try:
        s.connect(('127.0.0.1', port))
    except OSError as e:
        lport = lport or s.getsockname()[1]
        print(f'{t:.6f} port={lport} connect_failed_after={time.time() - t:.6f} error={e.strerror.replace(" ", "_")}', file=log, flush=True)
        s.close()
        continue
    took = time.time() - t
    method = b'POST' if body > 0 else b'GET'
    s.sendall(method + b' /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n' % body + b'x' * body)
    answer = b''
    while True:
        d = s.recv(65536)
        if not d:
            break
        answer += d
    s.close()
    status = answer.split(b'\r\n', 1)[0].decode().replace(' ', '_')
    print(f'{t:.6f} port={lport} connect_took={took:.6f} body={body} status={status}', file=log, flush=True)
