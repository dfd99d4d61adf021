"""tcpecho: a TCP echo for the end-to-end tests (no nc needed).

    tcpecho.py serve IP PORT          echo every connection back until its EOF; prints
                                      "ready" once listening; runs until killed
    tcpecho.py check IP PORT BYTES    connect, send BYTES random bytes while reading the
                                      echo, compare; prints "echoed N bytes in T s";
                                      exits 1 (with why) on a difference or a timeout (20 s)
"""
import os
import socket
import sys
import threading
import time


def serve(ip, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, port))
    s.listen(16)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()


def echo(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                return
            c.sendall(b)


def check(ip, port, n):
    data = os.urandom(n)
    t0 = time.monotonic()
    c = socket.create_connection((ip, port), timeout=20)
    c.settimeout(20)

    def send():
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)

    th = threading.Thread(target=send, daemon=True)
    th.start()
    got = bytearray()
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            got += b
    except socket.timeout:
        sys.exit("tcpecho: timed out after %d of %d bytes" % (len(got), n))
    th.join(5)
    if bytes(got) != data:
        sys.exit("tcpecho: %d bytes back of %d sent, %s" % (
            len(got), n, "the same length but different" if len(got) == n else "short"))
    print("echoed %d bytes in %.2f s" % (n, time.monotonic() - t0))


if len(sys.argv) == 4 and sys.argv[1] == "serve":
    serve(sys.argv[2], int(sys.argv[3]))
elif len(sys.argv) == 5 and sys.argv[1] == "check":
    check(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
else:
    sys.exit(__doc__)
