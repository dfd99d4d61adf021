#!/usr/bin/env bash
# table_cli: vpcfwd-table against a real table writer. table_fill (tests/stress) fills a
# gateway table and a host table with rules whose every field derives from their number;
# vpcfwd-table must report the counts, the VNIs with their versions and generation, the
# owner as running, its own reader slot (and only its own), the entries of one VNI with
# the right IP, MAC, VTEP and version (live rules only by default; with -d the gateway's
# tombstones too, marked as deletes; with --changes-since what changed after a version),
# the VNI's valid versions, the same table by -N and by path, a writer killed with -9 as
# STALE, and a missing segment as exit 1 with a message naming it.
#
#	BUILD=build bash tests/table_cli.sh
#
# Node names carry this script's pid so parallel runs never see each other's segments.
set -euo pipefail

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init table_cli
TOOL=$BUILD/bin/vpcfwd-table
FILL=$BUILD/tests/table_fill
NODE_G=tc$$-g
NODE_H=tc$$-h
t_node "$NODE_G" "$NODE_H"
SEG_G=vpcfwd.$NODE_G.filler.table
SEG_H=vpcfwd.$NODE_H.filler.table
NRULES=10000
NVNIS=4

[[ -x $TOOL ]] || t_fail "$TOOL not built (make BUILD=$BUILD)"
[[ -x $FILL ]] || t_fail "$FILL not built (make BUILD=$BUILD)"

# start_fill NODE MODE: a filler in the background; sets FILL_PID once it says ready.
start_fill()
{
	t_spawn FILL_PID "$FILL" "$1" "$2" "$NRULES" "$NVNIS" >"$T_OUT/$1.out" 2>"$T_OUT/$1.log"
	t_wait_for "$T_OUT/$1.out" ready 10 "$FILL_PID"
}

# check_table MODE PID STATE ATTACHED [-v] <doc: what vpcfwd-table --json on stdin must
# hold, given how table_fill builds its table (its file-top comment); -v: the document
# was asked for with -v, so it has entries.
check_table()
{
	python3 -c '
import json, sys
mode, pid, state, attached, nrules, nvnis, with_v = sys.argv[1:]
pid, attached, nrules, nvnis = int(pid), int(attached), int(nrules), int(nvnis)
d = json.load(sys.stdin)
ndel = min(16, nrules // 2)
tombs = ndel if mode == "gateway" else 0
def eq(what, got, want):
    assert got == want, "%s is %r, expected %r" % (what, got, want)
for k in ("segment", "mode", "pid", "state", "created", "heartbeat_age_ms", "params",
          "count", "live", "tombs", "size_bytes", "bytes_per_rule", "readers", "limbo",
          "free", "vni_slots", "homeless", "applied_seq", "applied_epoch", "counters",
          "vnis"):
    assert k in d, "no " + k
eq("homeless", d["homeless"], 0)
eq("applied_epoch", d["applied_epoch"], "")	# table_fill has no history
eq("vni_slots", d["vni_slots"], {"held": nvnis, "retired": 0, "max": d["params"]["max_vnis"]})
assert ("entries" in d) == (with_v == "-v"), "entries with -v only"
eq("mode", d["mode"], mode)
eq("pid", d["pid"], pid)
eq("state", d["state"], state)
eq("readers.attached", d["readers"]["attached"], attached)
eq("count", d["count"], nrules - ndel + tombs)
eq("live", d["live"], nrules - ndel)
eq("tombs", d["tombs"], tombs)
p = d["params"]
assert p["capacity"] >= nrules, p
assert abs(d["bytes_per_rule"] - d["size_bytes"] / p["capacity"]) < 1e-6, d["bytes_per_rule"]
c = d["counters"]
for k in ("sets", "stale", "full", "limbo_full", "vnis_full", "vnis_limbo_full",
          "vnis_dropped", "vnis_freed", "reclaimed", "readers_reaped", "evicted",
          "evict_kept", "evict_no_entry", "tombs_purged", "flushes", "recoveries"):
    assert isinstance(c.get(k), int), "counter %s: %r" % (k, c.get(k))
eq("counters.sets", c["sets"], nrules + ndel)
eq("counters.stale", c["stale"], 0)
eq("VNIs", [v["vni"] for v in d["vnis"]], list(range(1, nvnis + 1)))
for v in d["vnis"]:
    n = v["vni"]
    rules = [i for i in range(nrules) if i % nvnis == n - 1]
    dels = [i for i in range(ndel) if i % nvnis == n - 1]
    want = nrules + 1 + dels[-1] if dels else rules[-1] + 1
    eq("VNI %d gen" % n, v["gen"], 1234)
    eq("VNI %d version" % n, v["version"], want)
    eq("VNI %d nversions" % n, v["nversions"], len(rules) + len(dels))
    assert 0 < v["oldest"] <= v["version"], "VNI %d oldest %r" % (n, v["oldest"])
    eq("VNI %d flushes" % n, v["flushes"], 0)
    eq("VNI %d live" % n, v["live"], len(rules) - len(dels))
    eq("VNI %d tombs" % n, v["tombs"], len(dels) if mode == "gateway" else 0)
' "$1" "$2" "$3" "$4" "$NRULES" "$NVNIS" "${5:-}"
}

# check_entries MODE VNI [deleted | since=V] <doc: the entries of -v VNI --json, in list
# order, and the VNI's valid versions. With no third argument, the live rules without an
# "op" (the default listing); "deleted": -d, the tombstones too (a gateway's), each entry
# with its op; "since=V": --changes-since V, what changed after V in version order (the
# live rules alone for V = 0), with "since" and "upto".
check_entries()
{
	python3 -c '
import json, sys
mode, vni, nrules, nvnis = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
what = sys.argv[5]
d = json.load(sys.stdin)
ndel = min(16, nrules // 2)
# (version, rule number, op) in list order: every rule of the VNI is older than its deletes.
live = [(i + 1, i, "set") for i in range(ndel, nrules) if i % nvnis == vni - 1]
dels = [(nrules + 1 + i, i, "delete") for i in range(ndel) if i % nvnis == vni - 1]
versions = sorted([i + 1 for i in range(nrules) if i % nvnis == vni - 1] + [v for v, _, _ in dels])
if mode != "gateway":
    dels = []
ops = what != ""
if what == "":
    want = live
elif what == "deleted":
    want = live + dels
else:
    since = int(what[len("since="):])
    want = [x for x in live + dels if x[0] > since] if since else live
    assert d.get("since") == since, "since %r, expected %d" % (d.get("since"), since)
    assert d.get("upto") == versions[-1], "upto %r, expected %d" % (d.get("upto"), versions[-1])
# The window readers use: the newest three quarters of version_window (docs/shm.md).
w = d["params"]["version_window"]
vv = [0] + versions[-(w - w // 4):]
got = d.get("valid_versions")
assert got == vv, "valid_versions %r, expected %r" % (got, vv)
e = d.get("entries")
assert isinstance(e, list), "no entries array"
assert len(e) == len(want), "%d entries, expected %d" % (len(e), len(want))
ip = lambda x: "%d.%d.%d.%d" % (x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255)
keys = {"ip", "mac", "vtep", "version", "flags"} | ({"op"} if ops else set())
for x, (version, i, op) in zip(e, want):
    assert set(x) == keys, x
    if ops:
        assert x["op"] == op, "entry %r, expected op %s" % (x, op)
    got = (x["ip"], x["mac"], x["vtep"], x["version"], x["flags"])
    if op == "set":
        mac = "02:00:" + ":".join("%02x" % (i >> s & 255) for s in (24, 16, 8, 0))
        exp = (ip(0x0a000000 + i), mac, ip(0xac100001 + i % 250), version, [])
    else:
        exp = (ip(0x0a000000 + i), "00:00:00:00:00:00", "0.0.0.0", version, ["tombstone"])
    assert got == exp, "entry %r, expected %r (%s order)" % (got, exp, mode)
' "$1" "$2" "$NRULES" "$NVNIS" "${3:-}"
}

# --- gateway ---------------------------------------------------------------------------
start_fill "$NODE_G" gateway
PID_G=$FILL_PID

"$TOOL" --json "$SEG_G" >"$T_OUT/g1" || t_fail "vpcfwd-table --json $SEG_G exited non-zero"
check_table gateway "$PID_G" running 1 <"$T_OUT/g1" || t_fail "gateway --json: $(cat "$T_OUT/g1")"
# The first run freed its reader slot on exit: the second sees only itself.
"$TOOL" --json "$SEG_G" >"$T_OUT/g2" || t_fail "vpcfwd-table --json $SEG_G (second run)"
check_table gateway "$PID_G" running 1 <"$T_OUT/g2" ||
	t_fail "second run (a reader slot left behind by the first?)"

# The same table by -N and by its path.
"$TOOL" --json -N "$NODE_G" | check_table gateway "$PID_G" running 1 ||
	t_fail "-N $NODE_G did not dump $SEG_G"
"$TOOL" --json "/dev/shm/$SEG_G" | check_table gateway "$PID_G" running 1 ||
	t_fail "/dev/shm/$SEG_G did not dump the table"

# Entries of one VNI: every live rule, in version order.
"$TOOL" --json -v 2 "$SEG_G" >"$T_OUT/gv" || t_fail "-v 2 --json exited non-zero"
check_entries gateway 2 <"$T_OUT/gv" || t_fail "gateway -v 2 entries"
check_table gateway "$PID_G" running 1 -v <"$T_OUT/gv" ||
	t_fail "-v 2 --json lacks the header fields"

# Text: the header and the VNI lines.
"$TOOL" "$SEG_G" >"$T_OUT/gt" || t_fail "text run exited non-zero"
grep -q "^segment  *$SEG_G\$" "$T_OUT/gt" || t_fail "text does not name $SEG_G: $(cat "$T_OUT/gt")"
grep -q "^owner  *pid $PID_G, running\$" "$T_OUT/gt" ||
	t_fail "text owner line: $(cat "$T_OUT/gt")"
grep -Eq '^ +2 +1234 +10014 ' "$T_OUT/gt" || t_fail "text VNI 2 line: $(cat "$T_OUT/gt")"
grep -Eq '^  sets +10016  changes applied' "$T_OUT/gt" ||
	t_fail "text counters: $(cat "$T_OUT/gt")"
"$TOOL" -v 2 "$SEG_G" >"$T_OUT/gvt" || t_fail "-v 2 (text) exited non-zero"
grep -Eq '^  10\.0\.0\.17 +02:00:00:00:00:11  172\.16\.0\.18 +18  -$' "$T_OUT/gvt" ||
	t_fail "text entry of rule 17: $(grep -m3 10.0.0 "$T_OUT/gvt")"
# VNI 2 holds versions 2, 6, .. 9998 (its rules) and 10002 .. 10014 (its deletes); readers
# use the newest 192 of a window of 256.
grep -q '^VNI 2: valid versions 0, 9250\.\.10014 step 4 (192 in the window)$' "$T_OUT/gvt" ||
	t_fail "text valid versions: $(grep -m1 'valid versions' "$T_OUT/gvt")"
# The default lists live rules only: not the tombstone of rule 1, and no op column.
! grep -Eq '^  (del|set)  |^  10\.0\.0\.1 |^  10\..*tombstone$' "$T_OUT/gvt" ||
	t_fail "-v 2 (text) lists a tombstone: $(grep -m3 -E '^  10\..*tombstone$' "$T_OUT/gvt")"

# -d: the tombstones too, each marked as a delete, in list order.
"$TOOL" --json -d -v 2 "$SEG_G" >"$T_OUT/gd" || t_fail "-d -v 2 --json exited non-zero"
check_entries gateway 2 deleted <"$T_OUT/gd" || t_fail "gateway -d -v 2 entries"
"$TOOL" --deleted -v 2 "$SEG_G" >"$T_OUT/gdt" || t_fail "--deleted -v 2 (text) exited non-zero"
grep -Eq '^  del  10\.0\.0\.1 +00:00:00:00:00:00  0\.0\.0\.0 +10002  tombstone$' "$T_OUT/gdt" ||
	t_fail "-d text: no delete of rule 1: $(grep -m3 -E '^  del ' "$T_OUT/gdt")"
grep -Eq '^  set  10\.0\.0\.17 +02:00:00:00:00:11  172\.16\.0\.18 +18  -$' "$T_OUT/gdt" ||
	t_fail "-d text entry of rule 17: $(grep -m3 10.0.0 "$T_OUT/gdt")"
[[ $(grep -c '^  del ' "$T_OUT/gdt") == 4 ]] || t_fail "-d text: not 4 deletes in VNI 2"
grep -q '^VNI 2: 2500 entries in list order (live rules and 4 tombstones)$' "$T_OUT/gdt" ||
	t_fail "-d text title: $(grep -m2 '^VNI 2' "$T_OUT/gdt")"

# --changes-since V: what changed after V, in version order, deletes marked.
"$TOOL" --json --changes-since 9990 -v 2 "$SEG_G" >"$T_OUT/gs" ||
	t_fail "--changes-since 9990 -v 2 --json exited non-zero"
check_entries gateway 2 since=9990 <"$T_OUT/gs" || t_fail "--changes-since 9990 entries"
"$TOOL" --changes-since 9990 -v 2 "$SEG_G" >"$T_OUT/gst" || t_fail "--changes-since (text)"
title='VNI 2: 6 changes after version 9990 (4 deletes) in version order, bringing a learner'
grep -q "^$title to version 10014\$" "$T_OUT/gst" ||
	t_fail "--changes-since text title: $(grep '^VNI 2' "$T_OUT/gst")"
[[ $(grep -Ec '^  (set|del)  ' "$T_OUT/gst") == 6 ]] ||
	t_fail "--changes-since 9990 text: $(cat "$T_OUT/gst")"
"$TOOL" --json --changes-since 0 -v 2 "$SEG_G" | check_entries gateway 2 since=0 ||
	t_fail "--changes-since 0 is not the full dump of the live rules"
"$TOOL" --json --changes-since 10014 -v 2 "$SEG_G" | check_entries gateway 2 since=10014 ||
	t_fail "--changes-since the current version is not empty"
# Not a version of VNI 2 (9991), below its window (100), ahead of it (20000): status 1.
for v in 9991:"not a valid version" 100:"not a valid version" 20000:"ahead"; do
	rc=0
	"$TOOL" --changes-since "${v%%:*}" -v 2 "$SEG_G" >/dev/null 2>"$T_OUT/err" || rc=$?
	((rc == 1)) || t_fail "--changes-since ${v%%:*} exited $rc, expected 1"
	grep -q "${v#*:}" "$T_OUT/err" || t_fail "--changes-since ${v%%:*}: $(cat "$T_OUT/err")"
done

# No argument: the listing names the segment with its owner.
"$TOOL" >"$T_OUT/list" 2>/dev/null || t_fail "listing exited non-zero"
grep -q "^$SEG_G  pid $PID_G  running\$" "$T_OUT/list" || t_fail "listing: $(cat "$T_OUT/list")"

# An unknown VNI: status 1, a message naming it.
rc=0
"$TOOL" -v 99 "$SEG_G" >/dev/null 2>"$T_OUT/err" || rc=$?
((rc == 1)) || t_fail "-v 99 exited $rc, expected 1"
grep -q "no VNI 99" "$T_OUT/err" || t_fail "-v 99 message: $(cat "$T_OUT/err")"

# --- host ------------------------------------------------------------------------------
start_fill "$NODE_H" host
PID_H=$FILL_PID
"$TOOL" --json "$SEG_H" | check_table host "$PID_H" running 1 || t_fail "host --json"
"$TOOL" --json -v 1 "$SEG_H" >"$T_OUT/hv" || t_fail "host -v 1 --json exited non-zero"
check_entries host 1 <"$T_OUT/hv" || t_fail "host -v 1 entries"
# A host keeps no tombstones (-d lists the live rules) and no history to walk after V > 0.
"$TOOL" --json -d -v 1 "$SEG_H" | check_entries host 1 deleted || t_fail "host -d -v 1"
"$TOOL" --json --changes-since 0 -v 1 "$SEG_H" | check_entries host 1 since=0 ||
	t_fail "host --changes-since 0"
rc=0
"$TOOL" --changes-since 10013 -v 1 "$SEG_H" >/dev/null 2>"$T_OUT/err" || rc=$?
((rc == 1)) || t_fail "host --changes-since 10013 exited $rc, expected 1"
grep -q "host table" "$T_OUT/err" || t_fail "host --changes-since: $(cat "$T_OUT/err")"
"$TOOL" -v 1 "$SEG_H" >"$T_OUT/hvt" || t_fail "host -v 1 (text) exited non-zero"
grep -q '^VNI 1: valid versions 0, 10005\.\.10013 step 4 (3 in the window)$' "$T_OUT/hvt" ||
	t_fail "host text valid versions: $(grep -m1 'valid versions' "$T_OUT/hvt")"
# -N picks the one table of a node, not another node's.
"$TOOL" --json -N "$NODE_H" | check_table host "$PID_H" running 1 || t_fail "-N $NODE_H"

# --- a writer killed with -9 leaves its table: STALE, still readable -----------------
t_kill "$PID_G"
"$TOOL" --json "$SEG_G" | check_table gateway "$PID_G" STALE 1 ||
	t_fail "after kill -9, $SEG_G is not STALE (or not whole)"
"$TOOL" "$SEG_G" | grep "^owner  *pid $PID_G, STALE\$" >/dev/null || t_fail "text does not say STALE"
# No writer reaps dead readers now: a run that left its slot behind would show here.
"$TOOL" --json "$SEG_G" | check_table gateway "$PID_G" STALE 1 ||
	t_fail "a run of vpcfwd-table left its reader slot behind"
"$TOOL" --json "$SEG_H" | check_table host "$PID_H" running 1 ||
	t_fail "$SEG_H is not running after the other writer died"

# --- errors ----------------------------------------------------------------------------
MISSING=vpcfwd.tc$$-none.filler.table
rc=0
"$TOOL" "$MISSING" >/dev/null 2>"$T_OUT/err" || rc=$?
((rc == 1)) || t_fail "a missing segment exited $rc, expected 1"
grep -q "$MISSING" "$T_OUT/err" || t_fail "the message does not name $MISSING: $(cat "$T_OUT/err")"
[[ $(wc -l <"$T_OUT/err") == 1 ]] || t_fail "more than one line for a missing segment"
rc=0
"$TOOL" -N "tc$$-none" >/dev/null 2>"$T_OUT/err" || rc=$?
((rc == 1)) || t_fail "-N with no table exited $rc, expected 1"
grep -q "tc$$-none" "$T_OUT/err" || t_fail "-N message: $(cat "$T_OUT/err")"

for bad in "--no-such-option" "-v x $SEG_H" "-v 1" "-N $NODE_H $SEG_H" "$SEG_H $SEG_G" \
    "-d $SEG_H" "--changes-since 5 $SEG_H" "--changes-since x -v 1 $SEG_H" \
    "--changes-since -1 -v 1 $SEG_H"; do
	rc=0
	# shellcheck disable=SC2086 # split on purpose: each string is a command line
	"$TOOL" $bad >/dev/null 2>&1 || rc=$?
	((rc == 2)) || t_fail "'vpcfwd-table $bad' exited $rc, expected 2"
done
"$TOOL" -h | grep "tombstones" >/dev/null || t_fail "-h does not explain that tombstones are skipped"
"$TOOL" -h | grep -- "--changes-since" >/dev/null || t_fail "-h does not mention --changes-since"
"$TOOL" -h | grep -- "-d, --deleted" >/dev/null || t_fail "-h does not mention -d"

# The host writer stops on SIGTERM, closing its table cleanly.
kill -TERM "$PID_H"
rc=0
wait "$PID_H" || rc=$?
t_forget "$PID_H"
((rc == 0)) || t_fail "table_fill exited $rc on SIGTERM"
"$TOOL" --json "$SEG_H" | check_table host "$PID_H" STALE 1 ||
	t_fail "$SEG_H after its writer stopped"

echo "table_cli: ok"
