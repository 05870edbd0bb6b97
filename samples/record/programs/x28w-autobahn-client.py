"""A WebSocket client on autobahn 22.7 (asyncio), running one scripted session per --plan, in the
plan language of x28w-node-client.js: text:N, bin:N, ping, sleep:MS, pingevery:MS:N, close:CODE,
srvclose:CODE, wait:MS. autobahn answers the server's pings itself and sends none of its own
(autoPingInterval 0). Usage:
  python3 x28w-autobahn-client.py --url ws://H:P/path --log FILE --tag T --plan STEPS [--max-seconds S]
Every event is one JSON line in --log: {t, tag, event, localPort, ...}; at the end one line
{event: 'end', code (autobahn's onClose code: 1006 when the TCP connection ended without a close
frame), clean (wasClean), reason}."""
import argparse
import asyncio
import json
import os
import time

from autobahn.asyncio.websocket import WebSocketClientProtocol, WebSocketClientFactory

A = None
OUT = None


def log(**ev):
    OUT.write(json.dumps({'t': round(time.time(), 6), 'tag': A.tag, **ev}) + '\n')
    OUT.flush()


class Client(WebSocketClientProtocol):
    local_port = None
    x28w_waiter = None

    def ev(self, **e):
        log(localPort=self.local_port, **e)

    def onConnecting(self, transport_details):
        self.local_port = self.transport.get_extra_info('sockname')[1]
        self.ev(event='connected')
        return None

    def onConnect(self, response):
        if self.local_port is None:
            self.local_port = self.transport.get_extra_info('sockname')[1]
        self.ev(event='handshake', status=101)

    def onOpen(self):
        self.x28w_waiter = None
        self.closed = asyncio.get_event_loop().create_future()
        asyncio.ensure_future(self.run_plan())

    def _want(self, kind, timeout):
        fut = asyncio.get_event_loop().create_future()
        self.x28w_waiter = (kind, fut)
        return asyncio.wait_for(asyncio.shield(fut), timeout)

    def _got(self, kind, value):
        if self.x28w_waiter and self.x28w_waiter[0] == kind and not self.x28w_waiter[1].done():
            self.x28w_waiter[1].set_result(value)
            self.x28w_waiter = None

    def onMessage(self, payload, isBinary):
        self.ev(event='frame-in', op='binary' if isBinary else 'text', bytes=len(payload))
        self._got('binary' if isBinary else 'text', payload)

    def onPong(self, payload):
        self.ev(event='frame-in', op='pong', bytes=len(payload))
        self._got('pong', payload)

    def onPing(self, payload):
        self.ev(event='frame-in', op='ping', bytes=len(payload))
        super().onPing(payload)

    def onClose(self, wasClean, code, reason):
        self.ev(event='end', code=code, clean=wasClean, reason=reason)
        if hasattr(self, 'closed') and not self.closed.done():
            self.closed.set_result(code)
        self._got('close', code)

    async def wait(self, kind, timeout):
        try:
            return await self._want(kind, timeout)
        except asyncio.TimeoutError:
            return None

    async def run_plan(self):
        seq = 0
        for step in A.plan.split(','):
            if self.closed.done():
                break
            parts = step.split(':')
            what = parts[0]
            seq += 1
            if what == 'text':
                n = int(parts[1])
                s = f'{A.tag}#{seq} '
                self.sendMessage((s + 'x' * max(0, n - len(s))).encode(), isBinary=False)
                self.ev(event='frame-out', op='text', bytes=max(n, len(s)))
                self.ev(event='echo', ok=(await self.wait('text', 5)) is not None)
            elif what == 'bin':
                data = os.urandom(int(parts[1]))
                self.sendMessage(data, isBinary=True)
                self.ev(event='frame-out', op='binary', bytes=len(data))
                got = await self.wait('binary', 5)
                self.ev(event='echo', ok=got == data)
            elif what == 'ping':
                self.sendPing(f'p{seq}'.encode())
                self.ev(event='frame-out', op='ping')
                self.ev(event='pong', ok=(await self.wait('pong', 5)) is not None)
            elif what == 'pingevery':
                for i in range(int(parts[2])):
                    await asyncio.sleep(int(parts[1]) / 1000)
                    if self.closed.done():
                        break
                    self.sendPing(f'k{i}'.encode())
                    self.ev(event='frame-out', op='ping')
                    self.ev(event='pong', ok=(await self.wait('pong', 5)) is not None)
            elif what == 'sleep':
                self.ev(event='idle', ms=int(parts[1]))
                await asyncio.sleep(int(parts[1]) / 1000)
            elif what == 'close':
                self.sendClose(code=int(parts[1]), reason='bye')
                self.ev(event='frame-out', op='close', code=int(parts[1]))
                await self.wait_closed(8)
            elif what == 'srvclose':
                self.sendMessage(f'close-please:{parts[1]}'.encode(), isBinary=False)
                self.ev(event='frame-out', op='text', bytes=len(f'close-please:{parts[1]}'))
                await self.wait_closed(8)
            elif what == 'wait':
                self.ev(event='idle', ms=int(parts[1]))
                await self.wait_closed(int(parts[1]) / 1000)
        if not self.closed.done():
            self.ev(event='give-up')
            self.transport.close()
            await self.wait_closed(3)
        asyncio.get_event_loop().call_later(0.05, asyncio.get_event_loop().stop)

    async def wait_closed(self, timeout):
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        except asyncio.TimeoutError:
            pass


def main():
    global A, OUT
    ap = argparse.ArgumentParser()
    ap.add_argument('--url', required=True)
    ap.add_argument('--log', required=True)
    ap.add_argument('--tag', default='a')
    ap.add_argument('--plan', default='text:20,close:1000')
    ap.add_argument('--max-seconds', type=float, default=60)
    A = ap.parse_args()
    OUT = open(A.log, 'a')
    from urllib.parse import urlparse
    u = urlparse(A.url)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    factory = WebSocketClientFactory(A.url, loop=loop)
    factory.protocol = Client
    factory.setProtocolOptions(autoPingInterval=0, openHandshakeTimeout=5, closeHandshakeTimeout=5)
    loop.call_later(A.max_seconds, lambda: (log(event='max-seconds'), loop.stop()))
    loop.run_until_complete(loop.create_connection(factory, u.hostname, u.port))
    loop.run_forever()
    loop.close()


if __name__ == '__main__':
    main()
