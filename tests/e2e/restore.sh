#!/usr/bin/env bash
# restore: a controller restored from a backup under a live cluster (issue 13's "generations
# cannot go backwards"), in network namespaces (tests/e2e/topo.sh): a controller, two
# gateways, host1 (b1) and host2 (b2, b3), VPC blue (VNI 100).
#
#  1. host1 learns b2 and b3 (b1 pings them), then `vpcfwdctl backup` at blue's version V;
#  2. the history the restore loses: b4 made on host2 (version V + 1), and host1 learns
#     it (b1 pings it): host1 holds blue at (gen G, V + 1) with b4's rule;
#  3. the controller stopped, the backup restored (`vpcfwd-controller --restore`), the
#     controller started, and at once b5 made: blue is at V + 1 again, another V + 1
#     (b5, not b4). Had the restore kept G, host1 would be "up to date" at (G, V + 1)
#     and keep b4's rule for good, never hear of b5;
#  4. checked: both gateways load a snapshot and hold exactly the controller's rules at
#     its new generation; host1's learner is told to relearn blue (`relearns`), holds no
#     rule of b4, and once b1 pings b2, b3 and b5 again holds exactly the controller's
#     rules for them at the new generation; b4 no longer answers.
#
#	BUILD=build bash tests/e2e/restore.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
# STORE=etcd (tests/e2e/restore_etcd.sh): the controller on etcd, restored over it live.
if [[ ${STORE:-lmdb} == etcd ]]; then
	e2e_init restore-etcd q
	E2E_ETCD=1
else
	e2e_init restore r
fi

declare -A C N

e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
e2e_vm b3 blue 10.0.0.3/24 host2
for v in b1 b2 b3; do
	topo_vm_wait "$v" 15 || t_fail "VM $v did not come up"
done

# vpc_field FIELD: blue's FIELD at the controller
vpc_field() { topo_ctl --json vpc show blue | "$E2E_PYTHON" -c "
import json, sys; print(json.load(sys.stdin)['$1'])"; }

# cache_vpc NODE: "gen version" of blue in NODE's table, or nothing
cache_vpc() { "$TOPO_BIN/vpcfwd-table" --json -N "$TOPO_PFX-$1" 2>/dev/null | "$E2E_PYTHON" -c '
import json, sys
for v in json.load(sys.stdin)["vnis"]:
    if v["vni"] == 100:
        print(v["gen"], v["version"])'; }

learned()
{
	"$E2E_PYTHON" "$E2E_PY/compare.py" learned "$TOPO_SOCK" "$TOPO_BIN/vpcfwd-table" \
	    "$TOPO_PFX-$1" blue "${@:2}"
}

# 1. host1 learns b2 and b3; the backup.
for dst in 10.0.0.2 10.0.0.3; do
	topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 "$dst" >/dev/null || t_fail "b1 cannot ping $dst"
done
t_until 5 "host1 learning b2 and b3" learned host1 10.0.0.2 10.0.0.3
GEN=$(vpc_field gen)
V=$(vpc_field version)
topo_ctl backup "$T_OUT/state.mdb" >"$T_OUT/backup.out" || t_fail "vpcfwdctl backup failed"
echo "restore: host1 learned b2 and b3; backup of blue at gen $GEN version $V:" \
    "$(cat "$T_OUT/backup.out") ($(e2e_elapsed) s)"

# 2. The lost history: b4, learned by host1.
e2e_vm b4 blue 10.0.0.4/24 host2
topo_vm_wait b4 15 || t_fail "VM b4 did not come up"
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 10.0.0.4 >/dev/null || t_fail "b1 cannot ping b4"
t_until 5 "host1 learning b4" learned host1 10.0.0.2 10.0.0.3 10.0.0.4
t_until 5 "host1 holding blue at (gen $GEN, version $((V + 1)))" \
    eval '[[ "$(cache_vpc host1)" == "$GEN $((V + 1))" ]]'
echo "restore: b4 made after the backup; host1 holds blue at gen $GEN version $((V + 1))" \
    "with b4's rule"

# 3. Stop, restore, start, and at once another version V + 1.
e2e_snap C
restore()
{
	ip netns exec "$TOPO_PFX-controller" "$TOPO_BIN/vpcfwd-controller" --restore \
	    "$T_OUT/state.mdb" -c "${TOPO_CONF[controller]}" >"$T_OUT/restore.out" \
	    2>"$T_OUT/restore.log" || t_fail "--restore failed: $(cat "$T_OUT/restore.log")"
}
if [[ -n ${E2E_ETCD:-} ]]; then
	# Over the live controller: its view follows etcd, its subscribers start again.
	restore
	t_until 10 "the controller seeing the restore" \
	    eval '(($(topo_stat controller controller etcd_restores_seen) == 1))'
else
	topo_stop controller >/dev/null || t_fail "cannot stop the controller"
	restore
	topo_start controller >/dev/null || t_fail "cannot start the restored controller"
	topo_ctl_wait 15 || t_fail "the restored controller does not answer"
fi
e2e_vm b5 blue 10.0.0.5/24 host2
NGEN=$(vpc_field gen)
[[ $NGEN != "$GEN" && $(vpc_field version) == $((V + 1)) ]] ||
	t_fail "the restored blue is at gen $NGEN version $(vpc_field version), not a new" \
	    "generation at $((V + 1))"
# b5's TAP, opened by host2 once its learner is back on the feed: up before b1 pings it.
topo_vm_wait b5 15 || t_fail "VM b5 did not come up after the restore"
echo "restore: restored and b5 made at once: blue at gen $NGEN version $((V + 1))" \
    "($(sed -n 's/^  log emptied, //p' "$T_OUT/restore.out"))"

# 4. Gateways: a snapshot each, exactly the controller's rules, its generation.
e2e_synced 15
e2e_snap N
for g in gateway1 gateway2; do
	((N[$g.rule-store.snapshot_loads] > C[$g.rule-store.snapshot_loads])) ||
		t_fail "$g did not load a snapshot of the restored state"
	[[ $(cache_vpc "$g") == "$NGEN $((V + 1))" ]] ||
		t_fail "$g holds blue at $(cache_vpc "$g"), not gen $NGEN version $((V + 1))"
done
out=$("$E2E_PYTHON" "$E2E_PY/compare.py" tables "$TOPO_SOCK" "$TOPO_BIN/vpcfwd-table" \
    "$TOPO_PFX-gateway1" "$TOPO_PFX-gateway2" 2>&1) || t_fail "$out"
echo "restore: ${out//$'\n'/; }, at gen $NGEN"

# host1 relearns blue: b4's rule gone; then b2, b3, b5 as the controller has them.
relearned() { [[ $(topo_stat host1 learner relearns) -gt ${C[host1.learner.relearns]} ]]; }
t_until 10 "host1's learner relearning blue" relearned
[[ -z $(e2e_rule_vtep host1 100 10.0.0.4) ]] ||
	t_fail "host1 still holds b4's rule, from the lost history"
for dst in 10.0.0.2 10.0.0.3 10.0.0.5; do
	topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 "$dst" >/dev/null ||
		t_fail "b1 cannot ping $dst after the restore"
done
t_until 5 "host1 holding exactly the controller's b2, b3, b5 and no b4" \
    learned host1 10.0.0.2 10.0.0.3 10.0.0.4 10.0.0.5
[[ $(cache_vpc host1) == "$NGEN "* ]] ||
	t_fail "host1 holds blue at $(cache_vpc host1), not gen $NGEN"
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 1 10.0.0.4 >/dev/null 2>&1 &&
	t_fail "b4, lost with the restore, still answers"
echo "restore: host1 relearned blue: no rule of b4, b2, b3 and b5 as the controller has" \
    "them at gen $NGEN; b4 does not answer"
echo "restore: ok ($(e2e_elapsed) s)"
