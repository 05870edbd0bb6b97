"""An aiohttp 3.8 web server with plain routes and a WebSocket route, for the x28w recorders.
Usage: python3 x28w-aiohttp-server.py --host H --port P --log FILE [--keepalive-timeout S]
Plain requests: GET anything -> 200 JSON, POST anything -> 201 (Content-Length, keep-alive).
GET .../ws with Upgrade: websocket -> web.WebSocketResponse (autoping: pings answered by aiohttp):
text and binary messages echoed; a text "close-please:CODE" makes the server start the closing
handshake (ws.close(code=CODE), which waits for the client's close frame). Every event is one JSON
line in --log (programs/event_log.py): {t, event, port (the peer's port), ...}."""
import asyncio
import sys
import os

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiohttp import web, WSMsgType  # noqa: E402
import event_log  # noqa: E402
from event_log import log  # noqa: E402


def peer_port(request):
    peer = request.transport.get_extra_info('peername') if request.transport else None
    return peer[1] if peer else None


async def ws_handler(request):
    port = peer_port(request)
    ws = web.WebSocketResponse(autoping=True, heartbeat=None)
    await ws.prepare(request)
    log(event='open', port=port, url=str(request.rel_url))
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            log(event='frame-in', port=port, op='text', bytes=len(msg.data.encode()), text=msg.data[:40])
            if msg.data.startswith('close-please:'):
                code = int(msg.data.split(':')[1])
                log(event='close-sent', port=port, code=code, initiator='server')
                await ws.close(code=code, message=b'server closes')
                break
            await ws.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            log(event='frame-in', port=port, op='binary', bytes=len(msg.data))
            await ws.send_bytes(msg.data)
        elif msg.type == WSMsgType.ERROR:
            log(event='error', port=port, error=repr(ws.exception()))
    log(event='closed', port=port, code=ws.close_code, clean=ws.close_code not in (None, 1006))
    return ws


async def plain(request):
    body = await request.read()
    log(event='request', port=peer_port(request), method=request.method, url=str(request.rel_url), bodyBytes=len(body))
    return web.json_response({'ok': True, 'method': request.method, 'url': str(request.rel_url), 'got': len(body)},
                             status=201 if request.method == 'POST' else 200)


def main():
    ap = event_log.server_arguments()
    ap.add_argument('--keepalive-timeout', type=float, default=75.0)
    a = ap.parse_args()
    event_log.open_log(a.log)
    app = web.Application()
    app.router.add_get('/ws', ws_handler)
    app.router.add_get('/py/ws', ws_handler)
    app.router.add_route('*', '/{tail:.*}', plain)
    log(event='listening', host=a.host, port=a.port, keepaliveTimeout=a.keepalive_timeout)
    web.run_app(app, host=a.host, port=a.port, keepalive_timeout=a.keepalive_timeout, print=None,
                handle_signals=True, access_log=None)


if __name__ == '__main__':
    main()
