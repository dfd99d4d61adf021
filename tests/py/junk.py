"""junk: bad datagrams for the end-to-end tests (tests/e2e/garbage.sh), one kind at a time.

    junk.py SRC DST:PORT KIND N [--vni V] [--ip A.B.C.D] [--key FILE HOST]

Sends N datagrams of KIND from SRC (an address of this namespace, any port) to DST:PORT,
about 2000 a second, and prints "sent N". Each is built to fail in one known way:

VXLAN (to a forwarder's port 4789):
  random      random bytes, 1..1400 of them (never a valid VXLAN header)  drop_malformed
  short       a VXLAN header cut to 0..7 bytes                            drop_malformed
  flags       8-byte headers with the I flag clear or a reserved bit set  drop_malformed
  inner       a valid header before an inner frame too short for Ethernet, or an IPv4
              header that is short, not version 4, with IHL < 5 or a total length
              beyond the frame                                             drop_bad_frame
  oversize    a valid frame of 3000 bytes (more than a buffer)            drop_truncated
  unsupported IPv6, 802.1Q and ARP-reply frames                           drop_unsupported
  group       IPv4 to 224.0.0.1, 239.1.2.3, 255.255.255.255               drop_group
  frame       a well-formed IPv4/UDP frame in VNI V (--vni, default 100) to --ip (default
              10.0.0.2) from 10.0.0.99, its IPv4 header checksum wrong (a VM it reaches
              drops it without an answer)
  learn       the same with the learn bit set
Sync protocol (to syncd's port, or a learner's):
  sync-random     random bytes, 1..1400                                  req_malformed
  sync-truncated  a valid SYNC_REQ cut short of its header and MAC        req_malformed
  sync-bad        a SYNC_REQ with one field wrong each: magic, version, type, header pad
                  or flags, count 0 or 65, a body that is not 4 + 28 x count, pad, VNI 0
                  or > 2^24-1, a VNI twice, a cursor without a version above the asker's
                  (bodies MACed after they are made wrong)                 req_malformed
  sync-cut        a valid SYNC_REQ cut inside its body or MAC             auth_failed
Sync datagrams are version 4, MACed with the newest key of --key FILE as host HOST (a
host's key file, tests/py/vsync.py); without --key, unMACed.
  sync-unknown    a valid SYNC_REQ for VNI V (--vni), wait 0: the answers are read and
                  each section's status printed ("status 4" is UNKNOWN)
"""
import random
import socket
import struct
import sys
import time

import rawip
import vsync

rng = random.Random(4789)


def vxlan(vni, learn=False):
    return struct.pack("!BBHI", 0x08, 0x80 if learn else 0, 0, vni << 8)


def eth(ethertype, dst=b"\x02\x00\x00\x00\x00\x02"):
    return dst + b"\x02\x00\x00\x00\x00\x99" + struct.pack("!H", ethertype)


def ipv4(src, dst, payload=b"", good_csum=True, proto=17):
    return rawip.ipv4(src, dst, proto, payload, rng.randrange(65536),
                      0 if good_csum else 0x5a5a)


def udp(payload):
    return struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload


def frame(vni, dst_ip, learn=False, size=0):
    payload = b"junk" + bytes(max(0, size))
    return vxlan(vni, learn) + eth(0x0800) + ipv4("10.0.0.99", dst_ip, udp(payload), False)


def vx_random():
    b = bytearray(rng.randbytes(rng.randrange(1, 1401)))
    # never a valid VXLAN header (byte 0 must be the I flag alone) nor sync magic ("VS")
    if b[0] in (0x08, 0x56):
        b[0] = 0x0c
    return bytes(b)


def vx_short():
    return vxlan(100)[:rng.randrange(0, 8)]


def vx_flags():
    h = bytearray(vxlan(100))
    which = rng.randrange(5)
    if which == 0:
        h[0] = 0x00                         # I flag clear
    elif which == 1:
        h[0] = 0x08 | (1 << rng.choice([0, 1, 2, 4, 5, 6, 7]))
    elif which == 2:
        h[1] = 1 << rng.randrange(7)        # any bit of byte 1 but the learn bit
    elif which == 3:
        h[rng.choice([2, 3])] = rng.randrange(1, 256)
    else:
        h[7] = rng.randrange(1, 256)
    return bytes(h) + eth(0x0800) + ipv4("10.0.0.99", "10.0.0.2", udp(b"x"), False)


def vx_inner():
    which = rng.randrange(5)
    good = ipv4("10.0.0.99", "10.0.0.2", udp(b"x"), False)
    if which == 0:
        f = eth(0x0800)[:rng.randrange(0, 14)]
    elif which == 1:
        f = eth(0x0800) + good[:rng.randrange(0, 20)]
    elif which == 2:
        f = eth(0x0800) + bytes([0x65]) + good[1:]             # version 6 in an IPv4 frame
    elif which == 3:
        f = eth(0x0800) + bytes([0x44]) + good[1:]             # IHL 4
    else:
        f = eth(0x0800) + good[:2] + struct.pack("!H", 1400) + good[4:]   # total length
    return vxlan(100) + f


def vx_unsupported():
    which = rng.randrange(3)
    if which == 0:
        return vxlan(100) + eth(0x86dd) + bytes(40)
    if which == 1:
        return vxlan(100) + eth(0x8100) + b"\x00\x01\x08\x00" + \
            ipv4("10.0.0.99", "10.0.0.2", udp(b"x"), False)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, b"\x02\0\0\0\0\x99",
                      socket.inet_aton("10.0.0.99"), b"\x02\0\0\0\0\x02",
                      socket.inet_aton("10.0.0.2"))
    return vxlan(100) + eth(0x0806) + arp


def vx_group():
    dst = rng.choice(["224.0.0.1", "239.1.2.3", "255.255.255.255"])
    return vxlan(100) + eth(0x0800) + ipv4("10.0.0.99", dst, udp(b"x"), False)


# Sync datagrams speak version 4 (tests/py/vsync.py), MACed with --key as --host when
# given: the syncd checks the MAC before it decodes the body, so a body made wrong is
# MACed after it is made wrong, a header after it is MACed.
KEY = None
HOST = ""


def sync_req(vnis, wait=0, rid=None, version=0):
    return vsync.req(vnis, rid if rid is not None else rng.randrange(1 << 32), HOST, KEY,
                     wait, version)


def sync_bad():
    hlen = vsync.HDR.size + len(HOST)
    body = bytearray(vsync.req_body([100]))
    which = rng.randrange(13)
    if which == 3:
        body[2] = 0                         # count 0
    elif which == 4:
        body = bytearray(vsync.req_body(list(range(1, 66))))  # count 65
    elif which == 5:
        body += b"\0" * rng.randrange(1, 28)                  # not 4 + 28 x count
    elif which == 6:
        body[3] = 1                         # pad
    elif which == 7:
        body[4:8] = struct.pack("!I", 0)    # VNI 0
    elif which == 8:
        body[4:8] = struct.pack("!I", 0x1000000)
    elif which == 9:
        body = bytearray(vsync.req_body([100, 100]))         # a VNI twice
    elif which == 10:
        # a cursor version not above the asker's version
        body = bytearray(vsync.req_body([100], version=5))
        body[20:28] = struct.pack("!Q", 3)                     # cursor_version 3 <= 5
    good = bytearray(vsync.seal(vsync.header(vsync.REQ, rng.randrange(1 << 32), HOST, KEY) +
                                bytes(body), KEY))
    if which == 0:
        good[0] = 0x57                      # magic
    elif which == 1:
        good[2] = 1                         # version
    elif which == 2:
        good[3] = rng.choice([0, 2, 3, 9])  # type
    elif which == 11:
        good[11] = 1                        # the header's pad
    elif which == 12:
        good[9] |= 0x80                     # a flag no version has
    assert len(good) >= hlen
    return bytes(good)


def sync_cut():
    """A valid SYNC_REQ cut inside its body or MAC: the header is whole, the MAC wrong."""
    d = sync_req([100])
    return d[:rng.randrange(vsync.HDR.size + len(HOST) + vsync.MAC_SIZE, len(d))]


KINDS = {
    "random": vx_random, "short": vx_short, "flags": vx_flags, "inner": vx_inner,
    "unsupported": vx_unsupported, "group": vx_group,
    "sync-random": lambda: vx_random(),
    "sync-truncated": lambda: sync_req([100])[:rng.randrange(0, vsync.HDR.size + len(HOST) +
                                                              vsync.MAC_SIZE)],
    "sync-bad": sync_bad,
    "sync-cut": sync_cut,
}


def main():
    global KEY, HOST
    args = sys.argv[1:]
    if "--key" in args:
        i = args.index("--key")
        KEY = vsync.read_keys(args[i + 1])[-1]
        HOST = args[i + 2]
        del args[i:i + 3]
    vni, ip = 100, "10.0.0.2"
    if "--vni" in args:
        i = args.index("--vni")
        vni = int(args[i + 1])
        del args[i:i + 2]
    if "--ip" in args:
        i = args.index("--ip")
        ip = args[i + 1]
        del args[i:i + 2]
    if len(args) != 4:
        sys.exit(__doc__)
    src, dst, kind, n = args[0], args[1], args[2], int(args[3])
    host, port = dst.rsplit(":", 1)
    to = (host, int(port))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    if kind == "sync-unknown":
        s.settimeout(2)
        for _ in range(n):
            s.sendto(sync_req([vni], wait=0), to)
            data = s.recv(65536)
            print("status %d" % vsync.first_status(data))
        print("sent %d" % n)
        return
    if kind == "oversize":
        make = lambda: frame(vni, ip, size=3000)
    elif kind == "frame":
        make = lambda: frame(vni, ip)
    elif kind == "learn":
        make = lambda: frame(vni, ip, learn=True)
    elif kind in KINDS:
        make = KINDS[kind]
    else:
        sys.exit("junk: no kind %s\n%s" % (kind, __doc__))
    for i in range(n):
        s.sendto(make(), to)
        if i % 20 == 19:
            time.sleep(0.01)
    print("sent %d" % n)


main()
