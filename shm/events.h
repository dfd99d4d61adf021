/*
 * events: the records that cross rings between the processes of one node, with the
 * typed ring functions for each (shm/ring.h). A ring is named by its producer:
 * vpcfwd.<node>.<producer>.<what>.
 */
#ifndef SHM_EVENTS_H
#define SHM_EVENTS_H

#include "shm/ring.h"

#include <stdint.h>

/*
 * rule-store -> syncd, ring "advance": a VNI of the gateway table changed (reached a
 * version, was flushed or rebased), so requests parked on it can be answered.
 */
struct ev_vni_advance {
	uint32_t vni;
	uint32_t gen;
	uint64_t version;
};
_Static_assert(sizeof(struct ev_vni_advance) == 16, "ev_vni_advance layout changed");
#define EV_VNI_ADVANCE_TAG	0x56444156u	/* "VADV" */
#define EV_VNI_ADVANCE_RING	"advance"
RING_TYPED(vni_advance, struct ev_vni_advance, EV_VNI_ADVANCE_TAG)

/*
 * gateway forwarder -> syncd, ring "learn": a frame with the learn bit asked for the
 * rule of (vni, ip); syncd answers the learner at src_vtep with a LEARN.
 */
struct ev_learn_req {
	uint32_t vni;
	uint32_t ip;		/* host byte order */
	uint32_t src_vtep;	/* host byte order */
	uint32_t _pad;
};
_Static_assert(sizeof(struct ev_learn_req) == 16, "ev_learn_req layout changed");
#define EV_LEARN_REQ_TAG	0x4e524c4cu	/* "LLRN" */
#define EV_LEARN_REQ_RING	"learn"
RING_TYPED(learn_req, struct ev_learn_req, EV_LEARN_REQ_TAG)

#endif
