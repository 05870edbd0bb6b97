#!/usr/bin/env python3
"""A unix-datagram log sink for HAProxy run as a daemon (-D closes its stdout and stderr, so
`log stdout` is lost): HAProxy's `log unix@PATH local0` sends each log line as one datagram; this
writes each as "RECEIVE_TIME LINE" (epoch seconds) to --out, for reload-haproxy.sh's meta writer.
Ends after --max-seconds or on SIGTERM.

Usage: x24h-syslog.py --socket PATH --out FILE [--max-seconds 60]
"""
import argparse
import os
import signal
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--max-seconds", type=float, default=60)
a = ap.parse_args()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
if os.path.exists(a.socket):
    os.unlink(a.socket)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(a.socket)
os.chmod(a.socket, 0o666)
end = time.monotonic() + a.max_seconds
with open(a.out, "a") as out:
    while time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        out.write(f"{time.time():.6f} {data.decode('latin1').rstrip()}\n")
        out.flush()
