#!/usr/bin/env bash
# migrate: a VM moved while it is pinged (DESIGN.md §3.8), in network namespaces
# (tests/e2e/topo.sh): a controller, two gateways, three hosts, VPC blue (VNI 100);
# b1 (10.0.0.1) on host1 pings b3 (10.0.0.3) every 20 ms while b3 moves from host3 to
# host2 (`vpcfwdctl vm migrate`), and then back to host3; another ping, every 2 ms,
# runs alongside for the capture. For each move:
#
#  1. at most 1 s without a reply (ping -D, the longest gap between replies, and the
#     lost pings times the interval), and every ping of the last second answered;
#  2. no frame to a stale VTEP: a capture of what the bridge sends the old host
#     (tests/py/vxcap.py, kernel timestamps) holds no frame for b3 from host1 after
#     host1's cache showed b3's new VTEP, and none from a gateway after that gateway's
#     table did (tests/py/rulewatch.py: the moment each table first showed it);
#  3. after the move host1 sends to the new host directly (tx_direct), and b3's pings
#     are delivered there (tx_delivered).
#
# The VM's side gives the TAP its address again when it reappears in b3's namespace
# (topo.sh's agent), as a real VM's network would after a live migration.
#
#	BUILD=build bash tests/e2e/migrate.sh		(as root)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init migrate m

INTERVAL=0.02
declare -A C N

e2e_cluster gateway1 gateway2 host1 host2 host3
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 gateway2 host1 host2 host3
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b3 blue 10.0.0.3/24 host3
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b3 15 || t_fail "VM b3 did not come up"
# Captures of what the underlay's bridge sends host2 and host3 (their ports: "out"), for
# the whole test. Not on the hosts' own interfaces: with AF_XDP (E2E_IO=xdp) what the
# XDP program gives the forwarder never reaches the kernel's packet taps.
for h in host2 host3; do
	ip netns exec "$TOPO_UL" "$E2E_PYTHON" "$E2E_PY/vxcap.py" "$h" \
	    >"$T_OUT/cap-$h.txt" 2>"$T_OUT/cap-$h.log" &
done
for h in host2 host3; do
	t_wait_for "$T_OUT/cap-$h.txt" ready 10
done
# host1 learns b3.
topo_vm_exec b1 ping -n -c 3 -i 0.1 -W 2 10.0.0.3 >/dev/null ||
	t_fail "b1 cannot ping b3 before the migration"
t_until 5 "host1 learning b3 at host3" \
    eval '[[ $(e2e_rule_vtep host1 100 10.0.0.3) == "${TOPO_IP[host3]}" ]]'
echo "migrate: cluster up, b1 on host1 pings b3 on host3 ($(e2e_elapsed) s)"

# migrate FROM TO: move b3 while b1 pings it; the checks above
migrate()
{
	local from=$1 to=$2 new=${TOPO_IP[$2]} pings=$T_OUT/ping-$2.txt
	local t_cmd t_done watch=$T_OUT/watch-$2.txt report stale t_h1 t_gw1 t_gw2 gap lost
	local ping dense before

	e2e_snap C
	topo_vm_exec b1 ping -n -D -i "$INTERVAL" -w 5 -W 1 10.0.0.3 >"$pings" 2>&1 &
	ping=$!
	# A denser flow alongside, for the capture: a frame every 2 ms.
	topo_vm_exec b1 ping -n -q -i 0.002 -w 5 -W 1 10.0.0.3 >/dev/null 2>&1 &
	dense=$!
	sleep 1.5
	# The tables to watch, from before the command.
	"$E2E_PYTHON" "$E2E_PY/rulewatch.py" "$TOPO_BIN/vpcfwd-table" 100 10.0.0.3 "$new" 5 \
	    "$TOPO_PFX-host1" "$TOPO_PFX-gateway1" "$TOPO_PFX-gateway2" >"$watch" 2>&1 &
	local wpid=$!
	t_cmd=$(e2e_now)
	topo_ctl vm migrate b3 --host "$to" >/dev/null || t_fail "vpcfwdctl vm migrate b3 --host $to"
	t_done=$(e2e_now)
	wait "$wpid" || t_fail "$(tail -1 "$watch")"
	wait "$ping" || true
	wait "$dense" || true
	e2e_snap N
	t_h1=$(awk -v n="$TOPO_PFX-host1" '$1 == n { print $2 }' "$watch")
	t_gw1=$(awk -v n="$TOPO_PFX-gateway1" '$1 == n { print $2 }' "$watch")
	t_gw2=$(awk -v n="$TOPO_PFX-gateway2" '$1 == n { print $2 }' "$watch")
	# ping -w ends at its deadline with its last request perhaps still out: not a loss
	report=$(e2e_pings "$pings" "$INTERVAL" --holes --interrupted)
	read -r _ _ _ _ _ lost _ gap _ < <(tail -1 <<<"$report")
	echo "migrate: $from -> $to: vpcfwdctl took $(ms "$t_cmd" "$t_done") ms; new VTEP in" \
	    "host1's cache after $(ms "$t_cmd" "$t_h1") ms, gateways' $(ms "$t_cmd" "$t_gw1")" \
	    "and $(ms "$t_cmd" "$t_gw2") ms; b3's TAP configured again after" \
	    "$(ms "$t_cmd" "$(topo_vm_configured b3)") ms"
	echo "migrate: $from -> $to: ping: $(tail -1 <<<"$report") (ms without a reply)"
	((gap <= 1000)) || t_fail "$from -> $to: $gap ms without a reply (at most 1000):" \
	    "$report"
	awk -v l="$lost" -v i="$INTERVAL" 'BEGIN { exit !(l * i <= 1.0) }' ||
		t_fail "$from -> $to: $lost pings lost, more than 1 s of them: $report"
	# The last second answered whole: the flow is back, not limping.
	[[ $(e2e_pings "$pings" "$INTERVAL" --last 1 --interrupted) == *" missing 0" ]] ||
		t_fail "$from -> $to: pings of the last second lost: $report"
	# No frame for b3 to the stale VTEP once the sender's table had the new one. The
	# capture is the old host's; its timestamps are the kernel's (taken at arrival),
	# the watch times are taken after the read that showed the new VTEP.
	# (the capture works: it holds the frames host1 sent b3 there before the command)
	before=$(awk -v h1="$TOPO_IP_H1" -v t="$t_cmd" '$2 == "out" && $3 == h1 &&
	    $8 == "10.0.0.3" && $1 < t' "$T_OUT/cap-$from.txt" | wc -l)
	((before >= 100)) || t_fail "the capture on $from holds only $before frames for b3" \
	    "from host1 before the command"
	stale=$(awk -v h1="$TOPO_IP_H1" -v g1="${TOPO_IP[gateway1]}" \
	    -v g2="${TOPO_IP[gateway2]}" -v t1="$t_h1" -v tg1="$t_gw1" -v tg2="$t_gw2" '
	    $2 == "out" && $8 == "10.0.0.3" &&
	    (($3 == h1 && $1 > t1) || ($3 == g1 && $1 > tg1) || ($3 == g2 && $1 > tg2))' \
	    "$T_OUT/cap-$from.txt")
	[[ -z $stale ]] || t_fail "$from -> $to: frames for b3 reached $from (the old VTEP)" \
	    "after the sender's table had $to:"$'\n'"$(head -5 <<<"$stale")"
	echo "migrate: $from -> $to: $(awk -v t="$t_cmd" '$2 == "out" && $8 == "10.0.0.3" &&
	    $1 > t' "$T_OUT/cap-$from.txt" | wc -l) frames for b3 reached $from after the" \
	    "command, none after the senders' rules changed; $from sent" \
	    "$((N[$from.forwarder.tx_onward] - C[$from.forwarder.tx_onward])) on via a gateway" \
	    "(tx_onward), dropped $((N[$from.forwarder.drop_not_local] - \
	    C[$from.forwarder.drop_not_local])) from gateways (drop_not_local)"
	# Afterwards direct to the new host, delivered there.
	[[ $(e2e_rule_vtep host1 100 10.0.0.3) == "$new" ]] ||
		t_fail "host1's rule for b3 is not at $to"
	((${N[host1.forwarder.tx_direct]} - ${C[host1.forwarder.tx_direct]} > 100)) ||
		t_fail "host1 did not send b3's pings direct"
	((${N[$to.forwarder.tx_delivered]} - ${C[$to.forwarder.tx_delivered]} > 50)) ||
		t_fail "$to did not deliver b3's pings after the move"
	[[ $(topo_ctl vm show b3) == *"$to"* ]] || t_fail "the controller does not show b3 on $to"
}

# ms T1 T2: T2 - T1 in ms (T: epoch seconds with decimals); "?" when one is missing or
# T2 is before T1 (b3's TAP not configured since the command)
ms()
{
	[[ -n ${1:-} && -n ${2:-} ]] || { echo "?"; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b < a) print "?"; else printf "%.0f", (b - a) * 1000 }'
}

TOPO_IP_H1=${TOPO_IP[host1]}
migrate host3 host2
migrate host2 host3
echo "migrate: ok ($(e2e_elapsed) s)"
