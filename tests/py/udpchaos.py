"""udpchaos: a UDP relay that loses, delays, reorders and duplicates datagrams, for tests
on kernels without sch_netem.

    udpchaos.py [--loss P] [--dup P] [--delay MS] [--via LISTEN=DEST]... LISTEN=UPSTREAM...

Each LISTEN=UPSTREAM address relays to its UPSTREAM; every client of a LISTEN address gets
an upstream socket of its own (bound to the client's IP, on loopback), so replies find
their way back and the upstream sees the client's address. A --via LISTEN address takes datagrams an UPSTREAM sends on its own (a gateway's
LEARNs) and passes them to DEST from that UPSTREAM's LISTEN address: the receiver sees
them come from the relay it talks to.

The relay starts clean: SIGUSR1 turns the impairments on (all paths), SIGUSR2 off and
prints what they did since: "relayed N dropped N duplicated N reordered N". Impaired datagrams
are dropped with probability P, sent twice with probability P (--dup) and held a uniform
random time up to MS milliseconds each, which reorders them (counted per destination: a
LEARN overtaking an answer to the same learner is a reordering). It prints "ready" once bound.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host, int(port)


class Order:
    """Arrival order of what goes to one destination, whatever the path."""

    def __init__(self):
        self.arrived = 0
        self.sent_max = 0


class Path:
    """A way to a destination: the socket it leaves from."""

    orders = {}

    def __init__(self, sock, dest):
        self.sock = sock
        self.dest = dest
        self.order = Path.orders.setdefault(dest, Order())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loss", type=float, default=0.2)
    ap.add_argument("--dup", type=float, default=0.1)
    ap.add_argument("--delay", type=float, default=5.0)
    ap.add_argument("--via", action="append", default=[])
    ap.add_argument("pairs", nargs="+")
    args = ap.parse_args()

    state = {"on": False, "stop": False, "report": False, "reset": False}
    signal.signal(signal.SIGUSR1, lambda *_: state.update(on=True, reset=True))
    signal.signal(signal.SIGUSR2, lambda *_: state.update(on=False, report=True))
    signal.signal(signal.SIGTERM, lambda *_: state.update(stop=True))

    listeners = {}  # socket -> (listen address, upstream address)
    for pair in args.pairs:
        listen, upstream = pair.split("=")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(addr(listen))
        listeners[s] = (addr(listen), addr(upstream))
    vias = {}  # socket -> destination
    for pair in args.via:
        listen, dest = pair.split("=")
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(addr(listen))
        vias[s] = addr(dest)
    by_upstream = {up: s for s, (_, up) in listeners.items()}
    via_paths = {}  # (via socket, upstream) -> Path
    clients = {}  # (listener, client address) -> (to-upstream Path, to-client Path)
    back = {}     # upstream socket -> to-client Path
    queue = []    # (due, tiebreak, path, seq, datagram)
    count = {"relayed": 0, "dropped": 0, "duplicated": 0, "reordered": 0}
    tick = 0
    print("ready", flush=True)

    def relay(path, data):
        nonlocal tick
        path.order.arrived += 1
        seq = path.order.arrived
        if not state["on"]:
            send(path, seq, data)
            return
        if random.random() < args.loss:
            count["dropped"] += 1
            return
        copies = 2 if random.random() < args.dup else 1
        count["duplicated"] += copies - 1
        for _ in range(copies):
            tick += 1
            due = time.monotonic() + random.uniform(0, args.delay) / 1000
            heapq.heappush(queue, (due, tick, path, seq, data))

    def send(path, seq, data):
        if seq < path.order.sent_max:
            count["reordered"] += 1
        path.order.sent_max = max(path.order.sent_max, seq)
        count["relayed"] += 1
        try:
            path.sock.sendto(data, path.dest)
        except OSError:
            pass  # the peer is down: what a lossy network does too

    while not state["stop"]:
        if state["reset"]:
            state["reset"] = False
            count.update(relayed=0, dropped=0, duplicated=0, reordered=0)
        if state["report"]:
            state["report"] = False
            print("relayed %(relayed)d dropped %(dropped)d duplicated %(duplicated)d "
                  "reordered %(reordered)d" % count, flush=True)
            count.update(relayed=0, dropped=0, duplicated=0, reordered=0)
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, path, seq, data = heapq.heappop(queue)
            send(path, seq, data)
        timeout = max(0.0, queue[0][0] - now) if queue else 0.1
        try:
            ready, _, _ = select.select(list(listeners) + list(vias) + list(back), [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            try:
                data, src = s.recvfrom(65536)
            except OSError:
                continue  # an ICMP error from a dead upstream
            if s in vias:
                if src not in by_upstream:
                    continue
                key = (s, src)
                if key not in via_paths:
                    via_paths[key] = Path(by_upstream[src], vias[s])
                relay(via_paths[key], data)
            elif s in listeners:
                key = (s, src)
                if key not in clients:
                    _, upstream = listeners[s]
                    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    # From the client's own IP (loopback: any 127/8 binds): syncd
                    # sends a host's LEARNs to where its authenticated requests
                    # come from.
                    u.bind((src[0], 0))
                    clients[key] = (Path(u, upstream), Path(s, src))
                    back[u] = clients[key][1]
                relay(clients[key][0], data)
            else:
                relay(back[s], data)


if __name__ == "__main__":
    sys.exit(main())
