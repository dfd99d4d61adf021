#!/usr/bin/env bash
# attack_sync: an attacker on the underlay against sync and learn (issue 11; docs/protocol.md
# "Authentication"), in network namespaces (tests/e2e/topo.sh): a controller, two
# gateways, host1 (b1, blue 10.0.0.1; learn_window 1 s) and host2 (b2, 10.0.0.2), and
# "evil", a namespace on the underlay running no vpcfwd process (192.168.100.99), which
# forges source addresses with raw sockets (tests/py/attack.py). A genuine LEARN to
# host1 is captured off host1's wire as b1 first pings b2 (a tap on the underlay); then,
# from evil, each seeming to come from gateway1's syncd:
#  1. a forged LEARN telling host1 that b2 lives at evil's VTEP, in the captured
#     generation, far ahead in version (what a learner without MACs installs): auth_failed;
#  2. a forged SYNC_RESP of the same, answering a guessed request id: auth_failed;
#  3. a LEARN MACed with host2's key (stolen), naming host1: auth_failed;
#  4. the captured LEARN replayed past the window: learn_replayed;
#  5. to gateway1's syncd, from host1's address, a SYNC_REQ naming host1 MACed with
#     host2's key: auth_failed.
# Each is counted exactly once where it lands, host1's cache is unchanged (no LEARN
# installed), and b1's pings to b2 every 20 ms meanwhile lose nothing.
#
#	BUILD=build bash tests/e2e/attack_sync.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init attack_sync a

INTERVAL=0.02
EVIL=192.168.100.99
EVIL_NS=$TOPO_PFX-evil
GW1=${TOPO_IP[gateway1]}
H1=${TOPO_IP[host1]}
CAP=$T_OUT/learn.cap
declare -A C N

# host1 refuses LEARNs stamped more than a second away: the replay need not wait long.
E2E_SED[host1]='s|^\(\tauth_key = .*\)$|\1\n\tlearn_window = "1s";|'
e2e_cluster gateway1 gateway2 host1 host2
grep -q 'learn_window = "1s"' "${TOPO_CONF[host1]}" ||
	t_fail "could not set learn_window in ${TOPO_CONF[host1]}"
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
e2e_underlay_ns evil "$EVIL"
e2e_synced 10

# The tap on host1's wire, then the first ping: its learn bit brings host1 a LEARN.
t_spawn SNIFF ip netns exec "$TOPO_PFX-host1" "$E2E_PYTHON" "$E2E_PY/attack.py" sniff eth0 \
    4807 "$CAP" >"$T_OUT/sniff.txt" 2>&1
t_wait_for "$T_OUT/sniff.txt" ready 10
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
t_until 5 "host1 learning b2" eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) ]]'
t_wait_for "$T_OUT/sniff.txt" captured 10
echo "attack_sync: a LEARN to host1 captured off its wire ($(e2e_elapsed) s)"
TABLE_BEFORE=$(e2e_table host1 100)

e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 "$INTERVAL"

# attack DST:PORT KIND ARGS...: one datagram from evil, seeming to come from gateway1's
# syncd (to a learner) or from host1's learner (to a syncd: a datagram from its own
# address would not even get in)
attack()
{
	local src=$GW1:4806

	[[ $1 != "$GW1":* ]] || src=$H1:4807
	ip netns exec "$EVIL_NS" "$E2E_PYTHON" "$E2E_PY/attack.py" send "$src" "$@" \
	    >/dev/null || t_fail "attack.py send $* failed"
}

# counted WHAT NODE.PROC.COUNTER: attack ARGS made COUNTER grow by exactly one, and
# nothing was installed
dn()
{
	echo $((${N[$1]:-0} - ${C[$1]:-0}))
}
counted()
{
	local what=$1 ctr=$2

	shift 2
	e2e_snap C
	attack "$@"
	t_until 5 "$ctr counting $what" eval 'e2e_snap N; (($(dn "$ctr") >= 1))'
	sleep 0.2
	e2e_snap N
	(($(dn "$ctr") == 1)) || t_fail "$what: $ctr +$(dn "$ctr"), not +1"
	(($(dn host1.learner.learn_installed) == 0)) ||
		t_fail "$what: host1 installed $(dn host1.learner.learn_installed) LEARN(s)"
	printf 'attack_sync: %-44s -> %s +1\n' "$what" "$ctr"
}

counted "forged LEARN (b2 at evil's VTEP)" host1.learner.auth_failed \
    "$H1:4807" forged-learn "$CAP" "$EVIL" 10.0.0.2
counted "forged SYNC_RESP (a guessed id)" host1.learner.auth_failed \
    "$H1:4807" forged-resp "$CAP" "$EVIL" 10.0.0.2
counted "LEARN MACed with host2's key" host1.learner.auth_failed \
    "$H1:4807" other-key "$CAP" "$TOPO_DIR/keys/host2.key" "$EVIL" 10.0.0.2
# past the window: the capture is a second old at least
sleep 1.5
counted "genuine LEARN replayed past learn_window" host1.learner.learn_replayed \
    "$H1:4807" replay "$CAP"
counted "SYNC_REQ as host1 MACed with host2's key" gateway1.syncd.auth_failed \
    "$GW1:4806" other-key-req "$TOPO_DIR/keys/host2.key" host1

[[ $(e2e_table host1 100) == "$TABLE_BEFORE" ]] ||
	t_fail "host1's cache changed: before $TABLE_BEFORE, after $(e2e_table host1 100)"
[[ $(e2e_rule_vtep host1 100 10.0.0.2) == "${TOPO_IP[host2]}" ]] ||
	t_fail "host1 has b2 at $(e2e_rule_vtep host1 100 10.0.0.2)"
echo "attack_sync: host1's cache unchanged, b2 at ${TOPO_IP[host2]}"
sleep 0.5
e2e_ping_stop b1
report=$(e2e_pings "$T_OUT/ping-b1.txt" "$INTERVAL" --holes --interrupted)
echo "attack_sync: ping from b1 meanwhile: $(tail -1 <<<"$report")"
[[ $(tail -1 <<<"$report") == *" lost 0 "* ]] ||
	t_fail "pings from b1 lost during the attacks: $report"
echo "attack_sync: ok ($(e2e_elapsed) s)"
