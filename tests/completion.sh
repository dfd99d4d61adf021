#!/usr/bin/env bash
# completion: tools/vpcfwdctl/vpcfwdctl.bash against a real controller holding two VPCs,
# two hosts and three VMs made with vpcfwdctl. The completion function is driven as bash
# drives it (COMP_WORDS, COMP_CWORD) and COMPREPLY is compared exactly: commands,
# subcommands, each command's options (one given is not offered again, but --cidr), an
# option's fixed values, FILE operands, VPC, host and VM names from the controller named
# by -s (-t too), --vpc=VALUE, and nothing, quickly and silently, once no controller
# answers.
#
#	BUILD=build bash tests/completion.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init completion
RUN=cmp$$
COMPLETION=${COMPLETION:-tools/vpcfwdctl/vpcfwdctl.bash}

for b in vpcfwd-controller vpcfwdctl; do
	[[ -x $BUILD/bin/$b ]] || t_fail "$BUILD/bin/$b not built (make BUILD=$BUILD)"
done
t_pki controller:ctl
t_node "$RUN-ctl"
sed -e "s|@RUN@|$RUN|g" -e "s|@DIR@|$T_OUT|g" -e 's|127.0.0.1:7400|127.0.0.1:0|' \
    etc/test/controller.conf >"$T_OUT/ctl.conf"
PROG=$(realpath "$BUILD/bin/vpcfwdctl")
S=$T_OUT/controller.sock
CTL=("$PROG" -s "$S")
# The default socket and $VPCFWD_SOCKET must not be what answers: -s is.
export VPCFWD_SOCKET=$T_OUT/nothing.sock

ctl_up()
{
	"${CTL[@]}" vpc list >/dev/null
}
t_spawn PID "$BUILD/bin/vpcfwd-controller" -c "$T_OUT/ctl.conf" 2>"$T_OUT/controller.log"
t_until 5 "the controller's API" ctl_up
"${CTL[@]}" vpc create blue --vni 100 --cidr 10.0.0.0/24 >/dev/null
"${CTL[@]}" vpc create green --vni 200 --cidr 10.1.0.0/24 >/dev/null
"${CTL[@]}" host create host1 --vtep 192.0.2.1 >/dev/null
"${CTL[@]}" host create host2 --vtep 192.0.2.2 >/dev/null
"${CTL[@]}" vm create web2 --vpc blue --ip 10.0.0.6 --host host1 >/dev/null
"${CTL[@]}" vm create web1 --vpc blue --ip 10.0.0.5 --host host1 >/dev/null
"${CTL[@]}" vm create db1 --vpc green --ip 10.1.0.5 --host host2 >/dev/null

# shellcheck source=tools/vpcfwdctl/vpcfwdctl.bash
. "$COMPLETION"
[[ $(complete -p vpcfwdctl) == "complete -F _vpcfwdctl vpcfwdctl" ]] ||
	t_fail "the completion is not registered for vpcfwdctl: $(complete -p vpcfwdctl)"

# expect WANT WORD...: completing the last WORD (the cursor at its end) of the command
# line WORD... gives exactly WANT (the replies joined by spaces), and prints nothing.
expect()
{
	local want=$1 got

	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=(unchanged)
	_vpcfwdctl >"$T_OUT/comp.out" 2>&1 || t_fail "_vpcfwdctl failed on '$*'"
	[[ ! -s $T_OUT/comp.out ]] || t_fail "completing '$*' printed: $(cat "$T_OUT/comp.out")"
	got="${COMPREPLY[*]}"
	[[ $got == "$want" ]] || t_fail "completing '$*' gave '$got', not '$want'"
}

# Commands and subcommands.
expect "vpc host vm rule gateway import delete backup help" "$PROG" ""
expect "vpc vm" "$PROG" v
expect "create delete list show migrate" "$PROG" vm ""
expect "create delete list show reset" "$PROG" -s "$S" --json vpc ""
expect "list" "$PROG" gateway ""
expect "migrate" "$PROG" vm m
expect "" "$PROG" nosuch ""
echo "commands and subcommands"

# Options: the command's, not those given (but --cidr), then the global ones.
expect "--help --json --socket --timeout" "$PROG" --
expect "--socket" "$PROG" --so
expect "--vpc --ip --host --mac --tap --help --json --timeout" "$PROG" -s "$S" vm create w3 --
expect "--ip --host --mac --tap --help --json --socket --timeout" \
    "$PROG" vm create w3 --vpc blue --
expect "--vni --cidr --help --json --socket --timeout" "$PROG" vpc create red --cidr 10.2.0.0/24 --
expect "--batch" "$PROG" import --b
expect "--force" "$PROG" backup --f
expect "--help --json --socket --timeout" "$PROG" vpc list --
expect "--help --json --socket --timeout" "$PROG" vm --
expect "vswitch external" "$PROG" host create h3 --vtep 192.0.2.3 --kind ""
expect "external" "$PROG" host create h3 --kind e
echo "options, and --kind's values"

# Names from the controller that -s names.
expect "db1 web1 web2" "$PROG" -s "$S" vm show ""
expect "web1 web2" "$PROG" -s "$S" vm show w
expect "db1 web1 web2" "$PROG" vm migrate -s "$S" ""
expect "host1 host2" "$PROG" -s "$S" vm migrate web1 --host ""
expect "host1 host2" "$PROG" -s "$S" vm create web3 --vpc blue --ip 10.0.0.7 --host ""
expect "blue green" "$PROG" -s "$S" vm list --vpc ""
expect "green" "$PROG" --socket "$S" vm list --vpc g
expect "blue green" "$PROG" -s "$S" vm list --vpc = ""
expect "blue" "$PROG" -s "$S" vm list --vpc = b
expect "blue green" "$PROG" -s "$S" vpc delete ""
expect "blue" "$PROG" -s "$S" -t 3 vpc show b
expect "blue green" "$PROG" -s "$S" --timeout 08 vpc show ""
expect "blue green" "$PROG" -s "$S" -t nonsense vpc show ""
expect "blue green" "$PROG" "-s$S" rule list ""
expect "" "$PROG" -s "$S" rule list blue ""
expect "host1 host2" "$PROG" -s "$S" host delete ""
expect "db1 web1 web2" "$PROG" -s "$S" vm delete web1 ""
expect "" "$PROG" -s "$S" vpc create ""
# Without -s: $VPCFWD_SOCKET, as vpcfwdctl itself.
VPCFWD_SOCKET=$S expect "host1 host2" "$PROG" host delete ""
expect "" "$PROG" host delete ""
echo "VPC, host and VM names from the controller of -s (and \$VPCFWD_SOCKET)"

# FILE operands and -s's value: files.
mkdir "$T_OUT/files" "$T_OUT/files/sub"
touch "$T_OUT/files/a.csv" "$T_OUT/files/b.csv" "$T_OUT/files/with space.csv"
expect "$T_OUT/files/a.csv" "$PROG" import "$T_OUT/files/a"
F=$T_OUT/files
expect "$F/a.csv $F/b.csv $F/sub $F/with space.csv" "$PROG" backup --force "$F/"
expect "$F/with space.csv" "$PROG" delete --batch 10 "$F/w"
expect "$S" "$PROG" -s "$T_OUT/controller.so"
echo "files"

# No controller: nothing, quickly, silently; a stale socket file and a missing one.
t_stop "$PID" TERM || t_fail "the controller exited $? on SIGTERM"
t0=$SECONDS
expect "" "$PROG" -s "$S" vm show ""
expect "" "$PROG" -s "$T_OUT/none.sock" vm list --host ""
expect "" "$PROG" -s "$S" -t 0 vpc show ""
((SECONDS - t0 <= 3)) || t_fail "completing without a controller took $((SECONDS - t0)) s"
echo "no controller: nothing, silently"

# A controller that accepts and never answers: the listing gives up within -t.
t_spawn FAKE python3 "$(dirname "${BASH_SOURCE[0]}")/py/fakectl.py" "$T_OUT/silent.sock" \
    silent >"$T_OUT/fake.out" 2>"$T_OUT/fake.log"
t_wait_for "$T_OUT/fake.out" ready 5 "$FAKE"
t0=$SECONDS
expect "" "$PROG" -s "$T_OUT/silent.sock" vm show ""
expect "" "$PROG" -s "$T_OUT/silent.sock" -t 0 vm show ""
((SECONDS - t0 <= 6)) || t_fail "completing against a silent controller took $((SECONDS - t0)) s"
echo "completion: ok"
