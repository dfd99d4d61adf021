#!/usr/bin/env bash
# storm: learn storms (DESIGN.md §3.1-6, issue 12), small, in network namespaces
# (tests/e2e/topo.sh): a controller, two gateways and two hosts, real, as the demo's
# configurations run them (TLS, authentication); one VM on each host, each sending one
# UDP datagram (the first packet of a flow) to its half of the destinations (v1 the
# even ones, v2 the odd ones), at 10,000 datagrams a second in all (STORM_RATE). The
# destinations are VMs of VPC blue (VNI 100) on 50 hosts the controller knows but that
# this test only simulates: their VTEPs are addresses of one namespace where
# tests/stress/storm_peer counts the VXLAN frames each destination gets. Two storms:
#
#  A. to N destinations (5,000; STORM_N), everything running;
#  B. to 10,000 more while both gateways' syncds are stopped (SIGSTOP): each gateway's
#     learn ring must hold its ~5,000 learn requests, and each syncd, resumed, must send
#     them all although they are many more than its send buffers (1024). (Until issue
#     12 the ring had 4096 slots and syncd dropped every LEARN past its buffers.)
#
# Checked after each storm:
#  1. every first packet reached its destination host, via a gateway (the receiver
#     counted one frame for each destination, none to another VTEP, none with the
#     learn bit still set; no learn request found a ring full);
#  2. the learners end holding every rule: each host's cache holds the rule of every
#     destination its VM sent to, with the destination's host's VTEP;
# and then, for all of them:
#  3. every flow goes direct: one more datagram to each destination goes from the host
#     straight to the destination's VTEP (tx_direct, tx_gateway +0, the gateways
#     receive nothing), and is counted there.
#
# The VMs route the VPC through its virtual router (10.0.0.254, which the vswitch
# answers ARP for): a VM with one neighbour entry per destination would fill the
# kernel's ARP table (gc_thresh3), which all namespaces share. On a failure the test
# shows where the frames went: the VMs' TAPs, the forwarders', learners' and syncds'
# counters, the receiver's.
#
#	BUILD=build bash tests/e2e/storm.sh		(as root)
#	STORM_N=20000 STORM_RATE=20000 BUILD=build bash tests/e2e/storm.sh
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init storm s

NA=${STORM_N:-5000}		# storm A's destinations: 0 .. NA - 1
NB=10000			# storm B's: NA .. NA + NB - 1
NDST=$((NA + NB))
RATE=${STORM_RATE:-10000}	# first packets a second, both VMs together
SIMS=50
DST=10.1.0.0			# destination i is DST + i, on simulated host i % SIMS
SIM_IP=192.168.100.50		# the namespace holding every simulated VTEP
SIM_NET=172.21.0.0/16		# simulated host s<k> has VTEP 172.21.0.<k + 1>
VTEP0=172.21.0.1
PEER=$BUILD/tests/storm_peer
MAP=$T_OUT/storm.map
((NA >= 2 && NA % 2 == 0 && NDST <= 65536)) ||
	t_fail "STORM_N must be even, 2..55536, not $NA"
((RATE >= 2)) || t_fail "STORM_RATE must be 2 or more, not $RATE"
[[ -x $PEER ]] || t_fail "$PEER not built (make BUILD=$BUILD)"

e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/8 >/dev/null
# The simulated hosts: registered, their VTEPs local addresses of one namespace that the
# gateways and hosts reach through it (a router hop: no neighbour entry per host).
e2e_underlay_ns sim "$SIM_IP"
ip -n "$TOPO_PFX-sim" route add local "$SIM_NET" dev lo ||
	t_fail "cannot make $SIM_NET local in $TOPO_PFX-sim"
for n in gateway1 gateway2 host1 host2; do
	ip -n "$TOPO_PFX-$n" route add "$SIM_NET" via "$SIM_IP" ||
		t_fail "cannot route $SIM_NET from $n"
done
for ((k = 0; k < SIMS; k++)); do
	topo_ctl host create "s$k" --vtep "172.21.0.$((k + 1))" >/dev/null ||
		t_fail "cannot register simulated host s$k"
done
{
	echo "name,vpc,ip,host"
	for ((i = 0; i < NDST; i++)); do
		echo "d$i,blue,10.1.$((i >> 8)).$((i & 255)),s$((i % SIMS))"
	done
	# One warm-up destination a host, outside the storms'.
	echo "w1,blue,10.0.1.1,s0"
	echo "w2,blue,10.0.1.2,s1"
} >"$T_OUT/vms.csv"
topo_ctl import "$T_OUT/vms.csv" >/dev/null || t_fail "cannot import $NDST VMs"
e2e_start gateway1 gateway2 host1 host2
e2e_vm v1 blue 10.0.0.1/24 host1
e2e_vm v2 blue 10.0.0.2/24 host2
for v in v1 v2; do
	topo_vm_wait "$v" 15 || t_fail "VM $v did not come up"
	topo_vm_exec "$v" ip route add 10.0.0.0/8 via 10.0.0.254 ||
		t_fail "cannot route the VPC through its router in $v"
done
t_spawn RECV ip netns exec "$TOPO_PFX-sim" "$PEER" recv -m "$MAP" -n "$NDST" -d "$DST" \
    -H "$SIMS" -V "$VTEP0" -v 100 -g "${TOPO_IP[gateway1]},${TOPO_IP[gateway2]}" \
    2>"$T_OUT/recv.log"
t_until 5 "the receiver starting" test -s "$MAP"

# report FIELD: one field of the receiver's counts (a list's items space separated)
report()
{
	"$PEER" report -m "$MAP" | "$E2E_PYTHON" -c '
import json, sys
v = json.load(sys.stdin)[sys.argv[1]]
print(" ".join(map(str, v)) if isinstance(v, list) else v)' "$1"
}

# rules NODE END: the rules of VNI 100 NODE's cache holds for destinations below END,
# each with the destination's VTEP (DST + i on 172.21.0.<i % SIMS + 1>)
rules()
{
	e2e_table "$1" 100 | awk -v sims="$SIMS" -v n="$2" '
	{ split($1, a, ".")
	  i = a[3] * 256 + a[4]
	  if (a[1] == 10 && a[2] == 1 && i < n && $3 == "172.21.0." (i % sims + 1)) ok++ }
	END { print ok + 0 }'
}

# gen VM FIRST END: VM sends one datagram to each destination FIRST, FIRST + 2, ... < END
gen()
{
	topo_vm_exec "$1" "$PEER" gen -n "$3" -d "$DST" -o "$2" -s 2 -r $((RATE / 2))
}

# storm FIRST END: both VMs, each to its half of FIRST .. END - 1
storm()
{
	local g1 g2

	gen v1 "$1" "$2" >"$T_OUT/gen-v1.json" &
	g1=$!
	gen v2 "$(($1 + 1))" "$2" >"$T_OUT/gen-v2.json" &
	g2=$!
	wait "$g1" || t_fail "v1's generator failed"
	wait "$g2" || t_fail "v2's generator failed"
}

declare -A C D
# d NODE PROC COUNTER: how much it grew from snapshot C to snapshot D
d()
{
	echo $((D[$1.$2.$3] - C[$1.$2.$3]))
}

# dg COUNTER: d of both gateways' COUNTER (syncd.X or forwarder.X)
dg()
{
	echo $(($(d gateway1 "${1%%.*}" "${1#*.}") + $(d gateway2 "${1%%.*}" "${1#*.}")))
}

# since T0: milliseconds from T0 (an EPOCHREALTIME without its dot) to now
since()
{
	echo $(((${EPOCHREALTIME/./} - $1) / 1000))
}

# upto SECS CMD...: run CMD every 0.1 s until it succeeds; 1 after SECS
upto()
{
	local _upto_by=$((${EPOCHREALTIME/./} + $1 * 1000000))

	shift
	until "$@" 2>/dev/null; do
		((${EPOCHREALTIME/./} < _upto_by)) || return 1
		sleep 0.1
	done
}

# where: on a failure, where the frames went (the VMs' TAPs, the forwarders, syncds)
where()
{
	local v n c line

	for v in v1 v2; do
		echo "storm: $v: $(topo_vm_exec "$v" ip -s -o link show dev "$(topo_vm_tap "$v")" |
		    tr -s ' ' | sed 's/.*RX: //')" >&2
	done
	e2e_snap D
	for n in host1 host2 gateway1 gateway2; do
		line=
		for c in "${!D[@]}"; do
			if [[ $c == "$n".* && ${D[$c]} != "${C[$c]:-}" &&
			    $c =~ \.(rx_|tx_|drop_|learn) ]]; then
				line+=" ${c#"$n".} +$((D[$c] - ${C[$c]:-0}))"
			fi
		done
		echo "storm: $n:$line" >&2
	done
	echo "storm: receiver: $("$PEER" report -m "$MAP" | cut -c1-300)" >&2
}

# delivered FIRST END WHAT: storm FIRST .. END - 1 reached every destination, once each
# (gw_hist: none missing beyond those not yet sent to), and nothing went astray
delivered()
{
	local gh f end=$2 want_none=$((NDST - $2))

	upto 20 eval '(($(report gw_frames) >= end))' || true
	read -r -a gh <<<"$(report gw_hist)"
	if ((gh[0] != want_none || gh[1] != end)); then
		where
		t_fail "$3: $((gh[0] - want_none)) of $((end - $1)) first packets never reached" \
		    "their destination host (e.g. $(report missing_gw)); gw_hist ${gh[*]}"
	fi
	for f in wrong_vtep learn_bit bad direct_frames; do
		(($(report $f) == 0)) || t_fail "$3: the receiver counted $(report $f) frames as $f"
	done
}

# learned END WHAT: both hosts hold the rules of destinations below END, each its VM's
learned()
{
	local end=$1

	if ! upto 20 eval '(($(rules host1 "$end") == (end + 1) / 2 &&
	    $(rules host2 "$end") == end / 2))'; then
		where
		t_fail "$2: the learners did not learn every destination within 20 s: host1" \
		    "holds $(rules host1 "$1") of $((($1 + 1) / 2)), host2 $(rules host2 "$1")" \
		    "of $(($1 / 2))"
	fi
}

# Warm-up: each host learns a rule outside the storms', so the whole path is up (the
# gateways' VTEP lists loaded, each learner known to syncd by its first requests).
for w in "v1 host1 10.0.1.1" "v2 host2 10.0.1.2"; do
	read -r v h ip <<<"$w"
	t_until 15 "$h learning the warm-up destination $ip" \
	    eval 'topo_vm_exec "$v" "$PEER" gen -n 1 -d "$ip" >/dev/null &&
	    sleep 0.2 && [[ -n $(e2e_rule_vtep "$h" 100 "$ip") ]]'
done
echo "storm: cluster up, $NDST destinations on $SIMS simulated hosts ($(e2e_elapsed) s)"

# A. Everything running.
e2e_snap C
t0=${EPOCHREALTIME/./}
storm 0 "$NA"
sent=$(since "$t0")
delivered 0 "$NA" "storm A"
learned "$NA" "storm A"
echo "storm: A: $NA first packets sent in $sent ms, each delivered via a gateway; after" \
    "$(since "$t0") ms host1 holds $(rules host1 "$NA") rules, host2 $(rules host2 "$NA")," \
    "each with its destination's VTEP"
e2e_snap D
(($(dg syncd.learn_tx) >= NA)) ||
	t_fail "storm A: the gateways sent $(dg syncd.learn_tx) LEARNs for $NA first packets"
(($(dg forwarder.learn_ring_full) == 0)) ||
	t_fail "storm A: $(dg forwarder.learn_ring_full) learn requests found a ring full"

# B. The syncds stopped while the first packets come: the learn rings hold them.
declare -A SYNCD
resume()
{
	local g

	for g in "${!SYNCD[@]}"; do
		kill -CONT "${SYNCD[$g]}" 2>/dev/null || true
	done
}
e2e_snap C
for g in gateway1 gateway2; do
	SYNCD[$g]=$(e2e_pid "$g" syncd) || t_fail "no syncd pid on $g"
	kill -STOP "${SYNCD[$g]}"
done
storm "$NA" "$NDST"
if ! upto 10 eval 'e2e_snap D;
    (($(dg forwarder.learn_req) + $(dg forwarder.learn_ring_full) >= NB))'; then
	resume
	where
	t_fail "storm B: the gateways relayed $(dg forwarder.learn_req) first packets with" \
	    "the learn bit of $NB"
fi
resume
(($(dg forwarder.learn_ring_full) == 0)) || { where; t_fail "storm B:" \
    "$(dg forwarder.learn_ring_full) learn requests found a gateway's ring full"; }
echo "storm: B: $NB first packets with both syncds stopped: the learn rings took" \
    "$(d gateway1 forwarder learn_req) and $(d gateway2 forwarder learn_req)"
t0=${EPOCHREALTIME/./}
delivered "$NA" "$NDST" "storm B"
learned "$NDST" "storm B"
e2e_snap D
(($(dg syncd.tx_nobuf) == 0 && $(dg syncd.learn_tx) == NB)) ||
	t_fail "storm B: the syncds sent $(dg syncd.learn_tx) LEARNs for $NB requests" \
	    "(tx_nobuf $(dg syncd.tx_nobuf))"
echo "storm: B: resumed, the syncds sent all $NB LEARNs (learn_waited" \
    "$(dg syncd.learn_waited)); $(since "$t0") ms later host1 holds $(rules host1 "$NDST")" \
    "rules, host2 $(rules host2 "$NDST")"

# Then every flow goes direct.
e2e_snap C
storm 0 "$NDST"
upto 20 eval '(($(report direct_frames) >= NDST))' || true
e2e_snap D
read -r -a dh <<<"$(report direct_hist)"
if ((dh[1] != NDST)); then
	where
	t_fail "not every destination got exactly one direct frame: direct_hist ${dh[*]}"
fi
(($(d host1 forwarder tx_direct) == (NDST + 1) / 2 &&
    $(d host2 forwarder tx_direct) == NDST / 2)) ||
	t_fail "tx_direct: host1 +$(d host1 forwarder tx_direct), host2" \
	    "+$(d host2 forwarder tx_direct), not $(((NDST + 1) / 2)) and $((NDST / 2))"
for h in host1 host2; do
	(($(d "$h" forwarder tx_gateway) == 0)) ||
		t_fail "$h sent $(d "$h" forwarder tx_gateway) frames of learned flows" \
		    "via a gateway"
done
(($(dg forwarder.rx_vxlan) == 0)) || t_fail "the gateways received frames of learned flows"
echo "storm: then direct: host1 tx_direct +$(d host1 forwarder tx_direct), host2" \
    "+$(d host2 forwarder tx_direct), the gateways +0; each destination got its frame"
echo "storm: ok ($(e2e_elapsed) s)"
