/*
 * tap: a VM's TAP device (DESIGN.md §3.9): created, or attached when it exists, as a
 * persistent device so that it outlives a forwarder restart and the VM keeps its link.
 * With a namespace path, the device is made or found in that network namespace (the
 * VM's): the forwarder enters it for the open and comes back, and the file it holds
 * works from any namespace.
 */
#ifndef FORWARDER_TAP_H
#define FORWARDER_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Open TAP `name` (non-blocking, no packet info), persistent, with the VM's mac and
 * mtu, up. netns: a network namespace file (/run/netns/NAME) or NULL for the
 * forwarder's own. Returns the fd, or a negative errno with err set.
 */
int tap_open(const char *name, const uint8_t mac[6], int mtu, const char *netns, char *err,
    size_t errlen);
/* Close the TAP; with destroy, the device is removed too (its VM left this host). */
void tap_close(int fd, bool destroy);

#endif
