"""Meta for tls-handshake-failed-mtls13: reads the capture's TLS record headers (tshark) per
connection, checks each lane against what its client and server logged, and writes the meta; refuses
(exit 1) when the capture and the logs disagree with the scenario.

A rejection lane must show: the client's second flight (an empty Certificate of 25 bytes, or a
Certificate and CertificateVerify, then the Finished), the server's next record a 19-byte
application-data record within 0.1 s, the server's FIN right after it, the client's error naming the
alert, and the server's log naming the cause. A near-miss lane must show what makes it healthy."""
import argparse
import json
import subprocess
import sys
from collections import defaultdict

p = argparse.ArgumentParser()
for name in ["capture", "meta", "curl-log", "py-log", "go-log", "s-server-log", "go-server-log", "nginx-error-log", "nginx-access-log"]:
    p.add_argument("--" + name, required=True)
p.add_argument("--software", action="append", default=[])
a = p.parse_args()

SERVERS = {4433: "openssl s_server -Verify 1", 5443: "Go RequireAndVerifyClientCert", 6443: "Go, no tickets, ReadTimeout 1.5 s", 8443: "nginx ssl_verify_client on"}
# The record headers, read from the TCP payloads (each direction in order: one loopback, no loss);
# a record is placed at the frame where its last byte came.
out = subprocess.run(
    ["tshark", "-r", a.capture, "-T", "fields", "-E", "separator=|", "-e", "frame.number", "-e", "frame.time_epoch", "-e", "tcp.srcport",
     "-e", "tcp.dstport", "-e", "tcp.flags.fin", "-e", "tcp.flags.reset", "-e", "tcp.payload"],
    check=True, capture_output=True, text=True).stdout
conns = defaultdict(lambda: {"records": [], "fin": {}, "rst": {}, "buf": {"c": b"", "s": b""}})
for line in out.splitlines():
    frame, ts, sport, dport, fin, rst, payload = line.split("|")
    sport, dport = int(sport), int(dport)
    client, server = (sport, dport) if dport in SERVERS else (dport, sport)
    side = "c" if sport == client else "s"
    c = conns[(client, server)]
    buf = c["buf"][side] + bytes.fromhex(payload.replace(":", ""))
    while len(buf) >= 5 and len(buf) >= 5 + int.from_bytes(buf[3:5], "big"):
        n = int.from_bytes(buf[3:5], "big")
        c["records"].append((side, buf[0], n, int(frame), float(ts), buf[5:7] if buf[0] == 21 and n == 2 else b""))
        buf = buf[5 + n:]
    c["buf"][side] = buf
    if fin in ("1", "True") and side not in c["fin"]:
        c["fin"][side] = (int(frame), float(ts))
    if rst in ("1", "True") and side not in c["rst"]:
        c["rst"][side] = (int(frame), float(ts))

def flight(c):
    """The client's second flight (its application-data records before any later server record) and the server's next record."""
    recs = c["records"]
    first_server_app = next(i for i, r in enumerate(recs) if r[0] == "s" and r[1] == 23)
    rest = recs[first_server_app:]
    client = []
    after = None
    seen_client = False
    for r in rest:
        if r[0] == "c" and r[1] == 23:
            client.append(r)
            seen_client = True
        elif r[0] == "s" and seen_client:
            after = r
            break
    return client, after

logs = {}
for line in open(a.curl_log):
    lane, port, _tool, rc, said = line.rstrip("\n").split("\t", 4)
    logs[int(port)] = {"lane": lane, "client": "curl", "exit": int(rc), "said": said}
for line in open(a.py_log):
    lane, port, status, said = line.rstrip("\n").split("\t", 3)
    logs[int(port)] = {"lane": lane, "client": "python ssl", "status": status, "said": said}
for line in open(a.go_log):
    lane, port, status, said = line.rstrip("\n").split("\t", 3)
    logs[int(port)] = {"lane": lane, "client": "go net/http", "status": status, "said": said}

s_server_log = open(a.s_server_log).read()
go_server_log = open(a.go_server_log).read()
nginx_error = [l.split("] ", 1)[-1] for l in open(a.nginx_error_log) if "[info]" in l and "SSL" in l]
nginx_access = [l.strip() for l in open(a.nginx_access_log)]

# lane -> (server port, expected outcome, expected flight: 'none' / 'sent' / None, client error words)
LANES = {
    43001: (4433, "reject", "none", "tlsv13 alert certificate required"),
    43002: (4433, "reject", "none", "tlsv13 alert certificate required"),
    43003: (4433, "reject", "none", "TLSV13_ALERT_CERTIFICATE_REQUIRED"),
    43011: (4433, "reject", "sent", "tlsv1 alert unknown ca"),
    # curl against Go: its request write may meet the server's close first (a RST): exit 55 or 16.
    43021: (5443, "reject", "none", ("sslv3 alert bad certificate", "getpeername() failed", "Connection reset by peer")),
    43022: (5443, "reject", "none", "remote error: tls: bad certificate"),
    43023: (5443, "reject", "none", "remote error: tls: bad certificate"),
    43031: (5443, "reject", "sent", ("sslv3 alert bad certificate", "getpeername() failed", "Connection reset by peer")),
    43071: (4433, "alert12", 40, "sslv3 alert handshake failure"),
    43081: (5443, "alert12", 42, "sslv3 alert bad certificate"),
    43041: (4433, "tickets", "sent", "200"),
    43042: (5443, "tickets", "sent", "200"),
    43051: (6443, "idle-close", None, "server closed after"),
    43052: (6443, "health-check", None, "unwrap"),
    43061: (8443, "http-400", "none", "400"),
    43062: (8443, "tickets", "sent", "200"),
}
problems = []
observed = {}
for port, (sport, outcome, cert, words) in LANES.items():
    c = conns.get((port, sport))
    log = logs.get(port)
    name = f"127.0.0.1:{port}"
    if c is None or log is None:
        problems.append(f"{name}: no connection or no log line")
        continue
    if not any(w in log["said"] for w in ((words,) if isinstance(words, str) else words)):
        problems.append(f"{name}: client said {log['said']!r}, expected {words!r}")
    client_flight, after = flight(c) if outcome != "alert12" else ([], None)
    lengths = [r[2] for r in client_flight]
    o = {"lane": log["lane"], "server": f"127.0.0.2:{sport} ({SERVERS[sport]})", "client": log["client"], "clientSaid": log["said"][:160],
         "clientAppRecords": lengths[:6], "serverNextRecord": None, "firstFin": None}
    if "exit" in log:
        o["clientExit"] = log["exit"]
    if after is not None:
        fin_ts = client_flight[-1][4] if client_flight else 0
        o["serverNextRecord"] = {"type": after[1], "length": after[2], "frame": after[3], "afterClientFlightMs": round((after[4] - fin_ts) * 1000, 3)}
    fins = sorted((v[1], k, v[0]) for k, v in c["fin"].items())
    if fins:
        o["firstFin"] = {"by": "client" if fins[0][1] == "c" else "server", "frame": fins[0][2]}
    observed[name] = o
    # The flight's shape: an empty Certificate is 25 bytes (AES-GCM); with a certificate a bigger one and a CertificateVerify.
    if outcome == "reject":
        shape = "none" if lengths[:1] == [25] else "sent"
        if shape != cert:
            problems.append(f"{name}: client flight {lengths}, expected {cert}")
        if after is None or after[1] != 23 or after[2] != 19 or o["serverNextRecord"]["afterClientFlightMs"] > 100:
            problems.append(f"{name}: the server's next record {after} is no prompt 19-byte alert")
        closes = sorted([(v[1], "fin", k) for k, v in c["fin"].items()] + [(v[1], "rst", k) for k, v in c["rst"].items()])
        # The first close follows the alert at once: the server's FIN (or RST), or a client that read
        # the alert and closed first (Go's client, whose unread request the server then resets).
        if not closes or not 0 <= closes[0][0] - after[4] <= 0.1:
            problems.append(f"{name}: no close right after the server's alert: {closes}")
        o["firstClose"] = {"by": "server" if closes[0][2] == "s" else "client", "how": closes[0][1]} if closes else None
    elif outcome == "alert12":
        # TLS 1.2: the server's alert in clear (2 bytes: fatal, the description) after the client's CCS, before any CCS of its own.
        ccs = [r for r in c["records"] if r[1] == 20]
        alerts = [r for r in c["records"] if r[0] == "s" and r[1] == 21]
        o["serverAlert"] = {"description": alerts[0][5][1], "frame": alerts[0][3]} if alerts and alerts[0][5] else None
        if not alerts or alerts[0][5] != bytes([2, cert]) or [r[0] for r in ccs] != ["c"] or ccs[0][3] > alerts[0][3]:
            problems.append(f"{name}: no clear fatal alert {cert} after the client's CCS alone: {alerts} {ccs}")
    elif outcome == "tickets":
        if after is None or after[2] <= 19:
            problems.append(f"{name}: no ticket after the Finished: {after}")
    elif outcome == "idle-close":
        if after is None or after[2] != 19 or not 1400 <= o["serverNextRecord"]["afterClientFlightMs"] <= 2000:
            problems.append(f"{name}: the server's idle close_notify {o['serverNextRecord']} not ~1.5 s after the Finished")
    elif outcome == "health-check":
        closes = [r for r in c["records"] if r[1] == 23 and r[2] == 19]
        if len(closes) < 2 or closes[0][0] != "c":
            problems.append(f"{name}: the client's close_notify did not come first: {closes}")

# The servers' own words for the rejections.
for needle, count in [("peer did not return a certificate", 4), ("certificate verify failed", 1)]:
    if s_server_log.count(needle) != count:
        problems.append(f"s_server log: {s_server_log.count(needle)} × {needle!r}, expected {count}")
for needle, count in [("client didn't provide a certificate", 4), ("failed to verify client certificate", 1)]:
    if go_server_log.count(needle) != count:
        problems.append(f"Go server log: {go_server_log.count(needle)} × {needle!r}, expected {count}")
if not any("client sent no required SSL certificate" in l for l in nginx_error):
    problems.append("nginx did not log the missing certificate")
if [l.split('"')[2].split()[0] for l in nginx_access] != ["400", "200"]:
    problems.append(f"nginx access log: {nginx_access}")
if problems:
    print("tls13-mtls-meta: refusing to write the meta:\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)

def finding(server_port, shape, ports, notes):
    return {"kind": "tls-handshake-failed", "client": f"127.0.0.1:{ports[0]}", "server": f"127.0.0.2:{server_port}",
            "notes": f"{notes}; {len(ports)} connection(s) from ports {ports}, one finding",
            "evidence": {"cause": "encrypted-alert", "failedBy": "server", "clientCertificate": shape, "connections": len(ports)}}

meta = {
    "scenario": "tls-handshake-failed-mtls13",
    "software": a.software,
    "description": "TLS servers requiring a client certificate (openssl s_server -Verify 1 -verify_return_error; Go RequireAndVerifyClientCert) and clients sending none or a rogue self-signed one (curl, Python ssl, Go net/http): each server's alert (certificate_required 116, unknown_ca 48, Go's bad_certificate 42) is encrypted, a 19-byte record right after the client's Finished where tickets would come, then its FIN; the clients fail at their first read. Over TLS 1.2 (curl --tls-max 1.2, no certificate) the same servers' alerts go in clear (handshake_failure 40, bad_certificate 42) before their own ChangeCipherSpec. Near misses, silent: the good certificate (tickets follow), a no-ticket Go server's idle close_notify 1.5 s after the Finished, a health check's close_notify answered, and nginx ssl_verify_client on (the handshake completes, nginx answers 400).",
    "configured": {},
    "facts": {
        "sServerLog": [l for l in s_server_log.splitlines() if "error" in l],
        "goServerLog": [l.split(" ", 1)[1] for l in go_server_log.splitlines() if "handshake error" in l],
        "nginxErrorLog": nginx_error,
        "nginxAccessLog": nginx_access,
        "emptyCertificateRecord": 25,
        "alertRecord": 19,
    },
    "observed": observed,
    "expect": [
        finding(4433, "none", [43001, 43002, 43003], "lanes a: openssl s_server, no client certificate (an empty Certificate): its encrypted certificate_required (116); curl exit 56 'tlsv13 alert certificate required', Python TLSV13_ALERT_CERTIFICATE_REQUIRED; s_server 'peer did not return a certificate'"),
        finding(4433, "sent", [43011], "lane b: openssl s_server, the rogue certificate: its encrypted unknown_ca (48); curl exit 56 'tlsv1 alert unknown ca'; s_server 'certificate verify failed'"),
        finding(5443, "none", [43021, 43022, 43023], "lanes c: Go RequireAndVerifyClientCert, no certificate sent (Go's client holding the rogue one sends none its CertificateRequest does not name): Go 1.19's encrypted bad_certificate (42); curl exit 56 'sslv3 alert bad certificate', Go 'remote error: tls: bad certificate'; the server 'tls: client didn't provide a certificate'"),
        {"kind": "tls-handshake-failed", "client": "127.0.0.1:43071", "server": "127.0.0.2:4433",
         "notes": "lane h: TLS 1.2, no certificate: s_server's handshake_failure (40) in clear after the client's flight (before its own CCS); curl exit 35 'sslv3 alert handshake failure'; 1 connection, one finding",
         "evidence": {"cause": "alert", "failedBy": "server", "alertCode": 40, "stage": "client-flight", "connections": 1}},
        {"kind": "tls-handshake-failed", "client": "127.0.0.1:43081", "server": "127.0.0.2:5443",
         "notes": "lane h: TLS 1.2, no certificate: Go's bad_certificate (42) in clear after the client's flight; curl exit 35 'sslv3 alert bad certificate'; 1 connection, one finding",
         "evidence": {"cause": "alert", "failedBy": "server", "alertCode": 42, "stage": "client-flight", "connections": 1}},
        finding(5443, "sent", [43031], "lane d: Go RequireAndVerifyClientCert, curl's rogue certificate: encrypted bad_certificate (42); the server 'failed to verify client certificate: x509: certificate signed by unknown authority'"),
    ] + [{"kind": None, "client": f"127.0.0.1:{p}", "notes": f"lane {LANES[p][1]}: healthy, silent"} for p in (43041, 43042, 43051, 43052, 43061, 43062)],
}
with open(a.meta, "w") as f:
    json.dump(meta, f, indent=2, ensure_ascii=False)
    f.write("\n")
print(f"wrote {a.meta}")
