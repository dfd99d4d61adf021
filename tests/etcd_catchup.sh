#!/usr/bin/env bash
# etcd_catchup: a controller on etcd (controller.store = "etcd") joins a cluster with a
# large history: 100,000 VMs imported (50 txns). etcd answers a watch that starts behind
# with up to 1000 revisions at once; when the view watched the whole prefix that answer
# was over the 64 MiB a handle takes (common/etcd.c's resp_max) and the controller
# retried for a minute and exited; then it loaded a snapshot instead. Now the views
# watch the log key alone and the history fits: either way, the new controller must
# come up, hold every VM and follow the changes made after.
#
#	BUILD=build bash tests/etcd_catchup.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init etcd_catchup

RUN=t$$
NS=vpcfwd-$RUN
VMS=100000
for b in vpcfwd-controller vpcfwdctl vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
command -v etcd >/dev/null || t_fail "etcd is not installed (make deps)"
t_node "$RUN-c1" "$RUN-c2"
t_netns "$NS"
t_etcd "$NS" 3

for n in 1 2; do
	cat >"$T_OUT/c$n.conf" <<EOF
node = "$RUN-c$n";
log_level = "info";
controller = {
	data_dir = "$T_OUT/c$n";
	api_socket = "$T_OUT/c$n.sock";
	listen = "127.0.0.1:$((7400 + n))";
	tls = false;
$(t_etcd_conf)
};
EOF
done
ctl()
{
	local n=$1

	shift
	"$BUILD/bin/vpcfwdctl" -s "$T_OUT/c$n.sock" "$@"
}
t_spawn C1 ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/c1.conf" \
    2>>"$T_OUT/c1.log"
t_until 20 "controller 1's socket" ctl 1 vpc list >/dev/null
ctl 1 vpc create big --vni 1 --cidr 10.0.0.0/8 >/dev/null
for h in 0 1 2 3; do
	ctl 1 host create "h$h" --vtep "192.168.0.$((h + 1))" >/dev/null
done
python3 -c '
import sys
n = int(sys.argv[1])
print("name,vpc,ip,host")
for i in range(n):
    print("vm%07d,big,10.%d.%d.%d,h%d" % (i, (i + 1) >> 16 & 255, (i + 1) >> 8 & 255,
        (i + 1) & 255, i % 4))' "$VMS" >"$T_OUT/vms.csv"
ctl 1 import --batch 2000 "$T_OUT/vms.csv"

# Controller 2, a fresh view: its watch from revision 1 cannot be answered whole.
t_spawn C2 ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/c2.conf" \
    2>>"$T_OUT/c2.log"
# Up, or gone (t_until hides what its command says: the test says it after).
c2_up_or_gone()
{
	! kill -0 "$C2" 2>/dev/null || ctl 2 vpc list >/dev/null
}
t0=$SECONDS
t_until 90 "controller 2 coming up" c2_up_or_gone
kill -0 "$C2" 2>/dev/null || t_fail "controller 2 exited: $(tail -2 "$T_OUT/c2.log")"
echo "controller 2 up in $((SECONDS - t0)) s"
count=$(ctl 2 --json vm list | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
[[ $count -eq $VMS ]] || t_fail "controller 2 lists $count VMs, not $VMS"
# Since the views watch the log key alone, this history fits the watch's answers: the
# view replays it (5 s here) rather than loading a snapshot; either is right, the VMs
# and the live history after are what is checked.
if [[ $(t_stat "$RUN-c2" controller etcd_snapshots) -ge 1 ]]; then
	grep -q "larger than a watch answer may be\|compacted" "$T_OUT/c2.log" ||
		t_fail "controller 2 loaded a snapshot and does not say why"
	how="a snapshot"
else
	how="etcd's history replayed"
fi
# And it follows the live history from there: a change through controller 1.
ctl 1 vm create late --vpc big --ip 10.255.0.1 --host h0 >/dev/null
late_seen() { ctl 2 vm show late >/dev/null; }
t_until 5 "controller 2 seeing the change made through controller 1" late_seen
echo "a controller joined $VMS VMs of history ($how), then followed the live one"
echo "etcd_catchup: ok"
