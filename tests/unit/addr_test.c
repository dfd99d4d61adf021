/*
 * addr_test: the control API's values (docs/api.md). Strict text forms are accepted and
 * round-trip through their formatters; everything else is refused with one printable
 * line naming the argument, the rule and the value, the output left alone.
 */
#include "common/addr.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* err must contain a and, when given, b; and be one printable line. */
static void
expect_err(const char *err, const char *a, const char *b)
{
	cr_assert_not_null(strstr(err, a), "error '%s' lacks '%s'", err, a);
	if (b)
		cr_assert_not_null(strstr(err, b), "error '%s' lacks '%s'", err, b);
	for (const char *p = err; *p; p++)
		cr_assert(*p >= 0x20 && *p < 0x7f, "error '%s' has byte 0x%02x", err,
		    (unsigned char)*p);
	cr_assert_lt(strlen(err), ADDR_ERR_MAX);
}

Test(addr, ip4_dotted_quad_round_trips)
{
	static const char *const ok[] = { "0.0.0.0", "10.0.0.5", "192.168.100.1",
		"255.255.255.255", "1.20.100.200" };
	char buf[ADDR_IP4_STRLEN];
	uint32_t ip;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(addr_ip4_parse(ok[i], &ip), 0, "%s", ok[i]);
		cr_assert_str_eq(addr_ip4_format(ip, buf), ok[i]);
	}
	cr_assert_eq(addr_ip4_parse("10.1.2.3", &ip), 0);
	cr_assert_eq(ip, 0x0a010203u, "host byte order");
}

Test(addr, ip4_refuses_anything_but_four_plain_decimal_parts)
{
	static const char *const bad[] = { "", "10", "10.0.0", "10.0.0.0.1", "10.0.0.256",
		"10.0.0.1000", "010.0.0.1", "10.0.0.01", "10.0.0.00", "0x0a.0.0.1", "10.0.0.",
		".10.0.0", "10..0.1", " 10.0.0.1", "10.0.0.1 ", "10.0.0.1/32", "10.0.0.-1",
		"+10.0.0.1", "1e1.0.0.1", "10.0.0.1\n" };
	uint32_t ip = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(addr_ip4_parse(bad[i], &ip), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(ip, 7, "the output is left alone on error");
}

Test(addr, ip4_check_names_argument_rule_and_value)
{
	char err[ADDR_ERR_MAX];
	uint32_t ip;

	cr_assert_eq(addr_ip4_check("vtep", "192.168.0.11", &ip, err), 0);
	cr_assert_eq(ip, 0xc0a8000bu);
	cr_assert_eq(addr_ip4_check("ip", "10.0.0.256", &ip, err), -EINVAL);
	expect_err(err, "ip must be a dotted IPv4 address", "not 10.0.0.256");
	cr_assert_eq(addr_ip4_check("ip", "10.0.0.1", &ip, NULL), 0, "err may be NULL");
	cr_assert_eq(addr_ip4_check("ip", "x", &ip, NULL), -EINVAL);
}

Test(addr, mac_accepts_either_case_and_formats_lower)
{
	char buf[ADDR_MAC_STRLEN];
	uint8_t mac[6];

	cr_assert_eq(addr_mac_parse("02:00:0A:ff:00:05", mac), 0);
	cr_assert_eq(mac[0], 0x02);
	cr_assert_eq(mac[2], 0x0a);
	cr_assert_eq(mac[3], 0xff);
	cr_assert_str_eq(addr_mac_format(mac, buf), "02:00:0a:ff:00:05");
}

Test(addr, mac_refuses_other_separators_and_lengths)
{
	static const char *const bad[] = { "", "02:00:0a:00:00", "02:00:0a:00:00:05:06",
		"02-00-0a-00-00-05", "0200.0a00.0005", "2:00:0a:00:00:05", "02:00:0a:00:00:5",
		"02:00:0a:00:00:0g", "02:00:0a:00:00:05:", "02:00:0a:00:00:05 ",
		"020:0a:00:00:05" };
	uint8_t mac[6] = { 9, 9, 9, 9, 9, 9 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(addr_mac_parse(bad[i], mac), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(mac[0], 9, "the output is left alone on error");
}

Test(addr, mac_check_wants_unicast_and_not_zero)
{
	char err[ADDR_ERR_MAX];
	uint8_t mac[6];

	cr_assert_eq(addr_mac_check("mac", "02:00:0a:00:00:05", mac, err), 0);
	cr_assert_eq(addr_mac_check("mac", "01:00:5e:00:00:01", mac, err), -EINVAL);
	expect_err(err, "mac must be a unicast MAC address", "not 01:00:5e:00:00:01");
	cr_assert_eq(addr_mac_check("mac", "03:00:00:00:00:00", mac, err), -EINVAL);
	expect_err(err, "unicast", NULL);
	cr_assert_eq(addr_mac_check("mac", "00:00:00:00:00:00", mac, err), -EINVAL);
	expect_err(err, "all zero", NULL);
	cr_assert_eq(addr_mac_check("mac", "02:00:0a", mac, err), -EINVAL);
	expect_err(err, "six hex pairs", "not 02:00:0a");
}

Test(addr, cidr_round_trips_and_contains)
{
	char buf[ADDR_CIDR_STRLEN];
	struct addr_cidr c;
	uint32_t ip;

	cr_assert_eq(addr_cidr_parse("10.1.0.0/16", &c), 0);
	cr_assert_eq(c.net, 0x0a010000u);
	cr_assert_eq(c.len, 16);
	cr_assert_str_eq(addr_cidr_format(&c, buf), "10.1.0.0/16");
	addr_ip4_parse("10.1.255.255", &ip);
	cr_assert(addr_cidr_contains(&c, ip));
	addr_ip4_parse("10.2.0.0", &ip);
	cr_assert_not(addr_cidr_contains(&c, ip));
	cr_assert_eq(addr_cidr_parse("0.0.0.0/0", &c), 0, "the syntax allows /0..32");
	cr_assert(addr_cidr_contains(&c, ip));
	cr_assert_eq(addr_cidr_parse("1.2.3.4/32", &c), 0);
	cr_assert_str_eq(addr_cidr_format(&c, buf), "1.2.3.4/32");
}

Test(addr, cidr_refuses_bad_syntax)
{
	static const char *const bad[] = { "", "10.0.0.0", "10.0.0.0/", "10.0.0.0/33",
		"10.0.0.0/016", "10.0.0.0/100", "10.0.0/16", "10.0.0.0/16/", "10.0.0.0/1a",
		"10.0.0.0 /16", "10.0.0.0/ 16", "/16", "10.0.0.0/-1" };
	struct addr_cidr c = { 7, 7 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(addr_cidr_parse(bad[i], &c), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(c.net, 7, "the output is left alone on error");
}

Test(addr, cidr_check_wants_8_to_30_and_host_bits_zero)
{
	char err[ADDR_ERR_MAX];
	struct addr_cidr c;

	cr_assert_eq(addr_cidr_check("cidr", "10.0.0.0/8", &c, err), 0);
	cr_assert_eq(addr_cidr_check("cidr", "10.0.0.4/30", &c, err), 0);
	cr_assert_eq(addr_cidr_check("cidr", "10.0.0.0/31", &c, err), -EINVAL);
	expect_err(err, "cidr must be a prefix of /8../30", "not 10.0.0.0/31");
	cr_assert_eq(addr_cidr_check("cidr", "10.0.0.0/7", &c, err), -EINVAL);
	expect_err(err, "/8../30", NULL);
	cr_assert_eq(addr_cidr_check("cidrs[1]", "10.0.0.1/16", &c, err), -EINVAL);
	expect_err(err, "cidrs[1] must have its host bits zero (10.0.0.0/16)",
	    "not 10.0.0.1/16");
	cr_assert_eq(addr_cidr_check("cidr", "10.0.0/16", &c, err), -EINVAL);
	expect_err(err, "cidr must be an IPv4 prefix", "not 10.0.0/16");
}

Test(addr, cidr_check_refuses_ranges_no_vm_can_have)
{
	static const char *const bad[][2] = {
		{ "0.0.0.0/8", "cidr 0.0.0.0/8 is in 0.0.0.0/8 (\"this network\")" },
		{ "127.1.0.0/16", "cidr 127.1.0.0/16 is in 127.0.0.0/8 (loopback)" },
		{ "224.0.0.0/8", "cidr 224.0.0.0/8 is in 224.0.0.0/4 (multicast)" },
		{ "239.255.0.0/16", "cidr 239.255.0.0/16 is in 224.0.0.0/4 (multicast)" },
		{ "240.0.0.0/8", "cidr 240.0.0.0/8 is in 240.0.0.0/4 (reserved)" },
		{ "255.255.255.0/24", "cidr 255.255.255.0/24 is in 240.0.0.0/4 (reserved)" },
	};
	char err[ADDR_ERR_MAX];
	struct addr_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(addr_cidr_check("cidr", bad[i][0], &c, err), -EINVAL, "%s accepted",
		    bad[i][0]);
		expect_err(err, bad[i][1], "which no VM can have");
	}
	cr_assert_eq(addr_cidr_check("cidr", "1.0.0.0/8", &c, err), 0, "%s", err);
	cr_assert_eq(addr_cidr_check("cidr", "126.0.0.0/8", &c, err), 0, "%s", err);
	cr_assert_eq(addr_cidr_check("cidr", "128.0.0.0/8", &c, err), 0, "%s", err);
	cr_assert_eq(addr_cidr_check("cidr", "223.255.255.0/24", &c, err), 0, "%s", err);
}

Test(addr, cidrs_check_counts_and_refuses_overlaps)
{
	struct addr_cidr c[ADDR_CIDRS_MAX + 1];
	char err[ADDR_ERR_MAX];

	addr_cidr_parse("10.0.0.0/16", &c[0]);
	addr_cidr_parse("10.1.0.0/16", &c[1]);
	addr_cidr_parse("192.168.0.0/24", &c[2]);
	cr_assert_eq(addr_cidrs_check("cidrs", c, 3, err), 0);
	cr_assert_eq(addr_cidrs_check("cidrs", c, 0, err), -EINVAL);
	expect_err(err, "cidrs must be 1..8 prefixes", "not 0");

	addr_cidr_parse("10.1.2.0/24", &c[3]);
	cr_assert_eq(addr_cidrs_check("cidrs", c, 4, err), -EINVAL);
	expect_err(err, "must not overlap", "10.1.0.0/16 contains 10.1.2.0/24");
	addr_cidr_parse("10.0.0.0/8", &c[3]);
	cr_assert_eq(addr_cidrs_check("cidrs", c, 4, err), -EINVAL);
	expect_err(err, "10.0.0.0/8 contains 10.0.0.0/16", NULL);
	addr_cidr_parse("10.1.0.0/16", &c[3]);
	cr_assert_eq(addr_cidrs_check("cidrs", c, 4, err), -EINVAL);
	expect_err(err, "10.1.0.0/16 is given twice", NULL);

	for (int i = 0; i < ADDR_CIDRS_MAX + 1; i++) {
		c[i].net = (uint32_t)(10 + i) << 24;
		c[i].len = 8;
	}
	cr_assert_eq(addr_cidrs_check("cidrs", c, ADDR_CIDRS_MAX, err), 0);
	cr_assert_eq(addr_cidrs_check("cidrs", c, ADDR_CIDRS_MAX + 1, err), -EINVAL);
	expect_err(err, "not 9", NULL);
}

Test(addr, vni_is_1_to_2_pow_24_minus_1)
{
	char err[ADDR_ERR_MAX];

	cr_assert_eq(addr_vni_check("vni", 1, err), 0);
	cr_assert_eq(addr_vni_check("vni", 16777215, err), 0);
	cr_assert_eq(addr_vni_check("vni", 0, err), -EINVAL);
	expect_err(err, "vni must be 1..16777215", "not 0");
	cr_assert_eq(addr_vni_check("vni", 16777216, err), -EINVAL);
	cr_assert_eq(addr_vni_check("vni", -1, err), -EINVAL);
	expect_err(err, "not -1", NULL);
}

Test(addr, name_rules)
{
	char err[ADDR_ERR_MAX], n63[64], n64[65];

	memset(n63, 'a', 63);
	n63[63] = '\0';
	memset(n64, 'a', 64);
	n64[64] = '\0';
	cr_assert_eq(addr_name_check("name", "web1", err), 0);
	cr_assert_eq(addr_name_check("name", "A_b.c-9", err), 0);
	cr_assert_eq(addr_name_check("name", "_x", err), 0);
	cr_assert_eq(addr_name_check("name", "x-", err), 0);
	cr_assert_eq(addr_name_check("name", n63, err), 0);
	cr_assert_eq(addr_name_check("vpc", n64, err), -EINVAL);
	expect_err(err, "vpc must be 1..63 characters", NULL);
	cr_assert_eq(addr_name_check("name", "", err), -EINVAL);
	expect_err(err, "not \"\"", NULL);
	cr_assert_eq(addr_name_check("name", "-web", err), -EINVAL);
	expect_err(err, "starting with neither '-' nor '.'", "not -web");
	cr_assert_eq(addr_name_check("name", ".web", err), -EINVAL);
	cr_assert_eq(addr_name_check("host", "my host", err), -EINVAL);
	expect_err(err, "host must be", "not \"my host\"");
	cr_assert_eq(addr_name_check("name", "a/b", err), -EINVAL);
	cr_assert_eq(addr_name_check("name", "caf\xc3\xa9", err), -EINVAL);
	expect_err(err, "not \"caf\\xc3\\xa9\"", NULL);
}

Test(addr, a_long_or_hostile_value_leaves_a_short_printable_line)
{
	char err[ADDR_ERR_MAX], big[10000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[5] = '\n';
	big[6] = '\033';
	cr_assert_eq(addr_name_check("name", big, err), -EINVAL);
	expect_err(err, "not \"xxxxx\\x0a\\x1bxxx", "xxx\"...");
	memset(big, 'y', 200);
	big[200] = '\0';
	cr_assert_eq(addr_ip4_check("ip", big, &(uint32_t){ 0 }, err), -EINVAL);
	expect_err(err, "\"yyyy", "\"...");
	cr_assert_eq(addr_tap_check("tap", "a\"b\\c", err), -EINVAL);
	expect_err(err, "not \"a\\\"b\\\\c\"", NULL);
}

Test(addr, tap_rules)
{
	char err[ADDR_ERR_MAX];

	cr_assert_eq(addr_tap_check("tap", "vfweb1", err), 0);
	cr_assert_eq(addr_tap_check("tap", "123456789012345", err), 0);
	cr_assert_eq(addr_tap_check("tap", "1234567890123456", err), -EINVAL);
	expect_err(err, "tap must be 1..15 characters of [A-Za-z0-9_.-]",
	    "not 1234567890123456");
	cr_assert_eq(addr_tap_check("tap", "", err), -EINVAL);
	cr_assert_eq(addr_tap_check("tap", "tap:0", err), -EINVAL);
	cr_assert_eq(addr_tap_check("tap", "a/b", err), -EINVAL);
	cr_assert_eq(addr_tap_check("tap", "a b", err), -EINVAL);
	cr_assert_eq(addr_tap_check("tap", ".vf1", err), 0);
	cr_assert_eq(addr_tap_check("tap", "...", err), 0);
}

/* Linux's dev_valid_name refuses them, and netns_dir/.. is not a namespace file. */
Test(addr, tap_is_not_dot_or_dot_dot)
{
	char err[ADDR_ERR_MAX];

	cr_assert_eq(addr_tap_check("tap", ".", err), -EINVAL);
	expect_err(err, "tap . is not an interface name", "(Linux refuses \".\" and \"..\")");
	cr_assert_eq(addr_tap_check("tap", "..", err), -EINVAL);
	expect_err(err, "tap .. is not an interface name", NULL);
}

Test(addr, kind_is_vswitch_or_external)
{
	enum addr_kind k = ADDR_KIND_EXTERNAL;
	char err[ADDR_ERR_MAX];

	cr_assert_eq(addr_kind_check("kind", "vswitch", &k, err), 0);
	cr_assert_eq(k, ADDR_KIND_VSWITCH);
	cr_assert_str_eq(addr_kind_name(k), "vswitch");
	cr_assert_eq(addr_kind_check("kind", "external", &k, err), 0);
	cr_assert_eq(k, ADDR_KIND_EXTERNAL);
	cr_assert_str_eq(addr_kind_name(k), "external");
	cr_assert_eq(addr_kind_check("kind", "VSWITCH", &k, err), -EINVAL);
	expect_err(err, "kind must be vswitch or external", "not VSWITCH");
}

Test(addr, vtep_must_be_an_address_a_host_can_have)
{
	static const struct {
		const char *vtep, *why;
	} bad[] = {
		{ "0.0.0.0", "is in 0.0.0.0/8 (\"this network\")" },
		{ "0.255.255.255", "is in 0.0.0.0/8 (\"this network\")" },
		{ "224.0.0.1", "is a multicast address" },
		{ "239.255.255.255", "is a multicast address" },
		{ "240.0.0.1", "is a reserved address (240.0.0.0/4)" },
		{ "255.255.255.254", "is a reserved address (240.0.0.0/4)" },
		{ "255.255.255.255", "is the broadcast address" },
	};
	static const char *const ok[] = { "1.0.0.0", "10.0.0.1", "127.0.0.21", "192.168.0.11",
		"223.255.255.255" };
	char err[ADDR_ERR_MAX], want[ADDR_ERR_MAX];
	uint32_t ip = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(addr_vtep_check("vtep", bad[i].vtep, &ip, err), -EINVAL, "%s accepted",
		    bad[i].vtep);
		snprintf(want, sizeof(want), "vtep %s %s, not a host's", bad[i].vtep, bad[i].why);
		expect_err(err, want, NULL);
		cr_assert_eq(addr_ip4_parse(bad[i].vtep, &ip), 0);
		cr_assert_eq(addr_vtep_valid("vtep", ip, NULL), -EINVAL, "err may be NULL");
		ip = 7;
	}
	cr_assert_eq(ip, 7, "the output is left alone on error");
	cr_assert_str_eq(err, "vtep 255.255.255.255 is the broadcast address, not a host's");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(addr_vtep_check("vtep", ok[i], &ip, err), 0, "%s: %s", ok[i], err);
		cr_assert_eq(addr_vtep_valid("vtep", ip, err), 0, "%s", ok[i]);
	}
	cr_assert_eq(ip, 0xdfffffffu);
	cr_assert_eq(addr_vtep_check("vtep", "1.2.3", &ip, err), -EINVAL);
	expect_err(err, "vtep must be a dotted IPv4 address", "not 1.2.3");
}

Test(addr, a_vms_address_is_neither_end_of_its_prefix)
{
	struct addr_cidr c;
	char err[ADDR_ERR_MAX];
	uint32_t ip;

	addr_cidr_parse("10.0.0.0/16", &c);
	addr_ip4_parse("10.0.0.0", &ip);
	cr_assert_eq(addr_host_check("ip", ip, &c, err), -EINVAL);
	cr_assert_str_eq(err, "ip 10.0.0.0 is the network address of 10.0.0.0/16");
	addr_ip4_parse("10.0.255.255", &ip);
	cr_assert_eq(addr_host_check("ip", ip, &c, err), -EINVAL);
	cr_assert_str_eq(err, "ip 10.0.255.255 is the broadcast address of 10.0.0.0/16");
	for (const char *const *s = (const char *const[]){ "10.0.0.1", "10.0.255.254",
	    "10.0.1.0", "10.0.0.255", NULL }; *s; s++) {
		addr_ip4_parse(*s, &ip);
		cr_assert_eq(addr_host_check("ip", ip, &c, err), 0, "%s refused: %s", *s, err);
	}
	addr_cidr_parse("10.0.0.4/30", &c);
	addr_ip4_parse("10.0.0.7", &ip);
	cr_assert_eq(addr_host_check("ip", ip, &c, err), -EINVAL);
	expect_err(err, "broadcast address of 10.0.0.4/30", NULL);
	addr_ip4_parse("10.0.0.5", &ip);
	cr_assert_eq(addr_host_check("ip", ip, &c, err), 0);
	addr_ip4_parse("10.0.0.6", &ip);
	cr_assert_eq(addr_host_check("ip", ip, &c, err), 0);
}

Test(addr, numbers_are_plain_decimal)
{
	static const char *const bad[] = { "", "0300", "00", "-1", "+1", "-0", " 1", "1 ",
		"1x", "0x10", "1e3", "1.0", "1,000", "１" };
	char err[ADDR_ERR_MAX], same[ADDR_ERR_MAX];
	uint64_t v = 7;

	cr_assert_eq(addr_uint_parse("0", &v), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(addr_uint_parse("300", &v), 0);
	cr_assert_eq(v, 300);
	cr_assert_eq(addr_uint_parse("18446744073709551615", &v), 0);
	cr_assert_eq(v, UINT64_MAX);
	cr_assert_eq(addr_uint_parse("18446744073709551616", &v), -ERANGE);
	cr_assert_eq(addr_uint_parse("99999999999999999999999", &v), -ERANGE);
	v = 7;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(addr_uint_parse(bad[i], &v), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(v, 7, "the output is left alone on error");

	cr_assert_eq(addr_uint_check("vni", "300", 1, 16777215, &v, err), 0);
	cr_assert_eq(v, 300);
	cr_assert_eq(addr_uint_check("vni", "0300", 1, 16777215, &v, err), -EINVAL);
	cr_assert_str_eq(err, "vni must be a decimal number (no sign, no leading zero), not 0300");
	cr_assert_eq(addr_uint_check("vni", "-5", 1, 16777215, &v, err), -EINVAL);
	expect_err(err, "vni must be a decimal number", "not -5");
	cr_assert_eq(addr_uint_check("batch", "", 1, 100000, &v, err), -EINVAL);
	expect_err(err, "batch must be a decimal number", "not \"\"");
	/* Well formed but out of range: the words of addr_vni_check. */
	cr_assert_eq(addr_uint_check("vni", "0", 1, 16777215, &v, err), -EINVAL);
	cr_assert_str_eq(err, "vni must be 1..16777215, not 0");
	cr_assert_eq(addr_vni_check("vni", 0, same), -EINVAL);
	cr_assert_str_eq(err, same, "the words of the API's check of a JSON vni");
	cr_assert_eq(addr_uint_check("vni", "16777216", 1, 16777215, &v, err), -EINVAL);
	expect_err(err, "vni must be 1..16777215", "not 16777216");
	cr_assert_eq(addr_uint_check("vni", "99999999999999999999999", 1, 16777215, &v, err),
	    -EINVAL);
	expect_err(err, "vni must be 1..16777215", "not 99999999999999999999999");
	cr_assert_eq(v, 300, "the output is left alone on error");
}
