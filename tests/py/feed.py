"""feed: a learner's side of the binding feed (docs/protocol.md), for the tests: it
subscribes to HOST's bindings and prints one JSON line per record it gets:
{"type": "snap_begin"|"bind"|"host"|"snap_end"|"heartbeat", ...}. It exits after COUNT bind
records (or never with 0).

    feed.py ADDR:PORT NODE HOST COUNT [--ca CA.crt] [--cert PREFIX] [--rules]
            [--wire-version 1]

With --ca it speaks TLS, trusting CA.crt for the controller's certificate, and presents
PREFIX.crt and PREFIX.key when --cert is given (docs/protocol.md, "TLS and identities").
--rules asks for the rule log instead (a HELLO for stream 1), to be refused. Stream
version 2 (WIRE_VERSION) is spoken: its HELLO carries an epoch (0 here: a learner's), its
SNAP_BEGIN the controller's (printed in hex); --wire-version 1 sends a HELLO as version 1
wrote it (no epoch), which the controller refuses with an ERROR of version 1. A refusal
or a failed handshake ends it with a line saying so and exit status 1.
"""
import json
import socket
import ssl
import struct
import sys

HELLO, SNAP_BEGIN, SNAP_END, HEARTBEAT, BIND, ERROR, HOST = 1, 4, 5, 6, 7, 8, 12
WIRE_VERSION = 2


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
    opts, stream, rest = {}, 2, sys.argv[5:]
    while rest:
        if rest[0] == "--rules":
            stream, rest = 1, rest[1:]
        else:
            opts[rest[0]], rest = rest[1], rest[2:]
    version = int(opts.get("--wire-version", WIRE_VERSION))
    s = socket.create_connection((host, int(port)))
    if "--ca" in opts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.check_hostname = False  # the identity is the CN, "controller:NAME"
        ctx.load_verify_locations(opts["--ca"])
        if "--cert" in opts:
            ctx.load_cert_chain(opts["--cert"] + ".crt", opts["--cert"] + ".key")
        s = ctx.wrap_socket(s)
    host_field = subject.encode() if stream == 2 else b""
    if version == 1:  # last_seq, node, host: no epoch
        body = struct.pack(">BBH B3x Q 32s 32s", 1, HELLO, 0, stream, 0, node.encode(),
                           host_field)
    else:  # last_seq 0, epoch 0 (none: the feed always starts with a snapshot)
        body = struct.pack(">BBH B3x Q Q 32s 32s", WIRE_VERSION, HELLO, 0, stream, 0, 0,
                           node.encode(), host_field)
    s.sendall(struct.pack(">I", len(body)) + body)
    binds = 0
    while count == 0 or binds < count:
        n = struct.unpack(">I", recv_exact(s, 4))[0]
        b = recv_exact(s, n)
        ver, typ = b[0], b[1]
        if ver != version:
            sys.exit("feed: a record of version %d, not %d" % (ver, version))
        if typ in (SNAP_BEGIN, SNAP_END):
            seq, cnt = struct.unpack(">QQ", b[4:20])
            ev = {"type": "snap_begin" if typ == SNAP_BEGIN else "snap_end", "seq": seq,
                  "count": cnt}
            if typ == SNAP_BEGIN:
                ev["epoch"] = "%016x" % struct.unpack(">Q", b[20:28])[0]
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


try:
    main()
except (ssl.SSLError, ConnectionResetError) as e:
    sys.exit("feed: tls: %s" % e)
