#!/usr/bin/env python3
"""x37-meta: checks a fastcgi-php-fpm recording (samples/record/fastcgi-php-fpm.sh) against the programs'
own logs and writes its meta.json, or refuses (exit 1) when the recording does not show the scenario.

  x37-meta.py --capture PCAP --meta OUT --work DIR --software S...

The capture (tshark, nanosecond pcap on the namespace's loopback) holds client legs 127.0.0.1 ->
127.0.0.2:8080 (nginx) and FastCGI legs 127.0.0.2 -> 127.0.0.3:9000 (php-fpm pool, one FastCGI connection
per request: fastcgi_keep_conn off). The FastCGI records are parsed here from the reassembled TCP byte
streams (tcp.payload by sequence number): BEGIN_REQUEST (role, FCGI_KEEP_CONN), PARAMS (REQUEST_URI,
REMOTE_PORT: the client leg's port), STDIN, STDOUT (the CGI head: Status), STDERR, END_REQUEST. A FastCGI
leg belongs to the client leg whose port its REMOTE_PORT names and to the request its REQUEST_URI names
(every request target is unique: ?i=a1..a6, b1..b3, t1..t3, k1..k2).

Ground truth read from --work:
  client.log          x37-client.py, one JSON line per request (phase, lane, uri, localPort, tStart, tEnd,
                      status or error);
  nginx-access.log    $msec $status $request_time $upstream_response_time $upstream_status $request_uri
                      $remote_port $connection $connection_requests;
  nginx-error.log     "upstream timed out (110: Connection timed out) while reading response header from
                      upstream" (read timeout), "recv() failed (104: Connection reset by peer)" or "upstream
                      prematurely closed connection" "while reading response header from upstream" (killed);
  php-fpm.log         the master's log: "child N, script ... (request: "GET uri") execution timed out (S
                      sec), terminating", "child N exited on signal 15 (SIGTERM)", and the workers' stderr
                      (catch_workers_output): x37-sleep.php's "x37 start|end TIME pid N uri U remote_port P";
  php-fpm-access.log  php-fpm's access log (only requests a worker finished: the healthy ones);
  ss.log              php-fpm's side of the FastCGI connections sampled every 0.25 s (ss -tna: state, Recv-Q =
                      request bytes the worker had not read), for the facts only (not checked).

Refused when:
- the client log does not hold exactly: 9 healthy GETs of /fast.php (6 on one connection, 3 on another)
  answered 200; 3 read-timeout GETs of /slow/sleep.php?s=4 answered 504 1.95-2.3 s after the request;
  2 terminate GETs of /kill/sleep.php?s=8 answered 502 2.95-4.3 s after the request; or any error;
- nginx's access log disagrees (status, upstream status, port) or its error log lacks the timeout / the
  upstream failure for a request (or has an error for a healthy one);
- php-fpm did not log "execution timed out ... terminating" for each of the 5 slow requests (the 3
  read-timeout ones too: their sleep(4) outlasts request_terminate_timeout 3s, and php-fpm checks it on a
  1 s heartbeat, so it kills them 3-4 s after the request), or a slow worker logged the end of its sleep
  (a worker that finished writes a response into the connection nginx closed: another recording), or the
  healthy requests are not in its access log;
- on the wire: not one client leg per lane from the port the client logged, not one FastCGI leg per
  request with REMOTE_PORT and REQUEST_URI matching, FCGI_KEEP_CONN set, a SYN missing;
  a healthy FastCGI leg without STDOUT "200"/END_REQUEST (REQUEST_COMPLETE) or not closed first by php-fpm;
  a read-timeout FastCGI leg with any byte from php-fpm, or not closed (FIN) by nginx 1.95-2.3 s after
  the request and at the 504 (within 50 ms), or not closed by php-fpm (FIN or RST) afterwards at the time
  php-fpm logged its kill (within 0.1 s);
  a terminated FastCGI leg with any byte from php-fpm, closed by nginx first, or not closed by php-fpm
  2.95-4.3 s after the request at the time php-fpm logged its kill (within 0.1 s), with nginx's 502 on
  the client leg within 50 ms after it.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from collections import OrderedDict

# The finding kind conncheck must report on each connection, by ground-truth category (None: no finding).
EXPECTED_KIND = {
    "healthy-client-leg": None,
    "healthy-fastcgi-leg": None,
    "read-timeout-client-leg": "gateway-timeout",
    "read-timeout-fastcgi-leg": "unanswered-request",
    # nginx relays php-fpm's reset as a 502 at once: the failure is the FastCGI leg's, reported there.
    "terminated-client-leg": None,
    "terminated-fastcgi-leg": "reset-before-response",
}

SCENARIO = "fastcgi-php-fpm"
NGINX = ("127.0.0.2", 8080)
FPM = ("127.0.0.3", 9000)
CLIENT_IP = "127.0.0.1"
READ_TIMEOUT = 2.0           # nginx fastcgi_read_timeout, location /slow/
TERMINATE_TIMEOUT = 3.0      # php-fpm request_terminate_timeout
HEARTBEAT = 1.0              # php-fpm checks request_terminate_timeout every timeout/3 = 1 s
PHASES = {
    "healthy": {"count": 9, "status": 200, "path": "/fast.php"},
    "read-timeout": {"count": 3, "status": 504, "path": "/slow/sleep.php", "s": "4", "min": 1.95, "max": 2.3},
    "terminate": {"count": 2, "status": 502, "path": "/kill/sleep.php", "s": "8", "min": 2.95, "max": 4.3},
}
LANES = {"A": 6, "B": 3}
NEAR = 0.05                  # same moment seen from two places (two legs, capture and a log)
KILL_NEAR = 0.1              # php-fpm's logged elapsed time vs. its close on the wire

FIELDS = ["frame.number", "frame.time_epoch", "frame.time_relative", "tcp.stream",
          "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
          "tcp.flags.syn", "tcp.flags.ack", "tcp.flags.fin", "tcp.flags.reset",
          "tcp.seq_raw", "tcp.len", "tcp.payload", "tcp.analysis.flags",
          "http.request.method", "http.request.uri", "http.response.code"]

FCGI_TYPES = {1: "BEGIN_REQUEST", 2: "ABORT_REQUEST", 3: "END_REQUEST", 4: "PARAMS", 5: "STDIN", 6: "STDOUT",
              7: "STDERR", 8: "DATA", 9: "GET_VALUES", 10: "GET_VALUES_RESULT", 11: "UNKNOWN_TYPE"}

problems = []


def refuse(msg):
    problems.append(msg)


def r3(x):
    return None if x is None else round(x, 3)


def ep(ip, port):
    return f"{ip}:{port}"


# ---------------------------------------------------------------------------------------------- capture

def read_packets(capture):
    cmd = ["tshark", "-r", capture, "-n", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a",
           "-E", "aggregator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    packets = []
    for line in out.splitlines():
        v = line.split("\t")
        v += [""] * (len(FIELDS) - len(v))
        p = dict(zip(FIELDS, v))
        if p["tcp.stream"] == "":
            continue
        flag = lambda k: p[k] in ("1", "True")
        packets.append({
            "frame": int(p["frame.number"]), "t": float(p["frame.time_epoch"]), "rel": float(p["frame.time_relative"]),
            "stream": int(p["tcp.stream"]), "src": ep(p["ip.src"], p["tcp.srcport"]), "dst": ep(p["ip.dst"], p["tcp.dstport"]),
            "syn": flag("tcp.flags.syn"), "ack": flag("tcp.flags.ack"), "fin": flag("tcp.flags.fin"), "rst": flag("tcp.flags.reset"),
            "seq": int(p["tcp.seq_raw"] or 0), "len": int(p["tcp.len"] or 0),
            "payload": bytes.fromhex(p["tcp.payload"].replace(":", "")) if p["tcp.payload"] else b"",
            "analysis": p["tcp.analysis.flags"] != "",
            "methods": [x for x in p["http.request.method"].split("|") if x],
            "uris": [x for x in p["http.request.uri"].split("|") if x],
            "codes": [int(x) for x in p["http.response.code"].split("|") if x],
        })
    return packets


def connections(packets):
    streams = OrderedDict()
    for p in packets:
        streams.setdefault(p["stream"], []).append(p)
    conns = []
    for stream, pkts in streams.items():
        syn = next((p for p in pkts if p["syn"] and not p["ack"]), None)
        first = syn or pkts[0]
        client, server = first["src"], first["dst"]
        c = {"stream": stream, "client": client, "server": server, "syn": syn is not None, "pkts": pkts,
             "firstFrame": pkts[0]["frame"], "t0": pkts[0]["t"], "rel0": pkts[0]["rel"]}
        for side, name in ((client, "c"), (server, "s")):
            mine = [p for p in pkts if p["src"] == side]
            c[name + "Fin"] = next((p for p in mine if p["fin"]), None)
            c[name + "Rst"] = next((p for p in mine if p["rst"]), None)
            c[name + "Data"] = [p for p in mine if p["len"] > 0]
            # Reassemble by sequence number (the first copy of each segment).
            seen, chunks = set(), []
            for p in sorted(c[name + "Data"], key=lambda q: (q["seq"], q["frame"])):
                if p["seq"] in seen:
                    continue
                seen.add(p["seq"])
                chunks.append(p["payload"])
            c[name + "Bytes"] = b"".join(chunks)
        c["analysisFlagged"] = sum(1 for p in pkts if p["analysis"])
        conns.append(c)
    return conns


def first_close(c, name):
    """The first FIN or RST a side sent: (packet, 'FIN'|'RST') or (None, None)."""
    fin, rst = c[name + "Fin"], c[name + "Rst"]
    cands = [(p, k) for p, k in ((fin, "FIN"), (rst, "RST")) if p is not None]
    if not cands:
        return None, None
    return min(cands, key=lambda pk: pk[0]["frame"])


def fcgi_records(data):
    recs, i = [], 0
    while i + 8 <= len(data):
        ver, typ, rid, clen, plen = data[i], data[i + 1], int.from_bytes(data[i + 2:i + 4], "big"), \
            int.from_bytes(data[i + 4:i + 6], "big"), data[i + 6]
        if ver != 1 or i + 8 + clen + plen > len(data):
            break
        recs.append({"type": FCGI_TYPES.get(typ, str(typ)), "id": rid, "content": data[i + 8:i + 8 + clen],
                     "size": 8 + clen + plen})
        i += 8 + clen + plen
    return recs, len(data) - i


def fcgi_params(blob):
    params, i = OrderedDict(), 0

    def length():
        nonlocal i
        if blob[i] >> 7:
            n = int.from_bytes(blob[i:i + 4], "big") & 0x7FFFFFFF
            i += 4
        else:
            n = blob[i]
            i += 1
        return n
    while i < len(blob):
        nl = length()
        vl = length()
        name = blob[i:i + nl].decode("latin-1")
        i += nl
        params[name] = blob[i:i + vl].decode("latin-1")
        i += vl
    return params


def fcgi_leg(c):
    """What the FastCGI leg carried, both ways."""
    req, rest_in = fcgi_records(c["cBytes"])
    resp, rest_out = fcgi_records(c["sBytes"])
    leg = {"recordsIn": [r["type"] for r in req], "recordsOut": [r["type"] for r in resp],
           "trailingBytes": rest_in + rest_out}
    begin = next((r for r in req if r["type"] == "BEGIN_REQUEST"), None)
    leg["role"] = int.from_bytes(begin["content"][0:2], "big") if begin else None
    leg["keepConn"] = bool(begin["content"][2] & 1) if begin else None
    leg["params"] = fcgi_params(b"".join(r["content"] for r in req if r["type"] == "PARAMS"))
    leg["stdinClosed"] = any(r["type"] == "STDIN" and not r["content"] for r in req)
    leg["stdinBytes"] = sum(r["size"] for r in req if r["type"] == "STDIN")
    stdout = b"".join(r["content"] for r in resp if r["type"] == "STDOUT")
    leg["stdoutBytes"] = len(stdout)
    leg["stderr"] = b"".join(r["content"] for r in resp if r["type"] == "STDERR").decode("latin-1")
    head = stdout.split(b"\r\n\r\n", 1)[0].decode("latin-1") if stdout else ""
    m = re.search(r"(?im)^Status:\s*(\d{3})", head)
    leg["cgiStatus"] = (int(m.group(1)) if m else 200) if stdout else None
    end = next((r for r in resp if r["type"] == "END_REQUEST"), None)
    leg["endRequest"] = None if end is None else {
        "appStatus": int.from_bytes(end["content"][0:4], "big"), "protocolStatus": end["content"][4]}
    return leg


# ---------------------------------------------------------------------------------------------- logs

def read_lines(path):
    if not os.path.exists(path):
        refuse(f"{os.path.basename(path)} missing")
        return []
    with open(path, errors="replace") as f:
        return [line.rstrip("\n") for line in f]


def load_client(work):
    reqs = []
    for line in read_lines(os.path.join(work, "client.log")):
        if line.strip():
            reqs.append(json.loads(line))
    return reqs


def load_access(work):
    out = {}
    for line in read_lines(os.path.join(work, "nginx-access.log")):
        f = line.split()
        if len(f) != 9:
            refuse(f"nginx access log line not understood: {line!r}")
            continue
        out[f[5]] = {"msec": float(f[0]), "status": int(f[1]), "requestTime": float(f[2]),
                     "upstreamResponseTime": f[3], "upstreamStatus": f[4], "uri": f[5], "remotePort": int(f[6]),
                     "connection": int(f[7]), "connectionRequests": int(f[8])}
    return out


def load_nginx_errors(work):
    errs = []
    for line in read_lines(os.path.join(work, "nginx-error.log")):
        m = re.search(r"\[(error|crit|alert|emerg|warn)\] \d+#\d+: \*(\d+) (.*?), client: .*?request: \"GET (\S+) HTTP/1\.1\"", line)
        if m:
            errs.append({"level": m.group(1), "connection": int(m.group(2)), "message": m.group(3), "uri": m.group(4)})
        elif re.search(r"\[(error|crit|alert|emerg|warn)\]", line):
            errs.append({"level": "other", "message": line, "uri": None})
    return errs


def load_fpm(work):
    kills, exits, starts, ends, other = {}, {}, {}, {}, []
    for line in read_lines(os.path.join(work, "php-fpm.log")):
        m = re.search(r"child (\d+), script '.*' \(request: \"GET (\S+)\"\) execution timed out \(([\d.]+) sec\), terminating", line)
        if m:
            kills[m.group(2)] = {"pid": int(m.group(1)), "elapsed": float(m.group(3))}
            continue
        m = re.search(r"child (\d+) exited on signal (\d+) \((\w+)\)", line)
        if m:
            exits[int(m.group(1))] = m.group(3)
            continue
        m = re.search(r"x37 (start|end) ([\d.]+) pid (\d+) uri (\S+) remote_port (\d+)", line)
        if m:
            (starts if m.group(1) == "start" else ends)[m.group(4)] = {
                "t": float(m.group(2)), "pid": int(m.group(3)), "remotePort": int(m.group(5))}
            continue
        if re.search(r"\b(ERROR|ALERT|WARNING)\b", line):
            other.append(line)
    access = {}
    for line in read_lines(os.path.join(work, "php-fpm-access.log")):
        f = line.split()
        if len(f) >= 7:
            access[f[5]] = {"status": int(f[3]), "method": f[4], "remotePort": f[6], "durationMs": float(f[2])}
    return kills, exits, starts, ends, other, access


def load_ss(work):
    """Per nginx-side port: the states and the largest Recv-Q seen on php-fpm's socket."""
    seen = {}
    path = os.path.join(work, "ss.log")
    if not os.path.exists(path):
        return seen
    for line in read_lines(path):
        f = line.split()
        if len(f) >= 5 and f[3] == ep(*FPM) and f[0] != "LISTEN":
            port = int(f[4].rsplit(":", 1)[1])
            s = seen.setdefault(port, {"states": [], "maxRecvQ": 0})
            if f[0] not in s["states"]:
                s["states"].append(f[0])
            s["maxRecvQ"] = max(s["maxRecvQ"], int(f[1]))
    return seen


# ---------------------------------------------------------------------------------------------- checks

def why_rst(how, ev):
    """Why a killed worker's socket sent RST: request bytes it never read (sampled with ss)."""
    sample = ev.get("phpFpmSocketSampled")
    if how != "RST" or not sample or sample["maxRecvQ"] < ev.get("stdinRecordBytes", 1):
        return ""
    return (f" Why RST, not FIN: php-fpm's socket held {ev['stdinRecordBytes']} unread bytes while the worker slept (ss Recv-Q "
            f"sampled up to {sample['maxRecvQ']}, {'/'.join(sample['states'])}): the request's closing empty STDIN record, which "
            "a GET script never reads; Linux resets a connection closed with unread data.")


def phase_of_uri(uri):
    for name, ph in PHASES.items():
        if uri.split("?")[0] == ph["path"]:
            return name
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--software", nargs="+", default=[])
    args = ap.parse_args()

    # --- client log
    creqs = load_client(args.work)
    for r in creqs:
        if "error" in r:
            refuse(f"client: {r['uri']} failed: {r['error']}")
    for name, ph in PHASES.items():
        mine = [r for r in creqs if r["phase"] == name]
        if len(mine) != ph["count"]:
            refuse(f"client: {len(mine)} {name} requests, expected {ph['count']}")
        for r in mine:
            if phase_of_uri(r["uri"]) != name:
                refuse(f"client: {name} request {r['uri']} to the wrong path")
            if r.get("status") != ph["status"]:
                refuse(f"client: {r['uri']} answered {r.get('status')}, expected {ph['status']}")
            if "min" in ph and not ph["min"] <= r["elapsed"] <= ph["max"]:
                refuse(f"client: {r['uri']} answered after {r['elapsed']:.3f} s, expected {ph['min']}-{ph['max']} s")
    for lane, n in LANES.items():
        mine = [r for r in creqs if r["lane"] == lane]
        ports = {r["localPort"] for r in mine}
        if len(mine) != n or len(ports) != 1:
            refuse(f"client: lane {lane}: {len(mine)} requests on ports {sorted(ports)}, expected {n} on one connection")
    by_uri = {r["uri"]: r for r in creqs}
    if len(by_uri) != len(creqs):
        refuse("client: request targets not unique")

    # --- nginx logs
    access = load_access(args.work)
    nerrs = load_nginx_errors(args.work)
    for uri, r in by_uri.items():
        a = access.get(uri)
        if a is None:
            refuse(f"nginx access log: no line for {uri}")
            continue
        if a["status"] != r.get("status") or a["upstreamStatus"] != str(r.get("status")) or a["remotePort"] != r["localPort"]:
            refuse(f"nginx access log disagrees on {uri}: {a}")
    if len(access) != len(by_uri):
        refuse(f"nginx access log: {len(access)} requests, client logged {len(by_uri)}")
    nginx_error = {}
    for e in nerrs:
        if e["uri"] is None:
            refuse(f"nginx error log: unexpected line {e['message']!r}")
            continue
        ph = phase_of_uri(e["uri"])
        if e["uri"] in nginx_error:
            refuse(f"nginx error log: two errors for {e['uri']}")
        nginx_error[e["uri"]] = e["message"]
        if ph == "read-timeout":
            if e["message"] != "upstream timed out (110: Connection timed out) while reading response header from upstream":
                refuse(f"nginx error log: {e['uri']}: {e['message']!r}, expected the read timeout")
        elif ph == "terminate":
            if e["message"] not in ("recv() failed (104: Connection reset by peer) while reading response header from upstream",
                                    "upstream prematurely closed connection while reading response header from upstream"):
                refuse(f"nginx error log: {e['uri']}: {e['message']!r}, expected the upstream failure")
        else:
            refuse(f"nginx error log: an error for {e['uri']}: {e['message']!r}")
    for uri, r in by_uri.items():
        if r["phase"] != "healthy" and uri not in nginx_error:
            refuse(f"nginx error log: nothing for {uri}")

    # --- php-fpm logs
    kills, exits, starts, ends, fpm_other, fpm_access = load_fpm(args.work)
    ss = load_ss(args.work)
    for uri, r in by_uri.items():
        if r["phase"] == "healthy":
            a = fpm_access.get(uri)
            if a is None or a["status"] != 200 or a["remotePort"] != str(r["localPort"]):
                refuse(f"php-fpm access log: {uri}: {a}")
            continue
        k = kills.get(uri)
        if k is None:
            refuse(f"php-fpm log: no 'execution timed out ... terminating' for {uri}")
            continue
        if not TERMINATE_TIMEOUT <= k["elapsed"] <= TERMINATE_TIMEOUT + HEARTBEAT + 0.1:
            refuse(f"php-fpm log: {uri} killed after {k['elapsed']} s, expected {TERMINATE_TIMEOUT}-{TERMINATE_TIMEOUT + HEARTBEAT} s")
        if exits.get(k["pid"]) != "SIGTERM":
            refuse(f"php-fpm log: child {k['pid']} ({uri}) did not exit on SIGTERM: {exits.get(k['pid'])}")
        s = starts.get(uri)
        if s is None or s["pid"] != k["pid"] or s["remotePort"] != r["localPort"]:
            refuse(f"php-fpm log: {uri}: the worker's start line {s} does not match the kill {k} / client port {r['localPort']}")
        if uri in ends:
            refuse(f"php-fpm log: {uri}: the worker finished its sleep before php-fpm killed it (a race of sleep(4) with the "
                   "1 s heartbeat of request_terminate_timeout: rerun)")
    for uri in kills:
        if uri not in by_uri:
            refuse(f"php-fpm log: killed a request nobody sent: {uri}")
    for line in fpm_other:
        if "execution timed out" not in line and "exited on signal" not in line:
            refuse(f"php-fpm log: unexpected {line!r}")

    # --- capture
    packets = read_packets(args.capture)
    conns = connections(packets)
    t_cap0 = packets[0]["t"] if packets else 0.0
    client_legs = [c for c in conns if c["server"] == ep(*NGINX)]
    fcgi_legs = [c for c in conns if c["server"] == ep(*FPM)]
    for c in conns:
        if c not in client_legs and c not in fcgi_legs:
            refuse(f"capture: stray connection {c['client']} -> {c['server']}")
        if not c["syn"]:
            refuse(f"capture: {c['client']} -> {c['server']} without its SYN")
    if len(client_legs) != 7 or len(fcgi_legs) != 14:
        refuse(f"capture: {len(client_legs)} client legs and {len(fcgi_legs)} FastCGI legs, expected 7 and 14")

    port_to_leg = {}
    for c in client_legs:
        ip, port = c["client"].rsplit(":", 1)
        if ip != CLIENT_IP:
            refuse(f"capture: client leg from {c['client']}")
        port_to_leg[int(port)] = c
    fcgi_by_uri = {}
    for c in fcgi_legs:
        c["fcgi"] = leg = fcgi_leg(c)
        uri = leg["params"].get("REQUEST_URI")
        if c["client"].rsplit(":", 1)[0] != NGINX[0]:
            refuse(f"capture: FastCGI leg from {c['client']}, expected nginx's {NGINX[0]} (fastcgi_bind)")
        if uri is None or uri in fcgi_by_uri:
            refuse(f"capture: FastCGI leg {c['client']}: REQUEST_URI {uri!r} missing or repeated")
            continue
        fcgi_by_uri[uri] = c
        if leg["keepConn"] is not False or leg["role"] != 1:
            refuse(f"capture: FastCGI leg {c['client']}: role {leg['role']}, FCGI_KEEP_CONN {leg['keepConn']} (expected responder, off)")
        if not leg["stdinClosed"]:
            refuse(f"capture: FastCGI leg {c['client']}: the empty STDIN record (end of request) missing")
        if leg["trailingBytes"]:
            refuse(f"capture: FastCGI leg {c['client']}: {leg['trailingBytes']} bytes that are no whole FastCGI record")

    expect, timing = [], {"healthy": [], "read-timeout": [], "terminate": []}
    truth_of = {}          # stream -> (category, notes, evidence)
    client_leg_reqs = {}   # stream -> [client requests]
    for uri, r in by_uri.items():
        cl = port_to_leg.get(r["localPort"])
        if cl is None:
            refuse(f"capture: no client leg from port {r['localPort']} ({uri})")
            continue
        client_leg_reqs.setdefault(cl["stream"], []).append(r)
        fc = fcgi_by_uri.get(uri)
        if fc is None:
            refuse(f"capture: no FastCGI leg carrying {uri}")
            continue
        leg = fc["fcgi"]
        if leg["params"].get("REMOTE_PORT") != str(r["localPort"]):
            refuse(f"capture: FastCGI leg for {uri} names REMOTE_PORT {leg['params'].get('REMOTE_PORT')}, client used {r['localPort']}")
        # The request on the client leg (the frame carrying its target) and its response.
        reqp = next((p for p in cl["pkts"] if uri in p["uris"]), None)
        if reqp is None:
            refuse(f"capture: {uri} not on the client leg {cl['client']}")
            continue
        resp = next((p for p in cl["pkts"] if p["src"] == cl["server"] and p["frame"] > reqp["frame"] and p["codes"]), None)
        status = resp["codes"][0] if resp else None
        first_byte = next((p for p in cl["sData"] if p["frame"] > reqp["frame"]), None)
        if status != r["status"]:
            refuse(f"capture: {uri} answered {status} on the wire, the client logged {r['status']}")
        t_req = reqp["t"]
        t_resp = first_byte["t"] if first_byte else None
        freq = fc["cData"][0] if fc["cData"] else None
        if freq is None:
            refuse(f"capture: FastCGI leg for {uri} carried no request bytes")
            continue
        ngx_close, ngx_how = first_close(fc, "c")
        fpm_close, fpm_how = first_close(fc, "s")
        ev = OrderedDict([("uri", uri), ("clientLeg", cl["client"]), ("fastcgiLeg", fc["client"]),
                          ("clientRequestAt", r3(reqp["rel"])), ("status", status),
                          ("responseAfterSeconds", r3(t_resp - t_req) if t_resp else None),
                          ("fastcgiRequestAt", r3(freq["rel"])),
                          ("fastcgiRecordsToPhp", leg["recordsIn"]), ("fastcgiRecordsFromPhp", leg["recordsOut"]),
                          ("nginxClosedFastcgiWith", ngx_how),
                          ("nginxClosedFastcgiAfterSeconds", r3(ngx_close["t"] - freq["t"]) if ngx_close else None),
                          ("phpFpmClosedFastcgiWith", fpm_how),
                          ("phpFpmClosedFastcgiAfterSeconds", r3(fpm_close["t"] - freq["t"]) if fpm_close else None)])
        ph = r["phase"]
        a = access.get(uri, {})
        if ph != "healthy":
            ev["stdinRecordBytes"] = leg["stdinBytes"]
            sample = ss.get(int(fc["client"].rsplit(":", 1)[1]))
            ev["phpFpmSocketSampled"] = sample
        if ph == "healthy":
            if leg["cgiStatus"] != 200 or leg["endRequest"] != {"appStatus": 0, "protocolStatus": 0}:
                refuse(f"capture: healthy FastCGI leg {fc['client']} ({uri}): STDOUT status {leg['cgiStatus']}, END_REQUEST {leg['endRequest']}")
            if fpm_how != "FIN" or ngx_how != "FIN" or fpm_close["frame"] > ngx_close["frame"]:
                refuse(f"capture: healthy FastCGI leg {fc['client']} ({uri}) not closed with FIN by php-fpm first ({fpm_how}/{ngx_how})")
            timing["healthy"].append(t_resp - t_req if t_resp else None)
            fnote = (f"FastCGI leg of GET {uri} (client leg {cl['client']}): BEGIN_REQUEST (keep_conn off), PARAMS, empty STDIN; "
                     f"php-fpm answered STDOUT (Status 200) + END_REQUEST {r3(fpm_close['t'] - freq['t'] if fpm_close else 0)} s "
                     "later and closed first (FIN), nginx FIN after; php-fpm access log: 200. Clean.")
            truth_of[fc["stream"]] = ("healthy-fastcgi-leg", fnote, ev)
        elif ph == "read-timeout":
            k = kills.get(uri, {})
            if fc["sData"]:
                refuse(f"capture: read-timeout FastCGI leg {fc['client']} ({uri}): php-fpm sent {len(fc['sBytes'])} bytes")
            if ngx_how != "FIN" or not PHASES[ph]["min"] <= ngx_close["t"] - freq["t"] <= PHASES[ph]["max"]:
                refuse(f"capture: read-timeout FastCGI leg {fc['client']} ({uri}): nginx closed {ngx_how} "
                       f"{r3(ngx_close['t'] - freq['t']) if ngx_close else None} s after the request, expected FIN after ~{READ_TIMEOUT} s")
            elif t_resp is None or abs(t_resp - ngx_close["t"]) > NEAR:
                refuse(f"capture: {uri}: 504 on the client leg not at nginx's FIN on the FastCGI leg")
            if fpm_close is None or (ngx_close and fpm_close["frame"] < ngx_close["frame"]):
                refuse(f"capture: read-timeout FastCGI leg {fc['client']} ({uri}): php-fpm did not close after nginx ({fpm_how})")
            elif k and abs((fpm_close["t"] - freq["t"]) - k["elapsed"]) > KILL_NEAR:
                refuse(f"capture: {uri}: php-fpm closed {r3(fpm_close['t'] - freq['t'])} s after the request, its log says killed after {k['elapsed']} s")
            timing["read-timeout"].append({"uri": uri, "status504AfterSeconds": r3(t_resp - t_req) if t_resp else None,
                                           "nginxFinAfterSeconds": ev["nginxClosedFastcgiAfterSeconds"],
                                           "phpFpmClose": fpm_how, "phpFpmCloseAfterSeconds": ev["phpFpmClosedFastcgiAfterSeconds"],
                                           "phpFpmLoggedKillAfterSeconds": k.get("elapsed")})
            ev["phpFpmLoggedKillAfterSeconds"] = k.get("elapsed")
            ev["nginxError"] = nginx_error.get(uri)
            fnote = (f"FastCGI leg of GET {uri} (client leg {cl['client']}): the request was delivered and ACKed, php-fpm sent "
                     f"nothing (the script sleeps 4 s); nginx closed it with FIN {ev['nginxClosedFastcgiAfterSeconds']} s after the "
                     f"request (fastcgi_read_timeout 2s; error log: 'upstream timed out (110: Connection timed out) while reading "
                     f"response header from upstream') and answered 504 on the client leg; php-fpm killed the still sleeping worker "
                     f"(pid {k.get('pid')}) 'execution timed out ({k.get('elapsed')} sec), terminating' (request_terminate_timeout 3s, "
                     f"checked on a 1 s heartbeat) and its side of the half-closed connection ended with {fpm_how} "
                     f"{ev['phpFpmClosedFastcgiAfterSeconds']} s after the request, no byte of a response." + why_rst(fpm_how, ev))
            truth_of[fc["stream"]] = ("read-timeout-fastcgi-leg", fnote, ev)
        else:
            k = kills.get(uri, {})
            if fc["sData"]:
                refuse(f"capture: terminated FastCGI leg {fc['client']} ({uri}): php-fpm sent {len(fc['sBytes'])} bytes")
            if fpm_close is None or not PHASES[ph]["min"] <= fpm_close["t"] - freq["t"] <= PHASES[ph]["max"] \
                    or (ngx_close and ngx_close["frame"] < fpm_close["frame"]):
                refuse(f"capture: terminated FastCGI leg {fc['client']} ({uri}): php-fpm closed {fpm_how} "
                       f"{r3(fpm_close['t'] - freq['t']) if fpm_close else None} s after the request; nginx {ngx_how}")
            else:
                if k and abs((fpm_close["t"] - freq["t"]) - k["elapsed"]) > KILL_NEAR:
                    refuse(f"capture: {uri}: php-fpm closed {r3(fpm_close['t'] - freq['t'])} s after the request, its log says killed after {k['elapsed']} s")
                if t_resp is None or not 0 <= t_resp - fpm_close["t"] <= NEAR:
                    refuse(f"capture: {uri}: the 502 on the client leg not right after php-fpm's {fpm_how}")
            timing["terminate"].append({"uri": uri, "status502AfterSeconds": r3(t_resp - t_req) if t_resp else None,
                                        "phpFpmClose": fpm_how, "phpFpmCloseAfterSeconds": ev["phpFpmClosedFastcgiAfterSeconds"],
                                        "phpFpmLoggedKillAfterSeconds": k.get("elapsed"),
                                        "nginxCloseAfterPhpFpm": ngx_how})
            ev["phpFpmLoggedKillAfterSeconds"] = k.get("elapsed")
            ev["nginxError"] = nginx_error.get(uri)
            fnote = (f"FastCGI leg of GET {uri} (client leg {cl['client']}): the request was delivered and ACKed, php-fpm sent "
                     f"nothing; php-fpm's master killed the worker (pid {k.get('pid')}, SIGTERM) 'execution timed out "
                     f"({k.get('elapsed')} sec), terminating' (request_terminate_timeout 3s, 1 s heartbeat) and the connection ended "
                     f"with {fpm_how} from php-fpm {ev['phpFpmClosedFastcgiAfterSeconds']} s after the request"
                     + (f", nginx answering with {ngx_how}" if ngx_how else ", nothing more from nginx")
                     + f"; nginx logged '{nginx_error.get(uri)}' and answered 502 on the client leg." + why_rst(fpm_how, ev))
            truth_of[fc["stream"]] = ("terminated-fastcgi-leg", fnote, ev)
        r["_ev"] = ev
        r["_access"] = a

    # Client legs: one category per leg (a kept-alive healthy lane carries 6 or 3 requests).
    for stream, reqs in client_leg_reqs.items():
        cl = next(c for c in client_legs if c["stream"] == stream)
        phases = {r["phase"] for r in reqs}
        if len(phases) != 1:
            refuse(f"capture: client leg {cl['client']} carries requests of phases {sorted(phases)}")
            continue
        ph = phases.pop()
        c_close, c_how = first_close(cl, "c")
        s_close, s_how = first_close(cl, "s")
        if c_how != "FIN" or (s_close and s_close["frame"] < c_close["frame"]) or cl["cRst"] or cl["sRst"]:
            refuse(f"capture: client leg {cl['client']} not closed by the client first with FIN ({c_how}/{s_how})")
        wire = [(u, p) for p in cl["pkts"] for u in p["uris"]]
        if [u for u, _ in wire] != [r["uri"] for r in reqs]:
            refuse(f"capture: client leg {cl['client']} carries {[u for u, _ in wire]}, the client logged {[r['uri'] for r in reqs]}")
        if ph == "healthy":
            lane = reqs[0]["lane"]
            times = [r["_ev"]["responseAfterSeconds"] for r in reqs if "_ev" in r]
            note = (f"lane {lane}: {len(reqs)} GETs of /fast.php ({', '.join(r['uri'] for r in reqs)}) 0.3 s apart on one kept-alive "
                    f"connection (Python http.client), all answered 200 in {min(times) * 1000:.1f}-{max(times) * 1000:.1f} ms, each through "
                    f"its own FastCGI connection; the client closed (FIN) after the last. Clean.")
            truth_of[stream] = ("healthy-client-leg", note, OrderedDict([("requests", len(reqs)), ("statuses", [200] * len(reqs)),
                                                                        ("fastcgiLegs", [r["_ev"]["fastcgiLeg"] for r in reqs if "_ev" in r])]))
        else:
            r = reqs[0]
            ev = r.get("_ev", {})
            code = PHASES[ph]["status"]
            if ph == "read-timeout":
                note = (f"GET {r['uri']} (one of 3 at once): nginx answered 504 Gateway Time-out {ev.get('responseAfterSeconds')} s after "
                        f"the request (fastcgi_read_timeout 2s on location /slow/; access log: 504, request_time "
                        f"{r['_access'].get('requestTime')}); its FastCGI leg {ev.get('fastcgiLeg')} got no response and nginx closed it "
                        f"(FIN) at the same moment. The client (timeout 10 s) read the 504 and closed (FIN).")
                cat = "read-timeout-client-leg"
            else:
                note = (f"GET {r['uri']}: php-fpm killed the worker at its request_terminate_timeout (3s, logged "
                        f"{ev.get('phpFpmLoggedKillAfterSeconds')} s), its FastCGI leg {ev.get('fastcgiLeg')} ended with "
                        f"{ev.get('phpFpmClosedFastcgiWith')} and no response, and nginx (default 60 s read timeout on /kill/) answered "
                        f"502 Bad Gateway {ev.get('responseAfterSeconds')} s after the request (error log: '{ev.get('nginxError')}'). "
                        f"The client (timeout 10 s) read the 502 and closed (FIN).")
                cat = "terminated-client-leg"
            truth_of[stream] = (cat, note, OrderedDict([("uri", r["uri"]), ("status", code),
                                                        ("delaySeconds", ev.get("responseAfterSeconds")),
                                                        ("fastcgiLeg", ev.get("fastcgiLeg"))]))

    for c in conns:
        if c["stream"] not in truth_of:
            refuse(f"capture: connection {c['client']} -> {c['server']} has no ground truth")

    if problems:
        print(f"x37-meta: {args.capture} does not show the fastcgi-php-fpm scenario:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        sys.exit(1)

    for c in conns:
        cat, note, ev = truth_of[c["stream"]]
        e = OrderedDict([("kind", EXPECTED_KIND[cat]), ("client", c["client"]), ("server", c["server"]),
                         ("notes", note), ("truth", cat), ("evidence", ev)])
        expect.append(e)

    rt, tm = timing["read-timeout"], timing["terminate"]
    hz = [x for x in timing["healthy"] if x is not None]
    counts = OrderedDict()
    for e in expect:
        counts[e["truth"]] = counts.get(e["truth"], 0) + 1
    kill_closes = sorted({x["phpFpmClose"] for x in tm})
    rt_closes = sorted({x["phpFpmClose"] for x in rt})
    t_rt = min(by_uri[x["uri"]]["tStart"] for x in rt) - t_cap0
    t_tm = min(by_uri[x["uri"]]["tStart"] for x in tm) - t_cap0
    facts = OrderedDict([
        ("captureFile", f"{SCENARIO}.pcap"),
        ("packets", len(packets)),
        ("durationSeconds", r3(packets[-1]["t"] - t_cap0)),
        ("connections", len(conns)),
        ("clientLegs", len(client_legs)),
        ("fastcgiLegs", len(fcgi_legs)),
        ("connectionsByTruth", counts),
        ("tcpAnalysisFlaggedPackets", sum(c["analysisFlagged"] for c in conns)),
        ("settingsNotAsserted", "php-fpm request_terminate_timeout = 3s (requestTerminateTimeout 3.0 s), checked on a "
                                "heartbeat of timeout/3 = 1 s, so a request is killed 3-4 s after it started: no single value "
                                "to infer; pm = static, pm.max_children = 4; fastcgi_keep_conn off. nginx's fastcgi_read_timeout "
                                "2s on /slow/ is under `configured` (proxyReadTimeout); its default 60s elsewhere."),
        ("phases", OrderedDict([
            ("healthy", OrderedDict([("requests", len(hz)), ("status", 200),
                                     ("responseMs", [round(min(hz) * 1000, 1), round(max(hz) * 1000, 1)]),
                                     ("fastcgiClose", "php-fpm FIN first after END_REQUEST, then nginx FIN")])),
            ("readTimeout", OrderedDict([("startsAtSeconds", r3(t_rt)), ("requests", rt),
                                         ("nginxClosesFastcgiWith", "FIN (close() at fastcgi_read_timeout, no RST)"),
                                         ("phpFpmEndsHalfClosedFastcgiWith", rt_closes)])),
            ("terminate", OrderedDict([("startsAtSeconds", r3(t_tm)), ("requests", tm),
                                       ("phpFpmEndsKilledFastcgiWith", kill_closes),
                                       ("nginxErrors", sorted({nginx_error[x['uri']] for x in tm}))])),
        ])),
        ("phpFpmKills", len(kills)),
        ("readTimeoutKillMarginSeconds", r3(min(4.0 - x["phpFpmLoggedKillAfterSeconds"] for x in rt))),
        ("readTimeoutKillMarginNote", "php-fpm killed the /slow/ workers this long before their sleep(4) would have ended "
                                      "(the kill comes on the first 1 s heartbeat after 3 s, so 3-4 s after the request; a "
                                      "worker that wins the race writes its answer into the connection nginx closed, which "
                                      "x37-meta.py refuses: rerun)."),
        ("phpFpmSocketWhileSleeping", OrderedDict(
            (e["client"], e["evidence"].get("phpFpmSocketSampled")) for e in expect if "phpFpmSocketSampled" in e["evidence"])),
        ("whyRst", "Each killed worker's socket held the request's closing empty STDIN record (8 bytes, never read by a "
                   "GET script: ss Recv-Q 8, 9 in CLOSE-WAIT counting nginx's FIN), so the kernel's close at the worker's "
                   "death sends RST instead of FIN."),
        ("expectedKindByTruth", EXPECTED_KIND),
    ])
    desc = (
        "FastCGI over TCP: nginx 1.22 (127.0.0.2:8080) in front of a php-fpm 8.2 pool listening on TCP 127.0.0.3:9000 "
        "(pm = static, pm.max_children = 4, request_terminate_timeout = 3s, catch_workers_output = yes); nginx connects from "
        "127.0.0.2 (fastcgi_bind) with one FastCGI connection per request (fastcgi_keep_conn off: BEGIN_REQUEST without "
        "FCGI_KEEP_CONN, php-fpm closes after END_REQUEST). Client: Python http.client from 127.0.0.1. Both legs on one "
        "namespace's loopback. (1) healthy: 6 GETs of /fast.php 0.3 s apart on one kept-alive connection and 3 on another, "
        "all 200. (2) read timeout: 3 GETs of /slow/sleep.php?s=4 at once; location /slow/ has fastcgi_read_timeout 2s: "
        f"nginx closes each FastCGI connection with FIN and answers 504 after {min(x['status504AfterSeconds'] for x in rt)}-"
        f"{max(x['status504AfterSeconds'] for x in rt)} s; php-fpm, whose request_terminate_timeout (3s) is checked on a 1 s "
        "heartbeat, then kills the still sleeping workers ('execution timed out ... terminating') and their half-closed "
        f"FastCGI connections end with {'/'.join(rt_closes)} from php-fpm. (3) terminate: 2 GETs of /kill/sleep.php?s=8 one "
        "after the other (nginx's default 60 s read timeout there): php-fpm kills the worker "
        f"{r3(min(x['phpFpmLoggedKillAfterSeconds'] for x in tm))}-{r3(max(x['phpFpmLoggedKillAfterSeconds'] for x in tm))} s after "
        f"the request, the FastCGI connection ends with {'/'.join(kill_closes)} from php-fpm and no response, and nginx "
        "answers 502 Bad Gateway. nginx's fastcgi_read_timeout (2 s on /slow/) is under `configured` as proxyReadTimeout; "
        "request_terminate_timeout 3.0 s is not (killed on a 1 s heartbeat). Ground truth from nginx's access and error logs, php-fpm's log and access log and "
        "the client's log (programs/x37-meta.py).")
    meta = OrderedDict([("scenario", SCENARIO), ("description", desc), ("software", args.software),
                        ("configured", OrderedDict([("proxyReadTimeout", READ_TIMEOUT)])), ("expect", expect), ("silent", False), ("facts", facts)])
    with open(args.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    print(f"x37-meta: {args.meta} written ({len(conns)} connections: {dict(counts)})")


if __name__ == "__main__":
    main()
