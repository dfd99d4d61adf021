/*
 * pki: certificates for the unit tests that speak TLS (common/tls.h), made at test time
 * by tools/vpcfwd-pki in a temporary directory (no key is ever committed):
 *   DIR/ca.crt with controller-ctl, gateway-gw1, host-host1 and host-host2;
 *   DIR/other/ a second CA with its own gateway-gw1 (right name, wrong CA).
 * The tests run from the repository's top (make unit-test), where the script is.
 *
 * Header-only: everything is static to the test that includes it.
 */
#ifndef TESTS_UNIT_PKI_H
#define TESTS_UNIT_PKI_H

#include "common/tls.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static char pki_dir[64];

static inline void
pki_make(void)
{
	char cmd[512];

	snprintf(pki_dir, sizeof(pki_dir), "/tmp/vpcfwd-pki-test.XXXXXX");
	cr_assert_not_null(mkdtemp(pki_dir));
	snprintf(cmd, sizeof(cmd), "exec >/dev/null; set -e; p=tools/vpcfwd-pki; d=%s; $p $d ca; "
	    "$p $d controller ctl; $p $d gateway gw1; $p $d host host1; $p $d host host2; "
	    "$p $d/other ca; $p $d/other gateway gw1; $p $d/other controller ctl",
	    pki_dir);
	cr_assert_eq(system(cmd), 0, "tools/vpcfwd-pki failed (run from the repository)");
}

static inline void
pki_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", pki_dir);
	cr_assert_eq(system(cmd), 0);
}

/* A context for node `name` ("gateway-gw1"); ca_sub "" or "other/". */
static inline struct tls_ctx *
pki_ctx(const char *sub, const char *name, bool server)
{
	char ca[160], cert[160], key[160], err[256];
	struct tls_conf tc = { .on = true, .ca = ca, .cert = cert, .key = key };
	struct tls_ctx *ctx;

	snprintf(ca, sizeof(ca), "%s/%sca.crt", pki_dir, sub);
	snprintf(cert, sizeof(cert), "%s/%s%s.crt", pki_dir, sub, name);
	snprintf(key, sizeof(key), "%s/%s%s.key", pki_dir, sub, name);
	ctx = tls_ctx_new(&tc, server, err, sizeof(err));
	cr_assert_not_null(ctx, "%s", err);
	return ctx;
}

#endif
