#!/usr/bin/perl
# The Mojolicious server of the x19t recorders (Debian libmojolicious-perl 9.31): a
# Mojolicious::Lite app in Mojo::Server::Daemon on ADDR:PORT. KEEP_ALIVE is the daemon's
# keep_alive_timeout in seconds, or "default" to leave it alone (5 s, or MOJO_KEEP_ALIVE_TIMEOUT).
# How Mojolicious 9.31 closes an idle keep-alive connection (Mojo/Server/Daemon.pm, _finish: once
# a response is written the stream's timeout becomes keep_alive_timeout; Mojo/IOLoop/Stream.pm:
# the timer restarts on every read and write and, when it fires, emits "timeout" and calls
# close(), which drops the handle: the socket is closed, FIN, and a request arriving after it is
# answered RST by the kernel). inactivity_timeout (30 s) only applies while a request is active.
# GET or POST /anything answers 200 with {"client":"IP:PORT","method":...,"uri":...}.
#
# One JSON object per line to LOG (epoch seconds): started (versions, the timeouts in force),
# request (one that reached the application; the first one on a connection also subscribes to
# its stream), idle-close (the stream's timeout event: the keep-alive timer fired), close (the
# stream closed: after its timeout, or when the client closed its side).
#
# Usage: x19t-mojo-server.pl ADDR PORT KEEP_ALIVE|default LOG
use strict;
use warnings;
use Mojolicious::Lite;
use Mojo::Server::Daemon;
use Mojo::IOLoop;
use Mojo::JSON qw(encode_json);
use Time::HiRes qw(time);
use IO::Handle;

my ($addr, $port, $keep_alive, $log_path) = @ARGV;
open(my $out, '>>', $log_path) or die "$log_path: $!";
$out->autoflush(1);

sub logj {
  my ($event, %kw) = @_;
  print $out encode_json({t => sprintf('%.6f', time) + 0, lib => 'mojolicious', event => $event, %kw}), "\n";
}

app->log->level('fatal');
my %watched;

any '/*whatever' => sub {
  my $c = shift;
  my $remote = $c->tx->remote_address . ':' . $c->tx->remote_port;
  my $id = $c->tx->connection;
  unless ($watched{$id}++) {
    my $stream = Mojo::IOLoop->stream($id);
    $stream->on(timeout => sub { logj('idle-close', remote => $remote) });
    $stream->on(close => sub { logj('close', remote => $remote); delete $watched{$id} });
  }
  logj('request', remote => $remote, method => $c->req->method, uri => $c->req->url->path_query);
  $c->render(json => {client => $remote, method => $c->req->method, uri => $c->req->url->path_query});
};

my $daemon = Mojo::Server::Daemon->new(app => app, listen => ["http://$addr:$port"], silent => 1);
$daemon->keep_alive_timeout($keep_alive) unless $keep_alive eq 'default';
$daemon->start;
logj('started', mojolicious => $Mojolicious::VERSION, perl => sprintf('%vd', $^V),
  keepAliveTimeout => $daemon->keep_alive_timeout + 0, inactivityTimeout => $daemon->inactivity_timeout + 0,
  reactor => ref Mojo::IOLoop->singleton->reactor);
Mojo::IOLoop->timer(110 => sub { Mojo::IOLoop->stop });   # bounded: the recorder ends it long before
Mojo::IOLoop->start;
