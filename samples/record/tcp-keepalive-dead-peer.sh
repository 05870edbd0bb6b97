#!/usr/bin/env bash
# tcp-keepalive-dead-peer: TCP keep-alive finds a peer gone, on either side, and its healthy twin.
# Two namespaces joined by a veth pair: client 10.79.0.1 (tcpdump on its veth: this capture) and
# server 10.79.0.2 (programs/ka-dead-server.py: 8080 without TCP keep-alive, 8081 with
# TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=3 on each accepted connection). The python client
# (programs/ka-dead-client.py) opens three connections and sends one GET on each:
#   dead     8080 from 40001, SO_KEEPALIVE with TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=3
#   healthy  the same from 40002
#   held     8081 from 40003, no keep-alive of its own
# Then nftables drops, on the path, everything the client sends on `dead` (the server's input
# chain) and everything the server sends on `held` (the client's input chain: tcpdump on the
# client's veth still sees those packets arrive). The client's kernel probes `dead` three times,
# unanswered, and resets it (ETIMEDOUT on the client's next request, 6 s later); the server's
# kernel does the same on `held` (ETIMEDOUT in the server's log; the client never learns); the
# probes on `healthy` are answered and its second request works. The meta is checked against
# both programs' logs and the nft counters (programs/ka-dead-meta.py). Bounded: ~10 s.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
cc_require python3 tcpdump tshark ip nft

SCENARIO=tcp-keepalive-dead-peer
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
S_NS="cc-ka-s-$$"
PY="$(python3 -c 'import sys; print(sys.executable)')"
WORK="$(mktemp -d)"
CAP_PID=""

cc_netns_up "cc-ka-c-$$"
cleanup_all() {
  if [ -n "$CAP_PID" ]; then kill -TERM "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; fi
  cc_cleanup
  ip netns del "$S_NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup_all EXIT
ip netns del "$S_NS" 2>/dev/null || true
ip netns add "$S_NS"
ip netns exec "$S_NS" ip link set lo up
ip link add veth-kc netns "$CC_NS" type veth peer name veth-ks netns "$S_NS"
cc_in ip addr add 10.79.0.1/24 dev veth-kc
cc_in ip link set veth-kc up
ip netns exec "$S_NS" ip addr add 10.79.0.2/24 dev veth-ks
ip netns exec "$S_NS" ip link set veth-ks up

ip netns exec "$S_NS" "$PY" "$HERE/programs/ka-dead-server.py" --addr 10.79.0.2 --log "$WORK/server.log" --lifetime 25 &
CC_PIDS+=("$!")
for i in $(seq 1 100); do
  ip netns exec "$S_NS" ss -Hltn 'sport = :8081' | grep -q . && break
  sleep 0.05
done

# Not through cc_in (a function: `&` would fork a subshell, and $! would not be tcpdump's PID).
ip netns exec "$CC_NS" tcpdump -i veth-kc -U --immediate-mode -B 32768 -n --time-stamp-precision=nano -s 0 -w "$OUT" tcp 2>"$WORK/tcpdump.log" &
CAP_PID="$!"
for i in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.log" && break; sleep 0.05; done

cc_bg timeout 20 "$PY" "$HERE/programs/ka-dead-client.py" --server 10.79.0.2 --log "$WORK/client.log" \
  --ready "$WORK/ready" --go "$WORK/go" --done "$WORK/done" --stop "$WORK/stop"
CLIENT_PID="$CC_LAST_PID"
for i in $(seq 1 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
[ -e "$WORK/ready" ] || { echo "record: the client did not get its first responses" >&2; exit 1; }

# The path dies: the client's packets of `dead` and the server's of `held` go nowhere.
ip netns exec "$S_NS" nft -f - <<'NFT'
table inet ka_path {
  chain input {
    type filter hook input priority 0;
    ip saddr 10.79.0.1 tcp sport 40001 counter drop
  }
}
NFT
cc_in nft -f - <<'NFT'
table inet ka_path {
  chain input {
    type filter hook input priority 0;
    ip saddr 10.79.0.2 tcp sport 8081 tcp dport 40003 counter drop
  }
}
NFT
touch "$WORK/go"

for i in $(seq 1 300); do [ -e "$WORK/done" ] && break; sleep 0.05; done
[ -e "$WORK/done" ] || { echo "record: the client did not finish" >&2; exit 1; }
sleep 0.3
kill -TERM "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=""
if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$WORK/tcpdump.log"; then cat "$WORK/tcpdump.log" >&2; exit 1; fi
# The counters before the client exits (its close of `held` draws one more RST from the server).
ip netns exec "$S_NS" nft list table inet ka_path > "$WORK/nft-server.txt"
cc_in nft list table inet ka_path > "$WORK/nft-client.txt"
touch "$WORK/stop"
wait "$CLIENT_PID" 2>/dev/null || true

"$PY" "$HERE/programs/ka-dead-meta.py" --capture "$OUT" --work "$WORK" --out "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --software "python $("$PY" -c 'import platform; print(platform.python_version())') (socket; client and server programs)" \
  --software "Linux $(uname -r) TCP keep-alive" --software "nftables $(nft --version | awk '{print $2}')" \
  --software "tcpdump $(tcpdump --version 2>&1 | awk 'NR==1{print $3}')"
