#!/usr/bin/env bash
# evict: eviction, live (issue 12, item 5), short: bench/evict at a cap of 20,000 rules
# instead of 500,000 (bench/evict's header says what runs: a controller, two gateways,
# a host with its learner and forwarder and a VM, real; the destination hosts
# simulated). The host's learner (cache_max_rules 20000, cache_max_age 2s,
# evict_interval 200ms) is fed past its cap by LEARNs while its VM keeps 500 flows in
# use whose rules it learned first, so the oldest by update time. Fails when a flow in
# use loses a datagram or goes through a gateway (lost its rule meanwhile), when
# nothing was evicted, when the cache ends above its cap plus the flows in use, or
# when a fed rule is kept while a newer one went (beyond the LEARNs lost on the way):
# bench/evict checks each and exits 1, and its rows are checked here. Twice:
#
#  A. a table with room past the cap (bench/evict's default);
#  B. a table no larger than the cap (the learner's defaults, 500000 both): eviction
#     must start short of a full table (before it did not: nothing evicted).
#
# Nothing timed is judged (bench/'s rows carry the loop trips and the memory).
#
#	make build/bench/evict && BUILD=build bash tests/e2e/evict.sh	(as root)
set -euo pipefail

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
t_init evict

CAP=20000
FLOWS=500
[[ -x $BUILD/bench/evict ]] || t_fail "no $BUILD/bench/evict (make shell-test builds it)"
[[ -x $BUILD/tests/storm_peer ]] || t_fail "no $BUILD/tests/storm_peer (make)"

# run NAME ARGS...: bench/evict, its rows in $T_OUT/NAME.json, checked.
run()
{
	local name=$1
	shift
	if ! "$BUILD/bench/evict" -c "$CAP" -f "$FLOWS" -v 2000 -r 10000 -H 100 -b 1 "$@" \
	    -o "$T_OUT/$name.json" >"$T_OUT/$name.log" 2>&1; then
		grep "^evict: " "$T_OUT/$name.log" >&2 || true
		t_fail "$name: bench/evict $* failed (see above)"
	fi
	python3 - "$T_OUT/$name.json" "$CAP" "$FLOWS" <<'PY' ||
import json, sys

rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
cap, flows, sfx = int(sys.argv[2]), int(sys.argv[3]), "_%dk" % (int(sys.argv[2]) // 1000)
want = ["evict_max_loop_us", "evict_feed_max_loop_us", "evict_loop_slow_per_s",
        "evict_memory_end_bytes", "evict_rules_per_s", "evict_flow_packets_lost",
        "evict_flows_via_gateway", "evict_cache_end_rules", "evict_kept_not_newest"]
missing = [w for w in want if w + sfx not in rows]
if missing:
    sys.exit("no rows " + ", ".join(missing))
v = {w: rows[w + sfx]["value"] for w in want}
if rows["evict_flow_packets_lost" + sfx]["baseline_value"] == 0:
    sys.exit("the VM sent nothing to its flows")
if v["evict_flow_packets_lost"] != 0:
    sys.exit("%d datagrams of the flows in use lost" % v["evict_flow_packets_lost"])
if v["evict_flows_via_gateway"] != 0:
    sys.exit("%d flows in use went via a gateway" % v["evict_flows_via_gateway"])
if not v["evict_rules_per_s"] > 0:
    sys.exit("nothing evicted")
if v["evict_cache_end_rules"] > cap + flows:
    sys.exit("the cache ends at %d rules" % v["evict_cache_end_rules"])
PY
		t_fail "$name: a row of bench/evict (see $T_OUT/$name.log)"
	grep "^evict: fed " "$T_OUT/$name.log"
}

run roomy -n 50000
run tight -n 30000 -T "$CAP"
echo "evict: ok (in $SECONDS s)"
