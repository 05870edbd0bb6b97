#!/usr/bin/env bash
# The most common nginx layout: nginx listens on the host's address (10.15.0.1:8080, clients
# 10.15.0.2 come over a veth) and proxies to a backend on 127.0.0.1:9002 (proxy_read_timeout 1s),
# so its upstream legs leave from 127.0.0.1, an address that also serves (the backend). The same
# nginx serves a site of its own on 10.15.0.1:8081 (return 200), which forwards nothing.
# Captured with `tcpdump -i any` in the host namespace: the veth and lo at once (LINUX_SLL2).
# LB_MODE=hang (default): the backend sleeps 2.5 s on /hang: three 504 after 1 s, the backend's
#   late answers reset (blind 14 S1's layout).
# LB_MODE=nearmiss (client-timeout-local-beside-nginx-loopback.sh): the backend answers /slow in
#   0.3 s, and a local curl on 127.0.0.1 sends the same /slow?i=N straight to the backend while
#   nginx's copy waits, giving up after 0.1 s (--max-time): a plain client's timeout, no proxy's.
# Writes samples/<scenario>.pcap and .meta.json (checked against nginx's error and access logs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-a.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx curl

MODE=${LB_MODE:-hang}
if [ "$MODE" = hang ]; then SCENARIO=gateway-timeout-nginx-loopback-backend; else SCENARIO=client-timeout-local-beside-nginx-loopback; fi
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
HOST_IP=10.15.0.1
CLIENT_IP=10.15.0.2
cc_netns_up cc-lb-host
ccb_workdir
WORK="$CCB_WORK"
CLI_NS=cc-lb-cli
ccb_netns_add "$CLI_NS"
ip link add cclbh type veth peer name cclbc
ip link set cclbh netns "$CC_NS"
ip link set cclbc netns "$CLI_NS"
cc_in ip addr add "$HOST_IP/24" dev cclbh
cc_in ip link set cclbh up
ip netns exec "$CLI_NS" ip addr add "$CLIENT_IP/24" dev cclbc
ip netns exec "$CLI_NS" ip link set cclbc up

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format t '\$msec \$remote_addr:\$remote_port "\$request" \$status rt=\$request_time ust=\$upstream_status urt=\$upstream_response_time port=\$server_port';
  access_log $WORK/access.log t;
  server {
    listen $HOST_IP:8080;
    location / {
      proxy_pass http://127.0.0.1:9002;
      proxy_connect_timeout 1s;
      proxy_read_timeout 1s;
    }
  }
  server {
    listen $HOST_IP:8081;
    location / { return 200 "own site\n"; }
  }
CONF

cc_bg python3 "$CCB_PROGRAMS/lb-backend.py" 127.0.0.1 9002 2.5 0.3 2>"$WORK/backend.log"
cc_wait_port 9002
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_wait_port 8080
cc_wait_port 8081
cc_a_tcpdump_start any "$OUT" "tcp port 8080 or tcp port 8081 or tcp port 9002" -y LINUX_SLL2 -B 32768 --immediate-mode --time-stamp-precision=nano
CURL=(curl -sS -o /dev/null -w '%{url} %{http_code} %{time_total} %{local_port}\n' --max-time 5)
remote() { ip netns exec "$CLI_NS" "${CURL[@]}" "$@" >>"$WORK/client.log" 2>&1; }
# The site nginx answers itself: twelve requests on one keep-alive connection.
own=()
for i in $(seq 1 12); do own+=("http://$HOST_IP:8081/own/$i"); done
remote "${own[@]}"
remote "http://$HOST_IP:8080/fast/1"
remote "http://$HOST_IP:8080/fast/2"
pids=()
if [ "$MODE" = hang ]; then
  for i in 1 2 3; do
    remote "http://$HOST_IP:8080/hang/$i" &
    pids+=("$!")
    sleep 0.05
  done
  wait "${pids[@]}"
  # The backend's late answers (2.5 s after each request) meet the closed sockets.
  sleep 1.8
else
  for i in 1 2 3; do
    remote "http://$HOST_IP:8080/slow?i=$i" &
    pids+=("$!")
    sleep 0.02
    # The local client, straight to the backend, gives up after 0.1 s (curl exits 28: expected).
    cc_in curl -sS -o /dev/null -w "local %{url} %{http_code} %{time_total} %{local_port}\n" --max-time 0.1 "http://127.0.0.1:9002/slow?i=$i" >>"$WORK/client.log" 2>&1 || true
    wait "${pids[@]}"
    pids=()
    sleep 0.2
  done
  sleep 0.4
fi
remote "http://$HOST_IP:8080/fast/3"
cc_capture_stop
cat "$WORK/client.log"
echo "--- access log"; cat "$WORK/access.log"
echo "--- error log (timeouts)"; grep -h "timed out" "$WORK/error.log" || true
echo "--- backend"; cat "$WORK/backend.log"

# Meta from nginx's own logs: the 504s and their times from the access log, the timeouts from the error log.
TEMPLATE="$(python3 - "$MODE" "$SCENARIO" "$WORK/access.log" "$WORK/error.log" "$WORK/backend.log" "$WORK/client.log" <<'PY'
import json, re, sys
mode, scenario, access, error, backend, client = sys.argv[1:7]
lines = [l.split() for l in open(access) if l.strip()]
proxied = [l for l in lines if l[-1] == "port=8080"]
own = [l for l in lines if l[-1] == "port=8081"]
status = lambda l: int(l[5])
rt = lambda l: float(l[6].split("=")[1])
timeouts = [l for l in open(error) if "upstream timed out" in l]
late = [l for l in open(backend) if "/hang" in l and "answered" not in l]
assert len(own) == 12 and all(status(l) == 200 for l in own), "own site"
if mode == "hang":
    g504 = [l for l in proxied if status(l) == 504]
    assert len(g504) == 3 and len(timeouts) == 3, (g504, timeouts)
    assert all(status(l) == 200 for l in proxied if l not in g504)
    meta = {
        "scenario": scenario,
        "description": "nginx listens on the host address 10.15.0.1:8080 (clients 10.15.0.2 over a veth) and proxies to a Python backend on 127.0.0.1:9002 with proxy_read_timeout 1s; the backend sleeps 2.5 s on /hang. The same nginx answers twelve requests on 10.15.0.1:8081 itself (return 200), forwarding nothing. Three curls request /hang at once and get 504 after 1.0 s (error log: upstream timed out ... while reading response header from upstream); nginx closes each upstream connection from 127.0.0.1 at that moment and the backend's late answers are reset. /fast before and after is proxied and answered 200. Captured with tcpdump -i any (veth and lo, LINUX_SLL2). The upstream legs leave from 127.0.0.1, which also serves (the backend): they are found by what they copy, per listening endpoint (blind 14, S1).",
        "software": ["nginx/1.22.1", "Python 3 http.server (ThreadingHTTPServer) backend", "curl 7.88.1", "tcpdump 4.99 -i any"],
        "configured": {"proxyReadTimeout": 1.0},
        "observed": {"gateway504RequestTimes": [rt(l) for l in g504], "errorLogUpstreamTimedOut": len(timeouts), "backendLateAnswersFailed": len(late), "ownSiteAnswers": len(own)},
        "expectByClient": dict(
            [("10.15.0.2:" + l[1].split(":")[1], ["gateway-timeout", "GET %s answered 504 by nginx after %s s = proxy_read_timeout 1s (error log: upstream timed out), paired with its upstream leg from 127.0.0.1 (phase read)." % (l[3], rt(l))]) for l in g504]
            + [(l.split()[-1], ["unanswered-request", "nginx's upstream leg: GET %s ACKed by the backend, no response within nginx's 1 s; nginx closed it and answered 504; the backend's answer 2.5 s after the request met the closed socket (%s). Told within the gateway-timeout incident." % (l.split()[1], l.split()[2])]) for l in late]),
        "silent": False,
    }
else:
    gaveup = [l for l in open(client) if l.startswith("local ") and " 000 " in l]
    assert all(status(l) == 200 for l in proxied) and not timeouts and len(gaveup) == 3, (proxied, timeouts, gaveup)
    meta = {
        "scenario": scenario,
        "description": "Near miss of gateway-timeout-nginx-loopback-backend: the same layout (nginx on 10.15.0.1:8080 proxying to a Python backend on 127.0.0.1:9002, proxy_read_timeout 1s; nginx's own site on :8081), but the backend answers /slow in 0.3 s and every proxied request gets 200. While each of three nginx copies of GET /slow?i=N waits, a local curl on 127.0.0.1 sends the same GET /slow?i=N straight to the backend and gives up after 0.1 s (--max-time 0.1). Those three are a plain client's abandoned requests: they must not be taken for nginx's forwards (no proxy read timeout, no gateway finding) although they copy nginx's requests from its upstream address.",
        "software": ["nginx/1.22.1", "Python 3 http.server (ThreadingHTTPServer) backend", "curl 7.88.1", "tcpdump 4.99 -i any"],
        "configured": {"clientTimeoutFromConnect": 0.1},
        "observed": {"proxiedAnswers200": len(proxied), "errorLogUpstreamTimedOut": len(timeouts), "ownSiteAnswers": len(own), "localClientGaveUp": len(gaveup)},
        "expectByClient": dict(("127.0.0.1:" + l.split()[-1], ["unanswered-request", "the local curl's GET %s straight to the backend, given up after %s s (--max-time 0.1): a client's timeout (clientTimeout), not nginx's read timeout, though it copies the request nginx was forwarding from 127.0.0.1 at that moment; nginx's own copy was answered in 0.3 s and passed on." % (l.split()[1].split("9002")[1], l.split()[3])]) for l in gaveup),
        "silent": False,
    }
print(json.dumps(meta))
PY
)"
cc_a_meta "$OUT" "$TEMPLATE" 8080 8081 9002
# pcap-facts writes one clean entry per connection: the logs say which carry a finding, and what was observed.
python3 - "$CC_SAMPLES_DIR/$SCENARIO.meta.json" "$TEMPLATE" <<'PY'
import json, sys
from collections import OrderedDict
path, template = sys.argv[1], json.loads(sys.argv[2])
meta = json.load(open(path), object_pairs_hook=OrderedDict)
by_client = template["expectByClient"]
for e in meta["expect"]:
    if e["client"] in by_client:
        e["kind"], e["notes"] = by_client.pop(e["client"])
assert not by_client, ("connections the logs name but the capture lacks", by_client)
out = OrderedDict()
for k, v in meta.items():
    out[k] = v
    if k == "configured":
        out["observed"] = template["observed"]
json.dump(out, open(path, "w"), indent=2)
open(path, "a").write("\n")
print("meta: %s: %d connections, %d with a finding" % (path, len(meta["expect"]), sum(e["kind"] is not None for e in meta["expect"])))
PY
