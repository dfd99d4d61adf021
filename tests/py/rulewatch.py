"""rulewatch: when rule tables show a rule, for the end-to-end tests.

    rulewatch.py TABLE_TOOL VNI IP VTEP SECONDS NODE...

Reads each NODE's table (TABLE_TOOL --json -N NODE -v VNI) over and over, and prints
"NODE TIME" (epoch seconds, taken after the read that first showed it) once NODE's rule
for (VNI, IP) points at VTEP. Exits 0 when every NODE did, 1 (naming those that did not)
after SECONDS.
"""
import json
import subprocess
import sys
import time


def vtep(tool, node, vni, ip):
    r = subprocess.run([tool, "--json", "-N", node, "-v", vni], capture_output=True)
    if r.returncode != 0:
        return None
    for e in json.loads(r.stdout)["entries"]:
        if e["ip"] == ip:
            return e["vtep"]
    return None


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    tool, vni, ip, want, secs = sys.argv[1:6]
    left = list(sys.argv[6:])
    end = time.time() + float(secs)
    while left and time.time() < end:
        for node in list(left):
            if vtep(tool, node, vni, ip) == want:
                print("%s %.6f" % (node, time.time()), flush=True)
                left.remove(node)
        time.sleep(0.005)
    if left:
        sys.exit("rulewatch: %s did not show %s at %s within %s s" % (
            ", ".join(left), ip, want, secs))


main()
