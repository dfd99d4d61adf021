#!/usr/bin/env bash
# exporter: vpcfwd-exporter with the real Prometheus (docs/exporter.md). A small cluster
# (controller, gateway1, host1, host2; VM b1 on host1 pings b2 on host2) runs in
# namespaces (tests/e2e/topo.sh); the exporter serves every stats segment of the machine
# on loopback. What must hold:
#
#  1. a scrape is a page `promtool check metrics` has nothing to say about, with
#     vpcfwd_up 1 for every process of the cluster, and the tables' and rings' occupancy;
#     anything but GET /metrics is refused (404, 405);
#  2. corrupt segments in /dev/shm (a truncated copy, garbage, a counter table with
#     hostile names) neither crash the exporter nor break the page; the hostile names
#     come out reduced to [a-zA-Z0-9_], the unreadable segments counted;
#  3. Debian's prometheus, scraping it every second on loopback (its own configuration
#     and storage in the test's directory), answers through its query API: host1's
#     vpcfwd_forwarder_tx_direct_total rises while b1 pings b2, vpcfwd_up is 1 for each
#     process of the cluster, and 0 for host2's learner once it was killed with -9 (its
#     supervisor waits a minute before a restart);
#  4. a second exporter on the same address fails with one line naming it; SIGTERM
#     stops the exporter with status 0.
#
#	BUILD=build bash tests/exporter.sh	(as root; prometheus, promtool: make deps)
set -euo pipefail
# shellcheck source=tests/e2e/common.bash
. "$(dirname "${BASH_SOURCE[0]}")/e2e/common.bash"
e2e_init exporter x
EXP=$BUILD/bin/vpcfwd-exporter
[[ -x $EXP ]] || t_fail "$EXP not built (make BUILD=$BUILD)"
for p in prometheus promtool curl; do
	command -v "$p" >/dev/null || t_fail "$p not installed (make deps)"
done
BAD=$TOPO_PFX-bad	# the node of the corrupt segments; topo_down removes them too
t_node "$BAD"

# Two free ports on loopback, for the exporter and for prometheus.
read -r EP PP < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*(x.getsockname()[1] for x in s))')
URL=http://127.0.0.1:$EP/metrics
PROM=http://127.0.0.1:$PP

# The learner of host2 stays down a minute after it is killed (step 3).
E2E_SED[host2]=$'s/backoff_min = .*/backoff_min = "60s";/\n'
E2E_SED[host2]+='s/backoff_max = .*/backoff_max = "60s";/'
e2e_cluster gateway1 host1 host2
topo_ctl vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
e2e_start gateway1 host1 host2
e2e_vm b1 blue 10.0.0.1/24 host1
e2e_vm b2 blue 10.0.0.2/24 host2
topo_vm_wait b1 15 || t_fail "VM b1 did not come up"
topo_vm_wait b2 15 || t_fail "VM b2 did not come up"
# The first pings teach host1 b2's rule; those after go direct (tx_direct). The hosts'
# configurations name gateway2 too, which does not run here: until a host finds it down,
# the first pings may go unanswered.
t_until 20 "b1 reaching b2" eval "topo_vm_exec b1 ping -n -c 1 -W 1 10.0.0.2 >/dev/null"
echo "exporter: cluster up, b1 pings b2 ($(e2e_elapsed) s)"

# The processes of this cluster, "node process" lines, from vpcfwd-stat.
"$BUILD/bin/vpcfwd-stat" --json "$TOPO_PFX-*" | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    print(s["node"], s["proc"])' | sort >"$T_OUT/procs.txt"
(($(wc -l <"$T_OUT/procs.txt") >= 7)) ||
	t_fail "only $(wc -l <"$T_OUT/procs.txt") processes in the cluster"

t_spawn EXP_PID "$EXP" -l "127.0.0.1:$EP" >"$T_OUT/exporter.log" 2>&1
t_until 5 "the exporter answering on 127.0.0.1:$EP" curl -sf -o /dev/null "$URL"

# check_page FILE: promtool finds nothing to say about the page in FILE.
check_page()
{
	local out

	out=$(promtool check metrics <"$1" 2>&1) || t_fail "promtool check metrics failed: $out"
	[[ -z $out ]] || t_fail "promtool check metrics: $out"
}

# sample FILE NAME [LABELS]: the value of the sample NAME{LABELS} (NAME without labels)
# in the page in FILE.
sample()
{
	local want=$2

	[[ -z ${3:-} ]] || want="$2{$3}"
	awk -v want="$want" '$1 == want { print $2; found = 1 } END { exit !found }' "$1" ||
		t_fail "no sample $want on the page"
}

# 1. The page.
curl -sf -D "$T_OUT/headers.txt" "$URL" >"$T_OUT/page.txt" || t_fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$T_OUT/headers.txt" ||
	t_fail "not the 0.0.4 text format: $(grep -i content-type "$T_OUT/headers.txt")"
check_page "$T_OUT/page.txt"
while read -r node proc; do
	[[ $(sample "$T_OUT/page.txt" vpcfwd_up "node=\"$node\",process=\"$proc\"") == 1 ]] ||
		t_fail "vpcfwd_up of $node $proc is not 1 on the page"
done <"$T_OUT/procs.txt"
(($(grep -c '^# TYPE vpcfwd_up gauge$' "$T_OUT/page.txt") == 1)) ||
	t_fail "vpcfwd_up's TYPE is not on the page exactly once"
H1="node=\"$TOPO_PFX-host1\""
(($(sample "$T_OUT/page.txt" vpcfwd_table_entries "$H1,process=\"learner\",table=\"table\"")
    >= 1)) || t_fail "host1's table holds no rule on the page"
G1="node=\"$TOPO_PFX-gateway1\""
(($(sample "$T_OUT/page.txt" vpcfwd_ring_capacity "$G1,process=\"forwarder\",ring=\"learn\"")
    > 0)) || t_fail "gateway1's learn ring has no capacity on the page"
sample "$T_OUT/page.txt" vpcfwd_forwarder_tx_direct_total "$H1,process=\"forwarder\"" >/dev/null
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$EP/")
[[ $code == 404 ]] || t_fail "GET / answered $code, not 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$URL")
[[ $code == 405 ]] || t_fail "POST /metrics answered $code, not 405"
for _ in 1 2 3 4 5; do curl -sf "$URL" >"$T_OUT/page.txt"; done
echo "exporter: the page passes promtool, vpcfwd_up 1 for $(wc -l <"$T_OUT/procs.txt")" \
    "processes, tables and rings on it, / is 404, POST 405 (a page of" \
    "$(grep -vc '^#' "$T_OUT/page.txt") samples, $(wc -c <"$T_OUT/page.txt") bytes, from" \
    "$(ls /dev/shm | grep -c '^vpcfwd\.') segments, built in" \
    "$(sample "$T_OUT/page.txt" vpcfwd_exporter_last_scrape_seconds) s)"

# 2. Corrupt segments: a truncated copy of a stats segment, garbage with a vpcfwd name,
# a truncated rule table, and a stats segment whose counter names and descriptions are
# hostile (its header intact, so it is read).
src=/dev/shm/vpcfwd.$TOPO_PFX-host1.forwarder.stats
head -c 1000 "$src" >"/dev/shm/vpcfwd.$BAD.trunc.stats"
head -c 4096 /dev/urandom >"/dev/shm/vpcfwd.$BAD.garbage.stats"
head -c 4096 "/dev/shm/vpcfwd.$TOPO_PFX-host1.learner.table" >"/dev/shm/vpcfwd.$BAD.x.table"
python3 - "$src" "/dev/shm/vpcfwd.$BAD.hostile.stats" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
count, desc_off = struct.unpack_from("<II", b, 160)
assert count >= 2
name = b'bad"na me\n{x}\xff'
desc = b'help \\ "q"\n\xff\x1b[2J'
b[desc_off:desc_off + 48] = name.ljust(48, b"\0")
b[desc_off + 52:desc_off + 132] = desc.ljust(80, b"\0")
b[desc_off + 132:desc_off + 180] = b"y" * 48	# no terminating NUL
open(sys.argv[2], "wb").write(b)
PY
curl -sf "$URL" >"$T_OUT/page2.txt" || t_fail "GET /metrics failed with corrupt segments"
kill -0 "$EXP_PID" 2>/dev/null || t_fail "the exporter died on corrupt segments"
check_page "$T_OUT/page2.txt"
HB="node=\"$BAD\",process=\"hostile\""
sample "$T_OUT/page2.txt" vpcfwd_hostile_bad_na_me__x___total "$HB" >/dev/null
sample "$T_OUT/page2.txt" vpcfwd_hostile_yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy_total \
    "$HB" >/dev/null
[[ $(sample "$T_OUT/page2.txt" vpcfwd_up "$HB") == 0 ]] ||
	t_fail "vpcfwd_up of a segment nobody owns is not 0"
(($(sample "$T_OUT/page2.txt" vpcfwd_exporter_segments_unreadable_total) >= 3)) ||
	t_fail "the exporter did not count the 3 unreadable segments"
grep -q "vpcfwd.$BAD.trunc.stats" "$T_OUT/exporter.log" ||
	t_fail "the exporter did not log the truncated segment"
rm -f /dev/shm/vpcfwd."$BAD".*
echo "exporter: corrupt segments left out and counted, hostile names cleaned, page valid"

# 3. Prometheus, scraping every second.
mkdir -p "$T_OUT/prom"
cat >"$T_OUT/prom/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vpcfwd
    static_configs:
      - targets: ['127.0.0.1:$EP']
YML
promtool check config "$T_OUT/prom/prometheus.yml" >/dev/null ||
	t_fail "promtool check config: $(promtool check config "$T_OUT/prom/prometheus.yml" 2>&1)"
t_spawn PROM_PID prometheus --config.file="$T_OUT/prom/prometheus.yml" \
    --storage.tsdb.path="$T_OUT/prom/data" --web.listen-address="127.0.0.1:$PP" \
    >"$T_OUT/prometheus.txt" 2>&1
t_until 30 "prometheus ready on 127.0.0.1:$PP" curl -sf -o /dev/null "$PROM/-/ready"

# query EXPR: "node process value" a series of the instant query EXPR, sorted.
query()
{
	curl -sf --get --data-urlencode "query=$1" "$PROM/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["status"] == "success", d
for r in d["data"]["result"]:
    m = r["metric"]
    print(m.get("node", "-"), m.get("process", "-"), r["value"][1])' | sort
}

# value EXPR: the value of the one series EXPR selects, or fail (non-zero) when none.
value()
{
	local out

	out=$(query "$1") && [[ -n $out && $(wc -l <<<"$out") == 1 ]] || return 1
	echo "${out##* }"
}

DIRECT="vpcfwd_forwarder_tx_direct_total{node=\"$TOPO_PFX-host1\"}"
t_until 20 "prometheus scraping host1's tx_direct" value "$DIRECT" >/dev/null
d0=$(value "$DIRECT")
e2e_ping_start b1 "$(topo_vm_tap b1)" 10.0.0.2 0.2
rose()
{
	local v

	v=$(value "$DIRECT") && (($(printf %.0f "$v") >= $(printf %.0f "$d0") + 5))
}
t_until 20 "host1's vpcfwd_forwarder_tx_direct_total rising by 5 in prometheus (from $d0)" rose
e2e_ping_stop b1
echo "exporter: prometheus sees host1's tx_direct rise from $d0 to $(value "$DIRECT")" \
    "while b1 pings b2"

UP="vpcfwd_up{node=~\"$TOPO_PFX-.*\"}"
all_up()
{
	[[ $(query "$UP" | awk '$3 == 1 { print $1, $2 }') == "$(cat "$T_OUT/procs.txt")" ]]
}
t_until 10 "prometheus: vpcfwd_up 1 for each of the cluster's processes" all_up

pid=$(e2e_pid host2 learner) || t_fail "no pid for host2's learner"
kill -9 "$pid"
down()
{
	[[ $(value "vpcfwd_up{node=\"$TOPO_PFX-host2\",process=\"learner\"}") == 0 ]]
}
t_until 15 "prometheus: vpcfwd_up 0 for host2's learner after kill -9" down
others=$(query "$UP" | awk -v n="$TOPO_PFX-host2" '!($1 == n && $2 == "learner") && $3 != 1')
[[ -z $others ]] || t_fail "vpcfwd_up went to 0 for others too: $others"
(($(printf %.0f "$(value vpcfwd_exporter_scrapes_total)") >= 3)) ||
	t_fail "prometheus has no vpcfwd_exporter_scrapes_total"
echo "exporter: prometheus sees vpcfwd_up 1 for each process, 0 for host2's learner" \
    "after kill -9"

# 4. A second exporter on the same address; SIGTERM.
rc=0
"$EXP" -l "127.0.0.1:$EP" 2>"$T_OUT/second.txt" || rc=$?
((rc == 1)) || t_fail "a second exporter on 127.0.0.1:$EP exited $rc, not 1"
grep -q "cannot listen on 127.0.0.1:$EP: bind: Address already in use" "$T_OUT/second.txt" ||
	t_fail "the bind failure does not name the address: $(cat "$T_OUT/second.txt")"
rc=0
"$EXP" -l nonsense 2>/dev/null || rc=$?
((rc == 2)) || t_fail "-l nonsense exited $rc, not 2"
t_stop "$EXP_PID" TERM || t_fail "the exporter exited $? on SIGTERM"
grep -q "stopping on" "$T_OUT/exporter.log" || t_fail "no line about stopping in the log"
echo "exporter: a taken address is one line naming it; SIGTERM stops it, status 0" \
    "($(e2e_elapsed) s)"
echo "exporter: ok"
