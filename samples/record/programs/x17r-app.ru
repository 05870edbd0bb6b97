# Rack app for the Puma recorders (samples/record/*-puma-ruby.sh): GET -> 200, POST -> 201, small JSON
# bodies with Content-Length. Every request it sees is one JSON line in $X17R_SERVER_LOG (wall-clock time
# t, the client's port taken from puma.socket, method, URI): the server side's ground truth (a request
# that raced Puma's idle close never reaches this app).
require 'json'

LOG = File.open(ENV.fetch('X17R_SERVER_LOG', '/dev/null'), 'a')
LOG.sync = true
LOG_LOCK = Mutex.new

run lambda { |env|
  port = begin
    env['puma.socket'].remote_address.ip_port
  rescue StandardError
    nil
  end
  body_in = env['rack.input'] ? env['rack.input'].read : ''
  method = env['REQUEST_METHOD']
  uri = env['PATH_INFO'] + (env['QUERY_STRING'].to_s.empty? ? '' : "?#{env['QUERY_STRING']}")
  status = method == 'POST' ? 201 : 200
  LOG_LOCK.synchronize do
    LOG.puts(JSON.generate({ t: Process.clock_gettime(Process::CLOCK_REALTIME).round(6), event: 'request', port: port,
                             method: method, uri: uri, bodyBytes: body_in.bytesize, status: status }))
  end
  out = JSON.generate({ ok: true, method: method, uri: uri, received: body_in.bytesize })
  [status, { 'Content-Type' => 'application/json', 'Content-Length' => out.bytesize.to_s }, [out]]
}
