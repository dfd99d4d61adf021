#!/usr/bin/env bash
# etcd_catchup: a controller on etcd (controller.store = "etcd") joins a cluster whose
# history is larger than one watch answer may be. etcd answers a watch that starts
# behind with up to 1000 revisions at once: after an import of 100,000 VMs (50 txns) the
# answer to a watch from revision 1 is over the 64 MiB a handle takes (common/etcd.c's
# resp_max), every time it is asked. The new controller must load its view from a
# snapshot instead, come up, and hold every VM (it used to retry the watch for a minute
# and exit: "the view did not reach etcd's revision").
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
[[ $(t_stat "$RUN-c2" controller etcd_snapshots) -ge 1 ]] ||
	t_fail "controller 2 did not load its view from a snapshot"
grep -q "larger than a watch answer may be" "$T_OUT/c2.log" ||
	t_fail "controller 2 does not say why it loaded a snapshot"
# And it follows the live history from there: a change through controller 1.
ctl 1 vm create late --vpc big --ip 10.255.0.1 --host h0 >/dev/null
t_until 5 "controller 2 seeing the change made through controller 1" ctl 2 vm show late
echo "a controller joined $VMS VMs of history too large for one watch answer: snapshot, then live"
echo "etcd_catchup: ok"
