#!/usr/bin/env bash
# cluster: cluster mode end to end (issue 13, docs/cluster.md), in network namespaces
# (tests/e2e/topo.sh): three etcd members (etcd1..3, each in a namespace of its own on
# 192.168.101.0/24, on the underlay's bridge), two controllers on them (controller .2,
# controller2 .3; controller.store = "etcd", each reaching etcd's subnet by a route of
# its own), two gateways, two hosts. The rule-stores and learners list both controllers
# (gateway1 and host1 controller first, gateway2 and host2 controller2 first). VPC blue
# (VNI 100): b1 on host1 and b2 on host2 ping each other every 20 ms throughout; p1..p8
# on simulated hosts f1..f3 (registered, no machine behind them), which host1 learned.
#
# Two streams of VM changes (tests/py/clusterchurn.py), each alternating between the
# two controllers: creates, deletes and migrations in blue and in a VPC of each stream's
# own (red, green), and migrations of p1..p8; every change is settled (a lost or unsure
# answer is sent again until it is known done), every acknowledged one recorded with its
# etcd revision and rule version. Meanwhile, each once the streams have made progress
# after the one before:
#
#  1. kill -9 of the controller gateway1's rule-store streams from (its TCP peer), then
#     of the one gateway2's streams from (the supervisor restarts each);
#  2. kill -9 of the etcd leader (etcdctl endpoint status), restarted once a new leader
#     serves;
#  3. kill -9 of an etcd follower, restarted.
#
# Checked: no ping gap over 1 s; each rule-store moved to the live controller; every
# acknowledged change is in both controllers' state, at distinct revisions rising in each
# stream, with rule versions rising with revisions within each VPC, and each VPC's
# version grew by exactly the changes committed in it (none lost, none applied twice);
# both gateway tables equal the controllers' rules version for version, each VPC at the
# controllers' version, and their rule-stores took no snapshot, replayed nothing
# (rules_stale) and refused nothing while moving; host1's cache holds p1..p8 and b2 as
# the controllers have them now, host2's b1, blue at the controllers' version.
#
#  4. a partition: the controller the gateways stream from (X) cut from etcd (its route
#     to etcd's subnet deleted, and the members' routes back to it): a change through
#     it is refused within 4 x controller.etcd.timeout (ETCD_TIMEOUT) + 1 s (the first
#     try's timeout, then the settle's tries, a timeout each on a member it still holds a
#     connection to: docs/cluster.md, "Failure behaviour"), with an
#     error naming etcd, and so is the next (no member reached: nothing committed, and
#     it is not); a change through the other (Y) is acknowledged, and within 3 timeouts
#     + 5 s of that both gateways leave X, whose log stopped, for Y, and hold that
#     change, and within as long again X says etcd_cut_off 1; the routes back: X
#     acknowledges again within 15 s, its change reaches both gateways, and its view
#     holds Y's.
#
#	BUILD=build bash tests/e2e/cluster.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init cluster k

INTERVAL=0.02
ETCD_NET=192.168.101			# etcd's subnet: members .11, .12, .13
ETCD_TIMEOUT=1				# s: controller.etcd.timeout
PROGRESS=10				# changes each stream makes between faults
command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
	t_fail "etcd and etcdctl are not installed (make deps)"
TOPO_IP[controller2]=192.168.100.3
TOPO_BASE[controller2]=controller
TOPO_NODES+=(controller2)
E2E_NODES=(gateway1 gateway2 host1 host2)
C1=$TOPO_SOCK
C2=$TOPO_DIR/controller2/controller.sock
declare -A CTL_OF=([${TOPO_IP[controller]}]=controller [${TOPO_IP[controller2]}]=controller2)
declare -A C N

# The underlay, then etcd: each member in a namespace of its own, on another subnet.
topo_underlay || t_fail "topo_underlay"
for i in 1 2 3; do
	e2e_underlay_ns "etcd$i" "$ETCD_NET.1$i"
	ip -n "$TOPO_PFX-etcd$i" route add 192.168.100.0/24 dev eth0 ||
		t_fail "cannot route the underlay from etcd$i"
done
t_etcd "$TOPO_PFX-etcd1" 3 "$ETCD_NET.11@$TOPO_PFX-etcd1" "$ETCD_NET.12@$TOPO_PFX-etcd2" \
    "$ETCD_NET.13@$TOPO_PFX-etcd3"

# The nodes. Both controllers on etcd; controller2's file is controller.conf's with its
# own name, address, directories and certificate.
store="s|^controller = {|controller = {\n\tstore = \"etcd\";\n\tetcd = {\n\t\tendpoints = "
store+="$T_ETCD_CONF;\n\t\ttimeout = \"${ETCD_TIMEOUT}s\";\n\t\tmaintenance_interval = \"1s\";"
store+="\n\t};|"
E2E_SED[controller]=$store
E2E_SED[controller2]="$store
s|$TOPO_DIR/controller|$TOPO_DIR/controller2|g
s|controller-controller\\.|controller-controller2.|g
s|\"$TOPO_PFX-controller\"|\"$TOPO_PFX-controller2\"|
s|${TOPO_IP[controller]}:7400|${TOPO_IP[controller2]}:7400|"
both="\"${TOPO_IP[controller]}:7400\", \"${TOPO_IP[controller2]}:7400\""
both2="\"${TOPO_IP[controller2]}:7400\", \"${TOPO_IP[controller]}:7400\""
E2E_SED[gateway1]="s|^\tcontrollers = .*|\tcontrollers = [$both];|"
E2E_SED[host1]=${E2E_SED[gateway1]}
E2E_SED[gateway2]="s|^\tcontrollers = .*|\tcontrollers = [$both2];|"
E2E_SED[host2]=${E2E_SED[gateway2]}
for n in controller controller2 "${E2E_NODES[@]}"; do
	topo_node "$n" || t_fail "topo_node $n"
	mapfile -t sed <<<"${E2E_SED[$n]}"
	topo_conf "$n" "${sed[@]}" || t_fail "topo_conf $n"
done
for n in controller controller2; do
	ip -n "$TOPO_PFX-$n" route add "$ETCD_NET.0/24" dev eth0 ||
		t_fail "cannot route etcd's subnet from $n"
done
ctl2()
{
	"$TOPO_BIN/vpcfwdctl" -s "$C2" "$@"
}
topo_start controller >/dev/null || t_fail "cannot start the controller"
topo_start controller2 >/dev/null || t_fail "cannot start controller2"
topo_ctl_wait 15 || t_fail "the controller does not answer"
t_until 15 "controller2 answering" eval 'ctl2 vpc list >/dev/null'

topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
ctl2 vpc create red --vni 200 --cidr 10.1.0.0/16 >/dev/null
topo_ctl vpc create green --vni 300 --cidr 10.2.0.0/16 >/dev/null
for n in host1 host2; do
	topo_host "$n" || t_fail "cannot register $n"
done
for i in 1 2 3; do
	ctl2 host create "f$i" --vtep "192.168.100.20$i" >/dev/null
done
e2e_start "${E2E_NODES[@]}"
e2e_vm b1 blue 10.0.0.1/16 host1
e2e_vm b2 blue 10.0.0.2/16 host2
for i in 1 2 3 4 5 6 7 8; do
	topo_ctl vm create "p$i" --vpc blue --ip "10.0.0.10$i" --host "f$((i % 3 + 1))" >/dev/null
done
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
e2e_synced 10
# host1 learns b2 and p1..p8 (their hosts are not there: a ping each, unanswered, for
# the learn), host2 learns b1.
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
topo_vm_exec b2 ping -n -c 2 -i 0.1 -W 2 10.0.0.1 >/dev/null || t_fail "b2 cannot ping b1"
PIPS=()
for i in 1 2 3 4 5 6 7 8; do
	PIPS+=("10.0.0.10$i")
	topo_vm_exec b1 ping -n -c 1 -W 0.2 "10.0.0.10$i" >/dev/null 2>&1 || true
done
held()
{
	local ip

	for ip in 10.0.0.2 "${PIPS[@]}"; do
		[[ -n $(e2e_rule_vtep host1 100 "$ip") ]] || return 1
	done
	[[ -n $(e2e_rule_vtep host2 100 10.0.0.1) ]]
}
t_until 10 "host1 learning b2 and p1..p8, host2 b1" held
echo "cluster: 3 etcd members, 2 controllers, 2 gateways, 2 hosts up; b1 <-> b2 pinging" \
    "every 20 ms ($(e2e_elapsed) s)"

# streams_from GATEWAY: the controller its rule-store is connected to, by its TCP peer.
streams_from()
{
	local peer

	peer=$(ip netns exec "$TOPO_PFX-$1" ss -Htn state established '( dport = :7400 )' |
	    awk '{ sub(/:[0-9]+$/, "", $4); print $4; exit }')
	[[ -n $peer && -n ${CTL_OF[$peer]:-} ]] || return 1
	echo "${CTL_OF[$peer]}"
}
# acked NAME: the changes stream NAME had acknowledged
acked()
{
	local n=0

	[[ ! -s $T_OUT/$1.n ]] || n=$(<"$T_OUT/$1.n")
	echo "$n"
}
declare -A MARK
mark()
{
	MARK[sa]=$(acked sa)
	MARK[sb]=$(acked sb)
}
progressed()
{
	(($(acked sa) >= MARK[sa] + PROGRESS && $(acked sb) >= MARK[sb] + PROGRESS))
}
streams_alive()
{
	local s

	for s in sa sb; do
		kill -0 "${STREAM[$s]}" 2>/dev/null ||
			t_fail "stream $s ended: $(tail -3 "$T_OUT/$s.log")"
	done
}
progress()
{
	streams_alive
	progressed
}
# etcd_status: "INDEX LEADER?" for each member that answers
etcd_status()
{
	local i

	for i in 0 1 2; do
		ip netns exec "${T_ETCD_NS[i]}" etcdctl --endpoints "${T_ETCD_URLS[i]}" \
		    --command-timeout 1s endpoint status -w json 2>/dev/null | "$E2E_PYTHON" -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
print(sys.argv[1], 1 if s["leader"] == s["header"]["member_id"] else 0)' "$i" 2>/dev/null ||
		    true
	done
}
etcd_leader()
{
	local i l leader=

	while read -r i l; do
		((l == 0)) || leader=$i
	done < <(etcd_status)
	[[ -n $leader ]] && echo "$leader"
}
# ctl_back NAME OLDPID: NAME's controller runs again, under a new pid, and answers
ctl_back()
{
	local pid state

	read -r pid state < <(e2e_proc "$1" controller pid state) || return 1
	[[ $pid != None && $pid != "$2" && $state == running ]] || return 1
	"$TOPO_BIN/vpcfwdctl" -s "$(sock_of "$1")" vpc list >/dev/null
}
sock_of()
{
	[[ $1 == controller ]] && echo "$C1" || echo "$C2"
}
other()
{
	[[ $1 == controller ]] && echo controller2 || echo controller
}

e2e_snap C
BLUE0=$(topo_ctl --json vpc show blue | "$E2E_PYTHON" -c \
    'import json, sys; print(json.load(sys.stdin)["version"])')
e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 "$INTERVAL"
e2e_ping_start b2 "$(topo_vm_tap b2)" 10.0.0.1 "$INTERVAL"
declare -A STREAM
t_spawn "STREAM[sa]" "$E2E_PYTHON" "$E2E_PY/clusterchurn.py" run "$T_OUT/sa.json" \
    "$T_OUT/stop" --sock "$C1" "$C2" --vpc blue=10.0.64.0/18 red=10.1.0.0/16 \
    --hosts f1,f2,f3 --own p1 p2 p3 p4 --name sa- --progress "$T_OUT/sa.n" \
    >"$T_OUT/sa.log" 2>&1
t_spawn "STREAM[sb]" "$E2E_PYTHON" "$E2E_PY/clusterchurn.py" run "$T_OUT/sb.json" \
    "$T_OUT/stop" --sock "$C2" "$C1" --vpc blue=10.0.128.0/18 green=10.2.0.0/16 \
    --hosts f1,f2,f3 --own p5 p6 p7 p8 --name sb- --progress "$T_OUT/sb.n" \
    >"$T_OUT/sb.log" 2>&1
mark
t_until 15 "both streams making $PROGRESS changes" progress

# 1. The controller each rule-store streams from.
for g in gateway1 gateway2; do
	t_until 5 "$g's rule-store connected" eval 'streams_from '"$g"' >/dev/null'
	c=$(streams_from "$g")
	pid=$(e2e_pid "$c" controller) || t_fail "no pid for $c"
	mark
	kill -9 "$pid"
	t_until 5 "$g's rule-store streaming from $(other "$c")" \
	    eval '[[ $(streams_from '"$g"') == '"$(other "$c")"' ]]'
	t_until 10 "$c back after kill -9" ctl_back "$c" "$pid"
	t_until 15 "both streams making $PROGRESS changes after $c's kill" progress
	echo "cluster: $c (which $g streamed from) killed -9: $g moved to $(other "$c");" \
	    "$c back as pid $(e2e_pid "$c" controller); streams at $(acked sa) + $(acked sb)" \
	    "acknowledged ($(e2e_elapsed) s)"
done

# 2, 3. The etcd leader, then a follower.
for what in leader follower; do
	t_until 10 "an etcd leader" eval 'etcd_leader >/dev/null'
	L=$(etcd_leader)
	if [[ $what == leader ]]; then
		m=$L
	else
		m=$(((L + 1) % 3))
	fi
	mark
	t_kill "${T_ETCD_PIDS[m]}"
	t_until 10 "an etcd leader after the $what's kill" eval 'etcd_leader >/dev/null'
	t_until 15 "both streams making $PROGRESS changes after the etcd $what's kill" progress
	newl=$(etcd_leader)
	t_etcd_start "$m"
	echo "cluster: etcd $what m$m killed -9: leader m$newl; m$m back; streams at" \
	    "$(acked sa) + $(acked sb) acknowledged ($(e2e_elapsed) s)"
done
mark
t_until 15 "both streams making $PROGRESS changes after the members came back" progress
touch "$T_OUT/stop"
for s in sa sb; do
	wait "${STREAM[$s]}" || t_fail "stream $s: $(tail -3 "$T_OUT/$s.log")"
	t_forget "${STREAM[$s]}"
	echo "cluster: $(tail -1 "$T_OUT/$s.log")"
done
e2e_ping_stop b1 b2

# No ping gap over 1 s.
for v in b1 b2; do
	report=$(e2e_pings "$T_OUT/ping-$v.txt" "$INTERVAL" --holes --interrupted)
	read -r _ _ _ _ _ _ _ gap _ < <(tail -1 <<<"$report")
	echo "cluster: ping from $v: $(tail -1 <<<"$report") (ms without a reply)"
	((gap <= 1000)) || t_fail "ping from $v: $gap ms without a reply (at most 1000): $report"
done

# Every acknowledged change, once, in order, in both controllers.
"$E2E_PYTHON" "$E2E_PY/clusterchurn.py" check "$T_OUT/sa.json" "$T_OUT/sb.json" \
    --sock "$C1" "$C2" --start "blue=$BLUE0" red=0 green=0 >"$T_OUT/check.txt" 2>&1 ||
	t_fail "$(cat "$T_OUT/check.txt")"
echo "cluster: $(cat "$T_OUT/check.txt")"

# In both gateways, as the controllers have it.
both_synced()
{
	local s1 s2 g

	s1=$(topo_stat controller controller log_seq) || return 1
	s2=$(topo_stat controller2 controller log_seq) || return 1
	[[ $s1 == "$s2" ]] || return 1
	for g in gateway1 gateway2; do
		[[ $(topo_stat "$g" rule-store applied_seq) == "$s1" ]] || return 1
	done
}
t_until 10 "both gateways and both controllers at one seq" both_synced
for s in "$C1" "$C2"; do
	out=$("$E2E_PYTHON" "$E2E_PY/compare.py" tables "$s" "$TOPO_BIN/vpcfwd-table" \
	    "$TOPO_PFX-gateway1" "$TOPO_PFX-gateway2" 2>&1) || t_fail "$out"
done
echo "cluster: ${out//$'\n'/; }"
# vni_version NODE VNI: the VPC's version in NODE's table
vni_version()
{
	"$TOPO_BIN/vpcfwd-table" --json -N "$TOPO_PFX-$1" | "$E2E_PYTHON" -c '
import json, sys
print([v["version"] for v in json.load(sys.stdin)["vnis"] if v["vni"] == int(sys.argv[1])][0])' "$2"
}
for vv in blue:100 red:200 green:300; do
	want=$(topo_ctl --json vpc show "${vv%:*}" | "$E2E_PYTHON" -c \
	    'import json, sys; print(json.load(sys.stdin)["version"])')
	for g in gateway1 gateway2; do
		have=$(vni_version "$g" "${vv#*:}")
		[[ $have == "$want" ]] ||
			t_fail "$g holds VPC ${vv%:*} at version $have, the controllers at $want"
	done
done
e2e_snap N
for g in gateway1 gateway2; do
	for k in snapshot_loads rules_stale apply_errors vnis_rebuilt vnis_rebased malformed; do
		d=$((N[$g.rule-store.$k] - C[$g.rule-store.$k]))
		((d == 0)) || t_fail "$g's rule-store: $k +$d while moving between controllers"
	done
done
echo "cluster: both gateways hold every VPC at the controllers' version; their" \
    "rule-stores moved without a snapshot, a replay or a refusal"

# In the learners, for what they hold.
learned()
{
	"$E2E_PYTHON" "$E2E_PY/compare.py" learned "$C1" "$TOPO_BIN/vpcfwd-table" \
	    "$TOPO_PFX-$1" blue "${@:2}"
}
t_until 10 "host1's cache matching the controllers for b2 and p1..p8" \
    learned host1 10.0.0.2 "${PIPS[@]}"
t_until 10 "host2's cache matching the controllers for b1" learned host2 10.0.0.1
echo "cluster: host1 holds b2 and p1..p8 as the controllers have them, host2 b1, blue" \
    "at the controllers' version ($(e2e_elapsed) s)"

# 4. A partition: the controller the gateways stream from cut from etcd: its route to
# etcd's subnet removed, and the members' routes back to it.
X=$(streams_from gateway1) || t_fail "gateway1's rule-store is not connected"
Y=$(other "$X")
# cut del|add: the routes between X and etcd deleted, or back
cut()
{
	local i back=del

	[[ $1 == del ]] && back=add
	ip -n "$TOPO_PFX-$X" route "$1" "$ETCD_NET.0/24" dev eth0
	for i in 1 2 3; do
		ip -n "$TOPO_PFX-etcd$i" route "$back" blackhole "${TOPO_IP[$X]}/32"
	done
}
ctl_x()
{
	"$TOPO_BIN/vpcfwdctl" -s "$(sock_of "$X")" -t 30 "$@"
}
cut del
t0=$(e2e_now)
if err=$(ctl_x vm create q1 --vpc red --ip 10.1.250.1 --host f1 2>&1); then
	t_fail "$X acknowledged a change while cut from etcd"
fi
t1=$(e2e_now)
ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }')
[[ $err == *etcd* ]] || t_fail "$X's refusal does not name etcd: $err"
# The first try's timeout, then the settle: a try on a member X still holds a connection
# to waits a timeout more, one that must connect fails at once (no route), and one that
# reaches no member ends it: with a connection held to each of the three members, about
# 4 timeouts (docs/cluster.md); 2 timeouts (+ 0.2 s) seen; 1 s more for a busy machine.
((ms <= (4 * ETCD_TIMEOUT + 1) * 1000)) ||
	t_fail "$X took $ms ms to refuse a change while cut from etcd" \
	    "(controller.etcd.timeout ${ETCD_TIMEOUT}s)"
echo "cluster: $X cut from etcd: a change refused after $ms ms: $err"
# The next one: no member reached, nothing sent.
if err=$(ctl_x vm create q3 --vpc red --ip 10.1.250.3 --host f1 2>&1); then
	t_fail "$X acknowledged a second change while cut from etcd"
fi
[[ $err == *"no etcd member can be reached; nothing was committed"* ]] ||
	t_fail "$X's second refusal does not say etcd is out of reach: $err"
"$TOPO_BIN/vpcfwdctl" -s "$(sock_of "$Y")" vm create q2 --vpc red --ip 10.1.250.2 \
    --host f2 >/dev/null || t_fail "$Y refused a change while $X was cut off"
# The gateways leave X, whose log stopped, for Y, and get what Y acknowledged.
left()
{
	local g

	for g in gateway1 gateway2; do
		[[ $(streams_from "$g") == "$Y" &&
		    $(e2e_rule_vtep "$g" 200 10.1.250.2) == 192.168.100.202 ]] || return 1
	done
}
t_until $((3 * ETCD_TIMEOUT + 5)) "both gateways leaving $X for $Y and holding its change" left
t1=$(e2e_now)
# The gateways may leave before X judges itself cut off (ETCDPROBE_CUT_TIMEOUTS timeouts):
# its loop, blocked in the refused commits, missed their heartbeats. X must still say so.
t_until $((3 * ETCD_TIMEOUT + 5)) "$X saying it is cut off from etcd (etcd_cut_off 1)" \
    eval '(($(topo_stat "$X" controller etcd_cut_off) == 1))'
echo "cluster: the gateways left $X for $Y and hold the change $Y acknowledged" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the cut"
cut add
t0=$(e2e_now)
t_until 15 "$X acknowledging a change after the route came back" \
    eval 'ctl_x vm create q1 --vpc red --ip 10.1.250.1 --host f1 >/dev/null'
t1=$(e2e_now)
reached()
{
	local g

	for g in gateway1 gateway2; do
		[[ $(e2e_rule_vtep "$g" 200 10.1.250.1) == 192.168.100.201 ]] || return 1
	done
	ctl_x vm show q2 >/dev/null &&
	    "$TOPO_BIN/vpcfwdctl" -s "$(sock_of "$Y")" vm show q1 >/dev/null &&
	    (($(topo_stat "$X" controller etcd_cut_off) == 0))
}
t_until 10 "$X's change reaching both gateways, and $X's view holding $Y's" reached
for c in controller controller2; do
	! "$TOPO_BIN/vpcfwdctl" -s "$(sock_of "$c")" vm show q3 >/dev/null 2>&1 ||
		t_fail "a change $X refused while cut off was committed (q3, seen by $c)"
done
echo "cluster: route back: $X acknowledged a change after" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) * 1000 }') ms; it is in" \
    "both gateways, $Y's change in $X's view, the refused one nowhere"
echo "cluster: ok ($(e2e_elapsed) s)"
