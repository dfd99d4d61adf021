"""attack: an attacker on the underlay against the sync and learn protocol, for
tests/e2e/attack_sync.sh. No vpcfwd process runs where it does; it forges source
addresses with raw sockets (IP_HDRINCL), so a datagram seems to come from a gateway.

    attack.py sniff IFACE PORT FILE
        wait on IFACE (AF_PACKET) for the first LEARN to UDP port PORT; write
        "SRC_IP SRC_PORT HEX" to FILE. Prints "ready" once listening, "captured" after.
    attack.py send SRC:PORT DST:PORT KIND [ARGS]
        one datagram from SRC:PORT (forged) to DST:PORT, of KIND:
        forged-learn CAPTURE VTEP IP   a LEARN to the captured host of rule IP at VTEP, in
                                       the captured generation, far ahead in version,
                                       MACed with a made-up key of the captured key id
        forged-resp CAPTURE VTEP IP    the same as a SYNC_RESP answering a guessed id
        replay CAPTURE                 the captured LEARN again, byte for byte
        other-key CAPTURE KEYFILE VTEP IP  the forged LEARN MACed with KEYFILE (another
                                       host's key, stolen), named as the captured host
        other-key-req KEYFILE NAME     a SYNC_REQ naming NAME, MACed with KEYFILE
    Prints "sent".
"""
import os
import random
import socket
import struct
import sys

import rawip
import vsync


def addr(s):
    h, p = s.rsplit(":", 1)
    return h, int(p)


def ip_int(s):
    return struct.unpack("!I", socket.inet_aton(s))[0]


def sniff(iface, port, path):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    print("ready", flush=True)
    while True:
        f = s.recv(65536)
        ip = f[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            continue
        sport, dport = struct.unpack_from("!HH", ip, ihl)
        data = ip[ihl + 8:struct.unpack_from("!H", ip, 2)[0]]
        p = vsync.parse(data)
        if dport != port or p is None or p[0] != vsync.LEARN:
            continue
        with open(path + ".new", "w") as out:
            out.write("%s %d %s\n" % (socket.inet_ntoa(ip[12:16]), sport, data.hex()))
        os.rename(path + ".new", path)
        print("captured", flush=True)
        return


def captured(path):
    with open(path) as f:
        _, _, hexdata = f.read().split()
    return bytes.fromhex(hexdata)


def forged(cap, vtep, ip, key, typ=vsync.LEARN, rid=0):
    """A LEARN (or answer) the captured host would install, were it not for the MAC."""
    _, _, _, name, _, _ = vsync.parse(cap)
    vni, gen, upto = vsync.learn_section(cap)
    return vsync.learn(vni, gen, upto + 1000, ip_int(ip), ip_int(vtep), upto + 1000, name,
                       key, typ=typ, rid=rid)


def send(src, dst, data):
    pkt = rawip.ipv4(src[0], dst[0], 17, rawip.udp(src[1], dst[1], data),
                     random.randrange(65536))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.sendto(pkt, (dst[0], 0))
    print("sent", flush=True)


def main():
    a = sys.argv[1:]
    if len(a) == 4 and a[0] == "sniff":
        return sniff(a[1], int(a[2]), a[3])
    if len(a) < 4 or a[0] != "send":
        sys.exit(__doc__)
    src, dst, kind, args = addr(a[1]), addr(a[2]), a[3], a[4:]
    made_up = None
    if kind.startswith("forged"):
        # the key id the real one used, a key the attacker cannot have
        made_up = (vsync.HDR.unpack_from(captured(args[0]))[4], os.urandom(32))
    if kind == "forged-learn":
        data = forged(captured(args[0]), args[1], args[2], made_up)
    elif kind == "forged-resp":
        data = forged(captured(args[0]), args[1], args[2], made_up, vsync.RESP,
                      random.randrange(1, 1 << 32))
    elif kind == "replay":
        data = captured(args[0])
    elif kind == "other-key":
        data = forged(captured(args[0]), args[2], args[3], vsync.read_keys(args[1])[-1])
    elif kind == "other-key-req":
        data = vsync.req([100], random.randrange(1, 1 << 32), args[1],
                         vsync.read_keys(args[0])[-1])
    else:
        sys.exit("attack: no kind %s\n%s" % (kind, __doc__))
    send(src, dst, data)


if __name__ == "__main__":
    main()
