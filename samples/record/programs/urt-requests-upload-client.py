"""python-requests uploads (recorder upload-read-timeout-go.sh), one Session, in order: 'fast' (10 x 1 KB
chunked at once), 'slow1' (10 x 1 KB chunked, 0.3 s apart: 3 s, reusing fast's connection), 'slow2' (the
same on a new connection), 'big' (a Content-Length of 300000 announced, 1 KB sent every 0.3 s: refused on
its head), 'whole' (3 x 1 KB chunked 0.25 s apart, well within the server's 1 s). Logs one JSON line per
upload: its name, the status or the error, the seconds it took."""
import json, sys, time
import requests

url = sys.argv[1]


class Announced:
    """A slow body whose length requests reads from len(): sent with that Content-Length, not chunked."""
    def __init__(self, length, n, gap):
        self.length, self.n, self.gap = length, n, gap

    def __len__(self):
        return self.length

    def __iter__(self):
        return gen(self.n, self.gap)


def gen(n, gap):
    for i in range(n):  # bounded: n pieces
        yield b'x' * 1024
        if i < n - 1:
            time.sleep(gap)


s = requests.Session()
plan = [('fast', 10, 0.0, None), ('slow1', 10, 0.3, None), ('slow2', 10, 0.3, None), ('big', 10, 0.3, 300000), ('whole', 3, 0.25, None)]
for name, n, gap, length in plan:
    t0 = time.time()
    body = Announced(length, n, gap) if length else gen(n, gap)
    try:
        r = s.post('%s?%s' % (url, name), data=body, timeout=10)
        out = {'name': name, 'status': r.status_code, 'body': r.text.strip(), 'error': None}
    except Exception as e:  # the error the upload met, as the application saw it
        out = {'name': name, 'status': None, 'body': None, 'error': repr(e)}
    out['seconds'] = round(time.time() - t0, 3)
    print(json.dumps(out), flush=True)
    if name in ('slow1',):
        time.sleep(0.2)
    else:
        time.sleep(0.5)
