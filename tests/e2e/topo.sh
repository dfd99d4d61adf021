# shellcheck shell=bash
# tests/e2e/topo.sh: a vpcfwd cluster on one machine, in network namespaces, for the demo
# (tools/vpcfwd-demo) and the end-to-end tests. Sourced, never run; needs root.
#
# The picture: an underlay namespace PFX-underlay holding a bridge br0; one namespace a
# node (PFX-controller, PFX-gateway1, ...; the node's name too, which names its
# /dev/shm/vpcfwd.<node>.* segments), each with lo up and an eth0 (a veth whose other end
# is on br0) holding the node's address in 192.168.100.0/24; a node's processes run in
# its namespace under tools/vpcfwd-supervise, from etc/demo/<name>.conf. A VM is a
# namespace named as its TAP device, PFX-<vm> (15 characters at most), which the host's
# forwarder moves the TAP into (forwarder.tap_netns); a small agent in it (the VM's
# side) gives the TAP its address and brings it up whenever it appears, at creation and
# after each migration. Nothing is made in the root namespace but the namespaces
# themselves, the run directory and the shared memory, all named by the prefix, so runs
# with different prefixes never collide and topo_down can find and remove everything
# from the prefix alone (after a failed or interrupted run, or from another shell).
#
#	. tests/lib.sh; . tests/e2e/topo.sh
#	t_init migrate
#	topo_init "m$$" "$T_OUT/topo"       # PREFIX DIR (the demo: demo /run/vpcfwd-demo)
#	# topo_down, then lib.sh's cleanup with the test's exit status; set +e and no ERR
#	# trap, or (exit $rc) of a failed test would end the trap early or be reported
#	trap 'rc=$?; trap - ERR; set +e; topo_down; (exit $rc); _t_cleanup' EXIT
#	topo_cluster                         # underlay, the six nodes, their configurations
#	topo_start controller; topo_ctl_wait
#	topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24
#	topo_host host1; topo_host host2
#	topo_start gateway1; ...; topo_start host1; ...
#	topo_vm b1 blue 10.0.0.1/24 host1; topo_vm b2 blue 10.0.0.2/24 host2
#	topo_vm_wait b1; topo_vm_wait b2
#	topo_vm_exec b1 ping -c 3 10.0.0.2
#	topo_stat host1 forwarder tx_direct
#
# Functions (each returns non-zero with one "topo: ..." line on stderr when it fails):
#
# topo_init PREFIX DIR   PREFIX: 1..12 characters of [a-z0-9-], the first not '-' (a VM's
#                        TAP is PREFIX-NAME, 15 characters at most: "m$$" leaves a VM
#                        name 6 characters at worst, the demo's "demo" 10); DIR: where
#                        configurations, run dirs, logs and the controller's data go
#                        (made; removed by topo_down). BUILD (default build) names the
#                        build directory whose bin/ has the programs.
# topo_cluster           topo_underlay, then topo_node for the six nodes of etc/demo/
# topo_underlay          topo_keys, the underlay namespace and its bridge
# topo_keys              DIR/keys: a cluster secret, each host's key (tools/vpcfwd-keygen)
# topo_node NAME [IP]    NAME's namespace on the bridge (IP: from TOPO_IP[NAME]) and its
#                        configuration (topo_conf NAME) and certificate (topo_pki NAME);
#                        unless TOPO_IO=socket, the bridge's end of its veth gets
#                        tests/e2e/xdp_pass.bpf.o (XDP_TX from the node needs it)
# topo_pki NAME          NAME's TLS certificate and key in DIR/pki, the CA made once
# topo_conf NAME [SED...]  write DIR/conf/NAME.conf from etc/demo/NAME.conf (or from
#                        etc/demo/BASE.conf when TOPO_BASE[NAME]=BASE, e.g. a second
#                        controller's from controller.conf): "demo-"
#                        becomes "PREFIX-", /run/vpcfwd-demo becomes DIR, then each SED
#                        expression (sed -e) is applied, e.g. 's/sync_wait = .*/sync_wait
#                        = "1s";/'. TOPO_IO=socket|xdp|auto sets forwarder.io (the
#                        files' default otherwise). With the demo's own prefix and
#                        directory, no SED and no TOPO_IO, etc/demo/NAME.conf itself is
#                        used. Sets TOPO_CONF[NAME].
# topo_start NAME, topo_stop NAME, topo_status NAME
#                        tools/vpcfwd-supervise start|stop|status on NAME's configuration,
#                        in NAME's namespace
# topo_ctl ARGS...       vpcfwdctl against this cluster's controller
# topo_ctl_wait [SECS]   wait until the controller answers (10 s)
# topo_host NAME         register host NAME (vpcfwdctl host create, --vtep its address)
# topo_vm NAME VPC IP/LEN HOST [MAC]
#                        VM NAME: its namespace PFX-NAME, its agent, vpcfwdctl vm create
#                        with --tap PFX-NAME. LEN: the prefix length of the VPC's CIDR
# topo_vm_tap NAME       print the TAP (and namespace) name of VM NAME
# topo_vm_wait NAME [SECS]  wait until VM NAME's TAP is in its namespace, up, with its
#                        address (10 s)
# topo_vm_exec NAME CMD...  run CMD in VM NAME's namespace
# topo_vm_configured NAME   print the time (EPOCHREALTIME) the agent last configured the
#                        VM's TAP, or nothing
# topo_synced [SECS]     wait until both gateways' rule-stores applied the controller's
#                        whole log (10 s)
# topo_stat NODE PROC COUNTER  print one counter of PFX-NODE's PROC (vpcfwd-stat --json)
# topo_stop_nodes        stop each node's supervisor and so its processes (SIGTERM: they
#                        exit as they would, a sanitizer's leak check included); the
#                        namespaces, logs and segments stay. Idempotent.
# topo_down              stop and remove everything of PREFIX: the supervisors (stop), any
#                        process left in its namespaces (TERM, then KILL), the namespaces,
#                        /dev/shm/vpcfwd.PREFIX-*, DIR. Idempotent; needs only topo_init.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	echo "$0: a library the demo and the e2e tests source, not a program"
	exit 0
fi

TOPO_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TOPO_ETC=$TOPO_SRC/etc/demo
TOPO_SUPERVISE=$TOPO_SRC/tools/vpcfwd-supervise
TOPO_NODES=(controller gateway1 gateway2 host1 host2 host3)
declare -gA TOPO_IP=([controller]=192.168.100.2 [gateway1]=192.168.100.11
    [gateway2]=192.168.100.12 [host1]=192.168.100.21 [host2]=192.168.100.22
    [host3]=192.168.100.23)
TOPO_PLEN=24
declare -gA TOPO_CONF=()
declare -gA TOPO_BASE=()	# NAME: the etc/demo/ file NAME's is made from, if not NAME's own

_topo_err()
{
	echo "topo: $*" >&2
	return 1
}

# _topo_until SECS CMD...: run CMD every 50 ms until it succeeds; 1 after SECS
_topo_until()
{
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))

	shift
	until "$@" 2>/dev/null; do
		((${EPOCHREALTIME/./} < end)) || return 1
		sleep 0.05
	done
}

topo_init()
{
	[[ $# -eq 2 && $1 =~ ^[a-z0-9][a-z0-9-]{0,11}$ ]] ||
		_topo_err "topo_init PREFIX DIR: PREFIX must be 1..12 characters of [a-z0-9-]" \
		    "starting with [a-z0-9], not '${1:-}'" || return
	[[ $2 == /* ]] || _topo_err "topo_init: DIR must be an absolute path, not '$2'" || return
	TOPO_PFX=$1
	TOPO_DIR=$2
	TOPO_UL=$1-underlay
	TOPO_BIN=${BUILD:-build}/bin
	[[ $TOPO_BIN == /* ]] || TOPO_BIN=$TOPO_SRC/$TOPO_BIN
	# Not under TOPO_BIN's parent: a test may point TOPO_BIN at wrappers of its own.
	TOPO_XDP_PASS=${TOPO_BIN%/bin}/tests/e2e/xdp_pass.bpf.o
	TOPO_SOCK=$TOPO_DIR/controller/controller.sock
}

_topo_ns()
{
	ip netns exec "$@"
}

# The sync/learn keys etc/demo/*.conf name (DIR/keys): the gateways' cluster secret and
# each host's key derived from it, made anew for each cluster, never committed.
topo_keys()
{
	local kg=$TOPO_BIN/vpcfwd-keygen k=$TOPO_DIR/keys n

	[[ -x $kg ]] || _topo_err "no $kg (make)" || return
	rm -rf "$k" && mkdir -p "$k" && chmod 700 "$k" || return
	"$kg" secret "$k/cluster.secret" 1 || return
	for n in "${TOPO_NODES[@]}"; do
		[[ $n != host* ]] || "$kg" host "$k/cluster.secret" "$n" "$k/$n.key" || return
	done
}

topo_underlay()
{
	topo_keys || _topo_err "cannot make the sync/learn keys in $TOPO_DIR/keys" || return
	ip netns add "$TOPO_UL" || _topo_err "cannot create namespace $TOPO_UL" || return
	if ! { ip -n "$TOPO_UL" link set lo up && ip -n "$TOPO_UL" link add br0 type bridge &&
	    ip -n "$TOPO_UL" link set br0 up; }; then
		_topo_err "cannot make the bridge in $TOPO_UL"
	fi
}

topo_node()
{
	local name=$1 ip=${2:-${TOPO_IP[$1]:-}} ns=$TOPO_PFX-$1

	[[ -n $ip ]] || _topo_err "topo_node $name: no address for it" || return
	TOPO_IP[$name]=$ip
	ip netns add "$ns" || _topo_err "cannot create namespace $ns" || return
	# The veth is made inside the underlay namespace: no name in the root namespace.
	ip -n "$ns" link set lo up &&
	ip -n "$TOPO_UL" link add "$name" type veth peer name eth0 netns "$ns" &&
	ip -n "$TOPO_UL" link set "$name" master br0 up &&
	ip -n "$ns" addr add "$ip/$TOPO_PLEN" dev eth0 &&
	ip -n "$ns" link set eth0 up ||
		_topo_err "cannot attach $ns to the underlay" || return
	# What a forwarder on AF_XDP sends with XDP_TX (a gateway's rule cache) crosses a
	# veth only to an end with an XDP program, as a NIC's frames always reach the wire.
	if [[ ${TOPO_IO:-auto} != socket ]]; then
		ip -n "$TOPO_UL" link set dev "$name" xdpdrv obj "$TOPO_XDP_PASS" sec xdp.frags ||
			_topo_err "cannot load tests/e2e/xdp_pass.bpf.o on $name (make)" || return
	fi
	topo_conf "$name" && topo_pki "$name"
}

# topo_pki NAME: NAME's TLS certificate and key in DIR/pki (with the CA, made once),
# the files etc/demo/*.conf name: controller*, gateway* and host* nodes get
# "controller:NAME", "gateway:NAME" and "host:NAME"; other nodes run no stream client.
topo_pki()
{
	local role

	case $1 in
	controller*) role=controller ;;
	gateway*) role=gateway ;;
	host*) role=host ;;
	*) return 0 ;;
	esac
	if [[ ! -e $TOPO_DIR/pki/ca.crt ]]; then
		"$TOPO_SRC/tools/vpcfwd-pki" "$TOPO_DIR/pki" ca >/dev/null ||
			_topo_err "cannot make the CA in $TOPO_DIR/pki" || return
	fi
	"$TOPO_SRC/tools/vpcfwd-pki" "$TOPO_DIR/pki" "$role" "$1" >/dev/null ||
		_topo_err "cannot make $1's certificate" || return
}

topo_cluster()
{
	local n

	topo_underlay || return
	for n in "${TOPO_NODES[@]}"; do
		topo_node "$n" || return
	done
}

topo_conf()
{
	local name=$1 src=$TOPO_ETC/${TOPO_BASE[$1]:-$1}.conf out sed=() e

	shift
	[[ -f $src ]] || _topo_err "no $src" || return
	if [[ $TOPO_PFX == demo && $TOPO_DIR == /run/vpcfwd-demo && $# -eq 0 &&
	    -z ${TOPO_IO:-} ]]; then
		TOPO_CONF[$name]=$src
		return
	fi
	mkdir -p "$TOPO_DIR/conf" || return
	out=$TOPO_DIR/conf/$name.conf
	sed=(-e "s|\"demo-|\"$TOPO_PFX-|g" -e "s|/run/vpcfwd-demo|$TOPO_DIR|g")
	[[ -z ${TOPO_IO:-} ]] || sed+=(-e "s|^forwarder = {|forwarder = {\n\tio = \"$TOPO_IO\";|")
	for e in "$@"; do
		sed+=(-e "$e")
	done
	sed "${sed[@]}" "$src" >"$out" || _topo_err "cannot write $out" || return
	TOPO_CONF[$name]=$out
}

# _topo_supervise CMD NAME
_topo_supervise()
{
	local conf=${TOPO_CONF[$2]:-}

	[[ -n $conf ]] || _topo_err "$2 has no configuration (topo_node or topo_conf)" || return
	[[ -x $TOPO_SUPERVISE ]] || _topo_err "no $TOPO_SUPERVISE" || return
	BUILD=${TOPO_BIN%/bin} _topo_ns "$TOPO_PFX-$2" "$TOPO_SUPERVISE" "$1" "$conf"
}

topo_start()
{
	_topo_supervise start "$1" || _topo_err "cannot start $1 (${TOPO_CONF[$1]:-})"
}

topo_stop()
{
	_topo_supervise stop "$1"
}

topo_status()
{
	_topo_supervise status "$1"
}

topo_ctl()
{
	"$TOPO_BIN/vpcfwdctl" -s "$TOPO_SOCK" "$@"
}

topo_ctl_wait()
{
	_topo_until "${1:-10}" topo_ctl vpc list >/dev/null ||
		_topo_err "the controller did not answer on $TOPO_SOCK within ${1:-10} s"
}

topo_host()
{
	[[ -n ${TOPO_IP[$1]:-} ]] || _topo_err "topo_host $1: no address for it" || return
	topo_ctl host create "$1" --vtep "${TOPO_IP[$1]}" >/dev/null
}

topo_vm_tap()
{
	echo "$TOPO_PFX-$1"
}

# The VM's side: runs in the VM's namespace for its life. Whenever the TAP appears
# (moved in by a host's forwarder: at creation, after each migration) or on a 1 s
# fallback tick, gives it its address and brings it up if it lacks either, and records
# when in LOG. Events come from `ip monitor link`, so a reconfiguration takes
# milliseconds, not a poll period.
_topo_vm_agent()
{
	local tap=$1 cidr=$2 log=$3 state up='<([^>]*,)?UP[,>]'

	exec 3< <(exec ip monitor link)
	while :; do
		read -r -t 1 -u 3 _ || (($? > 128)) || return 0
		state=$(ip -o addr show dev "$tap" 2>/dev/null) || continue
		if [[ $state != *" ${cidr%/*}/"* ]] ||
		    ! [[ $(ip -o link show dev "$tap") =~ $up ]]; then
			ip addr replace "$cidr" dev "$tap" 2>/dev/null &&
			ip link set "$tap" up 2>/dev/null &&
			echo "$EPOCHREALTIME configured $tap $cidr" >>"$log"
		fi
	done
}

topo_vm()
{
	local name=$1 vpc=$2 cidr=$3 host=$4 mac=${5:-} tap ns log args

	tap=$(topo_vm_tap "$name")
	ns=$tap
	((${#tap} <= 15)) || _topo_err "VM $name: TAP name $tap is longer than 15" || return
	[[ $cidr == */* ]] || _topo_err "topo_vm $name: IP/LEN, not $cidr" || return
	ip netns add "$ns" || _topo_err "cannot create namespace $ns" || return
	ip -n "$ns" link set lo up || return
	mkdir -p "$TOPO_DIR/vms" || return
	log=$TOPO_DIR/vms/$name.log
	: >"$log"
	_topo_ns "$ns" setsid bash -c \
	    "$(declare -f _topo_vm_agent); _topo_vm_agent $tap $cidr $log" </dev/null \
	    >/dev/null 2>&1 &
	disown
	args=(vm create "$name" --vpc "$vpc" --ip "${cidr%/*}" --host "$host" --tap "$tap")
	[[ -z $mac ]] || args+=(--mac "$mac")
	topo_ctl "${args[@]}" >/dev/null
}

_topo_vm_ready()
{
	local tap up='<([^>]*,)?UP[,>]'

	tap=$(topo_vm_tap "$1")
	[[ $(ip -n "$tap" -o link show dev "$tap" 2>/dev/null) =~ $up ]] &&
	[[ -n $(ip -n "$tap" -o -4 addr show dev "$tap" 2>/dev/null) ]]
}

topo_vm_wait()
{
	_topo_until "${2:-10}" _topo_vm_ready "$1" ||
		_topo_err "VM $1: its TAP $(topo_vm_tap "$1") was not up in its namespace" \
		    "within ${2:-10} s"
}

topo_vm_exec()
{
	local ns

	ns=$(topo_vm_tap "$1")
	shift
	_topo_ns "$ns" "$@"
}

topo_vm_configured()
{
	local t _

	[[ -s $TOPO_DIR/vms/$1.log ]] || return 0
	read -r t _ < <(tail -1 "$TOPO_DIR/vms/$1.log")
	echo "$t"
}

topo_stat()
{
	local json

	json=$("$TOPO_BIN/vpcfwd-stat" --json -N "$TOPO_PFX-$1" "$2" 2>/dev/null) || return
	python3 -c '
import json, sys
for seg in json.load(sys.stdin):
    for c in seg["counters"]:
        if c["name"] == sys.argv[1]:
            print(c["value"]); sys.exit(0)
sys.exit(1)' "$3" <<<"$json"
}

_topo_synced()
{
	local seq g

	seq=$(topo_stat controller controller log_seq) || return
	for g in gateway1 gateway2; do
		[[ $(topo_stat "$g" rule-store applied_seq) == "$seq" ]] || return
	done
}

topo_synced()
{
	_topo_until "${1:-10}" _topo_synced ||
		_topo_err "the gateways did not catch up with the controller within ${1:-10} s"
}

# _topo_kill_ns NS SIG: signal every process in NS; 1 when there was none
_topo_kill_ns()
{
	local pids

	pids=$(ip netns pids "$1" 2>/dev/null) || return 1
	[[ -n $pids ]] || return 1
	# shellcheck disable=SC2086  # a list of pids
	kill "-$2" $pids 2>/dev/null
	return 0
}

_topo_ns_empty()
{
	[[ -z $(ip netns pids "$1" 2>/dev/null) ]]
}

topo_stop_nodes()
{
	local n conf

	[[ -n ${TOPO_PFX:-} && -x $TOPO_SUPERVISE ]] || return 0
	for n in "${TOPO_NODES[@]}"; do
		conf=${TOPO_CONF[$n]:-$TOPO_DIR/conf/$n.conf}
		[[ -f $conf ]] || conf=$TOPO_ETC/$n.conf
		[[ -e /run/netns/$TOPO_PFX-$n && -f $conf ]] || continue
		_topo_ns_empty "$TOPO_PFX-$n" ||
			timeout 15 ip netns exec "$TOPO_PFX-$n" "$TOPO_SUPERVISE" stop \
			    "$conf" >/dev/null 2>&1 || true
	done
}

topo_down()
{
	local ns nss=()

	[[ -n ${TOPO_PFX:-} ]] || return 0
	while read -r ns _; do
		[[ $ns == "$TOPO_PFX"-* ]] && nss+=("$ns")
	done < <(ip netns list 2>/dev/null)
	# The supervisors first, cleanly, so that none restarts what is killed below.
	topo_stop_nodes
	# Whatever is left in the namespaces (VMs' agents and pings, a process a broken
	# supervisor left behind): TERM, 2 s, then KILL.
	for ns in "${nss[@]}"; do
		_topo_kill_ns "$ns" TERM || true
	done
	for ns in "${nss[@]}"; do
		_topo_until 2 _topo_ns_empty "$ns" || _topo_kill_ns "$ns" KILL || true
	done
	for ns in "${nss[@]}"; do
		_topo_until 2 _topo_ns_empty "$ns" || true
		ip netns del "$ns" 2>/dev/null || true
	done
	rm -f /dev/shm/vpcfwd."$TOPO_PFX"-*
	[[ -z ${TOPO_DIR:-} || $TOPO_DIR == / ]] || rm -rf "$TOPO_DIR"
	TOPO_CONF=()
}
