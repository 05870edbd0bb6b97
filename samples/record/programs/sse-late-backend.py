#!/usr/bin/env python3
"""SSE backend for response-truncated-sse-late-write (python http.server, threaded, HTTP/1.1, chunked).

/stall/<n>: three events 0.5 s apart (nginx does not re-arm its read timer for reads under 300 ms apart), then 4 s of silence, then two more events: written whatever
the proxy did meanwhile (a thread that does not watch its socket), the first into the closed upstream
connection. /ok/<n>: four events 1 s apart and the last chunk. Logs one JSON line per write.
"""
import http.server, json, socketserver, sys, time

LOG = open(sys.argv[3], 'a', buffering=1)

def log(**kw):
    LOG.write(json.dumps({'t': time.time(), **kw}) + '\n')

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        gaps = [0.5, 0.5, 4.0, 0.5, 0.5] if self.path.startswith('/stall') else [1.0, 1.0, 1.0, 0.0]
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Cache-Control', 'no-cache')
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        port = self.client_address[1]
        for i, gap in enumerate(gaps):
            data = f'data: {self.path} {i}\n\n'.encode()
            try:
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
                self.wfile.flush()
                log(path=self.path, proxyPort=port, event=i, written=True)
            except OSError as e:
                log(path=self.path, proxyPort=port, event=i, written=False, error=str(e))
                return
            time.sleep(gap)
        if not self.path.startswith('/stall'):
            self.wfile.write(b'0\r\n\r\n')
            log(path=self.path, proxyPort=port, lastChunk=True)

    def log_message(self, *args):
        pass

class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

Server((sys.argv[1], int(sys.argv[2])), Handler).serve_forever()
