#!/usr/bin/env python3
"""Meta of tcp-keepalive-dead-peer (record/tcp-keepalive-dead-peer.sh): measures the capture with
tshark, checks it against the client's and the server's logs and the nft counters, and writes the
sample's meta.json (exit 1, nothing written, when the recording shows anything else)."""
import argparse
import json
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--capture", required=True)
ap.add_argument("--work", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--software", action="append", default=[])
args = ap.parse_args()

CLIENT = "10.79.0.1"
SERVER = "10.79.0.2"


def fail(msg):
    print(f"ka-dead-meta: {msg}", file=sys.stderr)
    sys.exit(1)


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


fields = ["frame.number", "frame.time_epoch", "ip.src", "tcp.srcport", "tcp.dstport", "tcp.flags.reset",
          "tcp.flags.fin", "tcp.len", "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack"]
cmd = ["tshark", "-r", args.capture, "-n", "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
for f in fields:
    cmd += ["-e", f]
pkts = []
for line in subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines():
    v = line.split("\t")
    pkts.append({"frame": int(v[0]), "t": float(v[1]), "src": v[2], "sport": int(v[3]), "dport": int(v[4]),
                 "rst": v[5] in ("1", "True"), "fin": v[6] in ("1", "True"), "len": int(v[7] or 0),
                 "ka": bool(v[8]), "kaack": bool(v[9])})

client_log = lines(f"{args.work}/client.log")
server_log = lines(f"{args.work}/server.log")
nft_server = open(f"{args.work}/nft-server.txt").read()
nft_client = open(f"{args.work}/nft-client.txt").read()
idle_start = next((e["t"] for e in client_log if e.get("event") == "idle-start"), None)
if idle_start is None:
    fail("the client never started its idle pause")


def lane(cport):
    ps = [p for p in pkts if cport in (p["sport"], p["dport"])]
    from_client = lambda p: p["src"] == CLIENT
    after = [p for p in ps if p["t"] >= idle_start]
    return ps, after, from_client


facts = {}
expect = []
# dead: the client's probes, none answered, then the client's RST.
ps, after, fc = lane(40001)
probes = [p for p in after if fc(p) and p["ka"]]
back = [p for p in after if not fc(p)]
rst = [p for p in after if fc(p) and p["rst"]]
if len(probes) != 3 or back or len(rst) != 1 or rst[0]["t"] < probes[-1]["t"]:
    fail(f"dead lane: {len(probes)} client probes, {len(back)} packets back, {len(rst)} client RSTs")
err = next((e for e in client_log if e.get("lane") == "dead" and e.get("event") == "error"), None)
if err is None or err.get("errno") != "ETIMEDOUT":
    fail(f"dead lane: the client's next request did not fail with ETIMEDOUT: {err}")
m = re.search(r"sport 40001 counter packets (\d+)", nft_server)
if m is None or int(m.group(1)) != 4:
    fail(f"dead lane: the server's drop rule counted {m.group(1) if m else None} packets, not 4 (3 probes + RST)")
facts["dead"] = {"client": f"{CLIENT}:40001", "clientProbes": len(probes), "probeTimes": [round(p["t"] - probes[0]["t"], 4) for p in probes],
                 "idleBeforeFirstProbe": round(probes[0]["t"] - max(p["t"] for p in ps if not fc(p)), 4), "resetAfterLastProbe": round(rst[0]["t"] - probes[-1]["t"], 4),
                 "droppedOnPath": 4, "clientError": err}
expect.append({"kind": "tcp-keepalive-dead-peer", "client": f"{CLIENT}:40001", "server": f"{SERVER}:8080",
               "notes": f"the client's kernel sent 3 keep-alive probes (TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, TCP_KEEPCNT=3) that the server never received (the path dropped them: nft counter 4 = 3 probes + the RST), reset the connection, and the client's next request failed: {err['error']} [{err['errno']}]. The server still holds the connection."})

# held: the server's probes, none answered, then the server's RST.
ps, after, fc = lane(40003)
probes = [p for p in after if not fc(p) and p["ka"]]
back = [p for p in after if fc(p)]
rst = [p for p in after if not fc(p) and p["rst"]]
if len(probes) != 3 or back or len(rst) != 1:
    fail(f"held lane: {len(probes)} server probes, {len(back)} client packets, {len(rst)} server RSTs")
serr = next((e for e in server_log if e.get("port") == 8081 and e.get("event") == "error"), None)
if serr is None or serr.get("errno") != "ETIMEDOUT":
    fail(f"held lane: the server did not log ETIMEDOUT: {serr}")
held = next((e for e in client_log if e.get("lane") == "held" and e.get("event") == "state"), None)
m = re.search(r"sport 8081 tcp dport 40003 counter packets (\d+)", nft_client)
if m is None or int(m.group(1)) != 4:
    fail(f"held lane: the client's drop rule counted {m.group(1) if m else None} packets, not 4")
facts["held"] = {"client": f"{CLIENT}:40003", "serverProbes": len(probes), "probeTimes": [round(p["t"] - probes[0]["t"], 4) for p in probes],
                 "idleBeforeFirstProbe": round(probes[0]["t"] - max(p["t"] for p in ps if fc(p)), 4), "resetAfterLastProbe": round(rst[0]["t"] - probes[-1]["t"], 4),
                 "droppedOnPath": 4, "serverError": serr, "clientState": held}
expect.append({"kind": "tcp-keepalive-dead-peer", "client": f"{CLIENT}:40003", "server": f"{SERVER}:8081",
               "notes": f"the server's kernel sent 3 keep-alive probes (TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, TCP_KEEPCNT=3) that the client never answered (the path dropped them before the client: nft counter 4 = 3 probes + the RST), reset the connection, and the server logged {serr['error']} [{serr['errno']}]; the client never learned ({held['state'] if held else '?'}). Not a server reset to blame on the server."})

# healthy: probes answered, the second request answered, closed with FIN.
ps, after, fc = lane(40002)
probes = [p for p in after if fc(p) and p["ka"]]
acks = [p for p in after if not fc(p) and p["kaack"]]
ok2 = next((e for e in client_log if e.get("lane") == "healthy" and e.get("path") == "/healthy/2"), None)
if len(probes) < 3 or len(acks) < len(probes) or any(p["rst"] for p in ps) or ok2 is None or ok2.get("status") != 200:
    fail(f"healthy lane: {len(probes)} probes, {len(acks)} answered, second request {ok2}")
facts["healthy"] = {"client": f"{CLIENT}:40002", "clientProbes": len(probes), "answered": len(acks), "secondRequest": ok2.get("status")}
expect.append({"kind": None, "client": f"{CLIENT}:40002", "server": f"{SERVER}:8080",
               "notes": f"the near miss: the same keep-alive settings, {len(probes)} probes all answered, the request after {6} s idle answered 200, closed with FIN. Nothing failed here."})

tcpdump = [l.strip() for l in open(f"{args.work}/tcpdump.log") if "packets" in l]
facts["packets"] = len(pkts)
facts["tcpdump"] = tcpdump
meta = {
    "scenario": "tcp-keepalive-dead-peer",
    "description": "TCP keep-alive finds its peer gone, on either side, beside its healthy twin. Two network namespaces joined by a veth pair (client 10.79.0.1, where tcpdump runs on its veth; server 10.79.0.2). A python server answers HTTP/1.1 keep-alive on 8080 (no TCP keep-alive) and on 8081 (SO_KEEPALIVE, TCP_KEEPIDLE=1, TCP_KEEPINTVL=1, TCP_KEEPCNT=3 on each accepted socket). A python client sends one GET on each of three connections: dead (8080 from 40001, SO_KEEPALIVE with TCP_KEEPIDLE=1 TCP_KEEPINTVL=1 TCP_KEEPCNT=3), healthy (the same from 40002) and held (8081 from 40003, no keep-alive of its own), and leaves them idle 6 s. Right after the first responses nftables drops, on the path, the client's packets of dead (the server's input chain) and the server's packets of held (the client's input chain; the capture on the client's veth still sees them arrive). The client's kernel sends 3 keep-alive probes on dead, never answered, and resets it; the client's next request on it fails with ETIMEDOUT. The server's kernel does the same on held (the server logs ETIMEDOUT; the client never learns). The probes on healthy are answered and its second request gets 200.",
    "software": args.software,
    "configured": {"clientTcpKeepIdle": 1, "clientTcpKeepIntvl": 1, "clientTcpKeepCnt": 3, "serverTcpKeepIdle": 1, "serverTcpKeepIntvl": 1, "serverTcpKeepCnt": 3},
    "configuredNotes": "The socket options the programs set (TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT, seconds and count). On the wire Linux's timers land a little late (probes ~1.02 s apart): the diagnosis infers clientTcpKeepAliveIdle / ...Interval from the capture, under other names, so they are not compared here.",
    "captureSide": "client namespace, the client's veth (10.79.0.1): the client's probes leave before the path drops them; the server's probes arrive before the client's input chain drops them",
    "silent": False,
    "expect": expect,
    "facts": facts,
    "groundTruth": {"clientLog": client_log, "serverLog": server_log, "nftServer": nft_server.strip().splitlines(), "nftClient": nft_client.strip().splitlines()},
}
with open(args.out, "w") as f:
    json.dump(meta, f, indent=2)
    f.write("\n")
print(f"wrote {args.out}")
