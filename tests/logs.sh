#!/usr/bin/env bash
# logs: a real process (the controller) started with log_format = "json" writes only
# JSON lines on stderr, one object a line with time, level, process, node, pid and msg,
# whatever bytes a client put in what it logs (a backup path holding a quote, a
# backslash, a newline and an escape sequence comes back byte for byte from msg); a
# start that fails says why in a JSON line too (level error). The default, text, is
# tests/daemon.sh's; the JSON syslog line is checked there too.
#
#	BUILD=build bash tests/logs.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init logs
RUN=log$$

for b in vpcfwd-controller vpcfwdctl; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
t_pki controller:ctl
t_node "$RUN-ctl"
{
	echo 'log_format = "json";'
	sed -e "s|@RUN@|$RUN|g" -e "s|@DIR@|$T_OUT|g" -e 's|127.0.0.1:7400|127.0.0.1:0|' \
	    etc/test/controller.conf
} >"$T_OUT/ctl.conf"
CTL=("$BUILD/bin/vpcfwdctl" -s "$T_OUT/controller.sock")

# json_lines FILE PID NODE TEXT: every line of FILE is a log object of the controller
# of NODE (pid PID, any pid when 0), and one of them has TEXT in its msg.
json_lines()
{
	python3 - "$@" <<'EOF' || t_fail "$1 is not all JSON log lines (above)"
import json, re, sys
path, pid, node = sys.argv[1], int(sys.argv[2]), sys.argv[3]
want = sys.argv[4]
data = open(path, "rb").read()
if not data.endswith(b"\n"):
    sys.exit("%s: the last line has no newline" % path)
found = False
for n, raw in enumerate(data.split(b"\n")[:-1], 1):
    try:
        o = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        sys.exit("%s:%d: not JSON (%s): %r" % (path, n, e, raw))
    if not isinstance(o, dict) or set(o) != {"time", "level", "process", "node", "pid", "msg"}:
        sys.exit("%s:%d: not the six fields: %r" % (path, n, raw))
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", o["time"]):
        sys.exit("%s:%d: time %r" % (path, n, o["time"]))
    if o["level"] not in ("error", "warn", "info", "debug") or o["process"] != "controller":
        sys.exit("%s:%d: level or process: %r" % (path, n, raw))
    if o["node"] != node or (pid and o["pid"] != pid):
        sys.exit("%s:%d: node or pid: %r" % (path, n, raw))
    if want in o["msg"]:
        found = True
if not found:
    sys.exit("%s: no msg holds %r" % (path, want))
EOF
}

t_spawn PID "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/ctl.conf" 2>"$T_OUT/controller.log"
ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}
t_until 5 "the controller's API" ctl_up
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
# A path a client chose, with bytes that would end a JSON string or a line.
BAD=$T_OUT/$'b"a\\ck\nup\e[31m.mdb'
"${CTL[@]}" backup "$BAD" >/dev/null || t_fail "the backup to a strange path failed"
[[ -f $BAD ]] || t_fail "no backup file at the strange path"
t_until 5 "the backup's log line" grep -q "backup written to" "$T_OUT/controller.log"
# A second controller on the same data cannot start: its one line is JSON too.
rc=0
timeout 20 "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/ctl.conf" 2>"$T_OUT/second.log" || rc=$?
[[ $rc -eq 1 ]] || t_fail "a second controller on the same data exited $rc, not 1"
[[ $(wc -l <"$T_OUT/second.log") -eq 1 ]] || t_fail "second start: $(cat "$T_OUT/second.log")"
json_lines "$T_OUT/second.log" 0 "$RUN-ctl" "owned by a running process (pid $PID)"
grep -q '"level":"error"' "$T_OUT/second.log" || t_fail "not an error: $(cat "$T_OUT/second.log")"
t_stop "$PID" TERM || t_fail "the controller exited $? on SIGTERM"

json_lines "$T_OUT/controller.log" "$PID" "$RUN-ctl" "backup to $BAD started"
json_lines "$T_OUT/controller.log" "$PID" "$RUN-ctl" "stopping"
echo "logs: ok ($(wc -l <"$T_OUT/controller.log") JSON lines from the controller)"
