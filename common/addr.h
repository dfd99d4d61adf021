/*
 * addr: the values of the control API (docs/api.md, "Values") parsed and checked by one
 * set of rules, for the controller and for vpcfwdctl alike: IPv4 addresses, MAC
 * addresses, IPv4 prefixes (CIDRs), VNIs, VPC/host/VM names, TAP names and host kinds;
 * and the configuration's node names, which shm's segment names are made of.
 * A check that fails writes one line naming the argument, the rule and the value
 * ("vni must be 1..16777215, not 0"), so that the tool refusing a typo and the
 * controller refusing a request say it in the same words.
 *
 * Pure functions: no I/O, no allocation. IPv4 addresses are uint32_t in host byte
 * order. Text forms are strict: an address is four decimal parts without leading zeros
 * (no octal, no shorthand), a MAC six pairs of hex digits separated by ':'.
 */
#ifndef COMMON_ADDR_H
#define COMMON_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADDR_ERR_MAX		256	/* an error line, NUL included */
#define ADDR_QUOTE_MAX		80	/* a value in an error line, quotes and "..." included */
#define ADDR_IP4_STRLEN		16	/* "255.255.255.255" and a NUL */
#define ADDR_MAC_STRLEN		18	/* "02:00:0a:00:00:05" and a NUL */
#define ADDR_CIDR_STRLEN	19	/* "255.255.255.255/32" and a NUL */
#define ADDR_NAME_MAX		63	/* VPC, host and VM names */
#define ADDR_TAP_MAX		15	/* IFNAMSIZ - 1 */
#define ADDR_VNI_MIN		1
#define ADDR_VNI_MAX		16777215
#define ADDR_PREFIX_MIN		8	/* a VPC's prefixes: /8 ../30 */
#define ADDR_PREFIX_MAX		30
#define ADDR_CIDRS_MAX		8	/* prefixes a VPC */
#define ADDR_PART_MAX		31	/* a node's name, a segment name's part */

struct addr_cidr {
	uint32_t net;		/* host byte order */
	uint8_t len;		/* 0..32 */
};

enum addr_kind { ADDR_KIND_VSWITCH, ADDR_KIND_EXTERNAL };

/* Syntax alone: 0, or -EINVAL. */
int addr_ip4_parse(const char *s, uint32_t *ip);
/*
 * A number as the tools take it: "0", or a digit 1..9 and more digits; no sign, no
 * leading zero, no blanks, nothing after (as in an address's parts). Up to UINT64_MAX;
 * past it, -ERANGE (the syntax was right, the value is too large).
 */
int addr_uint_parse(const char *s, uint64_t *v);
int addr_mac_parse(const char *s, uint8_t mac[6]);
/* "a.b.c.d/len" with len 0..32; the host bits are not checked here. */
int addr_cidr_parse(const char *s, struct addr_cidr *c);

/* Text forms (the MAC in lower case) into buf, which has the size named; return buf. */
char *addr_ip4_format(uint32_t ip, char *buf);
char *addr_mac_format(const uint8_t mac[6], char *buf);
char *addr_cidr_format(const struct addr_cidr *c, char *buf);

/*
 * A VM's MAC when none is given: 02:00 and the four bytes of its IP (10.0.0.5:
 * 02:00:0a:00:00:05), locally administered and unique in a VPC since the IP is.
 */
void addr_default_mac(uint32_t ip, uint8_t mac[6]);
bool addr_default_mac_is(uint32_t ip, const uint8_t mac[6]);

bool addr_cidr_contains(const struct addr_cidr *c, uint32_t ip);
bool addr_cidr_overlaps(const struct addr_cidr *a, const struct addr_cidr *b);

/*
 * The API's rules. Each returns 0, or -EINVAL and, when err is not NULL, one line of at
 * most ADDR_ERR_MAX bytes in err: arg (the argument's name: "ip", "vtep", "cidrs[1]")
 * must be..., not <the value>. A value is quoted and escaped when it is empty, long or
 * holds anything but printable ASCII, so err is always one printable line.
 */
int addr_ip4_check(const char *arg, const char *s, uint32_t *ip, char *err);
/*
 * A piece of input for an error line: s as it is when short and plain (printable
 * ASCII, no blank, quote or backslash), else in double quotes with \", \\ and \xNN
 * escapes, cut with "..." past ADDR_QUOTE_MAX. buf has ADDR_QUOTE_MAX + 1 bytes.
 */
const char *addr_quote(char *buf, const char *s);
/*
 * Make s one line of printable ASCII in place, each other byte a '?': for messages
 * that quote what a library said of bad input (jansson's "near '...'"), which may hold
 * any byte, on their way into a JSON string (valid UTF-8 only) or onto a terminal.
 */
char *addr_printable(char *s);
/*
 * A host's VTEP: a dotted IPv4 address that can be one host's unicast address on the
 * underlay. Refused: 0.0.0.0/8 ("this network"), 224.0.0.0/4 (multicast), 240.0.0.0/4
 * (reserved; 255.255.255.255, the broadcast, among them), each in its own words:
 * "vtep 224.0.0.1 is a multicast address, not a host's". Loopback (127.0.0.0/8) is
 * allowed: tests and benchmarks run a whole cluster on one machine that way.
 */
int addr_vtep_check(const char *arg, const char *s, uint32_t *ip, char *err);
/* The same rule for an address already parsed. */
int addr_vtep_valid(const char *arg, uint32_t ip, char *err);
/*
 * A VM's address in c, the VPC prefix that holds it: neither c's network address (host
 * bits all zero) nor its broadcast address (all one): "ip 10.0.0.0 is the network
 * address of 10.0.0.0/16".
 */
int addr_host_check(const char *arg, uint32_t ip, const struct addr_cidr *c, char *err);
/*
 * A number argument given as text (vpcfwdctl's --vni, --batch): addr_uint_parse's
 * syntax, "vni must be a decimal number (no sign, no leading zero), not 0300", then
 * min..max, "vni must be 1..16777215, not 0" (the words of addr_vni_check).
 */
int addr_uint_check(const char *arg, const char *s, uint64_t min, uint64_t max, uint64_t *v,
    char *err);
/* Unicast (the low bit of the first byte clear) and not all zero. */
int addr_mac_check(const char *arg, const char *s, uint8_t mac[6], char *err);
/*
 * One of a VPC's prefixes: /8../30, host bits zero, and not in 0.0.0.0/8, 127.0.0.0/8
 * (a VM's own loopback), 224.0.0.0/4 (multicast) or 240.0.0.0/4 (reserved): "cidr
 * 224.0.0.0/8 is in 224.0.0.0/4 (multicast), which no VM can have".
 */
int addr_cidr_check(const char *arg, const char *s, struct addr_cidr *c, char *err);
/* A VPC's prefixes, each checked already: 1..ADDR_CIDRS_MAX, no two overlapping. */
int addr_cidrs_check(const char *arg, const struct addr_cidr *c, size_t n, char *err);
int addr_vni_check(const char *arg, int64_t vni, char *err);
/* 1..63 characters of [A-Za-z0-9._-], not starting with '-' or '.'. */
int addr_name_check(const char *arg, const char *s, char *err);
/* 1..15 characters of [A-Za-z0-9_.-], not "." or ".." (Linux's interface names). */
int addr_tap_check(const char *arg, const char *s, char *err);
/*
 * A node's name, or a process's or a segment's part of a segment name (shm/seg.h):
 * 1..ADDR_PART_MAX characters of [a-z0-9_-].
 */
bool addr_part_valid(const char *s);
/* "vswitch" or "external". */
int addr_kind_check(const char *arg, const char *s, enum addr_kind *kind, char *err);
const char *addr_kind_name(enum addr_kind kind);

#endif
