#!/usr/bin/env bash
# Shared by the round-21l recorders (keepalive-race-ldap.sh, healthy-ldap.sh): OpenLDAP slapd
# (Debian slapd 2.5) and python3-ldap3 lanes (programs/x21l-ldap-client.py) behind the user-space
# delay line of lib-b.sh, server-side capture. Source after lib.sh (it sources lib-b.sh when not
# loaded). Namespaces ccx21l-s (server) and ccx21l-c (client); processes ended by PID only.
#   x21l_require               the tools the recorders run (Debian slapd, python3-ldap3, tcpdump, tshark)
#   x21l_slapd NS HOST PORT IDLE   a private slapd in NS: slapd.conf in $CCB_WORK/ldap (back_mdb, suffix
#       dc=x21l,dc=test, rootdn cn=admin,dc=x21l,dc=test / x21l, the core, cosine and inetorgperson
#       schemas), `idletimeout IDLE` (no line at all when IDLE is 0: slapd's default, no idle
#       timeout), a tiny directory loaded with slapadd (the base, ou=people, uid=lane0..7), run as the
#       openldap user in the foreground (-d stats: every connection's ACCEPT with the client's port,
#       every operation and RESULT, every close with its reason, each line stamped by slapd itself
#       with its time in hex seconds.nanoseconds) on ldap://HOST:PORT/ and ldap://127.0.0.1:3890/ (the
#       metronome's listener, not on the captured link); its stderr in $CCB_WORK/server.log; sets
#       X21L_SERVER_PID
#   x21l_slapd_stop            SIGTERM slapd (by PID) and wait
#   x21l_metronome_start PHASE / x21l_metronome_stop   programs/x21l-ldap-client.py metronome in the
#       server's namespace on 127.0.0.1:3890 (log $CCB_WORK/metronome.log)
#   x21l_software              one line per piece of software
#   x21l_record SCENARIO       namespaces, the delay link, then up to X21L_ATTEMPTS (3) attempts of:
#       slapd, the metronome (unless X21L_METRONOME=0), capture, the lanes (X21L_CLIENT_ARGS), stop,
#       and programs/x21l-meta.py (X21L_META_ARGS), which refuses a recording that does not show
#       what is asked. The recorder sets X21L_PORT, X21L_DELAY_MS, X21L_IDLE, X21L_PHASE,
#       X21L_CLIENT_ARGS and X21L_META_ARGS (arrays).
set -euo pipefail

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X21L_PROGRAMS="$CC_RECORD_DIR/programs"
X21L_PY=/usr/bin/python3
X21L_METRONOME_PORT=3890
X21L_SERVER_PID=""
X21L_METRONOME_PID=""

x21l_require() {
  cc_require tcpdump tshark ip /usr/sbin/slapd /usr/sbin/slapadd "$X21L_PY"
  "$X21L_PY" -c 'import ldap3' 2>/dev/null || { echo "record: apt-get install -y python3-ldap3" >&2; exit 2; }
  id openldap >/dev/null 2>&1 || { echo "record: no openldap user (apt-get install -y slapd)" >&2; exit 2; }
}

x21l_slapd() {
  local ns="$1" host="$2" port="$3" idle="$4"
  local d="$CCB_WORK/ldap" k
  rm -rf "$d"
  chmod 711 "$CCB_WORK"
  mkdir -p "$d/db"
  {
    echo "include /etc/ldap/schema/core.schema"
    echo "include /etc/ldap/schema/cosine.schema"
    echo "include /etc/ldap/schema/inetorgperson.schema"
    echo "modulepath /usr/lib/ldap"
    echo "moduleload back_mdb"
    echo "pidfile $d/slapd.pid"
    echo "argsfile $d/slapd.args"
    [ "$idle" = 0 ] || echo "idletimeout $idle"
    echo "database mdb"
    echo "maxsize 10485760"
    echo "suffix \"dc=x21l,dc=test\""
    echo "rootdn \"cn=admin,dc=x21l,dc=test\""
    echo "rootpw x21l"
    echo "directory $d/db"
  } >"$d/slapd.conf"
  {
    printf 'dn: dc=x21l,dc=test\nobjectClass: dcObject\nobjectClass: organization\ndc: x21l\no: x21l\n\n'
    printf 'dn: ou=people,dc=x21l,dc=test\nobjectClass: organizationalUnit\nou: people\n\n'
    for k in 0 1 2 3 4 5 6 7; do
      printf 'dn: uid=lane%s,ou=people,dc=x21l,dc=test\nobjectClass: inetOrgPerson\nuid: lane%s\ncn: lane %s\nsn: lane%s\ndescription: start\n\n' "$k" "$k" "$k" "$k"
    done
  } >"$d/base.ldif"
  /usr/sbin/slapadd -q -f "$d/slapd.conf" -l "$d/base.ldif" >"$CCB_WORK/slapadd.log" 2>&1 \
    || { cat "$CCB_WORK/slapadd.log" >&2; echo "record: slapadd failed" >&2; exit 1; }
  chown -R openldap:openldap "$d"
  : >"$CCB_WORK/server.log"
  ccb_bg "$ns" /usr/sbin/slapd -d stats -u openldap -g openldap -f "$d/slapd.conf" \
    -h "ldap://$host:$port/ ldap://127.0.0.1:$X21L_METRONOME_PORT/" 2>"$CCB_WORK/server.log"
  X21L_SERVER_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x21l_slapd_stop() {
  ccb_stop "$X21L_SERVER_PID"
  X21L_SERVER_PID=""
}

x21l_metronome_start() {
  local ns="$1" phase="$2" i
  : >"$CCB_WORK/metronome.log"
  ccb_bg "$ns" timeout 150 "$X21L_PY" "$X21L_PROGRAMS/x21l-ldap-client.py" metronome --host 127.0.0.1 --port "$X21L_METRONOME_PORT" \
    --phase "$phase" --log "$CCB_WORK/metronome.log" --max-seconds 140
  X21L_METRONOME_PID="$CC_LAST_PID"
  for i in $(seq 1 50); do grep -q '"tick"' "$CCB_WORK/metronome.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '"tick"' "$CCB_WORK/metronome.log" || { echo "record: the metronome did not start" >&2; exit 1; }
}

x21l_metronome_stop() {
  [ -n "$X21L_METRONOME_PID" ] || return 0
  ccb_stop "$X21L_METRONOME_PID"
  X21L_METRONOME_PID=""
}

x21l_software() {
  echo "OpenLDAP slapd $(/usr/sbin/slapd -VV 2>&1 | sed -n 's/.*slapd \([0-9][^ ]*\).*/\1/p' | head -1) (Debian slapd $(dpkg-query -W -f='${Version}' slapd)), back_mdb, private slapd.conf and database, run in the foreground with -d stats"
  echo "ldap3 $("$X21L_PY" -c 'import ldap3; print(ldap3.__version__)') (Debian python3-ldap3 $(dpkg-query -W -f='${Version}' python3-ldap3)) with pyasn1 $("$X21L_PY" -c 'import pyasn1; print(pyasn1.__version__)') on Python $("$X21L_PY" -c 'import platform; print(platform.python_version())'), SYNC strategy, one kept Connection per lane"
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

x21l_record() {
  local scenario="$1" attempt
  local out="$CC_SAMPLES_DIR/$scenario.pcap"
  local nss=ccx21l-s nsc=ccx21l-c
  local side="server (tun ccbs in the server namespace)"
  mapfile -t X21L_SOFTWARE < <(x21l_software)
  ccb_delay_namespaces "$nss" "$nsc" "$X21L_DELAY_MS"
  for attempt in $(seq 1 "${X21L_ATTEMPTS:-3}"); do
    rm -f "$CCB_WORK/client.log"
    x21l_slapd "$nss" "$CCB_SERVER_IP" "$X21L_PORT" "$X21L_IDLE"
    [ "${X21L_METRONOME:-1}" = 0 ] || x21l_metronome_start "$nss" "$X21L_PHASE"
    ccb_capture_start "$nss" ccbs "$out" "tcp port $X21L_PORT"
    ip netns exec "$nsc" timeout 120 "$X21L_PY" "$X21L_PROGRAMS/x21l-ldap-client.py" lanes --host "$CCB_SERVER_IP" --port "$X21L_PORT" \
      --owd-ms "$X21L_DELAY_MS" --phase "$X21L_PHASE" --log "$CCB_WORK/client.log" "${X21L_CLIENT_ARGS[@]}" || true
    cc_capture_stop
    x21l_metronome_stop
    x21l_slapd_stop
    if "$X21L_PY" "$X21L_PROGRAMS/x21l-meta.py" "$scenario" --capture "$out" \
        --meta "$CC_SAMPLES_DIR/$scenario.meta.json" --server-port "$X21L_PORT" \
        --client-log "$CCB_WORK/client.log" --server-log "$CCB_WORK/server.log" \
        --server-idle-setting "$X21L_IDLE" --one-way-delay-ms "$X21L_DELAY_MS" --capture-side "$side" \
        --software "${X21L_SOFTWARE[@]}" "${X21L_META_ARGS[@]}"; then break; fi
    if [ -n "${X21L_LOG_DIR:-}" ]; then mkdir -p "$X21L_LOG_DIR/attempt$attempt"; cp "$CCB_WORK"/*.log "$out" "$X21L_LOG_DIR/attempt$attempt/"; fi
    [ "$attempt" = "${X21L_ATTEMPTS:-3}" ] && { echo "record: $scenario: no usable recording in ${X21L_ATTEMPTS:-3} attempts" >&2; exit 1; }
  done
  grep -h '"error"' "$CCB_WORK/client.log" | cut -c1-300 || true
  # X21L_LOG_DIR=DIR keeps the programs' logs (they are summarised in the meta).
  if [ -n "${X21L_LOG_DIR:-}" ]; then mkdir -p "$X21L_LOG_DIR"; cp "$CCB_WORK"/*.log "$X21L_LOG_DIR/"; fi
  return 0
}
