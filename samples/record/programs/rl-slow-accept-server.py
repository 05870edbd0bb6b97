#!/usr/bin/env python3
# A listener with a tiny backlog (listen(1): the accept queue holds 2) whose application accepts
# one connection every INTERVAL seconds and answers it at once (Connection: close): a server that
# accepts too slowly, so its full accept queue drops SYNs (blind round 11, S5a).
# Logs one line per accepted connection: "<epoch> <client port> <request line>".
# Usage: rl-slow-accept-server.py HOST PORT INTERVAL SECONDS LOG
import socket, sys, time

host, port, interval, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
log = open(sys.argv[5], 'a', buffering=1)
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((host, port))
s.listen(1)
s.settimeout(0.5)
end = time.time() + seconds
while time.time() < end:
    time.sleep(interval)
    try:
        c, a = s.accept()
    except socket.timeout:
        continue
    c.settimeout(2)
    try:
        req = c.recv(65536)
        c.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n')
        log.write('%.6f %d %s\n' % (time.time(), a[1], req.split(b'\r\n')[0].decode(errors='replace')))
    except Exception as e:
        log.write('%.6f %d error %r\n' % (time.time(), a[1], e))
    c.close()
