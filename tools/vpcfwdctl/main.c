/*
 * vpcfwdctl main: the global options (-s, -t, --json), the table of commands, the parsing
 * of a command's operands and options against that table, and usage. Everything a
 * command needs is known to be present and well formed (by the table) before its run
 * function is called; the values themselves are checked by cmd.c and import.c.
 */
#include "tools/vpcfwdctl/ctl.h"
#include "common/version.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GLOBAL_SYNOPSIS	"[-s SOCKET] [-t SECONDS] [--json]"
#define OPT_BASE	256	/* getopt values of ctl_opts[i]: OPT_BASE + i */

const struct ctl_optdef ctl_opts[CTL_O_NUM] = {
	[CTL_O_VNI] = { "vni", "vni", "VNI", CTL_V_VNI, false },
	[CTL_O_CIDR] = { "cidr", "cidrs", "CIDR", CTL_V_CIDR, true },
	[CTL_O_VTEP] = { "vtep", "vtep", "IP", CTL_V_VTEP, false },
	[CTL_O_KIND] = { "kind", "kind", "KIND", CTL_V_KIND, false },
	[CTL_O_VPC] = { "vpc", "vpc", "VPC", CTL_V_NAME, false },
	[CTL_O_IP] = { "ip", "ip", "IP", CTL_V_IP4, false },
	[CTL_O_HOST] = { "host", "host", "HOST", CTL_V_NAME, false },
	[CTL_O_MAC] = { "mac", "mac", "MAC", CTL_V_MAC, false },
	[CTL_O_TAP] = { "tap", "tap", "TAP", CTL_V_TAP, false },
	[CTL_O_BATCH] = { "batch", "batch", "N", CTL_V_BATCH, false },
	[CTL_O_FORCE] = { "force", "force", NULL, CTL_V_FLAG, false },
};

#define NAMED(op_, out_, obj_, res_)						\
	.op = (op_), .pos_min = 1, .pos_max = 1, .pos_key = { "name" },		\
	.pos_label = { "NAME" }, .pos_val = { CTL_V_NAME }, .out = (out_),	\
	.obj = (obj_), .result = (res_), .run = cmd_run

static const struct ctl_cmd cmds[] = {
	{ "vpc", "create", "NAME --vni VNI --cidr CIDR [--cidr CIDR ...]",
	    .opts = CTL_OB(CTL_O_VNI) | CTL_OB(CTL_O_CIDR),
	    .required = CTL_OB(CTL_O_VNI) | CTL_OB(CTL_O_CIDR),
	    NAMED("vpc.create", CTL_OUT_LINE, CTL_VPC, "vpc") },
	{ "vpc", "delete", "NAME", NAMED("vpc.delete", CTL_OUT_NONE, CTL_VPC, NULL) },
	{ "vpc", "list", "", .op = "vpc.list", .out = CTL_OUT_LIST, .obj = CTL_VPC,
	    .result = "vpcs", .run = cmd_run },
	{ "vpc", "show", "NAME", NAMED("vpc.show", CTL_OUT_SHOW, CTL_VPC, "vpc") },
	{ "vpc", "reset", "NAME", NAMED("vpc.reset", CTL_OUT_LINE, CTL_VPC, "vpc") },
	{ "host", "create", "NAME --vtep IP [--kind vswitch|external]",
	    .opts = CTL_OB(CTL_O_VTEP) | CTL_OB(CTL_O_KIND), .required = CTL_OB(CTL_O_VTEP),
	    NAMED("host.create", CTL_OUT_LINE, CTL_HOST, "host") },
	{ "host", "delete", "NAME", NAMED("host.delete", CTL_OUT_NONE, CTL_HOST, NULL) },
	{ "host", "list", "", .op = "host.list", .out = CTL_OUT_LIST, .obj = CTL_HOST,
	    .result = "hosts", .run = cmd_run },
	{ "vm", "create", "NAME --vpc VPC --ip IP --host HOST [--mac MAC] [--tap TAP]",
	    .opts = CTL_OB(CTL_O_VPC) | CTL_OB(CTL_O_IP) | CTL_OB(CTL_O_HOST) |
		CTL_OB(CTL_O_MAC) | CTL_OB(CTL_O_TAP),
	    .required = CTL_OB(CTL_O_VPC) | CTL_OB(CTL_O_IP) | CTL_OB(CTL_O_HOST),
	    NAMED("vm.create", CTL_OUT_LINE, CTL_VM, "vm") },
	{ "vm", "delete", "NAME [NAME ...]", .op = "vm.delete", .pos_min = 1, .pos_max = 1,
	    .pos_more = true, .pos_key = { "name" }, .pos_label = { "NAME" },
	    .pos_val = { CTL_V_NAME }, .out = CTL_OUT_NONE, .obj = CTL_VM,
	    .run = delete_names_run },
	{ "vm", "list", "[--vpc VPC] [--host HOST]", .op = "vm.list",
	    .opts = CTL_OB(CTL_O_VPC) | CTL_OB(CTL_O_HOST), .out = CTL_OUT_LIST,
	    .obj = CTL_VM, .result = "vms", .run = cmd_run },
	{ "vm", "show", "NAME", NAMED("vm.show", CTL_OUT_SHOW, CTL_VM, "vm") },
	{ "vm", "migrate", "NAME --host HOST", .opts = CTL_OB(CTL_O_HOST),
	    .required = CTL_OB(CTL_O_HOST), NAMED("vm.migrate", CTL_OUT_LINE, CTL_VM, "vm") },
	{ "rule", "list", "VPC [IP]", .op = "rule.list", .pos_min = 1, .pos_max = 2,
	    .pos_key = { "vpc", "ip" }, .pos_label = { "VPC", "IP" },
	    .pos_val = { CTL_V_NAME, CTL_V_IP4 }, .out = CTL_OUT_LIST, .obj = CTL_RULE,
	    .result = "rules", .run = cmd_run },
	{ "gateway", "list", "", .op = "gateway.list", .out = CTL_OUT_LIST,
	    .obj = CTL_GATEWAY, .result = "gateways", .run = cmd_run },
	{ "import", NULL, "[--batch N] FILE", .op = "vm.import",
	    .opts = CTL_OB(CTL_O_BATCH), .pos_min = 1, .pos_max = 1, .pos_key = { "file" },
	    .pos_label = { "FILE" }, .pos_val = { CTL_V_PATH }, .run = import_run },
	{ "delete", NULL, "[--batch N] FILE", .op = "vm.delete",
	    .opts = CTL_OB(CTL_O_BATCH), .pos_min = 1, .pos_max = 1, .pos_key = { "file" },
	    .pos_label = { "FILE" }, .pos_val = { CTL_V_PATH }, .run = delete_run },
	{ "backup", NULL, "[--force] FILE", .op = "backup", .opts = CTL_OB(CTL_O_FORCE),
	    .pos_min = 1, .pos_max = 1, .pos_key = { "path" }, .pos_label = { "FILE" },
	    .pos_val = { CTL_V_PATH }, .run = backup_run,
	    .timeout_s = CTL_BACKUP_TIMEOUT_DEFAULT },
};

#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

const char *
ctl_oneline(char *buf, size_t len, const char *s)
{
	size_t i;

	for (i = 0; i + 1 < len && s[i] != '\0'; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	if (len)
		buf[i] = '\0';
	return buf;
}

static void
vfail(const char *fmt, va_list ap)
{
	char msg[1024], line[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fflush(stdout);
	fprintf(stderr, "%s: %s\n", CTL_PROG, ctl_oneline(line, sizeof(line), msg));
}

void
ctl_fail(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(fmt, ap);
	va_end(ap);
	exit(status);
}

static void
usage_cmd(FILE *f, const char *lead, const struct ctl_cmd *cmd)
{
	fprintf(f, "%s%s %s %s%s%s%s%s\n", lead, CTL_PROG, GLOBAL_SYNOPSIS, cmd->group,
	    cmd->name ? " " : "", cmd->name ? cmd->name : "", cmd->synopsis[0] ? " " : "",
	    cmd->synopsis);
}

/* Every command of group (all when NULL). */
static void
usage_group(FILE *f, const char *group)
{
	const char *lead = "usage: ";

	for (size_t i = 0; i < NCMDS; i++) {
		if (group && strcmp(cmds[i].group, group) != 0)
			continue;
		usage_cmd(f, lead, &cmds[i]);
		lead = "       ";
	}
}

static void
usage_full(FILE *f)
{
	usage_group(f, NULL);
	fprintf(f, "options:\n"
	    "  -s, --socket SOCKET[,SOCKET...]\n"
	    "                         the controller's API socket, or a cluster's controllers:\n"
	    "                         tried in order, the first that takes the connection is\n"
	    "                         used; else $%s, else\n"
	    "                         %s. A listing or show whose\n"
	    "                         connection breaks moves on to the next; a change whose\n"
	    "                         connection breaks once sent is never sent again: its\n"
	    "                         outcome there is unknown (status 3, naming it)\n"
	    "  -t, --timeout SECONDS  wait at most this long for the controller each time it\n"
	    "                         is waited on (connect, request, answer); 0: no limit;\n"
	    "                         default %d (backup: %d)\n"
	    "  -j, --json             print the API's objects as JSON\n"
	    "  -h, --help             this text (after a command: that command's usage)\n"
	    "  --version              the version, alone on the line\n"
	    "exit status: 0 done, 1 refused by the controller, 2 bad usage, 3 the controller\n"
	    "cannot be reached or did not answer in time. See docs/cli.md.\n", CTL_SOCKET_ENV,
	    CTL_SOCKET_DEFAULT, CTL_TIMEOUT_DEFAULT, CTL_BACKUP_TIMEOUT_DEFAULT);
}

/* The command's synopsis without the global options, for a usage error's line. */
static const char *
synopsis(char *buf, size_t len, const struct ctl_cmd *cmd)
{
	snprintf(buf, len, "%s %s%s%s%s%s", CTL_PROG, cmd->group, cmd->name ? " " : "",
	    cmd->name ? cmd->name : "", cmd->synopsis[0] ? " " : "", cmd->synopsis);
	return buf;
}

/*
 * One line, bad usage too (scripts count on it): the message, then the usage of the
 * command when one was named, else where the commands are listed.
 */
void
ctl_usage_fail(const struct ctl *c, const char *fmt, ...)
{
	char msg[512], use[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c && c->cmd)
		ctl_fail(CTL_EXIT_USAGE, "%s; usage: %s", msg, synopsis(use, sizeof(use), c->cmd));
	ctl_fail(CTL_EXIT_USAGE, "%s (%s -h lists the commands)", msg, CTL_PROG);
}

/*
 * -s, -t and --json, before the command or among its arguments: each at most once, as
 * any option (a second -s would silently win over the first).
 */
static void
global_opt(struct ctl *c, int ch, const char *arg)
{
	switch (ch) {
	case 'j':
		if (c->json)
			ctl_usage_fail(c, "option --json is given twice");
		c->json = true;
		break;
	case 's':
		if (c->socket)
			ctl_usage_fail(c, "option --socket is given twice");
		c->socket = arg;
		break;
	case 't':
		if (c->timeout_given)
			ctl_usage_fail(c, "option --timeout is given twice");
		c->timeout_s = (unsigned)cmd_check("timeout", CTL_V_TIMEOUT, arg);
		c->timeout_given = true;
		break;
	}
}

static bool
is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 || strcmp(s, "help") == 0;
}

/* The command named by argv[0] (and argv[1]); *used: how many words it took. */
static const struct ctl_cmd *
find_cmd(int argc, char **argv, int *used)
{
	char list[128] = "", line[64];
	bool group = false;

	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, argv[0]) == 0) {
			group = true;
			if (cmds[i].name == NULL) {
				*used = 1;
				return &cmds[i];
			}
		}
	if (!group) {
		if (is_help(argv[0])) {
			usage_full(stdout);
			exit(0);
		}
		ctl_usage_fail(NULL, "unknown command %s", ctl_oneline(line, sizeof(line),
		    argv[0]));
	}
	for (size_t i = 0; i < NCMDS; i++)
		if (strcmp(cmds[i].group, argv[0]) == 0) {
			if (argc > 1 && strcmp(cmds[i].name, argv[1]) == 0) {
				*used = 2;
				return &cmds[i];
			}
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			    list[0] ? ", " : "", cmds[i].name);
		}
	if (argc < 2)
		ctl_fail(CTL_EXIT_USAGE, "%s: missing command (want %s)", argv[0], list);
	if (is_help(argv[1])) {
		usage_group(stdout, argv[0]);
		exit(0);
	}
	ctl_fail(CTL_EXIT_USAGE, "unknown command %s %s (want %s)", argv[0],
	    ctl_oneline(line, sizeof(line), argv[1]), list);
}

/*
 * Operands and options of c->cmd from argv (argv[0] is the command's last word). Every
 * option is known to getopt, so one that this command does not take is named as such.
 * Operands and options may come in any order ("-" returns operands in place, whatever
 * POSIXLY_CORRECT says); "--" ends the options.
 */
static void
parse_args(struct ctl *c, int argc, char **argv, struct ctl_args *a)
{
	const struct ctl_cmd *cmd = c->cmd;
	struct option lo[CTL_O_NUM + 5];
	char what[64];
	int ch, n = 0;

	for (int i = 0; i < CTL_O_NUM; i++)
		lo[n++] = (struct option){ ctl_opts[i].name, ctl_opts[i].val == CTL_V_FLAG ?
			no_argument : required_argument, NULL, OPT_BASE + i };
	lo[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lo[n++] = (struct option){ "socket", required_argument, NULL, 's' };
	lo[n++] = (struct option){ "timeout", required_argument, NULL, 't' };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	if ((a->cidr = calloc((size_t)argc + 1, sizeof(*a->cidr))) == NULL ||
	    (a->pos = calloc((size_t)argc + 1, sizeof(*a->pos))) == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory");
	optind = 0;	/* GNU: start over, argv[0] being a program name */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-:hjs:t:", lo, NULL)) != -1) {
		const char *arg = argv[optind - 1];

		switch (ch) {
		case 1:
			if (a->npos == cmd->pos_max && !cmd->pos_more)
				ctl_usage_fail(c, "unexpected argument %s",
				    ctl_oneline(what, sizeof(what), optarg));
			a->pos[a->npos++] = optarg;
			break;
		case 'h':
			usage_cmd(stdout, "usage: ", cmd);
			exit(0);
		case 'j':
		case 's':
		case 't':
			global_opt(c, ch, optarg);
			break;
		case ':':
			ctl_usage_fail(c, "option %s needs a value", ctl_oneline(what,
			    sizeof(what), arg));
		case '?':
			if (optopt && optopt < OPT_BASE && strncmp(arg, "--", 2) != 0)
				ctl_usage_fail(c, "unknown option -%c", optopt);
			ctl_usage_fail(c, "unknown option %s", ctl_oneline(what, sizeof(what),
			    arg));
		default: {
			int i = ch - OPT_BASE;

			if (i < 0 || i >= CTL_O_NUM || !(cmd->opts & CTL_OB(i)))
				ctl_usage_fail(c, "%s%s%s does not take --%s", cmd->group,
				    cmd->name ? " " : "", cmd->name ? cmd->name : "",
				    i >= 0 && i < CTL_O_NUM ? ctl_opts[i].name : "?");
			if (a->opt[i] && !ctl_opts[i].repeat)
				ctl_usage_fail(c, "option --%s is given twice", ctl_opts[i].name);
			a->opt[i] = optarg ? optarg : "true";	/* a flag */
			if (i == CTL_O_CIDR)
				a->cidr[a->ncidr++] = optarg;
			break;
		}
		}
	}
	for (; optind < argc; optind++) {	/* after "--" */
		if (a->npos == cmd->pos_max && !cmd->pos_more)
			ctl_usage_fail(c, "unexpected argument %s",
			    ctl_oneline(what, sizeof(what), argv[optind]));
		a->pos[a->npos++] = argv[optind];
	}
	if (a->npos < cmd->pos_min)
		ctl_usage_fail(c, "missing %s", cmd->pos_label[a->npos]);
	for (int i = 0; i < CTL_O_NUM; i++)
		if ((cmd->required & CTL_OB(i)) && a->opt[i] == NULL)
			ctl_usage_fail(c, "missing --%s %s", ctl_opts[i].name, ctl_opts[i].label);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .api.fd = -1 };
	struct ctl_args a = { 0 };
	char what[64];
	int ch, used, rc;

	version_exit_if_asked(argc, argv, "vpcfwdctl");
	opterr = 0;
	/* "+": stop at the command; its options are parsed with it. */
	while ((ch = getopt_long(argc, argv, "+:hjs:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage_full(stdout);
			return 0;
		case 'j':
		case 's':
		case 't':
			global_opt(&c, ch, optarg);
			break;
		case ':':
			ctl_usage_fail(NULL, "option %s needs a value",
			    ctl_oneline(what, sizeof(what), argv[optind - 1]));
		default:
			if (optopt && strncmp(argv[optind - 1], "--", 2) != 0)
				ctl_usage_fail(NULL, "unknown option -%c", optopt);
			ctl_usage_fail(NULL, "unknown option %s",
			    ctl_oneline(what, sizeof(what), argv[optind - 1]));
		}
	}
	if (optind == argc)
		ctl_usage_fail(NULL, "missing command");
	c.cmd = find_cmd(argc - optind, argv + optind, &used);
	parse_args(&c, argc - optind - used + 1, argv + optind + used - 1, &a);
	if (c.socket == NULL && (c.socket = getenv(CTL_SOCKET_ENV)) != NULL &&
	    c.socket[0] == '\0')
		c.socket = NULL;
	if (c.socket == NULL)
		c.socket = CTL_SOCKET_DEFAULT;
	if (!c.timeout_given)
		c.timeout_s = c.cmd->timeout_s ? c.cmd->timeout_s : CTL_TIMEOUT_DEFAULT;
	if (c.socket[0] == '\0')
		ctl_usage_fail(&c, "-s needs a socket path");
	client_sockets(&c);

	rc = c.cmd->run(&c, &a);
	client_close(&c);
	for (int i = 0; i < c.nsockets; i++)
		free(c.sockets[i]);
	free(a.cidr);
	free(a.pos);
	if (fflush(stdout) == EOF || ferror(stdout))
		ctl_fail(CTL_EXIT_ERROR, "stdout: %s", strerror(errno));
	return rc;
}
