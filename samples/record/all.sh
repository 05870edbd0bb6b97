#!/usr/bin/env bash
# Re-records every sample (root; tcpdump, tshark, nginx, haproxy, nftables, node, python3, apache2, varnish,
# squid, caddy, trafficserver, h2o, gunicorn, uwsgi + its python3 plugin, tomcat10,
# lighttpd, a JDK 17+, Go for the net/http samples; round 19: python3-waitress, python3-cherrypy3,
# python3-tornado, libmojolicious-perl, starman, php-cli + php-curl, libwww-perl, libokhttp-java,
# libhttpclient5-java, redis-server + python3-redis, postgresql + python3-psycopg2, pgbouncer,
# mariadb-server + python3-pymysql; round 20: python3-hypercorn + python3-trio, python3-twisted, yaws,
# memcached + python3-pymemcache, nghttp2-proxy, tinyproxy, slapd + python3-ldap3, python3-aiohttp, daphne;
# round 21: ruby-webrick, erlang-inets, webfs).
# Each recorder works in its own network namespace and checks its capture with tshark before
# writing the meta.json; a failed check stops here. Review `git diff samples/` afterwards and
# regenerate the golden outputs (npm run golden) after reading what changed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
status=0
for script in "$HERE"/*.sh; do
  name="$(basename "$script" .sh)"
  case "$name" in all|lib|lib-*) continue ;; esac
  echo "== $name"
  if ! timeout 180 bash "$script"; then
    echo "!! $name failed" >&2
    status=1
  fi
done
exit $status
