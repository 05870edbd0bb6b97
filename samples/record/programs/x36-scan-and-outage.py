#!/usr/bin/env python3
"""The traffic of port-scan-and-outage, run inside the recorder's namespace (loopback only).

1. A connect scan: from 127.0.0.5, one connect() to each of 40 closed ports of 127.0.0.1
   (20001-20040) and to the open port 8080, 20 ms apart; every closed port answers RST
   (ECONNREFUSED), the open one accepts and is closed at once without a byte.
2. An outage: the recorder's own HTTP server on 127.0.0.1:8081 is stopped and started again by the
   recorder while a client on 127.0.0.6 asks it for /health every 0.3 s on one kept-alive
   connection, connecting again after each failure: the attempts while it is down are refused,
   again and again on the same port.
Each outcome is printed with its capture-clock time, for the meta and for a reader.
"""
import socket
import sys
import time
import http.client

def log(*parts):
    print(f"{time.time():.6f}", *parts, flush=True)

def scan():
    ports = list(range(20001, 20041)) + [8080]
    for port in ports:
        s = socket.socket()
        s.bind(("127.0.0.5", 0))
        s.settimeout(1)
        rc = s.connect_ex(("127.0.0.1", port))
        s.close()
        log("scan", port, "open" if rc == 0 else f"errno={rc}")
        time.sleep(0.02)

def poll(seconds):
    # One kept-alive connection, as a service's client has: http.client connects again by itself
    # after a failure (the connection is closed then), so each attempt while the server is down is
    # one refused connect.
    end = time.time() + seconds
    n = 0
    conn = http.client.HTTPConnection("127.0.0.1", 8081, timeout=2, source_address=("127.0.0.6", 0))
    while time.time() < end and n < 100:
        n += 1
        port = None
        try:
            if conn.sock is None:
                conn.connect()
            port = conn.sock.getsockname()[1]
            conn.request("GET", f"/health?n={n}")
            r = conn.getresponse()
            r.read()
            log("poll", n, r.status, f"port={port}")
        except (OSError, http.client.HTTPException) as e:
            # A failure on a connection that was up (port known) is a request the stopped server's
            # close met; one with no port is a refused connect.
            log("poll", n, type(e).__name__, f"port={port}")
            conn.close()
        time.sleep(0.3)
    conn.close()

if __name__ == "__main__":
    if sys.argv[1] == "scan":
        scan()
    else:
        poll(float(sys.argv[2]))
