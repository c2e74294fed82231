/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A scripted vhost-user backend for the unit tests, on one end of a
 * socket, in a thread: it records every request the frontend sends (with
 * what it carries and the descriptors' identities), answers the ones that
 * want an answer, and misbehaves on request. Built on vmm/vhost_user_msg.
 * Include after <cmocka.h>.
 */
#ifndef NFV_TESTS_UNIT_SUPPORT_VU_FAKE_BACKEND_H
#define NFV_TESTS_UNIT_SUPPORT_VU_FAKE_BACKEND_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vhost_user_msg.h"

#define FB_MAXREC 128

enum fb_misbehave {
	FB_FINE,
	FB_WRONG_REQUEST, /* answers GET_FEATURES as if it were GET_PROTOCOL_FEATURES */
	FB_WRONG_SIZE,	  /* a 4-byte GET_FEATURES reply */
	FB_NACK_MEM,	  /* refuses SET_MEM_TABLE (ack 1) */
	FB_CLOSE_AFTER,	  /* closes after `after` requests */
	FB_SILENT,	  /* never answers GET_FEATURES */
	FB_ZERO_QUEUES,	  /* GET_QUEUE_NUM 0 */
	FB_WRONG_BASE,	  /* GET_VRING_BASE for another ring */
};

struct fb_rec {
	uint32_t request, flags;
	uint64_t u64;
	struct vu_vring_state state;
	struct vu_vring_addr addr;
	struct vu_mem_table mem;
	unsigned int nfds;
	struct stat fd_st[VU_MAX_FDS];
};

struct fb {
	int sock;
	uint64_t features, protocol;
	enum fb_misbehave bad;
	unsigned int after;
	uint32_t vring_base; /* what GET_VRING_BASE answers */
	pthread_mutex_t lock; /* rec, nrec */
	struct fb_rec rec[FB_MAXREC];
	unsigned int nrec;
	uint64_t agreed_protocol;
	pthread_t thr;
};

static inline void fb_reply(struct fb *b, uint32_t req, uint32_t size, uint64_t v)
{
	struct vu_msg r;

	vu_msg_u64(&r, req, v, false);
	r.flags = VU_VERSION | VU_FLAG_REPLY;
	r.size = size;
	assert_int_equal(vu_msg_send(b->sock, &r, 1000), 0);
}

static inline void *fb_main(void *arg)
{
	struct fb *b = arg;
	struct vu_msg m;
	char err[128];

	for (;;) {
		struct fb_rec *rc;
		uint64_t v = 0;
		unsigned int n;

		if (vu_msg_recv(b->sock, &m, false, VU_MAX_FDS, 3000, err, sizeof(err)) < 0)
			break;
		pthread_mutex_lock(&b->lock);
		if (b->nrec == FB_MAXREC) {
			pthread_mutex_unlock(&b->lock);
			vu_msg_close_fds(&m);
			break;
		}
		rc = &b->rec[b->nrec];
		*rc = (struct fb_rec){ .request = m.request, .flags = m.flags, .u64 = m.payload.u64,
				       .state = m.payload.state, .addr = m.payload.addr,
				       .mem = m.payload.mem, .nfds = m.nfds };
		for (unsigned int i = 0; i < m.nfds; i++)
			fstat(m.fds[i], &rc->fd_st[i]);
		n = ++b->nrec;
		pthread_mutex_unlock(&b->lock);
		vu_msg_close_fds(&m);
		if (b->bad == FB_CLOSE_AFTER && n >= b->after)
			break;
		switch (m.request) {
		case VU_GET_FEATURES:
			if (b->bad == FB_SILENT)
				continue;
			if (b->bad == FB_WRONG_REQUEST)
				fb_reply(b, VU_GET_PROTOCOL_FEATURES, 8, b->features);
			else
				fb_reply(b, VU_GET_FEATURES, b->bad == FB_WRONG_SIZE ? 4 : 8,
					 b->features);
			continue;
		case VU_GET_PROTOCOL_FEATURES: fb_reply(b, m.request, 8, b->protocol); continue;
		case VU_SET_PROTOCOL_FEATURES: b->agreed_protocol = m.payload.u64; break;
		case VU_GET_QUEUE_NUM:
			fb_reply(b, m.request, 8, b->bad == FB_ZERO_QUEUES ? 0 : 8);
			continue;
		case VU_GET_VRING_BASE: {
			struct vu_msg r;

			vu_msg_state(&r, VU_GET_VRING_BASE,
				     m.payload.state.index + (b->bad == FB_WRONG_BASE),
				     b->vring_base, false);
			r.flags = VU_VERSION | VU_FLAG_REPLY;
			assert_int_equal(vu_msg_send(b->sock, &r, 1000), 0);
			continue;
		}
		case VU_SET_MEM_TABLE: v = b->bad == FB_NACK_MEM; break;
		}
		if (m.flags & VU_FLAG_NEED_REPLY)
			fb_reply(b, m.request, 8, v);
	}
	close(b->sock);
	return NULL;
}

/* Starts the backend on `sock` (which it closes when done). */
static inline void fb_start(struct fb *b, int sock, uint64_t features, uint64_t protocol,
			    enum fb_misbehave bad)
{
	*b = (struct fb){ .sock = sock, .features = features, .protocol = protocol, .bad = bad,
			  .vring_base = 77 };
	pthread_mutex_init(&b->lock, NULL);
	assert_int_equal(pthread_create(&b->thr, NULL, fb_main, b), 0);
}

/* How many requests of kind `req` were recorded (0: any kind). */
static inline unsigned int fb_count(struct fb *b, uint32_t req)
{
	unsigned int n = 0;

	pthread_mutex_lock(&b->lock);
	for (unsigned int i = 0; i < b->nrec; i++)
		n += !req || b->rec[i].request == req;
	pthread_mutex_unlock(&b->lock);
	return n;
}

/* Waits (at most ms) until `want` requests of kind `req` were recorded. */
static inline bool fb_wait(struct fb *b, uint32_t req, unsigned int want, int ms)
{
	for (int i = 0; i < ms / 5; i++) {
		struct timespec ts = { 0, 5000000 };

		if (fb_count(b, req) >= want)
			return true;
		nanosleep(&ts, NULL);
	}
	return fb_count(b, req) >= want;
}

/* Record i (a copy). */
static inline struct fb_rec fb_get(struct fb *b, unsigned int i)
{
	struct fb_rec r;

	pthread_mutex_lock(&b->lock);
	assert_true(i < b->nrec);
	r = b->rec[i];
	pthread_mutex_unlock(&b->lock);
	return r;
}

#endif /* NFV_TESTS_UNIT_SUPPORT_VU_FAKE_BACKEND_H */
