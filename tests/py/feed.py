"""feed: a learner's side of the binding feed (docs/protocol.md), for the tests: it
subscribes to HOST's bindings and prints one JSON line per record it gets:
{"type": "snap_begin"|"bind"|"host"|"snap_end"|"heartbeat", ...}. It exits after COUNT bind
records (or never with 0).

    feed.py ADDR:PORT NODE HOST COUNT
"""
import json
import socket
import struct
import sys

HELLO, SNAP_BEGIN, SNAP_END, HEARTBEAT, BIND, ERROR, HOST = 1, 4, 5, 6, 7, 8, 12


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            sys.exit("feed: the controller closed the connection")
        buf += chunk
    return buf


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    node, subject, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
    s = socket.create_connection((host, int(port)))
    body = struct.pack(">BBH B3x Q 32s 32s", 1, HELLO, 0, 2, 0,
                       node.encode(), subject.encode())
    s.sendall(struct.pack(">I", len(body)) + body)
    binds = 0
    while count == 0 or binds < count:
        n = struct.unpack(">I", recv_exact(s, 4))[0]
        b = recv_exact(s, n)
        ver, typ = b[0], b[1]
        if ver != 1:
            sys.exit("feed: version %d" % ver)
        if typ in (SNAP_BEGIN, SNAP_END):
            seq, cnt = struct.unpack(">QQ", b[4:20])
            ev = {"type": "snap_begin" if typ == SNAP_BEGIN else "snap_end", "seq": seq,
                  "count": cnt}
        elif typ == BIND:
            seq, vni, ip = struct.unpack(">QII", b[4:20])
            mac, op, tap = b[20:26], b[26], b[28:44].rstrip(b"\0").decode()
            ev = {"type": "bind", "seq": seq, "vni": vni, "ip": socket.inet_ntoa(struct.pack(">I", ip)),
                  "mac": ":".join("%02x" % x for x in mac), "op": "add" if op == 1 else "del",
                  "tap": tap}
            binds += 1
        elif typ == HOST:
            seq, vtep, kind, op = struct.unpack(">QIBB", b[4:18])
            ev = {"type": "host", "seq": seq, "vtep": socket.inet_ntoa(struct.pack(">I", vtep)),
                  "kind": "vswitch" if kind == 1 else "external",
                  "op": "add" if op == 1 else "del"}
        elif typ == HEARTBEAT:
            ev = {"type": "heartbeat", "seq": struct.unpack(">Q", b[4:12])[0]}
        elif typ == ERROR:
            sys.exit("feed: refused: %s" % b[8:].decode())
        else:
            sys.exit("feed: unexpected record type %d" % typ)
        print(json.dumps(ev), flush=True)


main()
