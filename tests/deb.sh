#!/usr/bin/env bash
# deb: the Debian package (make deb, docs/packaging.md) passes `lintian --fail-on error`,
# installs on this machine with apt (its dependencies from Debian), works from the
# installed paths (vpcfwd-controller -n on an installed example, every program's --version,
# vpcfwdctl --help, vpcfwd-supervise finding the daemons in PATH, the man pages and the
# Wireshark plugin where man and tshark look), and purges leaving nothing behind: no
# file of its listing, no /etc/vpcfwd, no new or removed path under /usr and /etc but
# what other packages own.
#
#	bash tests/deb.sh		make deb, then check vpcfwd_VERSION_amd64.deb
#	DEB=FILE bash tests/deb.sh	check FILE as it is (how the test's own failures
#					were checked: a package leaving a file, a lintian error)
#
# Runs as root on the machine itself: it refuses to start while a vpcfwd package it did
# not install is there (installed or left as config files), and its exit trap purges what
# it installed, the packages apt pulled in with it too, whatever step failed.
set -euo pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
t_init deb

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# No Recommends (bash-completion): the test needs nothing it would have to download.
APT=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=300)
export DEBIAN_FRONTEND=noninteractive
# The installed vpcfwd-supervise runs python3 as root: no __pycache__ written under /usr.
export PYTHONDONTWRITEBYTECODE=1
INSTALLED=0
PULLED=()

[[ $EUID -eq 0 ]] || t_fail "must run as root (it installs the package with apt)"

# The package's state in dpkg, empty when dpkg does not know it.
pkg_status()
{
	dpkg-query -W -f='${db:Status-Status}' vpcfwd 2>/dev/null || true
}

status=$(pkg_status)
if [[ -n $status && $status != not-installed ]]; then
	t_fail "a vpcfwd package is already on this machine (dpkg state '$status'), not" \
	    "installed by this test: remove it first (apt-get purge vpcfwd), it is not this" \
	    "test's to remove"
fi

# Paths under /usr and /etc, one a line, sorted.
paths()
{
	find /usr /etc -xdev -print 2>/dev/null | LC_ALL=C sort
}

# On any exit after the install began: purge what this test installed.
deb_purge()
{
	((INSTALLED)) || return 0
	INSTALLED=0
	"${APT[@]}" purge vpcfwd "${PULLED[@]}" >>"$T_OUT/purge.log" 2>&1
}

deb_exit()
{
	local rc=$?

	trap - ERR
	set +e
	if ! deb_purge; then
		echo "deb: FAIL: apt-get purge vpcfwd failed: $(tail -3 "$T_OUT/purge.log")" >&2
		rc=1
	fi
	# _t_cleanup takes the test's status from $?.
	(exit "$rc")
	_t_cleanup
}
trap deb_exit EXIT

if [[ -z ${DEB:-} ]]; then
	version=$(sed -n 's/^VERSION *:= *//p' "$REPO/Makefile")
	[[ -n $version ]] || t_fail "no VERSION in the Makefile"
	# BUILD is the test run's (build-san under SANITIZE=1): make deb picks the plain build.
	env -u BUILD make -s -C "$REPO" deb >"$T_OUT/make.log" 2>&1 ||
		t_fail "make deb failed: $(tail -5 "$T_OUT/make.log")"
	DEB=$REPO/vpcfwd_${version}_amd64.deb
fi
DEB=$(realpath "$DEB")
[[ -f $DEB ]] || t_fail "no package $DEB"
[[ $(dpkg-deb -f "$DEB" Package) == vpcfwd ]] || t_fail "$DEB is not a vpcfwd package"

# lintian: no error; the warnings left are in docs/packaging.md.
lintian --fail-on error "$DEB" >"$T_OUT/lintian.out" 2>&1 ||
	t_fail "lintian --fail-on error: $(grep -E '^[EW]:' "$T_OUT/lintian.out" | head -10)"

# What apt would install with it: those come off again at the end.
"${APT[@]}" install -s "$DEB" >"$T_OUT/sim.log" 2>&1 ||
	t_fail "apt-get install -s: $(tail -3 "$T_OUT/sim.log")"
mapfile -t PULLED < <(awk '$1 == "Inst" && $2 != "vpcfwd" { print $2 }' "$T_OUT/sim.log")

paths >"$T_OUT/before"
INSTALLED=1
"${APT[@]}" install "$DEB" >"$T_OUT/install.log" 2>&1 ||
	t_fail "apt-get install $DEB: $(tail -5 "$T_OUT/install.log")"
[[ $(pkg_status) == installed ]] || t_fail "vpcfwd is not installed after apt-get install"
dpkg -L vpcfwd >"$T_OUT/listing"

# The agreed layout.
for f in /usr/sbin/vpcfwd-{controller,rule-store,syncd,learner,forwarder,supervise} \
    /usr/bin/vpcfwd{ctl,-stat,-table,-keygen,-pki}; do
	[[ -x $f && -f $f ]] || t_fail "no program $f"
done
for f in /usr/share/doc/vpcfwd/{copyright,examples/example.conf} /etc/vpcfwd; do
	[[ -e $f ]] || t_fail "no $f"
done
if grep -q '^/usr/local' "$T_OUT/listing"; then
	t_fail "files in /usr/local: $(grep '^/usr/local' "$T_OUT/listing" | head -3)"
fi

# The programs, found in PATH as an operator runs them, from outside the repository.
cd /
[[ $(command -v vpcfwd-controller) == /usr/sbin/vpcfwd-controller ]] ||
	t_fail "vpcfwd-controller in PATH is $(command -v vpcfwd-controller), not /usr/sbin's"
vpcfwd-controller -n -c /usr/share/doc/vpcfwd/examples/example.conf >"$T_OUT/n.log" 2>&1 ||
	t_fail "vpcfwd-controller -n on the installed example: $(cat "$T_OUT/n.log")"
# Every compiled program says the package's version.
for p in vpcfwd-controller vpcfwd-rule-store vpcfwd-syncd vpcfwd-learner vpcfwd-forwarder \
    vpcfwd-exporter vpcfwdctl vpcfwd-stat vpcfwd-table vpcfwd-keygen; do
	want="$p $(dpkg-deb -f "$DEB" Version)"
	[[ $($p --version) == "$want" ]] || t_fail "$p --version says '$($p --version)', not '$want'"
done
vpcfwdctl --help >"$T_OUT/help.log" 2>&1 || t_fail "vpcfwdctl --help exited $?"
grep -q '^usage: vpcfwdctl ' "$T_OUT/help.log" || t_fail "vpcfwdctl --help printed no usage"
# vpcfwd-supervise, out of a repository, takes the daemons from PATH: here it finds
# /usr/sbin/vpcfwd-controller and has it check a file it refuses.
printf 'node = "debtest";\nsupervise = { run_dir = "%s/run"; };\ncontroller = { bogus = 1; };\n' \
    "$T_OUT" >"$T_OUT/sup.conf"
rc=0
vpcfwd-supervise start "$T_OUT/sup.conf" >"$T_OUT/sup.log" 2>&1 || rc=$?
[[ $rc -ne 0 ]] || t_fail "vpcfwd-supervise started a node from a bad file"
grep -qF "vpcfwd-controller refuses the configuration: $T_OUT/sup.conf:3: unknown setting" \
    "$T_OUT/sup.log" ||
	t_fail "vpcfwd-supervise did not run vpcfwd-controller: $(cat "$T_OUT/sup.log")"
# Man pages and the Wireshark plugin, when the package has them.
while read -r f; do
	[[ $f =~ ^/usr/share/man/man[158]/(.+)\.([158])\.gz$ ]] || continue
	man -w "${BASH_REMATCH[2]}" "${BASH_REMATCH[1]}" >/dev/null 2>&1 ||
		t_fail "man -w ${BASH_REMATCH[2]} ${BASH_REMATCH[1]} finds no page"
done <"$T_OUT/listing"
lua=$(grep '/wireshark/plugins/vpcfwd\.lua$' "$T_OUT/listing") || t_fail "no Wireshark plugin"
if command -v tshark >/dev/null; then
	tshark -G plugins 2>/dev/null | grep -F "$lua" >/dev/null || t_fail "tshark does not load $lua"
fi
cd "$REPO"

# Purge, then nothing of it is left.
INSTALLED=0
"${APT[@]}" purge vpcfwd "${PULLED[@]}" >"$T_OUT/purge.log" 2>&1 ||
	t_fail "apt-get purge vpcfwd: $(tail -5 "$T_OUT/purge.log")"
paths >"$T_OUT/after"
status=$(pkg_status)
[[ -z $status || $status == not-installed ]] || t_fail "vpcfwd is still '$status' after purge"
! dpkg -L vpcfwd >/dev/null 2>&1 || t_fail "dpkg -L vpcfwd still lists files after purge"
[[ ! -e /etc/vpcfwd ]] || t_fail "/etc/vpcfwd is left after purge"
while read -r f; do
	[[ $f != /. ]] || continue
	if [[ -e $f || -L $f ]] && ! grep -qxF -- "$f" "$T_OUT/before"; then
		t_fail "$f, of the package, is left after purge"
	fi
done <"$T_OUT/listing"
# A path that came or went: another package's only (apt run by someone else meanwhile).
# Python's byte-code caches are nobody's in dpkg and are rebuilt at will: not counted.
: >"$T_OUT/stray"
while read -r f; do
	[[ $f != */__pycache__* ]] || continue
	dpkg -S "$f" >/dev/null 2>&1 || echo "new $f" >>"$T_OUT/stray"
done < <(LC_ALL=C comm -13 "$T_OUT/before" "$T_OUT/after")
LC_ALL=C comm -23 "$T_OUT/before" "$T_OUT/after" | grep -v /__pycache__ |
    sed 's/^/gone /' >>"$T_OUT/stray" || true
[[ ! -s $T_OUT/stray ]] ||
	t_fail "install and purge changed /usr or /etc: $(head -5 "$T_OUT/stray" | tr '\n' ' ')"
warnings=$(grep -c '^W:' "$T_OUT/lintian.out" || true)
echo "deb: ok ($(basename "$DEB"), $(du -k "$DEB" | cut -f1) KiB; lintian: $warnings warnings)"
