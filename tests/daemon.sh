#!/usr/bin/env bash
# daemon: `-d` detaches a process (the controller here; every process starts through
# common/daemon.c): the launcher returns 0 only once the daemon is ready, the daemon runs
# in a session of its own and logs to syslog (with log_format = "json", each message one
# JSON object); a daemon that cannot start makes the launcher fail with the error on its
# stderr.
#
# The test runs in a mount namespace of its own where /dev is a fresh tmpfs holding the
# host's null, zero, random, urandom and shm, and /dev/log is a socket the test reads: the
# host's syslog (if any) sees nothing.
#
#	BUILD=build bash tests/daemon.sh
set -euo pipefail
if [[ -z ${DAEMON_TEST_NS:-} ]]; then
	exec unshare --mount --propagation private env DAEMON_TEST_NS=1 "$BASH" "$0" "$@"
fi
# Before t_init, whose cleanup removes its directory: nothing of the host's /dev may ever
# sit under a directory that is removed. The nodes are bound aside, then moved onto the
# new /dev.
D=$(mktemp -d -t daemon-dev.XXXXXX)
for n in null zero random urandom; do
	touch "$D/$n"
	mount --bind "/dev/$n" "$D/$n"
done
mkdir "$D/shm"
mount --bind /dev/shm "$D/shm"
mount -t tmpfs -o mode=755 devtmp /dev
for n in null zero random urandom shm; do
	if [[ $n == shm ]]; then mkdir /dev/shm; else touch "/dev/$n"; fi
	mount --move "$D/$n" "/dev/$n"
done
rm -r "$D"
ln -s /proc/self/fd /dev/fd

# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init daemon
RUN=dmn$$

# The syslog: every datagram to /dev/log, a line each in $T_OUT/syslog.
t_spawn SYSLOG python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
print("listening", flush=True)
out = open(sys.argv[1], "a")
while True:
	out.write(s.recv(4096).decode(errors="replace").rstrip("\n") + "\n")
	out.flush()
' "$T_OUT/syslog" >"$T_OUT/syslog.log" 2>&1
t_wait_for "$T_OUT/syslog.log" listening

t_pki controller:ctl
sed -e "s|@RUN@|$RUN|g" -e "s|@DIR@|$T_OUT|g" -e 's|127.0.0.1:7400|127.0.0.1:0|' \
	etc/test/controller.conf >"$T_OUT/ctl.conf"
t_node "$RUN-ctl"
CTL=("$BUILD/bin/vpcfwdctl" -s "$T_OUT/controller.sock")

# -d and -n do not go together.
rc=0
"$BUILD/bin/vpcfwd-controller" -n -d -c "$T_OUT/ctl.conf" 2>"$T_OUT/err" || rc=$?
[[ $rc -eq 2 ]] || t_fail "-n -d: exit $rc, not 2 (usage)"
grep -q "usage: vpcfwd-controller \[-n | -d\] -c FILE" "$T_OUT/err" || t_fail "-n -d: $(cat "$T_OUT/err")"

# Every process says when it is ready, or its launcher would wait forever.
for m in procs/*/main.c; do
	grep -q "daemon_ready();" "$m" || t_fail "$m never calls daemon_ready()"
done

# The launcher returns once the daemon is ready: the API answers at once.
timeout 20 "$BUILD/bin/vpcfwd-controller" -d -c "$T_OUT/ctl.conf" >"$T_OUT/launch.out" 2>"$T_OUT/launch.log" ||
	t_fail "the launcher failed: $(cat "$T_OUT/launch.log")"
"${CTL[@]}" vpc list >/dev/null || t_fail "no API right after the launcher returned"
PID=$(pgrep -xf "\S*vpcfwd-controller -d -c $T_OUT/ctl.conf") || t_fail "no daemon running"
T_PIDS+=("$PID")
grep -q "controller\[$PID\] info: node $RUN-ctl" "$T_OUT/launch.log" ||
	t_fail "the starting daemon did not log to the launcher's stderr: $(cat "$T_OUT/launch.log")"
[[ ! -s $T_OUT/launch.out ]] || t_fail "the launcher printed on stdout"
read -r ppid sid < <(ps -o ppid=,sid= -p "$PID")
[[ $sid -eq $PID ]] || t_fail "the daemon is not a session leader (sid $sid, pid $PID)"
[[ $ppid -ne $$ ]] || t_fail "the daemon is still the test's child"
for fd in 0 1 2; do
	[[ $(readlink "/proc/$PID/fd/$fd") == /dev/null ]] ||
		t_fail "the daemon's fd $fd is $(readlink "/proc/$PID/fd/$fd"), not /dev/null"
done

# Its lines go to syslog, tagged with its name and pid, at their level.
t_wait_for_grep()
{
	t_until 5 "'$1' in syslog" grep -q -- "$1" "$T_OUT/syslog"
}
t_wait_for_grep "controller\[$PID\]: info: node $RUN-ctl"
t_wait_for_grep "controller\[$PID\]: info: started, logging to syslog from now on"
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
[[ $("${CTL[@]}" --json vpc list | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') -eq 1 ]] ||
	t_fail "the daemon did not keep the VPC"

# A second daemon of the same node cannot start: its launcher says why and fails.
rc=0
timeout 20 "$BUILD/bin/vpcfwd-controller" -d -c "$T_OUT/ctl.conf" 2>"$T_OUT/second.log" || rc=$?
[[ $rc -ne 0 ]] || t_fail "a second controller on the same data started"
grep -q "controller\[[0-9]*\] error: .*owned by a running process (pid $PID)" "$T_OUT/second.log" ||
	t_fail "the failed launch did not say why: $(cat "$T_OUT/second.log")"
[[ $(grep -c . "$T_OUT/second.log") -eq 1 ]] || t_fail "more than one line: $(cat "$T_OUT/second.log")"
t_wait_for_grep "controller\[[0-9]*\]: error: .*owned by a running process (pid $PID)"
kill -0 "$PID" || t_fail "the first daemon is gone"

# SIGTERM stops it, and it says so in syslog.
kill -TERM "$PID"
t_until 5 "the daemon's exit" bash -c "! kill -0 $PID 2>/dev/null"
t_wait_for_grep "controller\[$PID\]: info: stopping"

# log_format = "json": syslog's message is the line's JSON object, level and all.
{ echo 'log_format = "json";'; cat "$T_OUT/ctl.conf"; } >"$T_OUT/json.conf"
timeout 20 "$BUILD/bin/vpcfwd-controller" -d -c "$T_OUT/json.conf" 2>"$T_OUT/jlaunch.log" ||
	t_fail "the JSON launcher failed: $(cat "$T_OUT/jlaunch.log")"
PID=$(pgrep -xf "\S*vpcfwd-controller -d -c $T_OUT/json.conf") || t_fail "no JSON daemon running"
T_PIDS+=("$PID")
t_wait_for_grep "controller\[$PID\]: {.*\"msg\":\"started, logging to syslog from now on\"}"
kill -TERM "$PID"
t_until 5 "the JSON daemon's exit" bash -c "! kill -0 $PID 2>/dev/null"
t_wait_for_grep "controller\[$PID\]: {.*\"msg\":\"stopping\"}"
grep "controller\[$PID\]: " "$T_OUT/syslog" | python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    o = json.loads(line.split("]: ", 1)[1])
    assert o["process"] == "controller" and o["pid"] == int(sys.argv[1]), line
    assert o["level"] == "info" and o["node"] == sys.argv[2], line
    n += 1
assert n >= 3, n
' "$PID" "$RUN-ctl" || t_fail "a JSON daemon's syslog line is not its JSON object"
echo "daemon: ok ($(grep -c "controller\[" "$T_OUT/syslog") syslog lines)"
