#!/usr/bin/env bash
# systemd: the units of etc/systemd/ (docs/systemd.md) and the readiness they rely on.
#
#  1. `systemd-analyze verify` says nothing about any unit (every unit's ExecStart
#     rewritten from /usr/sbin to this build's binaries, which verify needs to exist; no
#     systemd running is needed); a unit with a mistake is reported, so silence counts.
#  2. The units agree with the project: one template per process of tools/vpcfwd-supervise's
#     order, each `ExecStart=/usr/sbin/vpcfwd-<proc> -c /etc/vpcfwd/%i.conf`, Type=notify,
#     ordered After= every process before it in that order (of the same node), part of
#     vpcfwd.target; hardened (NoNewPrivileges, ProtectSystem=strict, a bounding set) and
#     without PrivateDevices, PrivateNetwork or PrivateIPC (the processes share /dev/shm).
#     `systemd-analyze security --offline` rates none worse than now (4.9 the
#     forwarder, 3.8 the others). tests/e2e/systemd_caps.sh proves the capability sets.
#  3. Readiness: a controller whose NOTIFY_SOCKET is a datagram socket of the test sends
#     READY=1 exactly once, when its API already answers; one that fails at start (a
#     second controller of the same data) sends nothing.
#
#	BUILD=build bash tests/systemd.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init systemd
command -v systemd-analyze >/dev/null || t_fail "no systemd-analyze (apt install systemd)"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UNITS=$SRC/etc/systemd
BIN=$(cd "$BUILD/bin" && pwd)
mapfile -t PROCS < <(python3 -c '
import ast, re, sys
src = open(sys.argv[1]).read()
m = re.search(r"^PROCS = (\[.*?\])$", src, re.M | re.S)
for name, group in ast.literal_eval(m.group(1)):
    print(name)' "$SRC/tools/vpcfwd-supervise")
[[ ${PROCS[*]} == "controller rule-store syncd learner forwarder" ]] ||
	t_fail "tools/vpcfwd-supervise's order is now '${PROCS[*]}': check the units' After="

# 1. systemd-analyze verify, on copies running this build's binaries.
mkdir "$T_OUT/units"
for f in "$UNITS"/*; do
	sed "s|/usr/sbin/vpcfwd-|$BIN/vpcfwd-|g" "$f" >"$T_OUT/units/${f##*/}"
done
if [[ ! -x $BIN/vpcfwd-exporter ]]; then
	echo "systemd: note: no $BIN/vpcfwd-exporter: its unit verified with a stand-in"
	cp /bin/true "$T_OUT/vpcfwd-exporter"
	sed -i "s|$BIN/vpcfwd-exporter|$T_OUT/vpcfwd-exporter|" "$T_OUT/units/vpcfwd-exporter.service"
fi
# verify VERDICT FILE...: systemd-analyze verify's exit status and output
verify()
{
	local out rc=0

	out=$(cd "$T_OUT" && systemd-analyze verify --man=no "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" >"$T_OUT/verify.out"
	[[ $rc -eq 0 && -z $out ]]
}
mapfile -t FILES < <(ls "$T_OUT"/units/*)
((${#FILES[@]} == ${#PROCS[@]} + 2)) || t_fail "${#FILES[@]} units, not one per process," \
    "the exporter's and the target"
verify "${FILES[@]}" || t_fail "systemd-analyze verify: $(cat "$T_OUT/verify.out")"
for f in "${FILES[@]}"; do
	verify "$f" || t_fail "systemd-analyze verify ${f##*/}: $(cat "$T_OUT/verify.out")"
done
# The check can fail: a unknown key and a missing binary are reported.
sed -e 's/^Type=notify$/Type=notify\nProtectSytem=strict/' "$T_OUT/units/vpcfwd-syncd@.service" \
    >"$T_OUT/units/vpcfwd-bad@.service"
if verify "$T_OUT/units/vpcfwd-bad@.service"; then
	t_fail "systemd-analyze verify took a unit with a misspelt key"
fi
grep -q "Unknown key 'ProtectSytem'" "$T_OUT/verify.out" || t_fail "$(cat "$T_OUT/verify.out")"
sed -i "s|^ExecStart=$BIN/|ExecStart=$T_OUT/nowhere/|" "$T_OUT/units/vpcfwd-bad@.service"
if verify "$T_OUT/units/vpcfwd-bad@.service"; then
	t_fail "systemd-analyze verify took a unit whose binary is missing"
fi
rm "$T_OUT/units/vpcfwd-bad@.service"
echo "systemd: systemd-analyze verify: ${#FILES[@]} units, nothing to say"

# 2. The units and the project.
# get UNIT KEY: the values of KEY= in UNIT, one a line
get()
{
	sed -n "s/^$2=//p" "$UNITS/$1"
}
before=()
for p in "${PROCS[@]}"; do
	u=vpcfwd-$p@.service
	[[ -f $UNITS/$u ]] || t_fail "no etc/systemd/$u"
	[[ $(get "$u" ExecStart) == "/usr/sbin/vpcfwd-$p -c /etc/vpcfwd/%i.conf" ]] ||
		t_fail "$u: ExecStart=$(get "$u" ExecStart)"
	[[ $(get "$u" Type) == notify ]] || t_fail "$u: Type=$(get "$u" Type), not notify"
	[[ $(get "$u" Restart) == on-failure ]] || t_fail "$u: Restart=$(get "$u" Restart)"
	# After=: network-online.target and exactly the processes before it, of its node.
	want="network-online.target"
	for b in "${before[@]}"; do
		want+=" vpcfwd-$b@%i.service"
	done
	[[ $(get "$u" After) == "$want" ]] || t_fail "$u: After=$(get "$u" After), not $want"
	# Order only: a host has no rule-store, a gateway no learner; a process waits for
	# the segments of another by itself (docs/systemd.md).
	[[ -z $(get "$u" Requires)$(get "$u" BindsTo) ]] || t_fail "$u: Requires= or BindsTo="
	[[ $(get "$u" PartOf) == vpcfwd.target && $(get "$u" WantedBy) == vpcfwd.target ]] ||
		t_fail "$u: not part of vpcfwd.target"
	before+=("$p")
done
for u in "${PROCS[@]/#/vpcfwd-}" vpcfwd-exporter; do
	[[ $u == vpcfwd-exporter ]] && u+=.service || u+=@.service
	for kv in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
	    MemoryDenyWriteExecute=yes SystemCallArchitectures=native LockPersonality=yes; do
		[[ $(get "$u" "${kv%%=*}") == "${kv#*=}" ]] || t_fail "$u: not $kv"
	done
	[[ $(grep -c '^CapabilityBoundingSet=' "$UNITS/$u") -eq 1 ]] ||
		t_fail "$u: not exactly one CapabilityBoundingSet="
	for k in PrivateDevices PrivateNetwork PrivateIPC; do
		[[ -z $(get "$u" $k) ]] || t_fail "$u: $k= (the processes share /dev/shm and the host's network)"
	done
done
[[ $(get vpcfwd-controller@.service CapabilityBoundingSet) == "" ]] ||
	t_fail "the controller has capabilities"
# systemd's own rating of the hardening (0 best, 10 worst), offline: no unit may get
# worse than it is now (docs/systemd.md): 4.9 for the forwarder, 3.8 for the others.
for f in "${FILES[@]}"; do
	[[ $f == *.service ]] || continue
	max=40
	[[ $f != */vpcfwd-forwarder@.service ]] || max=50
	out=$(cd "$T_OUT" && systemd-analyze security --offline=yes --threshold=$max \
	    --no-pager "$f" 2>&1) || t_fail "${f##*/}: exposure past $((max / 10)).$((max % 10)):" \
	    "$(tail -1 <<<"$out")"
done
echo "systemd: units of ${PROCS[*]} in that order, and the exporter's, hardened"

# 3. READY=1 once the API answers, and never from a process that fails at start.
RUN=sdn$$
t_pki controller:ctl
sed -e "s|@RUN@|$RUN|g" -e "s|@DIR@|$T_OUT|g" -e 's|127.0.0.1:7400|127.0.0.1:0|' \
	"$SRC/etc/test/controller.conf" >"$T_OUT/ctl.conf"
t_node "$RUN-ctl"
t_spawn NOTIFY python3 -u -c '
import socket, subprocess, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    m = s.recv(4096).decode(errors="replace")
    # Does the API answer now? What READY=1 promises to units ordered after this one.
    api = subprocess.run(sys.argv[2:] + ["vpc", "list"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, timeout=10).returncode == 0
    print("%s api=%s" % (m.replace("\n", "|"), "ok" if api else "no"), flush=True)
' "$T_OUT/notify.sock" "$BIN/vpcfwdctl" -s "$T_OUT/controller.sock" >"$T_OUT/notify.log" 2>&1
t_wait_for "$T_OUT/notify.log" listening
NOTIFY_SOCKET=$T_OUT/notify.sock t_spawn CTL "$BIN/vpcfwd-controller" -c "$T_OUT/ctl.conf" \
    >"$T_OUT/ctl.log" 2>&1
t_until 10 "READY=1 from the controller" grep -q READY=1 "$T_OUT/notify.log"
t_wait_for "$T_OUT/notify.log" "READY=1|STATUS=running api=ok"
# A second one of the same data fails at start, and says nothing to systemd.
rc=0
NOTIFY_SOCKET=$T_OUT/notify.sock timeout 20 "$BIN/vpcfwd-controller" -c "$T_OUT/ctl.conf" \
    >"$T_OUT/second.out" 2>&1 || rc=$?
[[ $rc -eq 1 ]] || t_fail "a second controller of the same data: exit $rc, not 1"
# A datagram of our own after it: one on this socket comes in order, so once the marker is
# read, anything the failed controller sent has been read before it.
python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"MARK", sys.argv[1])' \
    "$T_OUT/notify.sock"
t_wait_for "$T_OUT/notify.log" "MARK api=ok" 10
[[ $(grep -vcE '^(listening|MARK api=ok)$' "$T_OUT/notify.log") -eq 1 ]] ||
	t_fail "not one READY=1: $(cat "$T_OUT/notify.log")"
kill -0 "$CTL" || t_fail "the controller is gone"
echo "systemd: READY=1 once the controller's API answers, none from one that failed"
