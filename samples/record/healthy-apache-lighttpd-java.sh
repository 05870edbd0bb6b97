#!/usr/bin/env bash
# Healthy traffic on loopback from Java 17's two HTTP clients to Apache 2.4 (event MPM,
# KeepAliveTimeout 5, 127.0.0.1:8081) and lighttpd 1.4 (server.max-keep-alive-idle = 5,
# 127.0.0.1:8082): per server, java.net.http.HttpClient (JavaHttpClients jhc-healthy) then
# HttpURLConnection (huc-healthy): GET, HEAD, 204 (CGI), POST 201 (CGI), chunked (CGI), a 270 KB
# body, 404, a conditional GET answered 304, Connection: close, keep-alive reuse 120 ms apart (far
# within both idle timeouts). Each JVM exits at the end, closing its connections (client FIN).
# conncheck must stay silent. Writes samples/healthy-apache-lighttpd-java.pcap and .meta.json
# (pcap-facts.py measures the capture and refuses to write the meta when a fact differs).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/lib-b.sh"
source "$HERE/lib-apache.sh"
cc_require apache2 lighttpd java javac python3 tcpdump tshark capinfos ip

SCENARIO=healthy-apache-lighttpd-java
IDLE_S=5

cc_netns_up cc-x-healthy
ccb_workdir
WORK="$CCB_WORK"
OUT="$WORK/$SCENARIO.pcap"
cca_docroot "$WORK/www"
cca_java_build
cca_apache_conf "$WORK/apache.conf" "$WORK" "Listen 127.0.0.1:8081" "KeepAlive On" "KeepAliveTimeout $IDLE_S" \
  "MaxKeepAliveRequests 100"
cca_lighttpd_conf "$WORK/lighttpd.conf" "$WORK" 8082 "$IDLE_S"
cc_bg apache2 -f "$WORK/apache.conf" -DFOREGROUND
cc_bg lighttpd -D -f "$WORK/lighttpd.conf"
cc_wait_port 8081
cc_wait_port 8082
cc_capture_start "$OUT" "tcp port 8081 or tcp port 8082"
for port in 8081 8082; do
  cc_in timeout 60 java -cp "$CCA_JAVA_CP" JavaHttpClients jhc-healthy "http://127.0.0.1:$port" >>"$WORK/client.log"
  cc_in timeout 60 java -cp "$CCA_JAVA_CP" JavaHttpClients huc-healthy "http://127.0.0.1:$port" >>"$WORK/client.log"
done
cc_capture_stop
cat "$WORK/client.log"
if grep -q '"outcome":"FAIL' "$WORK/client.log"; then echo "record: $SCENARIO: a request failed" >&2; exit 1; fi

# Per server: HttpClient keeps one connection for its 18 requests; HttpURLConnection keeps one for
# 17, closes it after the Connection: close request, and uses a new one for its last 3.
cat >"$WORK/template.json" <<JSON
{
  "scenario": "$SCENARIO",
  "description": "Healthy traffic from Java 17's two HTTP clients to Apache 2.4 (event MPM, KeepAliveTimeout 5, 127.0.0.1:8081) and lighttpd 1.4 (server.max-keep-alive-idle = 5, 127.0.0.1:8082) on loopback. Per server: java.net.http.HttpClient sends GET /index.html, GET /cart.json, HEAD /big.txt, GET /cgi-bin/nocontent.sh (204), POST /cgi-bin/post.sh (201), GET /cgi-bin/chunked.sh (a CGI body written in 5 pieces 20 ms apart: Apache sends it chunked, lighttpd buffers CGI output and sends a Content-Length), GET /big.txt (270 KB), GET /missing (404), twice, 120 ms apart, then HEAD /cart.json and a conditional GET with its Last-Modified (304), all on one kept-alive connection; then HttpURLConnection does the same 16 requests and a HEAD on one connection, GET /cart.json with Connection: close (the server closes after the response), and a conditional GET (304), HEAD and GET /index.html on a new connection. Every gap is far within both servers' idle timeouts; each JVM exits at the end and closes its connections (client FIN). No finding of any kind.",
  "software": ["$(apache2 -v | head -1 | sed 's/^Server version: //') (event MPM)", "$(lighttpd -v 2>&1 | head -1)",
               "Java $(java -version 2>&1 | head -1 | sed 's/.*version "\([^"]*\)".*/\1/') java.net.http.HttpClient and HttpURLConnection (JavaHttpClients.java)"],
  "configured": {"apacheKeepAliveTimeout": $IDLE_S, "lighttpdMaxKeepAliveIdle": $IDLE_S},
  "silent": true,
  "notes": "HttpURLConnection's HEAD before the conditional GET is how it learns Last-Modified; Apache and lighttpd send 304 for an If-Modified-Since equal to it. The Connection: close exchange is closed by the server after its response: not a failure. The 404 carries a body (HttpURLConnection reads it from getErrorStream to keep the connection). Apache also sends a CGI's small body chunked when it is not complete by the time the headers go out (the POST's 201 sometimes): facts.chunkedResponses varies between 4 and 8. The 270 KB body briefly fills the Java client's receive window on loopback (tshark: zero-window ACKs reopened within 2 ms): flow control, not a stall.",
  "facts": {"connections": 6, "states": {"SF": 6}, "syn": 6, "synAck": 6, "rst": 0,
            "httpRequests": 76, "httpResponses": 76, "requestsPerConnection": [3, 3, 17, 17, 18, 18],
            "methods": {"GET": 56, "HEAD": 12, "POST": 8},
            "statuses": {"200": 48, "201": 8, "204": 8, "304": 4, "404": 8}},
  "expectMode": "silent"
}
JSON
python3 "$CCB_PROGRAMS/pcap-facts.py" --capture "$OUT" --meta "$WORK/$SCENARIO.meta.json" --template "$WORK/template.json" \
  --http-port 8081 --http-port 8082
# Apache's chunked.sh answers are chunked in every run (4); other CGI bodies may be too.
python3 -c 'import json, sys; n = json.load(open(sys.argv[1]))["facts"]["chunkedResponses"]; sys.exit(0 if n >= 4 else 1)' \
  "$WORK/$SCENARIO.meta.json" || { echo "record: $SCENARIO: fewer than 4 chunked responses" >&2; exit 1; }
cp "$OUT" "$WORK/$SCENARIO.meta.json" "$CC_SAMPLES_DIR/"
