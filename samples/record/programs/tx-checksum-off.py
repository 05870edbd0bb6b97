#!/usr/bin/env python3
"""Turn transmit checksum offload off on one interface, as `ethtool -K IFACE tx off` does.

Usage: tx-checksum-off.py IFACE   (run inside the interface's network namespace)

ethtool is not always installed; this is its ETHTOOL_STXCSUM request (linux/ethtool.h) through the
SIOCETHTOOL ioctl. With it off, the kernel computes the TCP checksum in software before the device
sends, so tcpdump sees it complete there, while it saw the same packet arriving from a veth with
only the pseudo-header sum that checksum offload leaves for the device.
"""
import array
import fcntl
import socket
import struct
import sys

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x17


def main():
    name = sys.argv[1]
    value = array.array("B", struct.pack("II", ETHTOOL_STXCSUM, 0))
    request = struct.pack("16sP", name.encode(), value.buffer_info()[0])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, request)
    return 0


if __name__ == "__main__":
    sys.exit(main())
