#!/usr/bin/env python3
# A python requests Session sending COUNT GETs with timeout=TIMEOUT (connect and read), PAUSE
# seconds after each ends; no retries (requests' default). Logs one line per request:
# "<epoch start> <epoch end> <i> ok|ConnectTimeout|ReadTimeout|<error class>".
# Usage: pl-client.py URL COUNT TIMEOUT PAUSE LOG
import sys, time
import requests

url, count, timeout, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
log = open(sys.argv[5], 'a', buffering=1)
s = requests.Session()
for i in range(count):
    t = time.time()
    try:
        r = s.get(url, timeout=timeout)
        _ = r.content
        what = 'ok'
    except requests.exceptions.ConnectTimeout:
        what = 'ConnectTimeout'
    except requests.exceptions.ReadTimeout:
        what = 'ReadTimeout'
    except Exception as e:  # a read timeout once the body began is a ConnectionError in requests
        what = type(e).__name__ + (':read-timeout' if 'Read timed out' in repr(e) else '')
    log.write('%.6f %.6f %d %s\n' % (t, time.time(), i, what))
    time.sleep(pause)
