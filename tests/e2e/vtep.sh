#!/usr/bin/env bash
# vtep: the data plane's VTEP allow-lists (DESIGN.md §9, docs/forwarder.md), in network
# namespaces (tests/e2e/topo.sh): a controller, two gateways, host1 (b1, blue 10.0.0.1) and
# host2 (b2, 10.0.0.2), and "rogue", a namespace on the underlay that is no node
# (192.168.100.99), which sends VXLAN in VNI 100 with a well-formed inner IPv4/UDP frame
# to b2's 10.0.0.2:9999, from a raw socket (tests/py/vxforge.py):
#
#  1. from its own address and from a forged one (192.168.100.77): to host2's and to
#     gateway1's forwarder, each dropped and counted as drop_unknown_vtep, exactly, and
#     b2's listener on port 9999 receives nothing;
#  2. `vpcfwdctl host create rogue --vtep 192.168.100.99`: frames from it reach b2 within
#     a second (the time is printed); `host delete rogue`: they are dropped again within a
#     second, and b2 receives nothing more;
#  3. meanwhile b1 pings b2 every 20 ms: not one ping is lost.
#
#	BUILD=build bash tests/e2e/vtep.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init vtep v

INTERVAL=0.02
N=50
ROGUE=192.168.100.99
FORGED=192.168.100.77
ROGUE_NS=$TOPO_PFX-rogue
GW1=${TOPO_IP[gateway1]}
H2=${TOPO_IP[host2]}

e2e_cluster gateway1 gateway2 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
e2e_underlay_ns rogue "$ROGUE"
e2e_synced 10
topo_vm_exec b1 ping -n -c 2 -i 0.1 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
for n in gateway1 host2; do
	t_until 5 "$n's VTEP list loaded" eval \
	    "[[ \$(topo_stat $n forwarder vteps_loaded) == 1 ]]"
done

# What b2 receives on port 9999: one line a datagram.
ip netns exec "$(topo_vm_tap b2)" "$E2E_PYTHON" -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.0.0.2", 9999))
print("ready", flush=True)
while True:
    d, a = s.recvfrom(65536)
    print("from %s %.6f %s" % (a[0], time.time(), d[:16]), flush=True)' >"$T_OUT/b2.txt" 2>&1 &
t_wait_for "$T_OUT/b2.txt" ready 10
received()
{
	grep -c '^from ' "$T_OUT/b2.txt" || true
}

# forge SRC DST N: N VXLAN datagrams from SRC (a raw socket) to DST:4789, for b2.
forge()
{
	ip netns exec "$ROGUE_NS" "$E2E_PYTHON" "$E2E_PY/vxforge.py" "$1" "$2" 100 \
	    10.0.0.2 9999 "$3" >/dev/null || t_fail "vxforge.py $* failed"
}

counter()
{
	topo_stat "$1" forwarder "$2" || echo 0
}

e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 "$INTERVAL"
echo "vtep: cluster up; b1 pings b2 every 20 ms ($(e2e_elapsed) s)"

# 1. Unknown VTEPs, real and forged, at a vswitch and at a gateway.
h2_0=$(counter host2 drop_unknown_vtep)
g1_0=$(counter gateway1 drop_unknown_vtep)
h2_rx0=$(counter host2 rx_vxlan)
forge "$ROGUE" "$H2" "$N"
forge "$FORGED" "$H2" "$N"
forge "$ROGUE" "$GW1" "$N"
forge "$FORGED" "$GW1" "$N"
t_until 5 "host2's forwarder receiving the forged datagrams" eval \
    "(( \$(counter host2 rx_vxlan) - h2_rx0 >= 2 * N ))"
t_until 5 "the drops counted" eval \
    "(( \$(counter host2 drop_unknown_vtep) - h2_0 >= 2 * N &&
        \$(counter gateway1 drop_unknown_vtep) - g1_0 >= 2 * N ))"
h2_d=$(($(counter host2 drop_unknown_vtep) - h2_0))
g1_d=$(($(counter gateway1 drop_unknown_vtep) - g1_0))
((h2_d == 2 * N)) || t_fail "host2 counted $h2_d drop_unknown_vtep, want $((2 * N))"
((g1_d == 2 * N)) || t_fail "gateway1 counted $g1_d drop_unknown_vtep, want $((2 * N))"
sleep 0.2	# anything that got through would be at b2 by now
(($(received) == 0)) || t_fail "b2 received $(received) forged datagrams"
echo "vtep: $((2 * N)) forged datagrams each at host2 and gateway1: all dropped" \
    "(drop_unknown_vtep), b2 received none"

# 2. The controller learns of the rogue as a host: accepted within a second; deleted:
# refused within a second. The rogue sends every 10 ms meanwhile; b2 stamps what it gets.
ip netns exec "$ROGUE_NS" "$E2E_PYTHON" "$E2E_PY/vxforge.py" "$ROGUE" "$H2" 100 10.0.0.2 \
    9999 400 0.01 >/dev/null &
sender=$!
sleep 0.3
t0=$EPOCHREALTIME
topo_ctl host create rogue --vtep "$ROGUE" >/dev/null || t_fail "host create rogue"
t_until 2 "frames from the new host reaching b2" eval '(($(received) > 0))'
first=$(awk '/^from /{ print $3; exit }' "$T_OUT/b2.txt")
add_ms=$("$E2E_PYTHON" -c 'import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000))' \
    "$first" "$t0")
((add_ms < 1000)) || t_fail "frames from a host created reached b2 after $add_ms ms"
echo "vtep: host created: its VXLAN reached b2 after ${add_ms} ms"
sleep 0.5
t0=$EPOCHREALTIME
topo_ctl host delete rogue >/dev/null || t_fail "host delete rogue"
wait "$sender"
last=$(awk '/^from /{ t = $3 } END { print t }' "$T_OUT/b2.txt")
del_ms=$("$E2E_PYTHON" -c 'import sys; print(int((float(sys.argv[1]) - float(sys.argv[2])) * 1000))' \
    "$last" "$t0")
((del_ms < 1000)) || t_fail "frames from a host deleted reached b2 $del_ms ms after"
echo "vtep: host deleted: its VXLAN last reached b2 ${del_ms} ms after" \
    "($(received) of 400 delivered)"
before=$(received)
d0=$(counter host2 drop_unknown_vtep)
forge "$ROGUE" "$H2" "$N"
t_until 5 "host2 dropping the deleted host's datagrams" eval \
    "(( \$(counter host2 drop_unknown_vtep) - d0 >= N ))"
sleep 0.2
(($(received) == before)) || t_fail "b2 received datagrams from a deleted host"

# 3. Not one ping lost meanwhile.
e2e_ping_stop b1
report=$(e2e_pings "$T_OUT/ping-b1.txt" "$INTERVAL" --interrupted)
echo "vtep: b1 -> b2 meanwhile: $report"
[[ $report == *" lost 0 "* ]] || t_fail "pings lost between VMs: $report"
echo "vtep: ok ($(e2e_elapsed) s)"
