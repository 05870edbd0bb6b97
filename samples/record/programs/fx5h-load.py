#!/usr/bin/env python3
"""Load for restart-reload-nginx: LANES threads, each with one http.client keep-alive connection
(a new one after a failure), sending GET or POST BASE/PATH?d=0.05&t=LANE-I every GAP seconds until
DURATION has passed. Logs each call: time, lane, method, path, status or error.
Usage: fx5h-load.py HOST PORT PATH LANES GAP DURATION LOG"""
import sys, time, threading, http.client

HOST, PORT, PATH, LANES, GAP, DURATION, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), sys.argv[7]
log = open(LOG, 'a', buffering=1)
lock = threading.Lock()
end = time.time() + DURATION

def lane(k):
    conn = None
    i = 0
    while time.time() < end:
        method = 'POST' if i % 3 == 2 else 'GET'
        path = f'{PATH}?d=0.05&t={PATH.strip("/")}{k}-{i}'
        try:
            if conn is None:
                conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
            conn.request(method, path, body=b'x=1' if method == 'POST' else None)
            r = conn.getresponse()
            r.read()
            out = str(r.status)
        except Exception as e:  # noqa: BLE001 - every failure is logged as the client saw it
            out = type(e).__name__
            conn.close()
            conn = None
        with lock:
            log.write(f'{time.time():.6f} lane{k} {method} {path} {out}\n')
        i += 1
        time.sleep(GAP)

threads = [threading.Thread(target=lane, args=(k,)) for k in range(LANES)]
for k, t in enumerate(threads):
    t.start()
    time.sleep(GAP / LANES)
for t in threads:
    t.join()
