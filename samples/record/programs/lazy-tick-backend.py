#!/usr/bin/env python3
"""HTTP/1.1 keep-alive backend whose idle timer is checked on a tick BEFORE the sockets are read: each
loop iteration first closes connections idle for more than IDLE s, then reads what arrived, then
sleeps TICK s. A request that arrives between two ticks on a connection whose idle time runs out
meanwhile is still unread when the next tick closes it: the kernel resets the connection (a lazy
close, up to one tick after the request). Usage: lazy-tick-backend.py ADDR PORT IDLE TICK"""
import select, socket, sys, time

ADDR, PORT, IDLE, TICK = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((ADDR, PORT))
ls.listen(64)
conns = {}  # socket -> [last activity, unread bytes]


def log(*a):
    print('%.6f' % time.time(), *a, flush=True)


while True:
    now = time.time()
    for s in list(conns):
        if now - conns[s][0] > IDLE:
            log('idle-close', s.getpeername()[1], 'idle %.3f' % (now - conns[s][0]))
            s.close()
            del conns[s]
    r, _, _ = select.select([ls] + list(conns), [], [], TICK)
    for s in r:
        if s is ls:
            c, a = ls.accept()
            conns[c] = [time.time(), b'']
            continue
        try:
            d = s.recv(65536)
        except OSError:
            d = b''
        if not d:
            s.close()
            del conns[s]
            continue
        conns[s][1] += d
        while b'\r\n\r\n' in conns[s][1]:
            head, conns[s][1] = conns[s][1].split(b'\r\n\r\n', 1)
            body = b'lazy ok\n'
            s.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n' % len(body) + body)
            conns[s][0] = time.time()
            log('served', s.getpeername()[1], head.split(b'\r\n')[0].decode())
    time.sleep(TICK)
