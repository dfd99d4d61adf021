"""vxcap: a capture of VXLAN frames on one interface, for the end-to-end tests (no
tcpdump needed).

    vxcap.py IFACE [PORT]

Prints "ready" once capturing, then one line a VXLAN datagram (UDP to PORT, default 4789)
the interface receives or sends, as it comes:

    TIME DIR OUTER_SRC OUTER_DST VNI LEARN INNER_SRC INNER_DST

TIME: the kernel's timestamp of the frame (epoch seconds, the clock of bash's
EPOCHREALTIME); DIR: in or out; LEARN: 1 when the learn bit (byte 1, 0x80) is set;
INNER_SRC and INNER_DST: the inner IPv4 addresses, or "-" (ARP, garbage). Flushed after
every line; runs until killed.
"""
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4


def ip(b):
    return socket.inet_ntoa(b)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    port = int(sys.argv[2]) if len(sys.argv) == 3 else 4789
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.bind((sys.argv[1], 0))
    print("ready", flush=True)
    out = sys.stdout
    while True:
        data, anc, _, addr = s.recvmsg(65536, 256)
        t = None
        for level, kind, val in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", val[:16])
                t = sec + nsec / 1e9
        # Ethernet, IPv4, UDP to port
        if len(data) < 14 + 20 + 8 or data[12:14] != b"\x08\x00":
            continue
        ihl = (data[14] & 0xf) * 4
        if data[14] >> 4 != 4 or data[23] != 17 or len(data) < 14 + ihl + 8:
            continue
        u = 14 + ihl
        if struct.unpack("!H", data[u + 2:u + 4])[0] != port:
            continue
        src, dst = ip(data[26:30]), ip(data[30:34])
        v = data[u + 8:]
        vni, learn, isrc, idst = -1, 0, "-", "-"
        if len(v) >= 8:
            vni = v[4] << 16 | v[5] << 8 | v[6]
            learn = 1 if v[1] & 0x80 else 0
            f = v[8:]
            if len(f) >= 34 and f[12:14] == b"\x08\x00":
                isrc, idst = ip(f[26:30]), ip(f[30:34])
        out.write("%.6f %s %s %s %d %d %s %s\n" % (
            t if t is not None else 0.0, "out" if addr[2] == PACKET_OUTGOING else "in",
            src, dst, vni, learn, isrc, idst))
        out.flush()


main()
