/*
 * neigh_test: the underlay next-hop resolver (procs/forwarder/neigh) against the
 * kernel's own tables, on a real io_uring loop, in a network namespace of each test's
 * own (Criterion runs each test in its process; skipped where it may not make one).
 *
 * The topology: veth nb0 (here, 10.9.0.1/24, MAC 02:00:00:00:00:01) to nb1 (10.9.0.2,
 * 02:00:00:00:00:02) in a second namespace held by a child process (so it answers ARP
 * like a real peer, and goes when the test does); veth nc0 (10.8.0.1/24) to nc1, another
 * way out; 10.77.0.0/16 via 10.9.0.2. The resolver serves nb0.
 *
 * A static neighbour is found (from the start dump, and when added later); a VTEP behind
 * the gateway gets the gateway's MAC, another gateway's when the route changes; a VTEP
 * routed out nc0, or with no route, gets -1; a neighbour's new MAC and its deletion are
 * seen; a VTEP never resolved gets 0 until a datagram through the kernel's socket has
 * the kernel resolve it (the peer answers ARP), then the peer's MAC; the interface's
 * MAC, and its change; the refresh (2) once an interval per next hop; missed
 * notifications (a socket buffer overflowed) are recovered by a resync that drops a
 * neighbour deleted meanwhile; a VTEP past the table's room gets 0 (counted), those in
 * it keep resolving; routes asked from a source follow a rule on it; an interface
 * that is not there is refused. No timing is asserted: waits are bounded (looptest.h).
 */
#define NEIGH_REFRESH_NS	(300ull * 1000000)	/* short, so the refresh test is */
#define NEIGH_VTEPS_MAX		8		/* so that the full test fills it */
#define MS			(1000ull * 1000)
#define HANG_NS			(5000 * MS)	/* every wait here is of milliseconds */

#include "procs/forwarder/neigh.c"
#include "procs/forwarder/neigh_msg.c"

#include "looptest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define IP(a, b, c, d)	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static const uint8_t MAC_NB0[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_NB1[6] = { 0x02, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC_A[6] = { 0x02, 0xaa, 0, 0, 0, 0x0a };
static const uint8_t MAC_B[6] = { 0x02, 0xbb, 0, 0, 0, 0x0b };

static struct neigh *N;
static pid_t peer = -1;

static void
sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	cr_assert_eq(rc, 0, "%s: status %d", cmd, rc);
}

static void
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s), "%s", path);
	close(fd);
}

/* The peer's namespace: a child that made it and waits to die with the test. */
static void
peer_start(void)
{
	int p[2];
	char c;

	cr_assert_eq(pipe(p), 0);
	peer = fork();
	cr_assert_geq(peer, 0);
	if (peer == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		c = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(c, 'y', "the peer's namespace");
	close(p[0]);
}

static void
setup(void)
{
	char err[256];
	int r;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0)
		cr_skip_test("needs root for a network namespace of its own");
	write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	peer_start();
	sh("ip link set lo up && "
	    "ip link add nb0 address 02:00:00:00:00:01 type veth peer name nb1 "
	    "address 02:00:00:00:00:02 && ip link set nb1 netns %d && "
	    "ip addr add 10.9.0.1/24 dev nb0 && ip link set nb0 up && "
	    "ip link add nc0 type veth peer name nc1 && ip addr add 10.8.0.1/24 dev nc0 && "
	    "ip link set nc0 up && ip link set nc1 up && "
	    "ip route add 10.77.0.0/16 via 10.9.0.2 dev nb0", (int)peer);
	sh("nsenter -t %d -n sh -c 'ip link set lo up && ip addr add 10.9.0.2/24 dev nb1 && "
	    "ip link set nb1 up'", (int)peer);
	new_loop();
	r = neigh_new(&N, L, (int)if_nametoindex("nb0"), err, sizeof(err));
	cr_assert_eq(r, 0, "neigh_new: %s", err);
}

static void
teardown(void)
{
	if (N != NULL) {
		neigh_stop(N);
		loop_settle(L, 20 * MS, 1000 * MS);
		neigh_free(N);
		N = NULL;
	}
	if (L != NULL)
		loop_free(L);
	L = NULL;
	if (peer > 0) {
		kill(peer, SIGKILL);
		waitpid(peer, NULL, 0);
	}
}

static uint8_t got[6];

static int
look(uint32_t vtep)
{
	memset(got, 0, sizeof(got));
	return neigh_lookup(N, vtep, got);
}

/* Looked up with a MAC (1 or 2), and it is mac. */
static bool
resolves_to(uint32_t vtep, const uint8_t mac[6])
{
	int r = look(vtep);

	return (r == 1 || r == 2) && memcmp(got, mac, 6) == 0;
}

static struct neigh_stats
stats(void)
{
	struct neigh_stats s;

	neigh_stats_read(N, &s);
	return s;
}

TestSuite(neigh, .init = setup, .fini = teardown);

Test(neigh, static_neighbour_is_found)
{
	sh("ip neigh add 10.9.0.50 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	/* A resolver started after it: from the dump. */
	neigh_stop(N);
	loop_settle(L, 20 * MS, 1000 * MS);
	neigh_free(N);
	N = NULL;
	{
		char err[256];

		cr_assert_eq(neigh_new(&N, L, (int)if_nametoindex("nb0"), err, sizeof(err)), 0);
	}
	cr_assert_eq(look(IP(10, 9, 0, 50)), 0, "no route known before the loop ran");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 50), MAC_A));
	/* One added while it runs: from the notification. */
	sh("ip neigh add 10.9.0.51 lladdr 02:bb:00:00:00:0b dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 51), MAC_B));
	cr_assert_eq(stats().neighbours, 2);
	cr_assert_geq(stats().route_queries, 2);
}

Test(neigh, vtep_behind_a_gateway_gets_the_gateways_mac)
{
	sh("ip neigh add 10.9.0.2 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	sh("ip neigh add 10.9.0.3 lladdr 02:bb:00:00:00:0b dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 77, 3, 4), MAC_A));
	cr_assert(resolves_to(IP(10, 9, 0, 2), MAC_A) || look(IP(10, 9, 0, 2)) == 0);
	/* The route moves to another gateway: every cached route is asked again. */
	sh("ip route replace 10.77.0.0/16 via 10.9.0.3 dev nb0");
	RUN_UNTIL(resolves_to(IP(10, 77, 3, 4), MAC_B));
	cr_assert_geq(stats().route_changes, 1);
	/* ... and out of the other interface. */
	sh("ip route replace 10.77.0.0/16 via 10.8.0.2 dev nc0");
	RUN_UNTIL(look(IP(10, 77, 3, 4)) == -1);
}

Test(neigh, vtep_routed_elsewhere_or_nowhere_gets_minus_one)
{
	sh("ip neigh add 10.8.0.7 lladdr 02:aa:00:00:00:0a dev nc0 nud permanent");
	RUN_UNTIL(look(IP(10, 8, 0, 7)) == -1);
	RUN_UNTIL(look(IP(192, 0, 2, 1)) == -1);	/* no route at all */
	cr_assert_eq(look(0), -1);
	cr_assert_eq(stats().neighbours, 0, "a neighbour of nc0 is not nb0's");
	/* Given a route through nb0, it resolves. */
	sh("ip neigh add 10.9.0.2 lladdr 02:bb:00:00:00:0b dev nb0 nud permanent");
	sh("ip route add 192.0.2.0/24 via 10.9.0.2 dev nb0");
	RUN_UNTIL(resolves_to(IP(192, 0, 2, 1), MAC_B));
}

Test(neigh, changed_mac_and_deletion_are_seen)
{
	sh("ip neigh add 10.9.0.60 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 60), MAC_A));
	sh("ip neigh change 10.9.0.60 lladdr 02:bb:00:00:00:0b dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 60), MAC_B));
	sh("ip neigh del 10.9.0.60 dev nb0");
	RUN_UNTIL(look(IP(10, 9, 0, 60)) == 0);
	cr_assert_eq(stats().neighbours, 0);
	cr_assert_geq(stats().neigh_deletes, 1);
	/* A FAILED entry has no MAC to use either. */
	sh("ip neigh add 10.9.0.61 lladdr 02:aa:00:00:00:0a dev nb0 nud stale");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 61), MAC_A));
	sh("ip neigh change 10.9.0.61 dev nb0 nud failed");
	RUN_UNTIL(look(IP(10, 9, 0, 61)) == 0);
}

Test(neigh, unknown_vtep_is_resolved_by_the_kernel)
{
	struct sockaddr_in to = sin_of("10.9.0.2", 4789);
	int s;

	cr_assert_eq(look(IP(10, 9, 0, 2)), 0);
	/* The route comes, the neighbour does not: nothing has made the kernel ask. */
	RUN_UNTIL(stats().route_answers >= 1);
	run_for(50);
	cr_assert_eq(look(IP(10, 9, 0, 2)), 0);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	cr_assert_eq(sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof(to)), 1, "%s",
	    strerror(errno));
	close(s);
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 2), MAC_NB1));
}

Test(neigh, the_interfaces_mac_is_kept_current)
{
	cr_assert_eq(memcmp(neigh_src_mac(N), MAC_NB0, 6), 0);
	sh("ip link set nb0 address 02:bb:00:00:00:0b");
	RUN_UNTIL(memcmp(neigh_src_mac(N), MAC_B, 6) == 0);
	cr_assert_geq(stats().link_updates, 1);
}

Test(neigh, refresh_asked_once_an_interval_per_next_hop)
{
	uint64_t t0;
	int r;

	/* Before the neighbour is learned: its interval counts from then, after this. */
	t0 = clock_mono_ns();
	sh("ip neigh add 10.9.0.2 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 77, 0, 1), MAC_A));
	cr_assert_eq(look(IP(10, 77, 0, 1)), 1, "just learned: no refresh yet");
	do {
		run_for(10);
		r = look(IP(10, 77, 0, 1));
	} while (r == 1 && clock_mono_ns() - t0 < HANG_NS);
	cr_assert_eq(r, 2);
	cr_assert(clock_mono_ns() - t0 >= NEIGH_REFRESH_NS);
	cr_assert_eq(memcmp(got, MAC_A, 6), 0);
	/* Done for this next hop, another VTEP behind it included. */
	cr_assert_eq(look(IP(10, 77, 0, 1)), 1);
	RUN_UNTIL(look(IP(10, 77, 0, 2)) != 0);
	cr_assert_eq(look(IP(10, 77, 0, 2)), 1);
	cr_assert_eq(stats().refreshes, 1);
}

Test(neigh, missed_notifications_are_recovered)
{
	int small = 1;	/* the kernel's floor: a few messages */

	sh("ip neigh add 10.9.0.70 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	sh("ip neigh add 10.9.0.71 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 70), MAC_A) && resolves_to(IP(10, 9, 0, 71), MAC_A));
	/* Without the loop running, more notifications than the buffer holds. */
	cr_assert_eq(setsockopt(N->fd, SOL_SOCKET, SO_RCVBUFFORCE, &small, sizeof(small)), 0);
	sh("for i in $(seq 100 160); do "
	    "ip neigh add 10.9.0.$i lladdr 02:bb:00:00:00:0b dev nb0 nud permanent; done && "
	    "ip neigh del 10.9.0.70 dev nb0");
	small = NEIGH_RCVBUF;
	cr_assert_eq(setsockopt(N->fd, SOL_SOCKET, SO_RCVBUFFORCE, &small, sizeof(small)), 0);
	RUN_UNTIL(stats().resyncs >= 1 && !N->dumping);
	cr_assert_eq(look(IP(10, 9, 0, 70)), 0, "the deletion missed, then found by the dump");
	RUN_UNTIL(resolves_to(IP(10, 9, 0, 160), MAC_B));
	cr_assert(resolves_to(IP(10, 9, 0, 71), MAC_A));
	cr_assert_eq(stats().neighbours, 62);
}

Test(neigh, vtep_past_the_tables_room_goes_through_the_socket)
{
	sh("ip neigh add 10.9.0.2 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent");
	for (uint32_t i = 1; i <= NEIGH_VTEPS_MAX; i++)
		RUN_UNTIL(resolves_to(IP(10, 77, 1, i), MAC_A));
	cr_assert_eq(stats().vteps, NEIGH_VTEPS_MAX);
	cr_assert_eq(stats().full, 0);
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(look(IP(10, 77, 2, 1)), 0);
		run_for(5);
	}
	cr_assert_eq(stats().full, 3);
	for (uint32_t i = 1; i <= NEIGH_VTEPS_MAX; i++)
		cr_assert(resolves_to(IP(10, 77, 1, i), MAC_A));
}

Test(neigh, no_such_interface_is_refused)
{
	struct neigh *n = (struct neigh *)1;
	char err[256] = "";

	cr_assert_eq(neigh_new(&n, L, 9999, err, sizeof(err)), -ENODEV);
	cr_assert_null(n);
	cr_assert(strstr(err, "9999") != NULL, "%s", err);
	cr_assert_eq(neigh_new(&n, L, 0, err, sizeof(err)), -EINVAL);
	cr_assert_null(n);
}

Test(neigh, routes_are_asked_from_the_source_given)
{
	sh("ip neigh add 10.9.0.2 lladdr 02:aa:00:00:00:0a dev nb0 nud permanent && "
	    "ip route add 10.66.0.0/16 via 10.8.0.2 dev nc0 && "
	    "ip route add 10.66.0.0/16 via 10.9.0.2 dev nb0 table 100 && "
	    "ip rule add from 10.9.0.1 lookup 100");
	RUN_UNTIL(look(IP(10, 66, 0, 1)) == -1);	/* from any source: the main table */
	neigh_set_src(N, IP(10, 9, 0, 1));
	RUN_UNTIL(resolves_to(IP(10, 66, 0, 1), MAC_A));
	neigh_set_src(N, 0);
	RUN_UNTIL(look(IP(10, 66, 0, 1)) == -1);
}
