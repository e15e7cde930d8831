#!/usr/bin/perl
# A VNC viewer from CPAN's Net::VNC (Debian libnet-vnc-perl), driven by
# tests/unit/test_vnc_clients.c:
#   netvnc-client.pl PORT PASSWORD pixel X Y   prints "R G B" of the captured frame
#   netvnc-client.pl PORT PASSWORD key SYM...  sends each keysym (hex) down and up
#   netvnc-client.pl PORT PASSWORD pointer X,Y,MASK...  sends each pointer event
# PASSWORD "-" means none. Exits non-zero (and says why) if login fails.
use strict;
use warnings;
use Net::VNC;

# A refused login closes the socket: see it as an error, not as SIGPIPE.
$SIG{PIPE} = "IGNORE";

my ($port, $password, $action, @args) = @ARGV;
die "usage: $0 PORT PASSWORD pixel X Y | key SYM... | pointer X,Y,MASK...\n" unless defined $action;
my %opts = (hostname => '127.0.0.1', port => $port);
$opts{password} = $password if $password ne '-';
my $vnc = Net::VNC->new(\%opts);
$vnc->depth(24);
$vnc->hide_cursor(1);
eval { $vnc->login; 1 } or do { print "login failed: $@"; exit 2; };
if ($action eq 'pixel') {
    my $image = $vnc->capture;
    my ($r, $g, $b) = $image->query_pixel($args[0], $args[1]);
    print "$r $g $b\n";
} elsif ($action eq 'key') {
    $vnc->send_key_event(hex $_) for @args;
    # A capture round-trip: the server has read the keys when it answers.
    $vnc->capture;
    print "sent\n";
} elsif ($action eq 'pointer') {
    for (@args) {
        my ($x, $y, $mask) = split /,/;
        $vnc->send_pointer_event($mask, $x, $y);
    }
    $vnc->capture;
    print "sent\n";
} else {
    die "unknown action $action\n";
}
exit 0;
