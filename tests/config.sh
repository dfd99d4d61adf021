#!/usr/bin/env bash
# config: every configuration file in etc/ is valid for each process that reads it
# (`-n`: check and exit), and a bad one is refused before anything starts, with one
# line naming the file, the line and the setting.
#
#	BUILD=build bash tests/config.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init config

# check PROCESS FILE: accepted
check()
{
	"$BUILD/bin/vpcfwd-$1" -n -c "$2" >/dev/null 2>"$T_OUT/err" ||
		t_fail "vpcfwd-$1 refuses $2: $(cat "$T_OUT/err")"
}

# refuse_path PROCESS PATH WANT: the file at PATH is refused, in one line saying WANT
refuse_path()
{
	local rc=0

	"$BUILD/bin/vpcfwd-$1" -n -c "$2" >/dev/null 2>"$T_OUT/err" || rc=$?
	[[ $rc -ne 0 ]] || t_fail "vpcfwd-$1 accepted $2: $(head -c 200 "$2" 2>/dev/null)"
	[[ $(wc -l <"$T_OUT/err") -eq 1 ]] || t_fail "more than one line for $2: $(cat "$T_OUT/err")"
	grep -qF -- "$3" "$T_OUT/err" || t_fail "vpcfwd-$1 said '$(cat "$T_OUT/err")', not '$3'"
}

# refuse PROCESS TEXT WANT: the file holding TEXT is refused, saying WANT
refuse()
{
	printf '%s\n' "$2" >"$T_OUT/bad.conf"
	refuse_path "$1" "$T_OUT/bad.conf" "$3"
}

# The key files the examples name are the test's (tests/lib.sh made them).
sed "s|/etc/vpcfwd/|$T_OUT/keys/|" etc/example.conf >"$T_OUT/example.conf"
for p in controller rule-store syncd learner forwarder; do
	check "$p" "$T_OUT/example.conf"
done
# every demo node's file, with each process it has a group for
for f in etc/demo/*.conf; do
	sed "s|/run/vpcfwd-demo/keys/|$T_OUT/keys/|" "$f" >"$T_OUT/demo-${f##*/}"
	for p in controller rule_store syncd learner forwarder; do
		grep -q "^$p = {" "$f" && check "${p/_/-}" "$T_OUT/demo-${f##*/}"
	done
done
# A key file anyone but its owner may read is refused, at -n as at start, naming it.
cp "$T_OUT/keys/host1.key" "$T_OUT/open.key"
chmod 644 "$T_OUT/open.key"
refuse learner "node = \"n\";
learner = { host = \"host1\"; gateways = [\"1.2.3.4:4806\"];
  controllers = [\"1.2.3.4:7400\"]; auth_key = \"$T_OUT/open.key\"; };" \
    "$T_OUT/open.key: a key file must be a regular file of mode 0600, not 0644"
refuse syncd "node = \"n\";
syncd = { allow = [\"10.0.0.0/8\"]; auth_secret = \"$T_OUT/open.key\"; };" \
    "$T_OUT/open.key: a key file must be a regular file of mode 0600, not 0644"
refuse learner "node = \"n\";
learner = { host = \"host1\"; gateways = [\"1.2.3.4:4806\"];
  controllers = [\"1.2.3.4:7400\"]; };" "learner.auth_key must name this host's key file"
for f in controller gw1 gw2 host1 host2; do
	sed "s|@RUN@|cfg$$|g; s|@DIR@|$T_OUT|g" "etc/test/$f.conf" >"$T_OUT/$f.conf"
done
check controller "$T_OUT/controller.conf"
for f in gw1 gw2; do
	check rule-store "$T_OUT/$f.conf"
	check syncd "$T_OUT/$f.conf"
done
check learner "$T_OUT/host1.conf"
check learner "$T_OUT/host2.conf"

refuse controller 'node = "n";
controller = {
  version_stepp = 2;
};' "bad.conf:3: unknown setting 'controller.version_stepp'"
refuse controller 'node = "n";
controller = { version_step = 0; };' "bad.conf:2: controller.version_step must be 1..1000"
refuse controller 'node = "n";
controller = { listen = "1.2.3.4"; };' "controller.listen must be"
refuse controller 'controller = { };' "node must be set"
refuse controller 'node = "N!";' "node must be 1..31 characters"
refuse syncd 'node = "n";

log_format = "xml";' "bad.conf:3: log_format must be text or json"
# With log_format = "json" the refusal of a later setting is one JSON line.
refuse controller 'node = "n";
log_format = "json";
controller = { version_stepp = 2; };' "bad.conf:3: unknown setting 'controller.version_stepp'"
python3 -c 'import json, sys; o = json.loads(sys.stdin.read()); assert o["level"] == "error"
assert o["node"] == "n" and o["process"] == "controller"' <"$T_OUT/err" ||
	t_fail "a refusal under log_format json is not one JSON line: $(cat "$T_OUT/err")"
refuse controller 'node = "n";
controller = { heartbeat_interval = "5 minutes"; };' "bad.conf:2: controller.heartbeat_interval must be a duration"
refuse controller 'node = "n";
controller = { version_step = ; };' "bad.conf:2: syntax error"
refuse rule-store 'node = "n";
rule_store = { controllers = ["1.2.3.4:7400"]; table_version_window = 100; };' \
    "rule_store.table_version_window must be a power of two"
refuse rule-store 'node = "n";
rule_store = { controllers = ["1.2.3.4"]; };' "rule_store.controllers[0] must be"
refuse rule-store 'node = "n";
rule_store = { };' "rule_store.controllers must list"
refuse syncd 'node = "n";
syncd = { listen = "1.2.3.4:4806"; };' "syncd.allow must list"
refuse syncd 'node = "n";
syncd = { allow = ["10.0.0.1/8"]; };' "syncd.allow[0] must be a network"
refuse syncd 'node = "n";
syncd = { allow = ["10.0.0.0/8"]; page_bytes = 100; };' "bad.conf:2: syncd.page_bytes must be 512..65000"
refuse syncd 'node = "n";
syncd = { allow = ["10.0.0.0/8"]; max_wiat = "1s"; };' "unknown setting 'syncd.max_wiat'"
refuse learner 'node = "n";
learner = { gateways = ["1.2.3.4:4806"]; controllers = ["1.2.3.4:7400"]; };' \
    "learner.host must name this host"
refuse learner 'node = "n";
learner = { host = "h"; controllers = ["1.2.3.4:7400"]; };' "learner.gateways must list"
refuse learner 'node = "n";
learner = { host = "h"; gateways = ["1.2.3.4"]; controllers = ["1.2.3.4:7400"]; };' \
    "learner.gateways[0] must be"
refuse learner 'node = "n";
learner = { host = "h"; gateways = ["1.2.3.4:1"]; controllers = ["1.2.3.4:7400"];
  cache_max_age = "forever"; };' "learner.cache_max_age must be a duration"
refuse forwarder 'node = "n";
forwarder = { listen = "1.2.3.4:4789"; };' "forwarder.mode must be \"vswitch\" (a host) or \"gateway\""
refuse forwarder 'node = "n";
forwarder = { mode = "router"; listen = "1.2.3.4:4789"; };' 'or "gateway", not "router"'
refuse forwarder 'node = "n";
forwarder = { mode = "vswitch"; listen = "0.0.0.0:4789"; };' "forwarder.listen must be this node's VTEP"
refuse forwarder 'node = "n";
forwarder = { mode = "vswitch"; listen = "1.2.3.4:4789"; router_mac = "ff:ff:ff:ff:ff:ff"; };' \
    "forwarder.router_mac"
refuse forwarder 'node = "n";
forwarder = { mode = "gateway"; listen = "1.2.3.4:4789"; learn_ring_size = 1000; };' \
    "learn_ring_size must be a power of two"
refuse forwarder 'node = "n";
forwarder = { mode = "vswitch"; listen = "1.2.3.4:4789"; learn_slots = 3000; };' \
    "learn_slots must be a power of two"
refuse forwarder 'node = "n";
forwarder = { mode = "vswitch"; listen = "1.2.3.4:4789"; learn_slots = 512; };' \
    "forwarder.learn_slots must be 1024..16777216"
refuse forwarder 'node = "n";
forwarder = { mode = "gateway"; listen = "1.2.3.4:4789"; buffers = 256; udp_recvs = 200; };' \
    "forwarder.buffers (256) must be at least twice"
refuse forwarder 'node = "n";
forwarder = { mode = "gateway"; listen = "1.2.3.4:4789"; tap_mut = 1400; };' \
    "unknown setting 'forwarder.tap_mut'"
refuse rule-store 'node = "n";
rule_store = { controllers = ["1.2.3.4:7400"]; advance_rign = 4096; };' \
    "bad.conf:2: unknown setting 'rule_store.advance_rign'"
refuse learner 'node = "n";
learner = { host = "h"; gateways = ["1.2.3.4:1"]; controllers = ["1.2.3.4:7400"];
  sync_wiat = "1s"; };' "bad.conf:3: unknown setting 'learner.sync_wiat'"

# What libconfig accepts but does not mean what it says. A misspelt group: every
# process refuses it, or its own would run on its defaults.
{
	cat "$T_OUT/example.conf"
	printf 'controler = {\n\tversion_step = 2;\n};\n'
} >"$T_OUT/typo.conf"
line=$(($(wc -l <etc/example.conf) + 1))
for p in controller rule-store syncd learner forwarder; do
	refuse_path "$p" "$T_OUT/typo.conf" "typo.conf:$line: unknown group 'controler'"
done
# a comment never closed: libconfig ignored the rest of the file
refuse controller 'node = "n";
controller = {
  version_step = 2;
};
/* one star short: the rest is a comment *
controller_2 = { listen = "nonsense"; };' "bad.conf:5: a comment (/*) is not closed"
# 2^41 without an L: libconfig read 0, and the message said "not 0"
refuse controller 'node = "n";
controller = {
  db_map_size = 2199023255552;
};' "bad.conf:3: controller.db_map_size must be 16777216..1099511627776, not 2199023255552"
refuse controller 'node = "n";
controller = {
  db_map_size = 18446744073709551616;
};' "bad.conf:3: controller.db_map_size: 18446744073709551616 does not fit in 64 bits"
refuse syncd 'node = "n";
syncd = {
  allow = ["10.0.0.0/8"];
  allow = ["0.0.0.0/0"];
};' "bad.conf:4: syncd.allow is set twice"
printf 'syncd = { allow = ["10.0.0.0/8"]; };\n' >"$T_OUT/inc.conf"
refuse syncd "node = \"n\";
@include \"$T_OUT/inc.conf\"" "bad.conf:2: @include is not supported"
refuse_path syncd "$T_OUT" "$T_OUT: cannot read: a directory"
# a file of megabytes: refused before libconfig spends seconds on it
{
	printf 'node = "n";\nsyncd = { allow = ["10.0.0.0/8"]; };\nx = "'
	head -c 300000 /dev/zero | tr '\0' x
	printf '";\n'
} >"$T_OUT/big.conf"
refuse_path syncd "$T_OUT/big.conf" "big.conf: larger than 256 KiB"
# TLS (docs/controller.md): on by default, so its files must be named; tls = false is
# plaintext. A key others may read is refused at start, before anything is touched.
refuse controller 'node = "n";
controller = { tls_cert = "c.crt"; tls_key = "c.key"; };' \
    "bad.conf: controller.tls_ca must name the CA's certificate"
refuse rule-store 'node = "n";
rule_store = { controllers = ["1.2.3.4:7400"]; tls_ca = "ca.crt"; tls_key = "k"; };' \
    "bad.conf: rule_store.tls_cert must name this node's certificate"
refuse learner 'node = "n";
learner = { host = "h"; gateways = ["1.2.3.4:1"]; controllers = ["1.2.3.4:7400"]; tls = false;
  tls_ca = 1; };' "bad.conf:3: learner.tls_ca must be a string"
printf 'node = "n";\ncontroller = { tls = false; };\n' >"$T_OUT/plain.conf"
check controller "$T_OUT/plain.conf"
t_pki controller:ctl
chmod 644 "$T_OUT/pki/controller-ctl.key"
printf 'node = "cfg%s";\ncontroller = { data_dir = "%s/never"; api_socket = "%s/never.sock";
  tls_ca = "%s/pki/ca.crt"; tls_cert = "%s/pki/controller-ctl.crt";
  tls_key = "%s/pki/controller-ctl.key"; };\n' $$ "$T_OUT" "$T_OUT" "$T_OUT" "$T_OUT" \
    "$T_OUT" >"$T_OUT/key.conf"
rc=0
"$BUILD/bin/vpcfwd-controller" -c "$T_OUT/key.conf" >/dev/null 2>"$T_OUT/err" || rc=$?
[[ $rc -ne 0 ]] || t_fail "the controller started with a key of mode 0644"
grep -q "controller-ctl.key: a private key must be mode 0600 (it is 0644)" "$T_OUT/err" ||
	t_fail "the controller said '$(cat "$T_OUT/err")' of a key of mode 0644"
[[ ! -e $T_OUT/never ]] || t_fail "the controller made its data directory before refusing"
echo "config: ok"
