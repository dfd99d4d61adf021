#!/usr/bin/env bash
# systemd_caps: every process runs with exactly the capabilities its systemd unit gives it
# (etc/systemd/vpcfwd-<proc>@.service, docs/systemd.md) and the network works: a
# controller, gateway1, host1 and host2 in network namespaces (tests/e2e/topo.sh), each
# process started through a wrapper that applies its unit's CapabilityBoundingSet=
# (setpriv --bounding-set: they run as root, as the units do, so the bounding set is
# what they hold), NoNewPrivileges=, MemoryDenyWriteExecute= (the kernel's
# PR_SET_MDWE, the same refusal systemd's seccomp filter makes),
# RestrictAddressFamilies= and SystemCallArchitectures= (a seccomp filter:
# tests/py/unitexec.py) and UMask=. The settings are read from the unit files, so the
# test and the units cannot drift apart.
#
#  1. every process holds its unit's set (CapEff, CapBnd of /proc/PID/status) and
#     no_new_privs; b1 (host1) and b2 (host2) ping each other, through a gateway and
#     then direct (both hosts learned the other's rule);
#  2. each capability of the forwarder's set is needed: host1 restarted with its
#     forwarder lacking it, b1 cannot reach b2 (the forwarder fails or cannot make b1's
#     TAP); with the whole set again it can. CAP_NET_RAW is AF_XDP's: in the socket
#     mode (make test's E2E_IO=socket pass) it is shown not needed, and with no
#     E2E_IO (forwarder.io "auto") that the forwarder falls back to the socket.
#
# LimitMEMLOCK=infinity (the forwarder's: AF_XDP's UMEM is pinned memory, charged
# without CAP_IPC_LOCK to the user, root, against the process's limit) is applied when
# this shell may raise the limit. Where it may not (a container without
# CAP_SYS_RESOURCE), the three forwarders get forwarder.buffers = 768 and
# xdp_ring_size = 256 (1.5 MB of UMEM each) to fit together under the limit there is,
# and the test says so.
#
#	BUILD=build bash tests/e2e/systemd_caps.sh		(as root; E2E_IO=socket|xdp)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/common.bash"
e2e_init systemd_caps y
command -v setpriv >/dev/null || t_fail "no setpriv (util-linux)"
command -v capsh >/dev/null || t_fail "no capsh (libcap2-bin)"

UNITS=$TOPO_SRC/etc/systemd
PROCS=(controller rule-store syncd learner forwarder)

# unit_get PROC KEY: the value of KEY= in PROC's unit, exactly one such line
unit_get()
{
	local f=$UNITS/vpcfwd-$1@.service lines

	[[ -f $f ]] || t_fail "no $f"
	lines=$(grep -c "^$2=" "$f") || true
	((lines == 1)) || t_fail "$f: $lines lines $2=, not 1"
	sed -n "s/^$2=//p" "$f"
}

# unit_caps PROC: PROC's capabilities, lower case without cap_, sorted, one a line
unit_caps()
{
	local c

	for c in $(unit_get "$1" CapabilityBoundingSet); do
		[[ $c =~ ^CAP_[A-Z_]+$ ]] || t_fail "vpcfwd-$1@.service: '$c' is not a capability"
		c=${c#CAP_}
		echo "${c,,}"
	done | sort
}

# wrap PROC [DROP]: $T_OUT/cap/bin/vpcfwd-PROC runs the real one as its unit would,
# less capability DROP (cap_... or CAP_...); the supervisors run these (BUILD points at
# $T_OUT/cap, every other program there a link to the real one).
wrap()
{
	local p=$1 drop=${2:-} bset=-all c umask memlock fams
	local w=$T_OUT/cap/bin/vpcfwd-$p real
	local -a caps

	drop=${drop,,}
	drop=${drop#cap_}
	real=$(readlink -f "$BUILD/bin/vpcfwd-$p")
	mapfile -t caps < <(unit_caps "$p")
	for c in "${caps[@]}"; do
		[[ $c == "$drop" ]] || bset+=",+$c"
	done
	[[ $(unit_get "$p" NoNewPrivileges) == yes ]] || t_fail "vpcfwd-$p@: NoNewPrivileges not yes"
	[[ $(unit_get "$p" MemoryDenyWriteExecute) == yes ]] ||
		t_fail "vpcfwd-$p@: MemoryDenyWriteExecute not yes"
	[[ $(unit_get "$p" SystemCallArchitectures) == native ]] ||
		t_fail "vpcfwd-$p@: SystemCallArchitectures not native"
	fams=$(unit_get "$p" RestrictAddressFamilies)
	[[ $fams =~ ^AF_[A-Z0-9]+( AF_[A-Z0-9]+)*$ ]] ||
		t_fail "vpcfwd-$p@: RestrictAddressFamilies=$fams is not an allow-list"
	umask=$(unit_get "$p" UMask)
	memlock=
	if grep -q '^LimitMEMLOCK=infinity$' "$UNITS/vpcfwd-$p@.service"; then
		memlock='ulimit -l unlimited 2>/dev/null || true'
	fi
	rm -f "$w"
	cat >"$w" <<-EOF
	#!/bin/bash
	umask $umask
	$memlock
	exec "$E2E_PYTHON" "$E2E_PY/unitexec.py" "$fams" setpriv --no-new-privs \\
	    --inh-caps=-all --bounding-set=$bset -- "$real" "\$@"
	EOF
	chmod 755 "$w"
}

mkdir -p "$T_OUT/cap/bin"
for b in "$BUILD"/bin/*; do
	ln -s "$(readlink -f "$b")" "$T_OUT/cap/bin/${b##*/}"
done
for p in "${PROCS[@]}"; do
	wrap "$p"
done
TOPO_BIN=$T_OUT/cap/bin
if [[ $(ulimit -l) != unlimited ]] && ! (ulimit -l unlimited 2>/dev/null); then
	echo "systemd_caps: note: RLIMIT_MEMLOCK cannot be raised past $(ulimit -Hl) kB here" \
	    "(LimitMEMLOCK=infinity): forwarder.buffers = 768, xdp_ring_size = 256"
	for n in gateway1 host1 host2; do
		E2E_SED[$n]="s/^\tbuffers = [0-9]*;/\tbuffers = 768;/
s/^forwarder = {/forwarder = {\n\txdp_ring_size = 256;/"
	done
fi

# One gateway: the hosts' files name only it. With gateway2 named too, a VPC assigned to
# it is sent there until the learners find it down (three unanswered requests, 2.5 s),
# and b1's first pings, sooner on a fast machine, were lost.
for n in host1 host2; do
	E2E_SED[$n]+="${E2E_SED[$n]:+$'\n'}s/, \"${TOPO_IP[gateway2]}:4806\"//"
done
e2e_cluster gateway1 host1 host2
grep -F "${TOPO_IP[gateway2]}" "${TOPO_CONF[host1]}" >/dev/null &&
	t_fail "host1's file still names gateway2"
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2

# 1. Each process: its unit's set, effective and bounding, and no_new_privs.
declare -A ROLE=([controller]="controller" [gateway1]="rule-store syncd forwarder"
    [host1]="learner forwarder" [host2]="learner forwarder")
for n in controller gateway1 host1 host2; do
	for p in ${ROLE[$n]}; do
		pid=$(e2e_pid "$n" "$p")
		[[ $pid =~ ^[0-9]+$ ]] || t_fail "$n's $p: no pid ($pid)"
		want=$(unit_caps "$p" | paste -sd, -)
		for f in CapEff CapBnd; do
			mask=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$pid/status")
			got=$(capsh --decode="$mask" | sed 's/^0x[0-9a-f]*=\{0,1\}//' | tr , '\n' |
			    sed 's/^cap_//' | sort | paste -sd, -)
			[[ $got == "$want" ]] ||
				t_fail "$n's $p (pid $pid): $f is '$got', its unit's '$want'"
		done
		grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$pid/status" ||
			t_fail "$n's $p (pid $pid): no no_new_privs"
		grep -q '^Seccomp:[[:space:]]*2$' "/proc/$pid/status" ||
			t_fail "$n's $p (pid $pid): no seccomp filter (RestrictAddressFamilies)"
		echo "systemd_caps: $n's $p holds {${want}} as its unit says"
	done
done

topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
topo_vm_exec b1 ping -n -c 3 -i 0.2 -W 2 10.0.0.2 >/dev/null || t_fail "b1 cannot ping b2"
topo_vm_exec b2 ping -n -c 3 -i 0.2 -W 2 10.0.0.1 >/dev/null || t_fail "b2 cannot ping b1"
# shellcheck disable=SC2016
t_until 10 "host1 learning b2, host2 b1" \
    eval '[[ -n $(e2e_rule_vtep host1 100 10.0.0.2) && -n $(e2e_rule_vtep host2 100 10.0.0.1) ]]'
echo "systemd_caps: b1 <-> b2 via gateway1, then direct, every process on its unit's" \
    "set ($(e2e_elapsed) s)"

# 2. Each of the forwarder's capabilities is needed (on host1: b1's TAP and its
# underlay).
pings()
{
	topo_vm_exec b1 ping -n -c 3 -i 0.2 -W 1 10.0.0.2 >/dev/null 2>&1
}
mapfile -t FCAPS < <(unit_caps forwarder)
((${#FCAPS[@]} > 0)) || t_fail "the forwarder's unit gives it no capability"
for c in "${FCAPS[@]}"; do
	topo_stop host1 >/dev/null || t_fail "cannot stop host1"
	wrap forwarder "$c"
	started=yes
	topo_start host1 >/dev/null 2>&1 || started=no
	if [[ $c == net_raw && ${E2E_IO:-} != xdp ]]; then
		# AF_XDP's: the socket mode does without, "auto" (no E2E_IO) falls back to it.
		[[ $started == yes ]] || t_fail "host1's forwarder does not start without cap_$c"
		t_until 15 "b1 reaching b2 with host1's forwarder lacking cap_$c" pings
		[[ $(topo_stat host1 forwarder io_xdp) == 0 ]] ||
			t_fail "host1's forwarder on the socket shows io_xdp $(topo_stat host1 forwarder io_xdp)"
		# And its log since it started says so.
		if awk '/forwarder: started pid/ { n = NR } { l[NR] = $0 }
		    END { for (i = n; i <= NR; i++) print l[i] }' \
		    "$TOPO_DIR/host1/log/forwarder.log" | grep 'underlay: AF_XDP' >/dev/null; then
			t_fail "host1's forwarder on AF_XDP without cap_$c"
		fi
		echo "systemd_caps: cap_$c is not needed by forwarder.io =" \
		    "\"${E2E_IO:-auto}\" (AF_XDP's; auto falls back to the socket without it)"
	else
		sleep 1
		if pings; then
			t_fail "b1 reaches b2 with host1's forwarder lacking cap_$c: not needed?"
		fi
		why=$(grep -hiE "error|cannot|fatal|not permitted|denied" \
		    "$TOPO_DIR/host1/log/forwarder.log" | tail -1 | cut -c1-150)
		echo "systemd_caps: without cap_$c host1's forwarder (started: $started) fails" \
		    "b1: ${why:-no error logged}"
	fi
	topo_stop host1 >/dev/null || t_fail "cannot stop host1"
	wrap forwarder
	topo_start host1 >/dev/null || t_fail "cannot start host1 with the whole set again"
	t_until 15 "b1 reaching b2 again with the forwarder's whole set" pings
done
echo "systemd_caps: each of the forwarder's {$(paste -sd, - < <(unit_caps forwarder))}" \
    "needed ($(e2e_elapsed) s)"
