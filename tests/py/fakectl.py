"""fakectl: a controller's API socket that misbehaves on purpose, for vpcfwdctl's
timeout and its list of controllers (tests/ctl.sh). Prints "ready" once the socket is
listening, then "op OP" for each request it reads.

    fakectl.py PATH silent        accepts, never reads, never answers
    fakectl.py PATH full          never accepts, its listen backlog full
    fakectl.py PATH slow SECONDS  answers each vm.import after SECONDS: ok, all imported
    fakectl.py PATH close         reads a request and closes the connection, no answer
    fakectl.py PATH answer        answers each request ok: empty listings, a VPC as asked
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


def read_req(c):
    hdr = recv_exact(c, 4)
    if hdr is None:
        return None
    req = json.loads(recv_exact(c, struct.unpack(">I", hdr)[0]))
    print("op", req.get("op"), flush=True)
    return req


def answer(c, close):
    while True:
        req = read_req(c)
        if req is None or close:
            c.close()
            return
        op = req.get("op", "")
        resp = {"ok": True}
        if op.endswith(".list"):
            resp[op.split(".")[0] + "s"] = []
        elif op == "vpc.create":
            resp["vpc"] = {"name": req["name"], "vni": req["vni"], "cidrs": req["cidrs"],
                           "gen": 1, "version": 0, "vms": 0}
        body = json.dumps(resp).encode()
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
        elif mode in ("close", "answer"):
            threading.Thread(target=answer, args=(c, mode == "close"), daemon=True).start()


main()
