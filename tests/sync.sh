#!/usr/bin/env bash
# sync: the sync protocol end to end (DESIGN.md §2-§4, §7): a controller, two gateways
# (rule-store + syncd) and two hosts' learners from etc/test/, in a network namespace of
# their own; learn requests come from tests/stress/learn_push, playing the gateway's
# forwarder. All sync traffic (requests, answers, LEARNs) goes through tests/py/udpchaos.py,
# a relay that impairs it on demand (this kernel may have no sch_netem).
#  1. a rule is learned, then changed, deleted and migrated: each learner holds exactly
#     the controller's state of the rules it learned (long-poll brings the changes);
#  2. with 20% loss, reordering and duplicates on the sync path, learners converge, and
#     a reader of a learner's cache never sees a rule's version go back;
#  3. a VPC whose history is reset makes its learners relearn;
#  4. a gateway killed: learners move to the other;
#  5. a learner and a syncd killed with -9 in the middle of syncing resume.
#
#	BUILD=build bash tests/sync.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init sync

RUN=y$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
TABLE=$BUILD/bin/vpcfwd-table
SOCK=$T_OUT/controller.sock
CTL=("$BUILD/bin/vpcfwdctl" -s "$SOCK")
for b in bin/vpcfwd-controller bin/vpcfwd-rule-store bin/vpcfwd-syncd bin/vpcfwd-learner \
    bin/vpcfwdctl bin/vpcfwd-table tests/learn_push tests/cache_watch tests/rule_wait; do
	[[ -x $BUILD/$b ]] || t_fail "$BUILD/$b not built (make BUILD=$BUILD)"
done
t_node "$RUN-ctl" "$RUN-gw1" "$RUN-gw2" "$RUN-host1" "$RUN-host2"
t_netns "$NS"
t_pki controller:ctl gateway:gw1 gateway:gw2 host:host1 host:host2
for f in controller gw1 gw2 host1 host2; do
	sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" "etc/test/$f.conf" >"$T_OUT/$f.conf"
done

# ip netns exec execs: a process spawned through it keeps the pid t_spawn saw
IN_NS=(ip netns exec "$NS")

ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}

declare -A PID
# start NAME PROCESS CONF
start()
{
	t_spawn "PID[$1]" "${IN_NS[@]}" "$BUILD/bin/vpcfwd-$2" -c "$T_OUT/$3.conf" 2>>"$T_OUT/$1.log"
}

stop()
{
	t_kill "${PID[$1]}"
}

synced()
{
	[[ $(t_stat "$RUN-$1" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-ctl" controller log_seq) ]]
}

# learners COUNTER: the sum of both learners' COUNTER
learners()
{
	echo $(($(t_stat "$RUN-host1" learner "$1") + $(t_stat "$RUN-host2" learner "$1")))
}

# above N CMD...: CMD prints a number above N
above()
{
	(($("${@:2}") > $1))
}

# timed HOST VNI IP CTL_ARGS...: make a change with vpcfwdctl and say how soon HOST's
# cache had it (the CLI's own time included)
timed()
{
	local w t0 from to at

	t_spawn w "${IN_NS[@]}" "$BUILD/tests/rule_wait" "$RUN-$1" "$2" "$3" 10000 \
	    >"$T_OUT/wait.out" 2>"$T_OUT/wait.log"
	t_wait_for "$T_OUT/wait.out" ready 5 "$w"
	t0=$EPOCHREALTIME
	"${CTL[@]}" "${@:4}" >/dev/null
	wait "$w" || t_fail "$*: $(cat "$T_OUT/wait.log")"
	t_forget "$w"
	read -r from to at < <(tail -1 "$T_OUT/wait.out")
	printf '  %s: in %s'"'"'s cache (version %s -> %s) %.1f ms after the command\n' \
	    "${*:4}" "$1" "$from" "$to" "$(echo "($at - $t0) * 1000" | bc)"
}

# move VM HOST OTHER: migrate VM to HOST, or to OTHER when it is on HOST already
move()
{
	"${CTL[@]}" vm migrate "$1" --host "$2" >/dev/null 2>&1 ||
	    "${CTL[@]}" vm migrate "$1" --host "$3" >/dev/null
}

# learn GW VNI IP HOST_VTEP: a frame from that host reached gateway GW with the learn bit
learn()
{
	"${IN_NS[@]}" "$BUILD/tests/learn_push" "$RUN-$1" "$2" "$3" "$4"
}

# holds HOST VPC IP...: the learner of HOST holds exactly the controller's state of these
holds()
{
	python3 "$PY/compare.py" learned "$SOCK" "$TABLE" "$RUN-$1" "${@:2}"
}

# converge HOST VPC IP...: wait (a bound far above any normal time) until holds, and say
# how long it took
converge()
{
	local t0=$EPOCHREALTIME end=$((${EPOCHREALTIME/./} + 20000000))

	until holds "$@" 2>/dev/null; do
		if ((${EPOCHREALTIME/./} > end)); then
			holds "$@" || true
			"$BUILD/bin/vpcfwd-stat" -N "$RUN-$1" >&2 || true
			t_fail "$1 did not converge on $2 within 20 s"
		fi
		sleep 0.1
	done
	printf '  %s converged on %s in %.0f ms\n' "$1" "$2" \
	    "$(echo "($EPOCHREALTIME - $t0) * 1000" | bc)"
}

t_spawn CHAOS "${IN_NS[@]}" python3 "$PY/udpchaos.py" --loss 0.2 --dup 0.1 --delay 30 \
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
# learners sync blue (100) with gateway 2 and red (201) with gateway 1 (procs/learner/gateways.c)
"${CTL[@]}" vpc create red --vni 201 --cidr 10.0.0.0/16 >/dev/null
"${CTL[@]}" host create host1 --vtep 127.0.0.21 >/dev/null
"${CTL[@]}" host create host2 --vtep 127.0.0.22 >/dev/null
"${CTL[@]}" host create host3 --vtep 127.0.0.23 >/dev/null
"${CTL[@]}" vm create a1 --vpc blue --ip 10.0.0.1 --host host1 >/dev/null
"${CTL[@]}" vm create b1 --vpc blue --ip 10.0.0.2 --host host2 >/dev/null
"${CTL[@]}" vm create b2 --vpc blue --ip 10.0.0.3 --host host2 >/dev/null
"${CTL[@]}" vm create r1 --vpc red --ip 10.0.0.2 --host host1 >/dev/null
t_until 10 "gateway 1 catching up" synced gw1
t_until 10 "gateway 2 catching up" synced gw2

# 1. Learn, then change, delete, migrate.
learn gw1 100 10.0.0.2 127.0.0.21
learn gw2 100 10.0.0.3 127.0.0.21
learn gw1 100 10.0.0.1 127.0.0.22
learn gw2 201 10.0.0.2 127.0.0.22
converge host1 blue 10.0.0.2 10.0.0.3
converge host2 blue 10.0.0.1
converge host2 red 10.0.0.2
timed host1 100 10.0.0.2 vm migrate b1 --host host3
converge host1 blue 10.0.0.2 10.0.0.3
timed host1 100 10.0.0.3 vm delete b2
converge host1 blue 10.0.0.2 10.0.0.3
timed host2 100 10.0.0.1 vm migrate a1 --host host3
converge host2 blue 10.0.0.1
[[ $(t_stat "$RUN-gw1" syncd park_woken) -gt 0 || \
    $(t_stat "$RUN-gw2" syncd park_woken) -gt 0 ]] || t_fail "no parked request was woken"
echo "learned, then a change, a delete and migrations reached the learners (long-poll)"

# 2. Loss, reordering and duplicates on the sync path (the controller's TCP streams are
# spared).
ips=()
for i in $(seq 10 49); do
	"${CTL[@]}" vm create "c$i" --vpc blue --ip "10.0.1.$i" --host host2 >/dev/null
	ips+=("10.0.1.$i")
done
t_until 10 "gateway 1 catching up" synced gw1
for ip in "${ips[@]}"; do
	learn "gw$((RANDOM % 2 + 1))" 100 "$ip" 127.0.0.21
done
converge host1 blue "${ips[@]}"
t_spawn WATCH "${IN_NS[@]}" "$BUILD/tests/cache_watch" "$RUN-host1" 100 >"$T_OUT/watch.out" \
    2>"$T_OUT/watch.log"
t_wait_for "$T_OUT/watch.out" watching 5 "$WATCH"
kill -USR1 "$CHAOS"
# Migrations, and LEARNs of the same rules racing the answers that carry their changes.
for round in $(seq 200); do
	i=$((RANDOM % 40 + 10))
	move "c$i" host2 host3
	if ((round % 4 == 0)); then
		learn gw1 100 "10.0.1.$i" 127.0.0.21
		learn gw2 100 "10.0.1.$i" 127.0.0.21
	fi
done
for i in 10 11 12 13 14; do
	"${CTL[@]}" vm delete "c$i" >/dev/null
done
converge host1 blue "${ips[@]}"
kill -USR2 "$CHAOS"
t_until 5 "the relay's report" grep -q "^relayed" "$T_OUT/chaos.out"
read -r _ _ _ dropped _ duplicated _ reordered < <(grep "^relayed" "$T_OUT/chaos.out")
((dropped > 0 && duplicated > 0 && reordered > 0)) ||
    t_fail "the relay did not impair: $(grep "^relayed" "$T_OUT/chaos.out")"
kill -TERM "$WATCH"
wait "$WATCH" || t_fail "a rule's version went back: $(tail -1 "$T_OUT/watch.log")"
t_forget "$WATCH"
echo "under loss, reordering and duplicates ($(grep "^relayed" "$T_OUT/chaos.out")):"
echo "  converged, $(tail -1 "$T_OUT/watch.out")"

# 3. A VPC whose history is reset: its learners relearn.
before=$(learners relearns)
timed host1 100 10.0.1.20 vpc reset blue
t_until 10 "both learners relearning blue" above "$((before + 1))" learners relearns
for i in 15 16 17 18 19 20; do
	learn "gw$((i % 2 + 1))" 100 "10.0.1.$i" 127.0.0.21
done
learn gw2 100 10.0.0.1 127.0.0.22
converge host1 blue 10.0.1.15 10.0.1.16 10.0.1.17 10.0.1.18 10.0.1.19 10.0.1.20
converge host2 blue 10.0.0.1
echo "a reset VPC made its learners flush and relearn"

# 4. A gateway killed: the learners move to the other (blue's learners leave gateway 2,
# red's leave gateway 1).
for g in gw1 gw2; do
	downs=$(learners gateway_downs)
	stop "$g-sd"
	stop "$g-rs"
	move c20 host2 host3
	move a1 host1 host3
	move r1 host1 host3
	converge host1 blue 10.0.1.20
	converge host2 blue 10.0.0.1
	converge host2 red 10.0.0.2
	t_until 10 "a learner marking $g down" above "$downs" learners gateway_downs
	start "$g-rs" rule-store "$g"
	start "$g-sd" syncd "$g"
	t_until 10 "$g catching up again" synced "$g"
done
echo "each gateway killed in turn: the learners moved to the other"

# 5. A learner and a syncd killed with -9 in the middle of syncing.
movers=()
for i in 15 16 17 18 19; do
	move "c$i" host3 host2 &
	movers+=($!)
done
stop host1
wait "${movers[@]}"
start host1 learner host1
t_until 5 "host1 resuming from the versions in its cache" \
    grep -q "resuming sync of" "$T_OUT/host1.log"
converge host1 blue 10.0.1.15 10.0.1.16 10.0.1.17 10.0.1.18 10.0.1.19
# Counters outlive a restart (their segment stays): count LEARNs from what was sent before.
sent=$(t_stat "$RUN-gw1" syncd learn_tx)
for g in gw1 gw2; do
	stop "$g-sd"
	move c21 host2 host3
	start "$g-sd" syncd "$g"
done
# A restarted syncd sends a host LEARNs once that host's authenticated requests told it
# where the host is (a probe within gateway_probe): ask again until one goes out, as a
# forwarder does every learn_interval.
learn_sent()
{
	learn gw1 100 10.0.1.21 127.0.0.21
	(($(t_stat "$RUN-gw1" syncd learn_tx) > sent))
}
t_until 5 "gw1's restarted syncd sending host1 a LEARN" learn_sent
converge host1 blue 10.0.1.20 10.0.1.21
echo "a learner and each syncd killed with -9: resumed, converged"
echo "sync: ok"
