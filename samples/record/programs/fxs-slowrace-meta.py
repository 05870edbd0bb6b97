"""Checks the slowrace capture shows its scenario and writes samples/slowrace.meta.json (exit 1 if not).
Connections to 8080 (nginx): the server's FIN, no response byte, client data both before and after
the FIN. Connections to 7000 (line server): two reset by the server, one closed by the client."""
import argparse, json, subprocess, sys

ap = argparse.ArgumentParser()
ap.add_argument("--capture", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--software", action="append", default=[])
a = ap.parse_args()
fields = ["tcp.stream", "frame.time_epoch", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "tcp.flags.syn", "tcp.flags.fin", "tcp.flags.reset", "tcp.len"]
cmd = ["tshark", "-r", a.capture, "-n", "-T", "fields", "-E", "separator=\t"]
for f in fields: cmd += ["-e", f]
conns = {}
for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
    st, t, src, sp, dst, dp, syn, fin, rst, ln = line.split("\t")
    c = conns.setdefault(st, {"pkts": []})
    c["pkts"].append({"t": float(t), "fromServer": sp in ("8080", "7000"), "cport": dp if sp in ("8080", "7000") else sp,
                      "sport": sp if sp in ("8080", "7000") else dp, "syn": syn in ("1", "True"), "fin": fin in ("1", "True"),
                      "rst": rst in ("1", "True"), "len": int(ln or 0)})
def fail(msg):
    print(f"fxs-slowrace-meta: the capture does not show the scenario: {msg}", file=sys.stderr); sys.exit(1)
expect, measured = [], {}
nginx = [c for c in conns.values() if c["pkts"][0]["sport"] == "8080"]
line = [c for c in conns.values() if c["pkts"][0]["sport"] == "7000"]
if len(nginx) != 2 or len(line) != 3: fail(f"{len(nginx)} nginx and {len(line)} line connections")
for c in nginx:
    p = c["pkts"]; client = f"127.0.0.1:{p[0]['cport']}"
    sfin = next((x for x in p if x["fromServer"] and x["fin"]), None)
    if sfin is None: fail(f"{client}: no server FIN")
    if any(x["fromServer"] and x["len"] > 0 for x in p): fail(f"{client}: nginx sent a byte")
    before = [x for x in p if not x["fromServer"] and x["len"] > 0 and x["t"] < sfin["t"]]
    after = [x for x in p if not x["fromServer"] and x["len"] > 0 and x["t"] > sfin["t"]]
    if not before or not after: fail(f"{client}: no client data before and after the FIN")
    measured[client] = {"requestStart": round(before[0]["t"] - p[0]["t"], 3), "lastClientDataBeforeFin": round(before[-1]["t"] - p[0]["t"], 3),
                        "serverFin": round(sfin["t"] - p[0]["t"], 3), "clientDataAfterFin": round(after[0]["t"] - p[0]["t"], 3)}
    expect.append({"kind": "slow-client-timeout", "client": client, "server": "127.0.0.1:8080",
                   "notes": "nginx timed out a request still arriving (FIN, no byte); the client sent on after the FIN: no keepalive-race (the connection was in use), and the silence is measured to the client's last byte before the FIN"})
resets = 0
for c in line:
    p = c["pkts"]; client = f"127.0.0.1:{p[0]['cport']}"
    rst = next((x for x in p if x["fromServer"] and x["rst"]), None)
    resets += rst is not None
    measured[client] = {"serverRst": None if rst is None else round(rst["t"] - p[0]["t"], 3)}
    expect.append({"kind": None, "client": client, "server": "127.0.0.1:7000",
                   "notes": "must stay clean: the line server resets on CRASH (SO_LINGER 0) after 1.0 s and 2.0 s idle while answering reuses after 1.0-2.0 s: no idle timer's close, no keepalive-race"})
if resets != 2: fail(f"{resets} line connections reset")
meta = {"scenario": "slowrace",
        "description": "nginx (client_header_timeout 2 s, client_body_timeout 1.5 s) times out a head trickled 8 bytes every 0.4 s and a POST body gone silent; both clients send on after nginx's FIN, which draws a RST. A line-protocol server without an idle timeout resets on the command CRASH (SO_LINGER 0) after 1.0 s and after 2.0 s of idle while it answers reuses after 1.0, 1.5 and 2.0 s on other connections. slow-client-timeout fires on both nginx connections; keepalive-race must fire on none.",
        "software": a.software,
        "configured": {"nginxClientHeaderTimeout": "2s", "nginxClientBodyTimeout": "1.5s", "lineServerIdleTimeout": "none"},
        "expect": expect, "silent": False, "measured": measured}
with open(a.out, "w") as f:
    json.dump(meta, f, indent=2); f.write("\n")
print(f"fxs-slowrace-meta: ok, {len(conns)} connections")
