#!/usr/bin/env bash
# rotate: the sync/learn keys rotated under traffic with no datagram refused and no rule
# lost (docs/protocol.md "Authentication", rotation): a controller, two gateways
# (rule-store + syncd) and two hosts' learners from etc/test/, as tests/sync.sh runs
# them (its relay unimpaired), while VMs move and LEARNs come all along:
#  1. each gateway's syncd restarted in turn with the old and a new secret;
#  2. each learner restarted in turn with both keys: it sends with the new one;
#  3. the old key dropped: each learner, then each syncd, restarted with the new alone.
# After each step both learners hold the controller's state of what they learned, and
# no syncd or learner counted auth_failed.
#
#	BUILD=build bash tests/rotate.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init rotate

RUN=r$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
KG=$BUILD/bin/vpcfwd-keygen
KEYS=$T_OUT/keys
SOCK=$T_OUT/controller.sock
CTL=("$BUILD/bin/vpcfwdctl" -s "$SOCK")
for b in bin/vpcfwd-controller bin/vpcfwd-rule-store bin/vpcfwd-syncd bin/vpcfwd-learner \
    bin/vpcfwdctl bin/vpcfwd-table bin/vpcfwd-keygen tests/learn_push; do
	[[ -x $BUILD/$b ]] || t_fail "$BUILD/$b not built (make BUILD=$BUILD)"
done
t_node "$RUN-ctl" "$RUN-gw1" "$RUN-gw2" "$RUN-host1" "$RUN-host2"
t_netns "$NS"
t_pki controller:ctl gateway:gw1 gateway:gw2 host:host1 host:host2
for f in controller gw1 gw2 host1 host2; do
	sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" "etc/test/$f.conf" >"$T_OUT/$f.conf"
done
IN_NS=(ip netns exec "$NS")

declare -A PID
# start NAME PROCESS CONF
start()
{
	t_spawn "PID[$1]" "${IN_NS[@]}" "$BUILD/bin/vpcfwd-$2" -c "$T_OUT/$3.conf" 2>>"$T_OUT/$1.log"
}

# restart NAME PROCESS CONF: kill -9 and start again (key files are read at start)
restart()
{
	t_kill "${PID[$1]}"
	start "$@"
}

ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}

synced()
{
	[[ $(t_stat "$RUN-$1" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-ctl" controller log_seq) ]]
}

# install FILE CONTENT-FILES...: FILE (mode 0600) becomes the concatenation
install_keys()
{
	local f=$1

	shift
	cat "$@" >"$f.new"
	chmod 600 "$f.new"
	mv "$f.new" "$f"
}

# no_auth_failed: no syncd or learner refused a datagram
no_auth_failed()
{
	local n p

	for n in gw1:syncd gw2:syncd host1:learner host2:learner; do
		p=$(t_stat "$RUN-${n%:*}" "${n#*:}" auth_failed)
		((p == 0)) || t_fail "$n: auth_failed $p during the rotation"
	done
}

# converge: both learners hold the controller's state of what they learned (20 s bound)
converge()
{
	local end=$((${EPOCHREALTIME/./} + 20000000))

	until python3 "$PY/compare.py" learned "$SOCK" "$BUILD/bin/vpcfwd-table" \
	    "$RUN-host1" blue "${IPS[@]}" 2>/dev/null &&
	    python3 "$PY/compare.py" learned "$SOCK" "$BUILD/bin/vpcfwd-table" \
	    "$RUN-host2" blue 10.0.0.1 2>/dev/null; do
		((${EPOCHREALTIME/./} < end)) || t_fail "the learners did not converge: $1"
		sleep 0.1
	done
	no_auth_failed
	echo "rotate: $1: converged, auth_failed 0 everywhere"
}

# Keys of the old secret (id 1, made by t_init) and of a new one (id 2).
for h in host1 host2; do
	cp "$KEYS/$h.key" "$KEYS/$h.old"
done
cp "$KEYS/cluster.secret" "$KEYS/secret.old"
"$KG" secret "$KEYS/secret.new" 2
for h in host1 host2; do
	"$KG" host "$KEYS/secret.new" "$h" "$KEYS/$h.new"
done

t_spawn CHAOS "${IN_NS[@]}" python3 "$PY/udpchaos.py" \
    127.0.0.31:4806=127.0.0.11:4806 127.0.0.32:4806=127.0.0.12:4806 \
    --via 127.0.0.21:4808=127.0.0.21:4807 --via 127.0.0.22:4808=127.0.0.22:4807 \
    >"$T_OUT/chaos.out" 2>"$T_OUT/chaos.log"
t_wait_for "$T_OUT/chaos.out" ready 5 "$CHAOS"
start ctl controller controller
t_until 5 "the controller's socket" ctl_up
for g in gw1 gw2; do
	start "$g-rs" rule-store "$g"
	start "$g-sd" syncd "$g"
done
start host1 learner host1
start host2 learner host2

"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
for h in host1 host2 host3; do
	"${CTL[@]}" host create "$h" --vtep "127.0.0.2${h#host}" >/dev/null
done
"${CTL[@]}" vm create a1 --vpc blue --ip 10.0.0.1 --host host1 >/dev/null
IPS=()
for i in $(seq 10 29); do
	"${CTL[@]}" vm create "c$i" --vpc blue --ip "10.0.1.$i" --host host2 >/dev/null
	IPS+=("10.0.1.$i")
done
t_until 10 "gateway 1 catching up" synced gw1
t_until 10 "gateway 2 catching up" synced gw2
for ip in "${IPS[@]}"; do
	"${IN_NS[@]}" "$BUILD/tests/learn_push" "$RUN-gw$((RANDOM % 2 + 1))" 100 "$ip" 127.0.0.21
done
"${IN_NS[@]}" "$BUILD/tests/learn_push" "$RUN-gw1" 100 10.0.0.1 127.0.0.22
converge "before the rotation"

# Traffic all along: VMs move between host2 and host3, their LEARNs come again, as a
# forwarder asks every learn_interval.
traffic()
{
	local i

	while :; do
		i=$((RANDOM % 20 + 10))
		"${CTL[@]}" vm migrate "c$i" --host host3 >/dev/null 2>&1 ||
		    "${CTL[@]}" vm migrate "c$i" --host host2 >/dev/null 2>&1 || true
		"${IN_NS[@]}" "$BUILD/tests/learn_push" "$RUN-gw$((RANDOM % 2 + 1))" 100 \
		    "10.0.1.$i" 127.0.0.21 >/dev/null 2>&1 || true
		"${IN_NS[@]}" "$BUILD/tests/learn_push" "$RUN-gw$((RANDOM % 2 + 1))" 100 \
		    10.0.0.1 127.0.0.22 >/dev/null 2>&1 || true
		sleep 0.02
	done
}
t_spawn TRAFFIC traffic >/dev/null 2>&1

# 1. Gateways: the old secret and the new one, each syncd restarted in turn.
install_keys "$KEYS/cluster.secret" "$KEYS/secret.old" "$KEYS/secret.new"
for g in gw1 gw2; do
	restart "$g-sd" syncd "$g"
	sleep 1		# traffic on the other gateway while this one comes back
done
converge "gateways hold both secrets"

# 2. Hosts: both keys, the new one last (the one a learner sends with).
for h in host1 host2; do
	install_keys "$KEYS/$h.key" "$KEYS/$h.old" "$KEYS/$h.new"
	restart "$h" learner "$h"
	t_until 5 "$h resuming" grep -q "resuming sync of" "$T_OUT/$h.log"
	sleep 1
done
converge "hosts hold both keys"

# 3. The old key dropped: hosts first, then gateways.
for h in host1 host2; do
	install_keys "$KEYS/$h.key" "$KEYS/$h.new"
	restart "$h" learner "$h"
	sleep 1
done
install_keys "$KEYS/cluster.secret" "$KEYS/secret.new"
for g in gw1 gw2; do
	restart "$g-sd" syncd "$g"
	sleep 1
done
converge "the old key dropped"
t_kill "$TRAFFIC"
converge "traffic stopped"
for n in gw1 gw2; do
	(($(t_stat "$RUN-$n" syncd learn_tx) > 0)) || t_fail "$n sent no LEARN"
done
echo "rotate: ok"
