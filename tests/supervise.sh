#!/usr/bin/env bash
# supervise: tools/vpcfwd-supervise (docs/supervise.md) running two nodes from etc/test/,
# a controller node and a gateway node (rule-store + syncd), each started with
# `ip netns exec` in a network namespace of the test's own:
#  1. bad files (the supervise group, a process's own group, no process at all) and a
#     process that dies at start fail `start` with one clear line, and leave nothing;
#  2. both nodes start in order, in the namespace; status (text and --json) shows every
#     process running with a heartbeat; a second start is refused;
#  3. a child killed with -9 is back within a second, with a new pid and restarts = 1;
#  4. a controller that cannot start any more crash-loops with a doubling backoff capped
#     at backoff_max, runs again once the cause is gone, and the backoff resets after
#     backoff_reset of uptime;
#  5. a frozen process (SIGSTOP) shows as stuck, and stop kills it after stop_timeout;
#  6. restart; a supervisor killed with -9 leaves its processes running: status says
#     so, start refuses, stop ends them;
#  7. stop: every process gone, no pid file left; stop again and status say stopped.
# The gateway node logs JSON (log_format = "json"): every line in its log directory, its
# processes' and the supervisor's, is a JSON object of that node (the controller node
# logs text, whose timestamps section 4 reads).
#
#	BUILD=build bash tests/supervise.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init supervise

RUN=s$$
NS=vpcfwd-$RUN
SUP=$(dirname "${BASH_SOURCE[0]}")/../tools/vpcfwd-supervise
SOCK=$T_OUT/controller.sock
CTL=("$BUILD/bin/vpcfwdctl" -s "$SOCK")
for b in vpcfwd-controller vpcfwd-rule-store vpcfwd-syncd vpcfwdctl vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
export BUILD
t_node "$RUN-ctl" "$RUN-gw1" "$RUN-bad"
t_netns "$NS"
t_pki controller:ctl gateway:gw1

# The nodes' files: etc/test/'s, with a supervise group each. The controller node finds
# the binaries by BUILD (the default), the gateway by bin_dir; the controller's logs go to
# $T_OUT (log_dir "."), the gateway's to its run_dir (the default), copied to $T_OUT at
# the end for tests/lib.sh's sanitizer check.
CTL_CONF=$T_OUT/ctl.conf
GW_CONF=$T_OUT/gw1.conf
CTL_RUN=$T_OUT/ctl-run
CTL_LOGS=$T_OUT
GW_RUN=$T_OUT/gw1-run
sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" etc/test/controller.conf >"$CTL_CONF"
cat >>"$CTL_CONF" <<EOF

supervise = {
	run_dir = "$CTL_RUN";
	log_dir = ".";		# relative to this file
	backoff_max = "400ms";
	backoff_reset = "1s";
};
EOF
{
	echo 'log_format = "json";'
	sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" etc/test/gw1.conf
} >"$GW_CONF"
cat >>"$GW_CONF" <<EOF

supervise = {
	run_dir = "$GW_RUN";
	bin_dir = "$(realpath "$BUILD/bin")";
	stop_timeout = "500ms";
	heartbeat_timeout = "1s";
};
EOF

# Whatever happens, both nodes are stopped, and any process of theirs seen is gone.
SEEN=()
_sv_cleanup()
{
	local rc=$? c pid

	trap - ERR
	set +e
	for c in "$CTL_CONF" "$GW_CONF" "$T_OUT/bad.conf"; do
		[[ ! -f $c ]] || timeout 20 "$SUP" stop "$c" >/dev/null 2>&1
	done
	for c in "$GW_RUN"/*.log; do
		[[ ! -f $c ]] || cp "$c" "$T_OUT/gw1-${c##*/}"
	done
	for pid in "${SEEN[@]}"; do
		if [[ $({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null) == *"$T_OUT"* ]]; then
			echo "supervise: FAIL: pid $pid left running" >&2
			kill -9 "$pid" 2>/dev/null
			rc=1
		fi
	done
	(exit "$rc")
	_t_cleanup
}
trap _sv_cleanup EXIT

# sv CMD CONF: vpcfwd-supervise in the namespace, output in $T_OUT/sv.out and sv.err
sv()
{
	local rc=0

	ip netns exec "$NS" "$SUP" "$@" >"$T_OUT/sv.out" 2>"$T_OUT/sv.err" || rc=$?
	return "$rc"
}

# status CONF: the --json status of CONF into $T_OUT/status.json and these: STATUS_RC (the
# exit status), SUPERVISED (0/1), and by process PID, STATE, RESTARTS, HB (heartbeat age,
# ms), LAST (last exit); PROCS lists the processes in order
declare -A PID STATE RESTARTS HB LAST
status()
{
	STATUS_RC=0
	"$SUP" status --json "$1" >"$T_OUT/status.json" 2>"$T_OUT/sv.err" || STATUS_RC=$?
	PID=() STATE=() RESTARTS=() HB=() LAST=()
	eval "$(python3 -c '
import json, shlex, sys
d = json.load(open(sys.argv[1]))
print("SUPERVISED=%d" % d["supervisor"]["running"])
print("PROCS=(%s)" % " ".join(x["proc"] for x in d["processes"]))
for x in d["processes"]:
    for var, key in (("PID", "pid"), ("STATE", "state"), ("RESTARTS", "restarts"),
                     ("HB", "heartbeat_age_ms"), ("LAST", "last_exit")):
        v = x[key]
        print("%s[%s]=%s" % (var, x["proc"], shlex.quote("" if v is None else str(v))))
' "$T_OUT/status.json")" ||
		t_fail "status --json $1: $(cat "$T_OUT/status.json" "$T_OUT/sv.err")"
}

# all_running CONF PROC...: status exits 0 and shows these processes, in order, running,
# with a fresh heartbeat
all_running()
{
	local p

	status "$1"
	((STATUS_RC == 0 && SUPERVISED == 1)) && [[ ${PROCS[*]} == "${*:2}" ]] || return 1
	for p in "${@:2}"; do
		[[ ${STATE[$p]} == running && -n ${PID[$p]} && -n ${HB[$p]} ]] || return 1
		((HB[$p] < 2000)) || return 1
	done
}

# seen: remember the pids of the last status, for the final checks and the cleanup
seen()
{
	local p

	for p in "${PROCS[@]}"; do
		[[ -z ${PID[$p]} ]] || SEEN+=("${PID[$p]}")
	done
}

# gone PID: no such process (a zombie is gone too: pid 1 reaps it when it likes)
gone()
{
	local s

	s=$({ cat "/proc/$1/stat"; } 2>/dev/null) || return 0
	[[ ${s##*) } == Z* ]]
}

# refused TEXT WANT: a node file holding TEXT is refused by start, saying WANT, in one line
refused()
{
	local rc=0

	printf '%s\n' "$1" >"$T_OUT/bad.conf"
	sv start "$T_OUT/bad.conf" || rc=$?
	[[ $rc -ne 0 ]] || t_fail "start accepted: $1"
	[[ $(wc -l <"$T_OUT/sv.err") -eq 1 ]] ||
		t_fail "start said more than one line for: $1: $(cat "$T_OUT/sv.err")"
	grep -qF -- "$2" "$T_OUT/sv.err" ||
		t_fail "start said '$(cat "$T_OUT/sv.err")', not '$2'"
	[[ ! -e $T_OUT/bad-run/supervise.pid ]] || t_fail "a refused start left a supervisor"
}

# 1. Refused before anything starts.
BADSUP="node = \"$RUN-bad\";
controller = { data_dir = \"$T_OUT/bad-data\"; api_socket = \"$T_OUT/bad.sock\";
  tls_ca = \"$T_OUT/pki/ca.crt\"; tls_cert = \"$T_OUT/pki/controller-ctl.crt\";
  tls_key = \"$T_OUT/pki/controller-ctl.key\"; };"
refused "$BADSUP
supervise = { run_dir = \"$T_OUT/bad-run\"; backof_min = \"1s\"; };" \
    "bad.conf:5: unknown setting 'supervise.backof_min'"
refused "$BADSUP
supervise = { run_dir = \"$T_OUT/bad-run\"; backoff_max = \"5 s\"; };" \
    "bad.conf:5: supervise.backoff_max must be a duration"
refused "$BADSUP
supervise = { run_dir = \"$T_OUT/bad-run\"; backoff_min = \"2s\"; backoff_max = \"1s\"; };" \
    "supervise.backoff_max must be between 2s and"
refused "$BADSUP
supervise = { run_dir = \"$T_OUT/bad-run\" };
controller = { };" "bad.conf:6: duplicate setting name"
refused "node = \"$RUN-bad\";
controller = { version_step = 0; };
supervise = { run_dir = \"$T_OUT/bad-run\"; };" \
    "vpcfwd-controller refuses the configuration: $T_OUT/bad.conf:2: controller.version_step must be 1..1000"
refused "node = \"$RUN-bad\";
rule_store = { controllers = [\"1.2.3.4\"]; };
supervise = { run_dir = \"$T_OUT/bad-run\"; };" "rule_store.controllers[0] must be"
refused "node = \"$RUN-bad\";
supervise = { run_dir = \"$T_OUT/bad-run\"; };" "no process group in it"
refused "node = \"$RUN-bad\";
controller = { };
supervise = { run_dir = \"$T_OUT/bad-run\"; bin_dir = \"/nonexistent\"; };" \
    "no executable vpcfwd-controller in supervise.bin_dir"
# Valid, but the controller cannot open its data directory: start fails, saying why.
touch "$T_OUT/bad-data"
refused "$BADSUP
supervise = { run_dir = \"$T_OUT/bad-run\"; };" \
    "vpcfwd-controller exited with status 1 at start: $T_OUT/bad-data/"
[[ -z $(find "$T_OUT/bad-run" -name '*.pid' -o -name 'supervise.lock') ]] ||
	t_fail "a failed start left files: $(ls "$T_OUT/bad-run")"
grep -q "start failed: vpcfwd-controller exited with status 1" "$T_OUT/bad-run/supervise.log" ||
	t_fail "the supervisor's log does not say why the start failed"
rc=0
"$SUP" bogus "$CTL_CONF" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || t_fail "a bad command exited $rc, not 2"
echo "bad files and a process dying at start are refused, one line each"

# 2. Both nodes up, in the namespace, in order.
sv start "$CTL_CONF" || t_fail "start $CTL_CONF: $(cat "$T_OUT/sv.err")"
sv start "$GW_CONF" || t_fail "start $GW_CONF: $(cat "$T_OUT/sv.err")"
grep -q "running (supervisor pid" "$T_OUT/sv.out" || t_fail "start said: $(cat "$T_OUT/sv.out")"
[[ $(grep -o 'started [a-z-]*' "$T_OUT/sv.out" | tr '\n' ' ') == "started rule-store started syncd " ]] ||
	t_fail "the gateway did not start rule-store then syncd: $(cat "$T_OUT/sv.out")"
nsino=$(stat -L -c %i "/run/netns/$NS")
all_running "$CTL_CONF" controller || t_fail "the controller node: $(cat "$T_OUT/status.json")"
seen
[[ $(cat "$CTL_RUN/controller.pid") == "${PID[controller]}" ]] || t_fail "controller.pid is wrong"
[[ $(stat -L -c %i "/proc/${PID[controller]}/ns/net") == "$nsino" ]] ||
	t_fail "the controller is not in network namespace $NS"
t_until 5 "the gateway's heartbeats" all_running "$GW_CONF" rule-store syncd
seen
for p in rule-store syncd; do
	[[ $(cat "$GW_RUN/$p.pid") == "${PID[$p]}" ]] || t_fail "$p.pid is wrong"
	[[ -f $GW_RUN/$p.log ]] || t_fail "no $GW_RUN/$p.log"
	[[ $(stat -L -c %i "/proc/${PID[$p]}/ns/net") == "$nsino" ]] ||
		t_fail "$p is not in network namespace $NS"
done
"$SUP" status "$GW_CONF" >"$T_OUT/status.txt" || t_fail "status $GW_CONF exited non-zero"
for p in rule-store syncd; do
	grep -qE "^$p +[0-9]+ +running +[0-9.]+s +0 +[0-9]+ms" "$T_OUT/status.txt" ||
		t_fail "status does not show $p running: $(cat "$T_OUT/status.txt")"
done
[[ -s $CTL_LOGS/controller.log && -s $CTL_LOGS/supervise.log ]] ||
	t_fail "the controller node's logs are not in its log_dir $CTL_LOGS"
[[ $("$BUILD/bin/vpcfwd-stat" --json -N "$RUN-gw1" | python3 -c '
import json, sys; print(sorted(s["proc"] for s in json.load(sys.stdin) if s["state"] == "running"))
') == "['rule-store', 'syncd']" ]] || t_fail "vpcfwd-stat does not see the gateway running"
rc=0
sv start "$GW_CONF" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "already running" "$T_OUT/sv.err"; } ||
	t_fail "a second start exited $rc: $(cat "$T_OUT/sv.err")"
echo "two nodes running in $NS; status shows them; a second start is refused"

# 3. kill -9: back within a second, restarts = 1, the other process untouched.
rs=${PID[rule-store]}
sd=${PID[syncd]}
t0=${EPOCHREALTIME/./}
kill -9 "$rs"
while :; do
	now=$(cat "$GW_RUN/rule-store.pid" 2>/dev/null) || now=
	[[ -z $now || $now == "$rs" ]] || break
	((${EPOCHREALTIME/./} - t0 < 3000000)) || t_fail "rule-store not restarted within 3 s"
	sleep 0.01
done
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
((ms < 1000)) || t_fail "rule-store restarted after $ms ms, not within a second"
t_until 5 "the gateway running again" all_running "$GW_CONF" rule-store syncd
seen
[[ ${PID[rule-store]} != "$rs" ]] || t_fail "rule-store kept its pid"
[[ ${RESTARTS[rule-store]} == 1 ]] || t_fail "rule-store restarts is ${RESTARTS[rule-store]}, not 1"
[[ ${LAST[rule-store]} == "killed by signal 9 (SIGKILL)" ]] ||
	t_fail "status says rule-store's last exit was '${LAST[rule-store]}'"
[[ ${PID[syncd]} == "$sd" && ${RESTARTS[syncd]} == 0 ]] || t_fail "syncd was restarted too"
"$SUP" status "$GW_CONF" >"$T_OUT/status.txt" || t_fail "status $GW_CONF exited non-zero"
grep -qE "^rule-store +[0-9]+ +running .* 1 .*killed by signal 9" "$T_OUT/status.txt" ||
	t_fail "the text status does not show the restart"
grep -q "rule-store: pid $rs killed by signal 9 (SIGKILL) after .* up; restart 1 in 100ms" \
    "$GW_RUN/supervise.log" || t_fail "supervise.log does not say why rule-store restarted"
grep -q '"process":"supervise",.*"msg":"rule-store: restarted as pid' "$GW_RUN/rule-store.log" ||
	t_fail "rule-store.log does not show the restart"
# and the new one works: a change reaches the gateway's table
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
synced()
{
	[[ $(t_stat "$RUN-gw1" rule-store applied_seq) -eq $(t_stat "$RUN-ctl" controller log_seq) ]]
}
t_until 5 "the restarted rule-store catching up" synced
echo "rule-store killed with -9: restarted in $ms ms, restarts = 1"

# 4. A crash loop: the controller's data directory becomes a file, then it is killed.
status "$CTL_CONF"
mv "$T_OUT/controller" "$T_OUT/controller.away"
touch "$T_OUT/controller"
kill -9 "${PID[controller]}"
crashing()
{
	status "$CTL_CONF"
	((RESTARTS[controller] >= 5))
}
t_until 5 "five restarts of a crashing controller" crashing
# (it is alive for a few ms between its restarts: ask again if status caught it so)
backoff()
{
	status "$CTL_CONF"
	((STATUS_RC == 1)) && [[ ${STATE[controller]} == backoff ]]
}
t_until 2 "status of a crash-looping node: backoff, exit status 1" backoff
rm "$T_OUT/controller"
mv "$T_OUT/controller.away" "$T_OUT/controller" # back: the next restart works
t_until 5 "the controller running again" all_running "$CTL_CONF" controller
seen
"${CTL[@]}" vpc list >/dev/null || t_fail "the controller's API after the crash loop"
# The delays: 100ms doubling, capped at backoff_max (400ms); each attempt waited that long.
python3 - "$CTL_LOGS/supervise.log" <<'EOF2' || t_fail "the crash loop's backoff is wrong: $(grep controller: "$CTL_LOGS/supervise.log")"
import datetime, re, sys
ts = lambda l: datetime.datetime.fromisoformat(l.split()[0]).timestamp()
lines = open(sys.argv[1]).read().splitlines()
i = max(n for n, l in enumerate(lines) if "killed by signal 9" in l)
delays, last = [], None
for l in lines[i:]:
    m = re.search(r"; restart \d+ in (\d+)ms$", l)
    if m:
        delays.append(int(m.group(1)))
        last = (ts(l), int(m.group(1)))
    elif "restarted as pid" in l:
        waited = (ts(l) - last[0]) * 1000
        assert waited >= last[1] - 5, (waited, last, l)
assert len(delays) >= 5, delays
assert delays[:5] == [100, 200, 400, 400, 400], delays
assert any("exited with status 1" in l and "Not a directory" in l for l in lines[i:]), \
    "no exit status and reason"
EOF2
# Up longer than backoff_reset (1s): the next crash waits backoff_min again.
sleep 1.1
n=$(wc -l <"$CTL_LOGS/supervise.log")
kill -9 "${PID[controller]}"
reset()
{
	tail -n +$((n + 1)) "$CTL_LOGS/supervise.log" | grep "killed by signal 9 .* in 100ms$" >/dev/null
}
t_until 5 "the controller restarted after backoff_min" reset
t_until 5 "the controller running again" all_running "$CTL_CONF" controller
seen
echo "crash loop: delays 100, 200, 400, 400 ms (backoff_max), reset after backoff_reset"

# 5. A frozen syncd: stuck in status (heartbeat_timeout 1s); stop kills it after 500ms.
status "$GW_CONF"
sd=${PID[syncd]}
gw="${PID[rule-store]} $sd"
kill -STOP "$sd"
stuck()
{
	status "$GW_CONF"
	[[ ${STATE[syncd]} == stuck ]]
}
t_until 5 "a frozen syncd shown as stuck" stuck
[[ $STATUS_RC -eq 1 ]] || t_fail "status with a stuck process exited $STATUS_RC"
sv stop "$GW_CONF" || t_fail "stop $GW_CONF: $(cat "$T_OUT/sv.err")"
grep -q "syncd: pid $sd did not stop within stop_timeout (500ms): SIGKILL" \
    "$GW_RUN/supervise.log" || t_fail "stop did not kill the frozen syncd after stop_timeout"
grep -q "syncd: pid $sd stopped: killed by signal 9" "$GW_RUN/supervise.log" ||
	t_fail "the frozen syncd's end is not logged"
grep -q "rule-store: pid [0-9]* stopped: exited with status 0" "$GW_RUN/supervise.log" ||
	t_fail "rule-store did not end on SIGTERM"
[[ $(grep -oE "(rule-store|syncd): pid [0-9]+ stopped" "$GW_RUN/supervise.log" | cut -d: -f1 |
    tr '\n' ' ') == "syncd rule-store " ]] || t_fail "stop did not go in reverse order"
for pid in $gw; do
	gone "$pid" || t_fail "pid $pid still there after stop"
done
echo "a frozen syncd: stuck in status, killed by stop after stop_timeout"

# 6. restart; a supervisor killed with -9.
status "$CTL_CONF"
c0=${PID[controller]}
sv restart "$CTL_CONF" || t_fail "restart $CTL_CONF: $(cat "$T_OUT/sv.err")"
all_running "$CTL_CONF" controller || t_fail "after restart: $(cat "$T_OUT/status.json")"
seen
[[ ${PID[controller]} != "$c0" && ${RESTARTS[controller]} == 0 ]] ||
	t_fail "restart did not start a new controller"
gone "$c0" || t_fail "restart left the old controller"
sv start "$GW_CONF" || t_fail "start $GW_CONF again: $(cat "$T_OUT/sv.err")"
status "$GW_CONF"
seen
gw="${PID[rule-store]} ${PID[syncd]}"
kill -9 "$(cat "$GW_RUN/supervise.pid")"
orphaned()
{
	status "$GW_CONF"
	((SUPERVISED == 0))
}
t_until 5 "the gateway's supervisor gone" orphaned
[[ $STATUS_RC -eq 1 && ${STATE[rule-store]} == unsupervised && ${STATE[syncd]} == unsupervised ]] ||
	t_fail "status of a node whose supervisor died: $(cat "$T_OUT/status.json")"
[[ "${PID[rule-store]} ${PID[syncd]}" == "$gw" ]] || t_fail "the orphans' pids are not shown"
"$SUP" status "$GW_CONF" >"$T_OUT/status.txt" || true
grep -q "NO SUPERVISOR" "$T_OUT/status.txt" || t_fail "the text status hides the orphans"
rc=0
sv start "$GW_CONF" || rc=$?
{ [[ $rc -eq 1 ]] && grep -q "running without a supervisor" "$T_OUT/sv.err"; } ||
	t_fail "start over orphans exited $rc: $(cat "$T_OUT/sv.err")"
sv stop "$GW_CONF" || t_fail "stop of orphans: $(cat "$T_OUT/sv.err")"
for pid in $gw; do
	gone "$pid" || t_fail "pid $pid (an orphan) still there after stop"
done
echo "restart; a supervisor killed with -9: its processes stay, status says so, stop ends them"

# 7. Stop: nothing left.
sv stop "$CTL_CONF" || t_fail "stop $CTL_CONF: $(cat "$T_OUT/sv.err")"
grep -q "stopped" "$T_OUT/sv.out" || t_fail "stop said: $(cat "$T_OUT/sv.out")"
for pid in "${SEEN[@]}"; do
	gone "$pid" || t_fail "pid $pid still there after stop"
done
for d in "$CTL_RUN" "$GW_RUN"; do
	left=$(find "$d" -name '*.pid' -o -name 'supervise.lock' -o -name 'supervise.state')
	[[ -z $left ]] || t_fail "stop left $left"
done
for c in "$CTL_CONF" "$GW_CONF"; do
	sv stop "$c" || t_fail "a second stop of $c failed"
	grep -q "not running" "$T_OUT/sv.out" || t_fail "a second stop said: $(cat "$T_OUT/sv.out")"
	rc=0
	"$SUP" status "$c" >/dev/null || rc=$?
	[[ $rc -eq 3 ]] || t_fail "status of a stopped node exited $rc, not 3"
done
echo "stop: every process gone, no pid file left; stop again is fine"

python3 - "$RUN-gw1" "$GW_RUN"/*.log <<'EOF2' || t_fail "a JSON node's log line is not JSON"
import json, sys
node, procs = sys.argv[1], {"rule-store", "syncd", "supervise"}
seen = set()
for path in sys.argv[2:]:
    for n, line in enumerate(open(path, "rb").read().split(b"\n")[:-1], 1):
        try:
            o = json.loads(line.decode("utf-8"))
        except ValueError as e:
            sys.exit("%s:%d: not JSON (%s): %r" % (path, n, e, line))
        if set(o) != {"time", "level", "process", "node", "pid", "msg"} or \
                o["node"] != node or o["process"] not in procs:
            sys.exit("%s:%d: not a log object of node %s: %r" % (path, n, node, line))
        seen.add((o["process"], o["level"]))
for want in (("supervise", "info"), ("supervise", "warn"), ("rule-store", "info"),
             ("syncd", "info")):
    if want not in seen:
        sys.exit("no %s line of level %s in %s" % (want + (sys.argv[2:],)))
EOF2
echo "the JSON node's logs: every line a JSON object (processes and supervisor)"
echo "supervise: ok"
