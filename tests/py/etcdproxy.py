"""etcdproxy: a TCP proxy in front of one etcd member, for tests/etcd_unsure.sh. It passes
every byte both ways, except that once armed (the file ARM exists) it swallows the answer
to the next txn request (a connection's bytes holding "POST /v3/kv/txn") and everything
after it on that connection: the client times out on a txn that etcd committed. It then
removes ARM (one answer swallowed an arming) and prints "swallowed" on stdout.

    etcdproxy.py LISTEN_ADDR:PORT UPSTREAM_ADDR:PORT ARM

It prints "ready" once it listens.
"""
import os
import socket
import sys
import threading


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


def pipe(src, dst, conn, upstream_side, arm):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not upstream_side and b"POST /v3/kv/txn" in data and os.path.exists(arm):
                # Before the request goes on: its answer must not slip through.
                conn["swallow"] = True
                os.unlink(arm)
                print("swallowed", flush=True)
            if upstream_side and conn["swallow"]:
                continue
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    listen, upstream, arm = addr(sys.argv[1]), addr(sys.argv[2]), sys.argv[3]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(listen)
    ls.listen(64)
    print("ready", flush=True)
    while True:
        c, _ = ls.accept()
        try:
            u = socket.create_connection(upstream)
        except OSError:
            c.close()
            continue
        conn = {"swallow": False}
        for a, b, side in ((c, u, False), (u, c, True)):
            threading.Thread(target=pipe, args=(a, b, conn, side, arm), daemon=True).start()


main()
