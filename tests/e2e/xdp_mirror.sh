#!/usr/bin/env bash
# xdp_mirror: the gateways' XDP rule cache as their table outgrows it and shrinks back
# (docs/forwarder.md, "The rule cache": a mirror while xdp_fast_rules is at least 9/8 of
# the table's rules, a cache past that, a mirror loaded whole again below), in network
# namespaces (tests/e2e/topo.sh): a controller, two gateways with room for 8 rules in
# their cache, host1 (b1), an external host (its kernel vxlan device; its VMs' traffic
# goes through a gateway), VPC blue.
#
#  1. blue holds b1 and x1 (2 rules): both caches mirror the table, loaded from it;
#     b1's pings to x1 make the gateways know ext's next hop.
#  2. eight more VMs of blue on the external host (10 rules): both are caches
#     (xdp_fast_mirror 0), and load nothing more; x2 made then (11 rules): a cache does
#     not take a rule before it relayed by it.
#  3. the eight deleted (3 rules): both mirror again and load the table whole again, x2's
#     rule among them, before any datagram to x2 (xdp_fast_loaded grows by 3 or more a
#     gateway); a burst from b1 to x2 is relayed by the XDP programs (once a few
#     datagrams had the gateway put ext's next hop).
# With E2E_IO=socket (make test's second pass) there is nothing of its own to test: ok.
#
#	BUILD=build bash tests/e2e/xdp_mirror.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
if [[ ${E2E_IO:-} == socket ]]; then
	echo "xdp_mirror: E2E_IO=socket: this test is the xdp mode's (ok)"
	exit 0
fi
E2E_IO=xdp
e2e_init xdp_mirror d

declare -A B A L0
GWS=(gateway1 gateway2)
# Room for 8 rules (2 buckets of 4); next hops kept 4 s, so that the pings' still hold
# when the burst comes.
for n in "${GWS[@]}"; do
	E2E_SED[$n]="s|^forwarder = {|forwarder = {\n\txdp_fast_rules = 8;\n\txdp_fast_ttl = \"4s\";|"
done
e2e_cluster gateway1 gateway2 host1
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1
e2e_vm b1 blue 10.0.0.1/24 host1
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
e2e_external ext 192.168.100.50 gateway1 x1 blue 100 10.0.0.50/24 02:00:00:00:00:50
e2e_synced 10

# mirrors N: every gateway's xdp_fast_mirror is N
mirrors()
{
	local gw

	for gw in "${GWS[@]}"; do
		[[ $(topo_stat "$gw" forwarder xdp_fast_mirror) == "$1" ]] || return 1
	done
}
loaded() { topo_stat "$1" forwarder xdp_fast_loaded; }

# 1. A mirror of 2 rules; the next hop to ext known (the pings through the socket).
t_until 5 "both gateways' caches mirroring blue's 2 rules" mirrors 1
# Loaded when blue was first seen (b1's rule, or both); a change after is put as it comes.
for gw in "${GWS[@]}"; do
	(($(loaded "$gw") >= 1)) || t_fail "$gw's mirror loaded no rule from the table"
done
topo_vm_exec b1 ping -n -c 3 -i 0.2 -W 2 10.0.0.50 >/dev/null ||
	t_fail "b1 cannot ping the external host's x1"
echo "xdp_mirror: blue's 2 rules mirrored by both gateways ($(e2e_elapsed) s)"

# 2. Past the cache's room: caches, which load nothing.
for i in 1 2 3 4 5 6 7 8; do
	topo_ctl vm create "f$i" --vpc blue --ip "10.0.0.10$i" --host ext >/dev/null ||
		t_fail "vpcfwdctl vm create f$i"
done
e2e_synced 10
t_until 5 "both gateways' caches no longer mirroring blue's 10 rules" mirrors 0
for gw in "${GWS[@]}"; do
	L0[$gw]=$(loaded "$gw")
done
topo_ctl vm create x2 --vpc blue --ip 10.0.0.51 --host ext --mac 02:00:00:00:00:51 \
    >/dev/null || t_fail "vpcfwdctl vm create x2"
e2e_synced 10
for gw in "${GWS[@]}"; do
	(($(loaded "$gw") == L0[$gw])) ||
		t_fail "$gw, a cache, loaded $(($(loaded "$gw") - L0[$gw])) rules from the table"
done
echo "xdp_mirror: blue at 11 rules, past 8 / (9/8): both gateways' caches are caches," \
    "loading nothing"

# 3. Back under: mirrors again, the table loaded whole again (x2's rule with it).
for i in 1 2 3 4 5 6 7 8; do
	topo_ctl vm delete "f$i" >/dev/null || t_fail "vpcfwdctl vm delete f$i"
done
e2e_synced 10
reloaded()
{
	local gw

	mirrors 1 || return 1
	for gw in "${GWS[@]}"; do
		(($(loaded "$gw") >= L0[$gw] + 3)) || return 1
	done
}
t_until 5 "both gateways mirroring blue's 3 rules again, loaded whole again" reloaded
topo_vm_exec b1 ip neigh replace 10.0.0.51 lladdr 02:00:00:00:00:51 dev "$(topo_vm_tap b1)"
# burst N GAP: N datagrams from b1 to x2, GAP seconds apart
burst()
{
	topo_vm_exec b1 "$E2E_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[1])):
    s.sendto(b"%d" % i, ("10.0.0.51", 9999))
    time.sleep(float(sys.argv[2]))' "$1" "$2"
}
d() { echo $((A[$1] - B[$1])); }
relayed()
{
	e2e_snap A
	(($(d gateway1.forwarder.tx_relayed) + $(d gateway2.forwarder.tx_relayed) >= $1))
}
# The gateway that relays to x2 (one per destination) may not have relayed to ext yet: a
# few datagrams first have it put ext's next hop, which only the forwarder can, as it
# relays them (a burst would be over before that put lands).
e2e_snap B
burst 3 0.05
t_until 5 "the gateways relaying b1's 3 datagrams to x2" relayed 3
e2e_snap B
burst 400 0
t_until 5 "the gateways relaying b1's burst of 400 to x2" relayed 400
fast=$(($(d gateway1.forwarder.xdp_fast) + $(d gateway2.forwarder.xdp_fast)))
# The first may go up if the next hop's TTL ran out meanwhile.
counters()
{
	local gw c

	for gw in "${GWS[@]}"; do
		echo -n " $gw:"
		for c in tx_relayed xdp_fast xdp_fast_miss xdp_fast_no_next_hop xdp_fast_puts xdp_fast_put_errors xdp_fast_evictions xdp_fast_invalidations xdp_fast_hop_puts; do
			echo -n " $c +$(d "$gw.forwarder.$c")"
		done
		echo -n " xdp_fast_on $(topo_stat "$gw" forwarder xdp_fast_on);"
	done
}
((fast >= 390)) || t_fail "the XDP programs relayed $fast of b1's 400 to x2:$(counters)"
echo "xdp_mirror: blue back at 3 rules: both gateways mirror it again, loaded" \
    "$(($(loaded gateway1) - L0[gateway1])) and $(($(loaded gateway2) - L0[gateway2]))" \
    "rules again; a burst to x2 relayed by the XDP programs: $fast of 400"
echo "xdp_mirror: ok ($(e2e_elapsed) s)"
