#!/usr/bin/env bash
# garbage: bad datagrams at a host's and a gateway's VXLAN port, at syncd's sync port and
# at a learner's port (DESIGN.md §7: a counted drop, never a crash), in network
# namespaces (tests/e2e/topo.sh): a controller, two gateways (syncd.allow narrowed to
# 192.168.100.0/25), host1 (b1, blue 10.0.0.1), host2 (b2, 10.0.0.2), an external host
# "ext" (kernel vxlan to gateway1, 10.0.0.31), and "junk", a namespace on the underlay
# with 192.168.100.99 (inside syncd.allow, no host) and 192.168.100.200 (outside it),
# which sends the garbage (tests/py/junk.py, each kind built to fail in one known way).
# Both addresses are registered as hosts (no VMs), so that the forwarders' VTEP
# allow-lists let the garbage through to the checks below (tests/e2e/vtep.sh is where
# VXLAN from an unknown VTEP is refused):
#
#  1. at gateway1's and host1's port 4789: random bytes, headers cut short, bad flags and
#     reserved bits, inner frames too short or with a bad IPv4 header, frames larger than
#     a buffer, IPv6 / VLAN / ARP replies, multicast and broadcast destinations, a VNI no
#     VPC has, and a destination no rule has: each kind counted under its own drop_*
#     counter, exactly, and the drops of the whole cluster grow by exactly what was sent
#     (a frame for no VM of a host is sent on via a gateway, tx_onward, and dropped
#     there);
#  2. the learn bit from an unknown source (192.168.100.200, outside syncd.allow) on a
#     frame to b2: syncd sends no LEARN to that address (a listener there gets none) and
#     counts each request it refused (learn_denied);
#  3. at gateway1's syncd: random bytes, SYNC_REQs cut short, and SYNC_REQs with one field
#     wrong, from .99: req_malformed, exactly; from .200: req_denied, exactly; a valid
#     request for a VNI no VPC has is answered UNKNOWN (sections_unknown);
#  4. at host1's learner: datagrams from .99 (not a gateway) are dropped, dgram_denied;
#  5. meanwhile b1 pings b2 and ext pings b1 (through gateway1) every 20 ms: not one ping
#     lost; no process restarted; afterwards a new VM is reached from b1 (first packet
#     via a gateway, then learned: syncd and the learners still work).
#
#	BUILD=build bash tests/e2e/garbage.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init garbage g

INTERVAL=0.02
EXT_IP=192.168.100.31
EXT_MAC=02:00:5e:10:00:31
JUNK=192.168.100.99
STRANGER=192.168.100.200
JUNK_NS=$TOPO_PFX-junk
GW1=${TOPO_IP[gateway1]}
H1=${TOPO_IP[host1]}
SYNC_PORT=4806
LEARNER_PORT=4807
declare -A C N

for g in gateway1 gateway2; do
	E2E_SED[$g]='s|allow = \["192.168.100.0/24"\];|allow = ["192.168.100.0/25"];|'
done
e2e_cluster gateway1 gateway2 host1 host2
grep -q '"192.168.100.0/25"' "${TOPO_CONF[gateway1]}" ||
	t_fail "could not narrow syncd.allow in ${TOPO_CONF[gateway1]}"
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
topo_ctl vpc create red --vni 200 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
e2e_external ext "$EXT_IP" gateway1 x1 blue 100 10.0.0.31/24 "$EXT_MAC"
e2e_underlay_ns junk "$JUNK"
ip -n "$JUNK_NS" addr add "$STRANGER/24" dev eth0
topo_ctl host create junk --vtep "$JUNK" >/dev/null || t_fail "host create junk"
topo_ctl host create stranger --vtep "$STRANGER" >/dev/null || t_fail "host create stranger"
ip netns exec "$JUNK_NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
e2e_synced 10
t_until 5 "host1's VTEP list naming the junk hosts" eval \
    '[[ $(topo_stat host1 learner vteps) == 4 ]]'
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
ip netns exec "$TOPO_PFX-ext" ping -n -c 2 -i 0.1 -W 2 10.0.0.1 >/dev/null ||
	t_fail "ext cannot ping b1"
t_until 5 "host1 learning b2" eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) ]]'
# What syncd would send the stranger: a listener at its learner port.
ip netns exec "$JUNK_NS" "$E2E_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65536)
    print("from %s:%d %d bytes %s" % (a[0], a[1], len(d), d[:4].hex()), flush=True)' \
    "$STRANGER" "$LEARNER_PORT" >"$T_OUT/stranger.txt" 2>&1 &
t_wait_for "$T_OUT/stranger.txt" ready 10
PIDS_BEFORE=$(for n in controller gateway1 gateway2 host1 host2; do
	for p in controller rule-store syncd learner forwarder; do
		e2e_pid "$n" "$p" 2>/dev/null || true
	done
done)
echo "garbage: cluster up; b1 pings b2, ext pings b1, every 20 ms ($(e2e_elapsed) s)"

e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 "$INTERVAL"
e2e_ping_start ext "$TOPO_PFX-ext" 10.0.0.1 "$INTERVAL"

# junk SRC DST:PORT KIND N [ARGS]: send, print what junk.py said
junk()
{
	ip netns exec "$JUNK_NS" "$E2E_PYTHON" "$E2E_PY/junk.py" "$@" ||
		t_fail "junk.py $* failed"
}

# dn NODE.PROC.COUNTER: growth from C to N
dn()
{
	echo $((${N[$1]:-0} - ${C[$1]:-0}))
}

# drops ARRAY: every drop_* of every forwarder, summed
drops()
{
	local -n _a=$1
	local k sum=0

	for k in "${!_a[@]}"; do
		[[ $k != *.forwarder.drop_* ]] || sum=$((sum + _a[$k]))
	done
	echo "$sum"
}

# settled NODE N: NODE's forwarder received N VXLAN datagrams more than in C
settled()
{
	e2e_snap N
	(($(dn "$1.forwarder.rx_vxlan") >= $2))
}

# vx NODE KIND N COUNTER [ARGS]: send N datagrams of KIND to NODE's port 4789; NODE's
# COUNTER (a "+"-separated list: their sum; another node's with NODE.COUNTER) grows by
# exactly N, and so do the drops of the whole cluster
vx()
{
	local node=$1 kind=$2 n=$3 ctrs=$4 got=0 c total
	shift 4

	e2e_snap C
	junk "$JUNK" "${TOPO_IP[$node]}:4789" "$kind" "$n" "$@" >/dev/null
	t_until 5 "$node receiving $n datagrams of $kind" settled "$node" "$n"
	sleep 0.1	# what a host sends on reaches a gateway
	e2e_snap N
	IFS=+ read -r -a c <<<"$ctrs"
	for k in "${c[@]}"; do
		[[ $k == *.* ]] || k=$node.forwarder.$k
		got=$((got + $(dn "$k")))
	done
	total=$(($(drops N) - $(drops C)))
	((got == n && total == n)) || t_fail "$kind at $node: $n sent, $ctrs +$got, drops of" \
	    "the cluster +$total (want both +$n);" \
	    "$(for k in "${!N[@]}"; do [[ $k == *.forwarder.drop_* || $k == *tx_onward ]] &&
	    (($(dn "$k") != 0)) && echo -n " $k +$(dn "$k")"; done)"
	printf 'garbage: %-11s x%-3s at %-8s -> %s +%s\n' "$kind" "$n" "$node" "$ctrs" "$got"
}

# 1. The VXLAN port of a gateway and of a host.
vx gateway1 random 100 drop_malformed
vx gateway1 short 40 drop_malformed
vx gateway1 flags 50 drop_malformed
vx gateway1 inner 50 drop_bad_frame
vx gateway1 oversize 20 drop_truncated
vx gateway1 unsupported 30 drop_unsupported
vx gateway1 group 30 drop_group
vx gateway1 frame 30 drop_no_rule --vni 999
vx gateway1 frame 30 drop_no_rule --vni 200 --ip 10.0.0.2
vx gateway1 frame 30 drop_no_rule --vni 100 --ip 10.0.0.77
vx host1 random 100 drop_malformed
vx host1 short 40 drop_malformed
vx host1 flags 50 drop_malformed
vx host1 inner 50 drop_bad_frame
vx host1 oversize 20 drop_truncated
vx host1 unsupported 30 drop_unsupported
vx host1 group 30 drop_group
# Not for a VM of host1, not from a gateway: sent on via a gateway (tx_onward), as a
# frame for a VM that left, and dropped there.
ONWARD=gateway1.forwarder.drop_no_rule+gateway2.forwarder.drop_no_rule
vx host1 frame 30 "$ONWARD" --vni 999
vx host1 frame 30 "$ONWARD" --vni 100 --ip 10.0.0.77

# 2. The learn bit from an unknown source: the frame may be relayed (b2 drops it: a bad
# IPv4 checksum), but no LEARN may go to that address.
e2e_snap C
junk "$STRANGER" "$GW1:4789" learn 20 --vni 100 --ip 10.0.0.2 >/dev/null
t_until 5 "gateway1 receiving the learn-bit frames" settled gateway1 20
sleep 0.3
e2e_snap N
echo "garbage: learn bit x20 from $STRANGER at gateway1: rx_learn_bit" \
    "+$(dn gateway1.forwarder.rx_learn_bit), tx_relayed +$(dn gateway1.forwarder.tx_relayed)," \
    "learn_req +$(dn gateway1.forwarder.learn_req); syncd learn_rx" \
    "+$(dn gateway1.syncd.learn_rx), learn_tx +$(dn gateway1.syncd.learn_tx)"
# (host1's frames to ext carry the bit once a learn_interval too: at least 20)
(($(dn gateway1.forwarder.rx_learn_bit) >= 20)) ||
	t_fail "gateway1 counted $(dn gateway1.forwarder.rx_learn_bit) learn bits of 20"
# A failure here is reported at the end: the rest of the test runs first.
learns=$(grep -c "^from " "$T_OUT/stranger.txt" || true)
LATE_FAIL=
((learns == 0)) && (($(dn gateway1.syncd.learn_tx) == 0)) ||
	LATE_FAIL="syncd sent $learns LEARNs to $STRANGER:$LEARNER_PORT (learn_tx
	    +$(dn gateway1.syncd.learn_tx)), an address outside syncd.allow whose frames had the
	    learn bit, e.g. $(grep -m1 "^from" "$T_OUT/stranger.txt" || true)"
(($(dn gateway1.syncd.learn_denied) == 20)) || LATE_FAIL+=" syncd counted
	    $(dn gateway1.syncd.learn_denied) learn requests from $STRANGER as learn_denied, not 20"
[[ -n $LATE_FAIL ]] || echo "garbage: no LEARN went to $STRANGER; syncd learn_denied +20"

# 3. syncd's port.
# sy KIND N SRC COUNTER: N datagrams of KIND from SRC to gateway1's syncd, COUNTER +N
sy()
{
	local kind=$1 n=$2 src=$3 ctr=$4

	e2e_snap C
	junk "$src" "$GW1:$SYNC_PORT" "$kind" "$n" --key "$TOPO_DIR/keys/host1.key" host1 \
	    >/dev/null
	t_until 5 "syncd counting $n datagrams of $kind under $ctr" \
	    eval 'e2e_snap N; (($(dn gateway1.syncd.$ctr) >= n))'
	sleep 0.1
	e2e_snap N
	(($(dn "gateway1.syncd.$ctr") == n)) ||
		t_fail "$kind from $src at syncd: $ctr +$(dn "gateway1.syncd.$ctr"), not +$n"
	printf 'garbage: %-14s x%-3s from %-15s at syncd -> %s +%s\n' "$kind" "$n" "$src" \
	    "$ctr" "$n"
}
sy sync-random 60 "$JUNK" req_malformed
sy sync-truncated 40 "$JUNK" req_malformed
sy sync-bad 66 "$JUNK" req_malformed
sy sync-cut 30 "$JUNK" auth_failed
sy sync-random 40 "$STRANGER" req_denied
sy sync-bad 20 "$STRANGER" req_denied
e2e_snap C
out=$(junk "$JUNK" "$GW1:$SYNC_PORT" sync-unknown 3 --vni 999 --key "$TOPO_DIR/keys/host1.key" \
    host1)
e2e_snap N
[[ $(grep -c "^status 4$" <<<"$out") == 3 ]] ||
	t_fail "a SYNC_REQ for VNI 999 was not answered UNKNOWN (4): $out"
# (at least: the learners' keepalive probes of an idle gateway are answered UNKNOWN too)
(($(dn gateway1.syncd.sections_unknown) >= 3)) ||
	t_fail "sections_unknown +$(dn gateway1.syncd.sections_unknown), not +3"
echo "garbage: a valid SYNC_REQ for VNI 999 x3 at syncd -> answered UNKNOWN, sections_unknown +3"

# 4. A learner's port: only its gateways may talk to it.
e2e_snap C
junk "$JUNK" "$H1:$LEARNER_PORT" sync-random 30 >/dev/null
junk "$JUNK" "$H1:$LEARNER_PORT" sync-truncated 20 >/dev/null
t_until 5 "host1's learner counting 50 datagrams from $JUNK" \
    eval 'e2e_snap N; (($(dn host1.learner.dgram_denied) >= 50))'
(($(dn host1.learner.dgram_denied) == 50)) ||
	t_fail "host1's learner: dgram_denied +$(dn host1.learner.dgram_denied), not +50"
echo "garbage: 50 datagrams from $JUNK at host1's learner -> dgram_denied +50"

# 5. Forwarding and the processes unaffected.
sleep 0.5
e2e_ping_stop b1 ext
for f in b1 ext; do
	report=$(e2e_pings "$T_OUT/ping-$f.txt" "$INTERVAL" --holes --interrupted)
	echo "garbage: ping from $f meanwhile: $(tail -1 <<<"$report")"
	[[ $(tail -1 <<<"$report") == *" lost 0 "* ]] ||
		t_fail "pings from $f lost while the garbage came: $report"
done
PIDS_AFTER=$(for n in controller gateway1 gateway2 host1 host2; do
	for p in controller rule-store syncd learner forwarder; do
		e2e_pid "$n" "$p" 2>/dev/null || true
	done
done)
[[ $PIDS_AFTER == "$PIDS_BEFORE" ]] || t_fail "a process restarted: pids before" \
    "$(echo $PIDS_BEFORE), after $(echo $PIDS_AFTER)"
# A new VM: the first packet via a gateway, then learned by host1 (sync and learn work).
e2e_vm b5 blue 10.0.0.5/24 host2
topo_vm_wait b5 15 || t_fail "VM b5 did not come up"
topo_vm_exec b1 ping -n -c 3 -i 0.1 -W 2 10.0.0.5 >/dev/null || t_fail "b1 cannot ping new b5"
t_until 5 "host1 learning b5" eval '[[ $(e2e_rule_vtep host1 100 10.0.0.5) == "${TOPO_IP[host2]}" ]]'
echo "garbage: no process restarted; new VM b5 reached and learned afterwards"
[[ -z $LATE_FAIL ]] || t_fail "$(echo $LATE_FAIL)"
echo "garbage: ok ($(e2e_elapsed) s)"
