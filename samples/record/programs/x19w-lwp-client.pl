#!/usr/bin/perl
# One lane of Perl's LWP::UserAgent (Debian libwww-perl 6.68) for the x19w recorders: one
# LWP::UserAgent->new(keep_alive => N) for the whole lane (an LWP::ConnCache of total capacity N: LWP
# keeps the connection and reuses it; the cache has no idle timeout of its own).
#
#   perl x19w-lwp-client.pl --base URL --log FILE --lane N [--gaps G1,G2,...] [--rounds R] [--lanes L]
#       [--stagger S] [--max-seconds S] [--keep-alive N] [--script GET:0,POST:0.3,...] [--tag T]
#
# Same lane shapes as x19w-php-curl-client.php (sweep: warm GET, then rounds of pause + GET/POST
# alternating, a new warm GET after a failure; script: fixed steps).
#
# Every request is one JSON line in FILE: t / sentAt, lib, lane, method, uri, kind, gapAsked,
# idleMeasured, pooledPort (local port of the connection in LWP's cache before the request, null if
# none), connects (local ports of the connections LWP::Protocol::http opened for it: hooked
# _new_socket), abandonedPooled (LWP withdrew the cached connection but found it readable, i.e. the
# server's FIN had arrived: LWP::Protocol::http closes it and connects anew), port (the connection the
# request went out on: the new one, else the pooled one), then status and, for LWP's own error
# responses (Client-Warning: Internal response; LWP never retries), error = the status line's message
# ("Server closed connection without sending any data back", "read failed: Connection reset by peer"...).
use strict;
use warnings;
use LWP::UserAgent;
use LWP::Protocol::http;
use HTTP::Request;
use JSON::PP;
use Time::HiRes qw(time sleep clock_gettime CLOCK_MONOTONIC);
use Fcntl qw(:flock);

my %o = (gaps => '', rounds => 6, lanes => 1, stagger => 0.1, 'max-seconds' => 40, script => '', lane => 0, tag => '',
         'keep-alive' => 1);
for (my $i = 0; $i < @ARGV; $i += 2) { (my $k = $ARGV[$i]) =~ s/^--//; $o{$k} = $ARGV[$i + 1]; }
my $base = $o{base};
my $lane = 0 + $o{lane};
open(my $out, '>>', $o{log}) or die "log: $!";
my $json = JSON::PP->new->canonical;

sub logj { my ($ev) = @_; flock($out, LOCK_EX); print $out $json->encode($ev), "\n"; $out->flush; flock($out, LOCK_UN); }
sub r6 { 0 + sprintf('%.6f', $_[0]) }

# LWP::Protocol::http opens a new connection only in _new_socket: note each one's local port.
my @connects;
{
    no warnings 'redefine';
    my $orig = \&LWP::Protocol::http::_new_socket;
    *LWP::Protocol::http::_new_socket = sub {
        my $sock = $orig->(@_);
        push @connects, 0 + $sock->sockport;
        return $sock;
    };
}

my $ua = LWP::UserAgent->new(keep_alive => $o{'keep-alive'}, timeout => 5);
my $last_end;

sub pooled_port {
    my @c = $ua->conn_cache->get_connections;
    return @c ? 0 + $c[0]->sockport : undef;
}

sub one {
    my ($method, $path, $extra) = @_;
    my $pooled = pooled_port();
    @connects = ();
    my $t0 = time;
    my $m0 = clock_gettime(CLOCK_MONOTONIC);
    my %ev = (t => r6($t0), sentAt => r6($t0), lib => 'lwp', %$extra, method => $method, uri => $path, pooledPort => $pooled);
    $ev{idleMeasured} = r6($m0 - $last_end) if defined $last_end;
    my $req = HTTP::Request->new($method => $base . $path);
    if ($method eq 'POST') {
        $req->header('Content-Type' => 'application/json');
        $req->content($json->encode({order => $path, items => [1, 2, 3]}));
    }
    my $res = $ua->request($req);
    my $end = clock_gettime(CLOCK_MONOTONIC);
    $ev{connects} = [@connects];
    $ev{abandonedPooled} = (defined $pooled && @connects) ? JSON::PP::true : JSON::PP::false;
    $ev{port} = @connects ? $connects[-1] : $pooled;
    $ev{status} = 0 + $res->code;
    $ev{elapsedMs} = r6(($end - $m0) * 1000);
    my $internal = ($res->header('Client-Warning') // '') eq 'Internal response';
    if ($internal) {
        $ev{event} = 'error';
        $ev{error} = $res->message;
        $ev{message} = $res->status_line;
        $ev{clientWarning} = 'Internal response';
    } else {
        $ev{event} = 'response';
    }
    logj(\%ev);
    $last_end = clock_gettime(CLOCK_MONOTONIC);
    return !$internal;
}

my $deadline = clock_gettime(CLOCK_MONOTONIC) + $o{'max-seconds'};
logj({t => r6(time), event => 'start', lib => 'lwp', lane => $lane,
      versions => {perl => sprintf('%vd', $^V), lwp => $LWP::VERSION, 'net-http' => $Net::HTTP::VERSION}, keepAlive => 0 + $o{'keep-alive'}});
if ($o{script} ne '') {
    my $k = 0;
    for my $step (split /,/, $o{script}) {
        my ($method, $pause) = split /:/, $step;
        if (defined $last_end) { my $w = $pause - (clock_gettime(CLOCK_MONOTONIC) - $last_end); sleep($w) if $w > 0; }
        my $path = $method eq 'POST' ? "/orders?attempt=$o{tag}$k" : "/items/$o{tag}$k";
        one($method, $path, {lane => $lane, kind => 'step', step => $k});
        $k++;
    }
} else {
    my @gaps = split /,/, $o{gaps};
    sleep($lane * $o{stagger});
    my $warm = 0;
    my $ok = one('GET', "/items/l$lane-warm$warm", {lane => $lane, kind => 'warm'});
    for my $rnd (0 .. $o{rounds} - 1) {
        last if clock_gettime(CLOCK_MONOTONIC) > $deadline;
        my $gap = $gaps[($rnd * $o{lanes} + $lane) % @gaps];
        unless ($ok) { $warm++; $ok = one('GET', "/items/l$lane-warm$warm", {lane => $lane, kind => 'warm'}); }
        my $w = $gap - (clock_gettime(CLOCK_MONOTONIC) - $last_end);
        sleep($w) if $w > 0;
        my $method = ($rnd + $lane) % 2 == 0 ? 'GET' : 'POST';
        my $path = $method eq 'POST' ? "/orders?attempt=l$lane-r$rnd" : "/items/l$lane-r$rnd";
        $ok = one($method, $path, {lane => $lane, round => $rnd, kind => 'reuse', gapAsked => 0 + $gap});
    }
}
$ua->conn_cache->drop;
