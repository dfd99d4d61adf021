#!/usr/bin/env bash
# table_stress: the rule table under a writer and several reader processes, with the
# faults of DESIGN.md §7. One writer applies random sets and deletes to 1 M keys as
# fast as it can; two readers check every entry they see is whole and that no key's
# version goes back. Then: a reader killed with -9 inside a read section must not
# stop reclamation (the writer reaps it and limbo stays bounded); the writer killed
# with -9 and started again must find its table intact and resume; at the end the
# table must equal the state recomputed from the change sequence. Meanwhile the writer
# makes and drops VNIs far beyond max_vnis (VNI churn): slots are reused, and readers
# walking a churn VNI across drops never see another VNI's rules.
#
#	BUILD=build bash tests/table_stress.sh [short|long]
#
# short (make test) holds each phase ~2 s; long (make bench) ~15 s and kills the
# writer five times.
set -euo pipefail

MODE=${1:-short}
case $MODE in
short) PHASE=2 KILLS=1 ;;
long) PHASE=15 KILLS=5 ;;
*) echo "usage: $0 [short|long]" >&2; exit 2 ;;
esac

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init table_stress
NODE=ts$$
t_node "$NODE"
NKEYS=1000000
WRITER=$BUILD/tests/table_writer
READER=$BUILD/tests/table_reader

for b in "$BUILD/bin/vpcfwd-stat" "$WRITER" "$READER"; do
	[[ -x $b ]] || t_fail "$b not built (make BUILD=$BUILD)"
done

start_writer()
{
	: >"$T_OUT/writer.out"
	t_spawn WPID "$WRITER" "$NODE" $NKEYS >"$T_OUT/writer.out" 2>>"$T_OUT/writer.log"
	t_wait_for "$T_OUT/writer.out" ready
}

start_writer
for i in 1 2; do
	t_spawn "RPID[$i]" "$READER" "$NODE" $i $NKEYS \
		>"$T_OUT/reader$i.out" 2>"$T_OUT/reader$i.log"
	t_wait_for "$T_OUT/reader$i.out" ready
done
sleep "$PHASE"
applied=$(t_stat "$NODE" writer applied_seq)
[[ $applied -gt 100000 ]] || t_fail "writer applied only $applied changes in ${PHASE}s"
echo "writer at change $applied with two readers checking"
freed=$(t_stat "$NODE" writer vnis_freed)
[[ $freed -gt 64 ]] || t_fail "only $freed VNI slots given back: churn is not reusing them"
[[ $(t_stat "$NODE" reader1 churn_walks) -gt 0 ]] || t_fail "reader 1 walked no churn VNI"
echo "$freed VNI slots given back and reused (max_vnis 64)"

# A reader killed inside a read section.
t_spawn HPID "$READER" "$NODE" 3 $NKEYS --hang-after 100000 \
	>"$T_OUT/reader3.out" 2>"$T_OUT/reader3.log"
t_wait_for "$T_OUT/reader3.out" hanging
t_kill "$HPID"
before=$(t_stat "$NODE" writer changes)
sleep "$PHASE"
reaped=$(t_stat "$NODE" writer readers_reaped)
limbo=$(t_stat "$NODE" writer limbo)
after=$(t_stat "$NODE" writer changes)
[[ $reaped -ge 1 ]] || t_fail "the dead reader's slot was not reaped"
# Bounded: limbo stays within the pool's slack (capacity / 16 + 1024).
[[ $limbo -lt $((NKEYS / 16 + 1024)) ]] || t_fail "limbo grew to $limbo entries"
[[ $after -gt $((before + 100000)) ]] || t_fail "writer stalled after the reader died"
[[ $(t_stat "$NODE" writer refused) -eq 0 ]] || t_fail "writer ran out of entries"
echo "dead reader reaped; limbo $limbo entries; writer went on ($((after - before)) changes)"

# The writer killed and restarted: the table is intact and it resumes.
for k in $(seq "$KILLS"); do
	t_kill "$WPID"
	seen=$(t_stat "$NODE" writer applied_seq)
	r1=$(t_stat "$NODE" reader1 lookups)
	sleep 0.5
	[[ $(t_stat "$NODE" reader1 lookups) -gt $r1 ]] ||
		t_fail "readers stopped while the writer was dead"
	start_writer
	resumed=$(grep 'starting at change' "$T_OUT/writer.log" | tail -1 |
		sed 's/.*starting at change \([0-9]*\).*/\1/')
	[[ $resumed -gt $seen ]] ||
		t_fail "restarted writer began at change $resumed, but $seen were applied"
	sleep "$PHASE"
	[[ $(t_stat "$NODE" writer recoveries) -ge $k ]] ||
		t_fail "restart $k did not recover the table"
done
echo "writer killed and restarted $KILLS time(s):" \
	"$(grep 'starting at' "$T_OUT/writer.log" | tail -1 | sed 's/.*info: //')"

# Readers saw no torn entry and no version going back.
kill -TERM "$WPID"
wait "$WPID" || t_fail "writer exited with $?"
t_forget "$WPID"
for i in 1 2; do
	kill -TERM "${RPID[i]}"
	wait "${RPID[i]}" ||
		t_fail "reader $i found a violation: $(tail -1 "$T_OUT/reader$i.log")"
	t_forget "${RPID[i]}"
	echo "reader $i: $(tail -1 "$T_OUT/reader$i.out")"
done
"$WRITER" "$NODE" $NKEYS --verify >"$T_OUT/verify.out" 2>"$T_OUT/verify.log" ||
	t_fail "table differs from the change sequence: $(cat "$T_OUT/verify.out")"
cat "$T_OUT/verify.out"
echo "table_stress ($MODE): ok"
