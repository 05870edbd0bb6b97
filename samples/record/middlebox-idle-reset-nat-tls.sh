#!/usr/bin/env bash
# A middlebox's idle timeout, reset form, over HTTPS: middlebox-idle-reset-nat.sh with TLS
# (X18M_TLS=1 in programs/x18m-lib.sh). Three namespaces: clients (10.77.1.2) - a Linux router
# (nftables masquerade of 10.77.1.0/24, conntrack forgetting an idle established TCP connection after
# 3 s, nf_conntrack_tcp_loose=0, and `ct state invalid ip protocol tcp reject with tcp reset` in its
# forward chain) - a Node https server on 10.77.2.2:8443 with keepAliveTimeout 60 s
# (programs/x18m-node-server.js with a self-signed ECDSA certificate that openssl makes in the scratch
# dir at run time; never committed). Clients: Node https.Agent lanes (rejectUnauthorized false) and
# python requests sessions (verify=False) (programs/x18m-node-client.js, x18m-requests-client.py), one
# pooled TLS connection each: three warm GETs, then a reuse after 5 s (GET and POST; the router forgot
# the connection), or after 1 and 2 s (control: must work); plus a Node lane with the Agent's default
# keepAliveMsecs (1000), whose TCP keep-alive probes keep the router's entry alive. The reuse (TLS
# application data) is answered by the router with a RST spoofed from the server's address; the
# server never sees it.
# Captured on the client's veth only (samples/middlebox-idle-reset-nat-tls.pcap), with its meta.json
# written by programs/x18m-meta.py --tls, which finds the encrypted requests by the clients' logs
# (local port, send time) and checks the capture (and the server-side capture, kept in the scratch
# dir) against the clients' and the server's logs.
# Bounded: one recording takes ~10 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x18m-lib.sh"
X18M_TLS=1
x18m_require

SCENARIO=middlebox-idle-reset-nat-tls
X18M_INVALID=reset
X18M_TAIL=0.5
x18m_setup ccx18m-tls
REQUESTS_VERSION="$(/usr/bin/python3 -c 'import requests; print(requests.__version__)')"
DESCRIPTION="A stateful middlebox forgets idle keep-alive HTTPS connections and answers their reuse with a reset (an AWS NAT gateway after 350 s idle; a firewall rule 'reject with tcp reset' for packets its connection table no longer knows), over TLS. Three network namespaces: clients on 10.77.1.2, a Linux $(uname -r) router (nftables $(nft --version | awk '{print $2}'): masquerade of 10.77.1.0/24 towards 10.77.2.0/24; conntrack net.netfilter.nf_conntrack_tcp_timeout_established=3 and nf_conntrack_tcp_loose=0 in its namespace; forward chain 'ct state invalid ip protocol tcp reject with tcp reset'), and a Node $(node -v) https server on 10.77.2.2:8443 (a self-signed ECDSA P-256 certificate made for the recording) with keepAliveTimeout 60 s that closes nothing during the recording. Clients (no retries): three Node https.Agent lanes (keepAlive, maxSockets 1, keepAliveMsecs 30000 so the kernel sends no TCP keep-alive probe during the pause, rejectUnauthorized false) and three python requests ${REQUESTS_VERSION} sessions (verify=False); each sends three warm GETs 0.2 s apart on one TLS connection, then: stale-get and stale-post reuse it after 5 s idle (GET /items/..., POST /orders?attempt=... with a small JSON body), then send one more GET (a new connection, a new TLS handshake); control reuses it after 1 s and again after 2 s. A fourth Node lane (tcpka) keeps the Agent's default keepAliveMsecs 1000: its pooled socket sends a TCP keep-alive probe every ~1 s, which refreshes the router's conntrack entry, and its reuse after 5 s works. After 3 s without a packet the router's conntrack drops the entry of each stale connection without telling either end (no FIN, no RST, no TLS alert). The reused request, TLS application data, is then a mid-stream packet of an unknown connection (ct state invalid): the router's reject answers it at once with a RST spoofed from 10.77.2.2:8443 (RST without ACK, its sequence number = the request's ACK number, IP TTL 64 where the server's forwarded segments arrive with 63, IP ID 0, no TCP timestamps). Node reports ECONNRESET (read ECONNRESET); requests a ConnectionError as its ssl module meets the reset (RemoteDisconnected for the GET, SSLError with SSLEOFError for the POST; groundTruth.clientLog.errors); the server never receives the request and its connection stays open on its side. Every request and response is encrypted (no key log): the stale connections are known from the clients' logs (local port, error) and the router's reject counter. Captured on the client's veth (as an SRE would)."
x18m_record "$SCENARIO" "$DESCRIPTION"
