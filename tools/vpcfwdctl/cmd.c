/*
 * vpcfwdctl cmd: the vpc, host, vm and rule commands. Each is a row of main.c's table:
 * its operands and options become the request's arguments, named as in docs/api.md,
 * each checked first with the controller's own rules (common/addr.h) so that a typo
 * is refused here, in the controller's words, before anything is sent. The result is
 * printed as the table says. And backup, whose FILE is made absolute first.
 */
#include "tools/vpcfwdctl/ctl.h"

#include "common/addr.h"
#include "common/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t
cmd_check(const char *key, enum ctl_val v, const char *s)
{
	char err[ADDR_ERR_MAX];
	enum addr_kind kind;
	struct addr_cidr cidr;
	uint8_t mac[6];
	uint32_t ip;
	uint64_t n = 0;
	int r = 0;

	switch (v) {
	case CTL_V_NAME:
		r = addr_name_check(key, s, err);
		break;
	case CTL_V_IP4:
		r = addr_ip4_check(key, s, &ip, err);
		break;
	case CTL_V_VTEP:
		r = addr_vtep_check(key, s, &ip, err);
		break;
	case CTL_V_MAC:
		r = addr_mac_check(key, s, mac, err);
		break;
	case CTL_V_TAP:
		r = addr_tap_check(key, s, err);
		break;
	case CTL_V_KIND:
		r = addr_kind_check(key, s, &kind, err);
		break;
	case CTL_V_CIDR:
		r = addr_cidr_check(key, s, &cidr, err);
		break;
	case CTL_V_VNI:
		r = addr_uint_check(key, s, ADDR_VNI_MIN, ADDR_VNI_MAX, &n, err);
		break;
	case CTL_V_BATCH:
		r = addr_uint_check(key, s, 1, CTL_BATCH_MAX, &n, err);
		break;
	case CTL_V_TIMEOUT:
		r = addr_uint_check(key, s, 0, CTL_TIMEOUT_MAX, &n, err);
		break;
	case CTL_V_PATH:
	case CTL_V_FLAG:
		break;
	}
	if (r < 0)
		ctl_fail(CTL_EXIT_USAGE, "%s", err);
	return (int64_t)n;
}

static void
put(json_t *req, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(req, key, v) < 0)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
}

/*
 * Every --cidr, each checked, then the set: the request's "cidrs". Named as the
 * controller names them, cidrs[0], cidrs[1]...
 */
static json_t *
cidrs(const struct ctl_args *a)
{
	struct addr_cidr c[ADDR_CIDRS_MAX];
	char err[ADDR_ERR_MAX], arg[32];
	json_t *arr = json_array();

	if (arr == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	for (int i = 0; i < a->ncidr; i++) {
		snprintf(arg, sizeof(arg), "cidrs[%d]", i);
		cmd_check(arg, CTL_V_CIDR, a->cidr[i]);
		if (i < ADDR_CIDRS_MAX)
			addr_cidr_parse(a->cidr[i], &c[i]);
		if (json_array_append_new(arr, json_string(a->cidr[i])) < 0)
			ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	}
	if (a->ncidr > ADDR_CIDRS_MAX)
		ctl_fail(CTL_EXIT_USAGE, "cidrs must hold at most %d prefixes", ADDR_CIDRS_MAX);
	if (addr_cidrs_check("cidrs", c, (size_t)a->ncidr, err) < 0)
		ctl_fail(CTL_EXIT_USAGE, "%s", err);
	return arr;
}

/* The result under key, of the JSON type wanted; exits 1 when the response lacks it. */
static json_t *
result(json_t *resp, const char *key, bool array)
{
	json_t *r = json_object_get(resp, key);

	if (array ? !json_is_array(r) : !json_is_object(r))
		ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: no %s \"%s\"",
		    array ? "array" : "object", key);
	return r;
}

/*
 * A listing: the controller answers a page at a time, with "more": true and "next"
 * when there is more; the request is sent again with "after": next until there is
 * not. Each page is printed as it comes.
 */
static void
list_pages(struct ctl *c, json_t *req)
{
	const struct ctl_cmd *cmd = c->cmd;
	struct print_list pl;
	char *after = NULL;

	print_list_begin(&pl, c, cmd->obj);
	for (;;) {
		json_t *resp = client_call(c, json_incref(req)), *arr;
		const char *next;

		arr = result(resp, cmd->result, true);
		print_list_page(&pl, arr);
		if (!json_is_true(json_object_get(resp, "more"))) {
			json_decref(resp);
			break;
		}
		next = json_string_value(json_object_get(resp, "next"));
		if (next == NULL || json_array_size(arr) == 0 ||
		    (after && strcmp(after, next) == 0))
			ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: \"more\" "
			    "without a page and a \"next\" that moves on");
		free(after);
		if ((after = strdup(next)) == NULL)
			ctl_fail(CTL_EXIT_ERROR, "out of memory");
		put(req, "after", json_string(after));
		json_decref(resp);
	}
	print_list_end(&pl);
	free(after);
	json_decref(req);
}

int
cmd_run(struct ctl *c, const struct ctl_args *a)
{
	const struct ctl_cmd *cmd = c->cmd;
	json_t *req = json_object(), *resp;

	if (req == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	put(req, "op", json_string(cmd->op));
	for (int i = 0; i < a->npos; i++) {
		cmd_check(cmd->pos_key[i], cmd->pos_val[i], a->pos[i]);
		put(req, cmd->pos_key[i], json_string(a->pos[i]));
	}
	for (int i = 0; i < CTL_O_NUM; i++) {
		const struct ctl_optdef *d = &ctl_opts[i];

		if (a->opt[i] == NULL)
			continue;
		if (d->val == CTL_V_CIDR)
			put(req, d->key, cidrs(a));
		else if (d->val == CTL_V_FLAG)
			put(req, d->key, json_true());
		else if (d->val == CTL_V_VNI)
			put(req, d->key, json_integer(cmd_check(d->key, d->val, a->opt[i])));
		else {
			cmd_check(d->key, d->val, a->opt[i]);
			put(req, d->key, json_string(a->opt[i]));
		}
	}

	if (cmd->out == CTL_OUT_LIST) {
		list_pages(c, req);
		return 0;
	}
	resp = client_call(c, req);
	if (cmd->out == CTL_OUT_LINE)
		print_line(c, cmd->obj, result(resp, cmd->result, false));
	else if (cmd->out == CTL_OUT_SHOW)
		print_show(c, cmd->obj, result(resp, cmd->result, false));
	json_decref(resp);
	return 0;
}

/*
 * backup FILE: the controller writes the file, so a relative FILE is made absolute
 * from here (the API socket is local: the controller sees the same file system). The
 * answer comes once the file is whole and synced.
 */
int
backup_run(struct ctl *c, const struct ctl_args *a)
{
	const char *file = a->pos[0];
	json_t *req, *resp;
	char *abs = NULL, *cwd;

	if (file[0] == '\0')
		ctl_usage_fail(c, "FILE must not be empty");
	if (file[0] == '/') {
		abs = strdup(file);
	} else if ((cwd = getcwd(NULL, 0)) != NULL) {
		if (asprintf(&abs, "%s/%s", cwd, file) < 0)
			abs = NULL;
		free(cwd);
	} else {
		ctl_fail(CTL_EXIT_ERROR, "cannot make %s absolute: %s", file, strerror(errno));
	}
	if (abs == NULL || (req = json_pack("{s:s, s:s}", "op", "backup", "path", abs)) == NULL)
		ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
	if (a->opt[CTL_O_FORCE])
		put(req, "force", json_true());
	resp = client_call(c, req);
	json_object_del(resp, "ok");
	if (c->json) {
		json_print(stdout, json_incref(resp));
	} else {
		json_t *p = json_object_get(resp, "path"), *b = json_object_get(resp, "bytes");
		json_t *s = json_object_get(resp, "seq"), *e = json_object_get(resp, "epoch");

		if (!json_is_string(p) || !json_is_integer(b) || !json_is_integer(s) ||
		    !json_is_string(e))
			ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: no path, "
			    "bytes, seq and epoch");
		printf("backup %s bytes %lld seq %lld epoch %s\n", json_string_value(p),
		    (long long)json_integer_value(b), (long long)json_integer_value(s),
		    json_string_value(e));
	}
	json_decref(resp);
	free(abs);
	return 0;
}

/*
 * vm delete NAME...: one name is the request it always was; several go CTL_BATCH_DEFAULT
 * names a vm.delete, each batch whole or not at all, the next sent once the one before
 * succeeded; a refusal says how many the batches before deleted.
 */
int
delete_names_run(struct ctl *c, const struct ctl_args *a)
{
	uint64_t deleted = 0;

	if (a->npos == 1)
		return cmd_run(c, a);
	for (int i = 0; i < a->npos; i++)
		cmd_check("name", CTL_V_NAME, a->pos[i]);
	for (int i = 0; i < a->npos; i += CTL_BATCH_DEFAULT) {
		json_t *names = json_array(), *resp;
		char buf[1024], done[96], *text;
		const char *why;
		int r, n = 0;

		for (int j = i; j < a->npos && j < i + CTL_BATCH_DEFAULT; j++, n++)
			if (json_array_append_new(names, json_string(a->pos[j])) < 0)
				ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
		if (deleted)
			snprintf(done, sizeof(done), "%llu VMs deleted before this batch",
			    (unsigned long long)deleted);
		else
			snprintf(done, sizeof(done), "nothing deleted");
		text = json_dumps(resp = json_pack("{s:s, s:o}", "op", "vm.delete", "names",
		    names), JSON_COMPACT);
		json_decref(resp);
		if (text == NULL)
			ctl_fail(CTL_EXIT_ERROR, "out of memory building the request");
		if (c->api.fd < 0)
			client_connect(c);
		r = client_send(c, text, strlen(text));
		free(text);
		if (r == 0)
			r = client_recv(c, &resp, &why);
		if (r == -EBADMSG || r == -EMSGSIZE)
			ctl_fail(CTL_EXIT_ERROR, "bad response from the controller: %s (delete "
			    "stopped; %s)", r == -EBADMSG ? why : "too large", done);
		if (r < 0)
			ctl_fail(CTL_EXIT_UNREACHABLE, "%s (delete stopped after %llu VMs; "
			    "whether %s..%s were deleted is unknown)", client_lost(c, r, buf,
			    sizeof(buf)), (unsigned long long)deleted, a->pos[i],
			    a->pos[i + n - 1]);
		if (!json_is_true(json_object_get(resp, "ok")))
			ctl_fail(CTL_EXIT_ERROR, "%s (delete stopped; %s)",
			    client_error(resp, buf, sizeof(buf)), done);
		deleted += (uint64_t)n;
		json_decref(resp);
	}
	return 0;
}
