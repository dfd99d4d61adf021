# shellcheck shell=bash
# tests/e2e/common.bash: what the end-to-end tests share, on top of tests/lib.sh and
# tests/e2e/topo.sh (a library, named .bash so that `make test`, which runs every
# tests/e2e/*.sh, does not run it). A test:
#
#	set -euo pipefail
#	. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
#	e2e_init connect c		# NAME, a letter for its prefix ("ec<pid>")
#	e2e_cluster gateway1 host1 host2	# the controller always; VPCs before hosts' VMs
#
# e2e_init NAME LETTER   t_init NAME, topo_init "e<LETTER><pid>" "$T_OUT/topo", and the
#                        exit trap: topo_down (every namespace, process, segment of the
#                        prefix), then lib.sh's cleanup with the test's status. On a
#                        failure the tail of each process log that warned is printed
#                        first; with T_KEEP the logs are copied to $T_OUT/logs. Every
#                        process log is checked for sanitizer reports (SANITIZE=1) once
#                        the processes were stopped (topo_stop_nodes), so that what a
#                        sanitizer reports at exit (leaks) counts too.
# e2e_cluster NODE...    the underlay, the controller and NODEs (gateway1, host2, ...):
#                        namespaces, configurations from etc/demo/ (E2E_SED[NODE]: sed
#                        expressions for that node's file, one a line); the controller
#                        started, the hosts registered. NODEs are started by e2e_start
#                        (after the VPCs exist, or before: either works).
#                        E2E_TAP_RECVS=N in the environment sets the hosts'
#                        forwarder.tap_recvs (for a diagnosis; etc/demo/'s otherwise).
# e2e_underlay_ns NAME IP   a namespace PFX-NAME on the underlay with IP on its eth0, no
#                        configuration, no process (an external host, a traffic source)
# e2e_external NAME IP GATEWAY VM VPC VNI VMIP/LEN MAC
#                        an external host NAME (DESIGN.md §3.11) at IP: e2e_underlay_ns,
#                        the Linux kernel's vxlan device vx0 there (VNI, remote GATEWAY's
#                        address, port 4789, nolearning, MAC, VMIP, IPv6 off, checksums in
#                        software), registered as `host create NAME --kind external` with
#                        VM VM of VPC on it
#                        E2E_ETCD=N: the controller's store on etcd, N members in
#                        its namespace (tests/lib.sh t_etcd).
#                        E2E_IO=socket|xdp: every forwarder's forwarder.io (TOPO_IO),
#                        checked by e2e_start (the gauge io_xdp); make test runs the
#                        e2e suite in both.
# e2e_start NODE...      topo_start each, then e2e_synced
# e2e_synced [SECS]      wait until the cluster's gateways applied the controller's whole
#                        log (10 s)
# e2e_vm NAME VPC IP/LEN HOST   topo_vm, the VM's namespace without IPv6 (no router
#                        solicitations or MLD reports: the forwarders' drop counters see
#                        only what a test sends)
# e2e_pings OUT INTERVAL [OPTION...]   print "sent S received R lost L gap G missing M"
#                        from ping -D output (tests/py/pings.py, which says the options):
#                        G is the longest time in ms without a reply, less one interval
# e2e_ping_start NAME NS DST INTERVAL   in the background, ping DST from namespace NS
#                        every INTERVAL s (ping -n -D, 1 s timeout, 120 s at most) into
#                        $T_OUT/ping-NAME.txt, for e2e_pings
# e2e_ping_stop NAME...  SIGINT those pings (ping then prints its summary) and wait for
#                        them
# e2e_snap ARRAY         ARRAY (an associative array the caller declared) gets every
#                        counter of the cluster's processes, ARRAY[NODE.PROC.COUNTER],
#                        NODE without the prefix, from one vpcfwd-stat --json
# e2e_table NODE VNI     print "ip mac vtep version" lines of NODE's table for VNI (none
#                        when the table does not hold the VNI)
# e2e_rule_vtep NODE VNI IP   print the VTEP NODE's table has for (VNI, IP), or nothing
# e2e_ip_in VM           IPv4 packets VM received (Ip InReceives of its namespace: ARP
#                        answers of its vswitch not counted)
# e2e_proc NODE PROC FIELD...   fields of PROC of NODE in its supervisor's status --json
#                        (pid, state, restarts, heartbeat_age_ms, ...), on one line
# e2e_pid NODE PROC      the pid the supervisor has for PROC of NODE
# e2e_restarts NODE PROC the supervisor's restart count of PROC of NODE
# e2e_now                EPOCHREALTIME in seconds with 6 decimals
# e2e_elapsed            seconds since e2e_init, for the test's timing line

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
# shellcheck source=tests/e2e/topo.sh
. "$(dirname "${BASH_SOURCE[0]}")/topo.sh"

E2E_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")/../py" && pwd)
# The interpreter itself: a version manager's shim would add 0.1 s to every call.
E2E_PYTHON=$(python3 -c 'import sys; print(sys.executable)')
declare -gA E2E_SED=()
declare -gA E2E_PING=()		# NAME: the pid of e2e_ping_start's ping

e2e_init()
{
	local b

	t_init "$1"
	E2E_T0=${EPOCHREALTIME/./}
	((EUID == 0)) || t_fail "needs root (network namespaces, TAP devices)"
	for b in vpcfwd-controller vpcfwd-rule-store vpcfwd-syncd vpcfwd-learner \
	    vpcfwd-forwarder vpcfwdctl vpcfwd-stat vpcfwd-table; do
		[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
	done
	export BUILD
	topo_init "e$2$$" "$T_OUT/topo" || t_fail "topo_init"
	case ${E2E_IO:-} in
	'' | socket | xdp) TOPO_IO=${E2E_IO:-} ;;
	*) t_fail "E2E_IO must be socket or xdp, not $E2E_IO" ;;
	esac
	[[ -z ${E2E_IO:-} ]] || echo "$1: forwarders on forwarder.io = \"$E2E_IO\""
	trap 'rc=$?; trap - ERR; set +e; _e2e_down "$rc"; (exit $rc); _t_cleanup' EXIT
	# A signal ends the test through the exit trap, which removes everything.
	trap 'exit 130' INT TERM HUP
}

_e2e_down()
{
	local rc=$1 f n

	if ((rc != 0)); then
		for f in "$TOPO_DIR"/*/log/*.log; do
			[[ -s $f ]] && grep -qiE "warn|error|fatal|cannot|killed|exited" "$f" ||
				continue
			{ echo "--- ${f#"$TOPO_DIR"/}"; tail -8 "$f"; } >&2
		done
		# When each VM's TAP came up, against the processes' log times: a VM pinged
		# before its agent configured it fails the same way as a lost frame.
		for f in "$TOPO_DIR"/vms/*.log; do
			[[ -s $f ]] || continue
			n=${f##*/}
			n=${n%.log}
			echo "--- vms/$n: configured at" \
			    "$(date -u -d "@$(topo_vm_configured "$n")" +%T.%3N)" >&2
		done
		echo "--- failed at $(date -u +%T.%3N)" >&2
		# A cause of a second without traffic seen before (fixed in 1692348), named
		# if it comes back.
		if grep -qs "read: Resource temporarily unavailable" "$TOPO_DIR"/host*/log/forwarder.log
		then
			echo "$T_NAME: note: a host forwarder took a TAP read's EAGAIN for a" \
			    "vanished device and reopened the TAP a second later (a VM cut off for" \
			    "1 s); E2E_TAP_RECVS=1 (one read in flight a TAP) avoids it" >&2
		fi
	fi
	# Every process's log, once it exited as it would (a leak is reported at exit):
	# sanitizer reports fail the test (lib.sh checks $T_OUT/*.log).
	topo_stop_nodes
	for f in "$TOPO_DIR"/*/log/*.log; do
		[[ -f $f ]] || continue
		n=${f#"$TOPO_DIR"/}
		n=${n%%/*}
		if grep -qE "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$f"; then
			cp "$f" "$T_OUT/$n.$(basename "$f")"
		fi
	done
	if [[ -n ${T_KEEP:-} && -d $TOPO_DIR ]]; then
		mkdir -p "$T_OUT/logs"
		for f in "$TOPO_DIR"/*/log/*.log "$TOPO_DIR"/conf/*.conf; do
			[[ -f $f ]] || continue
			n=${f#"$TOPO_DIR"/}
			cp "$f" "$T_OUT/logs/${n//\//.}"
		done
	fi
	topo_down
}

e2e_now()
{
	echo "$EPOCHREALTIME"
}

e2e_elapsed()
{
	echo "$(((${EPOCHREALTIME/./} - E2E_T0) / 100000))" |
	    sed -E 's/^([0-9]*)([0-9])$/\1.\2/; s/^\./0./'
}

e2e_cluster()
{
	local n sed

	E2E_NODES=("$@")
	topo_underlay || t_fail "topo_underlay"
	for n in controller "$@"; do
		topo_node "$n" || t_fail "topo_node $n"
		sed=()
		[[ -z ${E2E_SED[$n]:-} ]] || mapfile -t sed <<<"${E2E_SED[$n]}"
		[[ -z ${E2E_TAP_RECVS:-} || $n != host* ]] ||
			sed+=("s/tap_recvs = [0-9]*;/tap_recvs = $E2E_TAP_RECVS;/")
		((${#sed[@]} == 0)) || topo_conf "$n" "${sed[@]}" || t_fail "topo_conf $n"
	done
	if [[ -n ${E2E_ETCD:-} ]]; then
		# The controller on etcd: members in its namespace, on its loopback.
		t_etcd "$TOPO_PFX-controller" "$E2E_ETCD"
		t_etcd_conf >"$T_OUT/etcd.conf"
		sed -i "/^controller = {/r $T_OUT/etcd.conf" "${TOPO_CONF[controller]}"
	fi
	topo_start controller >/dev/null || t_fail "cannot start the controller"
	topo_ctl_wait 15 || t_fail "the controller does not answer"
	for n in "$@"; do
		[[ $n != host* ]] || topo_host "$n" || t_fail "cannot register host $n"
	done
}

e2e_underlay_ns()
{
	local ns=$TOPO_PFX-$1

	ip netns add "$ns" || t_fail "cannot create namespace $ns"
	ip -n "$ns" link set lo up &&
	ip -n "$TOPO_UL" link add "$1" type veth peer name eth0 netns "$ns" &&
	ip -n "$TOPO_UL" link set "$1" master br0 up &&
	ip -n "$ns" addr add "$2/$TOPO_PLEN" dev eth0 &&
	ip -n "$ns" link set eth0 up || t_fail "cannot attach $ns to the underlay"
}

e2e_external()
{
	local name=$1 ip=$2 gw=${TOPO_IP[$3]} vm=$4 vpc=$5 vni=$6 cidr=$7 mac=$8
	local ns=$TOPO_PFX-$1

	e2e_underlay_ns "$name" "$ip"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1 >/dev/null || t_fail "IPv6 off in $ns"
	ip -n "$ns" link add vx0 type vxlan id "$vni" remote "$gw" local "$ip" dstport 4789 \
	    nolearning || t_fail "cannot make the kernel's vxlan device in $ns"
	ip -n "$ns" link set vx0 address "$mac" mtu 1450 up &&
	ip -n "$ns" addr add "$cidr" dev vx0 || t_fail "cannot configure vx0 in $ns"
	# The kernel leaves an inner TCP checksum to the "hardware", and veth has none: it
	# would reach the gateway unfinished (a real NIC fills it in). Checksums in software
	# on vx0: ethtool -K vx0 tx off, by its ioctl (no ethtool needed).
	ip netns exec "$ns" "$E2E_PYTHON" -c '
import ctypes, fcntl, socket, struct
ETHTOOL_STXCSUM, SIOCETHTOOL = 0x17, 0x8946
val = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0), 8)
ifr = struct.pack("16sP", b"vx0", ctypes.addressof(val)).ljust(40, b"\0")
fcntl.ioctl(socket.socket(), SIOCETHTOOL, ifr)' || t_fail "cannot turn vx0's TX checksum offload off"
	topo_ctl host create "$name" --vtep "$ip" --kind external >/dev/null ||
		t_fail "vpcfwdctl host create $name --kind external"
	topo_ctl vm create "$vm" --vpc "$vpc" --ip "${cidr%/*}" --host "$name" --mac "$mac" \
	    >/dev/null || t_fail "vpcfwdctl vm create $vm on the external host $name"
}

e2e_start()
{
	local n

	for n in "$@"; do
		topo_start "$n" >/dev/null || t_fail "cannot start $n"
	done
	e2e_synced 15
	[[ -n ${E2E_IO:-} ]] || return 0
	# The mode asked for is the one running: a silent fall-back would test the other.
	for n in "$@"; do
		[[ $n == gateway* || $n == host* ]] || continue
		t_until 10 "$n's forwarder on forwarder.io = \"$E2E_IO\"" \
		    eval '[[ $(topo_stat '"$n"' forwarder io_xdp) == '"$([[ $E2E_IO == xdp ]] &&
		    echo 1 || echo 0)"' ]]'
	done
}

_e2e_synced()
{
	local seq n

	seq=$(topo_stat controller controller log_seq) || return
	for n in "${E2E_NODES[@]}"; do
		[[ $n != gateway* ]] || [[ $(topo_stat "$n" rule-store applied_seq) == "$seq" ]] ||
			return
	done
}

e2e_synced()
{
	t_until "${1:-10}" "the gateways catching up with the controller" _e2e_synced
}

e2e_vm()
{
	local ns

	topo_vm "$@" || t_fail "topo_vm $*"
	# "all" turns it off on the TAP too if it is there already, "default" on one to come.
	ns=$(topo_vm_tap "$1")
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
	    net.ipv6.conf.default.disable_ipv6=1 >/dev/null || t_fail "IPv6 off in $ns"
}

e2e_pings()
{
	"$E2E_PYTHON" "$E2E_PY/pings.py" "$@"
}

e2e_ping_start()
{
	ip netns exec "$2" ping -n -D -i "$4" -w 120 -W 1 "$3" >"$T_OUT/ping-$1.txt" 2>&1 &
	E2E_PING[$1]=$!
}

e2e_ping_stop()
{
	local n pids=()

	for n in "$@"; do
		pids+=("${E2E_PING[$n]}")
	done
	kill -INT "${pids[@]}"
	for n in "$@"; do
		wait "${E2E_PING[$n]}" || true
		unset "E2E_PING[$n]"
	done
}

e2e_snap()
{
	local -n _e2e_a=$1
	local k v

	_e2e_a=()
	while read -r k v; do
		_e2e_a[$k]=$v
	done < <("$TOPO_BIN/vpcfwd-stat" --json "$TOPO_PFX-*" 2>/dev/null | "$E2E_PYTHON" -c '
import json, sys
pfx = sys.argv[1] + "-"
for seg in json.load(sys.stdin):
    node = seg["node"][len(pfx):] if seg["node"].startswith(pfx) else seg["node"]
    for c in seg["counters"]:
        print("%s.%s.%s %d" % (node, seg["proc"], c["name"], c["value"]))' "$TOPO_PFX")
	((${#_e2e_a[@]} > 0)) || t_fail "no counters of $TOPO_PFX-* (vpcfwd-stat --json)"
}

# e2e_settled: once the forwarders' frame counters hold still over 0.1 s (at most 5 s).
# What a gateway's XDP program relays by itself is folded into its forwarder's counters
# each tick (10 ms): a snapshot right after traffic can miss the last tick's (at TCP's
# pace, hundreds of frames).
_e2e_frames()
{
	local -A s
	local k n=0

	e2e_snap s
	for k in "${!s[@]}"; do
		case $k in
		*.forwarder.rx_vxlan | *.forwarder.tx_relayed | *.forwarder.xdp_fast)
			n=$((n + s[$k])) ;;
		esac
	done
	echo "$n"
}

_e2e_still()
{
	local a

	a=$(_e2e_frames)
	sleep 0.1
	[[ $(_e2e_frames) == "$a" ]]
}

e2e_settled()
{
	t_until 5 "the forwarders' counters holding still" _e2e_still
}

e2e_table()
{
	"$TOPO_BIN/vpcfwd-table" --json -N "$TOPO_PFX-$1" -v "$2" 2>/dev/null | "$E2E_PYTHON" -c '
import json, sys
text = sys.stdin.read()
for e in (json.loads(text)["entries"] if text.strip() else []):
    print(e["ip"], e["mac"], e["vtep"], e["version"])'
}

e2e_rule_vtep()
{
	e2e_table "$1" "$2" | awk -v ip="$3" '$1 == ip { print $3 }'
}

e2e_ip_in()
{
	topo_vm_exec "$1" awk '$1 == "Ip:" && $4 ~ /^[0-9]+$/ { print $4; exit }' /proc/net/snmp
}

# e2e_proc NODE PROC FIELD...: the fields of PROC in NODE's supervisor status --json,
# one line, space separated ("None" for a null)
e2e_proc()
{
	BUILD=${TOPO_BIN%/bin} ip netns exec "$TOPO_PFX-$1" "$TOPO_SUPERVISE" status --json \
	    "${TOPO_CONF[$1]}" 2>/dev/null | "$E2E_PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["proc"] == sys.argv[1]:
        print(" ".join(str(p[f]) for f in sys.argv[2:])); sys.exit(0)
sys.exit(1)' "${@:2}"
}

e2e_pid()
{
	e2e_proc "$1" "$2" pid
}

e2e_restarts()
{
	e2e_proc "$1" "$2" restarts
}
