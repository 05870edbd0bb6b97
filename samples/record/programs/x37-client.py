#!/usr/bin/env python3
"""Client of samples/record/fastcgi-php-fpm.sh: Python http.client against nginx (127.0.0.2:8080).

  x37-client.py --host 127.0.0.2 --port 8080 --log FILE

Phases (each request logged as one JSON line: phase, lane, uri, localPort, tStart, tEnd (wall clock,
time.time()), elapsed, status, bodyBytes or error):
  healthy    lane A: one kept-alive connection, 6 GETs /fast.php?i=aN 0.3 s apart; then lane B: another
             kept-alive connection, 3 GETs /fast.php?i=bN 0.3 s apart; the client closes each afterwards.
  read-timeout  3 threads at once, each its own connection (timeout 10 s): GET /slow/sleep.php?s=4&i=tN.
  terminate  2 GETs one after the other, each its own connection (timeout 10 s): /kill/sleep.php?s=8&i=kN.
Between phases the client pauses (--settle seconds) so that php-fpm has killed and respawned the workers
of the previous phase before the next one starts.
"""
import argparse
import http.client
import json
import threading
import time

lock = threading.Lock()


def log(fh, rec):
    with lock:
        fh.write(json.dumps(rec) + "\n")
        fh.flush()


def one(conn, fh, phase, lane, uri):
    rec = {"phase": phase, "lane": lane, "uri": uri}
    if conn.sock is None:
        conn.connect()
    rec["localPort"] = conn.sock.getsockname()[1]
    rec["tStart"] = time.time()
    try:
        conn.request("GET", uri)
        resp = conn.getresponse()
        body = resp.read()
        rec["status"] = resp.status
        rec["bodyBytes"] = len(body)
        rec["server"] = resp.getheader("Server")
    except Exception as e:  # logged, the meta program refuses the recording
        rec["error"] = f"{type(e).__name__}: {e}"
    rec["tEnd"] = time.time()
    rec["elapsed"] = round(rec["tEnd"] - rec["tStart"], 6)
    log(fh, rec)
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.2")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--log", required=True)
    ap.add_argument("--gap", type=float, default=0.3)
    ap.add_argument("--settle", type=float, default=2.5)
    args = ap.parse_args()
    with open(args.log, "a") as fh:
        # Phase 1: healthy, two kept-alive connections.
        for lane, n in (("A", 6), ("B", 3)):
            conn = http.client.HTTPConnection(args.host, args.port, timeout=5)
            for i in range(1, n + 1):
                if i > 1:
                    time.sleep(args.gap)
                one(conn, fh, "healthy", lane, f"/fast.php?i={lane.lower()}{i}")
            conn.close()
            time.sleep(args.gap)
        time.sleep(0.5)

        # Phase 2: read timeout, three at once.
        def slow(i):
            conn = http.client.HTTPConnection(args.host, args.port, timeout=10)
            one(conn, fh, "read-timeout", f"T{i}", f"/slow/sleep.php?s=4&i=t{i}")
            conn.close()
        threads = [threading.Thread(target=slow, args=(i,)) for i in (1, 2, 3)]
        for t in threads:
            t.start()
            time.sleep(0.02)
        for t in threads:
            t.join(15)
        time.sleep(args.settle)

        # Phase 3: terminate, one after the other.
        for i in (1, 2):
            conn = http.client.HTTPConnection(args.host, args.port, timeout=10)
            one(conn, fh, "terminate", f"K{i}", f"/kill/sleep.php?s=8&i=k{i}")
            conn.close()
            time.sleep(args.settle if i == 1 else 0.5)


if __name__ == "__main__":
    main()
