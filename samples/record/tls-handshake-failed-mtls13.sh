#!/usr/bin/env bash
# tls-handshake-failed-mtls13: TLS 1.3 servers that REQUIRE a client certificate, and clients that
# send none or one the server rejects, on one namespace's loopback (each client from a fixed port).
# In TLS 1.3 the server checks the client's certificate only once the client's second flight
# (Certificate, [CertificateVerify], Finished) has come, and its alert is encrypted: a 19-byte
# application-data record where a server that accepts the handshake sends its session tickets,
# then its FIN. The client's handshake had already finished on its side: it learns of it at its
# first read ("tlsv13 alert certificate required"), often after sending its request.
# Throwaway CA, server and client certificates (ECDSA P-256), and a rogue self-signed client
# certificate, are made here. Servers on 127.0.0.2:
#   4433  openssl s_server -Verify 1 -verify_return_error -www (OpenSSL 3.0; TLS 1.2 and 1.3);
#   5443  a Go 1.19 net/http server, tls.RequireAndVerifyClientCert (programs/tls13-mtls-server.go; 1.2 and 1.3);
#   6443  the same Go server without client certificates, session tickets disabled, ReadTimeout 1.5 s;
#   8443  nginx 1.22 `ssl_verify_client on`, TLS 1.3 only.
# Lanes (client 127.0.0.1, local port):
#   a) to 4433 without a certificate: curl (43001, 43002), Python ssl GET (43003): certificate_required;
#   b) to 4433 with the rogue certificate: curl (43011): unknown_ca;
#   c) to 5443 without a certificate: curl (43021), Go's client (43022), Go's client holding the rogue
#      certificate (43023: Go sends none the server's CertificateRequest does not name);
#   d) to 5443 with the rogue certificate: curl (43031);
#   h) the same over TLS 1.2 (curl --tls-max 1.2, no certificate): to 4433 (43071) and 5443 (43081).
#      TLS 1.2's server alert goes before the server's own ChangeCipherSpec, so it is in clear:
#      handshake_failure (40) from OpenSSL, bad_certificate (42) from Go, right after the client's
#      flight (its empty Certificate, key exchange, CCS and encrypted Finished); one finding each;
#   near misses, silent:
#   e) the good certificate: curl to 4433 (43041) and Go's client to 5443 (43042): 200 (tickets follow the Finished);
#   f) to 6443, no tickets: Python ssl handshake then idle (43051): the server's close_notify comes 1.5 s
#      after the Finished (its ReadTimeout), a timer; Python ssl health check (43052): handshake, its
#      close_notify, the server's close_notify answering it;
#   g) to nginx 8443: curl without a certificate (43061): the handshake completes, nginx answers 400
#      "No required SSL certificate was sent" (nginx does not fail the handshake); with the good one (43062): 200.
# programs/tls13-mtls-meta.py checks the capture against the clients' and servers' logs and writes
# samples/tls-handshake-failed-mtls13.pcap and .meta.json, or refuses.
# Rerun: sudo bash samples/record/tls-handshake-failed-mtls13.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require /usr/bin/python3 tcpdump tshark ip nginx openssl curl go

SCENARIO=tls-handshake-failed-mtls13
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"
cc_netns_up cc-tls13-mtls
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true

ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "$@" 2>/dev/null; }
ec -x509 -keyout "$WORK/ca.key" -out "$WORK/ca.pem" -days 1 -subj /CN=cc-test-ca
ec -keyout "$WORK/srv.key" -out "$WORK/srv.csr" -subj /CN=localhost
printf 'subjectAltName=DNS:localhost,IP:127.0.0.2\n' >"$WORK/srv.ext"
openssl x509 -req -in "$WORK/srv.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 -out "$WORK/srv.pem" -extfile "$WORK/srv.ext" 2>/dev/null
ec -keyout "$WORK/cli.key" -out "$WORK/cli.csr" -subj /CN=cc-test-client
openssl x509 -req -in "$WORK/cli.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial -days 1 -out "$WORK/cli.pem" 2>/dev/null
ec -x509 -keyout "$WORK/rogue.key" -out "$WORK/rogue.pem" -days 1 -subj /CN=cc-rogue-client

for prog in tls13-mtls-server tls13-mtls-go-client; do
  (cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= go build -o "$WORK/$prog" "$CCB_PROGRAMS/$prog.go")
done
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  server {
    listen 127.0.0.2:8443 ssl;
    ssl_protocols TLSv1.3;
    ssl_certificate $WORK/srv.pem;
    ssl_certificate_key $WORK/srv.key;
    ssl_client_certificate $WORK/ca.pem;
    ssl_verify_client on;
    location / { return 200 "ok\n"; }
  }
CONF
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_bg openssl s_server -accept 127.0.0.2:4433 -cert "$WORK/srv.pem" -key "$WORK/srv.key" -CAfile "$WORK/ca.pem" \
  -Verify 1 -verify_return_error -www >"$WORK/s_server.log" 2>&1
cc_bg "$WORK/tls13-mtls-server" 127.0.0.2:5443 "$WORK/srv.pem" "$WORK/srv.key" "$WORK/ca.pem" require 2>"$WORK/go-server.log"
cc_bg "$WORK/tls13-mtls-server" 127.0.0.2:6443 "$WORK/srv.pem" "$WORK/srv.key" "$WORK/ca.pem" idle 2>"$WORK/go-idle.log"
for port in 8443 4433 5443 6443; do cc_wait_port "$port"; done
cc_capture_start "$OUT" "tcp"

: >"$WORK/client.log"
# curl LANE PORT SERVER_PORT ARGS...: one curl (TLS 1.3 unless told) from 127.0.0.1:PORT; exit code and error (or status) to client.log.
run() {
  local lane="$1" port="$2" sport="$3"; shift 3
  local rc=0 out
  out="$(cc_in curl -sS --max-time 5 --cacert "$WORK/ca.pem" --resolve "localhost:$sport:127.0.0.2" -o /dev/null -w '%{http_code}' \
    --interface 127.0.0.1 --local-port "$port" "$@" "https://localhost:$sport/" 2>&1)" || rc=$?
  printf '%s\t%s\tcurl\t%s\t%s\n' "$lane" "$port" "$rc" "${out//$'\n'/ }" >>"$WORK/client.log"
  sleep 0.2
}
py() {
  local lane="$1" port="$2"; shift 2
  cc_in /usr/bin/python3 "$CCB_PROGRAMS/tls13-mtls-py-client.py" --lane "$lane" --port "$port" --ca "$WORK/ca.pem" --log "$WORK/py.log" "$@"
  sleep 0.2
}
gocl() {
  local lane="$1" port="$2"; shift 2
  cc_in "$WORK/tls13-mtls-go-client" "$port" "$@" | sed "s/^/$lane\t/" >>"$WORK/go-client.log"
  sleep 0.2
}
: >"$WORK/py.log"
: >"$WORK/go-client.log"
ROGUE=(--cert "$WORK/rogue.pem" --key "$WORK/rogue.key")
GOOD=(--cert "$WORK/cli.pem" --key "$WORK/cli.key")
run a 43001 4433
run a 43002 4433
py a 43003 --server 127.0.0.2:4433 --mode get
run b 43011 4433 "${ROGUE[@]}"
run c 43021 5443
gocl c 43022 https://127.0.0.2:5443/ "$WORK/ca.pem"
gocl c 43023 https://127.0.0.2:5443/ "$WORK/ca.pem" "$WORK/rogue.pem" "$WORK/rogue.key"
run d 43031 5443 "${ROGUE[@]}"
run e 43041 4433 "${GOOD[@]}"
gocl e 43042 https://127.0.0.2:5443/ "$WORK/ca.pem" "$WORK/cli.pem" "$WORK/cli.key"
py f 43051 --server 127.0.0.2:6443 --mode idle --wait 2.5
py f 43052 --server 127.0.0.2:6443 --mode notify
run h 43071 4433 --tls-max 1.2
run h 43081 5443 --tls-max 1.2
run g 43061 8443
run g 43062 8443 "${GOOD[@]}"
cc_capture_stop
cat "$WORK/client.log" "$WORK/py.log" "$WORK/go-client.log" "$WORK/s_server.log" "$WORK/go-server.log" "$WORK/go-idle.log" "$WORK/error.log" "$WORK/access.log"
/usr/bin/python3 "$CCB_PROGRAMS/tls13-mtls-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --curl-log "$WORK/client.log" --py-log "$WORK/py.log" --go-log "$WORK/go-client.log" \
  --s-server-log "$WORK/s_server.log" --go-server-log "$WORK/go-server.log" --nginx-error-log "$WORK/error.log" --nginx-access-log "$WORK/access.log" \
  --software "openssl s_server: $(openssl version)" --software "$(nginx -v 2>&1 | sed 's|.*: ||') (OpenSSL 3.0)" \
  --software "$(curl --version | head -1)" --software "Go $(go env GOVERSION) net/http (programs/tls13-mtls-server.go, tls13-mtls-go-client.go)" \
  --software "Python $(/usr/bin/python3 -c 'import ssl, sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)') (programs/tls13-mtls-py-client.py)"
