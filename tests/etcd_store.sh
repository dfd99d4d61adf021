#!/usr/bin/env bash
# etcd_store: two controllers on one etcd cluster of three members (controller.store =
# "etcd", docs/cluster.md), with a rule-store, in a network namespace of their own:
#  1. random changes through both controllers at once, on hosts they share (so their
#     transactions race): every acknowledged change is there, once, seen alike by both
#     controllers, and some races were lost and run again (etcd_conflicts);
#  2. the rule-store streams from controller 1; killed, controller 1 leaves it to
#     controller 2, which resumes it from the seq it applied: no snapshot, and its table
#     equals the rules;
#  3. the etcd leader killed -9 under a stream of changes: changes go on through the
#     others, and nothing acknowledged is lost;
#  4. etcd's history compacted past a stopped controller's view: it starts again from a
#     snapshot of etcd (etcd_snapshots) and holds the same state;
#  5. a controller refuses to start on a prefix of another format.
#
#	BUILD=build bash tests/etcd_store.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init etcd_store

RUN=t$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
TABLE=$BUILD/bin/vpcfwd-table
for b in vpcfwd-controller vpcfwd-rule-store vpcfwdctl vpcfwd-table vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
command -v etcd >/dev/null || t_fail "etcd is not installed (make deps)"
t_node "$RUN-c1" "$RUN-c2" "$RUN-c3" "$RUN-gw"
t_netns "$NS"
t_etcd "$NS" 3

# conf N: controller N's settings (API socket c<N>.sock, stream port 7400 + N).
conf()
{
	cat <<EOF
node = "$RUN-c$1";
log_level = "info";
controller = {
	data_dir = "$T_OUT/c$1";
	api_socket = "$T_OUT/c$1.sock";
	listen = "127.0.0.1:$((7400 + $1))";
	log_retention = 100000;
	heartbeat_interval = "200ms";
	tls = false;
$(t_etcd_conf 'defrag_min_bytes = 1;')
};
EOF
}
conf 1 >"$T_OUT/c1.conf"
conf 2 >"$T_OUT/c2.conf"
cat >"$T_OUT/gw.conf" <<EOF
node = "$RUN-gw";
log_level = "info";
rule_store = {
	controllers = ["127.0.0.1:7401", "127.0.0.1:7402"];
	table_capacity = 50000;
	table_max_vnis = 64;
	controller_timeout = "1s";
	reconnect_min = "50ms";
	reconnect_max = "300ms";
	tls = false;
};
EOF

declare -A CPID
start_controller()
{
	t_spawn "CPID[$1]" ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" \
	    -c "$T_OUT/c$1.conf" 2>>"$T_OUT/c$1.log"
	t_until 20 "controller $1's socket" ctl "$1" vpc list
}
ctl()
{
	local n=$1

	shift
	"$BUILD/bin/vpcfwdctl" -s "$T_OUT/c$n.sock" "$@" >/dev/null
}
# views_agree: both controllers list the same VPCs, hosts and VMs.
views_agree()
{
	local what

	for what in "vpc list" "host list" "vm list"; do
		# shellcheck disable=SC2086
		[[ $("$BUILD/bin/vpcfwdctl" -s "$T_OUT/c1.sock" --json $what) == \
		    "$("$BUILD/bin/vpcfwdctl" -s "$T_OUT/c2.sock" --json $what)" ]] || return 1
	done
}
synced()
{
	[[ $(t_stat "$RUN-gw" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-c$1" controller log_seq) ]]
}

start_controller 1
start_controller 2

# 1. Both controllers at once. churn.py makes VPCs of its own per seed, but the hosts
# (h0..h2) are shared: every VM change rewrites its host's record, so the two race.
ctl 1 host create h0 --vtep 192.168.0.10
ctl 2 host create h1 --vtep 192.168.0.11
ctl 1 host create h2 --vtep 192.168.0.12
(cd "$PY" && python3 churn.py "$T_OUT/c1.sock" 1 600 "$T_OUT/model1.json" 2 3) \
    >"$T_OUT/churn1.log" 2>&1 &
C1=$!
(cd "$PY" && python3 churn.py "$T_OUT/c2.sock" 2 600 "$T_OUT/model2.json" 2 3) \
    >"$T_OUT/churn2.log" 2>&1 &
C2=$!
wait "$C1" || t_fail "churn through controller 1 failed: $(tail -3 "$T_OUT/churn1.log")"
wait "$C2" || t_fail "churn through controller 2 failed: $(tail -3 "$T_OUT/churn2.log")"
t_until 5 "both controllers' views agreeing" views_agree
for n in 1 2; do
	for m in 1 2; do
		(cd "$PY" && python3 compare.py vms "$T_OUT/c$n.sock" "$T_OUT/model$m.json")
	done
done
"$BUILD/bin/vpcfwdctl" -s "$T_OUT/c1.sock" --json host list | python3 -c '
import json, sys
h = {x["name"]: x["vms"] for x in json.load(sys.stdin)}
m = [json.load(open(f)) for f in sys.argv[1:]]
n = {}
for model in m:
    for v in model.values():
        n[v["host"]] = n.get(v["host"], 0) + 1
assert all(h[k] == n.get(k, 0) for k in h), (h, n)
' "$T_OUT/model1.json" "$T_OUT/model2.json" || t_fail "the hosts' VM counts do not add up"
conflicts=$(( $(t_stat "$RUN-c1" controller etcd_conflicts) +
    $(t_stat "$RUN-c2" controller etcd_conflicts) ))
((conflicts > 0)) || t_fail "1200 changes on shared hosts through two controllers, no race lost"
echo "two controllers, 1200 changes at once: all there once, $conflicts races lost and run again"

# 2. A rule-store moves from controller 1 to 2 and resumes where it was.
t_spawn GW ip netns exec "$NS" "$BUILD/bin/vpcfwd-rule-store" -c "$T_OUT/gw.conf" \
    2>>"$T_OUT/gw.log"
gw_up()
{
	"$BUILD/bin/vpcfwd-stat" -N "$RUN-gw" rule-store >/dev/null
}
t_until 10 "the rule-store's counters" gw_up
t_until 10 "the rule-store catching up with controller 1" synced 1
snaps=$(t_stat "$RUN-c2" controller snapshots)
t_kill "${CPID[1]}"
ctl 2 vm create moved1 --vpc s2v0 --ip 10.116.254.200 --host h1
t_until 10 "the rule-store catching up with controller 2" synced 2
[[ $(t_stat "$RUN-c2" controller snapshots) -eq $snaps ]] ||
	t_fail "the rule-store took a snapshot from controller 2 instead of resuming"
python3 "$PY/compare.py" tables "$T_OUT/c2.sock" "$TABLE" "$RUN-gw"
echo "rule-store moved to controller 2 and resumed at its seq, no snapshot"

# 3. The leader killed under changes: they go on through the other members.
leader()
{
	local i

	for i in 0 1 2; do
		ip netns exec "$NS" etcdctl --endpoints "${T_ETCD_URLS[i]}" endpoint status \
		    -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
sys.exit(0 if s["leader"] == s["header"]["member_id"] else 1)' && { echo "$i"; return; }
	done
	return 1
}
L=$(leader) || t_fail "no etcd leader"
(cd "$PY" && python3 churn.py "$T_OUT/c2.sock" 3 300 "$T_OUT/model3.json" 1 3) \
    >"$T_OUT/churn3.log" 2>&1 &
C3=$!
sleep 1
t_kill "${T_ETCD_PIDS[L]}"
wait "$C3" || t_fail "churn with the etcd leader killed failed: $(tail -3 "$T_OUT/churn3.log")"
(cd "$PY" && python3 compare.py vms "$T_OUT/c2.sock" "$T_OUT/model3.json")
t_until 10 "the rule-store catching up" synced 2
python3 "$PY/compare.py" tables "$T_OUT/c2.sock" "$TABLE" "$RUN-gw"
echo "etcd leader (member $L) killed -9 under 300 changes: none acknowledged lost"

# 4. Compaction past a stopped view: the controller starts from a snapshot.
# A commit in flight when the leader died can wait out etcd's request timeout (about 7 s)
# and the controller's own (5 s) before its retry settles it, and the controller's loop
# waits with it (etcd calls block it): more than vpcfwdctl's default 5 s.
for i in $(seq 1 30); do
	ctl 2 -t 20 vm create late$i --vpc s2v0 --ip "10.116.254.$i" --host h2
done
rev=$(t_stat "$RUN-c2" controller etcd_revision)
live=${T_ETCD_URLS[$(( (L + 1) % 3 ))]}
ip netns exec "$NS" etcdctl --endpoints "$live" compact "$rev" >/dev/null
start_controller 1
t_until 10 "controller 1 catching up" views_agree
[[ $(t_stat "$RUN-c1" controller etcd_snapshots) -eq 1 ]] ||
	t_fail "controller 1 did not load its view from a snapshot after the compaction"
echo "history compacted past controller 1's view: it started from a snapshot, views agree"
defrags()
{
	(($(t_stat "$RUN-c1" controller etcd_defrags) + \
	    $(t_stat "$RUN-c2" controller etcd_defrags) > 0))
}
t_until 10 "a member defragmented after the compaction" defrags
echo "a member defragmented after the compaction ($(grep -h defragmenting "$T_OUT"/c?.log |
    head -1 | sed 's/.*info: //'))"

# 5. Another format under the prefix: refused, saying so.
sed 's|endpoints = |prefix = "/other/";\n\t\tendpoints = |' "$T_OUT/c1.conf" >"$T_OUT/c3.conf"
sed -i "s|$T_OUT/c1|$T_OUT/c3|g; s|127.0.0.1:7401|127.0.0.1:7403|; s|$RUN-c1|$RUN-c3|" \
    "$T_OUT/c3.conf"
ip netns exec "$NS" etcdctl --endpoints "$live" put /other/meta/format "vpcfwd schema 0" \
    >/dev/null
if ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/c3.conf" \
    2>"$T_OUT/c3.log"; then
	t_fail "a controller started on a prefix of another format"
fi
grep -q "holds records of another format" "$T_OUT/c3.log" ||
	t_fail "the refusal does not say why: $(cat "$T_OUT/c3.log")"
echo "a prefix of another format: refused, saying why"
echo "etcd_store: ok"
