/*
 * api: the controller's control API on its unix socket (docs/api.md): JSON requests,
 * each validated argument by argument, run as one model transaction, answered once
 * the transaction is durable.
 */
#ifndef CONTROLLER_API_H
#define CONTROLLER_API_H

#include "counters.h"
#include "db.h"
#include "model.h"
#include "stream.h"
#include "common/loop.h"

struct api;

/* backend: where changes commit (NULL: LMDB's own; else etcdstore_backend()). */
struct api *api_new(struct loop *l, struct db *db, struct stream *st, int listen_fd,
    uint32_t version_step, const struct model_backend *backend,
    struct controller_counters *c);
void api_free(struct api *a);

#endif
