#!/usr/bin/env bash
# unanswered-request-tls13-client-cert: TLS 1.3 to a server that asks for a client certificate
# (nginx 1.22, OpenSSL 3.0, `ssl_verify_client optional`, TLS 1.3 only, on 127.0.0.2:8443 in one
# namespace's loopback). After the server's CertificateRequest the client's second flight is its
# Certificate (empty without one), a CertificateVerify when it has one, and its Finished: 2 or 3
# encrypted records where a plain TLS 1.3 handshake has 1. Throwaway CA, server and client
# certificates (ECDSA P-256) are made here. Lanes from 127.0.0.1 (fixed source ports, except s_client):
#   a) Python ssl, no client certificate: handshake, 0.3 s idle, FIN, no request (42001, 42002);
#   b) Python ssl with the client certificate: handshake, 0.3 s idle, close_notify and FIN (42011, 42012);
#   s) openssl s_client -tls1_3, without then with the certificate: handshake, stdin closed after 0.3 s;
#   c) answered: curl -k --tlsv1.3 GET /ok with the certificate (42021) and without (42022): 200;
#   d) the near miss that must be reported: curl --max-time 1.5 GET /hang, with the certificate
#      (42031) and without (42032); nginx proxies /hang to a backend on 127.0.0.3:9001 that reads
#      the request and never answers (programs/tls13-cc-backend.py); curl gives up (exit 28), nginx
#      logs 499.
# Only the connections to 8443 are captured. programs/tls13-cc-meta.py checks the capture against the
# logs (every flight's record lengths, the clients' exit codes, nginx's access log) and writes
# samples/unanswered-request-tls13-client-cert.pcap and .meta.json, or refuses.
# Rerun: sudo bash samples/record/unanswered-request-tls13-client-cert.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require /usr/bin/python3 tcpdump tshark ip nginx openssl curl

SCENARIO=unanswered-request-tls13-client-cert
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-tls13-cc
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true

ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }
ec -x509 -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 1 -subj /CN=cc-test-ca
ec -keyout "$WORK/srv.key" -out "$WORK/srv.csr" -subj /CN=localhost
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 -out "$WORK/srv.pem" 2>/dev/null
ec -keyout "$WORK/cli.key" -out "$WORK/cli.csr" -subj /CN=cc-test-client
openssl x509 -req -in "$WORK/cli.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 -out "$WORK/cli.pem" 2>/dev/null

ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  log_format cc '\$remote_addr:\$remote_port "\$request" \$status \$ssl_protocol \$ssl_cipher verify=\$ssl_client_verify \$request_time';
  access_log $WORK/access.log cc;
  server {
    listen 127.0.0.2:8443 ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $WORK/srv.pem;
    ssl_certificate_key $WORK/srv.key;
    ssl_client_certificate $WORK/ca.pem;
    ssl_verify_client optional;
    keepalive_timeout 5s;
    location /ok { return 200 "ok\n"; }
    location /hang { proxy_pass http://127.0.0.3:9001; proxy_read_timeout 10s; }
  }
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_bg /usr/bin/python3 "$CCB_PROGRAMS/tls13-cc-backend.py" 9001 30 "$WORK/backend.log"
cc_wait_port 8443
cc_wait_port 9001
cc_capture_start "$OUT" "tcp port 8443"

: >"$WORK/client.log"
py() { cc_in /usr/bin/python3 "$CCB_PROGRAMS/tls13-cc-clients.py" --log "$WORK/client.log" "$@"; sleep 0.2; }
py --lane a --port 42001
py --lane a --port 42002
py --lane b --port 42011 --cert "$WORK/cli.pem" --key "$WORK/cli.key" --notify
py --lane b --port 42012 --cert "$WORK/cli.pem" --key "$WORK/cli.key" --notify
sclient() {
  local rc=0
  (sleep 0.3) | cc_in timeout 5 openssl s_client -connect 127.0.0.2:8443 -tls1_3 "$@" >/dev/null 2>"$WORK/sclient.err" || rc=$?
  printf 's\t-\t%s\topenssl s_client -tls1_3 %s\n' "$rc" "$*" >>"$WORK/client.log"
  sleep 0.2
}
sclient
sclient -cert "$WORK/cli.pem" -key "$WORK/cli.key"
run() {
  local lane="$1" port="$2"; shift 2
  local rc=0 out
  out="$(cc_in curl -sS -k --tlsv1.3 -o /dev/null -w '%{http_code}' --interface 127.0.0.1 --local-port "$port" "$@" 2>&1)" || rc=$?
  printf '%s\t%s\t%s\t%s\n' "$lane" "$port" "$rc" "${out//$'\n'/ }" >>"$WORK/client.log"
  sleep 0.2
}
run c 42021 --cert "$WORK/cli.pem" --key "$WORK/cli.key" https://127.0.0.2:8443/ok
run c 42022 https://127.0.0.2:8443/ok
run d 42031 --max-time 1.5 --cert "$WORK/cli.pem" --key "$WORK/cli.key" https://127.0.0.2:8443/hang
run d 42032 --max-time 1.5 https://127.0.0.2:8443/hang
sleep 0.3
cc_capture_stop
cat "$WORK/client.log" "$WORK/access.log" "$WORK/backend.log"
/usr/bin/python3 "$CCB_PROGRAMS/tls13-cc-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --access-log "$WORK/access.log" --error-log "$WORK/error.log" --backend-log "$WORK/backend.log" \
  --nginx-version "$(nginx -v 2>&1 | sed 's|.*nginx/||')" --curl-version "$(curl --version | head -1)" --openssl-version "$(openssl version)"
