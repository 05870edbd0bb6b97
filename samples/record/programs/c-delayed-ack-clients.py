#!/usr/bin/env python3
"""Open several HTTP client connections at once whose kernel delays the third ACK of
the handshake (TCP_QUICKACK off before connect(): Linux then holds the ACK of the
SYN-ACK for its delayed-ACK time, up to 200 ms, exactly like a client one round trip
away). All SYNs thus reach the listener while its accept queue is still empty and
get a SYN-ACK; when the ACKs arrive the queue fills after the first one, and the
other ACKs and the requests that follow are dropped by the listener.

Each client sends `GET /<name>-<i>` after --send-after seconds and waits up to
--timeout seconds for any answer, then closes. Prints one line per client.

Options: --port P, --count N (4), --send-after S (0.3), --timeout S (4), --name X
"""
import argparse
import socket
import threading
import time


def client(args, i, results):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 0)
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", args.port))
    except BlockingIOError:
        pass
    start = time.monotonic()
    s.settimeout(args.timeout)
    time.sleep(args.send_after)
    outcome = "?"
    try:
        # connect_ex reports whether the non-blocking connect finished.
        err = s.connect_ex(("127.0.0.1", args.port))
        if err not in (0, 106):  # 106 EISCONN: already connected
            outcome = f"connect error {err}"
        else:
            s.sendall(f"GET /{args.name}-{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            data = s.recv(4096)
            outcome = f"answer {len(data)} bytes" if data else "closed by peer"
    except socket.timeout:
        outcome = f"no answer after {args.timeout} s"
    except OSError as e:
        outcome = f"error {e.__class__.__name__}: {e}"
    finally:
        s.close()
    results[i] = f"{args.name}-{i}: {outcome} ({time.monotonic() - start:.2f} s)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--send-after", type=float, default=0.3)
    ap.add_argument("--timeout", type=float, default=4.0)
    ap.add_argument("--name", default="c")
    args = ap.parse_args()
    results = {}
    threads = [threading.Thread(target=client, args=(args, i, results)) for i in range(args.count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.timeout + args.send_after + 2)
    for i in range(args.count):
        print(results.get(i, f"{args.name}-{i}: still running"))


if __name__ == "__main__":
    main()
