"""Clients of the slowrace sample (samples/record/slowrace.sh), all at once, one thread each:
  head    GET to nginx (8080) whose head is trickled 8 bytes every 0.4 s, never finished, the client
          sending on after nginx's client_header_timeout closed it (until an error, at most 3.6 s)
  body    POST to nginx with Content-Length 1000: the head and 4 body bytes, 1.8 s of silence (nginx's
          client_body_timeout, 1.5 s, closes meanwhile), then 4 more bytes
  line-b  line server (7000): HELLO; X after 1.0 s idle (answered); CRASH after 1.0 s (reset)
  line-c  HELLO; CRASH after 2.0 s idle (reset)
  line-d  HELLO; X after 1.5 s, Y after 2.0 s, QUIT after 0.3 s, all answered
Logs one JSON line per event."""
import json, socket, threading, time

def log(**kw):
    print(json.dumps({"t": round(time.time(), 6), **kw}), flush=True)

def head():
    s = socket.create_connection(("127.0.0.1", 8080)); port = s.getsockname()[1]
    s.sendall(b"GET /trickle HTTP/1.1\r\nHost: example\r\nX-Pad: ")
    for _ in range(9):
        time.sleep(0.4)
        try: s.sendall(b"aaaaaaaa")
        except OSError as e: log(client="head", port=port, error=type(e).__name__); break
    s.close(); log(client="head", port=port, event="closed")

def body():
    s = socket.create_connection(("127.0.0.1", 8080)); port = s.getsockname()[1]
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: example\r\nContent-Length: 1000\r\n\r\n"); time.sleep(0.01); s.sendall(b"xxxx")
    time.sleep(1.8)
    try: s.sendall(b"xxxx")
    except OSError as e: log(client="body", port=port, error=type(e).__name__)
    time.sleep(0.3); s.close(); log(client="body", port=port, event="closed")

def line(name, cmds):
    s = socket.create_connection(("127.0.0.1", 7000)); port = s.getsockname()[1]
    for cmd, wait in cmds:
        time.sleep(wait)
        s.sendall(cmd + b"\n"); s.settimeout(2.5)
        try:
            d = s.recv(100)
            log(client=name, port=port, cmd=cmd.decode(), idle=wait, answer=d.decode())
            if not d: break
        except OSError as e:
            log(client=name, port=port, cmd=cmd.decode(), idle=wait, error=type(e).__name__); break
    s.close()

threads = [threading.Thread(target=head), threading.Thread(target=body),
           threading.Thread(target=line, args=("line-b", [(b"HELLO", 0), (b"X", 1.0), (b"CRASH", 1.0)])),
           threading.Thread(target=line, args=("line-c", [(b"HELLO", 0), (b"CRASH", 2.0)])),
           threading.Thread(target=line, args=("line-d", [(b"HELLO", 0), (b"X", 1.5), (b"Y", 2.0), (b"QUIT", 0.3)]))]
for t in threads:
    t.start(); time.sleep(0.1)
for t in threads: t.join()
