#!/usr/bin/env bash
# external: an external host (DESIGN.md §3.11) talking with a VM through the gateways, in
# network namespaces (tests/e2e/topo.sh): a controller, two gateways, host1 with b1
# (blue, 10.0.0.1), and "ext", a namespace on the underlay (192.168.100.31) with no
# vpcfwd process: the Linux kernel's vxlan device vx0 (VNI 100, remote gateway1, port
# 4789, nolearning) holds 10.0.0.31, registered as VM x1 of host ext (`host create ext
# --kind external`) with vx0's MAC.
#
#  1. ext pings b1 and b1 pings ext (the kernel's ARP answered by gateway1, arp_replies);
#     TCP both ways (2 MB echoed, compared);
#  2. every frame ext receives comes from a gateway without the learn bit (a capture on
#     ext's underlay interface, tests/py/vxcap.py), and ext sends to gateway1 only;
#  3. host1 never holds a rule for x1 and sends to it via the gateways only (tx_gateway,
#     no tx_direct): the learn requests its frames make are skipped by syncd
#     (learn_external), which sends host1 no LEARN for x1;
#  4. the gateways carry it all: tx_relayed grows by at least the frames both ways.
#
#	BUILD=build bash tests/e2e/external.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init external x

EXT_IP=192.168.100.31
EXT_MAC=02:00:5e:10:00:31
EXT_NS=$TOPO_PFX-ext
GW1=${TOPO_IP[gateway1]}
declare -A C N

e2e_cluster gateway1 gateway2 host1
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1
e2e_vm b1 blue 10.0.0.1/24 host1
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"

e2e_external ext "$EXT_IP" gateway1 x1 blue 100 10.0.0.31/24 "$EXT_MAC"
e2e_synced 10
ip netns exec "$EXT_NS" "$E2E_PYTHON" "$E2E_PY/vxcap.py" eth0 >"$T_OUT/cap-ext.txt" \
    2>"$T_OUT/cap-ext.log" &
t_wait_for "$T_OUT/cap-ext.txt" ready 10
echo "external: cluster up, ext's kernel vxlan device to gateway1 ($(e2e_elapsed) s)"

# 1. Pings and TCP, both ways.
e2e_snap C
out=$(ip netns exec "$EXT_NS" ping -n -c 5 -i 0.1 -W 2 10.0.0.1 2>&1) ||
	t_fail "ext cannot ping b1: $(grep transmitted <<<"$out")"
out=$(topo_vm_exec b1 ping -n -c 5 -i 0.1 -W 2 10.0.0.31 2>&1) ||
	t_fail "b1 cannot ping ext: $(grep transmitted <<<"$out")"
echo "external: ext -> b1 and b1 -> ext: 5 pings each, all answered"
topo_vm_exec b1 "$E2E_PYTHON" "$E2E_PY/tcpecho.py" serve 10.0.0.1 7000 \
    >"$T_OUT/echo-b1.txt" 2>&1 &
ip netns exec "$EXT_NS" "$E2E_PYTHON" "$E2E_PY/tcpecho.py" serve 10.0.0.31 7000 \
    >"$T_OUT/echo-ext.txt" 2>&1 &
t_wait_for "$T_OUT/echo-b1.txt" ready 10
t_wait_for "$T_OUT/echo-ext.txt" ready 10
out=$(ip netns exec "$EXT_NS" "$E2E_PYTHON" "$E2E_PY/tcpecho.py" check 10.0.0.1 7000 \
    2000000 2>&1) || t_fail "TCP ext -> b1: $out"
echo "external: TCP ext -> b1: $out"
out=$(topo_vm_exec b1 "$E2E_PYTHON" "$E2E_PY/tcpecho.py" check 10.0.0.31 7000 2000000 \
    2>&1) || t_fail "TCP b1 -> ext: $out"
echo "external: TCP b1 -> ext: $out"
e2e_settled
e2e_snap N

# dn NODE.PROC.COUNTER: its growth
dn()
{
	echo $((N[$1] - C[$1]))
}

# 2. What ext received: from the gateways only, never with the learn bit.
read -r in_total in_learn in_other out_total out_other < <(awk -v ext="$EXT_IP" \
    -v g1="$GW1" -v g2="${TOPO_IP[gateway2]}" '
	$2 == "in" && $4 == ext { n++; if ($6 == 1) l++; if ($3 != g1 && $3 != g2) o++ }
	$2 == "out" && $3 == ext { m++; if ($4 != g1) p++ }
	END { print n + 0, l + 0, o + 0, m + 0, p + 0 }' "$T_OUT/cap-ext.txt")
# (a run of datagrams a gateway sends to one VTEP leaves as one UDP GSO message, which a
# veth passes whole: the capture sees it once; 2 MB of TCP is still well over 100)
((in_total > 100)) || t_fail "ext received only $in_total VXLAN frames"
((in_learn == 0)) || t_fail "$in_learn of the $in_total frames ext received had the learn bit"
((in_other == 0)) || t_fail "$in_other frames reached ext from elsewhere than a gateway"
((out_other == 0)) || t_fail "ext sent $out_other frames elsewhere than gateway1 (its remote)"
echo "external: ext received $in_total frames, all from the gateways, none with the learn" \
    "bit; sent $out_total, all to gateway1"

# 3. host1 never learns x1: always via a gateway.
[[ -z $(e2e_rule_vtep host1 100 10.0.0.31) ]] ||
	t_fail "host1's cache holds a rule for the external host's 10.0.0.31"
(($(dn host1.forwarder.tx_direct) == 0)) ||
	t_fail "host1 sent $(dn host1.forwarder.tx_direct) frames direct (only x1 was talked to)"
(($(dn host1.forwarder.tx_gateway) > 500)) ||
	t_fail "host1 sent only $(dn host1.forwarder.tx_gateway) frames via a gateway"
(($(dn host1.forwarder.tx_learn) >= 1)) || t_fail "host1 never asked to learn x1"
ext_skipped=$(($(dn gateway1.syncd.learn_external) + $(dn gateway2.syncd.learn_external)))
((ext_skipped >= 1)) || t_fail "syncd skipped no learn request for x1 (learn_external)"
(($(dn host1.learner.learn_rx) == 0)) ||
	t_fail "host1's learner received $(dn host1.learner.learn_rx) LEARNs (x1 is never learned)"
echo "external: host1 holds no rule for x1: tx_gateway +$(dn host1.forwarder.tx_gateway)," \
    "tx_learn +$(dn host1.forwarder.tx_learn), tx_direct +0; syncd learn_external" \
    "+$ext_skipped, no LEARN"

# 4. The gateways carried it all (what ext received but their ARP answers, what b1 got);
# gateway1 answered the kernel's ARP.
relayed=$(($(dn gateway1.forwarder.tx_relayed) + $(dn gateway2.forwarder.tx_relayed)))
arp=$(($(dn gateway1.forwarder.arp_replies) + $(dn gateway2.forwarder.arp_replies)))
(($(dn gateway1.forwarder.arp_replies) >= 1)) || t_fail "gateway1 answered no ARP of ext's kernel"
((relayed >= in_total - arp + $(dn host1.forwarder.tx_delivered))) ||
	t_fail "the gateways relayed $relayed frames, fewer than ext received ($in_total, $arp of" \
	    "them ARP answers) and b1 got ($(dn host1.forwarder.tx_delivered))"
echo "external: the gateways relayed $relayed frames and answered $arp ARP requests of ext"
echo "external: ok ($(e2e_elapsed) s)"
