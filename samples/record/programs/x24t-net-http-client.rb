#!/usr/bin/ruby
# Ruby's Net::HTTP (Debian ruby 3.1, net-http 0.3) with read_timeout set, for
# unanswered-request-jvm-ruby-erlang-timeouts.sh.
#
#   x24t-net-http-client.rb --base URL --log FILE --read-timeout 3 [--pause 0.3] [--max-seconds 40] METHOD:PATH ...
#
# One Net::HTTP session (Net::HTTP.start: a persistent keep-alive connection) with read_timeout set
# (60 s by default) and everything else at its default: max_retries 1, keep_alive_timeout 2 s,
# open_timeout 60 s. Its requests are sent one at a time, PAUSE s apart. read_timeout bounds each
# wait for the socket to become readable (Net::BufferedIO#rbuf_fill, wait_readable(read_timeout));
# when it runs out Net::HTTP raises Net::ReadTimeout. Net::HTTP#transport_request rescues it (with
# EOFError, ECONNRESET...) and, for an idempotent method (GET HEAD PUT DELETE OPTIONS TRACE) while
# count < max_retries, closes the socket and sends the same request again on a new connection
# (debug "Conn close because of error Net::ReadTimeout..., and retry"); otherwise it closes the
# socket and raises. After a failure the session reconnects for the next request. Bounded: each
# request is bounded by its timeouts, and no request starts after MAX_SECONDS.
#
# One JSON line per request in FILE: client "ruby", method, uri, start and end (wall clock, epoch s),
# elapsed (s), connects (the local ports of the connections Net::HTTP opened during it, in order),
# pooledPort (the open connection's local port before it, or null), netHttp (Net::HTTP's own debug
# messages during it), retried, then status and port, or error (exception class), message and port
# (the connection it last failed on).
require 'net/http'
require 'json'
require 'optparse'

module X24tHooks
  attr_accessor :x24t_events

  private

  def connect
    super
    (@x24t_events ||= []) << { t: Process.clock_gettime(Process::CLOCK_REALTIME).round(6), msg: 'connected',
                               port: @socket.io.local_address.ip_port }
  end

  def debug(msg)
    (@x24t_events ||= []) << { t: Process.clock_gettime(Process::CLOCK_REALTIME).round(6), msg: msg.to_s }
    super
  end
end
Net::HTTP.prepend(X24tHooks)

opts = { pause: 0.3, max_seconds: 40.0 }
OptionParser.new do |o|
  o.on('--base URL') { |v| opts[:base] = v }
  o.on('--log FILE') { |v| opts[:log] = v }
  o.on('--read-timeout S', Float) { |v| opts[:read_timeout] = v }
  o.on('--pause S', Float) { |v| opts[:pause] = v }
  o.on('--max-seconds S', Float) { |v| opts[:max_seconds] = v }
end.parse!(ARGV)

def wall = Process.clock_gettime(Process::CLOCK_REALTIME).round(6)

def open_port(http)
  sock = http.instance_variable_get(:@socket)
  sock.nil? || sock.closed? ? nil : sock.io.local_address.ip_port
rescue StandardError
  nil
end

uri = URI(opts[:base])
http = Net::HTTP.new(uri.host, uri.port)
http.read_timeout = opts[:read_timeout]
t_begin = wall
File.open(opts[:log], 'a') do |out|
  http.start do
    ARGV.each do |step|
      break if wall - t_begin > opts[:max_seconds]
      method, path = step.split(':', 2)
      http.x24t_events = []
      ev = { client: 'ruby', method: method, uri: path, pooledPort: open_port(http), readTimeout: http.read_timeout,
             maxRetries: http.max_retries, start: wall }
      begin
        req = method == 'POST' ? Net::HTTP::Post.new(path, 'Content-Type' => 'application/x-www-form-urlencoded') : Net::HTTP::Get.new(path)
        req.body = 'order=1' if method == 'POST'
        res = http.request(req)
        ev[:status] = res.code.to_i
        ev[:port] = open_port(http)
      rescue StandardError => e
        ev[:error] = e.class.name
        ev[:message] = e.message
      end
      ev[:end] = wall
      ev[:elapsed] = (ev[:end] - ev[:start]).round(4)
      evs = http.x24t_events
      ev[:connects] = evs.select { |x| x[:msg] == 'connected' }.map { |x| x[:port] }
      ev[:port] ||= ev[:connects].last || ev[:pooledPort]
      ev[:netHttp] = evs.reject { |x| x[:msg] == 'connected' }.map { |x| { t: x[:t], msg: x[:msg] } }
      ev[:retried] = ev[:netHttp].any? { |x| x[:msg].end_with?('and retry') }
      out.puts(JSON.generate(ev))
      out.flush
      sleep opts[:pause]
    end
  end
end
