"""clusterchurn: a stream of VM changes through the controllers of one cluster, for
tests/e2e/cluster.sh, while controllers and etcd members are killed under it.

    clusterchurn.py run OUT.json STOPFILE --sock SOCK... --vpc NAME=NET... --hosts H,H...
        [--name PFX] [--own VM...] [--interval SECONDS] [--progress FILE]
    clusterchurn.py check OUT.json... --sock SOCK... [--start VPC=VERSION...]

run: until STOPFILE exists, creates VMs named PFX<n> in the VPCs (an IP of NET, a range
no other stream uses), deletes them and migrates them and the --own VMs (which exist,
and which no one else changes) between the hosts; every change goes to the next
controller in turn. A change whose answer is lost (the controller killed) or unsure
(code ETIMEDOUT: etcd did not say in time) is sent again to the next controller until
an answer settles it: done now (acknowledged), or done before (EEXIST for a create,
ENOENT for a delete, "already on host" for a migrate: no one else changes these VMs).
EBUSY (lost to other controllers too often) changes nothing: the change is dropped.
After each acknowledged change the VM's rule is read back from the controller that
acknowledged it (whose view holds the change by then), for its version. OUT: every
change with how it ended, the revision and rule version of each acknowledged one, and
the VMs as they must be at the end.

check: every controller holds the VMs as the OUTs say, and no other VM named by their
prefixes; no revision acknowledged twice, each stream's revisions rising; within a VPC,
acknowledged changes ordered by revision have rising rule versions (none applied out of
order); and with --start (the VPC's version before the streams), the VPC's version grew
by exactly the changes committed in it (none lost, none applied twice).
"""
import ipaddress
import json
import os
import random
import sys
import time

from ctlapi import Api, Closed

SETTLE_S = 30.0         # a change must be settled within this long


class Stream:
    def __init__(self, socks):
        self.socks = socks
        self.apis = [None] * len(socks)
        self.turn = 0

    def _api(self, i):
        if self.apis[i] is None:
            self.apis[i] = Api(self.socks[i], timeout=15.0)
        return self.apis[i]

    def _drop(self, i):
        if self.apis[i] is not None:
            self.apis[i].close()
            self.apis[i] = None

    def send(self, i, req):
        """One try at controller i: its answer, or None when the answer was lost."""
        try:
            return self._api(i).call(**req)
        except (Closed, OSError):
            self._drop(i)
            return None

    def next(self):
        i = self.turn
        self.turn = (self.turn + 1) % len(self.socks)
        return i


def rule_of(st, i, vpc, ip):
    r = st.send(i, dict(op="rule.list", vpc=vpc, ip=ip))
    if r is None or not r["ok"] or not r["rules"]:
        return None
    return r["rules"][0]


def run(args):
    out, stop = args[0], args[1]
    opts = parse(args[2:])
    st = Stream(opts["sock"])
    hosts = opts["hosts"][0].split(",")
    pfx = opts.get("name", ["c"])[0]
    interval = float(opts.get("interval", ["0.02"])[0])
    progress = opts.get("progress", [None])[0]
    nets = {}
    for v in opts["vpc"]:
        name, net = v.split("=")
        nets[name] = ipaddress.ip_network(net)
    rnd = random.Random(pfx)
    # The VMs as they must be; the --own ones as a controller has them now.
    model, own = {}, set(opts.get("own", []))
    hosts_vtep = {}
    for name in own:
        r = st.send(0, dict(op="vm.show", name=name))
        if r is None or not r["ok"]:
            sys.exit("clusterchurn: cannot read VM %s: %s" % (name, r))
        model[name] = {"vpc": r["vm"]["vpc"], "ip": r["vm"]["ip"], "host": r["vm"]["host"]}
    r = st.send(0, dict(op="host.list"))
    for h in r["hosts"]:
        hosts_vtep[h["name"]] = h["vtep"]
    used = {(v["vpc"], v["ip"]) for v in model.values()}
    log = []
    serial = acked = settled_later = dropped = 0
    while not os.path.exists(stop):
        mine = sorted(n for n in model if n not in own)
        kind = rnd.random()
        if kind < 0.45 or len(mine) < 8:
            serial += 1
            name = "%s%d" % (pfx, serial)
            vpc = rnd.choice(sorted(nets))
            while True:
                ip = str(nets[vpc][rnd.randrange(1, nets[vpc].num_addresses - 1)])
                if (vpc, ip) not in used:
                    break
            req = dict(op="vm.create", name=name, vpc=vpc, ip=ip, host=rnd.choice(hosts))
            after = {"vpc": vpc, "ip": ip, "host": req["host"]}
            before_done = ("EEXIST",)
        elif kind < 0.7:
            name = rnd.choice(mine)
            req = dict(op="vm.delete", name=name)
            after = None
            before_done = ("ENOENT",)
        else:
            name = rnd.choice(sorted(model))
            host = rnd.choice([h for h in hosts if h != model[name]["host"]])
            req = dict(op="vm.migrate", name=name, host=host)
            after = dict(model[name], host=host)
            before_done = ("EINVAL",)
        entry = dict(req, tries=0, end=None, rev=None, version=None, ctl=None)
        deadline = time.time() + SETTLE_S
        while entry["end"] is None:
            if time.time() > deadline:
                entry["end"] = "unsettled"
                log.append(entry)
                dump(out, log, model, nets)
                sys.exit("clusterchurn: %s not settled within %.0f s: %s" % (
                    req, SETTLE_S, entry.get("errors")))
            i = st.next()
            entry["tries"] += 1
            r = st.send(i, req)
            if r is None or (not r["ok"] and r["code"] == "ETIMEDOUT"):
                entry.setdefault("errors", []).append(
                    "%s: %s" % (st.socks[i], "answer lost" if r is None else r["error"]))
                time.sleep(0.05)
                continue
            if r["ok"]:
                entry.update(end="acked", rev=r.get("revision"), ctl=i)
            elif r["code"] == "EBUSY":
                if entry["tries"] == 1:
                    entry["end"] = "busy"
                    break
                entry.setdefault("errors", []).append(r["error"])
                continue
            elif entry["tries"] > 1 and r["code"] in before_done and (
                    r["code"] != "EINVAL" or "already on host" in r["error"]):
                entry["end"] = "before"
            else:
                log.append(dict(entry, end="refused", error=r["error"]))
                dump(out, log, model, nets)
                sys.exit("clusterchurn: %s refused by %s: %s" % (req, st.socks[i], r["error"]))
        if entry["end"] == "busy":
            dropped += 1
            log.append(entry)
            continue
        if name in model:
            used.discard((model[name]["vpc"], model[name]["ip"]))
            del model[name]
        if after is not None:
            model[name] = after
            used.add((after["vpc"], after["ip"]))
        if entry["end"] == "acked":
            acked += 1
            state = after
            if state is None:
                # a delete: the rule's tombstone
                entry["vpc"], entry["ip"] = entry_vm(log, name)
            else:
                entry["vpc"], entry["ip"] = state["vpc"], state["ip"]
            want_vtep = hosts_vtep.get(state["host"]) if state else None
            end = time.time() + 5.0
            while True:
                rule = rule_of(st, entry["ctl"], entry["vpc"], entry["ip"])
                if rule is not None and (
                        (state is None and rule["op"] == "delete") or
                        (state is not None and rule["op"] == "set" and
                         rule["vtep"] == want_vtep)):
                    entry["version"] = rule["version"]
                    break
                if time.time() > end:
                    # the acknowledging controller died: no version for this one
                    break
                if rule is None and st.apis[entry["ctl"]] is None:
                    entry["ctl"] = st.next()
                time.sleep(0.01)
        else:
            settled_later += 1
            if after is not None:
                entry["vpc"], entry["ip"] = after["vpc"], after["ip"]
            else:
                entry["vpc"], entry["ip"] = entry_vm(log, name)
        log.append(entry)
        if progress:
            with open(progress + ".tmp", "w") as f:
                f.write("%d\n" % acked)
            os.rename(progress + ".tmp", progress)
        time.sleep(interval)
    dump(out, log, model, nets)
    print("clusterchurn %s: %d changes acknowledged, %d settled after a lost or unsure "
          "answer, %d dropped (EBUSY), %d VMs" % (pfx, acked, settled_later, dropped,
                                                   len(model)))


def entry_vm(log, name):
    """The VPC and IP of VM name, from its creation in the log (or its migrations)."""
    for e in reversed(log):
        if e["name"] == name and e.get("vpc"):
            return e["vpc"], e["ip"]
    return None, None


def dump(out, log, model, nets):
    with open(out, "w") as f:
        json.dump({"log": log, "model": model, "vpcs": sorted(nets)}, f, indent=0)


def parse(args):
    opts, key = {}, None
    for a in args:
        if a.startswith("--"):
            key = a[2:]
            opts.setdefault(key, [])
        elif key is None:
            sys.exit(__doc__)
        else:
            opts[key].append(a)
    return opts


def check(args):
    outs = []
    while args and not args[0].startswith("--"):
        outs.append(args.pop(0))
    opts = parse(args)
    runs = [json.load(open(o)) for o in outs]
    fails = []
    # 1. Every controller holds the VMs as the streams left them.
    for sock in opts["sock"]:
        api = Api(sock)
        have = {v["name"]: {"vpc": v["vpc"], "ip": v["ip"], "host": v["host"]}
                for v in api.all("vm.list", "vms")}
        for o, run in zip(outs, runs):
            want = run["model"]
            pfxs = {e["name"].rstrip("0123456789") for e in run["log"]
                    if e["op"] == "vm.create"}
            mine = {n for n in have if n.rstrip("0123456789") in pfxs} | set(want)
            diff = sorted(n for n in mine if have.get(n) != want.get(n))
            if diff:
                fails.append("%s differs from %s on %d VMs: %s" % (
                    sock, o, len(diff), "; ".join("%s has %s, wants %s" % (
                        n, have.get(n), want.get(n)) for n in diff[:5])))
    # 2. No revision acknowledged twice; each stream's revisions rise.
    revs = {}
    for o, run in zip(outs, runs):
        last = 0
        for e in run["log"]:
            if e["end"] != "acked":
                continue
            if e["rev"] is None:
                fails.append("%s: %s acknowledged without a revision" % (o, e["name"]))
                continue
            if e["rev"] in revs:
                fails.append("revision %d acknowledged twice: %s and %s" % (
                    e["rev"], revs[e["rev"]], (e["op"], e["name"])))
            revs[e["rev"]] = (e["op"], e["name"])
            if e["rev"] <= last:
                fails.append("%s: revision %d acknowledged after %d" % (o, e["rev"], last))
            last = e["rev"]
    # 3. Within a VPC, versions rise with revisions.
    byvpc = {}
    noversion = 0
    for run in runs:
        for e in run["log"]:
            if e["end"] == "acked":
                if e["version"] is None:
                    noversion += 1
                    continue
                byvpc.setdefault(e["vpc"], []).append((e["rev"], e["version"], e["op"],
                                                       e["name"]))
    ordered = 0
    for vpc, ch in sorted(byvpc.items()):
        ch.sort()
        for a, b in zip(ch, ch[1:]):
            if b[1] <= a[1]:
                fails.append("VPC %s: %s %s at revision %d has version %d, %s %s at "
                             "revision %d version %d" % (vpc, b[2], b[3], b[0], b[1], a[2],
                                                         a[3], a[0], a[1]))
        ordered += len(ch)
    # 4. Each VPC's version grew by the changes committed in it, no more, no less.
    api = Api(opts["sock"][0])
    for sv in opts.get("start", []):
        vpc, start = sv.split("=")
        committed = sum(1 for run in runs for e in run["log"]
                        if e["end"] in ("acked", "before") and e.get("vpc") == vpc)
        r = api.call(op="vpc.show", name=vpc)
        if r["vpc"]["version"] - int(start) != committed:
            fails.append("VPC %s: version %d -> %d, but %d changes were committed in it" % (
                vpc, int(start), r["vpc"]["version"], committed))
    if fails:
        sys.exit("clusterchurn: " + "\nclusterchurn: ".join(fails[:10]))
    ends = {}
    for run in runs:
        for e in run["log"]:
            ends[e["end"]] = ends.get(e["end"], 0) + 1
    print("clusterchurn: %d changes acknowledged at distinct, rising revisions (%d settled "
          "after a lost or unsure answer, %d dropped as EBUSY), every controller holds "
          "them; %d in version order within their VPC (%d without a version read back)" % (
              ends.get("acked", 0), ends.get("before", 0), ends.get("busy", 0), ordered,
              noversion))


if len(sys.argv) < 3:
    sys.exit(__doc__)
elif sys.argv[1] == "run":
    run(sys.argv[2:])
elif sys.argv[1] == "check":
    check(sys.argv[2:])
else:
    sys.exit(__doc__)
