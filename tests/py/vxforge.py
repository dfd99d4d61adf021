"""vxforge: VXLAN from a raw socket with any IPv4 source, for tests/e2e/vtep.sh.

    vxforge.py SRC DST VNI INNER_IP INNER_PORT N [INTERVAL]

Sends N datagrams SRC:4789 -> DST:4789 (IP_HDRINCL: SRC need not be an address of this
namespace), each VXLAN in VNI with a well-formed Ethernet/IPv4/UDP frame from 10.0.0.99
to INNER_IP:INNER_PORT (valid checksums: a VM it reaches delivers it), INTERVAL
seconds apart (default 0), and prints "sent N".
"""
import socket
import struct
import sys
import time

from rawip import ipv4, udp


def main():
    src, dst, vni, ip, port, n = sys.argv[1:7]
    vni, port, n = int(vni), int(port), int(n)
    interval = float(sys.argv[7]) if len(sys.argv) > 7 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    for i in range(n):
        inner = ipv4("10.0.0.99", ip, 17, udp(40000, port, b"forged %d" % i), i + 1)
        frame = (b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x99" +
                 struct.pack("!H", 0x0800) + inner)
        vx = struct.pack("!BBHI", 0x08, 0, 0, vni << 8) + frame
        s.sendto(ipv4(src, dst, 17, udp(4789, 4789, vx), i + 1), (dst, 0))
        if interval:
            time.sleep(interval)
    print("sent %d" % n)


main()
