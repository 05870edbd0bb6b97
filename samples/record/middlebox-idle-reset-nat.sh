#!/usr/bin/env bash
# A middlebox's idle timeout, reset form (AWS NAT gateway after 350 s idle; a firewall whose rule
# rejects with tcp reset what its connection table no longer knows). Three namespaces: clients
# (10.77.1.2) - a Linux router (nftables masquerade of 10.77.1.0/24, conntrack forgetting an idle
# established TCP connection after 3 s, nf_conntrack_tcp_loose=0, and
# `ct state invalid ip protocol tcp reject with tcp reset` in its forward chain) - a Node http server
# on 10.77.2.2:8080 with keepAliveTimeout 60 s (programs/x18m-node-server.js). Clients: Node
# http.Agent lanes and python requests sessions (programs/x18m-node-client.js,
# x18m-requests-client.py), one pooled connection each: three warm GETs, then a reuse after 5 s
# (GET and POST; the router forgot the connection), or after 1 and 2 s (control: must work); plus a
# Node lane with the Agent's default keepAliveMsecs (1000), whose TCP keep-alive probes keep the
# router's entry alive. Neither end is told when the router forgets; the reuse is answered by the
# router with a RST spoofed from the server's address; the server never sees it.
# Captured twice: on the client's veth (samples/middlebox-idle-reset-nat.pcap) and on the server's
# (samples/middlebox-idle-reset-nat-server-side.pcap), each with its meta.json written by
# programs/x18m-meta.py, which checks the captures against the clients' and the server's logs.
# Bounded: one recording takes ~10 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x18m-lib.sh"
x18m_require

SCENARIO=middlebox-idle-reset-nat
X18M_INVALID=reset
X18M_TAIL=0.5
x18m_setup ccx18m-rst
DESCRIPTION="A stateful middlebox forgets idle keep-alive connections and answers their reuse with a reset (an AWS NAT gateway after 350 s idle; a firewall rule 'reject with tcp reset' for packets its connection table no longer knows). Three network namespaces: clients on 10.77.1.2, a Linux $(uname -r) router (nftables $(nft --version | awk '{print $2}'): masquerade of 10.77.1.0/24 towards 10.77.2.0/24; conntrack net.netfilter.nf_conntrack_tcp_timeout_established=3 and nf_conntrack_tcp_loose=0 in its namespace; forward chain 'ct state invalid ip protocol tcp reject with tcp reset'), and a Node $(node -v) http server on 10.77.2.2:8080 with keepAliveTimeout 60 s that closes nothing during the recording. Clients (no retries): three Node http.Agent lanes (keepAlive, maxSockets 1, keepAliveMsecs 30000 so the kernel sends no TCP keep-alive probe during the pause) and three python requests 2.28.1 sessions; each sends three warm GETs 0.2 s apart on one connection, then: stale-get and stale-post reuse it after 5 s idle (GET /items/..., POST /orders?attempt=... with a small JSON body), then send one more GET (a new connection); control reuses it after 1 s and again after 2 s. A fourth Node lane (tcpka) keeps the Agent's default keepAliveMsecs 1000: its pooled socket sends a TCP keep-alive probe every ~1 s, which refreshes the router's conntrack entry, and its reuse after 5 s works. After 3 s without a packet the router's conntrack drops the entry of each stale connection without telling either end (no FIN, no RST). The reused request is then a mid-stream packet of an unknown connection (ct state invalid): the router's reject answers it at once with a RST spoofed from 10.77.2.2:8080 (RST without ACK, its sequence number = the request's ACK number, IP TTL 64 where the server's forwarded segments arrive with 63, IP ID 0, no TCP timestamps). Node reports ECONNRESET (read ECONNRESET), requests ConnectionError (ConnectionResetError 104); the server never receives the request and its connection stays open on its side. python requests sends a POST's headers and body in two send() calls: here only the headers left before the RST. Captured on the client's veth (this file, as an SRE would) and on the server's veth (${SCENARIO}-server-side)."
x18m_record "$SCENARIO" "$DESCRIPTION"
