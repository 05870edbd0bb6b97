"""tls13-mtls-py-client: one TLS 1.3 connection with Python's ssl from a fixed local port, for the
tls-handshake-failed-mtls13 recorder. Modes:
  get     handshake, send a GET, read the answer (or the error the server's alert raises);
  idle    handshake, then wait for the server to close (at most --wait seconds), no request;
  notify  handshake, then unwrap (the client's close_notify) and close: a TLS health check.
Appends one line to --log: lane, local port, 'ok'/'error', what happened."""
import argparse
import socket
import ssl
import time

p = argparse.ArgumentParser()
p.add_argument("--lane", required=True)
p.add_argument("--port", type=int, required=True)
p.add_argument("--server", required=True)  # host:port
p.add_argument("--ca", required=True)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--mode", choices=["get", "idle", "notify"], default="get")
p.add_argument("--wait", type=float, default=2.5)
p.add_argument("--log", required=True)
a = p.parse_args()
host, port = a.server.rsplit(":", 1)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_verify_locations(a.ca)
ctx.check_hostname = False
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
raw = socket.create_connection((host, int(port)), timeout=5, source_address=("127.0.0.1", a.port))
status, what = "ok", ""
try:
    tls = ctx.wrap_socket(raw, server_hostname="localhost")
    if a.mode == "get":
        tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = tls.recv(4096)
        what = data.split(b"\r\n", 1)[0].decode("latin-1") if data else "EOF"
    elif a.mode == "idle":
        tls.settimeout(a.wait)
        t0 = time.monotonic()
        try:
            data = tls.recv(4096)
            what = f"server closed after {time.monotonic() - t0:.3f} s ({'EOF' if not data else 'data'})"
        except ssl.SSLZeroReturnError:
            what = f"server close_notify after {time.monotonic() - t0:.3f} s"
    else:
        try:
            tls.unwrap()
            what = "unwrap done"
        except OSError as e:
            what = f"unwrap: {e}"
except (ssl.SSLError, OSError) as e:
    status, what = "error", str(e)
finally:
    raw.close()
with open(a.log, "a") as f:
    f.write(f"{a.lane}\t{a.port}\t{status}\t{what}\n")
