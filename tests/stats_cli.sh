#!/usr/bin/env bash
# stats_cli: vpcfwd-stat against real processes. Two stats_demo processes publish
# counters; vpcfwd-stat must list both as running with counters that grow (--json),
# select by pattern and by node, print rates when it refreshes (-w), show a process
# killed with -9 as STALE, and exit 1 when a filter matches nothing.
#
#	BUILD=build bash tests/stats_cli.sh
#
# Node names carry this script's pid so parallel runs never see each other's segments.
set -euo pipefail

BUILD=${BUILD:-build}
STAT=$BUILD/bin/vpcfwd-stat
DEMO=$BUILD/tests/stats_demo
NODE_A=sc$$-a
NODE_B=sc$$-b
PIDS=()
OUT=$(mktemp -d)

fail()
{
	echo "stats_cli.sh: FAIL: $*" >&2
	exit 1
}

# Forget a child once it has been waited for: its pid may be reused.
forget()
{
	local keep=() pid

	for pid in "${PIDS[@]}"; do
		[[ $pid == "$1" ]] || keep+=("$pid")
	done
	PIDS=("${keep[@]}")
}

cleanup()
{
	local pid

	for pid in "${PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -f /dev/shm/vpcfwd."$NODE_A".* /dev/shm/vpcfwd."$NODE_B".*
	rm -rf "$OUT"
}
trap cleanup EXIT
trap 'echo "stats_cli.sh: FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR

[[ -x $STAT ]] || fail "$STAT not built (make BUILD=$BUILD)"
[[ -x $DEMO ]] || fail "$DEMO not built (make BUILD=$BUILD)"

"$DEMO" "$NODE_A" alpha 1000 &
PIDS+=($!)
DEMO_A=$!
"$DEMO" "$NODE_B" beta 1000 &
PIDS+=($!)

# Both segments appear within 5 s.
for _ in $(seq 50); do
	if "$STAT" -N "$NODE_A" >/dev/null 2>&1 && "$STAT" -N "$NODE_B" >/dev/null 2>&1; then
		break
	fi
	sleep 0.1
done

# json_check EXPECT: what the --json document on stdin must hold, per "node.proc" of
# this run: EXPECT is "name=state,name=state"; prints "node.proc=ticks" lines.
json_check()
{
	python3 -c '
import json, sys
want = dict(kv.split("=") for kv in sys.argv[1].split(","))
doc = json.load(sys.stdin)
assert isinstance(doc, list), "not a JSON array"
got = {}
for s in doc:
    for k in ("node", "proc", "segment", "pid", "state", "uptime_s", "heartbeat_age_ms",
              "counters"):
        assert k in s, "segment object without " + k
    got[s["node"] + "." + s["proc"]] = s
assert set(got) == set(want), "segments %s, expected %s" % (sorted(got), sorted(want))
for name, state in want.items():
    s = got[name]
    assert s["state"] == state, "%s is %s, expected %s" % (name, s["state"], state)
    assert s["segment"] == "vpcfwd." + name + ".stats", s["segment"]
    c = {x["name"]: x for x in s["counters"]}
    assert c["ticks"]["kind"] == "counter" and c["rate"]["kind"] == "gauge", c
    assert c["rate"]["value"] == 1000, c["rate"]
    assert c["ticks"]["description"], "no description"
    print("%s=%d" % (name, c["ticks"]["value"]))
' "$1"
}

ALL="$NODE_A.alpha=running,$NODE_B.beta=running"
"$STAT" --json "$NODE_A.*" "$NODE_B.*" >"$OUT/j1" ||
	fail "vpcfwd-stat --json did not list both demo processes"
json_check "$ALL" <"$OUT/j1" >"$OUT/t1" || fail "--json (first): $(cat "$OUT/j1")"
sleep 0.3
"$STAT" --json "$NODE_A.*" "$NODE_B.*" >"$OUT/j2" || fail "vpcfwd-stat --json (second)"
json_check "$ALL" <"$OUT/j2" >"$OUT/t2" || fail "--json (second): $(cat "$OUT/j2")"
while IFS== read -r name v2; do
	v1=$(grep "^$name=" "$OUT/t1" | cut -d= -f2)
	((v2 > v1)) || fail "$name: ticks did not grow in 0.3 s ($v1 -> $v2)"
done <"$OUT/t2"

# Filters: a pattern on node.proc, on proc alone (with -N), and -N alone.
"$STAT" --json "$NODE_A.*" | json_check "$NODE_A.alpha=running" >/dev/null ||
	fail "pattern '$NODE_A.*' did not select $NODE_A.alpha alone"
"$STAT" --json -N "$NODE_B" 'bet?' | json_check "$NODE_B.beta=running" >/dev/null ||
	fail "-N $NODE_B 'bet?' did not select $NODE_B.beta alone"
"$STAT" -N "$NODE_A" >"$OUT/text" || fail "-N $NODE_A exited non-zero"
grep -q "^$NODE_A\.alpha .*pid $DEMO_A .*running" "$OUT/text" ||
	fail "text heading of $NODE_A.alpha: $(cat "$OUT/text")"
grep -Eq '^  ticks +[0-9]+ +counter +' "$OUT/text" ||
	fail "text counter line: $(cat "$OUT/text")"
if grep -q "$NODE_B" "$OUT/text"; then
	fail "-N $NODE_A printed $NODE_B"
fi

# Watch: two refreshes a second apart; the second has a rate for ticks.
"$STAT" -w 1 -n 2 -N "$NODE_A" >"$OUT/watch" || fail "-w 1 -n 2 exited non-zero"
[[ $(grep -c "^$NODE_A\.alpha " "$OUT/watch") == 2 ]] ||
	fail "-w 1 -n 2 did not refresh twice: $(cat "$OUT/watch")"
grep -Eq '^  ticks +[0-9]+ +[0-9]+\.[0-9]/s +counter' "$OUT/watch" ||
	fail "-w 1 -n 2 printed no rate for ticks: $(cat "$OUT/watch")"
if grep -Eq '^  ticks +[0-9]+ +0\.0/s' "$OUT/watch"; then
	fail "-w: ticks rate is 0 while the demo counts: $(cat "$OUT/watch")"
fi

# Watch exits 0 on SIGINT.
"$STAT" -w 5 -N "$NODE_A" >/dev/null &
WATCH=$!
PIDS+=("$WATCH")
sleep 0.3
kill -INT "$WATCH"
rc=0
wait "$WATCH" || rc=$?
forget "$WATCH"
((rc == 0)) || fail "-w: exit status $rc after SIGINT, expected 0"

# A process killed with -9 leaves its segment, shown as STALE.
kill -9 "$DEMO_A"
wait "$DEMO_A" 2>/dev/null || true
forget "$DEMO_A"
"$STAT" --json "$NODE_A.*" "$NODE_B.*" |
	json_check "$NODE_A.alpha=STALE,$NODE_B.beta=running" >/dev/null ||
	fail "after kill -9, $NODE_A.alpha is not STALE (or $NODE_B.beta not running)"
"$STAT" -N "$NODE_A" >"$OUT/text" || fail "-N $NODE_A exited non-zero after kill -9"
grep -q "^$NODE_A\.alpha .* STALE " "$OUT/text" ||
	fail "text output does not say STALE for $NODE_A.alpha"

# A filter that matches nothing: a message on stderr, status 1, an empty --json array.
rc=0
"$STAT" "$NODE_A.nosuch" >/dev/null 2>"$OUT/err" || rc=$?
((rc == 1)) || fail "a pattern matching nothing exited $rc, expected 1"
grep -q "matches" "$OUT/err" || fail "no message for a pattern matching nothing"
rc=0
"$STAT" --json -N "sc$$-none" >"$OUT/empty" 2>/dev/null || rc=$?
((rc == 1)) || fail "-N with no segments exited $rc, expected 1"
python3 -c 'import json, sys; assert json.load(sys.stdin) == []' <"$OUT/empty" ||
	fail "--json matching nothing is not []: $(cat "$OUT/empty")"

# Bad options: status 2.
rc=0
"$STAT" --no-such-option >/dev/null 2>&1 || rc=$?
((rc == 2)) || fail "a bad option exited $rc, expected 2"

echo "stats_cli.sh: ok"
