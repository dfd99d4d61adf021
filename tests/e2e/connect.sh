#!/usr/bin/env bash
# connect: VMs talking through the whole cluster (DESIGN.md §3), in network namespaces
# (tests/e2e/topo.sh): a controller, two gateways, two hosts; VPCs blue (VNI 100) and
# red (VNI 200) with the same addresses, 10.0.0.0/24:
#
#	host1: b1 blue 10.0.0.1, b3 blue 10.0.0.3, r2 red 10.0.0.2
#	host2: b2 blue 10.0.0.2, r1 red 10.0.0.1, r4 red 10.0.0.4
#
#  1. the first packet: host1's cache is empty, and one ping to never-contacted b2 is
#     answered; it went via a gateway with the learn bit (tx_gateway, tx_learn), and
#     both hosts then learn the rule (b2's on host1, b1's on host2: the answer went the
#     same way);
#  2. then direct: 5 pings more go host1 -> host2 and back straight (tx_direct +5 on
#     each), none via a gateway, and the gateways see none of them;
#  3. same host: b1 <-> b3 is tx_local on host1, nothing on the underlay;
#  4. TCP (2 MB echoed, compared): across hosts, on one host, and in red;
#  5. isolation: b1 -> 10.0.0.2 reaches b2, never r2 (same address, b1's own host);
#     r2 -> 10.0.0.1 reaches r1, never b1 (r2's own host); r1 -> 10.0.0.2 reaches r2,
#     never b2; blue cannot reach 10.0.0.4 (only red has it, r4 gets nothing; the
#     gateways drop it, drop_no_rule); no frame of one VPC is delivered to a VM of the
#     other (the IPv4 packets each VM received, Ip InReceives).
#
#	BUILD=build bash tests/e2e/connect.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init connect c

H1=${TOPO_IP[host1]}
H2=${TOPO_IP[host2]}

# rx VM: IPv4 packets VM received (its vswitch's ARP answers not counted)
rx()
{
	e2e_ip_in "$1"
}

# snap: every VM's rx in RX, every counter of the cluster in C (e2e_snap)
declare -A RX C N
VMS=(b1 b2 b3 r1 r2 r4)
snap()
{
	local v

	for v in "${VMS[@]}"; do
		RX[$v]=$(rx "$v")
	done
	e2e_snap C
}

# after: read the counters again, in N; d NODE COUNTER: how much NODE's forwarder
# COUNTER grew from snap to after
after()
{
	e2e_settled
	e2e_snap N
}

d()
{
	echo $((N[$1.forwarder.$2] - C[$1.forwarder.$2]))
}

# drx VM: its IPv4 packets since snap
drx()
{
	echo $(($(rx "$1") - RX[$1]))
}

# only VM... : of all VMs, only these received anything since snap
only()
{
	local v want=" $* "

	for v in "${VMS[@]}"; do
		[[ $want == *" $v "* ]] && continue
		(($(drx "$v") == 0)) || t_fail "$v received $(drx "$v") frames it must not" \
		    "(only $* should have)"
	done
}

ping_ok()
{
	local vm=$1 dst=$2 n=$3 out

	out=$(topo_vm_exec "$vm" ping -n -c "$n" -i 0.1 -W 2 "$dst" 2>&1) ||
		t_fail "$vm: ping -c $n $dst: $(grep -E 'transmitted' <<<"$out")"
}

e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
topo_ctl vpc create red --vni 200 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b3 blue 10.0.0.3/24 host1
e2e_vm r2 red 10.0.0.2/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
e2e_vm r1 red 10.0.0.1/24 host2
e2e_vm r4 red 10.0.0.4/24 host2
for v in "${VMS[@]}"; do
	topo_vm_wait "$v" 15 || t_fail "VM $v did not come up"
done
e2e_synced 10
echo "connect: cluster up, 6 VMs on 2 hosts ($(e2e_elapsed) s)"

# 1. The first packet to a never-contacted VM arrives, via a gateway.
[[ -z $(e2e_table host1 100) ]] || t_fail "host1's cache is not empty at the start"
snap
ping_ok b1 10.0.0.2 1
after
(($(d host1 tx_gateway) == 1 && $(d host1 tx_learn) == 1 && $(d host1 tx_direct) == 0)) ||
	t_fail "b1's first ping did not go via a gateway with the learn bit: tx_gateway" \
	    "+$(d host1 tx_gateway), tx_learn +$(d host1 tx_learn), tx_direct" \
	    "+$(d host1 tx_direct)"
(($(d gateway1 tx_relayed) + $(d gateway2 tx_relayed) >= 2)) ||
	t_fail "the gateways relayed $(($(d gateway1 tx_relayed) + $(d gateway2 tx_relayed)))" \
	    "frames of the first ping and its answer, not 2"
(($(drx b2) == 1)) || t_fail "b2 received $(drx b2) packets of one ping"
only b1 b2
# Learned, both ways.
t_until 5 "host1 learning b2 (10.0.0.2 at $H2)" \
    eval '[[ $(e2e_rule_vtep host1 100 10.0.0.2) == "$H2" ]]'
t_until 5 "host2 learning b1 (10.0.0.1 at $H1)" \
    eval '[[ $(e2e_rule_vtep host2 100 10.0.0.1) == "$H1" ]]'
echo "connect: first ping to b2 answered via a gateway; host1 and host2 learned the rules"

# 2. Then direct, both ways; the gateways see nothing of it.
snap
ping_ok b1 10.0.0.2 5
after
for n in host1 host2; do
	(($(d "$n" tx_direct) == 5 && $(d "$n" tx_gateway) == 0)) ||
		t_fail "$n did not send the 5 pings direct once learned: tx_direct" \
		    "+$(d "$n" tx_direct), tx_gateway +$(d "$n" tx_gateway)"
done
(($(d gateway1 rx_vxlan) + $(d gateway2 rx_vxlan) == 0)) ||
	t_fail "the gateways received frames of a learned flow"
(($(d host2 tx_delivered) == 5 && $(d host1 tx_delivered) == 5)) ||
	t_fail "delivered: host2 +$(d host2 tx_delivered), host1 +$(d host1 tx_delivered), not 5"
only b1 b2
echo "connect: then direct: host1 tx_direct +5, host2 +5, gateways +0"

# 3. Same host: never leaves host1.
snap
ping_ok b1 10.0.0.3 5
after
(($(d host1 tx_local) == 10)) || t_fail "b1 <-> b3: host1 tx_local +$(d host1 tx_local), not 10"
(($(d host1 tx_direct) + $(d host1 tx_gateway) + $(d host1 rx_vxlan) + $(d host2 rx_vxlan) + \
    $(d gateway1 rx_vxlan) + $(d gateway2 rx_vxlan) == 0)) ||
	t_fail "b1 <-> b3 (one host) went onto the underlay"
only b1 b3
echo "connect: same host: b1 <-> b3 tx_local +10, nothing on the underlay"

# 4. TCP: across hosts, on one host, in red (r2 never talked to r1: learned mid-stream).
topo_vm_exec b2 "$E2E_PYTHON" "$E2E_PY/tcpecho.py" serve 10.0.0.2 7000 >"$T_OUT/echo-b2.txt" 2>&1 &
topo_vm_exec b3 "$E2E_PYTHON" "$E2E_PY/tcpecho.py" serve 10.0.0.3 7000 >"$T_OUT/echo-b3.txt" 2>&1 &
topo_vm_exec r1 "$E2E_PYTHON" "$E2E_PY/tcpecho.py" serve 10.0.0.1 7000 >"$T_OUT/echo-r1.txt" 2>&1 &
for f in b2 b3 r1; do
	t_wait_for "$T_OUT/echo-$f.txt" ready 10
done
snap
for pair in "b1 10.0.0.2" "b1 10.0.0.3" "r2 10.0.0.1"; do
	read -r vm dst <<<"$pair"
	out=$(topo_vm_exec "$vm" "$E2E_PYTHON" "$E2E_PY/tcpecho.py" check "$dst" 7000 2000000 2>&1) ||
		t_fail "TCP $vm -> $dst: $out"
	echo "connect: TCP $vm -> $dst: $out"
done
after
(($(d host1 tx_local) > 100)) || t_fail "TCP b1 <-> b3 was not local ($(d host1 tx_local))"
(($(d host1 tx_direct) > 100)) || t_fail "TCP across hosts did not go direct"
only b1 b2 b3 r1 r2

# 5. Isolation: the same addresses in two VPCs never meet.
snap
ping_ok r2 10.0.0.1 3
(($(drx r1) >= 3)) || t_fail "r2 -> 10.0.0.1: r1 received $(drx r1) frames"
only r2 r1
ping_ok r1 10.0.0.2 3
(($(drx r2) >= 3)) || t_fail "r1 -> 10.0.0.2: r2 received $(drx r2) frames"
only r2 r1
[[ $(e2e_rule_vtep host1 200 10.0.0.1) == "$H2" ]] ||
	t_fail "host1 holds no red rule for 10.0.0.1 at host2"
echo "connect: red 10.0.0.1 and 10.0.0.2 reach red's VMs only (b1 and b2 got nothing)"
snap
if topo_vm_exec b1 ping -n -c 3 -i 0.1 -W 1 10.0.0.4 >/dev/null 2>&1; then
	t_fail "blue b1 reached 10.0.0.4, which only red has"
fi
if topo_vm_exec b2 ping -n -c 3 -i 0.1 -W 1 10.0.0.4 >/dev/null 2>&1; then
	t_fail "blue b2 reached 10.0.0.4 (red's r4, on b2's own host)"
fi
after
(($(d gateway1 drop_no_rule) + $(d gateway2 drop_no_rule) == 6)) ||
	t_fail "the gateways dropped $(($(d gateway1 drop_no_rule) + $(d gateway2 drop_no_rule)))" \
	    "of blue's 6 pings to 10.0.0.4 as drop_no_rule, not 6"
only b1 b2
[[ -z $(e2e_rule_vtep host1 100 10.0.0.4) ]] || t_fail "host1 holds a blue rule for 10.0.0.4"
echo "connect: blue cannot reach red's 10.0.0.4 (the gateways drop it: no rule)"
echo "connect: ok ($(e2e_elapsed) s)"
