"""A line protocol server (port 7000): answers `OK <line>` to each line; on `CRASH` it resets the
connection on purpose (SO_LINGER 0, then close): an application's deliberate reset of a command it
read, which no idle timer made. It has no idle timeout. Logs one JSON line per event. Bounded by --lifetime."""
import argparse, json, socket, struct, sys, threading, time

def log(**kw):
    print(json.dumps({"t": round(time.time(), 6), **kw}), flush=True)

def serve_one(c, port):
    f = c.makefile("rb")
    for line in f:
        cmd = line.strip()
        log(event="cmd", port=port, cmd=cmd.decode(errors="replace"))
        if cmd == b"CRASH":
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            log(event="reset", port=port)
            return
        c.sendall(b"OK " + cmd + b"\n")
    log(event="client-closed", port=port)
    c.close()

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=7000)
    ap.add_argument("--lifetime", type=float, default=30)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", a.port))
    s.listen(16)
    s.settimeout(0.2)
    end = time.time() + a.lifetime
    while time.time() < end:
        try:
            c, addr = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve_one, args=(c, addr[1]), daemon=True).start()
    return 0

if __name__ == "__main__":
    sys.exit(main())
