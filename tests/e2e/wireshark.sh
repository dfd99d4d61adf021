#!/usr/bin/env bash
# wireshark: tools/wireshark/vpcfwd.lua decodes what a cluster really sends (issue 11).
# A controller, two gateways, host1 (b1, blue 10.0.0.1) and host2 (b2, 10.0.0.2) in network
# namespaces (tests/e2e/topo.sh); dumpcap captures the underlay's bridge (promiscuous:
# every frame between two nodes) for sync (4806), learn (4807) and VXLAN (4789) while
#  - b1 pings b2: the first frame goes via a gateway with the learn bit set, which
#    sends it on with the bit clear and sends host1's learner a LEARN;
#  - b3 is created on host2, then b2 deleted: host1's parked SYNC_REQs are answered by
#    SYNC_RESPs with a SET entry and a DEL entry.
# Then tshark reads the capture with the dissector and finds SYNC_REQ, SYNC_RESP (with SET
# and DEL entries) and LEARN datagrams, VXLAN frames with the learn bit set and clear,
# every sync, learn and VXLAN frame decoded by it, and no frame malformed or with an
# expert error (the dissector marks every rule common/sync.c's decoder checks).
#
#	BUILD=build bash tests/e2e/wireshark.sh		(as root, tshark installed)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init wireshark w

LUA=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tools/wireshark" && pwd)/vpcfwd.lua
CAP=$T_OUT/underlay.pcapng
for b in tshark dumpcap; do
	command -v "$b" >/dev/null || t_fail "$b not installed (make deps)"
done
[[ -f $LUA ]] || t_fail "no $LUA"

e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"

t_spawn CAPTURE ip netns exec "$TOPO_UL" dumpcap -i br0 \
    -f "udp port 4789 or udp port 4806 or udp port 4807" -w "$CAP" \
    >"$T_OUT/dumpcap.txt" 2>&1
t_wait_for "$T_OUT/dumpcap.txt" "Capturing on 'br0'" 10 "$CAPTURE"
# captured_after T: the capture file (read while it grows; without the dissector, so that a
# broken one fails below, named) holds a frame from after T (epoch seconds)
captured_after()
{
	# wc reads it all: grep -q could leave tshark a SIGPIPE, failing the pipeline
	(($(HOME=$T_OUT tshark -n -r "$CAP" -Y "frame.time_epoch > $1" 2>/dev/null | wc -l) > 0))
}
# dumpcap says "Capturing on" before it opens the interface: the capture is on once it
# holds a frame (the learners' SYNC_REQ, a second apart), and only then is b1's first
# packet, the one with the learn bit and its LEARN, sure to be in it.
t_until 10 "dumpcap capturing a first frame" captured_after 0

topo_vm_exec b1 ping -n -c 3 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
t_until 5 "host1 learning b2" eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) ]]'
# A learner's sync updates the rules it holds (b2, learned) and skips the others (b3):
# host1 dropping b2 means it synced past b3's version too.
topo_ctl vm create b3 --vpc blue --ip 10.0.0.3 --host host2 >/dev/null ||
	t_fail "vm create b3"
topo_ctl vm delete b2 >/dev/null || t_fail "vm delete b2"
t_until 5 "host1 syncing b2's delete" eval '[[ -z $(e2e_rule_vtep host1 100 10.0.0.2) ]]'

# ts ARG...: tshark on the capture with this tree's dissector. HOME is the test's, so that
# a copy installed in ~/.local/lib/wireshark/plugins (make wireshark-install) is neither
# tested nor loaded twice. Debian's init.lua lets root run Lua scripts; tshark warns
# about root on stderr.
ts()
{
	HOME=$T_OUT tshark -n -r "$CAP" -X "lua_script:$LUA" "$@"
}

# libpcap hands dumpcap its packets a block at a time, and what it holds at SIGINT is
# lost: first wait until the file holds a frame from after host1 dropped b2 (learners
# probe the gateways every second): every frame before it is in.
t_until 10 "a frame captured after host1 dropped b2" captured_after "$(e2e_now)"
# SIGINT: dumpcap writes what it holds and closes the file.
kill -INT "$CAPTURE"
wait "$CAPTURE" || t_fail "dumpcap failed: $(cat "$T_OUT/dumpcap.txt")"
t_forget "$CAPTURE"

# count FILTER: frames of the capture FILTER matches, decoded with the dissector
count()
{
	ts -Y "$1" -T fields -e frame.number 2>>"$T_OUT/tshark.txt" | wc -l ||
		t_fail "tshark -Y '$1': $(cat "$T_OUT/tshark.txt")"
}

# expect FILTER OP N WHAT: count FILTER OP N, OP one of test's -eq, -ge
expect()
{
	local n

	n=$(count "$1")
	test "$n" "$2" "$3" || t_fail "$4: $n frames match '$1', expected $2 $3"
	printf 'wireshark: %-46s %5d\n' "$4" "$n"
}

all=$(count "frame")
echo "wireshark: $all frames captured on the underlay ($(e2e_elapsed) s)"
expect 'vpcfwd.type == 1' -ge 1 "SYNC_REQ"
expect 'vpcfwd.type == 2' -ge 1 "SYNC_RESP"
expect 'vpcfwd.type == 3' -ge 1 "LEARN"
expect 'vpcfwd.type == 3 && vpcfwd.entry.ip == 10.0.0.2' -ge 1 "LEARN of b2"
expect 'vpcfwd.type == 2 && vpcfwd.entry.ip == 10.0.0.3 && vpcfwd.entry.op == 1' -ge 1 \
    "SYNC_RESP with b3 set"
expect 'vpcfwd.type == 2 && vpcfwd.entry.ip == 10.0.0.2 && vpcfwd.entry.op == 2' -ge 1 \
    "SYNC_RESP with b2 deleted"
expect 'vpcfwd_vxlan.learn == 1 && vpcfwd_vxlan.vni == 100' -ge 1 "VXLAN, learn bit set"
expect 'vpcfwd_vxlan.learn == 0 && vpcfwd_vxlan.vni == 100' -ge 1 "VXLAN, learn bit clear"
expect '(udp.port == 4806 || udp.port == 4807) && !vpcfwd.type' -eq 0 \
    "sync/learn frames not decoded"
expect 'udp.port == 4789 && !(vxlan && vpcfwd_vxlan)' -eq 0 "VXLAN frames not decoded"
expect '_ws.malformed || _ws.expert.severity == error' -eq 0 "malformed or in error"
echo "wireshark: ok ($(e2e_elapsed) s)"
