# Helpers of the round-9 recorders (gunicorn, Tomcat, Python requests/urllib3). Source after
# lib.sh and lib-b.sh (its delay link, scratch directory and extra namespaces are reused).
#   x9_delay_setup NSC NSS MS   server namespace NSS (CC_NS, 10.99.0.2) and client namespace NSC
#                               (10.99.0.1) joined by a wire with MS ms one-way latency, plus
#                               a scratch directory X9_WORK (all removed on exit)
#   x9_gunicorn NS PORT ARGS... gunicorn (Debian's, /usr/bin/gunicorn) serving programs/x9-wsgi-app.py
#                               in NS with its access log ($X9_WORK/access.log, with the client's
#                               port and the request time in µs), error log ($X9_WORK/error.log)
#                               and the application's own log ($X9_WORK/app.log)
#   x9_software_gunicorn        the versions, for the meta
set -euo pipefail

X9_WORK=""
X9_PROGRAMS="$CC_RECORD_DIR/programs"

x9_delay_setup() {
  local nsc="$1" nss="$2" delay="$3"
  cc_netns_up "$nss"
  ccb_workdir
  X9_WORK="$CCB_WORK"
  ccb_netns_add "$nsc"
  ccb_delay_link "$nsc" "$nss" "$delay"
}

x9_gunicorn() {
  local ns="$1" port="$2"
  shift 2
  : >"$X9_WORK/app.log"
  X9_APP_LOG="$X9_WORK/app.log" ccb_bg "$ns" /usr/bin/gunicorn --chdir "$X9_PROGRAMS" -b "$CCB_SERVER_IP:$port" \
    --access-logfile "$X9_WORK/access.log" \
    --access-logformat '%(t)s %(h)s:%({REMOTE_PORT}e)s "%(r)s" %(s)s %(b)s %(D)sus pid=%(p)s' \
    --error-logfile "$X9_WORK/error.log" --log-level debug "$@" 'x9-wsgi-app:app'
  ccb_wait_port "$ns" "$port"
}

x9_software_gunicorn() {
  printf '%s\n' "gunicorn $(/usr/bin/gunicorn --version 2>&1 | sed 's/.*version \([0-9.]*\).*/\1/') (Debian, /usr/bin/python3 $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'))"
  python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")'
  echo "user-space delay line (samples/record/programs/x5-wire.py, tun) for path latency"
}

# x9_nginx_proxy LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT: nginx (default timeouts, one upstream
# server, no upstream keep-alive) in CC_NS, error log at info level in $X9_WORK/nginx-error.log,
# access log with $upstream_status and $request_time in $X9_WORK/nginx-access.log.
x9_nginx_proxy() {
  local listen="$1" upstream="$2"
  mkdir -p "$X9_WORK/tmp"
  cat >"$X9_WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $X9_WORK/nginx.pid;
error_log $X9_WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format x9 '\$time_iso8601 \$remote_addr:\$remote_port "\$request" \$status us=\$upstream_status ut=\$upstream_response_time rt=\$request_time';
  access_log $X9_WORK/nginx-access.log x9;
  client_body_temp_path $X9_WORK/tmp/body;
  proxy_temp_path $X9_WORK/tmp/proxy;
  fastcgi_temp_path $X9_WORK/tmp/fastcgi;
  uwsgi_temp_path $X9_WORK/tmp/uwsgi;
  scgi_temp_path $X9_WORK/tmp/scgi;
  upstream backend { server $upstream; }
  server {
    listen $listen;
    location / { proxy_pass http://backend; }
  }
}
CONF
  cc_bg nginx -p "$X9_WORK" -e "$X9_WORK/nginx-error.log" -c "$X9_WORK/nginx.conf"
  cc_wait_port "${listen##*:}"
}

# x9_tomcat NS ADDR PORT CONNECTOR_ATTRIBUTES: Tomcat 10 (Debian's, /usr/share/tomcat10) in NS with
# a scratch CATALINA_BASE ($X9_WORK/tomcat): one HTTP/1.1 (NIO) connector on ADDR:PORT with the
# given attributes (e.g. 'keepAliveTimeout="2000" maxKeepAliveRequests="5"'), the servlet
# programs/x9-items-servlet.java on /items/* and /sleep/*, and an access log
# ($X9_WORK/tomcat/logs/access.log: begin time in ms, client address:port, request, status, bytes,
# %D processing time in µs, %X connection status: + kept alive, - closed, X aborted).
x9_tomcat() {
  local ns="$1" addr="$2" port="$3" attrs="$4"
  local base="$X9_WORK/tomcat" home=/usr/share/tomcat10
  mkdir -p "$base/conf" "$base/logs" "$base/temp" "$base/work" "$base/webapps/ROOT/WEB-INF/classes" "$X9_WORK/src"
  cp /etc/tomcat10/web.xml "$base/conf/web.xml"
  cp "$X9_PROGRAMS/x9-items-servlet.java" "$X9_WORK/src/X9ItemsServlet.java"
  javac -nowarn -cp "$home/lib/servlet-api.jar" -d "$base/webapps/ROOT/WEB-INF/classes" "$X9_WORK/src/X9ItemsServlet.java"
  cat >"$base/webapps/ROOT/WEB-INF/web.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0" metadata-complete="true">
  <servlet><servlet-name>items</servlet-name><servlet-class>X9ItemsServlet</servlet-class><load-on-startup>1</load-on-startup></servlet>
  <servlet-mapping><servlet-name>items</servlet-name><url-pattern>/items/*</url-pattern><url-pattern>/sleep/*</url-pattern></servlet-mapping>
</web-app>
XML
  cat >"$base/conf/server.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector address="$addr" port="$port" protocol="HTTP/1.1" $attrs />
    <Engine name="Catalina" defaultHost="localhost">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false">
        <Valve className="org.apache.catalina.valves.AccessLogValve" directory="logs" prefix="access" suffix=".log"
               rotatable="false" buffered="false"
               pattern="%{begin:yyyy-MM-dd'T'HH:mm:ss.SSS}t %a:%{remote}p &quot;%r&quot; %s %b %Dus %X" />
      </Host>
    </Engine>
  </Service>
</Server>
XML
  CATALINA_HOME="$home" CATALINA_BASE="$base" CATALINA_TMPDIR="$base/temp" JAVA_OPTS="-Xms64m -Xmx128m -XX:TieredStopAtLevel=1 -Duser.timezone=UTC" \
    ccb_bg "$ns" "$home/bin/catalina.sh" run >"$X9_WORK/catalina.out" 2>&1
  local i
  for i in $(seq 1 300); do   # a JVM on a busy machine: up to 30 s
    ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.1
  done
  ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -q . || { tail -20 "$X9_WORK/catalina.out" >&2; echo "record: Tomcat did not start" >&2; exit 1; }
}

x9_software_tomcat() {
  echo "Apache Tomcat $(unzip -p /usr/share/tomcat10/lib/catalina.jar META-INF/MANIFEST.MF | sed -n 's/^Bundle-Version: *//p' | tr -d '\r') (Debian, NIO connector) on OpenJDK $(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p')"
  python3 -c 'import sys, urllib3, requests; print(f"Python {sys.version.split()[0]} requests {requests.__version__} urllib3 {urllib3.__version__}")'
}

# x9_uwsgi NS ADDR:PORT ARGS...: uWSGI (Debian's, python3 plugin) serving programs/x9-wsgi-app.py
# on a native HTTP socket, master and workers, log with dates in $X9_WORK/uwsgi.log (--die-on-term:
# uWSGI reloads on SIGTERM otherwise, and the cleanup by PID would leave it running), the
# application's own log in $X9_WORK/app.log.
x9_uwsgi() {
  local ns="$1" addr="$2"
  shift 2
  : >"$X9_WORK/app.log"
  X9_APP_LOG="$X9_WORK/app.log" ccb_bg "$ns" uwsgi --plugin python3 --http-socket "$addr" --chdir "$X9_PROGRAMS" \
    --wsgi-file x9-wsgi-app.py --callable app --master --die-on-term --logto "$X9_WORK/uwsgi.log" --log-date "$@"
  ccb_wait_port "$ns" "${addr##*:}"
}
