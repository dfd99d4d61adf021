#!/usr/bin/env bash
# backup: `vpcfwdctl backup` and `vpcfwd-controller --restore` (docs/controller.md,
# "Backup and restore"), with a controller and two rule-stores from etc/test/ in a
# network namespace of their own:
#  1. a backup (a relative FILE, made absolute by vpcfwdctl) is a file of mode 0600 at
#     the controller's seq; a second one to the same FILE is refused without --force;
#  2. changes made after it (the history a restore loses) reach both gateways;
#  3. --restore is refused while the controller runs, and for files that are not a
#     controller's backup (a text file, a backup cut short), each changing nothing;
#  4. the controller killed with -9, the backup restored, the controller started: it
#     holds exactly the backup's VPCs, hosts, VMs and rules, every VPC at a new
#     generation and its version, under a new epoch (restore's output and the log), its
#     log going on at the backup's next seq;
#  5. gateway 1, connected throughout, loads a snapshot; gateway 2, stopped until the
#     restored controller's log holds the record after the seq its table applied of the
#     lost history, loads one too (by its seq alone it would resume from the log over
#     another history: its HELLO's epoch is what sends it a snapshot): both tables equal
#     the controller's rules, at its generations, none of the lost history left, and
#     record the new epoch;
#  6. the same backup, of the LMDB store, restored into etcd (a member of the test's own,
#     a controller with store = "etcd"; docs/cluster.md, "Backup and restore"): the
#     controller on etcd holds exactly the backup's VPCs, hosts, VMs and rules, every VPC
#     at a new generation, and takes a change; a backup cut short is refused, changing
#     nothing;
#  7. a backup of that controller (its view of etcd) restored into the LMDB controller:
#     it holds exactly the etcd controller's state, every VPC at a new generation.
#
#	BUILD=build bash tests/backup.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init backup

RUN=b$$
NS=vpcfwd-$RUN
PY=$(dirname "${BASH_SOURCE[0]}")/py
TABLE=$BUILD/bin/vpcfwd-table
SOCK=$T_OUT/controller.sock
CTRL=$(realpath "$BUILD/bin/vpcfwd-controller")
CTL=("$(realpath "$BUILD/bin/vpcfwdctl")" -s "$SOCK")
for b in vpcfwd-controller vpcfwd-rule-store vpcfwdctl vpcfwd-table vpcfwd-stat; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
command -v etcd >/dev/null || t_fail "etcd is not installed (make deps)"
t_node "$RUN-ctl" "$RUN-gw1" "$RUN-gw2" "$RUN-ectl"
t_netns "$NS"
t_pki controller:ctl gateway:gw1 gateway:gw2
for f in controller gw1 gw2; do
	sed "s|@RUN@|$RUN|g; s|@DIR@|$T_OUT|g" "etc/test/$f.conf" >"$T_OUT/$f.conf"
done

ctl_up() { "${CTL[@]}" vpc list >/dev/null; }

start_controller()
{
	t_spawn CTL_PID ip netns exec "$NS" "$CTRL" -c "$T_OUT/controller.conf" \
	    2>>"$T_OUT/controller.log"
	t_until 5 "the controller's socket" ctl_up
}

start_gw()
{
	t_spawn "GW$1_PID" ip netns exec "$NS" "$BUILD/bin/vpcfwd-rule-store" \
	    -c "$T_OUT/gw$1.conf" 2>>"$T_OUT/gw$1.log"
}

synced()
{
	[[ $(t_stat "$RUN-gw$1" rule-store applied_seq) -eq \
	    $(t_stat "$RUN-ctl" controller log_seq) ]]
}

# The controller's state, as JSON: VPCs without their generation, hosts, VMs, live rules.
state()
{
	python3 - "$SOCK" "$1" <<'EOF'
import json, sys
sys.path.insert(0, "tests/py")
from ctlapi import Api
api = Api(sys.argv[1])
vpcs = api.all("vpc.list", "vpcs")
out = {
    "vpcs": [{k: v for k, v in x.items() if k != "gen" or sys.argv[2] == "gens"} for x in vpcs],
    "hosts": api.all("host.list", "hosts"),
    "vms": api.all("vm.list", "vms"),
    "rules": {x["name"]: [r for r in api.all("rule.list", "rules", vpc=x["name"])
                          if r["op"] == "set"] for x in vpcs},
}
print(json.dumps(out, sort_keys=True))
EOF
}

# gens: "name=gen ..." of the controller at $SOCK
gens() { "${CTL[0]}" -s "$SOCK" --json vpc list | python3 -c '
import json, sys
print(" ".join("%s=%s" % (v["name"], v["gen"]) for v in json.load(sys.stdin)))'; }

# gw_gens NODE: "vni=gen ..." of the VNIs NODE's table holds
gw_gens() { "$TABLE" --json -N "$RUN-$1" | python3 -c '
import json, sys
print(" ".join("%d=%d" % (v["vni"], v["gen"]) for v in sorted(json.load(sys.stdin)["vnis"],
    key=lambda v: v["vni"])))'; }

ctl_gens() { "${CTL[@]}" --json vpc list | python3 -c '
import json, sys
print(" ".join("%d=%d" % (v["vni"], v["gen"]) for v in sorted(json.load(sys.stdin),
    key=lambda v: v["vni"])))'; }

start_controller
start_gw 1
start_gw 2

# The state the backup holds; b2 deleted before it (a tombstone then).
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/16 >/dev/null
"${CTL[@]}" vpc create red --vni 200 --cidr 10.0.0.0/16 >/dev/null
"${CTL[@]}" host create host1 --vtep 192.168.0.11 >/dev/null
"${CTL[@]}" host create host2 --vtep 192.168.0.12 >/dev/null
for i in 1 2 3 4; do
	"${CTL[@]}" vm create "b$i" --vpc blue --ip "10.0.0.$i" --host host1 >/dev/null
done
"${CTL[@]}" vm create r1 --vpc red --ip 10.0.0.1 --host host2 >/dev/null
"${CTL[@]}" vm migrate b3 --host host2 >/dev/null
"${CTL[@]}" vm delete b2
t_until 5 "gateway 1 catching up" synced 1
t_until 5 "gateway 2 catching up" synced 2

# 1. The backup, from another directory: FILE relative to vpcfwdctl's.
mkdir "$T_OUT/bk"
SEQ=$(t_stat "$RUN-ctl" controller log_seq)
BEFORE=$(state nogens)
GENS_BEFORE=$(gens)
OUT=$(cd "$T_OUT/bk" && "${CTL[@]}" backup state.mdb) || t_fail "vpcfwdctl backup failed"
[[ $OUT =~ ^backup\ $T_OUT/bk/state.mdb\ bytes\ ([0-9]+)\ seq\ $SEQ\ epoch\ ([0-9a-f]{16})$ ]] ||
	t_fail "vpcfwdctl backup printed '$OUT' (seq $SEQ expected)"
BYTES=${BASH_REMATCH[1]}
EPOCH_BEFORE=${BASH_REMATCH[2]}
[[ $(stat -c '%a %s' "$T_OUT/bk/state.mdb") == "600 $BYTES" ]] ||
	t_fail "the backup is $(stat -c '%a %s' "$T_OUT/bk/state.mdb"), not mode 600 of $BYTES bytes"
[[ ! -e $T_OUT/bk/state.mdb.tmp ]] || t_fail "the backup left state.mdb.tmp"
rc=0
(cd "$T_OUT/bk" && "${CTL[@]}" backup state.mdb) 2>"$T_OUT/bad.err" || rc=$?
[[ $rc -eq 1 ]] && grep -qF "state.mdb exists (force replaces it)" "$T_OUT/bad.err" ||
	t_fail "a second backup to the same file: status $rc, '$(cat "$T_OUT/bad.err")'"
[[ $(t_stat "$RUN-ctl" controller backups) -eq 1 &&
    $(t_stat "$RUN-ctl" controller backups_failed) -eq 0 ]] ||
	t_fail "backups $(t_stat "$RUN-ctl" controller backups), not 1 and none failed"
[[ $(t_stat "$RUN-ctl" controller backup_bytes) -eq $BYTES ]] || t_fail "backup_bytes is wrong"
echo "backup: $BYTES bytes at seq $SEQ, mode 0600; a second one without --force refused"
# Requests sent behind a backup on its connection are answered after it, in order; a
# client gone before the answer leaves the backup written all the same.
python3 - "$SOCK" "$T_OUT/bk" <<'EOF' || t_fail "requests behind a backup"
import json, os, socket, struct, sys, time
sys.path.insert(0, "tests/py")
from ctlapi import Api
api = Api(sys.argv[1])
frames = b""
for req in [dict(op="backup", path=sys.argv[2] + "/pipelined.mdb"), dict(op="vpc.list"),
            dict(op="vpc.show", name="blue")]:
    body = json.dumps(req).encode()
    frames += struct.pack(">I", len(body)) + body
api.s.sendall(frames)
got = []
for _ in range(3):
    n = struct.unpack(">I", api._recv(4))[0]
    got.append(json.loads(api._recv(n)))
assert got[0]["ok"] and got[0]["bytes"] > 0, got[0]
assert got[1]["ok"] and "vpcs" in got[1], got[1]
assert got[2]["ok"] and got[2]["vpc"]["name"] == "blue", got[2]
gone = Api(sys.argv[1])
body = json.dumps(dict(op="backup", path=sys.argv[2] + "/gone.mdb")).encode()
gone.s.sendall(struct.pack(">I", len(body)) + body)
gone.close()
for _ in range(100):
    if os.path.exists(sys.argv[2] + "/gone.mdb"):
        break
    time.sleep(0.05)
else:
    sys.exit("the backup of a client that left was not written")
assert api.call(op="vpc.list")["ok"]
EOF
echo "requests behind a backup on its connection answered after it, in order; a backup" \
    "whose client left written all the same"

# 2. The history the restore will lose: a VM made, one moved, one deleted, a VPC made,
# a host made; both gateways apply it.
"${CTL[@]}" vm create lost1 --vpc blue --ip 10.0.0.50 --host host1 >/dev/null
"${CTL[@]}" vm migrate b1 --host host2 >/dev/null
"${CTL[@]}" vm delete b4
"${CTL[@]}" vpc create green --vni 300 --cidr 10.9.0.0/16 >/dev/null
"${CTL[@]}" host create host3 --vtep 192.168.0.13 >/dev/null
"${CTL[@]}" vm create g1 --vpc green --ip 10.9.0.1 --host host3 >/dev/null
"${CTL[@]}" vpc reset red >/dev/null
t_until 5 "gateway 1 applying the lost history" synced 1
t_until 5 "gateway 2 applying the lost history" synced 2
LOST_SEQ=$(t_stat "$RUN-gw2" rule-store applied_seq)
"$TABLE" --json -N "$RUN-gw1" -v 100 | grep '"10.0.0.50"' >/dev/null ||
	t_fail "gateway 1 does not hold lost1 before the restore"
AFTER=$(state nogens)

# 3. Refused: a running controller; files that are not a controller's backup.
restore_refused()
{
	local want=$1 rc=0

	shift
	ip netns exec "$NS" "$CTRL" --restore "$@" -c "$T_OUT/controller.conf" \
	    >"$T_OUT/restore.out" 2>"$T_OUT/restore.err" || rc=$?
	[[ $rc -eq 1 ]] || t_fail "--restore $* exited $rc, not 1: $(cat "$T_OUT/restore.err")"
	[[ $(wc -l <"$T_OUT/restore.err") -eq 1 ]] && grep -qF -- "$want" "$T_OUT/restore.err" ||
		t_fail "--restore $* said '$(cat "$T_OUT/restore.err")', not '$want'"
}
restore_refused "a controller is running on this data directory" "$T_OUT/bk/state.mdb"
[[ $(state nogens) == "$AFTER" ]] || t_fail "a refused restore changed the running controller"
t_kill "$CTL_PID"
restore_refused "is not a controller backup: not an LMDB data file" "$T_OUT/controller.conf"
head -c 8192 "$T_OUT/bk/state.mdb" >"$T_OUT/cut.mdb"
restore_refused "cut.mdb" "$T_OUT/cut.mdb"
restore_refused "No such file or directory" "$T_OUT/nosuch.mdb"
rc=0
"$CTRL" --restore "$T_OUT/bk/state.mdb" -d -c "$T_OUT/controller.conf" 2>/dev/null || rc=$?
[[ $rc -eq 2 ]] || t_fail "--restore with -d exited $rc, not 2"
# Refused restores left the data as it was: the controller comes back with the lost
# history, then goes again.
start_controller
[[ $(state nogens) == "$AFTER" ]] || t_fail "a refused restore changed the data directory"
t_kill "$CTL_PID"
echo "restore refused while the controller runs, for a text file, a backup cut short," \
    "a missing file and with -d; nothing changed"

# 4. Restore, start: the backup's state, new generations, versions kept, a new epoch.
ip netns exec "$NS" "$CTRL" --restore "$T_OUT/bk/state.mdb" -c "$T_OUT/controller.conf" \
    >"$T_OUT/restore.out" 2>"$T_OUT/restore.err" ||
	t_fail "--restore failed: $(cat "$T_OUT/restore.err")"
grep -q "^  2 VPCs, each with a new generation and its version kept" "$T_OUT/restore.out" &&
    grep -q "^  log emptied, going on at seq $((SEQ + 1))$" "$T_OUT/restore.out" ||
	t_fail "--restore printed: $(cat "$T_OUT/restore.out")"
EPOCH=$(sed -n 's/^  epoch \([0-9a-f]*\): .*/\1/p' "$T_OUT/restore.out")
[[ -n $EPOCH && $EPOCH != "$EPOCH_BEFORE" ]] || t_fail "no new epoch: $(cat "$T_OUT/restore.out")"
[[ ! -e $T_OUT/controller/restore.tmp ]] || t_fail "the restore left restore.tmp"
: >"$T_OUT/gw2.log"
kill -TERM "$GW2_PID"
wait "$GW2_PID" || true
t_forget "$GW2_PID"
start_controller
grep -q "store epoch $EPOCH " "$T_OUT/controller.log" || t_fail "the controller did not log epoch $EPOCH"
[[ $(state nogens) == "$BEFORE" ]] || t_fail "the restored controller does not hold the backup's state:
$(diff <(python3 -m json.tool <<<"$BEFORE") <(state nogens | python3 -m json.tool))"
GENS_AFTER=$(gens)
for g in $GENS_BEFORE; do
	[[ " $GENS_AFTER " != *" $g "* ]] || t_fail "VPC ${g%=*} kept its generation (${g#*=})"
done
echo "restored: the backup's state, every VPC at a new generation and its version," \
    "epoch $EPOCH_BEFORE -> $EPOCH"

# 5. Gateway 1 (connected) loads a snapshot of the restored state.
new_seq=$(t_stat "$RUN-ctl" controller log_seq)
((new_seq == SEQ)) || t_fail "the restored log is at seq $new_seq, not the backup's $SEQ"
t_until 10 "gateway 1 loading the restored state" synced 1
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1"
[[ $(gw_gens gw1) == "$(ctl_gens)" ]] || t_fail "gateway 1 holds generations $(gw_gens gw1), not $(ctl_gens)"
grep -q "snapshot at seq $new_seq of epoch $EPOCH loaded" "$T_OUT/gw1.log" ||
	t_fail "gateway 1 did not load a snapshot of the restored state"
# The restored log reaches the seqs of the lost history again, with other records: it
# holds the one after what gateway 2 applied. Then gateway 2 comes back.
for i in $(seq 1 30); do
	"${CTL[@]}" vm create "n$i" --vpc blue --ip "10.0.1.$i" --host host1 >/dev/null
done
(($(t_stat "$RUN-ctl" controller log_first) <= LOST_SEQ + 1 &&
    $(t_stat "$RUN-ctl" controller log_seq) > LOST_SEQ)) ||
	t_fail "the restored log $(t_stat "$RUN-ctl" controller log_first).." \
	    "$(t_stat "$RUN-ctl" controller log_seq) does not hold seq $((LOST_SEQ + 1))"
other=$(t_stat "$RUN-ctl" controller hello_other_epoch)
start_gw 2
t_until 10 "gateway 1 applying the new changes" synced 1
t_until 10 "gateway 2 coming back" synced 2
grep -q "snapshot at seq [0-9]* of epoch $EPOCH loaded" "$T_OUT/gw2.log" ||
	t_fail "gateway 2 resumed from the log at seq $LOST_SEQ of the lost history, not a" \
	    "snapshot"
[[ $(t_stat "$RUN-ctl" controller hello_other_epoch) -eq $((other + 1)) ]] ||
	t_fail "the controller did not count gateway 2's HELLO of another history"
grep -q "rule-store $RUN-gw2 applied up to seq $LOST_SEQ of epoch $EPOCH_BEFORE, not of this" \
    "$T_OUT/controller.log" || t_fail "the controller did not log gateway 2's other history"
[[ $(t_stat "$RUN-gw2" rule-store epoch_changes) -ge 1 ]] ||
	t_fail "gateway 2 did not count its table's change of history"
python3 "$PY/compare.py" tables "$SOCK" "$TABLE" "$RUN-gw1" "$RUN-gw2"
for g in gw1 gw2; do
	[[ $(gw_gens $g) == "$(ctl_gens)" ]] || t_fail "$g holds generations $(gw_gens $g), not $(ctl_gens)"
	"$TABLE" -N "$RUN-$g" -v 300 >/dev/null 2>&1 && t_fail "$g still holds VPC green (VNI 300)"
	"$TABLE" --json -N "$RUN-$g" | grep "\"applied_epoch\": \"$EPOCH\"" >/dev/null ||
		t_fail "$g's table does not record epoch $EPOCH"
done
echo "both gateways loaded a snapshot (gateway 2 although the restored log held the" \
    "record after its seq $LOST_SEQ: its epoch $EPOCH_BEFORE is not the log's): their" \
    "tables equal the controller's rules at its generations, nothing of the lost history"

# 6. The LMDB store's backup restored into etcd, and served by a controller on it.
t_etcd "$NS" 1
ESOCK=$T_OUT/ectl.sock
cat >"$T_OUT/ectl.conf" <<EOF
node = "$RUN-ectl";
log_level = "info";
controller = {
	data_dir = "$T_OUT/ectl";
	api_socket = "$ESOCK";
	listen = "127.0.0.1:7410";
	version_step = 1;
	heartbeat_interval = "200ms";
	tls = false;
$(t_etcd_conf)
};
EOF
ip netns exec "$NS" "$CTRL" --restore "$T_OUT/bk/state.mdb" -c "$T_OUT/ectl.conf" \
    >"$T_OUT/restore_etcd.out" 2>"$T_OUT/restore_etcd.err" ||
	t_fail "--restore into etcd failed: $(cat "$T_OUT/restore_etcd.err")"
grep -q "^restored $T_OUT/bk/state.mdb into etcd .*: 2 VPCs (each a new generation)" \
    "$T_OUT/restore_etcd.out" || t_fail "--restore into etcd printed: $(cat "$T_OUT/restore_etcd.out")"
t_spawn ECTL_PID ip netns exec "$NS" "$CTRL" -c "$T_OUT/ectl.conf" 2>>"$T_OUT/ectl.log"
ectl_up() { "${CTL[0]}" -s "$ESOCK" vpc list >/dev/null; }
t_until 20 "the controller on etcd" ectl_up
[[ $(SOCK=$ESOCK state nogens) == "$BEFORE" ]] ||
	t_fail "the controller on etcd does not hold the LMDB backup's state:
$(diff <(python3 -m json.tool <<<"$BEFORE") <(SOCK=$ESOCK state nogens | python3 -m json.tool))"
GENS_ETCD=$(SOCK=$ESOCK gens)
for g in $GENS_BEFORE; do
	[[ " $GENS_ETCD " != *" $g "* ]] || t_fail "VPC ${g%=*} kept its generation in etcd"
done
# A backup cut short is refused before etcd is touched (it was SIGBUS), changing nothing.
rc=0
ip netns exec "$NS" "$CTRL" --restore "$T_OUT/cut.mdb" -c "$T_OUT/ectl.conf" \
    >"$T_OUT/restore.out" 2>"$T_OUT/restore.err" || rc=$?
[[ $rc -eq 1 && $(wc -l <"$T_OUT/restore.err") -eq 1 ]] &&
    grep -qF "cut.mdb is cut short" "$T_OUT/restore.err" ||
	t_fail "--restore of a backup cut short into etcd: status $rc, '$(cat "$T_OUT/restore.err")'"
[[ $(SOCK=$ESOCK state nogens) == "$BEFORE" && $(SOCK=$ESOCK gens) == "$GENS_ETCD" ]] ||
	t_fail "a refused restore into etcd changed its state"
"${CTL[0]}" -s "$ESOCK" vm create e1 --vpc blue --ip 10.0.2.1 --host host2 >/dev/null ||
	t_fail "the controller on etcd refused a change after the restore"
echo "the LMDB backup restored into etcd: the controller on it holds the backup's state," \
    "every VPC at a new generation, and takes a change"

# 7. And back: a backup of the controller on etcd (its view) restored into LMDB.
ON_ETCD=$(SOCK=$ESOCK state nogens)
GENS_ETCD=$(SOCK=$ESOCK gens)
"${CTL[0]}" -s "$ESOCK" backup "$T_OUT/bk/etcd.mdb" >/dev/null ||
	t_fail "vpcfwdctl backup of the controller on etcd failed"
t_kill "$CTL_PID"
ip netns exec "$NS" "$CTRL" --restore "$T_OUT/bk/etcd.mdb" -c "$T_OUT/controller.conf" \
    >"$T_OUT/restore.out" 2>"$T_OUT/restore.err" ||
	t_fail "--restore of the etcd controller's backup into LMDB failed: $(cat "$T_OUT/restore.err")"
start_controller
[[ $(state nogens) == "$ON_ETCD" ]] ||
	t_fail "the LMDB controller does not hold the etcd controller's backup:
$(diff <(python3 -m json.tool <<<"$ON_ETCD") <(state nogens | python3 -m json.tool))"
GENS_LMDB=$(gens)
for g in $GENS_ETCD; do
	[[ " $GENS_LMDB " != *" $g "* ]] || t_fail "VPC ${g%=*} kept its generation in LMDB"
done
"${CTL[@]}" vm create l1 --vpc blue --ip 10.0.2.2 --host host2 >/dev/null ||
	t_fail "the restored LMDB controller refused a change"
echo "the etcd controller's backup restored into LMDB: the same state, new generations"
echo "backup: ok"
