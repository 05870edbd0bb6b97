#!/usr/bin/env bash
# nginx 1.22 (master + 1 worker, keepalive_timeout 20s, keepalive_requests 5) reloaded twice
# (SIGHUP, 0.7 s apart) under four keep-alive lanes of programs/snaplen-lanes.py (one connection
# each, GET /s?lane=N&req=K then 80-120 ms of pause, the next request written without looking
# whether the server closed the connection) and one `ab -c 5 -n 100` (HTTP/1.0 without keep-alive:
# nginx closes after every response). Two kinds of server close are thus announced by the response
# (`Connection: close`): ab's 100, and every fifth response on a lane's connection (keepalive_requests
# 5; the lane honours it and connects again). Only the reloads close idle connections unannounced:
# the old worker lets go of every idle lane at once, and the lane's next request meets nginx's RST (a
# keep-alive race). Captured with `tcpdump -s 96` (the committed sample: every response head is cut
# after its status line, before its Connection field, so whether a close was announced is unseen) and
# whole beside it (-s 0, kept only to check the cut copy against: same packets). The diagnosis must
# count 2 reload moments, not one per burst of ab's announced closes (blind round 14b, scene 4: at
# -s 96 "10 moments (126 in all)" for 2 reloads). Ground truth: the lanes' log (each request's local
# port, status, Connection field or error), ab's summary, nginx's access log ($msec $pid
# $remote_port $connection $connection_requests $status) and error log (each
# reload's "gracefully shutting down"), checked against the whole capture.
# Writes samples/reload-nginx-snaplen-96-announced-closes.{pcap,meta.json} (at most 3 attempts: a
# run in which no lane request met a closed connection is not kept).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx ab tcpdump tshark ip python3

CUT=reload-nginx-snaplen-96-announced-closes
NGINX_PID=""
CUT_TCPDUMP_PID=""

cc_netns_up ccsnap96-moments
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp"
chmod 755 "$WORK"
cat >"$WORK/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/error.log info;
events { worker_connections 256; }
http {
  client_body_temp_path $WORK/tmp/body;
  proxy_temp_path $WORK/tmp/proxy;
  fastcgi_temp_path $WORK/tmp/fastcgi;
  uwsgi_temp_path $WORK/tmp/uwsgi;
  scgi_temp_path $WORK/tmp/scgi;
  log_format snap '\$msec \$pid \$remote_port \$connection \$connection_requests \$status';
  access_log $WORK/access.log snap;
  # no idle close by timer in the ~2.4 s of load: every unannounced close by nginx is a reload's
  keepalive_timeout 20s;
  # every fifth response on a connection says Connection: close, and nginx closes right behind it
  keepalive_requests 5;
  server {
    listen 127.0.0.1:8080;
    location /s { return 200 "ok\n"; }
  }
}
CONF

ccb_before_cleanup() {   # what this recorder started, by PID: the second tcpdump, nginx's master (its workers follow)
  [ -n "$CUT_TCPDUMP_PID" ] && kill -INT "$CUT_TCPDUMP_PID" 2>/dev/null || true
  [ -n "$NGINX_PID" ] && kill -TERM "$NGINX_PID" 2>/dev/null || true
}

for attempt in 1 2 3; do
  rm -f "$WORK"/access.log "$WORK"/error.log "$WORK"/reloads.log "$WORK"/ab.txt "$WORK"/lanes.log "$WORK"/*.pcap "$WORK"/cut-tcpdump.log
  cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
  NGINX_PID="$CC_LAST_PID"
  cc_wait_port 8080
  cc_capture_start "$WORK/whole.pcap" "tcp port 8080"
  ip netns exec "$CC_NS" tcpdump -i lo -U --immediate-mode -B 32768 -n --time-stamp-precision=nano -s 96 \
    -w "$WORK/$CUT.pcap" "tcp port 8080" 2>"$WORK/cut-tcpdump.log" &
  CUT_TCPDUMP_PID=$!
  for i in $(seq 1 100); do grep -q 'listening on' "$WORK/cut-tcpdump.log" 2>/dev/null && break; sleep 0.05; done
  ip netns exec "$CC_NS" timeout 20 python3 "$CCB_PROGRAMS/snaplen-lanes.py" --path /s --lanes 4 --seconds 2.4 \
    --max-requests 30 --pause-min 0.08 --pause-max 0.12 --seed "$attempt" --log "$WORK/lanes.log" &
  lanes_pid=$!
  sleep 0.4
  ip netns exec "$CC_NS" timeout 20 ab -c 5 -n 100 "http://127.0.0.1:8080/s" >"$WORK/ab.txt" 2>&1 || true
  for n in 1 2; do
    sleep 0.7
    echo "{\"reload\":$n,\"t\":$(date +%s.%N)}" >>"$WORK/reloads.log"
    kill -HUP "$NGINX_PID"
  done
  wait "$lanes_pid" || true
  cc_capture_stop
  kill -INT "$CUT_TCPDUMP_PID" 2>/dev/null || true
  wait "$CUT_TCPDUMP_PID" 2>/dev/null || true
  CUT_TCPDUMP_PID=""
  ccb_stop "$NGINX_PID" TERM
  NGINX_PID=""
  grep -E 'Complete|Failed' "$WORK/ab.txt" || true
  if python3 - "$WORK" "$CUT" "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "$(ab -V | head -1 | sed 's/^This is //; s/, Version/ /; s/ <.*//')" <<'PY'
import json, re, subprocess, sys
work, cut, nginx_version, ab_version = sys.argv[1:5]

def fields(pcap, *names, filt='tcp'):
    out = subprocess.run(['tshark', '-r', pcap, '-Y', filt, '-T', 'fields', '-E', 'separator=|'] + sum((['-e', n] for n in names), []),
                         check=True, capture_output=True, text=True).stdout
    return [line.split('|') for line in out.splitlines() if line]

def refuse(why):
    print(f'record: not usable: {why}', file=sys.stderr)
    sys.exit(1)

# The programs' own logs.
ab = open(f'{work}/ab.txt').read()
ab_complete = int(re.search(r'Complete requests:\s+(\d+)', ab).group(1))
ab_failed = int(re.search(r'Failed requests:\s+(\d+)', ab).group(1))
lanes = [json.loads(line) for line in open(f'{work}/lanes.log')]
lane_errors = sorted(r['port'] for r in lanes if 'error' in r)
lane_told_close = sum(1 for r in lanes if (r.get('connection') or '').lower() == 'close')
access = [line.split() for line in open(f'{work}/access.log').read().splitlines()]
statuses = {}
for a in access:
    statuses[a[5]] = statuses.get(a[5], 0) + 1
errors = open(f'{work}/error.log').read()
shutdowns = len(re.findall(r'gracefully shutting down', errors))
reloads = [json.loads(line) for line in open(f'{work}/reloads.log')]

# The whole capture: per connection, the server's FIN and RST, the client's requests, the responses.
rows = fields(f'{work}/whole.pcap', 'tcp.stream', 'frame.time_epoch', 'tcp.srcport', 'tcp.flags.syn', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.len', 'http.request.uri', 'http.response.code', 'http.connection')
streams = {}
for stream, ts, sport, syn, fin, rst, length, uri, code, conn_field in rows:
    s = streams.setdefault(int(stream), {'client': None, 'uri': None, 'fin': None, 'cfin': None, 'rst': None, 'requests': [], 'responses': []})
    ts = float(ts)
    server = sport == '8080'
    if not server and s['client'] is None:
        s['client'] = int(sport)
    if server and fin == '1' and s['fin'] is None:
        s['fin'] = ts
    if not server and fin == '1' and s['cfin'] is None:
        s['cfin'] = ts
    if server and rst == '1' and s['rst'] is None:
        s['rst'] = ts
    if not server and int(length or 0) > 0:
        s['requests'].append((ts, uri))
        s['uri'] = s['uri'] or uri
    if server and code:
        s['responses'].append((ts, code, conn_field))
first_ts = min(float(r[1]) for r in rows)
responses = sum(len(s['responses']) for s in streams.values())
announced = sum(1 for s in streams.values() for r in s['responses'] if r[2].lower() == 'close')
if responses != len(access):
    refuse(f'{responses} responses in the capture, {len(access)} in the access log')
# ab's every response and the lanes' fifth ones (keepalive_requests 5) said close, as each program read it.
if announced != ab_complete + lane_told_close:
    refuse(f'{announced} responses said Connection: close on the wire, ab read {ab_complete} and the lanes {lane_told_close}')
if any(int(a[4]) > 5 for a in access):
    refuse('a connection served more than keepalive_requests (5) requests')
if set(statuses) != {'200'}:
    refuse(f'statuses {statuses}, not all 200')
if ab_complete != 100 or ab_failed != 0:
    refuse(f'ab completed {ab_complete} requests ({ab_failed} failed), not 100 (0)')
if shutdowns != 2 or len(reloads) != 2:
    refuse(f'{shutdowns} old workers shut down for {len(reloads)} reloads')

# nginx's closes: announced (its connection's last response said close; FIN right behind it), or
# unannounced (idle: no request unanswered when it came), each of which must be a reload's. A FIN
# that answers the client's own close is no close of nginx's.
unannounced = []
for s in streams.values():
    if s['fin'] is None or (s['cfin'] is not None and s['cfin'] <= s['fin']):
        continue
    before = [r for r in s['responses'] if r[0] <= s['fin']]
    if before and before[-1][2].lower() == 'close':
        continue
    unannounced.append(s['fin'])
reload_ts = [r['t'] for r in reloads]
# (nginx's master reads its configuration and starts the new worker before the old one lets go)
def at_reload(t, r):
    return r <= t <= r + 0.3
if not all(any(at_reload(t, r) for r in reload_ts) for t in unannounced):
    refuse(f'an unannounced close by nginx away from both reloads ({[round(r - first_ts, 4) for r in reload_ts]}): {[round(t - first_ts, 4) for t in unannounced]}')
closed_at_reload = [sum(1 for t in unannounced if at_reload(t, r)) for r in reload_ts]

# A failure on the wire: a lane request after nginx's FIN, then nginx's RST (a keep-alive race).
expect = []
failures = []
for n, s in sorted(streams.items()):
    if s['rst'] is None or not s['requests']:
        continue
    last_req, last_uri = s['requests'][-1]
    if any(r[0] > last_req for r in s['responses']) or last_req > s['rst']:
        continue
    if s['fin'] is None or s['fin'] > last_req:
        refuse(f'stream {n}: a request reset without a FIN before it')
    client = f'127.0.0.1:{s["client"]}'
    prev = [r for r in s['responses'] if r[0] < last_req]
    expect.append({'kind': 'keepalive-race', 'client': client, 'server': '127.0.0.1:8080',
                   'notes': f'lanes: GET {last_uri} at {last_req - first_ts:.4f} s, nginx\'s RST {1e3 * (s["rst"] - last_req):.3f} ms later; nginx\'s FIN (a reload) came '
                            f'{1e3 * (last_req - s["fin"]):.3f} ms before the request, {1e3 * (s["fin"] - prev[-1][0]):.3f} ms after the previous response (Connection: {prev[-1][2] or "keep-alive"}), cut before that field'})
    failures.append({'client': client, 'at': round(last_req - first_ts, 4), 'finAfterPreviousResponseMs': round(1e3 * (s['fin'] - prev[-1][0]), 3)})
if sorted(int(f['client'].split(':')[1]) for f in failures) != lane_errors:
    refuse(f'the lanes logged errors on ports {lane_errors}; the wire shows failures {failures}')
if not failures:
    refuse('no lane request met a connection nginx had closed')

# The cut copy: the same packets, every response head cut before its Connection field.
cut_rows = fields(f'{work}/{cut}.pcap', 'frame.cap_len', 'frame.len', 'tcp.srcport', 'tcp.len')
if len(cut_rows) != len(rows):
    refuse(f'the two captures hold {len(rows)} and {len(cut_rows)} packets')
server_data = [r for r in cut_rows if r[2] == '8080' and int(r[3]) > 0]
cut_heads = sum(1 for r in server_data if int(r[0]) < int(r[1]))
if cut_heads != len(server_data) or cut_heads != responses:
    refuse(f'{cut_heads} of {len(server_data)} response segments cut at -s 96 ({responses} responses)')
kept = sorted({int(r[0]) - (int(r[1]) - int(r[3])) for r in server_data})

observed = {
    'abComplete': ab_complete, 'abFailed': ab_failed,
    'laneRequests': len(lanes), 'laneErrors': len(lane_errors), 'laneResponsesConnectionClose': lane_told_close,
    'accessLogResponses': len(access), 'accessLogStatuses': statuses, 'oldWorkersShutDown': shutdowns,
    'reloadsAt': [round(t - first_ts, 3) for t in reload_ts],
    'connections': len(streams), 'responses': responses, 'responsesConnectionClose': announced,
    'unannouncedServerCloses': len(unannounced), 'unannouncedClosesAtEachReload': closed_at_reload,
    'responseHeadBytesKeptAtSnaplen96': kept,
    'wireFailures': failures,
}
meta = {
    'scenario': cut,
    'description': "nginx 1.22 (keepalive_timeout 20s, keepalive_requests 5) reloaded twice (SIGHUP, 0.7 s apart) under four keep-alive lanes (GET /s?lane=N&req=K, 80-120 ms pauses, "
                   "reused without a check; a response saying Connection: close is honoured) and ab -c 5 -n 100 (HTTP/1.0: nginx closes after each response). "
                   f"{announced} responses announced nginx's close (Connection: close: ab's {ab_complete} and every fifth on a lane's connection), each FIN right behind its response. "
                   f"Only the reloads closed idle connections unannounced ({' and '.join(map(str, closed_at_reload))} at the two reloads); {len(failures)} lane request(s) were written on such a "
                   "closed connection (keep-alive races, stale reuse: nginx's RST). Captured with tcpdump -s 96: every response head keeps 30 bytes (its status line and a little more), cut before its Connection field, "
                   "so an announced close and an idle one right behind a response look alike. The diagnosis must count 2 reload moments, not one per burst of ab's announced closes. ",
    'software': [f'{nginx_version} (Debian; master + 1 worker)', f'{ab_version} (ab -c 5 -n 100, HTTP/1.0)',
                 f'python3 {sys.version.split()[0]} (samples/record/programs/snaplen-lanes.py: 4 keep-alive lanes, 80-120 ms pauses, no check before reuse)'],
    'configured': {'serverIdleTimeout': 20.0, 'nginxKeepaliveTimeout': 20.0, 'nginxKeepaliveRequests': 5, 'reloads': 2, 'snaplen': 96},
    'configuredNotes': "serverIdleTimeout is nginx's keepalive_timeout 20s: far longer than the ~2.4 s of load, so every unannounced close by nginx is an old worker's at a reload; no idle timeout may be inferred from them.",
    'observed': observed,
    'silent': False,
    'facts': {'connections': len(streams), 'responses': responses, 'failures': len(failures), 'races': len(failures), 'announcedCloses': announced,
              'reloads': 2, 'reloadMoments': 2, 'idleClosesAtReloads': len(unannounced), 'captureFile': f'{cut}.pcap'},
    'expect': expect,
}
with open(f'{work}/{cut}.meta.json', 'w') as f:
    json.dump(meta, f, indent=2)
    f.write('\n')
print(json.dumps(observed, indent=1))
PY
  then
    cp "$WORK/$CUT.pcap" "$WORK/$CUT.meta.json" "$CC_SAMPLES_DIR/"
    exit 0
  fi
  echo "record: attempt $attempt not usable" >&2
done
echo "record: no usable recording in 3 attempts" >&2
exit 1
