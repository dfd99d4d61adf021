#!/usr/bin/env bash
# controller: the controller, two rule-stores and vpcfwdctl, started from etc/test/ in a
# network namespace of their own (DESIGN.md §7 for the faults):
#  1. VPCs, hosts and VMs made with vpcfwdctl show up in its --json listings and in both
#     gateways' tables, which record the controller's epoch with their seq; a learner's
#     binding feed; subscribers refused: by TLS, and one of stream version 1;
#  2. each bad invocation fails with one clear line and a non-zero status, and changes
#     nothing;
#  3. the controller killed with -9 again and again under a stream of changes loses none
#     it acknowledged;
#  4. a rule-store killed with -9 in the middle of loading a snapshot converges;
#  5. after thousands of random changes both tables equal the controller's rules;
#  6. the controller moved to the rule-stores' other address: both follow it.
#  7. a VPC emptied with `vpcfwdctl delete` in batches (one refused deletes nothing) and
#     deleted.
#
#	BUILD=build bash tests/controller.sh		(STORE=etcd: on etcd)
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init "controller${STORE:+-$STORE}"

RUN=t$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
TABLE=$BUILD/bin/vpcfwd-table
SOCK=$T_OUT/controller.sock
CTL=("$BUILD/bin/vpcfwdctl" -s "$SOCK")
for b in vpcfwd-controller vpcfwd-rule-store vpcfwdctl vpcfwd-table vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
t_node "$RUN-ctl" "$RUN-gw1" "$RUN-gw2"
t_netns "$NS"
t_pki controller:ctl gateway:gw1 gateway:gw2 host:host1 host:host2
for f in controller gw1 gw2; do
	sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" "etc/test/$f.conf" >"$T_OUT/$f.conf"
done
# STORE=etcd (tests/controller_etcd.sh): the same suite, the controller on one etcd member.
if [[ ${STORE:-lmdb} == etcd ]]; then
	t_etcd "$NS" 1
	# The suite's imports are 5,000 VMs a txn: seconds on a busy 2-CPU machine.
	T_ETCD_TIMEOUT=30s t_etcd_conf >"$T_OUT/etcd.conf"
	sed -i "/^\ttls_key/r $T_OUT/etcd.conf" "$T_OUT/controller.conf"
fi

ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}

start_controller()
{
	t_spawn CTL_PID ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" \
	    -c "$T_OUT/controller.conf" 2>>"$T_OUT/controller.log"
	t_until 5 "the controller's socket" ctl_up
}

start_gw()
{
	local -n pid=GW$1_PID

	t_spawn "GW$1_PID" ip netns exec "$NS" "$BUILD/bin/vpcfwd-rule-store" \
	    -c "$T_OUT/gw$1.conf" 2>>"$T_OUT/gw$1.log"
	: "$pid"
}

# synced NODE: the node's rule-store applied everything the controller logged.
synced()
{
	[[ $(t_stat "$RUN-gw$1" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-ctl" controller log_seq) ]]
}

json_check()
{
	python3 -c "import json, sys; d = json.load(sys.stdin); $1" ||
		t_fail "$2"
}

start_controller
start_gw 1
start_gw 2

# 1. Listings and tables.
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
"${CTL[@]}" vpc create red --vni 200 --cidr 10.0.0.0/16 --cidr 172.16.0.0/24 >/dev/null
"${CTL[@]}" host create host1 --vtep 192.168.0.11 >/dev/null
"${CTL[@]}" host create host2 --vtep 192.168.0.12 >/dev/null
"${CTL[@]}" host create ext1 --vtep 192.168.0.50 --kind external >/dev/null
"${CTL[@]}" vm create web1 --vpc blue --ip 10.0.0.5 --host host1 >/dev/null
"${CTL[@]}" vm create web2 --vpc blue --ip 10.0.0.6 --host host2 --mac 02:aa:00:00:00:06 >/dev/null
"${CTL[@]}" vm create db1 --vpc red --ip 10.0.0.5 --host host2 --tap vmdb1 >/dev/null
"${CTL[@]}" vm migrate web1 --host host2 >/dev/null
"${CTL[@]}" --json vpc list | json_check '
v = {x["name"]: x for x in d}
assert v["blue"]["vni"] == 100 and v["blue"]["vms"] == 2 and v["blue"]["version"] == 3, v
assert v["red"]["cidrs"] == ["10.0.0.0/16", "172.16.0.0/24"] and v["red"]["vms"] == 1, v
assert v["blue"]["gen"] != 0' "vpc list --json does not show both VPCs as made"
"${CTL[@]}" --json host list | json_check '
h = {x["name"]: x for x in d}
assert h["ext1"]["kind"] == "external" and h["host2"]["vms"] == 3 and h["host1"]["vms"] == 0, h
' "host list --json is wrong"
"${CTL[@]}" --json vm list --vpc blue | json_check '
m = {x["name"]: x for x in d}
assert set(m) == {"web1", "web2"}, m
assert m["web1"]["host"] == "host2" and m["web1"]["vtep"] == "192.168.0.12", m
assert m["web1"]["mac"] == "02:00:0a:00:00:05" and m["web2"]["mac"] == "02:aa:00:00:00:06", m
assert m["web1"]["tap"] == "vfweb1", m' "vm list --json --vpc blue is wrong"
"${CTL[@]}" --json rule list red 10.0.0.5 | json_check '
assert len(d) == 1 and d[0]["vtep"] == "192.168.0.12" and d[0]["op"] == "set", d
' "rule list red 10.0.0.5 is wrong"
t_until 5 "gateway 1 catching up" synced 1
t_until 5 "gateway 2 catching up" synced 2
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1" "$RUN-gw2"
# The history their seq belongs to: the controller's (its log names it at start).
for g in gw1 gw2; do
	epoch=$("$TABLE" --json -N "$RUN-$g" | python3 -c \
	    'import json, sys; print(json.load(sys.stdin)["applied_epoch"])')
	[[ $epoch =~ ^[0-9a-f]{16}$ ]] && grep -q "epoch $epoch" "$T_OUT/controller.log" ||
		t_fail "$g's table records epoch '$epoch', not the controller's"
done
echo "listings and both tables agree; both record the controller's epoch"

# 1b. A learner's binding feed: host1's VMs, then each change as it commits.
t_spawn FEED ip netns exec "$NS" python3 "$PY/feed.py" 127.0.0.1:7400 learner1 host1 2 \
    --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/pki/host-host1" \
    >"$T_OUT/feed.records.log" 2>"$T_OUT/feed.log"
t_until 5 "the binding feed's snapshot" grep -q snap_end "$T_OUT/feed.records.log"
"${CTL[@]}" vm create app1 --vpc red --ip 172.16.0.7 --host host1 >/dev/null
"${CTL[@]}" vm migrate app1 --host host2 >/dev/null
t_until 5 "the binding feed's two changes" [ "$(grep -c '"bind"' "$T_OUT/feed.records.log")" = 2 ]
wait "$FEED" || t_fail "the binding feed client failed: $(cat "$T_OUT/feed.log")"
t_forget "$FEED"
json_check '
# No VM on host1 yet; every host of the cluster (the vswitch allow-list), then the end.
h = [e for e in d[1:4] if e["type"] == "host"]
assert d[0]["type"] == "snap_begin" and d[0]["count"] == len(h) == 3, d[:5]
assert d[0]["epoch"] != "0" * 16, d[0]
assert all(e["op"] == "add" and e["seq"] == d[0]["seq"] for e in h), h
assert d[4]["type"] == "snap_end", d[4]
b = [e for e in d if e["type"] == "bind"]
assert b[0]["op"] == "add" and b[0]["ip"] == "172.16.0.7" and b[0]["vni"] == 200, b
assert b[0]["tap"] == "vfapp1" and b[0]["mac"] == "02:00:ac:10:00:07", b
assert b[1]["op"] == "del" and b[1]["ip"] == "172.16.0.7", b
' "host1's binding feed is wrong: $(cat "$T_OUT/feed.records.log")" \
    < <(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in sys.stdin]))' \
    <"$T_OUT/feed.records.log")
echo "binding feed: host1's snapshot, a VM bound, then moved away"

# 1c. TLS (docs/protocol.md): who may not read is refused, and counted. Each client
# must fail saying why, and the controller's counter must move by exactly one.
"$T_PKI_TOOL" "$T_OUT/other" ca >/dev/null
"$T_PKI_TOOL" "$T_OUT/other" gateway gw1 >/dev/null
# denied COUNTER WANT ARGS...: feed.py with ARGS fails saying WANT; COUNTER goes up by 1
denied()
{
	local counter=$1 want=$2 before after rc=0

	shift 2
	before=$(t_stat "$RUN-ctl" controller "$counter")
	ip netns exec "$NS" timeout 10 python3 "$PY/feed.py" 127.0.0.1:7400 intruder "$@" \
	    >"$T_OUT/denied.out" 2>&1 || rc=$?
	[[ $rc -eq 1 ]] || t_fail "feed.py $* was not refused (status $rc): $(cat "$T_OUT/denied.out")"
	grep -q -- "$want" "$T_OUT/denied.out" ||
		t_fail "feed.py $* said '$(cat "$T_OUT/denied.out")', not '$want'"
	t_until 5 "$counter counting feed.py $*" \
	    [ "$(t_stat "$RUN-ctl" controller "$counter")" -eq $((before + 1)) ]
}
denied tls_failed "feed: " host1 1
denied tls_failed "feed: tls:" host1 1 --ca "$T_OUT/pki/ca.crt"
denied tls_failed "feed: tls:" host1 1 --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/other/gateway-gw1"
denied subs_unauthorized "host:host1 may not read the rule log" host1 1 \
    --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/pki/host-host1" --rules
denied subs_unauthorized "host:host1 may not read the binding feed of host host2" host2 1 \
    --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/pki/host-host1"
denied subs_unauthorized "gateway:gw1 may not read the binding feed" host1 1 \
    --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/pki/gateway-gw1"
echo "TLS: no certificate, another CA's, plaintext, a host asking for the rule log or" \
    "another host's feed, a gateway asking for a feed: each refused and counted"
# A subscriber of stream version 1 (a HELLO without the epoch): told why in version 1.
denied subs_wrong_version \
    "refused: this controller speaks stream version 2, not 1: upgrade the subscriber" \
    host1 1 --ca "$T_OUT/pki/ca.crt" --cert "$T_OUT/pki/host-host1" --wire-version 1
grep -q "subscription of host:host1 refused: this controller speaks stream version 2, not 1" \
    "$T_OUT/controller.log" || t_fail "the controller did not log the version 1 subscriber"
echo "a subscriber of stream version 1: refused in its own version, saying why, counted"

# 2. Bad invocations: one line each, non-zero, nothing changed. web3's MAC is the one
# 10.0.0.7 would get by default.
"${CTL[@]}" vm create web3 --vpc blue --ip 10.0.0.20 --host host1 --mac 02:00:0a:00:00:07 \
    >/dev/null
state()
{
	{
		"${CTL[@]}" --json vpc list
		"${CTL[@]}" --json host list
		"${CTL[@]}" --json vm list
		"${CTL[@]}" --json rule list blue
		"${CTL[@]}" --json rule list red
	}
}
before=$(state)
nbad=0
while IFS='|' read -r args want; do
	[[ -n $args ]] || continue
	nbad=$((nbad + 1))
	rc=0
	# shellcheck disable=SC2086
	"${CTL[@]}" $args >"$T_OUT/bad.out" 2>"$T_OUT/bad.err" || rc=$?
	lines=$(wc -l <"$T_OUT/bad.err")
	[[ $rc -ne 0 ]] || t_fail "vpcfwdctl $args succeeded"
	[[ $lines -eq 1 ]] || t_fail "vpcfwdctl $args printed $lines lines on stderr: $(cat "$T_OUT/bad.err")"
	grep -qF -- "$want" "$T_OUT/bad.err" ||
		t_fail "vpcfwdctl $args said '$(cat "$T_OUT/bad.err")', not '$want'"
done <<'EOF'
vm create x --vpc nosuch --ip 10.0.0.9 --host host1|unknown VPC nosuch
vm create x --vpc blue --ip 10.9.0.9 --host host1|outside VPC blue
vm create x --vpc blue --ip 10.0.0.6 --host host1|10.0.0.6
vm create x --vpc blue --ip 10.0.0.9 --host nosuch|unknown host nosuch
vm create x --vpc blue --ip 10.0.0.9 --host host1 --mac 01:00:00:00:00:01|mac
vm create x --vpc blue --ip 10.0.0.9 --host host1 --mac 02:aa:00:00:00:06|02:aa:00:00:00:06
vm create x --vpc blue --ip 10.0.0.300 --host host1|ip
vm create web1 --vpc blue --ip 10.0.0.9 --host host1|exists
vm create x --vpc blue --ip 10.0.0.9 --host host2 --tap vfweb2|vfweb2
vm create x --vpc blue --ip 10.0.0.9 --host host1 --tap ..|tap .. is not an interface name
vpc create green --vni 100 --cidr 10.1.0.0/16|VNI 100
vpc create green --vni 16777216 --cidr 10.1.0.0/16|vni
vpc create green --vni 0 --cidr 10.1.0.0/16|vni
vpc create green --vni 300 --cidr 10.1.0.1/16|10.1.0.1/16
vpc create green --vni 300 --cidr 10.1.0.0/16 --cidr 10.1.128.0/17|overlap
vpc create green --vni 300 --cidr 10.1.0.0/16 --cidr 224.1.0.0/16|224.0.0.0/4 (multicast)
vpc create green --vni 300 --cidr 127.0.0.0/8|127.0.0.0/8 (loopback)
vpc create blue --vni 300 --cidr 10.1.0.0/16|exists
vpc create bad/name --vni 300 --cidr 10.1.0.0/16|name
vpc delete blue|still has
vpc delete nosuch|unknown VPC nosuch
host create host3 --vtep 192.168.0.11|192.168.0.11
host create host3 --vtep 1.2.3|vtep
host create host3 --vtep 192.168.0.13 --kind weird|kind
host delete host2|still has
vm migrate web1 --host host2|already on host host2
vm migrate nosuch --host host1|unknown VM nosuch
vm delete nosuch|unknown VM nosuch
rule list blue 10.9.0.1|outside
rule list nosuch|unknown VPC nosuch
vm frobnicate|frobnicate
host create host3 --vtep 0.0.0.0|vtep 0.0.0.0 is in 0.0.0.0/8 ("this network"), not a host's
host create host3 --vtep 0.1.2.3|vtep 0.1.2.3 is in 0.0.0.0/8
host create host3 --vtep 224.0.0.1|vtep 224.0.0.1 is a multicast address, not a host's
host create host3 --vtep 239.1.2.3 --kind external|vtep 239.1.2.3 is a multicast address
host create host3 --vtep 240.0.0.1|vtep 240.0.0.1 is a reserved address (240.0.0.0/4), not a host's
host create host3 --vtep 255.255.255.255|vtep 255.255.255.255 is the broadcast address, not a host's
vm create x --vpc blue --ip 10.0.0.0 --host host1|ip 10.0.0.0 is the network address of 10.0.0.0/16
vm create x --vpc blue --ip 10.0.255.255 --host host1|ip 10.0.255.255 is the broadcast address of 10.0.0.0/16
vm create x --vpc red --ip 172.16.0.255 --host host1|ip 172.16.0.255 is the broadcast address of 172.16.0.0/24
vm create x --vpc red --ip 172.16.0.0 --host host1|ip 172.16.0.0 is the network address of 172.16.0.0/24
vm create x --vpc blue --ip 10.0.0.7 --host host1|mac 02:00:0a:00:00:07 (the default for 10.0.0.7) is VM web3's in VPC blue; give --mac
vm create x --vpc blue --ip 10.0.0.9 --host host1 --mac 02:00:0a:00:00:07|mac 02:00:0a:00:00:07 is VM web3's in VPC blue
vpc create green --vni 0300 --cidr 10.1.0.0/16|vni must be a decimal number (no sign, no leading zero), not 0300
vpc create green --vni -300 --cidr 10.1.0.0/16|vni must be a decimal number (no sign, no leading zero), not -300
vpc create green --vni 300x --cidr 10.1.0.0/16|vni must be a decimal number (no sign, no leading zero), not 300x
vpc create green --vni 99999999999999999999 --cidr 10.1.0.0/16|vni must be 1..16777215, not 99999999999999999999
import --batch 010 /dev/null|batch must be a decimal number (no sign, no leading zero), not 010
import --batch 0 /dev/null|batch must be 1..100000, not 0
EOF
# The API refuses the same, whoever the client: these never pass through vpcfwdctl's checks.
python3 - "$SOCK" <<'EOF' || t_fail "the control API accepted a bad request"
import sys
sys.path.insert(0, "tests/py")
from ctlapi import Api
api = Api(sys.argv[1])
vm = dict(vpc="blue", host="host1")
for req, want in [
    (dict(op="host.create", name="host3", vtep="224.0.0.1"),
     "vtep 224.0.0.1 is a multicast address, not a host's"),
    (dict(op="host.create", name="host3", vtep="0.0.0.0", kind="external"),
     "vtep 0.0.0.0 is in 0.0.0.0/8 (\"this network\"), not a host's"),
    (dict(op="vm.create", name="x", ip="10.0.255.255", **vm),
     "ip 10.0.255.255 is the broadcast address of 10.0.0.0/16"),
    (dict(op="vm.import", vms=[dict(name="x", ip="10.0.0.9", **vm),
                               dict(name="y", ip="10.0.0.0", **vm)]),
     "vms[1]: ip 10.0.0.0 is the network address of 10.0.0.0/16"),
    (dict(op="vm.import", vms=[dict(name="x", ip="10.0.0.7", **vm)]),
     "vms[0]: mac 02:00:0a:00:00:07 (the default for 10.0.0.7) is VM web3's in VPC blue; "
     "give --mac"),
    (dict(op="vpc.create", name="green", vni=-300, cidrs=["10.1.0.0/16"]),
     "vni must be 1..16777215, not -300"),
    (dict(op="vm.create", name="x", ip="10.0.0.9", tap=".", **vm),
     "tap . is not an interface name (Linux refuses \".\" and \"..\")"),
]:
    r = api.call(**req)
    if r["ok"] or r["error"] != want:
        sys.exit("%s: %s, not %r" % (req["op"], r, want))
# Bytes jansson quotes in its error (invalid UTF-8, a control byte): the response is
# still valid JSON, its error one line of printable ASCII.
for body in [b'{"op":"vpc.list", \xde\x97}', b'\xff\x01{', b'{"op":"vpc.list","\x01":1}']:
    r = api.raw(body)
    e = r.get("error", "")
    if r["ok"] or not e.startswith("the request is not a JSON object: ") or \
            any(c < " " or c > "~" for c in e):
        sys.exit("%r: %r" % (body, r))
EOF
[[ $(state) == "$before" ]] || t_fail "a refused invocation changed the controller's state"
rc=0
"$BUILD/bin/vpcfwdctl" -s "$T_OUT/nosuch.sock" vpc list 2>"$T_OUT/bad.err" || rc=$?
[[ $rc -eq 3 ]] || t_fail "an unreachable controller exits $rc, not 3"
echo "$((nbad + 1)) bad invocations and 10 bad API requests refused, one line each, nothing changed"

# 3. The controller killed under a stream of changes.
t_spawn CHURN python3 "$PY/churn.py" "$SOCK" 1 3000 "$T_OUT/model.json" 2>"$T_OUT/churn.log"
kills=0
while kill -0 "$CHURN" 2>/dev/null; do
	sleep "0.$((RANDOM % 3 + 1))"
	kill -0 "$CHURN" 2>/dev/null || break
	t_kill "$CTL_PID"
	kills=$((kills + 1))
	start_controller
done
wait "$CHURN" || t_fail "churn failed: $(tail -2 "$T_OUT/churn.log")"
t_forget "$CHURN"
python3 "$PY/compare.py" vms "$SOCK" "$T_OUT/model.json"
echo "controller killed $kills times under 3000 changes: nothing acknowledged was lost"

# 4. A rule-store killed while it loads a snapshot.
kill -TERM "$GW2_PID"
wait "$GW2_PID" || true
t_forget "$GW2_PID"
python3 - "$SOCK" <<'EOF'
import sys
sys.path.insert(0, "tests/py")
from ctlapi import Api
api = Api(sys.argv[1])
vms = [{"name": "bulk%d" % i, "vpc": "blue", "ip": "10.0.%d.%d" % (100 + i // 250, 1 + i % 250),
        "host": "host1"} for i in range(20000)]
for i in range(0, len(vms), 5000):
    r = api.call(op="vm.import", vms=vms[i:i + 5000])
    assert r["ok"], r
EOF
snap_before=$(t_stat "$RUN-gw2" rule-store snapshot_loads)
for try in 1 2 3 4 5; do
	: >"$T_OUT/gw2.log"
	start_gw 2
	# As soon as it starts loading: polling any slower would let it finish.
	for ((i = 0; i < 20000; i++)); do
		grep -q "loading a snapshot" "$T_OUT/gw2.log" && break
		sleep 0.0005
	done
	t_kill "$GW2_PID"
	grep -q "loaded" "$T_OUT/gw2.log" || break
	echo "the snapshot completed before the kill; again ($try)"
done
grep -q "loaded" "$T_OUT/gw2.log" && t_fail "could not kill gateway 2 in the middle of a snapshot"
start_gw 2
t_until 20 "gateway 2 converging after its kill" synced 2
[[ $(t_stat "$RUN-gw2" rule-store snapshot_loads) -gt $snap_before ]] ||
	t_fail "gateway 2 did not load a snapshot"
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw2"
echo "gateway 2 killed in the middle of a snapshot, restarted, converged"

# 5. Thousands of random changes: both tables equal the controller's rules.
python3 "$PY/churn.py" "$SOCK" 2 10000 "$T_OUT/model2.json" 6 4 2>"$T_OUT/churn.log" ||
	t_fail "churn failed: $(tail -2 "$T_OUT/churn.log")"
t_until 20 "gateway 1 catching up" synced 1
t_until 20 "gateway 2 catching up" synced 2
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1" "$RUN-gw2"
echo "after 10000 random changes both tables equal the controller's rules"

# 6. The controller comes back at the rule-stores' other address: both follow it there
# (the first address of their list, dead until now, is the live one).
declare -A conns=()
for g in 1 2; do
	conns[$g]=$(t_stat "$RUN-gw$g" rule-store reconnects)
done
t_kill "$CTL_PID"
sed 's|127.0.0.1:7400|127.0.0.1:7409|' "$T_OUT/controller.conf" >"$T_OUT/controller-moved.conf"
t_spawn CTL_PID ip netns exec "$NS" "$BUILD/bin/vpcfwd-controller" \
    -c "$T_OUT/controller-moved.conf" 2>>"$T_OUT/controller.log"
t_until 5 "the controller's socket" ctl_up
"${CTL[@]}" vpc create moved --vni 4242 --cidr 172.16.0.0/24 >/dev/null
"${CTL[@]}" host create hmoved --vtep 198.51.100.77 >/dev/null
"${CTL[@]}" vm create vmoved --vpc moved --ip 172.16.0.5 --host hmoved >/dev/null
for g in 1 2; do
	t_until 10 "gateway $g following the controller to 127.0.0.1:7409" synced "$g"
	[[ $(t_stat "$RUN-gw$g" rule-store reconnects) -gt ${conns[$g]} ]] ||
		t_fail "gateway $g did not count its reconnection"
	"$TABLE" -N "$RUN-gw$g" -v 4242 --json | grep '"172.16.0.5"' >/dev/null ||
		t_fail "gateway $g lacks the rule made at the moved controller"
done
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1" "$RUN-gw2"
echo "the controller moved to the rule-stores' other address: both followed it"
# 7. A VPC emptied in bulk: `vpcfwdctl delete FILE` sends the import file's names in
# batches, each one transaction and one version of the VPC; a batch naming a VM that is
# not there deletes nothing; then the VPC can be deleted.
"${CTL[@]}" vpc create bulkdel --vni 4343 --cidr 172.17.0.0/16 >/dev/null
{
	echo "name,vpc,ip,host"
	for ((i = 0; i < 3000; i++)); do
		echo "bd$i,bulkdel,172.17.$((i / 250)).$((i % 250 + 1)),hmoved"
	done
} >"$T_OUT/bulkdel.csv"
"${CTL[@]}" import "$T_OUT/bulkdel.csv" >/dev/null
bulkdel_vms()
{
	"${CTL[@]}" --json vpc show bulkdel |
	    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["vms"], d["version"])'
}
read -r vms version <<<"$(bulkdel_vms)"
[[ $vms -eq 3000 ]] || t_fail "bulkdel holds $vms VMs after the import, not 3000"
{ echo bd0; echo bd1; echo nosuchvm; echo bd2; } >"$T_OUT/bulkdel.names"
rc=0
"${CTL[@]}" delete "$T_OUT/bulkdel.names" 2>"$T_OUT/bad.err" || rc=$?
[[ $rc -eq 1 ]] || t_fail "a delete naming an unknown VM exited $rc, not 1"
grep -q "bulkdel.names:3: unknown VM nosuchvm (delete stopped; nothing deleted)" \
    "$T_OUT/bad.err" || t_fail "the refused delete said '$(cat "$T_OUT/bad.err")'"
rc=0
"${CTL[@]}" vm delete bd0 nosuchvm 2>"$T_OUT/bad.err" || rc=$?
[[ $rc -eq 1 ]] || t_fail "vm delete of an unknown VM among others exited $rc, not 1"
grep -q "unknown VM nosuchvm" "$T_OUT/bad.err" ||
	t_fail "vm delete of an unknown VM said '$(cat "$T_OUT/bad.err")'"
[[ "$(bulkdel_vms)" == "3000 $version" ]] ||
	t_fail "a refused batch changed bulkdel: $(bulkdel_vms), was 3000 $version"
"${CTL[@]}" vm delete bd0 bd1 bd2
"${CTL[@]}" delete --batch 1000 "$T_OUT/bulkdel.csv" 2>"$T_OUT/bad.err" &&
	t_fail "deleting bd0..bd2 twice succeeded"
grep -q "bulkdel.csv:2: unknown VM bd0" "$T_OUT/bad.err" ||
	t_fail "the second delete of bd0 said '$(cat "$T_OUT/bad.err")'"
sed -i '2,4d' "$T_OUT/bulkdel.csv"
"${CTL[@]}" delete --batch 1000 "$T_OUT/bulkdel.csv" >/dev/null
# One version for bd0..bd2, then one a batch: 2997 VMs in 3 batches.
[[ "$(bulkdel_vms)" == "0 $((version + 4))" ]] ||
	t_fail "after the bulk delete bulkdel is '$(bulkdel_vms)', not '0 $((version + 4))'"
"${CTL[@]}" vpc delete bulkdel
for g in 1 2; do
	t_until 10 "gateway $g applying the bulk delete" synced "$g"
done
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1" "$RUN-gw2"
echo "3000 VMs deleted in batches, a batch with an unknown VM deleted nothing, VPC deleted"

# 8. Stopped (SIGTERM) with both rule-stores subscribed: it exits 0. It used to free its
# streams' state first and write to it as each subscriber's connection closed after
# (heap-use-after-free: under SANITIZE=1 the report in controller.log fails the test).
subs_rules() { [[ $(t_stat "$RUN-ctl" controller subs_rules) -eq 2 ]]; }
t_until 10 "both rule-stores subscribed" subs_rules
rc=0
t_stop "$CTL_PID" TERM || rc=$?
((rc == 0)) || t_fail "the controller stopped with 2 subscribers exited $rc"
echo "stopped with both rule-stores subscribed: exit 0"
echo "controller: ok"
