#!/usr/bin/python3
"""uvicorn (Debian python3-uvicorn 0.17.x, h11 protocol, asyncio loop) serving a small ASGI app.

Usage: x16-asgi-server.py --host H --port P [--timeout-keep-alive S] --log FILE
(without --timeout-keep-alive: uvicorn's default, 5 s)

uvicorn.run(..., timeout_keep_alive=S) - the same as `uvicorn --timeout-keep-alive S` (default
5 s): after each complete response uvicorn arms a timer (loop.call_later) and, if no byte of a
next request arrived, closes the transport (FIN). GET answers 200, POST reads its body and
answers 201; small JSON bodies. uvicorn's own log (log level trace: "HTTP connection made/lost"
and the access log, each naming the client ip:port) goes to FILE with wall-clock timestamps
(epoch seconds, microseconds), one JSON object a line.
"""
import argparse
import json
import logging
import sys
import time

import uvicorn


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    got = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return
        got += len(msg.get("body", b""))
        if not msg.get("more_body"):
            break
    status = 201 if scope["method"] == "POST" else 200
    q = scope.get("query_string", b"").decode()
    body = (json.dumps({"ok": True, "path": scope["path"] + ("?" + q if q else ""), "got": got}) + "\n").encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class JsonFormatter(logging.Formatter):
    def format(self, record):
        return json.dumps({"t": round(record.created, 6), "logger": record.name, "level": record.levelname,
                           "msg": record.getMessage()})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--timeout-keep-alive", type=float, default=None)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    handler = logging.FileHandler(a.log)
    handler.setFormatter(JsonFormatter())
    log_config = {
        "version": 1, "disable_existing_loggers": False,
        "handlers": {}, "loggers": {},
    }
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers = [handler]
        lg.propagate = False
    extra = {} if a.timeout_keep_alive is None else {"timeout_keep_alive": a.timeout_keep_alive}
    uvicorn.run(app, host=a.host, port=a.port, http="h11", loop="asyncio", lifespan="on", log_level="trace",
                log_config=log_config, access_log=True, **extra)


if __name__ == "__main__":
    sys.exit(main())
