#!/usr/bin/env bash
# table_cli: vpcfwd-table against a real table writer. table_fill (tests/stress) fills a
# gateway table and a host table with rules whose every field derives from their number;
# vpcfwd-table must report the counts, the VNIs with their versions and generation, the
# owner as running, its own reader slot (and only its own), the entries of one VNI with
# the right IP, MAC, VTEP and version, the same table by -N and by path, a writer killed
# with -9 as STALE, and a missing segment as exit 1 with a message naming it.
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
          "free", "applied_seq", "counters", "vnis"):
    assert k in d, "no " + k
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
for k in ("sets", "stale", "full", "limbo_full", "vnis_full", "reclaimed",
          "readers_reaped", "evicted", "tombs_purged", "flushes", "recoveries"):
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

# check_entries MODE VNI <doc: the entries of -v VNI --json, in list order.
check_entries()
{
	python3 -c '
import json, sys
mode, vni, nrules, nvnis = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
d = json.load(sys.stdin)
ndel = min(16, nrules // 2)
want = [i for i in range(ndel, nrules) if i % nvnis == vni - 1]
e = d.get("entries")
assert isinstance(e, list), "no entries array"
assert len(e) == len(want), "%d entries, expected %d" % (len(e), len(want))
ip = lambda x: "%d.%d.%d.%d" % (x >> 24, x >> 16 & 255, x >> 8 & 255, x & 255)
for x, i in zip(e, want):
    assert set(x) == {"ip", "mac", "vtep", "version", "flags"}, x
    mac = "02:00:" + ":".join("%02x" % (i >> s & 255) for s in (24, 16, 8, 0))
    got = (x["ip"], x["mac"], x["vtep"], x["version"], x["flags"])
    exp = (ip(0x0a000000 + i), mac, ip(0xac100001 + i % 250), i + 1, [])
    assert got == exp, "entry %r, expected %r (%s order)" % (got, exp, mode)
' "$1" "$2" "$NRULES" "$NVNIS"
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
# -N picks the one table of a node, not another node's.
"$TOOL" --json -N "$NODE_H" | check_table host "$PID_H" running 1 || t_fail "-N $NODE_H"

# --- a writer killed with -9 leaves its table: STALE, still readable -----------------
t_kill "$PID_G"
"$TOOL" --json "$SEG_G" | check_table gateway "$PID_G" STALE 1 ||
	t_fail "after kill -9, $SEG_G is not STALE (or not whole)"
"$TOOL" "$SEG_G" | grep -q "^owner  *pid $PID_G, STALE\$" || t_fail "text does not say STALE"
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

for bad in "--no-such-option" "-v x $SEG_H" "-v 1" "-N $NODE_H $SEG_H" "$SEG_H $SEG_G"; do
	rc=0
	# shellcheck disable=SC2086 # split on purpose: each string is a command line
	"$TOOL" $bad >/dev/null 2>&1 || rc=$?
	((rc == 2)) || t_fail "'vpcfwd-table $bad' exited $rc, expected 2"
done
"$TOOL" -h | grep -q "tombstones" || t_fail "-h does not explain that tombstones are skipped"

# The host writer stops on SIGTERM, closing its table cleanly.
kill -TERM "$PID_H"
rc=0
wait "$PID_H" || rc=$?
t_forget "$PID_H"
((rc == 0)) || t_fail "table_fill exited $rc on SIGTERM"
"$TOOL" --json "$SEG_H" | check_table host "$PID_H" STALE 1 ||
	t_fail "$SEG_H after its writer stopped"

echo "table_cli: ok"
