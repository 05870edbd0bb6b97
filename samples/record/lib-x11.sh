#!/usr/bin/env bash
# Helpers of the round-11 recorders (HTTP clients: Node 20's fetch / undici, Go's net/http
# client). Source after lib.sh and lib-b.sh (its delay link, scratch directory and extra
# namespaces are reused).
#   x11_delay_setup NSC NSS MS   server namespace NSS (CC_NS, 10.99.0.2) and client namespace NSC
#                                (10.99.0.1) joined by a wire with MS ms one-way latency, plus a
#                                scratch directory X11_WORK (all removed on exit)
#   x11_loopback_setup NS        one namespace (loopback only) and X11_WORK
#   x11_nginx NS ADDR:PORT KEEPALIVE_DIRECTIVE
#                                nginx answering 200 to everything, with the given keepalive_timeout
#                                directive (e.g. "keepalive_timeout 2s;"), access log with the
#                                client's port and the connection's request count ($X11_WORK/nginx-access.log)
#   x11_go_build                 builds programs/x11-go-client.go and programs/go-http.go (Go's
#                                standard library only) into $X11_WORK
#   x11_software_fetch / x11_software_go / x11_software_nginx   the versions, for the meta
set -euo pipefail

X11_WORK=""
X11_PROGRAMS="$CC_RECORD_DIR/programs"

x11_delay_setup() {
  local nsc="$1" nss="$2" delay="$3"
  cc_netns_up "$nss"
  ccb_workdir
  X11_WORK="$CCB_WORK"
  ccb_netns_add "$nsc"
  ccb_delay_link "$nsc" "$nss" "$delay"
}

x11_loopback_setup() {
  cc_netns_up "$1"
  ccb_workdir
  X11_WORK="$CCB_WORK"
}

x11_nginx() {
  local ns="$1" listen="$2" keepalive="$3"
  mkdir -p "$X11_WORK/tmp"
  cat >"$X11_WORK/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $X11_WORK/nginx.pid;
error_log $X11_WORK/nginx-error.log info;
events { worker_connections 64; }
http {
  log_format x11 '\$msec \$remote_addr:\$remote_port "\$request" \$status conn=\$connection n=\$connection_requests';
  access_log $X11_WORK/nginx-access.log x11;
  client_body_temp_path $X11_WORK/tmp/body;
  proxy_temp_path $X11_WORK/tmp/proxy;
  fastcgi_temp_path $X11_WORK/tmp/fastcgi;
  uwsgi_temp_path $X11_WORK/tmp/uwsgi;
  scgi_temp_path $X11_WORK/tmp/scgi;
  $keepalive
  server {
    listen $listen;
    location / { default_type application/json; return 200 '{"ok":true}\n'; }
  }
}
CONF
  ccb_bg "$ns" nginx -p "$X11_WORK" -e "$X11_WORK/nginx-error.log" -c "$X11_WORK/nginx.conf"
  ccb_wait_port "$ns" "${listen##*:}"
}

x11_go_build() {
  (cd "$X11_WORK" && GOCACHE="$X11_WORK/gocache" GOPATH="$X11_WORK/gopath" GO111MODULE=off GOFLAGS= \
    go build -o "$X11_WORK/x11-go-client" "$X11_PROGRAMS/x11-go-client.go")
  (cd "$X11_WORK" && GOCACHE="$X11_WORK/gocache" GOPATH="$X11_WORK/gopath" GO111MODULE=off GOFLAGS= \
    go build -o "$X11_WORK/go-http" "$X11_PROGRAMS/go-http.go")
}

x11_software_fetch() { echo "Node $(node --version) fetch (undici $(node -p process.versions.undici), the global dispatcher's defaults)"; }
x11_software_go() { echo "$(go version | sed 's/^go version //') net/http (Client and Transport defaults; programs/x11-go-client.go)"; }
x11_software_nginx() { nginx -v 2>&1 | sed 's/^nginx version: //'; }
