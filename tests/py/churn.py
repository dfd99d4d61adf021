"""churn: a stream of random VM changes through the control API, surviving the
controller being killed and restarted under it. It keeps a model of what the
controller acknowledged; an operation whose answer was lost is resolved by asking the
controller once it is back. At the end it writes the model (VM name -> vpc, ip, host)
as JSON: the controller's state must be exactly that.

    churn.py SOCKET SEED COUNT OUT.json [VPCS [HOSTS]]
"""
import ipaddress
import json
import random
import sys
import time

from ctlapi import Api, Closed


def connect(path, deadline=30.0):
    end = time.time() + deadline
    while True:
        try:
            return Api(path)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)


def main():
    path, seed, count, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    nvpcs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    nhosts = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    rnd = random.Random(seed)
    api = connect(path)
    # VPCs of their own for each seed: runs with other seeds do not collide.
    vpcs = {"s%dv%d" % (seed, i): ipaddress.ip_network("10.%d.0.0/16" % ((100 + seed * 8 + i) % 256))
            for i in range(nvpcs)}
    hosts = ["h%d" % i for i in range(nhosts)]

    def call(**req):
        nonlocal api
        while True:
            try:
                return api.call(**req)
            except Closed:
                api.close()
                api = connect(path)
                return None     # the answer was lost: the caller resolves it

    for i, (name, net) in enumerate(vpcs.items()):
        while True:
            r = call(op="vpc.create", name=name, vni=5000 + seed * 64 + i, cidrs=[str(net)])
            if r is not None and (r["ok"] or r["code"] == "EEXIST"):
                break
    for i, h in enumerate(hosts):
        while True:
            r = call(op="host.create", name=h, vtep="192.168.77.%d" % (i + 1))
            if r is not None and (r["ok"] or r["code"] == "EEXIST"):
                break
    model = {}      # name -> {vpc, ip, host}
    used = set()    # (vpc, ip)
    serial, lost, acked = 0, 0, 0
    for _ in range(count):
        kind = rnd.random()
        if kind < 0.5 or len(model) < 10:
            serial += 1
            name = "w%d-%d" % (seed, serial)
            vpc = rnd.choice(list(vpcs))
            while True:
                ip = str(vpcs[vpc][rnd.randrange(1, 65534)])
                if (vpc, ip) not in used:
                    break
            host = rnd.choice(hosts)
            req = dict(op="vm.create", name=name, vpc=vpc, ip=ip, host=host)
            after = {"vpc": vpc, "ip": ip, "host": host}
        elif kind < 0.8:
            name = rnd.choice(sorted(model))
            req = dict(op="vm.delete", name=name)
            after = None
        else:
            name = rnd.choice(sorted(model))
            host = rnd.choice([h for h in hosts if h != model[name]["host"]])
            req = dict(op="vm.migrate", name=name, host=host)
            after = dict(model[name], host=host)
        r = call(**req)
        if r is None:
            # Lost answer: whatever the controller holds now is the truth.
            lost += 1
            r2 = call(op="vm.show", name=name)
            while r2 is None:
                r2 = call(op="vm.show", name=name)
            if r2["ok"]:
                vm = r2["vm"]
                after = {"vpc": vm["vpc"], "ip": vm["ip"], "host": vm["host"]}
            else:
                after = None
        elif not r["ok"]:
            sys.exit("churn: %s refused: %s" % (req, r["error"]))
        else:
            acked += 1
        if name in model:
            used.discard((model[name]["vpc"], model[name]["ip"]))
            del model[name]
        if after is not None:
            model[name] = after
            used.add((after["vpc"], after["ip"]))
    with open(out, "w") as f:
        json.dump(model, f, sort_keys=True)
    print("churn: %d changes acknowledged, %d answers lost and resolved, %d VMs" %
          (acked, lost, len(model)))


main()
