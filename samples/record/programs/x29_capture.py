"""What the round-24 meta writers (x29g-, x29p-, x29s-meta.py) share: the programs' JSON-lines logs,
and a capture's packets as rows of tshark fields. Importable (`import x29_capture`) by any program
run from this folder (python puts a script's own folder first on sys.path)."""
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
