#!/usr/bin/env bash
# Shared by the Puma / Ruby Net::HTTP recorders (healthy-puma-ruby.sh, keepalive-race-puma-ruby.sh).
# Source after lib.sh (it sources lib-b.sh when that is not loaded yet).
#   x17r_require       cc_require of the tools the recorders and these helpers run
#   x17r_puma NS HOST PORT PERSISTENT_TIMEOUT|"" LOG   Puma 5.6 (Debian puma, single mode, 16 threads)
#       serving programs/x17r-app.ru in namespace NS; the app logs each request to LOG; ended by PID.
#   x17r_software      one line per piece of software (Puma, Ruby / Net::HTTP)

declare -F ccb_cleanup >/dev/null || . "$CC_RECORD_DIR/lib-b.sh"

X17R_PROGRAMS="$CC_RECORD_DIR/programs"

x17r_require() {
  cc_require /usr/bin/ruby /usr/bin/puma tcpdump tshark ip python3
}

x17r_puma() {
  local ns="$1" host="$2" port="$3" pt="$4" log="$5"
  ccb_bg "$ns" env X17R_BIND="tcp://$host:$port" ${pt:+X17R_PERSISTENT_TIMEOUT=$pt} X17R_SERVER_LOG="$log" \
    /usr/bin/puma -C "$X17R_PROGRAMS/x17r-puma.rb" "$X17R_PROGRAMS/x17r-app.ru"
  X17R_PUMA_PID="$CC_LAST_PID"
  ccb_wait_port "$ns" "$port"
}

x17r_software() {
  local puma_v nio_v ruby_v nethttp_v
  puma_v="$(/usr/bin/puma --version | awk '{print $3}')"
  nio_v="$(/usr/bin/ruby -e 'require "nio"; print NIO::VERSION' 2>/dev/null || echo '?')"
  ruby_v="$(/usr/bin/ruby -e 'print RUBY_VERSION')"
  nethttp_v="$(/usr/bin/ruby -rnet/http -e 'print Net::HTTP::VERSION')"
  echo "Puma $puma_v (Debian puma $(dpkg-query -W -f='${Version}' puma), single mode, 16 threads; nio4r $nio_v; its bundled Rack builder, no rack gem)"
  echo "Ruby $ruby_v Net::HTTP $nethttp_v (Debian ruby $(dpkg-query -W -f='${Version}' ruby3.1 2>/dev/null || echo '?'))"
}
