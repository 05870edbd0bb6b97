#!/usr/bin/env bash
# A middlebox's idle timeout, silent-drop form (an Azure Load Balancer after 4 min idle by default; a
# firewall dropping packets its connection table no longer knows, `ct state invalid drop`). Three
# namespaces: clients (10.77.1.2) - a Linux router (nftables masquerade of 10.77.1.0/24, conntrack
# forgetting an idle established TCP connection after 3 s, nf_conntrack_tcp_loose=0, and
# `ct state invalid drop` in its forward chain) - a Node http server on 10.77.2.2:8080 with
# keepAliveTimeout 60 s (programs/x18m-node-server.js). Clients as in middlebox-idle-reset-nat.sh
# (programs/x18m-node-client.js, x18m-requests-client.py): three warm GETs, a reuse after 5 s (GET and
# POST; the router forgot the connection) or after 1 and 2 s (control), a Node lane whose TCP
# keep-alive probes keep the router's entry alive. The reuse is dropped by the router, and so is
# every retransmission; the clients give up after their 4 s timeout; the server never sees anything.
# Captured twice: on the client's veth (samples/middlebox-idle-drop-nat.pcap) and on the server's
# (samples/middlebox-idle-drop-nat-server-side.pcap), each with its meta.json written by
# programs/x18m-meta.py, which checks the captures against the clients' and the server's logs. The
# captures go on 27 s after the clients end, then curl sends one more GET on a new connection (other
# traffic, ~31 s after the stale requests: as in an SRE's capture of a minute, the stale requests are
# then more than 30 s old): the clients' FINs never leave (queued behind the unacknowledged
# requests), the requests are retransmitted with exponential backoff until the end.
# Bounded: one recording takes ~40 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x18m-lib.sh"
x18m_require

SCENARIO=middlebox-idle-drop-nat
X18M_INVALID=drop
X18M_TAIL=27
X18M_LATE_PROBE=1
x18m_setup ccx18m-drop
DESCRIPTION="A stateful middlebox forgets idle keep-alive connections and silently drops their reuse (an Azure Load Balancer after 4 min idle by default; a firewall dropping packets its connection table no longer knows). Three network namespaces: clients on 10.77.1.2, a Linux $(uname -r) router (nftables $(nft --version | awk '{print $2}'): masquerade of 10.77.1.0/24 towards 10.77.2.0/24; conntrack net.netfilter.nf_conntrack_tcp_timeout_established=3 and nf_conntrack_tcp_loose=0 in its namespace; forward chain 'ct state invalid drop'), and a Node $(node -v) http server on 10.77.2.2:8080 with keepAliveTimeout 60 s that closes nothing during the recording. Clients (no retries), each request with a 4 s client timeout (Node req.setTimeout(4000) then destroy; requests timeout=(3, 4)): three Node http.Agent lanes (keepAlive, maxSockets 1, keepAliveMsecs 30000 so the kernel sends no TCP keep-alive probe during the pause) and three python requests 2.28.1 sessions; each sends three warm GETs 0.2 s apart on one connection, then: stale-get and stale-post reuse it after 5 s idle (GET /items/..., POST /orders?attempt=... with a small JSON body), then send one more GET (a new connection, answered); control reuses it after 1 s and again after 2 s. A fourth Node lane (tcpka) keeps the Agent's default keepAliveMsecs 1000: its pooled socket sends a TCP keep-alive probe every ~1 s, which refreshes the router's conntrack entry, and its reuse after 5 s works. After 3 s without a packet the router's conntrack drops the entry of each stale connection without telling either end. The reused request is then a mid-stream packet of an unknown connection (ct state invalid) and the router drops it, and every retransmission: nothing at all comes back, no ACK, no RST. After 4 s Node reports its timeout (the program's CLIENT_TIMEOUT) and requests ReadTimeout, and both close the socket, but the FIN is queued behind the unacknowledged request and never leaves: the kernel keeps retransmitting the request alone (0.2, 0.4, 0.8, 1.7, 3.3, 6.6, 13.3, 26.6 s after it), so the capture shows no close from either end, and the four connections are still open, their requests unanswered for ~31 s, when it ends. The server never receives anything on those connections, which stay open on its side. Captured on the client's veth (this file, as an SRE would) and on the server's veth (${SCENARIO}-server-side); both captures go on 27 s after the clients end, then curl sends GET /late/probe on a new connection (answered 200), ~31 s after the stale requests."
x18m_record "$SCENARIO" "$DESCRIPTION"
