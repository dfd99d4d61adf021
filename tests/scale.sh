#!/usr/bin/env bash
# scale: bench/scale's phases, short (issue 12): a real controller holding 100,000 VMs
# of one VPC on 1,000 hosts, two real gateways (rule-store and syncd, checking MACs)
# and 1,000 learners: 4 real learner processes and 996 simulated ones (bench/fleet.h:
# the real protocol, a socket each).
# bench/scale itself fails when a rule-store does not catch up after a start, a kill -9
# of the controller or of a rule-store; when a change does not reach every learner; or
# when a killed syncd's learners do not all move to the other. Here, on its rows:
# nothing timed is judged (performance is bench/'s), only what must hold at any speed:
# every phase ran, each learner took every change (fan-out rows exist), the failover
# moved them all, and a gateway's table costs at most 128 bytes a rule (issue 12; not
# under ASan, whose memory it would be).
#
#	make build/bench/scale && BUILD=build bash tests/scale.sh
set -euo pipefail

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init scale

[ -x "$BUILD/bench/scale" ] || t_fail "no $BUILD/bench/scale (make shell-test builds it)"
if ! "$BUILD/bench/scale" -s 100k -H 1000 -c 3 -o "$T_OUT/scale.json" \
    >"$T_OUT/scale.log" 2>&1; then
	t_fail "bench/scale -s 100k -H 1000 failed"
fi
# Under ASan a process's memory is mostly the sanitizer's (shadow, redzones, quarantine):
# its bytes a rule say nothing of the table's.
MEMCHECK=1
if [[ $(ldd "$BUILD/bench/scale") == *libasan* ]]; then MEMCHECK=0; fi
MEMCHECK=$MEMCHECK python3 - "$T_OUT/scale.json" <<'EOF' || t_fail "rows of bench/scale (see $T_OUT/scale.log)"
import json, sys

rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
want = ["gateway_fill_s", "gateway_bytes_per_rule", "controller_restart_s",
        "controller_restart_resume_s", "gateway_resume_s", "fanout_p50_ms",
        "fanout_p99_ms", "fanout_last_ms", "fanout_real_p50_ms", "fanout_real_last_ms",
        "failover_s", "failover_peak_requests_per_s"]
missing = [w for w in want if w + "_100k" not in rows]
if missing:
    sys.exit("scale: FAIL: no rows " + ", ".join(missing))
import os
bpr = rows["gateway_bytes_per_rule_100k"]["value"]
if os.environ["MEMCHECK"] == "1" and not 0 < bpr <= 128:
    sys.exit("scale: FAIL: a gateway's table costs %.1f bytes a rule (at most 128)" % bpr)
EOF
grep -q "^fan-out: 996 simulated learners .* and 4 real learner processes" \
    "$T_OUT/scale.log" || t_fail "the fan-out did not run with 996 + 4 learners"
grep -q "failover: survivor req_limited 0," "$T_OUT/scale.log" ||
	t_fail "the surviving syncd rate-limited learners that moved to it"
echo "scale: ok ($(grep -c . "$T_OUT/scale.log") lines of bench/scale, in $SECONDS s)"
