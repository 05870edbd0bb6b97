#!/usr/bin/env bash
# A path outage in the middle of a keep-alive exchange (blind5 s5b, s5c). Two namespaces joined by
# a veth; the capture is on the server's end of it. A python3 keep-alive server (idle close after
# 6 s) and three python3 clients, one after the other, each on one connection: GET /p0, /p1, then
# the recorder inserts an iptables DROP of the server port in the server's namespace (INPUT: the
# capture still sees the client's packets, the server gets none and sends nothing), the client
# sends GET /p2, and the DROP is removed after a bounded time.
#   1. app timeout 1.5 s, DROP 2.5 s: the client gives up and closes at 1.5 s; its FIN stays queued
#      behind the request its kernel keeps resending, so the capture never shows it. The resend
#      that gets through is answered, and the client's kernel resets the answer at once.
#   2. TCP_USER_TIMEOUT 1500 ms, DROP 5 s: the request is resent, never ACKed, and the client's
#      kernel aborts with ETIMEDOUT (sending nothing). The server, which never had the request,
#      closes the idle connection at 6 s; the client's kernel resets that FIN.
#   3. near miss: app timeout 3 s, DROP 1 s: a resend gets through, the answer comes in time,
#      the exchange completes, the client never gives up.
# Writes samples/path-outage-keepalive.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump iptables ip

SCENARIO=path-outage-keepalive
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
NSS=fx5b-s
NSC=fx5b-c
SIP=10.185.0.2
CIP=10.185.0.1
PORT=8600
PROG="$CCB_PROGRAMS/path-outage.py"

cc_netns_up "$NSS"
ccb_workdir
ccb_netns_add "$NSC"
ip link add fx5b-c0 type veth peer name fx5b-s0
ip link set fx5b-c0 netns "$NSC"
ip link set fx5b-s0 netns "$NSS"
ip -n "$NSC" addr add "$CIP/24" dev fx5b-c0
ip -n "$NSS" addr add "$SIP/24" dev fx5b-s0
ip -n "$NSC" link set fx5b-c0 up
ip -n "$NSS" link set fx5b-s0 up

ccb_bg "$NSS" python3 "$PROG" server --host "$SIP" --port "$PORT" --idle 6 --lifetime 60 >"$CCB_WORK/server.log"
ccb_wait_port "$NSS" "$PORT"
ccb_capture_start "$NSS" fx5b-s0 "$OUT" "tcp port $PORT" -s 256

DROP_RULE=(INPUT -p tcp --dport "$PORT" -j DROP)
# run_client NAME DROP_SECONDS CLIENT_ARGS...: (each from its own source port, named in the meta) one client; the DROP goes in once it is ready, for DROP_SECONDS.
run_client() {
  local name="$1" drop="$2"; shift 2
  local go="$CCB_WORK/go-$name" log="$CCB_WORK/client-$name.log" i
  ccb_bg "$NSC" timeout 30 python3 "$PROG" client --host "$SIP" --port "$PORT" --go "$go" "$@" >"$log"
  local pid="$CC_LAST_PID"
  for i in $(seq 1 100); do grep -q ready "$log" 2>/dev/null && break; sleep 0.05; done
  ip netns exec "$NSS" iptables -I "${DROP_RULE[@]}"
  echo "$(date +%s.%N) DROP inserted" >>"$CCB_WORK/ctl.log"
  touch "$go"
  sleep "$drop"
  ip netns exec "$NSS" iptables -D "${DROP_RULE[@]}"
  echo "$(date +%s.%N) DROP removed" >>"$CCB_WORK/ctl.log"
  wait "$pid" || true
}

run_client gave-up 2.5 --timeout 1.5 --sport 41001
sleep 2
run_client user-timeout 5 --user-timeout-ms 1500 --sport 41002
sleep 3  # the server's idle close (6 s after /p1's answer) and the client's RST of it
run_client near-miss 1 --timeout 3 --sport 41003
sleep 0.5
cc_capture_stop
for f in server client-gave-up client-user-timeout client-near-miss ctl; do echo "== $f"; cat "$CCB_WORK/$f.log"; done

python3 - "$OUT" "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$CCB_WORK" "$SIP:$PORT" "$CIP" <<'PY'
import json, re, subprocess, sys
out, meta_path, work, server, cip = sys.argv[1:]
def client_log(name):
    text = open(f'{work}/client-{name}.log').read()
    port = re.search(r'connected \S+:(\d+)', text).group(1)
    return text, f'{cip}:{port}'
gave_text, gave = client_log('gave-up')
ut_text, ut = client_log('user-timeout')
near_text, near = client_log('near-miss')
assert 'timed out (socket timeout)' in gave_text and '/p2 ok' not in gave_text, gave_text
assert 'ETIMEDOUT' in ut_text, ut_text
assert '/p2 ok' in near_text, near_text
python = subprocess.run(['python3', '--version'], capture_output=True, text=True).stdout.strip()
meta = {
    'scenario': 'path-outage-keepalive',
    'description':
        'A path outage during a keep-alive exchange: iptables DROP of the server port in the server namespace (after the capture point, the server veth) '
        'while a python3 client waits for GET /p2. Client 1 (app timeout 1.5 s, DROP 2.5 s) gave up and closed; its FIN stayed queued behind the request its '
        'kernel kept resending, so it was never captured; the answer to the resend that got through was reset at once by its kernel. Client 2 '
        '(TCP_USER_TIMEOUT 1500 ms, DROP 5 s) got ETIMEDOUT with the request never ACKed; the server, which never had it, closed the idle connection '
        '6 s after /p1 and the client kernel reset that FIN. Client 3 (app timeout 3 s, DROP 1 s) is the near miss: a resend got through and was answered in time.',
    'software': [python, 'python3 socket keep-alive server and client (programs/path-outage.py)', 'iptables DROP'],
    'facts': {'clientAppTimeoutGaveUp': 1.5, 'dropGaveUp': 2.5, 'clientUserTimeoutMs': 1500, 'dropUserTimeout': 5, 'serverIdleClose': 6,
              'clientAppTimeoutNearMiss': 3, 'dropNearMiss': 1,
              'clientLogs': {'gave-up': gave_text, 'user-timeout': ut_text, 'near-miss': near_text}},
    'expect': [
        {'kind': 'unanswered-request', 'client': gave, 'server': server,
         'notes': 'the client gave up after 1.5 s (socket timeout) and closed; its close is not in the capture; the late 200 was reset on arrival without an ACK'},
        {'kind': 'unanswered-request', 'client': ut, 'server': server,
         'notes': 'GET /p2 resent, never ACKed; the client aborted on TCP_USER_TIMEOUT (ETIMEDOUT) without a packet; the server later closed the idle connection'},
        {'kind': None, 'client': near, 'server': server, 'notes': 'near miss: a 1 s outage, the resent request answered within the 3 s timeout'},
    ],
}
json.dump(meta, open(meta_path, 'w'), indent=2)
open(meta_path, 'a').write('\n')
PY
echo "wrote $OUT"
