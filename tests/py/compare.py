"""compare: the controller's state against a churn model, and gateway tables against the
controller's rules.

    compare.py vms SOCKET MODEL.json         every VM as the model says, no other
    compare.py tables SOCKET TABLE_TOOL NODE...   each node's table holds exactly the
                                              controller's live rules, version for version
    compare.py learned SOCKET TABLE_TOOL NODE VPC IP...
                                              a learner holds exactly the controller's state
                                              of these rules (absent when deleted), and the
                                              VPC at the controller's version
"""
import json
import subprocess
import sys

from ctlapi import Api


def vms(sock, model_path):
    """Only the VPCs the churn used: the model's VPCs are the whole truth for them."""
    api = Api(sock)
    want = json.load(open(model_path))
    vpcs = {v["vpc"] for v in want.values()}
    have = {v["name"]: {"vpc": v["vpc"], "ip": v["ip"], "host": v["host"]}
            for v in api.all("vm.list", "vms") if v["vpc"] in vpcs}
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    wrong = sorted(n for n in set(want) & set(have) if want[n] != have[n])
    if missing or extra or wrong:
        sys.exit("compare: controller differs from the acknowledged changes: %d missing "
                 "(%s), %d extra (%s), %d different (%s)" % (
                     len(missing), missing[:5], len(extra), extra[:5], len(wrong), wrong[:5]))
    print("compare: controller holds all %d VMs acknowledged" % len(want))


def tables(sock, table_tool, nodes):
    api = Api(sock)
    want = {}
    for vpc in api.all("vpc.list", "vpcs"):
        for r in api.all("rule.list", "rules", vpc=vpc["name"]):
            if r["op"] == "set":
                want[(r["vni"], r["ip"])] = (r["mac"], r["vtep"], r["version"])
    for node in nodes:
        dump = json.loads(subprocess.check_output([table_tool, "--json", "-N", node]))
        have = {}
        for v in dump["vnis"]:
            d = json.loads(subprocess.check_output(
                [table_tool, "--json", "-N", node, "-v", str(v["vni"])]))
            for e in d["entries"]:
                have[(v["vni"], e["ip"])] = (e["mac"], e["vtep"], e["version"])
        if have != want:
            diff = sorted(set(have.items()) ^ set(want.items()))[:5]
            sys.exit("compare: table of %s differs from the controller: %d rules vs %d; "
                     "first differences %s" % (node, len(have), len(want), diff))
        print("compare: table of %s equals the controller's %d rules" % (node, len(want)))


def learned(sock, table_tool, node, vpc, ips):
    """A learner holds exactly the controller's state for the rules it learned."""
    api = Api(sock)
    r = api.call(op="vpc.show", name=vpc)
    if not r["ok"]:
        sys.exit("compare: %s" % r["error"])
    vni = r["vpc"]["vni"]
    want = {}
    for ip in ips:
        rules = api.all("rule.list", "rules", vpc=vpc, ip=ip)
        if rules and rules[0]["op"] == "set":
            want[ip] = (rules[0]["mac"], rules[0]["vtep"], rules[0]["version"])
    try:
        d = json.loads(subprocess.check_output(
            [table_tool, "--json", "-N", node, "-v", str(vni)], stderr=subprocess.DEVNULL))
        have = {e["ip"]: (e["mac"], e["vtep"], e["version"]) for e in d["entries"]}
        version = [v["version"] for v in d["vnis"] if v["vni"] == vni][0]
    except subprocess.CalledProcessError:
        have, version = {}, None
    have = {ip: v for ip, v in have.items() if ip in ips}
    if have != want:
        diff = sorted(ip for ip in set(have) | set(want) if have.get(ip) != want.get(ip))
        sys.exit("compare: learner %s differs from the controller for %s on %d rule(s): %s" % (
            node, vpc, len(diff), "; ".join("%s has %s, wants %s" % (
                ip, have.get(ip), want.get(ip)) for ip in diff[:8])))
    # Sync follows the VPC, not only the rules held: versions without a held change too.
    if want and version != r["vpc"]["version"]:
        sys.exit("compare: learner %s holds %s at version %s, the controller at %d" % (
            node, vpc, version, r["vpc"]["version"]))


if sys.argv[1] == "vms":
    vms(sys.argv[2], sys.argv[3])
elif sys.argv[1] == "learned":
    learned(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6:])
elif sys.argv[1] == "tables":
    tables(sys.argv[2], sys.argv[3], sys.argv[4:])
else:
    sys.exit(__doc__)
