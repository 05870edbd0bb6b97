#!/usr/bin/env python3
"""keepalive-race-idle-reset's programs (and -far's). `server PORT IDLE [HOST]`: an HTTP/1.1 keep-alive server that
closes a connection idle IDLE s with SO_LINGER {1, 0} (a RST, no FIN, as Go's SetLinger(0) or
HAProxy `option nolinger` do); logs each close with the idle time it measured. `client PORT LANES
REUSE STALE [HOST]`: LANES connections at once, each GET /a, then GET /b after REUSE s idle (answered), then
GET /c after STALE s idle on the same socket; logs each outcome (ECONNRESET expected for /c: on the
write when the RST had arrived, on the read when the request crossed it). HOST defaults to 127.0.0.1. One
JSON object per line on stdout. Bounded: every socket has a timeout, the server exits after 30 s.
"""
import json, socket, struct, sys, threading, time


LOG_LOCK = threading.Lock()


def log(**kv):
    kv["t"] = round(time.time(), 6)
    # One write per line under a lock: print() from several threads can interleave a line with another's newline.
    with LOG_LOCK:
        sys.stdout.write(json.dumps(kv) + "\n")
        sys.stdout.flush()


def serve_conn(conn, port, idle):
    conn.settimeout(idle)
    buf = b""
    last = time.monotonic()
    while True:
        try:
            data = conn.recv(4096)
        except socket.timeout:
            gap = time.monotonic() - last
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            log(role="server", event="idle-close-rst", port=port, idle=round(gap, 4))
            return
        if not data:
            conn.close()
            log(role="server", event="peer-closed", port=port)
            return
        buf += data
        while b"\r\n\r\n" in buf:
            head, buf = buf.split(b"\r\n\r\n", 1)
            uri = head.split(b" ")[1].decode()
            body = b"ok\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            last = time.monotonic()
            log(role="server", event="answered", port=port, uri=uri)


def server(port, idle, host):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(16)
    ls.settimeout(1)
    end = time.monotonic() + 30
    while time.monotonic() < end:
        try:
            conn, addr = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve_conn, args=(conn, addr[1], idle), daemon=True).start()


def request(s, uri, host):
    s.sendall(b"GET " + uri.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"ok\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("EOF")
        data += chunk
    return data.split(b" ")[1].decode()


def lane(port, reuse, stale, host, k):
    s = socket.create_connection((host, port), timeout=5)
    me = s.getsockname()[1]
    for uri, pause in (("/a", 0), ("/b", reuse), ("/c", stale)):
        time.sleep(pause)
        try:
            # Each lane its own query: independent callers, not one request sent again.
            log(role="client", port=me, uri=uri, idle=pause, status=request(s, f"{uri}?lane={k}", host))
        except OSError as e:
            log(role="client", port=me, uri=uri, idle=pause, error=type(e).__name__, errno=e.errno)
            break
        except EOFError:
            log(role="client", port=me, uri=uri, idle=pause, error="EOF")
            break
    s.close()


def client(port, lanes, reuse, stale, host):
    threads = [threading.Thread(target=lane, args=(port, reuse, stale, host, k)) for k in range(lanes)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    for t in threads:
        t.join(20)


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1")
    else:
        client(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6] if len(sys.argv) > 6 else "127.0.0.1")
