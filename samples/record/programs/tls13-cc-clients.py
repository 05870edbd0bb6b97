#!/usr/bin/env python3
"""TLS 1.3 handshakes with and without a client certificate that close without a request
(samples/record/unanswered-request-tls13-client-cert.sh, lanes a and b): Python's ssl (OpenSSL 3)
from a fixed source port, handshake, PAUSE seconds idle, then a FIN (lane a) or close_notify and FIN
(lane b). One line per connection to the log: lane, port, TLS version, cipher, whether a certificate
was sent, what the server sent before the close."""
import argparse
import socket
import ssl
import time

ap = argparse.ArgumentParser()
ap.add_argument('--lane', required=True)
ap.add_argument('--port', type=int, required=True)
ap.add_argument('--cert')
ap.add_argument('--key')
ap.add_argument('--notify', action='store_true', help='send close_notify before the FIN')
ap.add_argument('--pause', type=float, default=0.3)
ap.add_argument('--log', required=True)
a = ap.parse_args()

ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
if a.cert:
    ctx.load_cert_chain(a.cert, a.key)
raw = socket.create_connection(('127.0.0.2', 8443), timeout=5, source_address=('127.0.0.1', a.port))
tls = ctx.wrap_socket(raw, server_hostname='localhost')
version, cipher = tls.version(), tls.cipher()[0]
time.sleep(a.pause)
how = 'fin'
if a.notify:
    how = 'close_notify+fin'
    try:
        tls.unwrap()
    except OSError:
        pass
raw.close()
with open(a.log, 'a') as f:
    f.write(f'{a.lane}\t{a.port}\t0\t{version} {cipher} cert={"yes" if a.cert else "no"} {how}\n')
