"""The lanes of the keep-alive race clients (x16-aiohttp-client.py, x16-httpx-client.py,
x17p-requests-lanes.py): each lane has one pooled connection; it sends a "warm" GET (a new
connection), then for each round sleeps GAP seconds (measured from the moment the previous response
was fully read) and sends the round's request on the pooled connection: POST /orders?attempt=...
(JSON body) on alternate rounds, else GET /items/...; after a failure, a new warm GET (another URI)
before the next pause. The GAPS are dealt to the lanes round-robin in the order given.
Also the ground truth of the python requests clients (x17p-requests-lanes.py,
x18m-requests-client.py): track_urllib3_requests().
"""
import json
import threading
import time


def add_lane_arguments(ap, lanes, rounds, stagger, max_seconds, gaps_required=True):
    """--base, --log, --lanes, --rounds, --gaps, --stagger, --max-seconds (with these defaults)."""
    ap.add_argument("--base", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lanes", type=int, default=lanes)
    ap.add_argument("--rounds", type=int, default=rounds)
    if gaps_required:
        ap.add_argument("--gaps", required=True)
    else:
        ap.add_argument("--gaps", default="")
    ap.add_argument("--stagger", type=float, default=stagger)
    ap.add_argument("--max-seconds", type=float, default=max_seconds)


def deal(gaps, lanes, rounds):
    """The pauses (a comma-separated string) dealt round-robin: one list of at most ROUNDS per lane."""
    v = [float(g) for g in gaps.split(",")]
    return [v[i::lanes][:rounds] for i in range(lanes)]


def warm_path(lane, rnd, tag=""):
    return f"/warm/{tag}l{lane}-r{rnd}"


def round_request(lane, rnd, tag=""):
    """(method, path, body) of a round's reuse: a POST with a JSON body on alternate rounds, else a GET."""
    if (lane + rnd) % 2 == 0:
        return ("POST", f"/orders?attempt={tag}l{lane}-r{rnd}",
                json.dumps({"lane": lane, "round": rnd, "item": "x" * 40}).encode())
    return "GET", f"/items/{tag}l{lane}-r{rnd}", None


def run_lane(send, lane, gaps, tag=""):
    """One lane of a threaded client. send(ev, method, path, body) makes a request on the lane's
    client (ev: the fields to log with it) and returns (local port or None on failure, the
    time.monotonic() when the response was read or the request failed)."""
    port, released = None, None
    for rnd, gap in enumerate(gaps):
        if port is None:
            port, released = send({"lane": lane, "round": rnd, "kind": "warm"}, "GET", warm_path(lane, rnd, tag), None)
            if port is None:
                continue
        time.sleep(max(0.0, gap - (time.monotonic() - released)))
        idle = time.monotonic() - released
        method, path, body = round_request(lane, rnd, tag)
        port, released = send({"lane": lane, "round": rnd, "kind": "reuse", "gapAsked": gap,
                               "idleMeasured": round(idle, 6), "prevPort": port}, method, path, body)


def run_threads(target, lanes, stagger, max_seconds):
    """target(lane, start_delay) in one daemon thread per lane, lane i starting i * STAGGER s later;
    waits at most MAX_SECONDS in all. Returns True when every lane finished."""
    threads = [threading.Thread(target=target, args=(i, i * stagger), daemon=True) for i in range(lanes)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + max_seconds
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def track_urllib3_requests():
    """Wraps urllib3's HTTPConnection (connect, request) to learn each request's local port and
    whether it went on a connection that was already open. Returns a threading.local: set its port
    and reused to None before a request; after it, port is the local port of the connection the
    request went on (None when it never connected) and reused is True when that connection was
    already open (None when no request was sent). HTTPSConnection's own connect (urllib3 1.26 does
    not call HTTPConnection.connect for https) is wrapped the same way; as urllib3 connects an https
    connection before its request (_validate_conn), a connection opened for this request is told
    apart by a mark its connect sets (cleared after each request), not by its open socket."""
    import urllib3.connection

    tl = threading.local()
    conn = urllib3.connection.HTTPConnection
    orig_request = conn.request

    def wrap_connect(cls):
        orig_connect = cls.connect

        def connect(self):
            orig_connect(self)
            self._lane_port = self.sock.getsockname()[1]
            self._lane_fresh = True
        cls.connect = connect

    def request(self, *a, **k):
        tl.reused = self.sock is not None and not getattr(self, "_lane_fresh", False)
        tl.port = getattr(self, "_lane_port", None) if tl.reused else None
        try:
            return orig_request(self, *a, **k)
        finally:
            tl.port = getattr(self, "_lane_port", None)
            self._lane_fresh = False

    wrap_connect(conn)
    https = getattr(urllib3.connection, "HTTPSConnection", None)
    if https is not None and "connect" in https.__dict__:
        wrap_connect(https)
    conn.request = request
    return tl
