# A tiny PSGI app for keepalive-race-starman.sh (run by Starman with its defaults but --workers):
# GET -> 200 text/plain "ok <uri>", POST -> reads the body, 201 application/json. Each request it
# handled is one JSON line appended to $ENV{X19L_SERVER_LOG} (wall clock t, worker pid, the client's
# port, method, uri, status, body bytes): ground truth that a request reached the application.
use strict;
use warnings;
use Time::HiRes ();

my $log = $ENV{X19L_SERVER_LOG} || '/dev/stderr';

sub log_line {
    my (%e) = @_;
    my $json = '{' . join(',', map {
        my $v = $e{$_};
        $v =~ /^-?\d+(\.\d+)?$/ ? "\"$_\":$v" : do { (my $s = $v) =~ s/(["\\])/\\$1/g; "\"$_\":\"$s\"" }
    } sort keys %e) . '}';
    open(my $fh, '>>', $log) or return;
    syswrite($fh, "$json\n");   # one write per line: the workers append to one file
    close($fh);
}

my $app = sub {
    my $env = shift;
    my $method = $env->{REQUEST_METHOD};
    my $uri = $env->{REQUEST_URI};
    my ($status, $type, $body) = (200, 'text/plain', "ok $uri\n");
    my $read = 0;
    if ($method eq 'POST') {
        my $in = $env->{'psgi.input'};
        while ($in->read(my $buf, 8192)) { $read += length $buf; }
        ($status, $type, $body) = (201, 'application/json', qq({"ok":true,"bytes":$read}\n));
    }
    log_line(event => 'request', t => sprintf('%.6f', Time::HiRes::time()), pid => $$, port => $env->{REMOTE_PORT},
             method => $method, uri => $uri, status => $status, bodyBytes => $read);
    return [$status, ['Content-Type' => $type, 'Content-Length' => length $body], [$body]];
};
$app;
