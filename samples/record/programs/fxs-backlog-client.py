#!/usr/bin/env python3
"""A client opening a new connection per request, for server-paused-backlog.sh: every GAP seconds,
COUNT times, a thread connects to 127.0.0.1:PORT and sends GET PREFIX/rN with a TIMEOUT covering
the connect and the response (a socket timeout, then the socket is closed). A connect the server's
full accept queue leaves unanswered is given up at the timeout too. Logs each request's outcome.
Usage: fxs-backlog-client.py PORT TIMEOUT GAP COUNT PREFIX"""
import socket
import sys
import threading
import time

port, timeout, gap, count, prefix = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), min(int(sys.argv[4]), 100), sys.argv[5]
lock = threading.Lock()


def log(line):
    with lock:
        print(line, flush=True)


def one(n):
    start = time.time()
    path = '%s/r%d' % (prefix, n)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(('127.0.0.1', port))
        connected = time.time() - start
        s.sendall(('GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: fxs-backlog-client%s\r\nConnection: close\r\n\r\n' % (path, port, prefix)).encode())
        s.settimeout(max(0.001, timeout - (time.time() - start)))
        data = s.recv(4096)
        status = data.split(b' ')[1].decode() if data else 'EOF'
        log('%.6f %s %s after %.3f (connected after %.3f)' % (start, path, status, time.time() - start, connected))
    except (socket.timeout, TimeoutError):
        log('%.6f %s TIMEOUT after %.3f' % (start, path, time.time() - start))
    except OSError as e:
        log('%.6f %s ERROR %s after %.3f' % (start, path, e, time.time() - start))
    finally:
        s.close()


threads = []
for n in range(1, count + 1):
    t = threading.Thread(target=one, args=(n,))
    t.start()
    threads.append(t)
    time.sleep(gap)
for t in threads:
    t.join(timeout + 1)
