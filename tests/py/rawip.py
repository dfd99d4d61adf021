"""rawip: IPv4 and UDP headers for raw sockets (IP_HDRINCL), for the tests that forge
what a box on the underlay could send (attack.py, vxforge.py, junk.py)."""

import socket
import struct


def csum(b):
    """The Internet checksum (RFC 1071) of b."""
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ipv4(src, dst, proto, payload, ident, csum_xor=0):
    """An IPv4 header (no options, TTL 64) and payload; csum_xor spoils the checksum."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h) ^ csum_xor) + h[12:] + payload


def udp(sport, dport, payload):
    """A UDP header with checksum 0 (none: allowed over IPv4) and payload."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
