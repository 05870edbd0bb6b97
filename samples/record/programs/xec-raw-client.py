# expect-continue-rejected: a raw socket client that asks Expect: 100-continue, reads the final
# response that refuses it (417, Connection: close), withholds the body and, 20 ms later, sends its
# next request on the same connection anyway (as a client that ignores the close notice, or races
# it, does). Logs one JSON line: its port, the status, what its next request got.
# Usage: python3 xec-raw-client.py PORT PATH NEXT_PATH
import json, socket, sys, time
port, path, next_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(('127.0.0.1', port))
s.settimeout(5)
s.sendall(f'POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nExpect: 100-continue\r\nContent-Length: 3000\r\n\r\n'.encode())
got = b''
while b'\r\n\r\n' not in got:
    got += s.recv(65536)
head, rest = got.split(b'\r\n\r\n', 1)
length = next(int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:'))
while len(rest) < length:
    rest += s.recv(65536)
status = int(head.split(b' ')[1])
time.sleep(0.02)
outcome = 'sent'
try:
    s.sendall(f'GET {next_path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n'.encode())
    answer = s.recv(65536)
    outcome = 'answered' if answer else 'eof'
except OSError as e:
    outcome = type(e).__name__
print(json.dumps({'t': round(time.time(), 6), 'lane': 's1', 'method': 'POST', 'path': path, 'status': status, 'port': s.getsockname()[1],
                  'bodySent': 0, 'connection': 'close' if b'connection: close' in head.lower() else None, 'next': next_path, 'nextOutcome': outcome}), flush=True)
s.close()
