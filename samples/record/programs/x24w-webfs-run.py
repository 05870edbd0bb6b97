#!/usr/bin/env python3
"""Runs webfsd (Debian webfs) in the foreground with debug output (-F -d) and time-stamps its
stderr: one JSON line per line webfsd writes, {"t": epoch seconds when it was read, "line": ...},
appended to --log. webfsd's debug lines name the connection by file descriptor ("005: new request
(3)", "005: GET "/x" HTTP/1.1", "005: keepalive wait", "005: keepalive timeout", "005: done (2)"),
which programs/x24w-meta.py ties to client ports on the wire. stderr is unbuffered in webfsd, so a
line is read within a fraction of a millisecond of being written.

Ends webfsd (SIGTERM, then SIGKILL after 3 s, by its PID) when it gets SIGTERM or SIGINT itself, or
after --max-seconds.

Usage: x24w-webfs-run.py --log FILE [--max-seconds S] -- /usr/bin/webfsd ARGS...
"""
import argparse
import json
import signal
import subprocess
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser(prog='x24w-webfs-run.py')
    ap.add_argument('--log', required=True)
    ap.add_argument('--max-seconds', type=float, default=300)
    ap.add_argument('cmd', nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ['--'] else a.cmd
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    stop = threading.Event()

    def end(*_):
        stop.set()

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    threading.Timer(a.max_seconds, end).start()

    def pump():
        with open(a.log, 'a', buffering=1) as out:
            out.write(json.dumps({'t': time.time(), 'event': 'start', 'pid': proc.pid, 'cmd': cmd}) + '\n')
            for raw in proc.stderr:
                out.write(json.dumps({'t': time.time(), 'line': raw.decode('latin-1').rstrip('\n')}) + '\n')

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    while not stop.is_set() and proc.poll() is None:
        stop.wait(0.2)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reader.join(2)
    sys.stdout.flush()
    # the max-seconds timer, if still pending, must not keep this process alive
    for t in threading.enumerate():
        if isinstance(t, threading.Timer):
            t.cancel()
    sys.exit(0)


if __name__ == '__main__':
    main()
