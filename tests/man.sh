#!/usr/bin/env bash
# man: the man pages (docs/man/*, and vpcfwd.conf.5 that make generates from
# etc/example.conf) are clean to mandoc -Tlint at every level but "referenced manual not
# found" (which depends on the machine's manuals: references to vpcfwd's own pages are
# checked instead), every program built (build/bin) or shipped as a script
# (tools/vpcfwd-supervise, tools/vpcfwd-pki) has its page in its section, every option
# and command of its usage is in it, and every setting of etc/example.conf is in
# vpcfwd.conf(5) (tests/py/mancheck.py). Then the check is shown to fail on pages
# broken each way.
#
#	BUILD=build bash tests/man.sh
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init man

command -v mandoc >/dev/null || t_fail "mandoc is missing (apt-get install mandoc, or make deps)"
[[ -f $BUILD/man/vpcfwd.conf.5 ]] || t_fail "no $BUILD/man/vpcfwd.conf.5: run make"
[[ -x $BUILD/bin/vpcfwd-controller ]] || t_fail "no $BUILD/bin/vpcfwd-controller: run make"
PROGS=("$BUILD"/bin/* tools/vpcfwd-supervise tools/vpcfwd-pki)

# pages DIR: the pages as make installs them, into DIR
pages()
{
	mkdir -p "$1"
	cp docs/man/*.[158] "$BUILD/man/vpcfwd.conf.5" "$1/"
}

# check DIR: mancheck on DIR's pages, its lines in $T_OUT/check.out
check()
{
	python3 tests/py/mancheck.py "$1" etc/example.conf "${PROGS[@]}" >"$T_OUT/check.out" 2>&1
}

pages "$T_OUT/good"
check "$T_OUT/good" || t_fail "$(cat "$T_OUT/check.out")"
# The generated page is what make makes of the example now (not a stale build).
python3 tools/man/conf2mdoc tools/man/vpcfwd.conf.5.in etc/example.conf >"$T_OUT/conf.5"
cmp -s "$T_OUT/conf.5" "$BUILD/man/vpcfwd.conf.5" ||
	t_fail "$BUILD/man/vpcfwd.conf.5 is not what etc/example.conf makes: run make"

# broken WHAT WANT SED FILE: FILE's page edited by SED must fail the check, saying WANT
broken()
{
	rm -rf "$T_OUT/bad"
	pages "$T_OUT/bad"
	if [[ $3 == rm ]]; then rm "$T_OUT/bad/$4"; else sed -i "$3" "$T_OUT/bad/$4"; fi
	if check "$T_OUT/bad"; then t_fail "a page with $1 passes"; fi
	grep -qF -- "$2" "$T_OUT/check.out" ||
		t_fail "a page with $1: the check said '$(cat "$T_OUT/check.out")', not '$2'"
}

broken "an option missing" "vpcfwd-stat: option -N of its usage is not an item of vpcfwd-stat.1" \
    '/^\.It Fl N Ar node$/d' vpcfwd-stat.1
broken "a long option missing" "option --restore of its usage is not an item of" \
    's/^\.It Fl -restore .*/.It Fl x/' vpcfwd-controller.8
broken "a command missing" "vpcfwdctl: 'vm migrate' of its usage is not in vpcfwdctl.1" \
    's/Cm vm migrate/Cm vm move/' vpcfwdctl.1
broken "a setting missing" "setting forwarder.learn_slots of etc/example.conf" \
    '/^\.It Cm learn_slots No = /d' vpcfwd.conf.5
broken "a nested setting missing" "setting controller.etcd.compact_keep of etc/example.conf" \
    's/^\.It Cm compact_keep No = /.It Cm compact No = /' vpcfwd.conf.5
broken "a lint error" "vpcfwd-keygen.1:" '/^\.Sh EXIT STATUS$/i .Bl -tag -width Ds' \
    vpcfwd-keygen.1
broken "a lint warning" "WARNING" 's/^\.Sh DESCRIPTION$/&\nFirst sentence. Next sentence./' \
    vpcfwd-table.1
broken "a lint style message" "STYLE" 's/^\.Sh FILES$/& /' vpcfwd-syncd.8
broken "a page missing" "vpcfwd-syncd: no page vpcfwd-syncd.8" rm vpcfwd-syncd.8
broken "a bad reference" ".Xr vpcfwd-sync 8 names no page" \
    's/^\.Xr vpcfwd-syncd 8/.Xr vpcfwd-sync 8/' vpcfwd-learner.8
broken "a wrong .Dt" ".Dt must be VPCFWD-STAT 1" 's/^\.Dt VPCFWD-STAT 1/.Dt VPCFWD-STAT 8/' \
    vpcfwd-stat.1
echo "man: ok"
