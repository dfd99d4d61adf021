# shellcheck shell=bash
# bash completion for vpcfwdctl (docs/cli.md): commands and subcommands, the options of
# each, FILE operands, and the names of VPCs, hosts and VMs, asked of the controller the
# command line names (-s SOCKET, else $VPCFWD_SOCKET, else the default) with
# `vpcfwdctl vpc list` and the like: at most -t SECONDS (1 when not given, or given as
# 0) for each wait and a second more for the whole listing, silent when no controller
# answers. Installed as /usr/share/bash-completion/completions/vpcfwdctl (loaded on
# first use by the bash-completion package), or sourced by hand: it needs nothing but
# bash's own compgen and complete, not the package's helpers, so that it works either
# way and is tested alone (tests/completion.sh).
#
# The grammar below follows tools/vpcfwdctl/main.c's table of commands; a command or
# option added there is added here too.

# The subcommands of a group; nothing for a command of one word.
_vpcfwdctl_subs()
{
	case $1 in
	vpc) echo "create delete list show reset" ;;
	host) echo "create delete list" ;;
	vm) echo "create delete list show migrate" ;;
	rule | gateway) echo "list" ;;
	esac
}

# The options of a command ("group sub", or the group alone).
_vpcfwdctl_opts()
{
	case $1 in
	"vpc create") echo "--vni --cidr" ;;
	"host create") echo "--vtep --kind" ;;
	"vm create") echo "--vpc --ip --host --mac --tap" ;;
	"vm list") echo "--vpc --host" ;;
	"vm migrate") echo "--host" ;;
	import | delete) echo "--batch" ;;
	backup) echo "--force" ;;
	esac
}

# What the operand at position $2 (0 first) of command $1 is: vpc, host, vm, file or
# nothing.
_vpcfwdctl_operand()
{
	case "$1:$2" in
	"vpc delete:0" | "vpc show:0" | "vpc reset:0" | "rule list:0") echo vpc ;;
	"host delete:0") echo host ;;
	"vm show:0" | "vm migrate:0" | "vm delete:"*) echo vm ;;
	"import:0" | "delete:0" | "backup:0") echo file ;;
	esac
}

# The names of the controller's vpcs, hosts or vms ($1), one a line, sorted; nothing
# when it does not answer. $2: the program, $3: -s's value (or ""), $4: -t's (or "").
_vpcfwdctl_names()
{
	local t=${4:-1} args=()

	# As vpcfwdctl reads it: decimal (08 is 8, not an octal error on the terminal).
	if [[ $t =~ ^[0-9]{1,5}$ ]]; then t=$((10#$t)); else t=1; fi
	((t >= 1 && t <= 86400)) || t=1
	[[ -z $3 ]] || args+=(-s "$3")
	# The table's first column; its header says it is the names, else it is not used.
	timeout -s KILL $((t + 1)) "$2" "${args[@]}" -t "$t" "$1" list 2>/dev/null </dev/null |
		awk 'NR == 1 { if ($1 != "NAME") exit; next } { print $1 }' 2>/dev/null | sort -u
}

# COMPREPLY: the words of $1 that begin with $2.
_vpcfwdctl_words()
{
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

# COMPREPLY: the files and directories whose names begin with $1 (spaces and all).
_vpcfwdctl_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$1" | sort)
}

_vpcfwdctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]}
	local -a words=("${COMP_WORDS[@]:0:COMP_CWORD}")
	local socket="" timeout="" cmd="" group="" want="" w i npos=0 ddash=0
	local -A given=()

	COMPREPLY=()
	# A path to the program as typed (./build/bin/vpcfwdctl), else the one in PATH.
	[[ $prog == */* && -x $prog ]] || prog=vpcfwdctl
	# "--vpc=bl": bash splits it at "=" (COMP_WORDBREAKS); complete the value.
	if [[ $cur == = ]]; then
		cur=""
		words+=("=")
	fi
	# Walk the words before the cursor: the global options, the command, its options
	# (each remembered, and what the next word is the value of) and operands.
	for ((i = 1; i < ${#words[@]}; i++)); do
		w=${words[i]}
		if [[ -n $want ]]; then
			[[ $w == = ]] && continue	# --opt = value
			case $want in
			-s) socket=$w ;;
			-t) timeout=$w ;;
			esac
			want=""
			continue
		fi
		if ((ddash == 0)) && [[ $w == -* ]]; then
			case $w in
			--) ddash=1 ;;
			-s | --socket) want=-s given[--socket]=1 ;;
			-t | --timeout) want=-t given[--timeout]=1 ;;
			-s?*) socket=${w#-s} given[--socket]=1 ;;
			-t?*) timeout=${w#-t} given[--timeout]=1 ;;
			-j | --json) given[--json]=1 ;;
			-h | --help) given[--help]=1 ;;
			--force) given[$w]=1 ;;
			--*) want=$w given[$w]=1 ;;	# a command's option: its value is next
			esac
			continue
		fi
		if [[ -z $group ]]; then
			group=$w
			cmd=$w
			[[ -z $(_vpcfwdctl_subs "$w") ]] || cmd=""
		elif [[ -z $cmd ]]; then
			cmd="$group $w"
		else
			npos=$((npos + 1))
		fi
	done

	# The value of an option.
	if [[ -n $want ]]; then
		case $want in
		-s) _vpcfwdctl_files "$cur" ;;
		--vpc | --host)
			_vpcfwdctl_words "$(_vpcfwdctl_names "${want#--}" "$prog" "$socket" \
			    "$timeout")" "$cur"
			;;
		--kind) _vpcfwdctl_words "vswitch external" "$cur" ;;
		esac
		return 0
	fi
	# An option: the command's not given yet (--cidr again), then the global ones.
	if [[ $cur == -* ]] && ((ddash == 0)); then
		local o opts=()

		for o in $(_vpcfwdctl_opts "$cmd") --help --json --socket --timeout; do
			[[ -n ${given[$o]:-} && $o != --cidr ]] || opts+=("$o")
		done
		[[ -z $group || -n $cmd ]] || opts=(--help --json --socket --timeout)
		_vpcfwdctl_words "${opts[*]}" "$cur"
		return 0
	fi
	if [[ -z $group ]]; then
		_vpcfwdctl_words "vpc host vm rule gateway import delete backup help" "$cur"
		return 0
	fi
	if [[ -z $cmd ]]; then
		_vpcfwdctl_words "$(_vpcfwdctl_subs "$group")" "$cur"
		return 0
	fi
	w=$(_vpcfwdctl_operand "$cmd" "$npos")
	case $w in
	vpc | host | vm)
		_vpcfwdctl_words "$(_vpcfwdctl_names "$w" "$prog" "$socket" "$timeout")" "$cur"
		;;
	file)
		_vpcfwdctl_files "$cur"
		;;
	esac
	return 0
}

complete -F _vpcfwdctl vpcfwdctl
