#!/usr/bin/ruby
# A tiny WEBrick server for keepalive-race-webrick.sh (Debian ruby-webrick 1.8.1, ruby 3.1):
# WEBrick::HTTPServer with :RequestTimeout set (30 s by default), everything else at its default
# (HTTP/1.1 keep-alive on, one thread per connection, MaxClients 100), serving one proc at "/":
# GET -> 200 text/plain "ok <uri>", POST -> 201 application/json.
#
# WEBrick's keep-alive idle close (webrick/httpserver.rb, HTTPServer#run, one thread per connection):
# after each response it loops `timeout = RequestTimeout; while timeout > 0; break if
# sock.to_io.wait_readable(0.5); timeout -= 0.5; end` and, with no byte readable, raises
# HTTPStatus::EOFError; #run returns and GenericServer#start_thread's ensure calls sock.close (FIN).
# The 0.5 s steps start at the end of that connection's own response, so the close comes
# ceil(RequestTimeout / 0.5) * 0.5 s after it (2.0 s for 2), not on a shared tick.
#
# Usage: x23r-webrick-server.rb --host 10.99.0.2 --port 8080 --log FILE [--request-timeout 2]
#
# One JSON line per event in FILE (t: wall clock, epoch s), the format programs/x19l-meta.py and
# x20h-meta.py read: "request" (the client's port, method, uri, status, body bytes) for each request
# the proc answered; "idle-timeout" (the client's port) when #run gave up on a connection because
# every one of its 0.5 s waits for a next request found nothing readable (logged in #run's ensure,
# just before start_thread closes the socket); "start" (versions, RequestTimeout).
require 'json'
require 'optparse'
require 'webrick'

opts = { host: '127.0.0.1', port: 8080, request_timeout: 2.0 }
OptionParser.new do |o|
  o.on('--host H') { |v| opts[:host] = v }
  o.on('--port P', Integer) { |v| opts[:port] = v }
  o.on('--log FILE') { |v| opts[:log] = v }
  o.on('--request-timeout S', Float) { |v| opts[:request_timeout] = v }
end.parse!(ARGV)

OUT = File.open(opts.fetch(:log), 'a')
OUT_LOCK = Mutex.new
def log_event(event, **fields)
  line = JSON.generate({ t: Process.clock_gettime(Process::CLOCK_REALTIME).round(6), event: event, **fields })
  OUT_LOCK.synchronize { OUT.puts(line); OUT.flush }
end

# Observes HTTPServer#run (not a copy of it): counts, per connection, the 0.5 s waits in a row that
# found nothing readable, and logs "idle-timeout" when #run returns after its whole RequestTimeout
# of them with the server still running.
module X23rIdleCloseLog
  def run(sock)
    port = sock.peeraddr[1]
    idle = { empty_waits: 0 }
    sock.define_singleton_method(:wait_readable) do |*args|
      ready = super(*args)
      idle[:empty_waits] = ready ? 0 : idle[:empty_waits] + 1
      ready
    end
    super
  ensure
    waited = idle ? idle[:empty_waits] * 0.5 : 0
    if @status == :Running && waited >= @config[:RequestTimeout]
      log_event('idle-timeout', port: port, peer: "#{sock.peeraddr[3]}:#{port}", emptyWaits: idle[:empty_waits],
                                waitedSeconds: waited)
    end
  end
end
WEBrick::HTTPServer.prepend(X23rIdleCloseLog)

server = WEBrick::HTTPServer.new(BindAddress: opts[:host], Port: opts[:port], RequestTimeout: opts[:request_timeout],
                                 Logger: WEBrick::Log.new($stderr, WEBrick::Log::WARN), AccessLog: [])
server.mount_proc('/') do |req, res|
  body = req.body || ''
  if req.request_method == 'POST'
    res.status = 201
    res['Content-Type'] = 'application/json'
    res.body = JSON.generate({ ok: true, bytes: body.bytesize }) + "\n"
  else
    res.status = 200
    res['Content-Type'] = 'text/plain'
    res.body = "ok #{req.unparsed_uri}\n"
  end
  log_event('request', port: req.peeraddr[1], method: req.request_method, uri: req.unparsed_uri, status: res.status,
                       bodyBytes: body.bytesize)
end
trap('TERM') { server.shutdown }
trap('INT') { server.shutdown }
log_event('start', webrick: WEBrick::VERSION, ruby: RUBY_VERSION, requestTimeout: server.config[:RequestTimeout],
                   serverSoftware: server.config[:ServerSoftware])
server.start
