"""What the round-24 and later meta writers share: the programs' JSON-lines logs, a capture's packets
as rows of tshark fields, and one direction of a connection reassembled (Direction: x29g-meta.py,
x30_wire.py). Importable (`import x29_capture`) by any program
run from this folder (python puts a script's own folder first on sys.path)."""
import bisect
import json
import os
import subprocess


def read_jsonl(path):
    """The JSON objects of a log, one per line (other lines skipped); [] when the log is missing."""
    out = []
    if os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if line.startswith('{'):
                out.append(json.loads(line))
    return out


def tshark_rows(path, fields, options=()):
    """The capture's packets as lists of tshark field values, in the order asked, each padded to every
    field ('' where a packet has none). `options`: more tshark arguments (preferences, -n...)."""
    cmd = ['tshark', '-r', path, *options, '-T', 'fields', '-E', 'separator=/t']
    for f in fields:
        cmd += ['-e', f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        v = line.split('\t')
        v += [''] * (len(fields) - len(v))
        rows.append(v)
    return rows


class Direction:
    """One direction of a connection: its bytes in order from the first segment seen, and the frame that
    carried each piece; a segment beyond the next expected byte is a gap, which stops it (gap = True)."""

    def __init__(self):
        self.data = bytearray()
        self.ends = []     # cumulative end offset of each piece of new data
        self.frames = []   # (frame, t) of each piece
        self.next = None
        self.gap = False

    def add(self, seq, payload, frame, t):
        if self.next is None:
            self.next = seq
        if seq > self.next:
            self.gap = True
            return
        new = payload[self.next - seq:]
        if not new:
            return
        self.data += new
        self.next += len(new)
        self.ends.append(len(self.data))
        self.frames.append((frame, t))

    def at(self, offset):
        """(frame, t) of the packet that carried byte OFFSET."""
        i = bisect.bisect_right(self.ends, offset)
        return self.frames[min(i, len(self.frames) - 1)]
