/*
 * addr: see addr.h. Parsers take the whole string or nothing; checks build their error
 * line with snprintf into a buffer of ADDR_ERR_MAX bytes, the offending value shown
 * through addr_quote() so that no input can make it longer than a line or unprintable.
 */
#include "common/addr.h"
#include "common/bytes.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>


/* [A-Za-z0-9._-]: names are checked once a VM on import, a table beats strspn(3). */
static bool
name_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

static bool
plain(char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '"' && ch != '\\';
}

char *
addr_printable(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return s;
}

const char *
addr_quote(char *buf, const char *s)
{
	size_t n = strlen(s), o = 0, i;

	for (i = 0; i < n && plain(s[i]); i++)
		;
	if (n > 0 && i == n && n <= ADDR_QUOTE_MAX)
		return s;
	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char e[5];
		size_t el;

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			el = (size_t)snprintf(e, sizeof(e), "%c", ch);
		else if (ch == '"' || ch == '\\')
			el = (size_t)snprintf(e, sizeof(e), "\\%c", ch);
		else
			el = (size_t)snprintf(e, sizeof(e), "\\x%02x", ch);
		/* Room for this, a closing quote and "..." when more follows. */
		if (o + el + 1 + (i + 1 < n ? 3 : 0) > ADDR_QUOTE_MAX) {
			memcpy(buf + o, "\"...", 4);
			buf[o + 4] = '\0';
			return buf;
		}
		memcpy(buf + o, e, el);
		o += el;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int __attribute__((format(printf, 2, 3)))
fail(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, ADDR_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Four dotted decimal parts of 0..255 without leading zeros; past them, or NULL. */
static const char *
ip4_scan(const char *s, uint32_t *ip)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		unsigned part = 0, nd = 0;

		if (i > 0 && *s++ != '.')
			return NULL;
		for (; *s >= '0' && *s <= '9'; s++, nd++) {
			if (nd == 3 || (nd == 1 && part == 0))
				return NULL;
			part = part * 10 + (unsigned)(*s - '0');
		}
		if (nd == 0 || part > 255)
			return NULL;
		v = v << 8 | part;
	}
	*ip = v;
	return s;
}

int
addr_ip4_parse(const char *s, uint32_t *ip)
{
	uint32_t v;
	const char *p = ip4_scan(s, &v);

	if (p == NULL || *p != '\0')
		return -EINVAL;
	*ip = v;
	return 0;
}

int
addr_uint_parse(const char *s, uint64_t *v)
{
	uint64_t n = 0;
	bool over = false;
	const char *p;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return -EINVAL;
	for (p = s; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (n > (UINT64_MAX - d) / 10)
			over = true;
		n = n * 10 + d;
	}
	if (*p != '\0')
		return -EINVAL;
	if (over)
		return -ERANGE;
	*v = n;
	return 0;
}

int
addr_mac_parse(const char *s, uint8_t mac[6])
{
	uint8_t m[6];

	for (int i = 0; i < 6; i++) {
		int hi, lo;

		if ((hi = bytes_hex_digit(s[0])) < 0 || (lo = bytes_hex_digit(s[1])) < 0)
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s != (i < 5 ? ':' : '\0'))
			return -EINVAL;
		s++;
	}
	memcpy(mac, m, 6);
	return 0;
}

int
addr_cidr_parse(const char *s, struct addr_cidr *c)
{
	unsigned len = 0, nd = 0;
	uint32_t net;
	const char *p = ip4_scan(s, &net);

	if (p == NULL || *p++ != '/')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++, nd++) {
		if (nd == 2 || (nd == 1 && len == 0))
			return -EINVAL;
		len = len * 10 + (unsigned)(*p - '0');
	}
	if (nd == 0 || *p != '\0' || len > 32)
		return -EINVAL;
	c->net = net;
	c->len = (uint8_t)len;
	return 0;
}

char *
addr_ip4_format(uint32_t ip, char *buf)
{
	snprintf(buf, ADDR_IP4_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff,
	    (ip >> 8) & 0xff, ip & 0xff);
	return buf;
}

char *
addr_mac_format(const uint8_t mac[6], char *buf)
{
	snprintf(buf, ADDR_MAC_STRLEN, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

char *
addr_cidr_format(const struct addr_cidr *c, char *buf)
{
	char ip[ADDR_IP4_STRLEN];
	unsigned len = c->len <= 32 ? c->len : 32;	/* and gcc sees two digits at most */

	snprintf(buf, ADDR_CIDR_STRLEN, "%s/%u", addr_ip4_format(c->net, ip), len);
	return buf;
}

static uint32_t
mask(unsigned len)
{
	return len == 0 ? 0 : ~(uint32_t)0 << (32 - (len > 32 ? 32 : len));
}

void
addr_default_mac(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x00;
	mac[2] = ip >> 24;
	mac[3] = ip >> 16;
	mac[4] = ip >> 8;
	mac[5] = (uint8_t)ip;
}

bool
addr_default_mac_is(uint32_t ip, const uint8_t mac[6])
{
	uint8_t d[6];

	addr_default_mac(ip, d);
	return memcmp(d, mac, 6) == 0;
}

bool
addr_cidr_contains(const struct addr_cidr *c, uint32_t ip)
{
	return (ip & mask(c->len)) == (c->net & mask(c->len));
}

bool
addr_cidr_overlaps(const struct addr_cidr *a, const struct addr_cidr *b)
{
	uint32_t m = mask(a->len < b->len ? a->len : b->len);

	return (a->net & m) == (b->net & m);
}

int
addr_ip4_check(const char *arg, const char *s, uint32_t *ip, char *err)
{
	char q[ADDR_QUOTE_MAX + 1];

	if (addr_ip4_parse(s, ip) < 0)
		return fail(err, "%s must be a dotted IPv4 address (e.g. 10.0.0.5), not %s", arg,
		    addr_quote(q, s));
	return 0;
}

int
addr_vtep_valid(const char *arg, uint32_t ip, char *err)
{
	char s[ADDR_IP4_STRLEN];
	const char *why = NULL;

	if (ip >> 24 == 0)
		why = "in 0.0.0.0/8 (\"this network\")";
	else if (ip >> 28 == 0xe)
		why = "a multicast address";
	else if (ip == UINT32_MAX)
		why = "the broadcast address";
	else if (ip >> 28 == 0xf)
		why = "a reserved address (240.0.0.0/4)";
	if (why)
		return fail(err, "%s %s is %s, not a host's", arg, addr_ip4_format(ip, s), why);
	return 0;
}

int
addr_vtep_check(const char *arg, const char *s, uint32_t *ip, char *err)
{
	uint32_t v = 0;

	if (addr_ip4_check(arg, s, &v, err) < 0 || addr_vtep_valid(arg, v, err) < 0)
		return -EINVAL;
	*ip = v;
	return 0;
}

int
addr_host_check(const char *arg, uint32_t ip, const struct addr_cidr *c, char *err)
{
	char s[ADDR_IP4_STRLEN], cs[ADDR_CIDR_STRLEN];
	uint32_t m = mask(c->len);

	/* A /31 (RFC 3021) or a /32 has no network and no broadcast address. */
	if (c->len > 30 || !addr_cidr_contains(c, ip))
		return 0;
	if ((ip & ~m) == 0)
		return fail(err, "%s %s is the network address of %s", arg,
		    addr_ip4_format(ip, s), addr_cidr_format(c, cs));
	if ((ip & ~m) == ~m)
		return fail(err, "%s %s is the broadcast address of %s", arg,
		    addr_ip4_format(ip, s), addr_cidr_format(c, cs));
	return 0;
}

int
addr_uint_check(const char *arg, const char *s, uint64_t min, uint64_t max, uint64_t *v,
    char *err)
{
	char q[ADDR_QUOTE_MAX + 1];
	uint64_t n = 0;
	int rc = addr_uint_parse(s, &n);

	if (rc == -EINVAL)
		return fail(err, "%s must be a decimal number (no sign, no leading zero), not %s",
		    arg, addr_quote(q, s));
	if (rc < 0 || n < min || n > max)
		return fail(err, "%s must be %llu..%llu, not %s", arg, (unsigned long long)min,
		    (unsigned long long)max, addr_quote(q, s));
	*v = n;
	return 0;
}

int
addr_mac_check(const char *arg, const char *s, uint8_t mac[6], char *err)
{
	char q[ADDR_QUOTE_MAX + 1];
	uint8_t m[6];

	if (addr_mac_parse(s, m) < 0)
		return fail(err, "%s must be a MAC address of six hex pairs "
		    "(e.g. 02:00:0a:00:00:05), not %s", arg, addr_quote(q, s));
	if (m[0] & 1)
		return fail(err, "%s must be a unicast MAC address (the low bit of the first "
		    "byte clear), not %s", arg, addr_quote(q, s));
	if ((m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0)
		return fail(err, "%s must be a MAC address other than all zero, not %s", arg,
		    addr_quote(q, s));
	memcpy(mac, m, 6);
	return 0;
}

int
addr_cidr_check(const char *arg, const char *s, struct addr_cidr *c, char *err)
{
	char q[ADDR_QUOTE_MAX + 1], net[ADDR_CIDR_STRLEN];
	struct addr_cidr v;

	if (addr_cidr_parse(s, &v) < 0)
		return fail(err, "%s must be an IPv4 prefix (e.g. 10.0.0.0/16), not %s", arg,
		    addr_quote(q, s));
	if (v.len < ADDR_PREFIX_MIN || v.len > ADDR_PREFIX_MAX)
		return fail(err, "%s must be a prefix of /%d../%d, not %s", arg,
		    ADDR_PREFIX_MIN, ADDR_PREFIX_MAX, s);
	if (v.net & ~mask(v.len)) {
		struct addr_cidr z = { v.net & mask(v.len), v.len };

		return fail(err, "%s must have its host bits zero (%s), not %s", arg,
		    addr_cidr_format(&z, net), s);
	}
	/* A prefix is /8 or longer: its first byte says which of these it is in. */
	switch (v.net >> 24) {
	case 0:
		return fail(err, "%s %s is in 0.0.0.0/8 (\"this network\"), which no VM can "
		    "have", arg, s);
	case 127:
		return fail(err, "%s %s is in 127.0.0.0/8 (loopback), which no VM can have",
		    arg, s);
	default:
		if (v.net >> 28 == 0xe)
			return fail(err, "%s %s is in 224.0.0.0/4 (multicast), which no VM can "
			    "have", arg, s);
		if (v.net >> 28 == 0xf)
			return fail(err, "%s %s is in 240.0.0.0/4 (reserved), which no VM can "
			    "have", arg, s);
	}
	*c = v;
	return 0;
}

int
addr_cidrs_check(const char *arg, const struct addr_cidr *c, size_t n, char *err)
{
	char a[ADDR_CIDR_STRLEN], b[ADDR_CIDR_STRLEN];

	if (n < 1 || n > ADDR_CIDRS_MAX)
		return fail(err, "%s must be 1..%d prefixes, not %zu", arg, ADDR_CIDRS_MAX, n);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			const struct addr_cidr *wide = &c[j], *narrow = &c[i];

			if (!addr_cidr_overlaps(wide, narrow))
				continue;
			if (wide->len == narrow->len)
				return fail(err, "%s must not overlap, but %s is given twice", arg,
				    addr_cidr_format(wide, a));
			if (wide->len > narrow->len) {
				wide = &c[i];
				narrow = &c[j];
			}
			return fail(err, "%s must not overlap, but %s contains %s", arg,
			    addr_cidr_format(wide, a), addr_cidr_format(narrow, b));
		}
	return 0;
}

int
addr_vni_check(const char *arg, int64_t vni, char *err)
{
	if (vni < ADDR_VNI_MIN || vni > ADDR_VNI_MAX)
		return fail(err, "%s must be %d..%d, not %lld", arg, ADDR_VNI_MIN, ADDR_VNI_MAX,
		    (long long)vni);
	return 0;
}

/* 1..max characters of [A-Za-z0-9._-]. */
static bool
word_valid(const char *s, size_t max)
{
	size_t n = 0;

	while (n <= max && name_char((unsigned char)s[n]))
		n++;
	return n >= 1 && n <= max && s[n] == '\0';
}

int
addr_name_check(const char *arg, const char *s, char *err)
{
	char q[ADDR_QUOTE_MAX + 1];

	if (!word_valid(s, ADDR_NAME_MAX) || s[0] == '-' || s[0] == '.')
		return fail(err, "%s must be 1..%d characters of [A-Za-z0-9._-] starting with "
		    "neither '-' nor '.', not %s", arg, ADDR_NAME_MAX, addr_quote(q, s));
	return 0;
}

int
addr_tap_check(const char *arg, const char *s, char *err)
{
	char q[ADDR_QUOTE_MAX + 1];

	if (!word_valid(s, ADDR_TAP_MAX))
		return fail(err, "%s must be 1..%d characters of [A-Za-z0-9_.-], not %s", arg,
		    ADDR_TAP_MAX, addr_quote(q, s));
	/*
	 * Linux refuses these as interface names (dev_valid_name), and the forwarder
	 * looks a TAP's namespace up as netns_dir/<tap>: /run/netns/.. is /run.
	 */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return fail(err, "%s %s is not an interface name (Linux refuses \".\" and "
		    "\"..\")", arg, s);
	return 0;
}

bool
addr_part_valid(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > ADDR_PART_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '-' || p[i] == '_'))
			return false;
	return true;
}

int
addr_kind_check(const char *arg, const char *s, enum addr_kind *kind, char *err)
{
	char q[ADDR_QUOTE_MAX + 1];

	if (strcmp(s, "vswitch") == 0)
		*kind = ADDR_KIND_VSWITCH;
	else if (strcmp(s, "external") == 0)
		*kind = ADDR_KIND_EXTERNAL;
	else
		return fail(err, "%s must be vswitch or external, not %s", arg, addr_quote(q, s));
	return 0;
}

const char *
addr_kind_name(enum addr_kind kind)
{
	return kind == ADDR_KIND_EXTERNAL ? "external" : "vswitch";
}
