/**
 * Why a packet was not decoded as a TCP segment, or was decoded with a reservation.
 * Stable ids, like Wireshark's expert items or Zeek's "weird" names: the decoder only
 * names the issue, the caller counts packets per id and the report shows the counts.
 * Assigning one of these string constants allocates nothing.
 */
export const DECODE_ISSUES = {
  none: 'decoded cleanly',
  // Truncated: the capture (snaplen, cut record) ends before the headers needed.
  'link-header-truncated': 'capture ends inside the link-layer header (Ethernet, VLAN, MPLS, PPPoE, SLL, NULL, NFLOG, PKTAP), or an empty raw-IP packet',
  'ipv4-header-truncated': 'capture ends inside the IPv4 header',
  'ipv6-header-truncated': 'capture ends inside the IPv6 header or its extension headers',
  'ip-ah-header-truncated': 'capture ends inside an IP Authentication Header',
  'tunnel-header-truncated': 'capture ends inside a tunnel header (GRE, ERSPAN, VXLAN, GENEVE)',
  'tcp-header-truncated': 'capture ends before the TCP window field (ports, sequence numbers, flags, window)',
  // Tcp, with a reservation (the PacketView is filled).
  'tcp-options-truncated': 'TCP segment usable, but snaplen cut the end of its header: checksum, urgent pointer or options (headerTruncated)',
  'tcp-options-malformed': 'TCP segment usable, but an option has an impossible length (optionsMalformed)',
  // Malformed: header fields that contradict each other or the packet length on the wire.
  'link-header-invalid': 'link-layer header makes no sense (too many VLAN tags or MPLS labels, NFLOG attributes that overrun the packet, a PKTAP header length out of range)',
  'ip-version-invalid': 'IP version field does not match the link layer (or is neither 4 nor 6)',
  'ipv4-header-length-invalid': 'IPv4 header length below 20 bytes or beyond the packet',
  'ipv4-options-invalid': 'IPv4 option list does not parse (option length below 2 or past the header)',
  'ipv4-total-length-invalid': 'IPv4 total length smaller than its header length',
  'ipv6-header-invalid': 'packet on the wire shorter than a fixed IPv6 header',
  'ip-extension-header-invalid': 'IPv6 extension header or IP AH runs beyond the datagram, or the chain is too long',
  'tunnel-header-invalid': 'tunnel header (GRE, ERSPAN, VXLAN, GENEVE) runs beyond its packet, or leaves no room for the frame it carries',
  'tcp-segment-too-short': 'IP lengths leave fewer than 20 bytes for the TCP header',
  'tcp-data-offset-invalid': 'TCP data offset below 5 (20 bytes)',
  'tcp-header-beyond-segment': 'TCP data offset points beyond the end of the segment given by the IP lengths',
  'decoder-error': 'internal decoder error (a bug: please report the packet)',
  // NotTcp
  'not-ip': 'link layer carries something other than IPv4/IPv6 (ARP, LLDP, unknown family, a PKTAP record without a packet, ...)',
  'not-tcp': 'IP carries something other than TCP (UDP, ICMP, ESP, ...), or a tunnel carries something other than IP',
  'ipv6-no-next-header': 'IPv6 next header 59: no payload',
  'ip-tunnel-too-deep': 'more nested tunnels (IP-in-IP, GRE, VXLAN, GENEVE) than conncheck follows',
  'icmp-error': 'ICMP destination unreachable or time exceeded (ICMPv6 likewise) quoting a TCP segment: not a segment, noted on the connection it names',
  'icmp-quote-truncated': 'ICMP error whose quoted datagram ends before the first 8 bytes of the TCP header (ports, sequence number)',
  'icmp-quote-invalid': 'ICMP error whose quoted datagram is not a well-formed IP header of its family',
  // Fragment
  'ipv4-fragment': 'IPv4 fragment (not reassembled)',
  'ipv6-fragment': 'IPv6 fragment (not reassembled)',
  // UnsupportedLink
  'unsupported-link-type': 'link type conncheck does not decode',
} as const;

export type DecodeIssue = keyof typeof DECODE_ISSUES;
