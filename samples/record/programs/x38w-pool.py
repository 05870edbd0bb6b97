#!/usr/bin/env python3
"""Client of samples/record/keepalive-race-nginx-worker-connections.sh: a keep-alive pool larger than
the server's connection slots, as Python's http.client threads (each thread one kept-alive connection,
reused until it fails, as requests' pool does without a retry).

  x38w-pool.py --host 127.0.0.1 --port 8080 --threads 12 --requests 10 --gap 0.15 --log FILE

Each thread sends --requests GETs of /r?t=THREAD&i=N (every target unique, so that no request is taken
for another's retry), --gap seconds apart, on its connection; a request that fails (the server had
closed the connection: RemoteDisconnected, ConnectionResetError, BrokenPipeError) is not sent again: the
thread opens a new connection for its next request. Every request is logged as one JSON line: thread,
uri, localPort, reused (the connection had served a request before), tStart, tEnd (time.time()),
status or error. Bounded: threads x requests, each with a 3 s socket timeout.
"""
import argparse
import http.client
import json
import threading
import time

lock = threading.Lock()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--threads", type=int, default=12)
    ap.add_argument("--requests", type=int, default=10)
    ap.add_argument("--gap", type=float, default=0.15)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    fh = open(args.log, "a")

    def worker(k):
        conn = http.client.HTTPConnection(args.host, args.port, timeout=3)
        used = False
        for i in range(args.requests):
            uri = f"/r?t={k}&i={i}"
            rec = {"thread": k, "uri": uri, "reused": used}
            try:
                if conn.sock is None:
                    conn.connect()
                    used = False
                    rec["reused"] = False
                rec["localPort"] = conn.sock.getsockname()[1]
                rec["tStart"] = time.time()
                conn.request("GET", uri)
                resp = conn.getresponse()
                resp.read()
                rec["status"] = resp.status
                used = True
            except Exception as e:  # the race: logged, the connection dropped
                rec["error"] = f"{type(e).__name__}: {e}"
                conn.close()
                conn = http.client.HTTPConnection(args.host, args.port, timeout=3)
                used = False
            rec["tEnd"] = time.time()
            with lock:
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
            time.sleep(args.gap)
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(args.threads)]
    for t in threads:
        t.start()
        time.sleep(0.002)
    for t in threads:
        t.join()
    fh.close()


if __name__ == "__main__":
    main()
