#!/usr/bin/env bash
# The keep-alive race against the JDK's built-in HTTP server (com.sun.net.httpserver.HttpServer, OpenJDK
# 17, module jdk.httpserver) with -Dsun.net.httpserver.idleInterval=2 (s, 30 by default) and
# -Dsun.net.httpserver.clockTick=100 (ms, 10000 by default), behind a 5 ms one-way-latency link.
# programs/x23j-Server.java: one context, GET 200, POST 201, one log line per request with the client
# port and one per "Closed idle connection" event of the server's own logger. The server's idle
# connections are closed by a java.util.Timer task ("idle-timeout-task", ServerImpl.IdleTimeoutTask)
# that runs every clockTick ms (Timer.schedule(task, tick, tick): fixed delay) and closes each idle
# connection whose idle start (System.currentTimeMillis() when the exchange ended) is at least
# idleInterval ago: FIN 2.000-2.100 s after the response was written, at the next tick, so the closes are ticked
# and spread over one clock tick. The default tick (10 s) is left out: it would spread the closes over
# 2-12 s and make the sample long. Clients: java.net.http.HttpClient (programs/x23j-Lanes.java, HTTP/1.1
# forced, 6 lanes) and python requests (programs/x17p-requests-lanes.py, 6 lanes), each lane one pooled
# connection reused after pauses of 1.70-2.40 s (dense 1.990-2.108 s), GETs and POSTs alternating, so
# that some reuses cross the server's idle FIN. HttpClient retries a GET (idempotent) that failed on a
# reused connection once, on a new connection, without telling the caller; not a POST. requests does
# not retry. Server-side capture. Bounded: one attempt takes ~20 s; at most 3, until one has at least 3
# races, one of them a GET that HttpClient retried. Writes samples/keepalive-race-jdk-httpserver.pcap and .meta.json (programs/x23j-meta.py: the
# capture checked against the clients' and the server's logs, retries found on the wire, and every
# server FIN matched with one of the server's own "Closed idle connection" events).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/lib.sh"
source "$HERE/programs/x23j-lib.sh"
x23j_require

SCENARIO=keepalive-race-jdk-httpserver
DELAY_MS=5
X23J_IDLE_INTERVAL=2
X23J_CLOCK_TICK_MS=100
# 72 pauses (s): 12 over 1.70-2.40 s outside 1.95-2.15 s (no race), 60 from 1.990 to 2.108 s in 2 ms steps, shuffled.
GAPS=$(python3 -c "
import random
v = [1.70, 1.75, 1.80, 1.85, 1.90, 1.95, 2.15, 2.20, 2.25, 2.30, 2.35, 2.40]
v += [round(1.990 + 0.002 * k, 3) for k in range(60)]
random.Random(23).shuffle(v)
print(','.join(map(str, v)))")
[ "$(echo "$GAPS" | tr ',' '\n' | wc -l)" = 72 ] || { echo "record: $SCENARIO: expected 72 pauses" >&2; exit 1; }

x20h_setup ccx23j "$DELAY_MS" 150
x23j_compile
JAVA_V="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p')"
mapfile -t SOFTWARE < <(echo "the JDK's built-in HTTP server, com.sun.net.httpserver.HttpServer (OpenJDK $JAVA_V, Debian openjdk-17-jre-headless $(dpkg-query -W -f='${Version}' openjdk-17-jre-headless); programs/x23j-Server.java; -Dsun.net.httpserver.idleInterval=$X23J_IDLE_INTERVAL -Dsun.net.httpserver.clockTick=$X23J_CLOCK_TICK_MS, everything else at its default)"; x23j_client_software)
x23j_record_races "$SCENARIO" 3 "$GAPS" 6 6 6 3 \
  --need-retries 1 --server-name "the JDK HttpServer" --idle-interval "$X23J_IDLE_INTERVAL" --clock-tick-ms "$X23J_CLOCK_TICK_MS" \
  --configured "{\"jdkHttpServerIdleInterval\": $X23J_IDLE_INTERVAL, \"jdkHttpServerIdleIntervalDefault\": 30, \"jdkHttpServerClockTickMs\": $X23J_CLOCK_TICK_MS, \"jdkHttpServerClockTickMsDefault\": 10000, \"jdkHttpClientKeepaliveTimeout\": 1200, \"oneWayDelayMs\": $DELAY_MS}" \
  --configured-notes "Only two system properties of the server are set: sun.net.httpserver.idleInterval=$X23J_IDLE_INTERVAL (seconds, read with Long.getLong, 30 by default) and sun.net.httpserver.clockTick=$X23J_CLOCK_TICK_MS (milliseconds, 10000 by default; in this JDK 17 update it is the period of the idle timer, ServerConfig.idleTimerScheduleMillis). ServerImpl creates a java.util.Timer 'idle-timeout-task' and schedules IdleTimeoutTask with the clock tick as delay and period (Timer.schedule: fixed delay); each run closes every idle connection whose idleStartTime (System.currentTimeMillis() when its exchange ended) is at least idleInterval ms old, and logs 'Closed idle connection' (TRACE, logger com.sun.net.httpserver). So a connection idles $X23J_IDLE_INTERVAL.000-$X23J_IDLE_INTERVAL.$X23J_CLOCK_TICK_MS s (plus timer jitter) before its FIN, and the FINs fall on the timer's ticks: the idle timeout that can be seen on the wire is not one number but a band one tick wide. The server sends no Server header (only Date, Content-type, Content-length). The clients are at their defaults: java.net.http.HttpClient keeps idle pooled connections jdk.httpclient.keepalive.timeout = 1200 s and retries an idempotent request (GET, HEAD) once on a new connection when it failed on a reused one (MultiExchange; jdk.httpclient.enableAllMethodRetry extends it to every method); requests (urllib3) has no idle limit and max_retries 0." \
  --capture-side "server (tun ccbs in the server namespace)" --software "${SOFTWARE[@]}" \
  --description "The keep-alive race against the JDK's built-in HTTP server with a $X23J_IDLE_INTERVAL s idle interval and a $X23J_CLOCK_TICK_MS ms clock tick. ${SOFTWARE[0]%% (*} (OpenJDK $JAVA_V) serves one context (programs/x23j-Server.java: GET 200, POST 201). Its idle-timeout timer task runs every $X23J_CLOCK_TICK_MS ms and closes connections idle at least $X23J_IDLE_INTERVAL s: FIN $X23J_IDLE_INTERVAL.00-$X23J_IDLE_INTERVAL.10 s after the response, on the timer's tick. ${SOFTWARE[1]%% (*} and ${SOFTWARE[2]%% (*}, 6 lanes each with one pooled connection, reuse it after pauses of 1.70-2.40 s (dense 1.990-2.108 s), GET and POST alternating; 5 ms one-way latency, captured on the server side. A reuse sent in the last RTT before the server's FIN reached the client crosses it: the request reaches a closed socket and the kernel answers RST. HttpClient then retries a GET once on a new connection, silently (the caller gets the response), and fails a POST with an IOException; requests fails either with a ConnectionError. A reuse after the FIN arrived goes on a new connection (both pools watch their idle connections for EOF)."
