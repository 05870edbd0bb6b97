#!/usr/bin/python3
"""memcached's own logs for keepalive-race-memcached (round 20m), as JSON lines with the wall-clock
time each line was read (memcached's -vv lines carry no time of their own).

  x20m-mc-log.py stamp --out F
      reads memcached's stderr (-vv: "<26 new auto-negotiating client connection", "<26 get k",
      ">26 END", "Closing idle fd 26", "<26 connection closed.") from stdin until EOF and writes
      {"t": epoch, "line": "..."} per line. memcached writes stderr unbuffered, so t is within a
      fraction of a millisecond of the event.
  x20m-mc-log.py watch --host 127.0.0.1 --port 11212 --out F [--max-seconds S]
      a `watch connevents` connection (memcached >= 1.5.x logger): every connection memcached opens
      or closes, with the client's address and port, the fd (cfd) and, for closes, the reason
      (idle_timeout, normal, error); {"t": epoch read, "fields": {...}} per line. Its own ts= lags
      the event by up to ~0.1 s (the logger thread collects periodically), so the close time is
      taken from the stderr line and the port from here. Bounded by --max-seconds; ends at EOF.
"""
import argparse
import json
import select
import socket
import sys
import time


def stamp(a):
    with open(a.out, 'w') as out:
        for line in sys.stdin:
            out.write(json.dumps({'t': time.time(), 'line': line.rstrip('\n')}) + '\n')
            out.flush()


def watch(a):
    end = time.time() + a.max_seconds
    s = None
    for _ in range(50):   # bounded: the server may still be starting
        try:
            s = socket.create_connection((a.host, a.port), timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    if s is None:
        sys.exit('x20m-mc-log: cannot connect to the watcher port')
    s.sendall(b'watch connevents\r\n')
    buf = b''
    with open(a.out, 'w') as out:
        while time.time() < end:
            r, _, _ = select.select([s], [], [], 0.5)
            if not r:
                continue
            d = s.recv(65536)
            if not d:
                break
            buf += d
            while b'\n' in buf:
                ln, buf = buf.split(b'\n', 1)
                text = ln.decode(errors='replace').strip()
                ev = {'t': time.time(), 'line': text}
                if '=' in text:
                    ev['fields'] = dict(kv.split('=', 1) for kv in text.split() if '=' in kv)
                out.write(json.dumps(ev) + '\n')
                out.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=('stamp', 'watch'))
    ap.add_argument('--out', required=True)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=11212)
    ap.add_argument('--max-seconds', type=float, default=120)
    a = ap.parse_args()
    (stamp if a.mode == 'stamp' else watch)(a)


if __name__ == '__main__':
    main()
