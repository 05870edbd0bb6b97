#!/usr/bin/python3
"""Clients of the CONNECT-tunnel samples (connect-tunnel-healthy.sh, connect-tunnel-failures.sh), each
logging its ground truth: one JSON line per event to --log (t: wall clock, epoch s; port: the local
port of the connection to the proxy; client: --name).

Usage: x28c-clients.py requests --proxy http://127.0.0.2:3128 --log FILE --name N STEP...
       x28c-clients.py raw --proxy 127.0.0.2:3128 --log FILE --name N STEP...

requests: python requests (Debian python3-requests, urllib3 1.26) with one Session whose proxies
  send both http and https URLs to --proxy: an https URL is fetched through a tunnel (urllib3 sends
  CONNECT host:443, then TLS inside it, and keeps the tunnel in its pool for the next request to that
  host), an http URL as an absolute-form request to the proxy (GET http://host/path), on a kept-alive
  connection. urllib3 drops a pooled connection whose peer's FIN has arrived (is_connection_dropped)
  and opens a new one: a tunnel the proxy closed while idle is never written to. Certificates are not
  checked (the target's is self-signed). Steps: get:URL, post:URL, sleep:SECONDS, close (the session's
  pooled connections closed: TLS close_notify and FIN).
raw: a tunnel by hand (socket, CONNECT, then ssl.wrap_socket over it) that writes each request
  without checking the connection first, as a client that holds a tunnel open and trusts it; it reads
  HTTP/1.1 responses with Content-Length. Steps: connect:HOST:PORT (CONNECT and TLS handshake;
  the proxy's status is logged, a non-2xx ends the tunnel), get:PATH, sleep:SECONDS, close.
Every error is logged (class and message) and the program goes on with the next step.
"""
import argparse
import json
import socket
import ssl
import sys
import time

LOG = None
NAME = ""


def log(**ev):
    LOG.write(json.dumps({"t": round(time.time(), 6), "client": NAME, **ev}) + "\n")
    LOG.flush()


def error_fields(e):
    cause = e
    while cause.__context__ is not None and cause is not cause.__context__ and not isinstance(cause, OSError):
        cause = cause.__context__
    return {"error": type(e).__name__, "message": str(e)[:300], "cause": type(cause).__name__}


def run_requests(proxy, steps):
    import requests
    import urllib3
    import reuse_lanes
    urllib3.disable_warnings()
    tl = reuse_lanes.track_urllib3_requests()
    lib = f"python requests {requests.__version__} (urllib3 {urllib3.__version__})"
    def new_session():
        # trust_env off: no proxy or CA bundle from the environment (REQUESTS_CA_BUNDLE would win over
        # verify=False); the proxies given are the only ones.
        s = requests.Session()
        s.trust_env = False
        s.proxies = {"http": proxy, "https": proxy}
        s.verify = False
        return s
    session = new_session()
    for step in steps:
        kind, _, arg = step.partition(":")
        if kind == "sleep":
            time.sleep(float(arg))
            continue
        if kind == "close":
            session.close()
            log(lib=lib, event="close")
            session = new_session()
            continue
        method = "POST" if kind == "post" else "GET"
        tl.port, tl.reused = None, None
        t0 = time.time()
        try:
            r = session.request(method, arg, json={"step": step} if method == "POST" else None, timeout=15,
                                verify=False)
            log(lib=lib, event="response", method=method, url=arg, status=r.status_code, bytes=len(r.content),
                port=tl.port, reused=tl.reused, elapsed=round(time.time() - t0, 6))
        except Exception as e:  # ground truth: what the client saw
            log(lib=lib, event="error", method=method, url=arg, port=tl.port, reused=tl.reused,
                elapsed=round(time.time() - t0, 6), **error_fields(e))
    session.close()


def read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed before a response head")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        fields[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), fields, rest


def run_raw(proxy, steps):
    host, port = proxy.rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    lib = f"python {sys.version.split()[0]} socket + ssl ({ssl.OPENSSL_VERSION})"
    tls = raw = None
    local = None
    target = None
    for step in steps:
        kind, _, arg = step.partition(":")
        t0 = time.time()
        try:
            if kind == "sleep":
                time.sleep(float(arg))
            elif kind == "connect":
                target = arg
                raw = socket.create_connection((host, int(port)), timeout=15)
                local = raw.getsockname()[1]
                raw.sendall(f"CONNECT {arg} HTTP/1.1\r\nHost: {arg}\r\nUser-Agent: x28c-raw\r\n\r\n".encode())
                status, _, rest = read_head(raw, b"")
                log(lib=lib, event="connect", target=arg, status=status, port=local, elapsed=round(time.time() - t0, 6))
                if status // 100 != 2:
                    raw.close()
                    raw = None
                    continue
                tls = ctx.wrap_socket(raw, server_hostname=arg.rsplit(":", 1)[0])
            elif kind == "get":
                tls.sendall(f"GET {arg} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: x28c-raw\r\n\r\n".encode())
                status, fields, body = read_head(tls, b"")
                need = int(fields.get("content-length", "0"))
                while len(body) < need:
                    data = tls.recv(65536)
                    if not data:
                        raise ConnectionError("connection closed inside a response body")
                    body += data
                log(lib=lib, event="response", method="GET", url=f"https://{target}{arg}", status=status,
                    bytes=len(body), port=local, elapsed=round(time.time() - t0, 6))
            elif kind == "close":
                if tls is not None:
                    try:
                        tls.unwrap()
                    except (OSError, ValueError):
                        pass
                    tls.close()
                if raw is not None:
                    raw.close()
                log(lib=lib, event="close", port=local)
                tls = raw = None
        except Exception as e:  # ground truth: what the client saw
            log(lib=lib, event="error", step=step, port=local, elapsed=round(time.time() - t0, 6), **error_fields(e))
            for s in (tls, raw):
                try:
                    if s is not None:
                        s.close()
                except OSError:
                    pass
            tls = raw = None


def main():
    global LOG, NAME
    ap = argparse.ArgumentParser()
    ap.add_argument("engine", choices=["requests", "raw"])
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("steps", nargs="+")
    a = ap.parse_args()
    LOG = open(a.log, "a")
    NAME = a.name
    (run_requests if a.engine == "requests" else run_raw)(a.proxy, a.steps)


if __name__ == "__main__":
    main()
