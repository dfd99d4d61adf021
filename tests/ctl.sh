#!/usr/bin/env bash
# ctl: vpcfwdctl against fake controllers (tests/py/fakectl.py), no real one needed:
#  1. a controller that accepts and never answers: vpcfwdctl gives up after its timeout
#     (default 5 s, -t to change it) with one line and status 3, a command and an
#     import alike; -t 0 waits for good;
#  2. a controller whose listen backlog stays full: the connect gives up the same way;
#  3. a slow controller: the timeout bounds each batch's answer, not the import, so an
#     import longer than the timeout but with each batch quicker goes through;
#  4. -s, -t and --json given twice are refused as any option given twice;
#  5. a list of controllers (-s, $VPCFWD_SOCKET): the first that takes the connection is
#     used; a listing whose connection breaks moves to the next; a change whose
#     connection breaks once sent (closed, or no answer in time) is not sent again and
#     is reported as of unknown outcome at that controller; none reachable names each.
# Each run is bounded by timeout(1): a vpcfwdctl that hangs is killed (status 124) and
# the test fails saying so.
#
#	BUILD=build bash tests/ctl.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init ctl

CTL=$BUILD/bin/vpcfwdctl
PY=$(dirname "${BASH_SOURCE[0]}")/py
[[ -x $CTL ]] || t_fail "$CTL not built (make BUILD=$BUILD)"

# fake NAME MODE [ARG]: start a fake controller on $T_OUT/NAME.sock, wait until it listens.
fake()
{
	local pid

	t_spawn pid python3 "$PY/fakectl.py" "$T_OUT/$1.sock" "${@:2}" >"$T_OUT/$1.out" \
	    2>"$T_OUT/$1.log"
	t_wait_for "$T_OUT/$1.out" ready 5 "$pid"
}

# expect STATUS TEXT CMD...: CMD (bounded by 30 s) exits STATUS with exactly one line on
# stderr that holds TEXT.
expect()
{
	local want=$1 text=$2 rc=0

	shift 2
	timeout 30 "$@" >"$T_OUT/run.out" 2>"$T_OUT/run.err" || rc=$?
	[[ $rc -ne 124 ]] || t_fail "$* hung (killed after 30 s)"
	[[ $rc -eq $want ]] || t_fail "$* exited $rc, not $want: $(cat "$T_OUT/run.err")"
	[[ $(wc -l <"$T_OUT/run.err") -eq 1 ]] ||
		t_fail "$* printed $(wc -l <"$T_OUT/run.err") lines on stderr:" \
		    "$(cat "$T_OUT/run.err")"
	grep -qF -- "$text" "$T_OUT/run.err" ||
		t_fail "$* said '$(cat "$T_OUT/run.err")', not '$text'"
}

printf 'name,vpc,ip,host\nweb1,blue,10.0.0.5,host1\nweb2,blue,10.0.0.6,host1\n' \
    >"$T_OUT/vms.csv"

# 1. Accepts, never answers.
fake silent silent
S=$T_OUT/silent.sock
expect 3 "vpcfwdctl: the controller at $S did not answer within 5 s" "$CTL" -s "$S" vpc list
expect 3 "the controller at $S did not answer within 1 s" "$CTL" -s "$S" -t 1 vm show web1
expect 3 "the controller at $S did not answer within 1 s" "$CTL" -s "$S" vm list --timeout 1
# From a file, import first asks the gateways' room: nothing was sent yet.
expect 3 "the controller at $S did not answer within 1 s" \
    "$CTL" -s "$S" -t 1 import "$T_OUT/vms.csv"
# From a pipe, it sends the first batch at once: which lines are in doubt is said.
expect 3 "did not answer within 1 s (import stopped after 0 VMs; whether" \
    bash -c '"$1" -s "$2" -t 1 import - <"$3"' - "$CTL" "$S" "$T_OUT/vms.csv"
grep -qF "whether stdin lines 2-3 were imported is unknown)" "$T_OUT/run.err" ||
	t_fail "import said '$(cat "$T_OUT/run.err")', not which lines are in doubt"
rc=0
timeout 2 "$CTL" -s "$S" -t 0 vpc list 2>"$T_OUT/run.err" || rc=$?
[[ $rc -eq 124 ]] || t_fail "-t 0 did not wait for good: exited $rc: $(cat "$T_OUT/run.err")"
echo "a controller that never answers: status 3 after the timeout (5 s, -t 1), -t 0 waits"

# 2. Never accepts: its backlog is full.
fake full full
expect 3 "the controller at $T_OUT/full.sock did not take the connection within 1 s" \
    "$CTL" -s "$T_OUT/full.sock" -t 1 vpc list
echo "a controller that never accepts: status 3 after the timeout"

# 3. Each batch answered after 0.5 s, 6 batches: 3 s in all, past -t 2.
fake slow slow 0.5
{
	echo name,vpc,ip,host
	for i in $(seq 12); do echo "vm$i,blue,10.0.0.$((i + 1)),host1"; done
} >"$T_OUT/slow.csv"
rc=0
timeout 30 "$CTL" -s "$T_OUT/slow.sock" -t 2 import --batch 2 "$T_OUT/slow.csv" \
    >"$T_OUT/run.out" 2>"$T_OUT/run.err" || rc=$?
[[ $rc -eq 0 ]] || t_fail "a slow import exited $rc: $(cat "$T_OUT/run.err")"
grep -q "^imported 12 VMs in " "$T_OUT/run.out" ||
	t_fail "the slow import printed $(cat "$T_OUT/run.out")"
echo "an import of 6 batches of 0.5 s each went through with -t 2"

# 4. Given twice.
expect 2 "option --socket is given twice" "$CTL" -s "$S" -s "$S" vpc list
expect 2 "option --socket is given twice" "$CTL" -s "$S" vpc list --socket "$S"
expect 2 "option --json is given twice" "$CTL" --json -j vpc list
expect 2 "option --json is given twice" "$CTL" --json vpc list --json
expect 2 "option --timeout is given twice" "$CTL" -t 1 vpc list -t 2
expect 2 "timeout must be 0..86400, not 86401" "$CTL" -t 86401 vpc list
expect 2 "timeout must be a decimal number (no sign, no leading zero), not 1.5" \
    "$CTL" -t 1.5 vpc list
echo "-s, -t and --json given twice are refused"

# 5. Lists of controllers.
fake live answer
fake closer close
D=$T_OUT/dead.sock
L=$T_OUT/live.sock
X=$T_OUT/closer.sock
# ops NAME: the requests fake NAME read so far, one op a line
ops() { sed -n 's/^op //p' "$T_OUT/$1.out"; }
expect_ok()
{
	local rc=0

	timeout 30 "$@" >"$T_OUT/run.out" 2>"$T_OUT/run.err" || rc=$?
	[[ $rc -eq 0 && ! -s $T_OUT/run.err ]] ||
		t_fail "$* exited $rc: $(cat "$T_OUT/run.err")"
}
expect_ok "$CTL" -s "$D,$L" vpc list
grep -q "^NAME" "$T_OUT/run.out" || t_fail "vpc list via $D,$L printed $(cat "$T_OUT/run.out")"
expect_ok env VPCFWD_SOCKET="$D,$L" "$CTL" vpc create blue --vni 100 --cidr 10.0.0.0/16
[[ $(ops live) == $'vpc.list\nvpc.create' ]] || t_fail "the live fake read '$(ops live)'"
# A change sent to a controller that closed without an answer: unknown, not sent again.
expect 3 "lost the connection to $X: closed by the controller; whether vpc.create was" \
    "$CTL" -s "$X,$L" vpc create red --vni 200 --cidr 10.0.0.0/16
grep -qF "whether vpc.create was applied there is unknown (it was not sent again)" \
    "$T_OUT/run.err" || t_fail "the lost change said '$(cat "$T_OUT/run.err")'"
[[ $(ops closer) == vpc.create && $(ops live) == $'vpc.list\nvpc.create' ]] ||
	t_fail "the change went on: closer read '$(ops closer)', live '$(ops live)'"
# The same for a controller that takes the request and never answers.
expect 3 "the controller at $S did not answer within 1 s; whether vm.delete was applied" \
    "$CTL" -s "$S,$L" -t 1 vm delete web1
[[ $(ops live) == $'vpc.list\nvpc.create' ]] || t_fail "vm delete went on to live"
# A listing moves on.
expect_ok "$CTL" -s "$X,$L" vm list
[[ $(ops closer) == $'vpc.create\nvm.list' && $(ops live) == $'vpc.list\nvpc.create\nvm.list' ]] ||
	t_fail "vm list did not move on: closer read '$(ops closer)', live '$(ops live)'"
expect 3 "no controller of the 2 could be reached: $D: No such file or directory;" \
    "$CTL" -s "$D,$T_OUT/dead2.sock" vpc list
expect 3 "no controller of the 2 could be reached: lost the connection to $X: closed" \
    "$CTL" -s "$X,$D" vpc list
expect 2 "-s needs socket paths: an empty one in '$D,'" "$CTL" -s "$D," vpc list
echo "a list of controllers: the first live one used; a listing moves on when its" \
    "connection breaks; a change does not (unknown outcome, named); none reachable named"
echo "ctl: PASS"
