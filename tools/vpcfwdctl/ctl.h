/*
 * vpcfwdctl: the operator's CLI to the controller's control API (docs/api.md; its own
 * manual is docs/cli.md). One command a run: parse and check the command line, send
 * one request (import: a batch at a time) over the controller's unix socket, print the
 * answer. The files share this header:
 *
 *   main.c     global options, the command table, operand and option parsing, usage
 *   cmd.c      the vpc, host, vm and rule commands: a request built from the table;
 *              backup
 *   client.c   the socket: connect (the first of a list that takes the connection),
 *              frames out and in (common/wire.h), JSON responses; a read moves to the
 *              next controller when its connection breaks, a change never is sent again
 *   print.c    the API's objects as aligned tables, one-line summaries or JSON
 *   import.c   vm.import (import) and vm.delete (delete, vm delete NAME...) in
 *              batches, progress, errors mapped back to file lines
 *   impfile.c  the import file's reader (impfile.h): JSON lines or CSV
 *
 * Exit status: 0 done, 1 the controller refused (or the import file is bad), 2 bad
 * usage, 3 the controller cannot be reached, or did not answer within the timeout (-t).
 * Every error is one line on stderr, "vpcfwdctl: <message>"; a usage error adds the
 * usage of the command on that line.
 */
#ifndef TOOLS_VPCFWDCTL_CTL_H
#define TOOLS_VPCFWDCTL_CTL_H

#include "common/apiclient.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTL_PROG		"vpcfwdctl"
#define CTL_SOCKET_ENV		"VPCFWD_SOCKET"
#define CTL_SOCKET_DEFAULT	"/run/vpcfwd/controller.sock"

#define CTL_EXIT_ERROR		1
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_UNREACHABLE	3

#define CTL_TIMEOUT_DEFAULT	5	/* -t: seconds each wait on the controller */
#define CTL_TIMEOUT_MAX		86400
/* backup's default wait: the answer comes once the whole file is written and synced */
#define CTL_BACKUP_TIMEOUT_DEFAULT	3600

#define CTL_BATCH_DEFAULT	10000	/* import: VMs a vm.import request */
#define CTL_BATCH_MAX		100000	/* the API's limit */

/* What a value is and how it is checked (common/addr.h) before it goes in a request. */
enum ctl_val {
	CTL_V_NAME,	/* VPC, host or VM name */
	CTL_V_IP4,	/* ip */
	CTL_V_VTEP,	/* a host's VTEP: an IPv4 address that can be a host's */
	CTL_V_MAC,
	CTL_V_TAP,
	CTL_V_KIND,
	CTL_V_VNI,	/* a decimal number */
	CTL_V_CIDR,	/* repeatable; sent as the array "cidrs" */
	CTL_V_BATCH,	/* import --batch: 1..CTL_BATCH_MAX */
	CTL_V_PATH,	/* a file, or "-" */
	CTL_V_TIMEOUT,	/* -t: seconds, 0..CTL_TIMEOUT_MAX */
	CTL_V_FLAG,	/* no value: sent as true */
};

/* The options a command may take: bits of ctl_cmd.opts, indexes of ctl_args.opt. */
enum ctl_opt {
	CTL_O_VNI,
	CTL_O_CIDR,
	CTL_O_VTEP,
	CTL_O_KIND,
	CTL_O_VPC,
	CTL_O_IP,
	CTL_O_HOST,
	CTL_O_MAC,
	CTL_O_TAP,
	CTL_O_BATCH,
	CTL_O_FORCE,
	CTL_O_NUM,
};

#define CTL_OB(o)	(1u << (o))

struct ctl_optdef {
	const char *name;	/* --name on the command line */
	const char *key;	/* the argument in the request and in error messages */
	const char *label;	/* its value in a synopsis */
	enum ctl_val val;
	bool repeat;		/* may be given more than once */
};

extern const struct ctl_optdef ctl_opts[CTL_O_NUM];

/* How a command's result is printed. */
enum ctl_out {
	CTL_OUT_NONE,	/* delete: nothing */
	CTL_OUT_LINE,	/* create, migrate, reset: the object on one line */
	CTL_OUT_SHOW,	/* show: the object, a field a line */
	CTL_OUT_LIST,	/* list: a table */
};

/* The kinds of object in responses (docs/api.md, "Objects in responses"). */
enum ctl_obj { CTL_VPC, CTL_HOST, CTL_VM, CTL_RULE, CTL_GATEWAY };

#define CTL_POS_MAX	2

struct ctl;
struct ctl_args;

struct ctl_cmd {
	const char *group;	/* "vm"; "import" and "delete" have no second word */
	const char *name;	/* "create", or NULL */
	const char *synopsis;	/* what follows the command's words */
	const char *op;		/* the API operation */
	unsigned opts;		/* CTL_OB() of the options it takes */
	unsigned required;	/* CTL_OB() of those it needs */
	int pos_min, pos_max;	/* operands */
	bool pos_more;		/* the last operand may repeat: any number past pos_max */
	const char *pos_key[CTL_POS_MAX];	/* operands' names in the request */
	const char *pos_label[CTL_POS_MAX];	/* and in the synopsis */
	enum ctl_val pos_val[CTL_POS_MAX];
	enum ctl_out out;
	enum ctl_obj obj;
	const char *result;	/* the result's key in the response */
	int (*run)(struct ctl *c, const struct ctl_args *a);
	unsigned timeout_s;	/* its default -t; 0: CTL_TIMEOUT_DEFAULT */
};

struct ctl_args {
	char **pos;			/* the operands (more than CTL_POS_MAX with pos_more) */
	int npos;
	const char *opt[CTL_O_NUM];	/* the last value given; NULL when absent */
	const char **cidr;		/* every --cidr, in order */
	int ncidr;
};

#define CTL_SOCKETS_MAX	16

struct ctl {
	const char *socket;		/* -s or $VPCFWD_SOCKET: a socket, or a list "a,b" */
	char *sockets[CTL_SOCKETS_MAX];	/* its elements, tried in this order */
	int nsockets;
	int cur;			/* the one connected, or to try next */
	char moved[512];		/* why the ones before cur were left, for an error */
	unsigned timeout_s;		/* each wait on the controller; 0: no limit */
	bool timeout_given;
	bool json;
	const struct ctl_cmd *cmd;	/* the command running, for its usage */
	struct apiclient api;		/* api.fd -1 until connected */
};

/* main.c */
void ctl_fail(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* A usage error of c->cmd: the message, the command's usage, exit 2. */
void ctl_usage_fail(const struct ctl *c, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
/* Copy s into buf (len bytes) as one printable line: control bytes become '?'. */
const char *ctl_oneline(char *buf, size_t len, const char *s);

/* cmd.c */
int cmd_run(struct ctl *c, const struct ctl_args *a);
/* backup FILE: FILE made absolute (the controller writes it), then the answer printed. */
int backup_run(struct ctl *c, const struct ctl_args *a);
/*
 * Check s as a value of kind v named key (common/addr.h); exits 2 saying why not.
 * Returns the number for CTL_V_VNI, CTL_V_BATCH and CTL_V_TIMEOUT, else 0.
 */
int64_t cmd_check(const char *key, enum ctl_val v, const char *s);

/* client.c */
/*
 * Split c->socket (a comma-separated list) into c->sockets; exits 2 on an empty
 * element or more than CTL_SOCKETS_MAX.
 */
void client_sockets(struct ctl *c);
/*
 * Connect to the first socket from c->cur on that takes the connection; exit 3 when
 * none does, naming each and why.
 */
void client_connect(struct ctl *c);
/* Send one frame (the length prefix is added). 0, or a negative errno. */
int client_send(struct ctl *c, const void *payload, size_t len);
/*
 * Receive one response: 0 with *resp, an object holding a boolean "ok"; -EBADMSG when
 * the payload is not that (then *why says what it was), -EMSGSIZE when its length
 * exceeds WIRE_JSON_MAX, -ECONNRESET when the controller closed the connection, or an
 * I/O error.
 */
int client_recv(struct ctl *c, json_t **resp, const char **why);
/*
 * Send req (taking its reference), return the response's object when it says ok; else
 * exit: 1 with the controller's error (or a bad response), 3 when the connection fails.
 * A request that could not be sent whole (so applied nowhere), and a read whose answer
 * was lost, go to the next socket of the list; a change whose answer was lost is not
 * sent again: exit 3 saying its outcome at that controller is unknown.
 */
json_t *client_call(struct ctl *c, json_t *req);
/*
 * Why the connection failed with r once made, as an error line in buf: "the controller
 * at SOCKET did not answer within 5 s" for a timeout, else "lost the connection to
 * SOCKET: closed by the controller" (or the errno's words); SOCKET the one connected.
 */
const char *client_lost(const struct ctl *c, int r, char *buf, size_t len);
/* The error of a response that is not ok, as one printable line in buf. */
const char *client_error(json_t *resp, char *buf, size_t len);
void client_close(struct ctl *c);

/* print.c */
#define PRINT_FIELDS_MAX	8

/* A listing, printed page by page as the controller sends them. */
struct print_list {
	enum ctl_obj obj;
	bool json;
	bool header;			/* text: the header is out */
	size_t n;			/* JSON: elements out */
	size_t w[PRINT_FIELDS_MAX];	/* text: the columns' widths so far */
};

void print_list_begin(struct print_list *pl, const struct ctl *c, enum ctl_obj obj);
void print_list_page(struct print_list *pl, json_t *arr);
void print_list_end(struct print_list *pl);
void print_line(const struct ctl *c, enum ctl_obj obj, json_t *o);
void print_show(const struct ctl *c, enum ctl_obj obj, json_t *o);

/* import.c */
int import_run(struct ctl *c, const struct ctl_args *a);
int delete_run(struct ctl *c, const struct ctl_args *a);
/* vm delete NAME...: one name as cmd_run, several in batches of vm.delete's "names". */
int delete_names_run(struct ctl *c, const struct ctl_args *a);

#endif
