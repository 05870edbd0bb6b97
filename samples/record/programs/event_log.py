"""The JSON-lines event log and the common options of the small servers the keep-alive race
recorders run (x20h-twisted-server.py, x21a-aiohttp-server.py): one line per event, {"t": wall clock
(epoch s), "event": ..., ...}, the format programs/x19l-meta.py and x20h-meta.py read."""
import argparse
import json
import time

_out = None


def open_log(path):
    """Append the events to PATH from now on."""
    global _out
    _out = open(path, 'a')


def log(t=None, **ev):
    """One event's line: its time T (now by default), then EV's fields; flushed at once."""
    _out.write(json.dumps({'t': round(time.time() if t is None else t, 6), **ev}) + '\n')
    _out.flush()


def server_arguments():
    """An argument parser with the servers' common options: --host, --port, --log (the event log)."""
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--log', required=True)
    return ap
