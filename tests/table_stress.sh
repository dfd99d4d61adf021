#!/usr/bin/env bash
# table_stress: the rule table under a writer and several reader processes, with the
# faults of DESIGN.md §7. One writer applies random sets and deletes to 1 M keys as
# fast as it can; two readers check every entry they see is whole and that no key's
# version goes back. Then: a reader killed with -9 inside a read section must not
# stop reclamation (the writer reaps it and limbo stays bounded); the writer killed
# with -9 and started again must find its table intact and resume; at the end the
# table must equal the state recomputed from the change sequence.
#
#	BUILD=build bash tests/table_stress.sh [short|long]
#
# short (make test) holds each phase ~2 s; long (make bench) ~15 s and kills the
# writer five times.
set -euo pipefail

BUILD=${BUILD:-build}
MODE=${1:-short}
NODE=ts$$
NKEYS=1000000
STAT=$BUILD/bin/vpcfwd-stat
WRITER=$BUILD/tests/table_writer
READER=$BUILD/tests/table_reader
OUT=$(mktemp -d)
PIDS=()
case $MODE in
short) PHASE=2 KILLS=1 ;;
long) PHASE=15 KILLS=5 ;;
*) echo "usage: $0 [short|long]" >&2; exit 2 ;;
esac

fail()
{
	echo "table_stress.sh: FAIL: $*" >&2
	for f in "$OUT"/*.log; do
		[[ -s $f ]] && { echo "--- $f"; tail -5 "$f"; } >&2
	done
	exit 1
}

cleanup()
{
	local pid

	for pid in "${PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -f /dev/shm/vpcfwd."$NODE".*
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'fail "line $LINENO: $BASH_COMMAND"' ERR

for b in "$STAT" "$WRITER" "$READER"; do
	[[ -x $b ]] || fail "$b not built (make BUILD=$BUILD)"
done

# stat PROC COUNTER: a counter of this node's process, from vpcfwd-stat --json
stat()
{
	"$STAT" --json -N "$NODE" "$1" | python3 -c '
import json, sys
for seg in json.load(sys.stdin):
    for c in seg["counters"]:
        if c["name"] == sys.argv[1]:
            print(c["value"]); sys.exit(0)
sys.exit(1)' "$2"
}

# wait_for FILE TEXT: until FILE has a line TEXT (5 s)
wait_for()
{
	for _ in $(seq 50); do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "no '$2' in $1"
}

start_writer()
{
	: >"$OUT/writer.out"
	"$WRITER" "$NODE" $NKEYS >"$OUT/writer.out" 2>>"$OUT/writer.log" &
	WPID=$!
	PIDS+=($WPID)
	wait_for "$OUT/writer.out" ready
}

start_writer
for i in 1 2; do
	"$READER" "$NODE" $i $NKEYS >"$OUT/reader$i.out" 2>"$OUT/reader$i.log" &
	PIDS+=($!)
	eval "RPID$i=$!"
	wait_for "$OUT/reader$i.out" ready
done
sleep "$PHASE"
applied=$(stat writer applied_seq)
[[ $applied -gt 100000 ]] || fail "writer applied only $applied changes in ${PHASE}s"
echo "writer at change $applied with two readers checking"

# A reader killed inside a read section.
"$READER" "$NODE" 3 $NKEYS --hang-after 100000 >"$OUT/reader3.out" 2>"$OUT/reader3.log" &
HPID=$!
PIDS+=($HPID)
wait_for "$OUT/reader3.out" hanging
kill -9 $HPID
wait $HPID 2>/dev/null || true
before=$(stat writer changes)
sleep "$PHASE"
reaped=$(stat writer readers_reaped)
limbo=$(stat writer limbo)
after=$(stat writer changes)
[[ $reaped -ge 1 ]] || fail "the dead reader's slot was not reaped"
# Bounded: limbo stays within the pool's slack (capacity / 16 + 1024).
[[ $limbo -lt $((NKEYS / 16 + 1024)) ]] || fail "limbo grew to $limbo entries"
[[ $after -gt $((before + 100000)) ]] || fail "writer stalled after the reader died"
[[ $(stat writer refused) -eq 0 ]] || fail "writer ran out of entries"
echo "dead reader reaped; limbo $limbo entries; writer went on ($((after - before)) changes)"

# The writer killed and restarted: the table is intact and it resumes.
for k in $(seq "$KILLS"); do
	kill -9 "$WPID"
	wait "$WPID" 2>/dev/null || true
	seen=$(stat writer applied_seq)
	r1=$(stat reader1 lookups)
	sleep 0.5
	[[ $(stat reader1 lookups) -gt $r1 ]] || fail "readers stopped while the writer was dead"
	start_writer
	resumed=$(grep 'starting at change' "$OUT/writer.log" | tail -1 |
		sed 's/.*starting at change \([0-9]*\).*/\1/')
	[[ $resumed -gt $seen ]] ||
		fail "restarted writer began at change $resumed, but $seen were applied"
	sleep "$PHASE"
	[[ $(stat writer recoveries) -ge $k ]] || fail "restart $k did not recover the table"
done
echo "writer killed and restarted $KILLS time(s): $(grep 'starting at' "$OUT/writer.log" | tail -1 | sed 's/.*info: //')"

# Readers saw no torn entry and no version going back.
kill -TERM "$WPID"
wait "$WPID" || fail "writer exited with $?"
for i in 1 2; do
	eval "pid=\$RPID$i"
	kill -TERM "$pid"
	wait "$pid" || fail "reader $i found a violation: $(tail -1 "$OUT/reader$i.log")"
	echo "reader $i: $(tail -1 "$OUT/reader$i.out")"
done
PIDS=()
"$WRITER" "$NODE" $NKEYS --verify >"$OUT/verify.out" 2>"$OUT/verify.log" ||
	fail "table differs from the change sequence: $(cat "$OUT/verify.out" "$OUT/verify.log")"
cat "$OUT/verify.out"
echo "table_stress.sh ($MODE): ok"
