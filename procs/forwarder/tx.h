/*
 * tx: what a forwarder sends on its VXLAN socket. The datagrams a batch makes are queued
 * and leave together in one sendmmsg (io_uring has no batched send: an SQE and a CQE a
 * datagram cost a gateway ~10% of its rate, bench/gateway), a run of consecutive ones to
 * one VTEP with one size as one UDP GSO message, which crosses the sender's stack once.
 * UDP copies at once, so a buffer is done with when sendmmsg returns; what the socket
 * cannot take now (its buffer full) goes as io_uring sends, which wait.
 */
#ifndef FORWARDER_TX_H
#define FORWARDER_TX_H

#include "counters.h"
#include "pkt.h"
#include "common/loop.h"

#include <stdbool.h>
#include <stdint.h>

struct tx;

/* A datagram left, or failed (counted): its buffer is the caller's again. */
typedef void tx_done_fn(struct pkt *p, void *arg);

struct tx *tx_new(struct loop *l, int fd, struct forwarder_counters *c, tx_done_fn *done,
    void *arg);
void tx_free(struct tx *t);
/* Takes a datagram (its destination in p->addr) another way; false: it did not. */
typedef bool tx_bypass_fn(struct pkt *p, void *arg);
/*
 * At each flush, the datagrams to a VTEP that has no run of min_run or more in the queue
 * go to fn first (xdp mode: AF_XDP, which costs an skb a frame in copy mode, where a
 * UDP GSO run crosses the stack once); what fn does not take, and every datagram to a
 * VTEP with such a run, leaves through the socket. One VTEP's datagrams of a flush all
 * go one way, so a flow keeps its order. min_run 0: everything to fn first.
 */
void tx_set_bypass(struct tx *t, tx_bypass_fn *fn, void *arg, uint32_t min_run);
/* Queue p's data (VXLAN header first) for ip:port; a full queue is sent first. */
void tx_add(struct tx *t, struct pkt *p, uint32_t ip, uint16_t port);
/* Send what is queued. */
void tx_flush(struct tx *t);
bool tx_pending(const struct tx *t);

#endif
