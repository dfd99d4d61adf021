#!/usr/bin/env bash
# faults: every process killed with -9 in turn while traffic flows (DESIGN.md §7), in
# network namespaces (tests/e2e/topo.sh): a controller, two gateways, host1 (b1, blue
# 10.0.0.1), host2 (b2 10.0.0.2, b3 10.0.0.3), and an external host "ext" (a kernel
# vxlan device to gateway1, 10.0.0.31), whose traffic always crosses the gateways.
# Two pings run the whole time, every 20 ms: b1 -> b2 (direct, learned) and ext -> b1
# (through the gateways both ways). In turn, each one when the one before is back:
#
#	controller; gateway1: rule-store, syncd, forwarder; gateway2: forwarder;
#	host1: learner, forwarder; host2: forwarder
#
# each killed with -9 and restarted by its supervisor (tools/vpcfwd-supervise). Checked:
#
#  1. each is back (a new pid, running, restarts 1) and no other process restarted;
#  2. traffic resumes within 1 s: neither ping goes more than 1 s without a reply, the
#     forwarders' own restarts included (tests/py/pings.py);
#  3. no rule is lost: the controller lists the same VMs after its restart; changes made
#     while a process is down arrive (a VM created right after the rule-store's and the
#     syncd's kill, b3 deleted right after host1's learner's kill); at the end both
#     gateways' tables hold exactly the controller's rules (tests/py/compare.py tables),
#     host1's cache holds b2's rule as the controller has it and no longer b3's, host2's
#     holds b1's (compare.py learned), and host1 still sends to b2 direct.
#
#	BUILD=build bash tests/e2e/faults.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init faults f

INTERVAL=0.02
EXT_IP=192.168.100.31
EXT_MAC=02:00:5e:10:00:31
EXT_NS=$TOPO_PFX-ext
KILLS=("controller controller" "gateway1 rule-store" "gateway1 syncd" "gateway1 forwarder"
    "gateway2 forwarder" "host1 learner" "host1 forwarder" "host2 forwarder")
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
# The external host (see external.sh).
e2e_external ext "$EXT_IP" gateway1 x1 blue 100 10.0.0.31/24 "$EXT_MAC"
e2e_synced 10
# host1 learns b2 and b3, host2 b1.
for dst in 10.0.0.2 10.0.0.3; do
	topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 "$dst" >/dev/null || t_fail "b1 cannot ping $dst"
done
ip netns exec "$EXT_NS" ping -n -c 2 -i 0.1 -W 2 10.0.0.1 >/dev/null || t_fail "ext cannot ping b1"
t_until 5 "host1 learning b2 and b3" eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) &&
    -n $(e2e_rule_vtep host1 100 10.0.0.3) && -n $(e2e_rule_vtep host2 100 10.0.0.1) ]]'
VMS_BEFORE=$(topo_ctl vm list)
echo "faults: cluster up; b1 pings b2, ext pings b1, every 20 ms ($(e2e_elapsed) s)"

# The pings, for the whole sequence; e2e_ping_stop ends them.
e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 "$INTERVAL"
e2e_ping_start ext "$EXT_NS" 10.0.0.1 "$INTERVAL"
sleep 1

# back NODE PROC OLDPID: PROC runs again under a new pid, with a fresh heartbeat
back()
{
	local pid state age

	read -r pid state age < <(e2e_proc "$1" "$2" pid state heartbeat_age_ms) || return 1
	[[ $pid != None && $pid != "$3" && $state == running && $age != None ]] && ((age < 500))
}

declare -A KILLED_AT
for k in "${KILLS[@]}"; do
	read -r node proc <<<"$k"
	pid=$(e2e_pid "$node" "$proc") || t_fail "no pid for $node's $proc"
	t0=$(e2e_now)
	kill -9 "$pid" || t_fail "kill -9 $node's $proc (pid $pid)"
	KILLED_AT[$k]=$t0
	# Changes while it is down (or just back): they must arrive all the same.
	case $k in
	"gateway1 rule-store") topo_ctl vm create y1 --vpc blue --ip 10.0.0.41 --host ext \
	    >/dev/null || t_fail "vm create y1 after the rule-store's kill" ;;
	"gateway1 syncd") topo_ctl vm create y2 --vpc blue --ip 10.0.0.42 --host host2 \
	    >/dev/null || t_fail "vm create y2 after syncd's kill" ;;
	"host1 learner") topo_ctl vm delete b3 >/dev/null || t_fail "vm delete b3 after" \
	    "host1's learner's kill" ;;
	esac
	t_until 5 "$node's $proc coming back after kill -9" back "$node" "$proc" "$pid"
	t1=$(e2e_now)
	(($(e2e_restarts "$node" "$proc") == 1)) ||
		t_fail "$node's $proc: restarts $(e2e_restarts "$node" "$proc"), not 1"
	if [[ $k == "controller controller" ]]; then
		topo_ctl_wait 5 || t_fail "the controller does not answer after its restart"
		[[ $(topo_ctl vm list) == "$VMS_BEFORE" ]] ||
			t_fail "the controller lists other VMs after its restart"
	fi
	echo "faults: $node's $proc killed (pid $pid), running again as pid" \
	    "$(e2e_pid "$node" "$proc") after $(awk -v a="$t0" -v b="$t1" \
	    'BEGIN { printf "%.0f", (b - a) * 1000 }') ms"
	sleep 1
done
e2e_ping_stop b1 ext

# 2. Traffic resumed within 1 s each time.
fail=
for f in b1 ext; do
	report=$(e2e_pings "$T_OUT/ping-$f.txt" "$INTERVAL" --holes --interrupted)
	read -r _ _ _ _ _ _ _ gap _ < <(tail -1 <<<"$report")
	echo "faults: ping from $f: $(tail -1 <<<"$report") (ms without a reply)"
	# Each hole after the kill it follows.
	while read -r _ seqs _ _ _ from _ _ ms _; do
		if ! [[ $from =~ ^[0-9.]+$ ]]; then
			echo "faults:   hole $seqs: at the end of the run"
			continue
		fi
		last=
		for k in "${KILLS[@]}"; do
			awk -v a="${KILLED_AT[$k]}" -v b="$from" 'BEGIN { exit !(a <= b + 0.05) }' &&
				last=$k
		done
		echo "faults:   hole $seqs: $ms ms, after the kill of ${last:-nothing}"
	done < <(grep "^hole" <<<"$report")
	((gap <= 1000)) || fail+="ping from $f: $gap ms without a reply (at most 1000); "
done
[[ -z $fail ]] || t_fail "$fail"

# 1. Nothing else restarted.
for n in controller gateway1 gateway2 host1 host2; do
	while read -r p r; do
		want=0
		[[ " ${KILLS[*]/ /:} " == *" $n:$p "* ]] && want=1
		((r == want)) || t_fail "$n's $p restarted $r times (killed $want)"
	done < <(BUILD=${TOPO_BIN%/bin} ip netns exec "$TOPO_PFX-$n" "$TOPO_SUPERVISE" status \
	    --json "${TOPO_CONF[$n]}" | "$E2E_PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    print(p["proc"], p["restarts"])')
done

# 3. No rule lost.
e2e_synced 10
out=$("$E2E_PYTHON" "$E2E_PY/compare.py" tables "$TOPO_SOCK" "$TOPO_BIN/vpcfwd-table" \
    "$TOPO_PFX-gateway1" "$TOPO_PFX-gateway2" 2>&1) || t_fail "$out"
echo "faults: ${out//$'\n'/; }"
learned()
{
	"$E2E_PYTHON" "$E2E_PY/compare.py" learned "$TOPO_SOCK" "$TOPO_BIN/vpcfwd-table" \
	    "$TOPO_PFX-$1" blue "${@:2}"
}
t_until 5 "host1's cache matching the controller for b2 and b3 (b3 deleted)" \
    learned host1 10.0.0.2 10.0.0.3
t_until 5 "host2's cache matching the controller for b1" learned host2 10.0.0.1
[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) && -z $(e2e_rule_vtep host1 100 10.0.0.3) ]] ||
	t_fail "host1's cache: b2's rule missing or b3's still there"
e2e_snap C
topo_vm_exec b1 ping -n -c 5 -i 0.05 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2 at the end"
e2e_snap N
((${N[host1.forwarder.tx_direct]} - ${C[host1.forwarder.tx_direct]} == 5)) ||
	t_fail "host1 no longer sends to b2 direct"
echo "faults: the gateways' tables equal the controller's rules; host1 holds b2's rule" \
    "(not b3's, deleted while its learner was down), host2 b1's; b1 -> b2 still direct"
echo "faults: ok ($(e2e_elapsed) s)"
