#!/usr/bin/env bash
# TLS handshakes that never complete, against nginx 1.22 (OpenSSL 3.0) on one namespace's loopback,
# with curl 7.88 (OpenSSL 3.0) as the client; each curl from a fixed source port so that the meta
# can name each connection. A throwaway self-signed certificate (CN=localhost), made here:
#   a) curl without -k or --cacert to 127.0.0.2:8443 (TLS 1.2 and 1.3), twice over TLS 1.3 and
#      twice with --tls-max 1.2: curl rejects the certificate (exit 60, "self-signed certificate"):
#      its alert unknown_ca (48) is encrypted in TLS 1.3 (a 19-byte record), plaintext in 1.2;
#   b) curl -k --tls-max 1.2 to 127.0.0.2:9443 (ssl_protocols TLSv1.3): nginx answers the
#      ClientHello with alert protocol_version (70), curl exit 35;
#   c) curl -k with an SNI name no server block serves, to 127.0.0.2:7443, whose default server
#      has ssl_reject_handshake on: nginx answers alert unrecognized_name (112), curl exit 35;
#   d) plain http:// to the TLS port 127.0.0.2:8443: nginx answers 400 "The plain HTTP request
#      was sent to HTTPS port";
#   e) https:// to the plain HTTP port 127.0.0.2:8080: nginx answers the ClientHello with a
#      plaintext 400 Bad Request, curl exit 35 "wrong version number";
#   f) Go's net/http client (TLS 1.3, the system trust store) to 8443, twice: Go's alert on the
#      untrusted certificate is encrypted (change_cipher_spec, then a 19-byte application-data record);
#   g) curl -k to 127.0.0.2:6443, a Python listener that reads the ClientHello and closes without a
#      byte (programs/tls-hsf-listener.py --mode close), twice: curl exit 35 "unexpected eof";
#   h) curl -k --max-time 1.5 to 127.0.0.2:5443, a listener that reads and never answers: curl gives
#      up after 1.5 s (exit 28);
#   j) curl -k --tls-max 1.2 offering only RSA suites (ECDHE-RSA-AES128-GCM-SHA256) to 8443, whose
#      certificate is ECDSA: nginx answers handshake_failure (40), "no shared cipher" in its log;
#   k) nginx as a proxy on 127.0.0.3:8081 in front of those listeners, its clients curl: /verify
#      (proxy_pass https://127.0.0.2:8443 with proxy_ssl_verify on, the system CAs only): nginx
#      completes the handshake, rejects the certificate afterwards ("upstream SSL certificate verify
#      error"), closes with its close_notify and answers 502; /nosni (proxy_pass
#      https://127.0.0.2:7443, proxy_ssl_server_name left off): no SNI, the default server's
#      unrecognized_name (112), a 502; twice each;
#   i) near misses: curl --cacert (the certificate trusted) to 8443, 9443 and 7443 (with the name
#      it serves): healthy, silent; and a last curl to the silent listener started 0.5 s before the
#      capture stops: its handshake is cut by the capture's end, not judged; the proxy's /ok
#      (proxy_ssl_verify on with the certificate trusted, proxy_ssl_name localhost, SNI sent):
#      answered 200; and a TLS health check (Python ssl: handshake, close_notify, close, no
#      request) with no 502 anywhere near it.
# Writes samples/tls-handshake-failed.pcap and .meta.json.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
cc_require python3 tcpdump tshark ip nginx openssl curl go

SCENARIO=tls-handshake-failed
OUT="$CC_SAMPLES_DIR/$SCENARIO.pcap"

cc_netns_up cc-tls-hsf
ccb_workdir
WORK="$CCB_WORK"
cc_in ip addr add 127.0.0.2/8 dev lo 2>/dev/null || true
cc_in ip addr add 127.0.0.3/8 dev lo 2>/dev/null || true
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/key.pem" \
  -out "$WORK/cert.pem" -days 1 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.2" 2>/dev/null
ccb_nginx_conf "$WORK/nginx.conf" <<CONF
  access_log $WORK/access.log;
  ssl_certificate $WORK/cert.pem;
  ssl_certificate_key $WORK/key.pem;
  server {
    listen 127.0.0.2:8443 ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.2:9443 ssl;
    ssl_protocols TLSv1.3;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.2:7443 ssl default_server;
    ssl_reject_handshake on;
  }
  server {
    listen 127.0.0.2:7443 ssl;
    server_name localhost;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.2:8080;
    location / { return 200 "ok\n"; }
  }
  server {
    listen 127.0.0.3:8081;
    location /verify { proxy_pass https://127.0.0.2:8443; proxy_ssl_verify on; proxy_ssl_trusted_certificate /etc/ssl/certs/ca-certificates.crt; }
    location /nosni { proxy_pass https://127.0.0.2:7443; }
    location /ok {
      proxy_pass https://127.0.0.2:7443;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $WORK/cert.pem;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
      proxy_set_header Host localhost;
    }
  }
CONF

(cd "$WORK" && GOCACHE="$WORK/gocache" GOPATH="$WORK/gopath" GO111MODULE=off GOFLAGS= \
  go build -o "$WORK/tls-hsf-go-client" "$CCB_PROGRAMS/tls-hsf-go-client.go")
cc_bg nginx -p "$WORK" -e "$WORK/error.log" -c "$WORK/nginx.conf"
cc_bg python3 "$CCB_PROGRAMS/tls-hsf-listener.py" --port 6443 --mode close --count 2 --log "$WORK/listener.log"
cc_bg python3 "$CCB_PROGRAMS/tls-hsf-listener.py" --port 5443 --mode silent --count 2 --log "$WORK/listener.log"
cc_wait_port 8443
cc_wait_port 9443
cc_wait_port 7443
cc_wait_port 8080
cc_wait_port 8081
cc_wait_port 6443
cc_wait_port 5443
cc_capture_start "$OUT" "tcp"

# run LANE PORT CURL_ARGS...: one curl from 127.0.0.1:PORT, its exit code and error to client.log.
run() {
  local lane="$1" port="$2"; shift 2
  local rc=0 err
  err="$(cc_in curl -sS -o /dev/null --max-time 5 --interface 127.0.0.1 --local-port "$port" "$@" 2>&1)" || rc=$?
  printf '%s\t%s\t%s\t%s\n' "$lane" "$port" "$rc" "${err//$'\n'/ }" >>"$WORK/client.log"
  sleep 0.2
}
: >"$WORK/client.log"
run a13 41001 https://127.0.0.2:8443/a
run a13 41002 https://127.0.0.2:8443/a
run a12 41003 --tls-max 1.2 https://127.0.0.2:8443/a
run a12 41004 --tls-max 1.2 https://127.0.0.2:8443/a
run b 41011 -k --tls-max 1.2 https://127.0.0.2:9443/b
run b 41012 -k --tls-max 1.2 https://127.0.0.2:9443/b
run c 41021 -k --resolve other.example:7443:127.0.0.2 https://other.example:7443/c
run c 41022 -k --resolve other.example:7443:127.0.0.2 https://other.example:7443/c
run d 41031 http://127.0.0.2:8443/d
run d 41032 http://127.0.0.2:8443/d
run e 41041 https://127.0.0.2:8080/e
run e 41042 https://127.0.0.2:8080/e
cc_in "$WORK/tls-hsf-go-client" 41061 https://127.0.0.2:8443/f https://127.0.0.2:8443/f | sed 's/^/f\t/' >>"$WORK/client.log"
run g 41071 -k https://127.0.0.2:6443/g
run g 41072 -k https://127.0.0.2:6443/g
run j 41101 -k --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 https://127.0.0.2:8443/j
run j 41102 -k --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 https://127.0.0.2:8443/j
run k 41111 http://127.0.0.3:8081/verify
run k 41112 http://127.0.0.3:8081/verify
run k 41113 http://127.0.0.3:8081/nosni
run k 41114 http://127.0.0.3:8081/nosni
run h 41081 -k --max-time 1.5 https://127.0.0.2:5443/h
run i 41091 --cacert "$WORK/cert.pem" https://127.0.0.2:8443/i
run i 41092 --cacert "$WORK/cert.pem" --tls-max 1.2 https://127.0.0.2:8443/i
run i 41093 --cacert "$WORK/cert.pem" https://127.0.0.2:9443/i
run i 41094 -k --resolve localhost:7443:127.0.0.2 https://localhost:7443/i
run i 41096 http://127.0.0.3:8081/ok
# A TLS health check: handshake, close_notify, close; no request, and no 502 near it.
cc_in python3 -c 'import socket, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.2", 8443), source_address=("127.0.0.1", 41097))
tls = ctx.wrap_socket(raw, server_hostname="localhost")
try:
    tls.unwrap()  # sends its close_notify; nginx answers with a FIN, which unwrap reports as an EOF
except OSError:
    pass
raw.close()'
printf 'i\t41097\t0\tpython ssl handshake, unwrap (close_notify), close\n' >>"$WORK/client.log"
sleep 0.2
# The last handshake is cut by the capture's end: curl waits on the silent listener (bounded by
# --max-time 3) while the capture stops.
run i 41095 -k --max-time 3 https://127.0.0.2:5443/i &
LAST_CURL=$!
sleep 0.5
cc_capture_stop
wait "$LAST_CURL" || true
tshark -r "$OUT" -q -z conv,tcp
python3 "$CCB_PROGRAMS/tls-handshake-meta.py" --capture "$OUT" --meta "$CC_SAMPLES_DIR/$SCENARIO.meta.json" \
  --client-log "$WORK/client.log" --error-log "$WORK/error.log" --access-log "$WORK/access.log" --listener-log "$WORK/listener.log" \
  --nginx-version "$(nginx -v 2>&1 | sed 's|.*nginx/||')" --curl-version "$(curl --version | head -1)"
cat "$WORK/client.log" "$WORK/listener.log"
