"""fakectl: a controller's API socket that misbehaves on purpose, for vpcfwdctl's
timeout (tests/ctl.sh). Prints "ready" once the socket is listening.

    fakectl.py PATH silent        accepts, never reads, never answers
    fakectl.py PATH full          never accepts, its listen backlog full
    fakectl.py PATH slow SECONDS  answers each vm.import after SECONDS: ok, all imported
"""
import json
import socket
import struct
import sys
import threading
import time


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        chunk = c.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def slow(c, delay):
    while True:
        hdr = recv_exact(c, 4)
        if hdr is None:
            return
        req = json.loads(recv_exact(c, struct.unpack(">I", hdr)[0]))
        time.sleep(delay)
        body = json.dumps({"ok": True, "imported": len(req.get("vms", []))}).encode()
        c.sendall(struct.pack(">I", len(body)) + body)


def main():
    path, mode = sys.argv[1], sys.argv[2]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    # A unix socket takes backlog + 1 connections before connect blocks.
    s.listen(0 if mode == "full" else 16)
    held = []
    if mode == "full":
        filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        filler.connect(path)
        held.append(filler)
    print("ready", flush=True)
    while True:
        if mode == "full":
            time.sleep(3600)
        c, _ = s.accept()
        held.append(c)
        if mode == "slow":
            threading.Thread(target=slow, args=(c, float(sys.argv[3])), daemon=True).start()


main()
