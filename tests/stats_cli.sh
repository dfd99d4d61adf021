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

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init stats_cli
STAT=$BUILD/bin/vpcfwd-stat
DEMO=$BUILD/tests/stats_demo
NODE_A=sc$$-a
NODE_B=sc$$-b
t_node "$NODE_A" "$NODE_B"

[[ -x $STAT ]] || t_fail "$STAT not built (make BUILD=$BUILD)"
[[ -x $DEMO ]] || t_fail "$DEMO not built (make BUILD=$BUILD)"

t_spawn DEMO_A "$DEMO" "$NODE_A" alpha 1000
t_spawn DEMO_B "$DEMO" "$NODE_B" beta 1000

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
"$STAT" --json "$NODE_A.*" "$NODE_B.*" >"$T_OUT/j1" ||
	t_fail "vpcfwd-stat --json did not list both demo processes"
json_check "$ALL" <"$T_OUT/j1" >"$T_OUT/t1" || t_fail "--json (first): $(cat "$T_OUT/j1")"
sleep 0.3
"$STAT" --json "$NODE_A.*" "$NODE_B.*" >"$T_OUT/j2" || t_fail "vpcfwd-stat --json (second)"
json_check "$ALL" <"$T_OUT/j2" >"$T_OUT/t2" || t_fail "--json (second): $(cat "$T_OUT/j2")"
while IFS== read -r name v2; do
	v1=$(grep "^$name=" "$T_OUT/t1" | cut -d= -f2)
	((v2 > v1)) || t_fail "$name: ticks did not grow in 0.3 s ($v1 -> $v2)"
done <"$T_OUT/t2"

# Filters: a pattern on node.proc, on proc alone (with -N), and -N alone.
"$STAT" --json "$NODE_A.*" | json_check "$NODE_A.alpha=running" >/dev/null ||
	t_fail "pattern '$NODE_A.*' did not select $NODE_A.alpha alone"
"$STAT" --json -N "$NODE_B" 'bet?' | json_check "$NODE_B.beta=running" >/dev/null ||
	t_fail "-N $NODE_B 'bet?' did not select $NODE_B.beta alone"
"$STAT" -N "$NODE_A" >"$T_OUT/text" || t_fail "-N $NODE_A exited non-zero"
grep -q "^$NODE_A\.alpha .*pid $DEMO_A .*running" "$T_OUT/text" ||
	t_fail "text heading of $NODE_A.alpha: $(cat "$T_OUT/text")"
grep -Eq '^  ticks +[0-9]+ +counter +' "$T_OUT/text" ||
	t_fail "text counter line: $(cat "$T_OUT/text")"
if grep -q "$NODE_B" "$T_OUT/text"; then
	t_fail "-N $NODE_A printed $NODE_B"
fi

# Watch: two refreshes a second apart; the second has a rate for ticks.
"$STAT" -w 1 -n 2 -N "$NODE_A" >"$T_OUT/watch" || t_fail "-w 1 -n 2 exited non-zero"
[[ $(grep -c "^$NODE_A\.alpha " "$T_OUT/watch") == 2 ]] ||
	t_fail "-w 1 -n 2 did not refresh twice: $(cat "$T_OUT/watch")"
grep -Eq '^  ticks +[0-9]+ +[0-9]+\.[0-9]/s +counter' "$T_OUT/watch" ||
	t_fail "-w 1 -n 2 printed no rate for ticks: $(cat "$T_OUT/watch")"
if grep -Eq '^  ticks +[0-9]+ +0\.0/s' "$T_OUT/watch"; then
	t_fail "-w: ticks rate is 0 while the demo counts: $(cat "$T_OUT/watch")"
fi

# Watch exits 0 on SIGINT.
t_spawn WATCH "$STAT" -w 5 -N "$NODE_A" >/dev/null
sleep 0.3
rc=0
t_stop "$WATCH" INT || rc=$?
((rc == 0)) || t_fail "-w: exit status $rc after SIGINT, expected 0"

# A process killed with -9 leaves its segment, shown as STALE.
t_kill "$DEMO_A"
"$STAT" --json "$NODE_A.*" "$NODE_B.*" |
	json_check "$NODE_A.alpha=STALE,$NODE_B.beta=running" >/dev/null ||
	t_fail "after kill -9, $NODE_A.alpha is not STALE (or $NODE_B.beta not running)"
"$STAT" -N "$NODE_A" >"$T_OUT/text" || t_fail "-N $NODE_A exited non-zero after kill -9"
grep -q "^$NODE_A\.alpha .* STALE " "$T_OUT/text" ||
	t_fail "text output does not say STALE for $NODE_A.alpha"

# A filter that matches nothing: a message on stderr, status 1, an empty --json array.
rc=0
"$STAT" "$NODE_A.nosuch" >/dev/null 2>"$T_OUT/err" || rc=$?
((rc == 1)) || t_fail "a pattern matching nothing exited $rc, expected 1"
grep -q "matches" "$T_OUT/err" || t_fail "no message for a pattern matching nothing"
rc=0
"$STAT" --json -N "sc$$-none" >"$T_OUT/empty" 2>/dev/null || rc=$?
((rc == 1)) || t_fail "-N with no segments exited $rc, expected 1"
python3 -c 'import json, sys; assert json.load(sys.stdin) == []' <"$T_OUT/empty" ||
	t_fail "--json matching nothing is not []: $(cat "$T_OUT/empty")"

# Bad options: status 2.
rc=0
"$STAT" --no-such-option >/dev/null 2>&1 || rc=$?
((rc == 2)) || t_fail "a bad option exited $rc, expected 2"

echo "stats_cli: ok"
