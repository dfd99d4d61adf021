#!/usr/bin/env bash
# xdp: the forwarder's AF_XDP underlay (forwarder.io = "xdp", docs/forwarder.md "Underlay
# I/O") next to the socket one, in network namespaces (tests/e2e/topo.sh): a controller,
# gateway1 and host1 on AF_XDP, gateway2 on "auto" (native XDP attaches on a veth: AF_XDP
# too), host2 on the socket. VPC blue: b1 on host1, b2 on host2.
#
#  1. b1 and b2 ping each other through the gateways (no rule yet), then direct; b2
#     sends bursts of UDP to b1 (host2's socket sends runs of them as UDP GSO messages,
#     which reach host1 cut into datagrams, or whole as multi-buffer frames that the XDP
#     program passes to the kernel): every datagram of every burst reaches b1.
#     A burst from b1 to x1, a VM of an external host (a kernel vxlan device, whose
#     rules no vswitch gets): relayed by a gateway, through AF_XDP (xdp_socket_runs = 0
#     on the gateways) and, once the pings before it made x1's rule one the gateway
#     relayed twice, mostly by the XDP program from its rule cache (xdpfast.h); forged
#     datagrams to x1 from sources no VTEP has are dropped all the same; x2 made in
#     blue takes only its own rule out of the caches (x1's stays); once x1 is deleted,
#     none is relayed from the cache; with XDP_TX no longer delivered (the bridge's ends
#     without their XDP program) the gateways switch their caches off and say so, and b1
#     pings x3 (on the external host) again; with the programs back, the caches are on
#     again at their next trial and relay the pings; a
#     burst from b1 to b2: host1's runs to host2 leave through its socket as UDP GSO
#     (xdp_socket_runs, default 4), all delivered.
#  2. On the AF_XDP nodes, VXLAN came in through AF_XDP (xdp_rx), and
#     everything else (ARP, sync, the controller's TCP) through the kernel
#     (xdp_prog_pass); the next hops were learned from the kernel (neigh_entries); every
#     frame received is counted once, sent or dropped: rx_vxlan + rx_tap = tx_* +
#     arp_replies + drop_* (drop_nobuf aside: not a frame), on every forwarder.
#  3. host2's underlay MAC changes, announced as a host does (arp_notify: a gratuitous
#     ARP, which host1's kernel takes over its entry): host1's forwarder follows within
#     2 s, b1's pings to b2 get through again.
#  4. host1's forwarder killed -9 (its XDP program and sockets go with it): the
#     supervisor's restart attaches again, b1 pings b2 again within 5 s.
# With E2E_IO=socket (make test's second pass) there is nothing of its own to test: ok.
#
#	BUILD=build bash tests/e2e/xdp.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
if [[ ${E2E_IO:-} == socket ]]; then
	echo "xdp: E2E_IO=socket: this test is the xdp mode's (ok)"
	exit 0
fi
E2E_IO=
e2e_init xdp x

BURSTS=5
declare -A B A
BURST=400
declare -A IO=([gateway1]=xdp [gateway2]=auto [host1]=xdp [host2]=socket)
for n in "${!IO[@]}"; do
	E2E_SED[$n]="s|^forwarder = {|forwarder = {\n\tio = \"${IO[$n]}\";|"
done
# The gateways send every run through AF_XDP (a burst's runs would go as UDP GSO); their
# cached rules last 4 s, so that the pings' still hold when the burst comes.
for n in gateway1 gateway2; do
	E2E_SED[$n]="s|^forwarder = {|forwarder = {\n\tio = \"${IO[$n]}\";\n\txdp_socket_runs = 0;\n\txdp_fast_ttl = \"4s\";|"
done
e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
for n in "${!IO[@]}"; do
	want=1
	[[ ${IO[$n]} != socket ]] || want=0
	t_until 10 "$n's forwarder with io_xdp $want" \
	    eval '[[ $(topo_stat '"$n"' forwarder io_xdp) == '"$want"' ]]'
done
grep -q 'underlay: AF_XDP on eth0' "$TOPO_DIR/gateway2/log/forwarder.log" ||
	t_fail "gateway2 (io \"auto\") does not say it took AF_XDP: $(grep underlay \
	    "$TOPO_DIR/gateway2/log/forwarder.log")"
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
e2e_synced 10
topo_vm_exec b1 ping -n -c 3 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
topo_vm_exec b2 ping -n -c 3 -i 0.1 -W 2 10.0.0.1 >/dev/null || t_fail "b2 cannot ping b1"
t_until 10 "host1 learning b2, host2 b1" \
    eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) && -n $(e2e_rule_vtep host2 100 10.0.0.1) ]]'
echo "xdp: gateway1, host1 on AF_XDP, gateway2 on auto (AF_XDP), host2 on the socket;" \
    "b1 <-> b2 ($(e2e_elapsed) s)"

# 1. Bursts from b2 to b1: each datagram numbered, b1 counts what it got.
ip netns exec "$(topo_vm_tap b1)" "$E2E_PYTHON" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("10.0.0.1", 9999))
print("ready", flush=True)
seen = set()
while True:
    d, a = s.recvfrom(65536)
    seen.add(d)
    print(len(seen), flush=True)' >"$T_OUT/b1.txt" 2>&1 &
t_wait_for "$T_OUT/b1.txt" ready 10
e2e_snap B
topo_vm_exec b2 "$E2E_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
bursts, n = int(sys.argv[1]), int(sys.argv[2])
for b in range(bursts):
    for i in range(n):
        s.sendto(b"%d.%d" % (b, i) + b"x" * 100, ("10.0.0.1", 9999))
    time.sleep(0.2)' "$BURSTS" "$BURST"
got()
{
	local n

	n=$(tail -1 "$T_OUT/b1.txt")
	[[ $n =~ ^[0-9]+$ ]] && ((n == BURSTS * BURST))
}
t_until 5 "b1 receiving all $((BURSTS * BURST)) datagrams of b2's bursts" got
e2e_snap A
d()
{
	echo $((A[$1] - B[$1]))
}
frags=$(d host1.forwarder.xdp_prog_pass_frags)
xrx=$(d host1.forwarder.xdp_rx)
gso=$(d host2.forwarder.tx_gso)
((gso > 0)) || t_fail "host2 sent no UDP GSO message in $BURSTS bursts (tx_gso +0)"
# A GSO message reaches host1 cut into datagrams (a veth whose peer has an XDP program
# takes no GSO), or whole, a multi-buffer frame the XDP program passes to the kernel.
((xrx + frags >= BURSTS * BURST)) ||
	t_fail "host1 received $xrx datagrams through AF_XDP and $frags multi-buffer frames" \
	    "through the kernel, of $((BURSTS * BURST))"
echo "xdp: $((BURSTS * BURST)) datagrams from b2 (socket, $gso UDP GSO messages) all" \
    "reached b1 (AF_XDP): $xrx through AF_XDP, $frags multi-buffer frames through the kernel"

# burst IP: 400 UDP datagrams from b1 to IP:9999, as fast as Python sends them
burst()
{
	topo_vm_exec b1 "$E2E_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(400):
    s.sendto(b"%d" % i, (sys.argv[1], 9999))' "$1"
}

# A burst to a VM of an external host (its rules never reach a vswitch: every frame to
# it goes through a gateway), whose kernel vxlan device has gateway1 as its remote.
e2e_external ext 192.168.100.50 gateway1 x1 blue 100 10.0.0.50/24 02:00:00:00:00:50
e2e_synced 10
# b1's kernel must not hold the burst back for ARP (the gateway rewrites the MAC anyway).
topo_vm_exec b1 ip neigh replace 10.0.0.50 lladdr 02:00:00:00:00:50 dev "$(topo_vm_tap b1)"
# Pings first, through the gateway's socket while its kernel resolves ext's MAC: the
# burst would be over before that ARP came back. They also make x1's rule one the
# gateway relayed twice once it knows the next hop and VNI 100's state (a tick after
# its first): the XDP program's cache takes it.
topo_vm_exec b1 ping -n -c 5 -i 0.2 -W 2 10.0.0.50 >/dev/null ||
	t_fail "b1 cannot ping the external host's x1"
e2e_snap B
burst 10.0.0.50
relayed()
{
	e2e_snap A
	(($(d gateway1.forwarder.tx_relayed) + $(d gateway2.forwarder.tx_relayed) >= 400))
}
t_until 5 "the gateways relaying b1's burst of 400 to the external host's x1" relayed
fast_sum() { echo $(($(d gateway1.forwarder.xdp_fast) + $(d gateway2.forwarder.xdp_fast))); }
xtx=$(($(d gateway1.forwarder.xdp_tx) + $(d gateway2.forwarder.xdp_tx)))
fast=$(fast_sum)
rel=$(($(d gateway1.forwarder.tx_relayed) + $(d gateway2.forwarder.tx_relayed)))
# The first to a VTEP may go through the socket while its next hop is asked for.
((xtx + fast >= rel - 2)) ||
	t_fail "the gateways relayed $rel frames, $xtx through AF_XDP, $fast by the XDP program"
# The pings put x1's rule in the XDP program's cache.
((fast > rel / 2)) ||
	t_fail "the gateways' XDP programs relayed $fast of $rel frames from their rule cache"
echo "xdp: a burst from b1 to an external host's VM: the gateways relayed $rel frames," \
    "$xtx through AF_XDP, $fast by the XDP program (its rule cache)"

# The cache holds x1's rule: datagrams to x1 from a source no VTEP has (a rogue on the
# underlay, its own address and a forged one) must still be dropped as unknown.
e2e_underlay_ns rogue 192.168.100.66
unknown_sum() {
	echo $(($(topo_stat gateway1 forwarder drop_unknown_vtep) +
	    $(topo_stat gateway2 forwarder drop_unknown_vtep)))
}
u0=$(unknown_sum)
f0=$(( $(topo_stat gateway1 forwarder xdp_fast) + $(topo_stat gateway2 forwarder xdp_fast) ))
for src in 192.168.100.66 192.168.100.77; do
	for gw in gateway1 gateway2; do
		ip netns exec "$TOPO_PFX-rogue" "$E2E_PYTHON" "$E2E_PY/vxforge.py" "$src" \
		    "${TOPO_IP[$gw]}" 100 10.0.0.50 9999 50 >/dev/null ||
			t_fail "vxforge.py from $src to $gw failed"
	done
done
t_until 5 "the gateways dropping 200 forged datagrams as from an unknown VTEP" \
    eval '(( $(unknown_sum) - u0 >= 200 ))'
f1=$(( $(topo_stat gateway1 forwarder xdp_fast) + $(topo_stat gateway2 forwarder xdp_fast) ))
((f1 == f0)) || t_fail "the XDP programs relayed $((f1 - f0)) forged datagrams"
echo "xdp: 200 forged datagrams to x1, whose rule the cache holds: all dropped as from an" \
    "unknown VTEP, none relayed by the XDP program"

# Another VM of blue made (x2, on the external host): the table's change walk takes x2's
# rule out of the cache, not x1's, which a second burst to x1 still finds there.
changed_sum() {
	echo $(($(topo_stat gateway1 forwarder xdp_fast_changed) +
	    $(topo_stat gateway2 forwarder xdp_fast_changed)))
}
inval_sum() {
	echo $(($(topo_stat gateway1 forwarder xdp_fast_invalidations) +
	    $(topo_stat gateway2 forwarder xdp_fast_invalidations)))
}
c0=$(changed_sum) i0=$(inval_sum)
p1=$(topo_stat gateway1 forwarder xdp_fast_puts) p2=$(topo_stat gateway2 forwarder xdp_fast_puts)
topo_ctl vm create x2 --vpc blue --ip 10.0.0.51 --host ext --mac 02:00:00:00:00:51 \
    >/dev/null || t_fail "vpcfwdctl vm create x2"
e2e_synced 10
t_until 2 "the gateways' caches following blue's change" eval '(( $(changed_sum) > c0 ))'
# The caches have room for the whole table (xdp_fast_rules, 65,536, against a handful of
# rules): they mirror it. x2's rule is put as the table changes, before any datagram to
# x2 (a cache that waits for two relays would only take it out).
for gw in gateway1 gateway2; do
	(($(topo_stat $gw forwarder xdp_fast_mirror) == 1)) ||
		t_fail "$gw: the cache does not mirror the table (xdp_fast_mirror 0)"
	(($(topo_stat $gw forwarder xdp_fast_loaded) > 0)) ||
		t_fail "$gw: the mirror loaded no rule from the table"
done
t_until 2 "both gateways' mirrors putting x2's rule" \
    eval '(( $(topo_stat gateway1 forwarder xdp_fast_puts) > p1 &&
    $(topo_stat gateway2 forwarder xdp_fast_puts) > p2 ))'
e2e_snap B
burst 10.0.0.50
t_until 5 "the gateways relaying b1's second burst of 400 to x1" relayed
fast=$(fast_sum)
(($(inval_sum) == i0)) ||
	t_fail "making x2 invalidated $(($(inval_sum) - i0)) VNIs or more in the caches"
# Past the test's 4 s TTL by now, the first may go up and put x1's rule again.
((fast >= 390)) ||
	t_fail "after x2 was made, the XDP programs relayed $fast of b1's 400 to x1 (x1's rule left)"
echo "xdp: x2 made in blue: $(($(changed_sum) - c0)) changed rule(s) put in the mirrors, x1's" \
    "kept: a second burst to x1 relayed by the XDP program, $fast frames"


# x1 deleted: its rule leaves the tables, and the cache within a tick (10 ms): a burst
# to it, once the gateways' tables no longer have it, is dropped, none relayed.
# Counted before the delete: a gateway may take it before e2e_synced returns.
c1=$(($(changed_sum) + $(inval_sum)))
topo_ctl vm delete x1 >/dev/null || t_fail "vpcfwdctl vm delete x1"
e2e_synced 10
t_until 2 "the gateways' caches following x1's delete" \
    eval '(( $(changed_sum) + $(inval_sum) > c1 ))'
e2e_snap B
burst 10.0.0.50
norule()
{
	e2e_snap A
	(($(d gateway1.forwarder.drop_no_rule) + $(d gateway2.forwarder.drop_no_rule) >= 400))
}
t_until 5 "the gateways dropping b1's burst to the deleted x1 (no rule)" norule
fast=$(fast_sum)
((fast == 0)) || t_fail "the XDP programs relayed $fast frames to x1 after its delete"
echo "xdp: x1 deleted: a burst of 400 to it dropped by the gateways (no rule), none" \
    "relayed from the cache"

# The gateways' bridge ends lose their XDP program: what the caches relay with XDP_TX is
# no longer delivered (a veth). Each gateway sees its driver's failures, switches its cache
# off once 16 failed, says so; pings to x3 (the external host's vx0 under x1's old MAC)
# get through again.
topo_ctl vm create x3 --vpc blue --ip 10.0.0.52 --host ext --mac 02:00:00:00:00:50 \
    >/dev/null || t_fail "vpcfwdctl vm create x3"
ip -n "$TOPO_PFX-ext" addr add 10.0.0.52/24 dev vx0 || t_fail "cannot give vx0 x3's address"
e2e_synced 10
topo_vm_exec b1 ip neigh replace 10.0.0.52 lladdr 02:00:00:00:00:50 dev "$(topo_vm_tap b1)"
topo_vm_exec b1 ping -n -c 3 -i 0.2 -W 2 10.0.0.52 >/dev/null ||
	t_fail "b1 cannot ping x3 (the caches on)"
declare -A E0
for gw in gateway1 gateway2; do
	E0[$gw]=$(topo_stat "$gw" forwarder xdp_fast_tx_errors)
	ip -n "$TOPO_UL" link set dev "$gw" xdpdrv off || t_fail "cannot detach xdp_pass from $gw"
done
# caches_off: after a few more pings to x3, every gateway whose XDP_TX failed went off,
# was tried again 1 s later, and went off again (its trial's failures: 4 frames at most)
caches_off()
{
	local gw

	topo_vm_exec b1 ping -n -q -c 10 -i 0.05 -W 1 10.0.0.52 >/dev/null || true
	OFF=()
	for gw in gateway1 gateway2; do
		(($(topo_stat "$gw" forwarder xdp_fast_tx_errors) > E0[$gw])) || continue
		(($(topo_stat "$gw" forwarder xdp_fast_offs) >= 2)) || return 1
		OFF[$gw]=1
	done
	((${#OFF[@]} > 0))
}
declare -A OFF
t_until 20 "the gateways whose XDP_TX is not delivered switching their cache off, then \
failing a trial," caches_off
for gw in "${!OFF[@]}"; do
	grep 'rule cache is off' "$TOPO_DIR/$gw/log/forwarder.log" >/dev/null ||
		t_fail "$gw switched its cache off without saying so"
done
topo_vm_exec b1 ping -n -c 3 -i 0.2 -W 2 10.0.0.52 >/dev/null ||
	t_fail "b1 cannot ping x3 once the caches are off"
echo "xdp: XDP_TX not delivered (no program on the bridge's ends): ${#OFF[@]} gateway(s)" \
    "switched their cache off and failed a trial, b1 pings x3 again"

# The bridge's ends get their program back: each gateway that went off tries its cache
# again (its next trial, 2 s after the failed one, or 4), finds XDP_TX delivered, stays on, and
# the XDP programs relay b1's pings to x3 again.
for gw in gateway1 gateway2; do
	ip -n "$TOPO_UL" link set dev "$gw" xdpdrv obj "$TOPO_XDP_PASS" sec xdp.frags ||
		t_fail "cannot attach xdp_pass to $gw again"
done
caches_on()
{
	local gw

	topo_vm_exec b1 ping -n -q -c 10 -i 0.05 -W 1 10.0.0.52 >/dev/null || true
	for gw in "${!OFF[@]}"; do
		[[ $(topo_stat "$gw" forwarder xdp_fast_on) == 1 ]] || return 1
		grep 'rule cache is on again' "$TOPO_DIR/$gw/log/forwarder.log" >/dev/null ||
		    return 1
	done
}
t_until 20 "the gateways' caches on again once XDP_TX is delivered" caches_on
e2e_snap B
topo_vm_exec b1 ping -n -q -c 10 -i 0.05 -W 1 10.0.0.52 >/dev/null ||
	t_fail "b1 cannot ping x3 once the caches are on again"
e2e_settled
e2e_snap A
(($(fast_sum) >= 8)) ||
	t_fail "the XDP programs relayed $(fast_sum) of b1's 10 pings to x3 once on again"
trials=0
for gw in "${!OFF[@]}"; do
	trials=$((trials + $(topo_stat "$gw" forwarder xdp_fast_trials)))
done
echo "xdp: the bridge's ends with their program again: the caches on again after" \
    "$trials trial(s), the XDP programs relay b1's pings to x3 ($(fast_sum) frames)"

# host1's runs to host2 (a burst from b1 to b2, both rules known): through the socket, as
# UDP GSO (xdp_socket_runs, default 4), all delivered.
e2e_snap B
burst 10.0.0.2
delivered()
{
	e2e_snap A
	(($(d host2.forwarder.tx_delivered) >= 400))
}
t_until 5 "host2 delivering b1's burst of 400 to b2" delivered
runs=$(d host1.forwarder.xdp_tx_runs)
((runs > 0)) || t_fail "host1 sent none of a burst of 400 as UDP GSO runs (xdp_tx_runs +0)"
echo "xdp: a burst from b1 to b2: host2 delivered it, $runs of it left host1 in UDP GSO" \
    "runs ($(d host1.forwarder.tx_gso) messages), $(d host1.forwarder.xdp_tx) through AF_XDP"

# 2. What went which way, and every frame counted once.
for n in gateway1 gateway2 host1; do
	for k in xdp_rx xdp_prog_redirect xdp_prog_pass neigh_entries; do
		(($(topo_stat "$n" forwarder "$k") > 0)) || t_fail "$n: forwarder $k is 0"
	done
	for k in xdp_rx_bad xsk_tx_invalid; do
		(($(topo_stat "$n" forwarder "$k") == 0)) || t_fail "$n: forwarder $k is not 0"
	done
done
# balanced NODE: the forwarder's frames in equal its frames out and dropped
balanced()
{
	"$TOPO_BIN/vpcfwd-stat" --json -N "$TOPO_PFX-$1" forwarder | "$E2E_PYTHON" -c '
import json, sys
c = {x["name"]: x["value"] for x in json.load(sys.stdin)[0]["counters"]}
rx = c["rx_vxlan"] + c["rx_tap"]
out = sum(c[k] for k in ("tx_direct", "tx_gateway", "tx_local", "tx_onward", "tx_delivered",
    "tx_relayed", "arp_replies"))
drops = sum(v for k, v in c.items() if k.startswith("drop_") and k != "drop_nobuf")
print("%d in, %d out, %d dropped" % (rx, out, drops))
sys.exit(0 if rx == out + drops else 1)'
}
for n in gateway1 gateway2 host1 host2; do
	t_until 5 "$n's frames in equal to its frames out and dropped" \
	    eval 'balanced '"$n"' >/dev/null'
	echo "xdp: $n (${IO[$n]}): $(balanced "$n"); AF_XDP: rx $(topo_stat "$n" forwarder \
	    xdp_rx), tx $(topo_stat "$n" forwarder xdp_tx), through the socket" \
	    "$(topo_stat "$n" forwarder xdp_tx_socket)"
done

# 3. host2's MAC changes: host1 learns it from its kernel.
e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 0.05
sleep 0.5
# Announced, not left to host2's next frame to host1 (b2 sends one only in answer to b1's
# pings, which go to the old MAC until host1 knows the new one) nor to host2's ARP requests
# for the others (broadcast: host1's kernel takes them only if its entry was not updated
# within the last second, its locktime): 1 run in 4 took over 5 s.
ip netns exec "$TOPO_PFX-host2" sysctl -q net.ipv4.conf.eth0.arp_notify=1
ip -n "$TOPO_PFX-host2" link set eth0 address 02:00:00:aa:bb:02
t0=$(e2e_now)
mac_seen()
{
	[[ $(ip -n "$TOPO_PFX-host1" neigh show "${TOPO_IP[host2]}" dev eth0) == \
	    *02:00:00:aa:bb:02* ]]
}
t_until 2 "host1's kernel learning host2's new MAC" mac_seen
sent0=$(topo_stat host2 forwarder tx_delivered)
pinged()
{
	(($(topo_stat host2 forwarder tx_delivered) > sent0 + 5))
}
t_until 2 "b1's pings reaching b2 again after host2's MAC changed" pinged
e2e_ping_stop b1
echo "xdp: host2's MAC changed: b1's pings reach b2 again" \
    "$(awk -v a="$t0" -v b="$(e2e_now)" 'BEGIN { printf "%.1f", b - a }') s later"

# 4. host1's forwarder killed -9: restarted, attached again.
pid=$(e2e_pid host1 forwarder) || t_fail "no pid for host1's forwarder"
kill -9 "$pid"
back()
{
	local p

	p=$(e2e_pid host1 forwarder) && [[ $p != None && $p != "$pid" ]] &&
	    [[ $(topo_stat host1 forwarder io_xdp) == 1 ]] &&
	    topo_vm_exec b1 ping -n -c 1 -W 1 10.0.0.2 >/dev/null
}
t_until 5 "host1's forwarder back on AF_XDP, b1 pinging b2" back
echo "xdp: host1's forwarder killed -9: back on AF_XDP, b1 pings b2 ($(e2e_elapsed) s)"
echo "xdp: ok ($(e2e_elapsed) s)"
