#!/usr/bin/env bash
# Helpers for the recorders of the Apache / lighttpd / Java samples. Source after lib.sh and lib-b.sh
# (and call ccb_workdir first: everything goes to CCB_WORK, removed on exit).
#   cca_docroot DIR            static files and CGI scripts both servers serve
#   cca_apache_conf OUT DIR DIRECTIVE...   an Apache 2.4 event-MPM config (Debian module paths,
#                              no daemon: run `apache2 -f OUT -DFOREGROUND`), logs in DIR
#   cca_lighttpd_conf OUT DIR PORT IDLE    a lighttpd config (run `lighttpd -D -f OUT`), logs in DIR
#   cca_java_build             compile programs/JavaHttpClients.java into CCA_JAVA_CP (CCB_WORK/java):
#                              run it as `ip netns exec NS java -cp "$CCA_JAVA_CP" JavaHttpClients ...`
set -euo pipefail

# cca_docroot DIR: /index.html, /cart.json, /big.txt (270 KB), /cgi-bin/{post,nocontent,chunked}.sh.
cca_docroot() {
  local dir="$1" i
  mkdir -p "$dir/cgi-bin"
  printf 'hello\n' >"$dir/index.html"
  printf '{"id":7,"items":[1,2,3]}\n' >"$dir/cart.json"
  for i in $(seq 1 6000); do printf 'line %05d of a large static body, 45 bytes\n' "$i"; done >"$dir/big.txt"
  # Fixed mtimes: Last-Modified and the 304 do not depend on when the recorder ran.
  touch -d '2026-01-01 00:00:00 UTC' "$dir/index.html" "$dir/cart.json" "$dir/big.txt"
  printf '#!/bin/sh\ncat >/dev/null; printf '"'"'Status: 201 Created\\r\\nContent-Type: application/json\\r\\n\\r\\n{"ok":true}\\n'"'"'\n' >"$dir/cgi-bin/post.sh"
  printf '#!/bin/sh\nprintf '"'"'Status: 204 No Content\\r\\n\\r\\n'"'"'\n' >"$dir/cgi-bin/nocontent.sh"
  # No Content-Length and the body written in pieces 20 ms apart: Apache and lighttpd send it chunked.
  printf '#!/bin/sh\nprintf '"'"'Content-Type: text/plain\\r\\n\\r\\n'"'"'; for i in 0 1 2 3 4; do echo "line $i"; sleep 0.02; done\n' >"$dir/cgi-bin/chunked.sh"
  chmod 755 "$dir/cgi-bin/"*.sh
  # Apache's workers run as www-data: the scratch tree must be readable (mktemp -d makes it 0700).
  chmod -R a+rX "$dir"
  chmod a+rx "$CCB_WORK"
}

# cca_apache_conf OUT LOGDIR DIRECTIVE...: event MPM, static files + mod_cgid from DOCROOT=$CCB_WORK/www.
# The access log has the client port and Apache's connection status (%X: + kept alive, - closed).
cca_apache_conf() {
  local out="$1" logs="$2"; shift 2
  mkdir -p "$logs/run"
  {
    cat <<CONF
ServerRoot /etc/apache2
ServerName cc-sample
PidFile $logs/run/httpd.pid
DefaultRuntimeDir $logs/run
Mutex file:$logs/run default
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so
LoadModule cgid_module /usr/lib/apache2/modules/mod_cgid.so
ScriptSock $logs/run/cgisock
User www-data
Group www-data
TypesConfig /etc/mime.types
ErrorLog $logs/apache-error.log
LogLevel info
LogFormat "%{%s}t.%{usec_frac}t %a:%{remote}p \"%r\" %>s %b conn=%X" cc
CustomLog $logs/apache-access.log cc
DocumentRoot $CCB_WORK/www
<Directory $CCB_WORK/www>
  Require all granted
</Directory>
ScriptAlias /cgi-bin/ $CCB_WORK/www/cgi-bin/
CONF
    printf '%s\n' "$@"
  } >"$out"
}

# cca_lighttpd_conf OUT LOGDIR PORT IDLE_S: lighttpd on 127.0.0.1:PORT, same docroot, CGI by /bin/sh.
cca_lighttpd_conf() {
  local out="$1" logs="$2" port="$3" idle="$4"
  cat >"$out" <<CONF
server.document-root = "$CCB_WORK/www"
server.bind = "127.0.0.1"
server.port = $port
server.modules = ( "mod_access", "mod_alias", "mod_cgi", "mod_accesslog" )
server.errorlog = "$logs/lighttpd-error.log"
accesslog.filename = "$logs/lighttpd-access.log"
mimetype.assign = ( ".json" => "application/json", ".txt" => "text/plain", ".html" => "text/html" )
cgi.assign = ( ".sh" => "/bin/sh" )
server.max-keep-alive-idle = $idle
server.max-keep-alive-requests = 100
CONF
}

CCA_JAVA_CP=""
cca_java_build() {
  CCA_JAVA_CP="$CCB_WORK/java"
  mkdir -p "$CCA_JAVA_CP"
  javac -d "$CCA_JAVA_CP" "$CCB_PROGRAMS/JavaHttpClients.java"
  chmod -R a+rX "$CCA_JAVA_CP"
}
