# shellcheck shell=bash
# tests/lib.sh: what the shell tests share. A test sets -euo pipefail, sources this file
# and calls t_init first:
#
#	# shellcheck source=tests/lib.sh
#	. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#	t_init stats_cli
#
# t_init NAME          NAME heads every message; BUILD defaults to build; makes the temp dir
#                      $T_OUT; sets -E and the traps: a failing command fails the test with
#                      "NAME: FAIL: line N: <command>", and the exit, whatever caused it, cleans up
# t_fail MSG...        print "NAME: FAIL: MSG" and the tail of each non-empty $T_OUT/*.log on
#                      stderr, exit 1; called in a subshell ($(...), a pipe) it ends the test too
# t_spawn VAR CMD...   start CMD in the background (redirect the t_spawn call to redirect CMD),
#                      remember it for the cleanup, set VAR (a name or an array element) to its pid
# t_forget PID         after the test waited for PID itself: the pid may be reused
# t_kill PID           kill -9 a spawned process, reap it without a "Killed" line, forget it
# t_node NODE...       remove /dev/shm/vpcfwd.NODE.* on exit
# t_wait_for FILE TEXT [SECONDS [PID]]
#                      wait until FILE has the whole line TEXT (5 s by default, whole seconds)
#                      or fail naming both; with PID, fail as soon as that spawned process is gone
# t_stat NODE PROC COUNTER
#                      print one counter of NODE.PROC, read with vpcfwd-stat --json, or fail
# t_netns NAME         create network namespace NAME with its loopback up; deleted on exit
# t_until SECONDS WHAT CMD...
#                      run CMD every 0.1 s until it succeeds, or fail after SECONDS saying
#                      "WHAT did not happen within SECONDS s"
# t_pki ROLE:NAME...  make $T_OUT/pki with tools/vpcfwd-pki: a CA and each node's certificate
#                      and key (ROLE-NAME.crt/.key), the files etc/test/*.conf name for TLS
#
# The cleanup kills the remembered children with -9 and reaps them, removes the nodes' segments
# and $T_OUT (kept, for a look at the logs, when T_KEEP is set), and fails the test when a
# sanitizer reported in one of the $T_OUT/*.log files (SANITIZE=1 builds).

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	echo "$0: a library the tests source, not a test"
	exit 0
fi

t_init()
{
	T_NAME=$1
	BUILD=${BUILD:-build}
	T_PIDS=()
	declare -gA T_CMDS=()
	T_NODES=()
	T_NETNS=()
	T_OUT=$(mktemp -d -t "$T_NAME.XXXXXX")
	_t_keys
	set -E
	trap _t_cleanup EXIT
	trap '_t_err "$LINENO" "$BASH_COMMAND"' ERR
	# t_fail in a subshell: it printed the message, the test stops here.
	trap '_t_logs; exit 1' USR1
}

# The sync/learn keys etc/test/*.conf name (@DIR@/keys): a cluster secret, and the keys
# of host1..host3 derived from it; made anew each run, never committed.
_t_keys()
{
	local kg=$BUILD/bin/vpcfwd-keygen h

	[[ -x $kg ]] || return 0	# a test that starts no syncd or learner
	mkdir -p "$T_OUT/keys"
	"$kg" secret "$T_OUT/keys/cluster.secret" 1
	for h in host1 host2 host3; do
		"$kg" host "$T_OUT/keys/cluster.secret" "$h" "$T_OUT/keys/$h.key"
	done
}

# The ERR trap: in the main shell only; a subshell's failure reaches it by the exit status.
_t_err()
{
	[[ $BASHPID != "$$" ]] || t_fail "line $1: $2"
}

_t_logs()
{
	local f

	for f in "$T_OUT"/*.log; do
		if [[ -s $f ]]; then
			{ echo "--- $f"; tail -5 "$f"; } >&2
		fi
	done
}

t_fail()
{
	echo "$T_NAME: FAIL: $*" >&2
	if [[ $BASHPID != "$$" ]]; then
		kill -USR1 "$$" 2>/dev/null || true
		exit 1
	fi
	_t_logs
	exit 1
}

_t_cleanup()
{
	local rc=$? pid node ns f

	trap - ERR
	trap '' USR1
	for pid in "${T_PIDS[@]}"; do
		t_kill "$pid"
	done
	for node in "${T_NODES[@]}"; do
		rm -f /dev/shm/vpcfwd."$node".*
	done
	for ns in "${T_NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	# A process built with SANITIZE=1 reports into its log and may go on or exit: either
	# way the test fails.
	for f in "$T_OUT"/*.log; do
		if [[ -f $f ]] && grep -qE "ERROR: [A-Za-z]+Sanitizer|runtime error:" "$f"; then
			echo "$T_NAME: FAIL: a sanitizer reported in $f:" >&2
			grep -m 3 -E "ERROR: [A-Za-z]+Sanitizer|runtime error:|^    #[0-3] " "$f" >&2
			rc=1
		fi
	done
	if [[ -n ${T_KEEP:-} ]]; then echo "$T_NAME: kept $T_OUT" >&2; else rm -rf "$T_OUT"; fi
	exit "$rc"
}

t_spawn()
{
	local var=$1

	shift
	"$@" &
	T_PIDS+=("$!")
	T_CMDS[$!]="$*"
	printf -v "$var" %s "$!"
}

t_forget()
{
	local keep=() pid

	for pid in "${T_PIDS[@]}"; do
		[[ $pid == "$1" ]] || keep+=("$pid")
	done
	T_PIDS=("${keep[@]}")
	unset "T_CMDS[$1]"
}

t_kill()
{
	# Both in one redirection: bash may report the death ("Killed") at either.
	{ kill -9 "$1" && wait "$1"; } 2>/dev/null || true
	t_forget "$1"
}

# t_stop PID SIGNAL: send it, wait for the process, forget it; its exit status is ours.
t_stop()
{
	local rc=0

	kill -"$2" "$1"
	wait "$1" || rc=$?
	t_forget "$1"
	return "$rc"
}

t_node()
{
	T_NODES+=("$@")
}

t_wait_for()
{
	local i gone

	for ((i = 0; i < ${3:-5} * 10; i++)); do
		gone=0
		[[ -z ${4:-} ]] || kill -0 "$4" 2>/dev/null || gone=1
		grep -qsxF -- "$2" "$1" && return 0
		((gone == 0)) || t_fail "${T_CMDS[$4]:-pid $4} exited before '$2' in $1"
		sleep 0.1
	done
	t_fail "no line '$2' in $1 after ${3:-5} s"
}

t_stat()
{
	local json

	json=$("$BUILD/bin/vpcfwd-stat" --json -N "$1" "$2") ||
		t_fail "vpcfwd-stat --json -N $1 $2 exited $?"
	python3 -c '
import json, sys
for seg in json.load(sys.stdin):
    for c in seg["counters"]:
        if c["name"] == sys.argv[1]:
            print(c["value"]); sys.exit(0)
sys.exit(1)' "$3" <<<"$json" || t_fail "no counter $3 of $1.$2 in vpcfwd-stat --json"
}

t_netns()
{
	ip netns add "$1" || t_fail "cannot create network namespace $1"
	T_NETNS+=("$1")
	ip -n "$1" link set lo up
}

t_until()
{
	local secs=$1 what=$2 end

	shift 2
	# by the clock: CMD itself may take a while
	end=$((${EPOCHREALTIME/./} + secs * 1000000))
	until "$@" 2>/dev/null; do
		((${EPOCHREALTIME/./} < end)) || t_fail "$what did not happen within $secs s"
		sleep 0.1
	done
}

T_PKI_TOOL=$(dirname "${BASH_SOURCE[0]}")/../tools/vpcfwd-pki

t_pki()
{
	local id

	[[ -e $T_OUT/pki/ca.crt ]] || "$T_PKI_TOOL" "$T_OUT/pki" ca >/dev/null
	for id in "$@"; do
		"$T_PKI_TOOL" "$T_OUT/pki" "${id%%:*}" "${id#*:}" >/dev/null
	done
}

# t_etcd NS N [ADDR...]: an etcd cluster of N members for a test, never a system service:
# member i listens on ADDR i (default 127.0.0.1 for all) in namespace NS, or in namespace
# NS2 for an ADDR written ADDR@NS2, client port 2379 + 2(i - 1), peer port one above,
# data under $T_OUT/etcd<i>, logs beside. Returns once every member answers /health. Sets
# T_ETCD_PIDS (member i at index i - 1), T_ETCD_URLS (client URLs) and T_ETCD_CONF (the
# URLs as a libconfig list). The limits are raised as docs/cluster.md tells a deployment
# to (--max-txn-ops, request size).
# t_etcd_start I: start member I (from 0) again, e.g. after a kill -9 (it rejoins with its
# data); returns once it answers /health.
t_etcd()
{
	local ns=$1 n=$2 i addr

	shift 2
	T_ETCD_PIDS=() T_ETCD_URLS=() T_ETCD_CONF= T_ETCD_NS=() T_ETCD_ADDR=() T_ETCD_CLUSTER=
	for ((i = 0; i < n; i++)); do
		addr=${1:-127.0.0.1}
		[[ $# -gt 1 ]] && shift
		T_ETCD_NS[i]=$ns
		if [[ $addr == *@* ]]; then
			T_ETCD_NS[i]=${addr#*@}
			addr=${addr%@*}
		fi
		T_ETCD_ADDR[i]=$addr
		T_ETCD_URLS[i]=http://$addr:$((2379 + 2 * i))
		T_ETCD_CLUSTER+="${T_ETCD_CLUSTER:+,}m$i=http://$addr:$((2380 + 2 * i))"
		T_ETCD_CONF+="${T_ETCD_CONF:+, }\"${T_ETCD_URLS[i]}\""
	done
	T_ETCD_CONF="[$T_ETCD_CONF]"
	for ((i = 0; i < n; i++)); do
		_t_etcd_spawn "$i"
	done
	for ((i = 0; i < n; i++)); do
		_t_etcd_health "$i"
	done
}

_t_etcd_spawn()
{
	local i=$1 addr=${T_ETCD_ADDR[$1]} url=${T_ETCD_URLS[$1]}

	t_spawn "T_ETCD_PIDS[$i]" ip netns exec "${T_ETCD_NS[i]}" etcd --name "m$i" \
	    --data-dir "$T_OUT/etcd$i" --listen-client-urls "$url" \
	    --advertise-client-urls "$url" \
	    --listen-peer-urls "http://$addr:$((2380 + 2 * i))" \
	    --initial-advertise-peer-urls "http://$addr:$((2380 + 2 * i))" \
	    --initial-cluster "$T_ETCD_CLUSTER" --initial-cluster-token "$T_NAME-$$" \
	    --initial-cluster-state new --max-txn-ops 65536 \
	    --max-request-bytes 33554432 --quota-backend-bytes 4294967296 \
	    --heartbeat-interval 50 --election-timeout 500 \
	    >>"$T_OUT/etcd$i.log" 2>&1
}

_t_etcd_health()
{
	t_until 20 "etcd member m$1 answering" ip netns exec "${T_ETCD_NS[$1]}" \
	    curl -sf "${T_ETCD_URLS[$1]}/health" -o /dev/null
}

t_etcd_start()
{
	_t_etcd_spawn "$1"
	_t_etcd_health "$1"
}

# t_etcd_conf [SETTING...]: the controller settings of the cluster t_etcd started (inside
# controller), with SETTINGs ("name = value;") added to controller.etcd; each request's
# timeout is $T_ETCD_TIMEOUT (5s).
t_etcd_conf()
{
	printf '\tstore = "etcd";\n\tetcd = {\n\t\tendpoints = %s;\n' "$T_ETCD_CONF"
	printf '\t\tmax_txn_ops = 65536;\n\t\tmax_request_bytes = 33554432;\n'
	printf '\t\ttimeout = "%s";\n\t\tmaintenance_interval = "1s";\n' \
	    "${T_ETCD_TIMEOUT:-5s}"
	printf '\t\t%s\n' "$@"
	printf '\t};\n'
}
