#!/usr/bin/env bash
# gateway_full: a gateway whose table cannot hold every rule never says it does
# (issue "nothing silently wrong"). A controller and one rule-store with a table of 100
# rules and 3 VPCs, in a network namespace of their own:
#  1. admission: an import past the gateway's room, and a VPC past its VNI slots, are
#     refused with a line naming the gateway and its room, and change nothing;
#  2. changes the controller took while the gateway was away and that do not fit: the
#     rule-store catches up, marks the VPC incomplete (its counters, vpcfwd-table, the
#     controller's vpc show and gateway list say so) and goes on with the log;
#  3. once another VPC is deleted the rule-store fetches the incomplete VPC whole by
#     itself (a snapshot of that VPC, no vpc reset), and its table equals the
#     controller's rules again.
#
#	BUILD=build bash tests/gateway_full.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init gateway_full

RUN=f$$
NS=vpcfwd-$RUN
SOCK=$T_OUT/controller.sock
CTL=("$BUILD/bin/vpcfwdctl" -s "$SOCK")
TABLE=$BUILD/bin/vpcfwd-table
for b in vpcfwd-controller vpcfwd-rule-store vpcfwdctl vpcfwd-table vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
t_node "$RUN-ctl" "$RUN-gw1"
t_netns "$NS"
t_pki controller:ctl gateway:gw1
sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" etc/test/controller.conf >"$T_OUT/controller.conf"
sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g; s|table_capacity = .*|table_capacity = 100;|;
    s|table_max_vnis = .*|table_max_vnis = 3;|" etc/test/gw1.conf >"$T_OUT/gw1.conf"

ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}

start_gw()
{
	t_spawn GW_PID ip netns exec "$NS" "$BUILD/bin/vpcfwd-rule-store" \
	    -c "$T_OUT/gw1.conf" 2>>"$T_OUT/gw1.log"
}

# reported: the controller has the gateway's STATUS (it admits changes against it).
reported()
{
	"${CTL[@]}" --json gateway list 2>>"$T_OUT/ctl.log" | python3 -c '
import json, sys
gws = json.load(sys.stdin)
sys.exit(0 if gws and gws[0]["reported"] else 1)'
}

synced()
{
	[[ $(t_stat "$RUN-gw1" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-ctl" controller log_seq) ]]
}

# vms FILE VPC PREFIX N: an import file of N VMs of VPC on host1.
vms()
{
	python3 - "$@" <<'EOF'
import sys
path, vpc, prefix, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(path, "w") as f:
    f.write("name,vpc,ip,host\n")
    for i in range(n):
        f.write(f"{vpc}{i},{vpc},{prefix}.{i // 250}.{i % 250 + 1},host1\n")
EOF
}

# incomplete_is N: the rule-store counts N VPCs it does not hold whole.
incomplete_is()
{
	[[ $(t_stat "$RUN-gw1" rule-store vnis_incomplete) -eq $1 ]]
}

vm_count()
{
	"${CTL[@]}" --json vm list --vpc "$1" | python3 -c \
	    'import json, sys; print(len(json.load(sys.stdin)))'
}

t_spawn CTL_PID ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" \
    -c "$T_OUT/controller.conf" 2>>"$T_OUT/controller.log"
t_until 5 "the controller's socket" ctl_up
start_gw
t_until 5 "the gateway's STATUS at the controller" reported

# 1. Admission.
"${CTL[@]}" host create host1 --vtep 192.168.0.11 >/dev/null
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
"${CTL[@]}" vpc create red --vni 200 --cidr 10.1.0.0/16 >/dev/null
vms "$T_OUT/big.csv" blue 10.0 150
if out=$("${CTL[@]}" import "$T_OUT/big.csv" 2>&1); then
	t_fail "an import of 150 VMs into a gateway of 100 was acknowledged: $out"
fi
grep -q "import would need 150 more rules; gateway $RUN-gw1 has room for 100 (nothing imported)" \
    <<<"$out" || t_fail "vpcfwdctl's refusal does not name the gateway and its room: $out"
# From a pipe vpcfwdctl cannot count first: the controller itself refuses the batch.
if out=$("${CTL[@]}" import - <"$T_OUT/big.csv" 2>&1); then
	t_fail "an import of 150 VMs from a pipe into a gateway of 100 was acknowledged: $out"
fi
grep -q "vm.import would need 150 more rules; gateway $RUN-gw1 has room for 100" <<<"$out" ||
	t_fail "the controller's refusal does not name the gateway and its room: $out"
[[ $(vm_count blue) -eq 0 ]] || t_fail "the refused imports left VMs behind"
vms "$T_OUT/blue.csv" blue 10.0 60
"${CTL[@]}" import "$T_OUT/blue.csv" >/dev/null
"${CTL[@]}" vpc create green --vni 300 --cidr 10.2.0.0/16 >/dev/null
if out=$("${CTL[@]}" vpc create black --vni 400 --cidr 10.3.0.0/16 2>&1); then
	t_fail "a 4th VPC on a gateway of 3 VNI slots was acknowledged"
fi
grep -q "gateway $RUN-gw1 holds at most 3 VPCs" <<<"$out" ||
	t_fail "the VPC refusal does not name the gateway: $out"
[[ $(t_stat "$RUN-ctl" controller admission_refused) -eq 2 ]] ||
	t_fail "admission_refused is not 2 (the piped import, the 4th VPC)"
t_until 5 "the gateway caught up" synced
[[ $(t_stat "$RUN-gw1" rule-store vnis_incomplete) -eq 0 ]] ||
	t_fail "an admitted change made a VPC incomplete"

# 2. The gateway away, the controller takes what cannot fit; the gateway comes back.
t_kill "$GW_PID"
vms "$T_OUT/red.csv" red 10.1 80
"${CTL[@]}" import "$T_OUT/red.csv" >/dev/null
start_gw
t_until 5 "the gateway caught up after its restart" synced
t_until 5 "VPC red marked incomplete" incomplete_is 1
[[ $(t_stat "$RUN-gw1" rule-store room) -eq 0 ]] || t_fail "room is not 0 in a full table"
"$TABLE" -N "$RUN-gw1" -v 200 --json >"$T_OUT/red.json"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
v = {x["vni"]: x for x in d["vnis"]}
sys.exit(0 if v[200]["incomplete"] and not v[100]["incomplete"] else 1)' "$T_OUT/red.json" ||
	t_fail "vpcfwd-table does not show VPC 200 (and only it) incomplete"
"${CTL[@]}" --json vpc show red | python3 -c '
import json, sys
v = json.load(sys.stdin)
sys.exit(0 if v["incomplete_at"] == [sys.argv[1]] else 1)' "$RUN-gw1" ||
	t_fail "vpc show red does not list the gateway that lacks it"
"${CTL[@]}" --json vpc show blue | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["incomplete_at"] == [] else 1)' ||
	t_fail "vpc show blue lists a gateway, though it holds blue whole"
"${CTL[@]}" --json gateway list | python3 -c '
import json, sys
g = json.load(sys.stdin)[0]
sys.exit(0 if g["incomplete_vnis"] == [200] and g["room"] == 0 and g["capacity"] == 100 and
         g["used"] == 100 else 1)' ||
	t_fail "gateway list does not show the full table and VPC 200"

# 3. Room again: red is fetched whole, without a reset. (The gateway's first subscription,
# on an empty controller, was a whole snapshot: an empty one, which named the epoch.)
snaps=$(t_stat "$RUN-ctl" controller snapshots)
for i in $(seq 0 59); do echo "blue$i"; done | while read -r vm; do
	"${CTL[@]}" vm delete "$vm" >/dev/null
done
"${CTL[@]}" vpc delete blue >/dev/null
t_until 10 "VPC red held whole again" incomplete_is 0
[[ $(t_stat "$RUN-gw1" rule-store vpc_snapshot_loads) -ge 1 ]] ||
	t_fail "no snapshot of the VPC was loaded"
[[ $(t_stat "$RUN-ctl" controller snapshots) -eq $snaps ]] ||
	t_fail "a whole snapshot was sent, not one of the VPC"
"$TABLE" -N "$RUN-gw1" -v 200 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
v = {x["vni"]: x for x in d["vnis"]}
sys.exit(0 if len(d["entries"]) == 80 and not v[200]["incomplete"] else 1)' ||
	t_fail "the gateway does not hold red's 80 rules"
"${CTL[@]}" --json vpc show red | python3 -c '
import json, sys
sys.exit(0 if json.load(sys.stdin)["incomplete_at"] == [] else 1)' ||
	t_fail "vpc show red still lists the gateway"
echo "gateway_full: ok"
