#!/usr/bin/env bash
# nginx 1.22 (master + 1 worker, keepalive_timeout 60s) reloaded three times (SIGHUP, 0.3 s apart)
# under two keep-alive clients: six lanes of programs/snaplen-lanes.py (one connection each, GET
# /index.html?lane=N&req=K then 10-40 ms of pause, the next request written without looking whether the server closed the
# connection: a pool that does not check before reuse) and `ab -k -r -c 4` on /paced/ (HTTP/1.0 with
# Connection: Keep-Alive, the next request sent the moment a response is in), paced by nginx's own
# limit_req (200 r/s, delayed, not refused) so that the load stays small. At each reload the old
# worker closes its idle kept-alive connections at once (FIN) and answers the requests it holds with
# `Connection: close`, closing after them: a lane's next request on a closed connection is met by RST
# (a keep-alive race, stale reuse), and ab reconnects after each announced close. Captured twice at
# once on the namespace's loopback: whole (tcpdump -s 0: reload-nginx-ab) and with `tcpdump -s 200`
# (reload-nginx-ab-snaplen-200), which keeps 134 bytes of each response's ~240-byte head (Ethernet
# 14 + IP 20 + TCP 32): its Connection field and all after it are cut off, so whether a response
# announced its close is unseen. The two files must give the same findings (blind round 13b, S5b:
# at -s 200 a reload under ab showed none of its 20 failures). Ground truth: the lanes' log (each
# request's local port, status or error), ab's summary, nginx's access log ($msec $pid $remote_port
# $connection $connection_requests $status) and error log (each reload's "gracefully shutting
# down"), checked against the captures below; the expected findings are read from the wire (a
# server RST after a request nginx never answered).
# Writes samples/reload-nginx-ab.{pcap,meta.json} and samples/reload-nginx-ab-snaplen-200.{pcap,meta.json}
# (at most 3 attempts: a run in which no request met a closed connection is not kept).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require nginx ab tcpdump tshark ip python3

WHOLE=reload-nginx-ab
CUT=reload-nginx-ab-snaplen-200
NGINX_PID=""
CUT_TCPDUMP_PID=""

cc_netns_up ccsnap-reload-ab
ccb_workdir
WORK="$CCB_WORK"
mkdir -p "$WORK/tmp" "$WORK/www/paced"
printf 'hello\n' >"$WORK/www/index.html"
printf 'hello\n' >"$WORK/www/paced/index.html"
chmod 755 "$WORK" "$WORK/www" "$WORK/www/paced"   # nginx's worker (nobody) reads the files
chmod 644 "$WORK/www/index.html" "$WORK/www/paced/index.html"
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
  # no idle close by timer in the ~1.3 s of load: every close by nginx is a reload's
  keepalive_timeout 60s;
  keepalive_requests 100000;
  limit_req_zone \$server_name zone=pace:1m rate=200r/s;
  server {
    listen 127.0.0.1:8080;
    server_name pace;
    root $WORK/www;
    location /paced/ { limit_req zone=pace burst=100; }
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
  cc_capture_start "$WORK/$WHOLE.pcap" "tcp port 8080"
  ip netns exec "$CC_NS" tcpdump -i lo -U --immediate-mode -B 32768 -n --time-stamp-precision=nano -s 200 \
    -w "$WORK/$CUT.pcap" "tcp port 8080" 2>"$WORK/cut-tcpdump.log" &
  CUT_TCPDUMP_PID=$!
  for i in $(seq 1 100); do grep -q 'listening on' "$WORK/cut-tcpdump.log" 2>/dev/null && break; sleep 0.05; done
  ip netns exec "$CC_NS" timeout 20 ab -k -r -c 4 -n 200 "http://127.0.0.1:8080/paced/index.html" >"$WORK/ab.txt" 2>&1 &
  ab_pid=$!
  ip netns exec "$CC_NS" timeout 20 python3 "$CCB_PROGRAMS/snaplen-lanes.py" --path /index.html --lanes 6 --seconds 1.2 \
    --max-requests 100 --seed "$attempt" --log "$WORK/lanes.log" &
  lanes_pid=$!
  for n in 1 2 3; do
    sleep 0.3
    echo "{\"reload\":$n,\"t\":$(date +%s.%N)}" >>"$WORK/reloads.log"
    kill -HUP "$NGINX_PID"
  done
  wait "$ab_pid" || true
  wait "$lanes_pid" || true
  cc_capture_stop
  kill -INT "$CUT_TCPDUMP_PID" 2>/dev/null || true
  wait "$CUT_TCPDUMP_PID" 2>/dev/null || true
  CUT_TCPDUMP_PID=""
  ccb_stop "$NGINX_PID" TERM
  NGINX_PID=""
  grep -E 'Complete|Failed|Receive|Length' "$WORK/ab.txt" || true
  if python3 - "$WORK" "$CC_SAMPLES_DIR" "$WHOLE" "$CUT" "$(nginx -v 2>&1 | sed 's/^nginx version: //')" "$(ab -V | head -1 | sed 's/^This is //; s/, Version/ /; s/ <.*//')" <<'PY'
import json, re, subprocess, sys
work, samples, whole, cut, nginx_version, ab_version = sys.argv[1:7]

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
m = re.search(r'\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)', ab)
ab_breakdown = dict(zip(['connect', 'receive', 'length', 'exceptions'], map(int, m.groups()))) if m else {}
lanes = [json.loads(line) for line in open(f'{work}/lanes.log')]
lane_errors = sorted(r['port'] for r in lanes if 'error' in r)
access = [line.split() for line in open(f'{work}/access.log').read().splitlines()]
statuses = {}
for a in access:
    statuses[a[5]] = statuses.get(a[5], 0) + 1
errors = open(f'{work}/error.log').read()
shutdowns = len(re.findall(r'gracefully shutting down', errors))
reloads = [json.loads(line) for line in open(f'{work}/reloads.log')]

# The whole capture: per connection, the server's FIN and RST, the client's requests, the responses.
rows = fields(f'{work}/{whole}.pcap', 'tcp.stream', 'frame.time_epoch', 'tcp.srcport', 'tcp.flags.syn', 'tcp.flags.fin', 'tcp.flags.reset', 'tcp.len', 'http.request.uri', 'http.response.code', 'http.connection')
streams = {}
for stream, ts, sport, syn, fin, rst, length, uri, code, conn_field in rows:
    s = streams.setdefault(int(stream), {'client': None, 'uri': None, 'syn': None, 'fin': None, 'rst': None, 'requests': [], 'responses': []})
    ts = float(ts)
    server = sport == '8080'
    if not server and s['client'] is None:
        s['client'] = int(sport)
    if syn == '1' and not server and s['syn'] is None:
        s['syn'] = ts
    if server and fin == '1' and s['fin'] is None:
        s['fin'] = ts
    if server and rst == '1' and s['rst'] is None:
        s['rst'] = ts
    if not server and int(length or 0) > 0:
        s['requests'].append((ts, uri))
        s['uri'] = s['uri'] or uri
    if server and code:
        s['responses'].append((ts, code, conn_field))
first_ts = min(float(r[1]) for r in rows)
responses = sum(len(s['responses']) for s in streams.values())
if responses != len(access):
    refuse(f'{responses} responses in the capture, {len(access)} in the access log')
if set(statuses) != {'200'}:
    refuse(f'statuses {statuses}, not all 200')
if ab_complete != 200:
    refuse(f'ab completed {ab_complete} requests, not 200')
if shutdowns != 3 or len(reloads) != 3:
    refuse(f'{shutdowns} old workers shut down for {len(reloads)} reloads')
answered_lanes = sum(1 for r in lanes if 'status' in r)
answered_paced = sum(1 for s in streams.values() if (s['uri'] or '').startswith('/paced/') for _ in s['responses'])
if answered_lanes + answered_paced != responses:
    refuse(f'{answered_lanes} lane responses and {answered_paced} of ab, {responses} in the capture')
announced = sum(1 for s in streams.values() for r in s['responses'] if r[2].lower() == 'close')

# A failure on the wire: a request nginx never answered, then nginx's RST. After nginx's FIN: a
# request on a connection it had closed (keepalive-race); without one: a request its old worker had
# not read when it closed the socket (reset-before-response). ab, which connects again at once,
# sends the same GET on its next connection (retried-request); a lane does so after its pause.
expect = []
failures = []
for n, s in sorted(streams.items()):
    if s['rst'] is None or not s['requests']:
        continue
    last_req, last_uri = s['requests'][-1]
    if any(r[0] > last_req for r in s['responses']) or last_req > s['rst']:
        continue
    kind = 'keepalive-race' if s['fin'] is not None and s['fin'] <= last_req else 'reset-before-response'
    program = 'ab' if (s['uri'] or '').startswith('/paced/') else 'lanes'
    client = f'127.0.0.1:{s["client"]}'
    prev = [r for r in s['responses'] if r[0] < last_req]
    close_ts = s['fin'] if kind == 'keepalive-race' else s['rst']
    note = (f'{program}: GET {last_uri} at {last_req - first_ts:.4f} s, nginx\'s RST {1e3 * (s["rst"] - last_req):.3f} ms later; '
            + (f'nginx\'s FIN came {1e3 * (last_req - s["fin"]):.3f} ms before the request' if kind == 'keepalive-race' else 'no FIN before it')
            + (f', {1e3 * (close_ts - prev[-1][0]):.3f} ms after the previous response (Connection: {prev[-1][2] or "none"}), which the snaplen cuts before that field' if prev else ''))
    expect.append({'kind': kind, 'client': client, 'server': '127.0.0.1:8080', 'notes': note})
    failures.append({'client': client, 'program': program, 'kind': kind, 'at': round(last_req - first_ts, 4), 'previousResponseConnection': prev[-1][2] if prev else None})
    if program == 'ab':
        later = [(t['syn'], m) for m, t in streams.items() if t['syn'] is not None and s['rst'] <= t['syn'] <= s['rst'] + 0.05]
        if later:
            retry = streams[min(later)[1]]
            expect.append({'kind': 'retried-request', 'client': f'127.0.0.1:{retry["client"]}', 'server': '127.0.0.1:8080',
                           'notes': f'ab (-r) sent GET {last_uri} again on a new connection {1e3 * (retry["requests"][0][0] - s["rst"]):.3f} ms after {client} was reset'})
if sorted(int(f['client'].split(':')[1]) for f in failures if f['program'] == 'lanes') != lane_errors:
    refuse(f'the lanes logged errors on ports {lane_errors}; the wire shows failures {failures}')
if not any(f['kind'] == 'keepalive-race' for f in failures):
    refuse('no request met a connection nginx had closed')
if announced == 0:
    refuse('no response announced its close (Connection: close)')

# The cut copy: the same packets, every response head cut before its Connection field.
cut_rows = fields(f'{work}/{cut}.pcap', 'frame.cap_len', 'frame.len', 'tcp.srcport', 'tcp.len')
if len(cut_rows) != len(rows):
    refuse(f'the two captures hold {len(rows)} and {len(cut_rows)} packets')
server_data = [r for r in cut_rows if r[2] == '8080' and int(r[3]) > 0]
cut_heads = sum(1 for r in server_data if int(r[0]) < int(r[1]))
if cut_heads != len(server_data) or cut_heads != responses:
    refuse(f'{cut_heads} of {len(server_data)} response segments cut at -s 200 ({responses} responses)')
kept = sorted({int(r[0]) - (int(r[1]) - int(r[3])) for r in server_data})

software = [f'{nginx_version} (Debian; master + 1 worker; limit_req 200r/s burst 100 on /paced/)', f'{ab_version} (ab -k -r -c 4 -n 200 /paced/index.html)',
            f'python3 {sys.version.split()[0]} (samples/record/programs/snaplen-lanes.py: 6 keep-alive lanes, 10-40 ms pauses, no check before reuse)']
configured = {'serverIdleTimeout': 60.0, 'nginxKeepaliveTimeout': 60.0, 'reloads': 3}
observed = {
    'abComplete': ab_complete, 'abFailed': ab_failed, 'abFailedBreakdown': ab_breakdown,
    'laneRequests': len(lanes), 'laneErrors': len(lane_errors),
    'accessLogResponses': len(access), 'accessLogStatuses': statuses, 'oldWorkersShutDown': shutdowns,
    'reloadsAt': [round(r['t'] - first_ts, 3) for r in reloads],
    'connections': len(streams), 'responses': responses, 'responsesConnectionClose': announced,
    'serverResets': sum(1 for s in streams.values() if s['rst'] is not None),
    'responseHeadBytesKeptAtSnaplen200': kept,
    'wireFailures': failures,
}
races = sum(1 for f in failures if f['kind'] == 'keepalive-race')
common = ("nginx 1.22 (keepalive_timeout 60s) reloaded three times (SIGHUP, 0.3 s apart) under six keep-alive lanes (GET /index.html?lane=N&req=K, 10-40 ms pauses, reused without a check) "
          "and ab -k -r -c 4 on /paced/ (HTTP/1.0 keep-alive, paced by nginx's limit_req). At each reload the old worker closes its idle kept-alive connections at once (FIN) "
          f"and answers the requests it holds with Connection: close ({announced} such responses, each closed after; ab reconnects). "
          f"{races} lane request(s) were written on connections nginx had closed (keep-alive races, stale reuse: nginx's RST); {len(failures) - races} other request(s) met a reset (reset-before-response). "
          f"The lanes logged {len(lane_errors)} errors; ab counts {ab_failed} failed requests (its own counters: {ab_breakdown}). ")
for name, extra in ((whole, 'Captured whole (tcpdump -s 0), beside ' + cut + '. '),
                    (cut, 'Captured with tcpdump -s 200 beside ' + whole + ' (the same packets): every response head is cut before its Connection field, so neither the announced closes nor the kept connections show; '
                          'the findings must be those of the whole capture, each failure marked closeNoticeUnseen, and the announced closes (no request after them) must stay unjudged. ')):
    meta = {
        'scenario': name,
        'description': common + extra,
        'software': software,
        'configured': {**configured, 'snaplen': 200} if name == cut else configured,
        'configuredNotes': "serverIdleTimeout is nginx's keepalive_timeout 60s: far longer than the ~1.3 s of load, so every close by nginx is an old worker's at a reload; no idle timeout may be inferred from them.",
        'observed': observed,
        'silent': False,
        'facts': {'connections': len(streams), 'responses': responses, 'failures': len(failures), 'races': races, 'announcedCloses': announced, 'reloads': 3, 'captureFile': f'{name}.pcap'},
        'expect': expect,
    }
    with open(f'{work}/{name}.meta.json', 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
print(json.dumps(observed, indent=1))
PY
  then
    cp "$WORK/$WHOLE.pcap" "$WORK/$WHOLE.meta.json" "$WORK/$CUT.pcap" "$WORK/$CUT.meta.json" "$CC_SAMPLES_DIR/"
    exit 0
  fi
  echo "record: attempt $attempt not usable" >&2
done
echo "record: no usable recording in 3 attempts" >&2
exit 1
