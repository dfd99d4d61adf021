/*
 * tap: see tap.h. Entering the VM's namespace is per thread (setns), so it must come
 * back before anything else runs: failing to come back is fatal.
 */
#include "tap.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Set the device's MAC, MTU and up flag through a socket of the current namespace. */
static int
tap_setup(const char *name, const uint8_t mac[6], int mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	int s, r = 0;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || memcmp(ifr.ifr_hwaddr.sa_data, mac, 6) != 0) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
		if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: setting its MAC: %s", name, strerror(errno));
			goto out;
		}
	}
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: setting its MTU to %d: %s", name, mtu, strerror(errno));
		goto out;
	}
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
			r = -errno;
			snprintf(err, errlen, "%s: bringing it up: %s", name, strerror(errno));
		}
	}
out:
	close(s);
	return r;
}

static int
tap_open_here(const char *name, const uint8_t mac[6], int mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, r;

	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		r = -errno;
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return r;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s%s", name, strerror(errno), errno == EBUSY ?
		    " (another process holds it)" : errno == EINVAL ?
		    " (a device of that name that is not a TAP)" : "");
		close(fd);
		return r;
	}
	if ((r = tap_setup(name, mac, mtu, err, errlen)) < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int
tap_open(const char *name, const uint8_t mac[6], int mtu, const char *netns, char *err,
    size_t errlen)
{
	int self, target, fd;

	if (netns == NULL)
		return tap_open_here(name, mac, mtu, err, errlen);
	if ((target = open(netns, O_RDONLY | O_CLOEXEC)) < 0) {
		fd = -errno;
		snprintf(err, errlen, "%s: %s", netns, strerror(errno));
		return fd;
	}
	if ((self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		fd = -errno;
		snprintf(err, errlen, "/proc/self/ns/net: %s", strerror(errno));
		close(target);
		return fd;
	}
	if (setns(target, CLONE_NEWNET) < 0) {
		fd = -errno;
		snprintf(err, errlen, "entering %s: %s", netns, strerror(errno));
	} else {
		fd = tap_open_here(name, mac, mtu, err, errlen);
		if (setns(self, CLONE_NEWNET) < 0)
			fatal("coming back from %s to the forwarder's namespace", netns);
	}
	close(self);
	close(target);
	return fd;
}

void
tap_close(int fd, bool destroy)
{
	if (destroy && ioctl(fd, TUNSETPERSIST, 0) < 0)
		log_warn("TAP: clearing persist");
	close(fd);
}
