"""What dup-meta.py and nat-meta.py share: both check a capture made with "tcpdump -i any" in a
namespace between client and server, whose client side alone b-meta.py has already checked, and
write the scenario's meta from the client side's, with the capture's own facts added."""
import json
import subprocess


def tshark_fields(capture, fields):
    """The capture's packets as lists of tshark field values (fields in the order asked)."""
    cmd = ["tshark", "-r", capture, "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def add_common_arguments(ap):
    ap.add_argument("--capture", required=True)
    ap.add_argument("--client-side-meta", required=True, help="b-meta.py's meta of the client's interface alone")
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--description", help="what the capture shows")
    ap.add_argument("--software", action="append", default=[])
    ap.add_argument("--client-without-timestamps", action="store_true",
                    help="the client's kernel had net.ipv4.tcp_timestamps=0: check that no client SYN carries the option")


def client_syns_with_timestamps(capture):
    """How many SYNs without ACK carry the TCP timestamp option (0 when the client sends none)."""
    rows = tshark_fields(capture, ["tcp.flags", "tcp.options.timestamp.tsval"])
    return sum(1 for r in rows if len(r) == 2 and r[0] and int(r[0], 16) & 0x12 == 0x02 and r[1])


def write_meta(a, description, software, facts):
    """The client side's meta (same expectations: the other views must change no finding), renamed,
    described as the whole capture and with its facts."""
    if a.client_without_timestamps and client_syns_with_timestamps(a.capture):
        raise SystemExit(f"any_capture: {a.capture}: client SYNs carry the timestamp option; expected none")
    with open(a.client_side_meta) as f:
        meta = json.load(f)
    meta["scenario"] = a.scenario
    meta["description"] = description + " The traffic: " + meta["description"].replace(" on loopback", "")
    meta["software"] = meta.get("software", []) + ["tcpdump -i any"] + software
    meta["facts"]["captureFile"] = a.capture.rsplit("/", 1)[-1]
    meta["facts"].update(facts)
    if a.client_without_timestamps:
        meta["facts"]["clientTimestamps"] = False
        meta["description"] = meta["description"].replace(" The traffic: ", (
            " The client's kernel sends no TCP timestamp option (net.ipv4.tcp_timestamps=0 in its namespace), as Windows "
            "clients do by default. The traffic: "), 1)
    with open(a.meta, "w") as f:
        f.write(json.dumps(meta, indent=2) + "\n")
