#!/usr/bin/env bash
# etcd_unsure: a change whose commit etcd did not answer for sure (controller.store =
# "etcd", docs/cluster.md) is settled by the controller, never answered "maybe": three
# members in a namespace of the test's own; the controller reaches one follower, through
# a proxy (tests/py/etcdproxy.py) that can swallow the answer to one txn.
#
#  1. the answer to a committed txn lost (the proxy swallows it): the controller times
#     out (controller.etcd.timeout), sends the txn again, finds by the commit's id in the
#     log that the first try landed, and acknowledges the change, once (the VPC's
#     version grew by one, etcd_unsure_landed 1);
#  2. the etcd leader stopped (SIGSTOP) under a change: the follower's proposal to it is
#     lost and the request times out; the controller sends the txn again once a new
#     leader is elected, and acknowledges the change, once.
#
# Before the fix (before etcd_unsure was counted) both changes were refused with
# "etcd did not commit in time ... may or may not be committed", the first one committed.
#
#	BUILD=build bash tests/etcd_unsure.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init etcd_unsure

RUN=u$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
PROXY=127.0.0.1:2390
for b in vpcfwd-controller vpcfwdctl vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
command -v etcd >/dev/null || t_fail "etcd is not installed (make deps)"
t_node "$RUN-c"
t_netns "$NS"
t_etcd "$NS" 3

# member INDEX LEADER? of each member, by etcdctl
leader()
{
	local i

	for i in 0 1 2; do
		ip netns exec "$NS" etcdctl --endpoints "${T_ETCD_URLS[i]}" --command-timeout 1s \
		    endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
sys.exit(0 if s["leader"] == s["header"]["member_id"] else 1)' 2>/dev/null && { echo "$i"; return; }
	done
	return 1
}
# A new cluster may elect twice: the leader is the one found, in the same call.
L=
t_until 10 "an etcd leader" eval 'L=$(leader)'
F=$(((L + 1) % 3))
t_spawn PX ip netns exec "$NS" python3 "$PY/etcdproxy.py" "$PROXY" "${T_ETCD_URLS[F]#http://}" \
    "$T_OUT/arm" >"$T_OUT/proxy.txt" 2>"$T_OUT/proxy.log"
t_wait_for "$T_OUT/proxy.txt" ready 10 "$PX"

cat >"$T_OUT/c.conf" <<EOF
node = "$RUN-c";
log_level = "info";
controller = {
	data_dir = "$T_OUT/c";
	api_socket = "$T_OUT/c.sock";
	listen = "127.0.0.1:7401";
	tls = false;
	store = "etcd";
	etcd = {
		endpoints = ["http://$PROXY"];
		timeout = "1s";
	};
};
EOF
ctl()
{
	"$BUILD/bin/vpcfwdctl" -s "$T_OUT/c.sock" -t 20 "$@"
}
t_spawn CPID ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/c.conf" \
    2>>"$T_OUT/c.log"
t_until 20 "the controller's socket" eval 'ctl vpc list >/dev/null'
ctl vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
ctl host create h1 --vtep 192.168.0.1 >/dev/null
version()
{
	ctl --json vpc show blue | python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])'
}

# 1. The answer to a committed txn lost.
v0=$(version)
touch "$T_OUT/arm"
out=$(ctl vm create v1 --vpc blue --ip 10.0.0.1 --host h1 2>&1) ||
	t_fail "a change whose answer etcd lost was refused: $out"
[[ ! -e $T_OUT/arm ]] || t_fail "the proxy swallowed no answer: the test tested nothing"
[[ $(version) -eq $((v0 + 1)) ]] || t_fail "blue's version went from $v0 to $(version), not +1"
[[ $(t_stat "$RUN-c" controller etcd_unsure) -eq 1 &&
    $(t_stat "$RUN-c" controller etcd_unsure_landed) -eq 1 ]] ||
	t_fail "etcd_unsure $(t_stat "$RUN-c" controller etcd_unsure), etcd_unsure_landed" \
	    "$(t_stat "$RUN-c" controller etcd_unsure_landed): not 1 and 1"
echo "etcd_unsure: a txn's answer lost: the change acknowledged once (found committed by its id)"

# 2. The leader stopped under a change.
v0=$(version)
kill -STOP "${T_ETCD_PIDS[L]}"
t0=${EPOCHREALTIME/./}
out=$(ctl vm create v2 --vpc blue --ip 10.0.0.2 --host h1 2>&1) || {
	kill -CONT "${T_ETCD_PIDS[L]}"
	t_fail "a change under the leader's loss was refused: $out"
}
t1=${EPOCHREALTIME/./}
kill -CONT "${T_ETCD_PIDS[L]}"
[[ $(version) -eq $((v0 + 1)) ]] || t_fail "blue's version went from $v0 to $(version), not +1"
[[ $(t_stat "$RUN-c" controller etcd_unsure) -eq 2 ]] ||
	t_fail "etcd_unsure $(t_stat "$RUN-c" controller etcd_unsure), not 2: the leader's" \
	    "loss did not make the commit unsure, the test tested nothing"
[[ $(t_stat "$RUN-c" controller etcd_unsure_landed) -eq 1 ]] ||
	t_fail "the commit under the leader's loss was found landed by its first try"
ctl vm show v1 >/dev/null && ctl vm show v2 >/dev/null
echo "etcd_unsure: the leader (member $L) stopped under a change: acknowledged once after" \
    "$(((t1 - t0) / 1000)) ms"
echo "etcd_unsure: ok"
