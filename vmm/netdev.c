/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Netdev core: the glue between a model and its backend, with statistics and
 * the cross-thread "read again" wake-up (see netdev.h for the threads).
 */
#define LOG_COMPONENT "netdev"
#include "vmm/netdev.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stat_add(uint64_t *ctr, uint64_t v)
{
	__atomic_add_fetch(ctr, v, __ATOMIC_RELAXED);
}

static size_t iov_len(const struct iovec *iov, int iovcnt)
{
	size_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

static void resume_on_loop(struct ev_event *e, void *opaque)
{
	struct netdev *nd = opaque;

	nd->ops->set_rx(nd, true);
}

struct netdev *netdev_alloc(const struct netdev_ops *ops, const char *name, struct evloop *loop,
			    size_t priv_size)
{
	struct netdev *nd = calloc(1, sizeof(*nd) + priv_size);

	if (!nd)
		return NULL;
	nd->ops = ops;
	nd->loop = loop;
	nd->link_up = true;
	nd->priv = priv_size ? (void *)(nd + 1) : NULL;
	snprintf(nd->name, sizeof(nd->name), "%s", name);
	if (loop) {
		nd->resume_event = evloop_event_new(loop, resume_on_loop, nd);
		if (!nd->resume_event) {
			free(nd);
			return NULL;
		}
	}
	return nd;
}

void netdev_attach(struct netdev *nd, const struct netdev_peer *peer)
{
	nd->peer = *peer;
}

int netdev_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	int ret = nd->ops->send(nd, iov, iovcnt);

	if (ret == 0) {
		stat_add(&nd->stats.tx_packets, 1);
		stat_add(&nd->stats.tx_bytes, iov_len(iov, iovcnt) - nd->vnet_hdr_len);
	} else if (ret != -EAGAIN) {
		stat_add(&nd->stats.tx_dropped, 1);
	}
	return ret;
}

int netdev_set_queue_enabled(struct netdev *nd, bool enable)
{
	if (!nd->ops->set_queue_enabled)
		return -ENOTSUP;
	return nd->ops->set_queue_enabled(nd, enable);
}

void netdev_rx_resume(struct netdev *nd)
{
	if (nd->resume_event)
		evloop_event_signal(nd->resume_event);
	else
		nd->ops->set_rx(nd, true);
}

int netdev_set_vnet_hdr(struct netdev *nd, size_t hdr_len, unsigned int offloads)
{
	int ret;

	if (!nd->ops->set_vnet_hdr)
		return hdr_len ? -ENOTSUP : 0;
	ret = nd->ops->set_vnet_hdr(nd, hdr_len, offloads);
	if (ret == 0) {
		nd->vnet_hdr_len = hdr_len;
		nd->offloads = offloads;
	}
	return ret;
}

ssize_t netdev_deliver(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	if (!nd->peer.receive) {
		stat_add(&nd->stats.rx_dropped, 1);
		return -ENOTCONN;
	}
	n = nd->peer.receive(nd->peer.opaque, iov, iovcnt);
	if (n > 0) {
		stat_add(&nd->stats.rx_packets, 1);
		stat_add(&nd->stats.rx_bytes, (uint64_t)n);
	} else if (n < 0) {
		stat_add(&nd->stats.rx_dropped, 1);
	}
	return n;
}

void netdev_set_link(struct netdev *nd, bool up)
{
	if (nd->link_up == up)
		return;
	nd->link_up = up;
	log_info("%s: link %s", nd->name, up ? "up" : "down");
	if (nd->peer.link_changed)
		nd->peer.link_changed(nd->peer.opaque, up);
}

void netdev_close(struct netdev *nd)
{
	if (!nd)
		return;
	if (nd->ops->close)
		nd->ops->close(nd);
	evloop_event_free(nd->resume_event);
	free(nd);
}
