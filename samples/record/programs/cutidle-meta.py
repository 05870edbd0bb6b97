#!/usr/bin/env python3
"""Check response-truncated-keepalive-idle-apache against Apache's, nginx's and the clients' logs and
write its meta.json.

Usage: cutidle-meta.py SCENARIO --capture FILE --meta OUT --apache-error-log F --apache-access-log F
                       --nginx-error-log F --client-log F [--software S ...]

The capture is rebuilt with b-meta.py's tshark reader. Apache's error log must hold one AH00574 per
cut CGI response, logged at the moment its body stopped (within 50 ms of the last byte on the wire),
and the FIN must come one KeepAliveTimeout (2 s) later, as the FINs of the connections Apache closed
idle after a whole response; nginx must log one "upstream timed out" and close its cut 3 s
(proxy_read_timeout) after the last byte, while its own idle closes come at 2 s. Any failing check
prints why and exits 1 without writing the meta.
"""
import argparse
import datetime
import importlib.util
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("b_meta", os.path.join(HERE, "b-meta.py"))
bm = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bm)
check = bm.check

APACHE, NGINX = 8080, 8081
KEEPALIVE, READ_TIMEOUT = 2.0, 3.0
SLACK = 0.1


def capture_epoch(capture):
    out = subprocess.run(["tshark", "-r", capture, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"],
                         check=True, capture_output=True, text=True).stdout.strip()
    return float(out)


def apache_errors(path, code):
    """(epoch seconds, client port) of each Apache error-log line with `code`."""
    out = []
    for line in open(path):
        if code not in line:
            continue
        m = re.match(r"\[\w{3} (\w{3} \d+ [\d:]+\.\d+ \d{4})\]", line)
        c = re.search(r"\[client [\d.]+:(\d+)\]", line)
        check(m and c, f"error log line not understood: {line.strip()}")
        t = datetime.datetime.strptime(m.group(1), "%b %d %H:%M:%S.%f %Y").replace(tzinfo=datetime.timezone.utc)
        out.append((t.timestamp(), int(c.group(1))))
    return out


def last_server_data(c, before):
    data = [p for p in c.packets if not p[1] and p[5] > 0 and p[0] <= before]
    return data[-1][0] if data else None


def idle_closes(conns, port, cut_ports):
    """Silence before the FIN of each connection the server closed idle after a whole response."""
    gaps = []
    for c in conns:
        if c.server[1] != port or not c.responses or c.client[1] in cut_ports:
            continue
        fin = c.first_fin(False)
        cfin = c.first_fin(True)
        if fin is None or (cfin is not None and cfin[0] < fin[0]):
            continue
        if c.requests and c.requests[-1]["t"] > c.responses[-1]["t"]:
            continue  # a request outstanding or cut: not an idle close
        gaps.append(fin[0] - last_server_data(c, fin[0]))
    return gaps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario")
    ap.add_argument("--capture", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--apache-error-log", required=True)
    ap.add_argument("--apache-access-log", required=True)
    ap.add_argument("--nginx-error-log", required=True)
    ap.add_argument("--client-log", required=True)
    ap.add_argument("--software", nargs="*", default=[])
    a = ap.parse_args()
    try:
        conns = bm.load(a.capture, [APACHE, NGINX])
        epoch = capture_epoch(a.capture)
        first = min(p[0] for c in conns for p in c.packets)
        clients = bm.read_log(a.client_log)
        cgi = [r for r in clients if r["port"] == APACHE and r["uri"] == "/cgi-bin/early-exit.sh"]
        check(len(cgi) == 2 and all(r.get("error") == "IncompleteRead" for r in cgi),
              f"the two CGI POSTs did not both end in IncompleteRead: {cgi}")
        ah = apache_errors(a.apache_error_log, "AH00574")
        check(sorted(p for _, p in ah) == sorted(r["clientPort"] for r in cgi), f"AH00574 client ports {ah} are not the cut POSTs' {cgi}")
        access = [l for l in open(a.apache_access_log) if "early-exit.sh" in l]
        check(len(access) == 2 and all('" 200 ' in l for l in access), f"access log: {access}")
        cuts = []
        for t_err, port in ah:
            found = [x for x in conns if x.client[1] == port]
            check(len(found) == 1, f"{len(found)} connections from client port {port}")
            c = found[0]
            post = [r for r in c.requests if r["method"] == "POST"]
            check(len(post) == 1, f"{c.cid}: {len(post)} POSTs")
            resp = [r for r in c.responses if r["t"] >= post[0]["t"]]
            check(len(resp) == 1 and resp[0]["status"] == 200 and resp[0]["headers"].get("transfer-encoding") == "chunked",
                  f"{c.cid}: the POST's response is not one chunked 200")
            fin = c.first_fin(False)
            cfin = c.first_fin(True)
            check(fin is not None and (cfin is None or cfin[0] > fin[0]), f"{c.cid}: Apache did not close first")
            last = last_server_data(c, fin[0])
            silence = fin[0] - last
            # The idle timer starts once Apache has finished the failed response, a moment after the last byte.
            check(KEEPALIVE - 0.01 <= silence <= KEEPALIVE + SLACK, f"{c.cid}: FIN {silence:.3f} s after the last byte, not KeepAliveTimeout {KEEPALIVE}")
            logged_after_last = t_err - (epoch + last - first)
            check(-0.01 <= logged_after_last <= SLACK, f"{c.cid}: AH00574 logged {logged_after_last:.3f} s from the last byte")
            cuts.append({"client": c.cid, "reused": len(c.requests) > 1, "lastByteAt": bm.r3(last), "finAt": bm.r3(fin[0]),
                         "silenceBeforeFin": bm.r3(silence), "ah00574AfterLastByte": bm.r3(logged_after_last)})
        apache_idle = idle_closes(conns, APACHE, {p for _, p in ah})
        check(len(apache_idle) == 2 and all(abs(g - KEEPALIVE) <= SLACK for g in apache_idle), f"Apache idle closes {apache_idle}")
        check(any(x["reused"] for x in cuts) and not all(x["reused"] for x in cuts), "want one cut on a reused connection, one on a fresh one")
        timed_out = [l for l in open(a.nginx_error_log) if "upstream timed out" in l]
        check(len(timed_out) == 1, f"nginx logged {len(timed_out)} upstream timeouts")
        stall = [r for r in clients if r["port"] == NGINX and r["uri"] == "/stall"]
        check(len(stall) == 1 and stall[0].get("error") == "IncompleteRead", f"/stall: {stall}")
        sc = [x for x in conns if x.client[1] == stall[0]["clientPort"]][0]
        sfin = sc.first_fin(False)
        check(sfin is not None, f"{sc.cid}: nginx did not close")
        ssilence = sfin[0] - last_server_data(sc, sfin[0])
        check(abs(ssilence - READ_TIMEOUT) <= SLACK, f"{sc.cid}: FIN {ssilence:.3f} s after the last byte, not proxy_read_timeout {READ_TIMEOUT}")
        nginx_idle = idle_closes(conns, NGINX, {stall[0]["clientPort"]})
        check(len(nginx_idle) == 2 and all(abs(g - KEEPALIVE) <= SLACK for g in nginx_idle), f"nginx idle closes {nginx_idle}")
    except bm.CheckFailed as e:
        print(f"cutidle-meta: {e}", file=sys.stderr)
        sys.exit(1)
    apache = bm.endpoint_name("127.0.0.1", APACHE)
    nginx = bm.endpoint_name("127.0.0.1", NGINX)
    meta = {
        "scenario": a.scenario,
        "description": (
            "Apache 2.4 (event MPM, mod_cgid, KeepAliveTimeout 2, Timeout 10) on 127.0.0.1:8080: a CGI script that exits without reading "
            "the POST body it was sent has its output reset (AH00574, logged when the body stops); Apache ends the chunked 200 without its "
            "last chunk, takes it for finished and closes the connection one KeepAliveTimeout (2 s) later, as it closes two other idle "
            "connections. Two such cuts (a reused connection and a fresh one): no timer cut them; the diagnosis must say the server "
            "stopped at the last byte and idled the connection, and send the reader to the error log at the cut, not to ProxyTimeout. "
            "Near miss in the same capture: nginx (127.0.0.1:8081, keepalive_timeout 2s, two idle closes) whose proxy_read_timeout 3s "
            "cuts a stalled backend's body 3 s after its last byte: a real stall timer, not the keep-alive one."
        ),
        "software": a.software,
        "configured": {
            "serverIdleTimeout": {"value": KEEPALIVE, "server": apache},
            "apacheTimeout": 10.0,
            "nginxProxyReadTimeout": READ_TIMEOUT,
        },
        "observed": {
            "apacheCuts": cuts,
            "apacheIdleCloses": [bm.r3(g) for g in sorted(apache_idle)],
            "nginxStallSilenceBeforeFin": bm.r3(ssilence),
            "nginxIdleCloses": [bm.r3(g) for g in sorted(nginx_idle)],
            "nginxUpstreamTimedOut": 1,
            "clients": {"cgi": [r.get("error") for r in cgi], "stall": stall[0].get("error")},
        },
        "silent": False,
        "facts": {"keepAliveCuts": len(cuts), "stallCuts": 1, "apacheKeepAliveTimeout": KEEPALIVE, "nginxKeepAliveTimeout": KEEPALIVE},
        "expect": [
            {"kind": "response-truncated", "client": x["client"], "server": apache,
             "notes": "the CGI's output was reset (AH00574 at the last byte); the FIN came one KeepAliveTimeout later: closed at the keep-alive timer, no stall timer"}
            for x in cuts
        ] + [
            {"kind": "response-truncated", "client": sc.cid, "server": nginx,
             "notes": "nginx proxy_read_timeout 3s cut a stalled backend's body: a stall timer, 3 s against its 2 s idle closes (near miss: not the keep-alive timer)"},
        ],
    }
    with open(a.meta, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
