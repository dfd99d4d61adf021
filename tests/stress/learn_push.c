/*
 * learn_push: plays a gateway forwarder for the tests: pushes learn requests (a frame
 * with the learn bit for (vni, ip) came from src_vtep) on the node's learn ring, which
 * syncd reads, then exits (the ring stays for syncd).
 *
 *	learn_push NODE VNI IP SRC_VTEP [COUNT]
 */
#include "common/addr.h"
#include "common/log.h"
#include "shm/events.h"

#include <stdlib.h>

int
main(int argc, char **argv)
{
	struct ev_learn_req ev = { 0 };
	struct ring r;
	long count = argc > 5 ? atol(argv[5]) : 1;

	log_init("learn_push", LOG_LVL_INFO);
	if (argc < 5 || addr_ip4_parse(argv[3], &ev.ip) < 0 ||
	    addr_ip4_parse(argv[4], &ev.src_vtep) < 0)
		fatalx("usage: learn_push NODE VNI IP SRC_VTEP [COUNT]");
	ev.vni = (uint32_t)strtoul(argv[2], NULL, 10);
	if (learn_req_ring_create(&r, argv[1], "forwarder", EV_LEARN_REQ_RING, 1024, 0) < 0)
		fatalx("%s", r.seg.err);
	for (long i = 0; i < count; i++)
		if (learn_req_ring_push(&r, &ev, 1) != 1)
			fatalx("learn ring full");
	ring_close(&r);
	return 0;
}
