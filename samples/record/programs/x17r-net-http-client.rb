#!/usr/bin/ruby
# Ruby Net::HTTP (Debian ruby 3.1, net-http 0.3) clients for the Puma recorders, with their ground truth.
#
#   x17r-net-http-client.rb healthy --base URL --log FILE --script GET:0,POST:0.3,...
#       One Net::HTTP (default keep_alive_timeout 2 s, max_retries 1) started once; each step waits PAUSE
#       seconds after the previous response and sends METHOD on the persistent connection; then
#       Net::HTTP#finish (the client closes first).
#   x17r-net-http-client.rb sweep --base URL --log FILE --lanes N --rounds R --gaps G1,G2,...
#       [--keep-alive-timeout 5] [--stagger 0.09] [--max-seconds 40]
#       N threads at once, each with its own Net::HTTP (keep_alive_timeout raised to 5 s so it reuses
#       a connection idle ~2 s; max_retries left at 1). A lane sends a "warm" GET, then each round
#       sleeps GAP (measured from the moment the previous response was read) and sends the round's
#       request on the persistent connection: GET /items/... and POST /orders?... alternate (lanes
#       start on different ones). After a failed request the lane sends a new warm GET (Net::HTTP
#       reconnects) before the next round's pause. The GAPS are dealt to the lanes round-robin.
#
# Every request is one JSON line in FILE: wall-clock t / sentAt (epoch s), method, uri, kind
# (warm/reuse/step), gapAsked, idleMeasured (s since the previous response was read), pooledPort
# (local port of the open persistent connection before the request; null if Net::HTTP had none),
# connects (local ports of the connections Net::HTTP opened while doing this request, in order),
# netHttp (Net::HTTP's own debug messages during it: "Conn close because of EOF" = it saw the
# server's FIN before sending and reconnected; "Conn close because of error EOFError, and retry" =
# it sent the request, the connection failed before any response, and it sent it again on a new
# connection), retried (true when that retry happened), then either status and port (the local
# port that got the response) or error (exception class), message and port (the connection
# it failed on).
require 'net/http'
require 'json'
require 'optparse'

module X17rHooks
  attr_accessor :x17r_events

  private

  def connect
    super
    (@x17r_events ||= []) << { t: now, msg: 'connected', port: @socket.io.local_address.ip_port }
  end

  def debug(msg)
    (@x17r_events ||= []) << { t: now, msg: msg.to_s }
    super
  end

  def now
    Process.clock_gettime(Process::CLOCK_REALTIME).round(6)
  end
end
Net::HTTP.prepend(X17rHooks)

LOG_LOCK = Mutex.new
def log(out, ev)
  LOG_LOCK.synchronize { out.puts(JSON.generate(ev)); out.flush }
end

def wall = Process.clock_gettime(Process::CLOCK_REALTIME).round(6)
def mono = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def pooled_port(http)
  sock = http.instance_variable_get(:@socket)
  return nil if sock.nil? || sock.closed?
  sock.io.local_address.ip_port
rescue StandardError
  nil
end

# One request on http; returns [ok, event].
def one(http, out, method, path, extra, last_mono)
  pre = pooled_port(http)
  http.x17r_events = []
  t0 = wall
  m0 = mono
  ev = { t: t0, sentAt: t0, lib: 'net-http', method: method, uri: path, pooledPort: pre, **extra }
  ev[:idleMeasured] = (m0 - last_mono).round(6) if last_mono
  begin
    req = method == 'POST' ? Net::HTTP::Post.new(path, 'Content-Type' => 'application/json') : Net::HTTP::Get.new(path)
    req.body = JSON.generate({ order: path, items: [1, 2, 3] }) if method == 'POST'
    res = http.request(req)
    evs = http.x17r_events
    connects = evs.select { |e| e[:msg] == 'connected' }.map { |e| e[:port] }
    ev.merge!(event: 'response', status: res.code.to_i, port: pooled_port(http), connects: connects,
              netHttp: evs.reject { |e| e[:msg] == 'connected' }.map { |e| e[:msg] },
              retried: evs.any? { |e| e[:msg].include?('and retry') }, elapsedMs: ((mono - m0) * 1000).round(3))
    log(out, ev)
    [true, ev]
  rescue StandardError => e
    evs = http.x17r_events || []
    connects = evs.select { |x| x[:msg] == 'connected' }.map { |x| x[:port] }
    ev.merge!(event: 'error', error: e.class.name, message: e.message, port: connects.last || pre, connects: connects,
              netHttp: evs.reject { |x| x[:msg] == 'connected' }.map { |x| x[:msg] },
              retried: evs.any? { |x| x[:msg].include?('and retry') }, elapsedMs: ((mono - m0) * 1000).round(3))
    log(out, ev)
    [false, ev]
  end
end

def new_http(uri, kat)
  http = Net::HTTP.new(uri.host, uri.port)
  http.keep_alive_timeout = kat if kat
  http.open_timeout = 3
  http.read_timeout = 5
  http.set_debug_output(File.open(File::NULL, 'w'))   # Net::HTTP#debug runs only with a debug output
  http
end

# One sweep lane (a method, so that its locals are its own: blocks share the enclosing scope's).
def run_lane(lane, uri, out, opts, deadline)
  gaps = opts[:gaps]
  sleep(lane * opts[:stagger])
  http = new_http(uri, opts[:kat])
  http.start
  warm = 0
  ok, = one(http, out, 'GET', "/items/l#{lane}-warm#{warm}", { lane: lane, kind: 'warm' }, nil)
  last = mono
  opts[:rounds].times do |rnd|
    break if mono > deadline
    gap = gaps[(rnd * opts[:lanes] + lane) % gaps.size]
    unless ok
      warm += 1
      ok, = one(http, out, 'GET', "/items/l#{lane}-warm#{warm}", { lane: lane, kind: 'warm' }, nil)
      last = mono
    end
    sleep([last + gap - mono, 0].max)
    method = (rnd + lane).even? ? 'GET' : 'POST'
    path = method == 'POST' ? "/orders?attempt=l#{lane}-r#{rnd}" : "/items/l#{lane}-r#{rnd}"
    ok, = one(http, out, method, path, { lane: lane, round: rnd, kind: 'reuse', gapAsked: gap }, last)
    last = mono
  end
  http.finish if http.started?
rescue StandardError => e
  log(out, { t: wall, event: 'lane-error', lane: lane, error: e.class.name, message: e.message })
end

mode = ARGV.shift
opts = { lanes: 8, rounds: 6, stagger: 0.09, max_seconds: 40.0, kat: nil, gaps: [], script: [] }
OptionParser.new do |o|
  o.on('--base URL') { |v| opts[:base] = v }
  o.on('--log FILE') { |v| opts[:log] = v }
  o.on('--lanes N', Integer) { |v| opts[:lanes] = v }
  o.on('--rounds N', Integer) { |v| opts[:rounds] = v }
  o.on('--gaps LIST') { |v| opts[:gaps] = v.split(',').map(&:to_f) }
  o.on('--stagger S', Float) { |v| opts[:stagger] = v }
  o.on('--keep-alive-timeout S', Float) { |v| opts[:kat] = v }
  o.on('--max-seconds S', Float) { |v| opts[:max_seconds] = v }
  o.on('--script LIST') { |v| opts[:script] = v.split(',').map { |s| m, p = s.split(':'); [m, p.to_f] } }
  o.on('--tag T') { |v| opts[:tag] = v }
end.parse!(ARGV)
uri = URI(opts[:base])
out = File.open(opts[:log], 'a')
deadline = mono + opts[:max_seconds]
log(out, { t: wall, event: 'start', lib: 'net-http', mode: mode,
           versions: { ruby: RUBY_VERSION, 'net-http': Net::HTTP::VERSION },
           keepAliveTimeout: opts[:kat] || 2, maxRetries: new_http(uri, opts[:kat]).max_retries })

case mode
when 'healthy'
  tag = opts[:tag] || 'h'
  http = new_http(uri, opts[:kat])
  http.start
  last = nil
  opts[:script].each_with_index do |(method, pause), i|
    sleep(pause) if pause.positive?
    path = method == 'POST' ? "/orders?c=#{tag}&i=#{i}" : "/items/#{tag}-#{i}"
    _ok, ev = one(http, out, method, path, { kind: 'step', step: i, gapAsked: pause }, last)
    last = mono
    abort("x17r-client: #{ev[:error]}") unless ev[:event] == 'response'
  end
  http.finish
  log(out, { t: wall, event: 'finish', lib: 'net-http' })
when 'sweep'
  gaps = opts[:gaps]
  threads = (0...opts[:lanes]).map { |lane| Thread.new { run_lane(lane, uri, out, opts, deadline) } }
  threads.each { |th| th.join([deadline - mono + 5, 0.1].max) }
  log(out, { t: wall, event: 'finish', lib: 'net-http' })
else
  abort 'usage: x17r-net-http-client.rb healthy|sweep ...'
end
