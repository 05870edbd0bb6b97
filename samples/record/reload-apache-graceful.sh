#!/usr/bin/env bash
# reload-apache-graceful: Apache httpd 2.4 (Debian, event MPM; a parent and one child of 16 threads,
# run in the foreground by this recorder with its own config in the scratch directory) restarted
# gracefully three times (SIGUSR1 to the parent, what `apachectl -k graceful` sends) and then once
# plainly (SIGHUP, `apachectl -k restart`), 2.5 s apart, under steady keep-alive load.
# KeepAliveTimeout is 60 s (MaxKeepAliveRequests 0): no idle close by timer can happen in the ~12 s of
# load, every close by Apache is an event's. Apache listens on 10.99.0.2:8080 in a server namespace and
# serves small responses (GET /items/...: a static file through AliasMatch; POST /orders: mod_proxy_http to
# a Node backend on 127.0.0.1:9001, programs/b-http-server.js, 201 at once) and /slow, proxied to the same
# backend, which answers after 0.5 s, so requests are in flight at each event. The clients are
# reload-nginx's (programs/x26n-node-lanes.js and programs/x26n-requests-lanes.py: four Node http.Agent
# lanes, never resending a failed request, and four python requests lanes, urllib3 Retry(total=1), a
# failed GET sent again once on a new connection), in a client namespace 10 ms one way away
# (programs/x5-wire.py), for 12 s. The capture is taken in the server namespace (tun ccbs, port 8080).
# Ground truth: Apache's access log (request start and end with microseconds, client port, child pid and
# thread, %k keep-alive count, %X connection status, status, %D), its error log (info, mpm_event debug),
# the clients' own logs, the signal times with the children before and after each (events.log) and the
# children's lives sampled every 10 ms (children.log); programs/x27a-meta.py checks them against the
# capture and writes samples/reload-apache-graceful.pcap and .meta.json, or refuses (at most 3 attempts).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require apache2 node tcpdump tshark ip ps /usr/bin/python3
/usr/bin/python3 -c 'import requests' 2>/dev/null || { echo "record: apt-get install -y python3-requests" >&2; exit 2; }

SCENARIO=reload-apache-graceful
NSS=${X27A_NETNS:-ccx27a}-s
NSC=${X27A_NETNS:-ccx27a}-c
DELAY_MS=10
LOAD_SECONDS=12
P="$CCB_PROGRAMS"
MODS=/usr/lib/apache2/modules
APACHE_PID=""
WATCH_PID=""

ccb_delay_namespaces "$NSS" "$NSC" "$DELAY_MS"
WORK="$CCB_WORK"
BASE="http://$CCB_SERVER_IP:8080"
OUT="$WORK/$SCENARIO.pcap"
META="$WORK/$SCENARIO.meta.json"
mkdir -p "$WORK/www" "$WORK/run"
printf '{"ok":true}\n' >"$WORK/www/item.json"
# Apache's children run as www-data: the scratch tree must be readable (mktemp -d makes it 0700).
chmod -R a+rX "$WORK"

# Access log: request start and end (s.µs), client port, child pid, thread, client address, %k (requests
# already served on this connection before this one), %X (+ kept alive, - closed after it, X aborted),
# final status, %D (µs), request line.
cat >"$WORK/apache.conf" <<CONF
ServerRoot /etc/apache2
ServerName cc-sample
PidFile $WORK/run/httpd.pid
DefaultRuntimeDir $WORK/run
Mutex file:$WORK/run default
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule proxy_module $MODS/mod_proxy.so
LoadModule proxy_http_module $MODS/mod_proxy_http.so
User www-data
Group www-data
TypesConfig /etc/mime.types
Listen $CCB_SERVER_IP:8080
ErrorLog $WORK/error.log
LogLevel info mpm_event:debug
LogFormat "%{begin:%s}t.%{begin:usec_frac}t %{end:%s}t.%{end:usec_frac}t %{remote}p %P %{tid}P %{c}a %k %X %>s %D \"%r\"" x27a
CustomLog $WORK/access.log x27a
# One child of 16 threads; ServerLimit leaves scoreboard slots for the old children still finishing
# their requests after a graceful restart.
StartServers 1
ServerLimit 4
ThreadLimit 16
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
# Long enough that no idle connection is closed by its timer during the ~12 s of load.
KeepAlive On
KeepAliveTimeout 60
MaxKeepAliveRequests 0
Timeout 30
DocumentRoot $WORK/www
<Directory $WORK/www>
  Require all granted
</Directory>
AliasMatch "^/items/" "$WORK/www/item.json"
ProxyPass /slow http://127.0.0.1:9001/slow
ProxyPass /orders http://127.0.0.1:9001/orders
CONF

ccb_before_cleanup() {   # what this recorder started, by PID: the watcher, Apache's parent (its children follow)
  [ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null || true
  [ -n "$APACHE_PID" ] && kill -TERM "$APACHE_PID" 2>/dev/null || true
}

# children: the parent's live children (zombies not yet reaped left out); empty, not a failure, when none.
children() { { ps -o pid=,stat= --ppid "$APACHE_PID" || true; } | awk '$2 !~ /^Z/ {print $1}' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

# x27a_watch MAX_S: the parent's children sampled every 10 ms (bounded): one line per change.
x27a_watch() {
  local prev="" cur i
  for i in $(seq 1 $(($1 * 100))); do
    cur=$(children)
    [ "$cur" != "$prev" ] && echo "{\"t\":$(date +%s.%N),\"children\":[${cur// /,}]}" >>"$WORK/children.log"
    prev="$cur"
    sleep 0.01
  done
}

# x27a_signal N KIND SIGNAL: the signal to Apache's parent; logs the children before and the new one seen after.
x27a_signal() {
  local before after new i t
  before=$(children)
  t=$(date +%s.%N)
  kill "-$3" "$APACHE_PID"
  new=""
  for i in $(seq 1 300); do
    after=$(children)
    new=$(comm -13 <(tr ' ' '\n' <<<"$before" | sort) <(tr ' ' '\n' <<<"$after" | sort) | tr '\n' ' ' | sed 's/ $//')
    [ -n "$new" ] && break
    sleep 0.01
  done
  echo "{\"event\":\"$2\",\"signal\":\"$3\",\"n\":$1,\"t\":$t,\"parent\":$APACHE_PID,\"childrenBefore\":[${before// /,}],\"newChildren\":[${new// /,}],\"seenAt\":$(date +%s.%N)}" >>"$WORK/events.log"
}

cc_bg node "$P/b-http-server.js" --host 127.0.0.1 --port 9001 --keep-alive-timeout 30000 2>"$WORK/backend.log"
cc_wait_port 9001

ATTEMPTS=${X27A_ATTEMPTS:-3}                 # at most 3 (fewer when asked, to look at one run with X27A_DEBUG_DIR)
[ "$ATTEMPTS" -ge 1 ] && [ "$ATTEMPTS" -le 3 ] || ATTEMPTS=3
for attempt in $(seq 1 "$ATTEMPTS"); do
  rm -f "$WORK"/access.log "$WORK"/error.log "$WORK"/events.log "$WORK"/children.log "$WORK"/node.log \
    "$WORK"/requests.log "$WORK"/tcpdump.* "$OUT"
  : >"$WORK/backend.log"
  cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
  APACHE_PID="$CC_LAST_PID"
  cc_wait_port 8080
  for i in $(seq 1 100); do [ -n "$(children)" ] && break; sleep 0.02; done
  echo "{\"event\":\"started\",\"t\":$(date +%s.%N),\"parent\":$APACHE_PID,\"children\":[$(children | tr ' ' ',')]}" >>"$WORK/events.log"
  x27a_watch 20 &
  WATCH_PID=$!
  ccb_capture_start "$NSS" ccbs "$OUT" "tcp port 8080" -B 32768
  ip netns exec "$NSC" timeout 30 node "$P/x26n-node-lanes.js" --base "$BASE" --log "$WORK/node.log" --lanes 4 \
    --seconds "$LOAD_SECONDS" --seed "$attempt" --tag n --max-seconds 25 &
  node_pid=$!
  ip netns exec "$NSC" timeout 30 /usr/bin/python3 "$P/x26n-requests-lanes.py" --base "$BASE" --log "$WORK/requests.log" \
    --lanes 4 --seconds "$LOAD_SECONDS" --seed "$attempt" --tag p --max-seconds 25 &
  py_pid=$!
  # The signals 2.5 s apart from the load's start (x27a_signal itself takes ~1 s: the parent starts the
  # new child at its next once-a-second maintenance tick).
  load_t0=$(date +%s.%N)
  for ev in "1 graceful USR1" "2 graceful USR1" "3 graceful USR1" "4 restart HUP"; do
    read -r n kind sig <<<"$ev"
    sleep "$(awk -v t0="$load_t0" -v n="$n" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 2.5 * n - now; print (d > 0 ? d : 0) }')"
    x27a_signal "$n" "$kind" "$sig"
  done
  wait "$node_pid" || true
  wait "$py_pid" || true
  sleep 0.5
  cc_capture_stop
  ccb_stop "$WATCH_PID"
  WATCH_PID=""
  ccb_stop "$APACHE_PID" TERM
  APACHE_PID=""
  if [ -n "${X27A_DEBUG_DIR:-}" ]; then
    mkdir -p "$X27A_DEBUG_DIR/$attempt"; cp "$OUT" "$WORK"/*.log "$WORK/apache.conf" "$X27A_DEBUG_DIR/$attempt/" || true
  fi
  if /usr/bin/python3 "$P/x27a-meta.py" "$SCENARIO" --capture "$OUT" --meta "$META" --work "$WORK" --delay-ms "$DELAY_MS" \
      --software "$(apache2 -v | head -1 | sed 's/^Server version: //') (Debian; event MPM, parent + 1 child of 16 threads; mod_proxy_http)" \
        "node $(node -v) (x26n-node-lanes.js: http.Agent keepAlive, maxSockets 1; b-http-server.js backend)" \
        "python requests $(/usr/bin/python3 -c 'import requests, urllib3; print(f"{requests.__version__} (urllib3 {urllib3.__version__}; Retry(total=1))")') (x26n-requests-lanes.py, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))" \
        "user-space delay line (samples/record/programs/x5-wire.py, tun), 10 ms one way"; then
    break
  fi
  echo "record: $SCENARIO: attempt $attempt not usable" >&2
  [ "$attempt" = "$ATTEMPTS" ] && { echo "record: $SCENARIO: no usable recording in $ATTEMPTS attempts" >&2; exit 1; }
done
cp "$OUT" "$META" "$CC_SAMPLES_DIR/"
