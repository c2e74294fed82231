/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap backend (see netdev_pcap.h for what it does).
 *
 * Threads:
 *  - send() runs on vCPU threads, possibly several at once: the dumper, its
 *    gather buffer and `dirty` are under out_lock; the first write after a
 *    flush signals flush_event (thread-safe), whose callback arms the flush
 *    timer on the event loop;
 *  - the replay (set_rx() through netdev_rx_resume(), the pump event) and the
 *    flush timer run on the event-loop thread and own the input side;
 *  - close() runs once the event loop and the vCPUs have ended.
 * Lock order: out_lock is a leaf (nothing is called with it held but libpcap).
 */
#define LOG_COMPONENT "pcap"
#include "vmm/netdev_pcap.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef NFV_HAVE_PCAP

bool netdev_pcap_available(void)
{
	return false;
}

int netdev_pcap_open(struct evloop *loop, const char *in_path, const char *out_path,
		     struct netdev **ndp, char *err, size_t err_len)
{
	snprintf(err, err_len,
		 "pcap backends need libpcap: this nfv-vmm was built without it "
		 "(install libpcap-dev and rebuild)");
	return -ENOTSUP;
}

#else /* NFV_HAVE_PCAP */

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>

#define ETH_HEADER_LEN 14
#define PCAP_PROBE_NS 10000000ull /* offer the first frame every 10 ms until RX is on */

struct pcap_be {
	/* Input: event-loop thread only. */
	pcap_t *in;
	char *in_path;
	struct ev_event *pump;
	struct ev_timer *probe;
	bool started;	 /* the model enabled RX once: replay under way */
	bool rx_enabled; /* the model takes frames now */
	bool in_done;	 /* the file is exhausted (or failed) */
	bool have_pending;
	const uint8_t *pending; /* valid until the next pcap_next_ex() */
	size_t pending_len;
	uint64_t in_read;      /* records read from the file */
	uint64_t in_delivered; /* taken by the model */
	uint64_t in_refused;   /* dropped by the model */
	uint64_t in_bad;       /* too short or too long: never delivered */
	uint64_t in_truncated; /* captured shorter than on the wire, delivered as captured */
	uint64_t in_start_ns;

	/* Output: under out_lock. */
	pthread_mutex_t out_lock;
	pcap_t *dead;
	pcap_dumper_t *dumper;
	char *out_path;
	bool dirty;	   /* written since the last flush */
	bool flush_failed; /* reported once */
	uint64_t out_frames;
	struct ev_event *flush_event;
	struct ev_timer *flush_timer;
	uint8_t out_buf[NETDEV_MAX_FRAME];
};

bool netdev_pcap_available(void)
{
	return true;
}

/* ---- output ---- */

static void pcap_flush_locked(struct netdev *nd)
{
	struct pcap_be *p = nd->priv;

	if (!p->dumper || !p->dirty)
		return;
	p->dirty = false;
	if (pcap_dump_flush(p->dumper) < 0 && !p->flush_failed) {
		p->flush_failed = true;
		log_err("%s: cannot write to %s: %s", nd->name, p->out_path, strerror(errno));
	}
}

static void pcap_flush_timer(struct ev_timer *t, void *opaque)
{
	struct netdev *nd = opaque;
	struct pcap_be *p = nd->priv;

	pthread_mutex_lock(&p->out_lock);
	pcap_flush_locked(nd);
	pthread_mutex_unlock(&p->out_lock);
}

static void pcap_flush_soon(struct ev_event *e, void *opaque)
{
	struct netdev *nd = opaque;
	struct pcap_be *p = nd->priv;

	if (evloop_timer_arm(p->flush_timer, NETDEV_PCAP_FLUSH_NS, 0) < 0)
		log_warn_rl("%s: cannot arm the flush timer", nd->name);
}

static int pcap_send(struct netdev *nd, const struct iovec *iov, int iovcnt)
{
	struct pcap_be *p = nd->priv;
	struct pcap_pkthdr h = { 0 };
	const uint8_t *data;
	uint64_t len = 0;
	bool kick;

	if (iovcnt < 1)
		return -EINVAL;
	for (int i = 0; i < iovcnt; i++)
		if (add_overflows_u64(len, iov[i].iov_len, &len))
			return -EMSGSIZE;
	if (len > NETDEV_MAX_FRAME)
		return -EMSGSIZE;
	if (!p->dumper)
		return 0; /* no pcap-out: discarded */
	gettimeofday(&h.ts, NULL);
	h.len = (uint32_t)len;
	h.caplen = (uint32_t)MIN(len, (uint64_t)NETDEV_PCAP_SNAPLEN);

	pthread_mutex_lock(&p->out_lock);
	if (iovcnt == 1) {
		data = iov[0].iov_base;
	} else {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(p->out_buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		data = p->out_buf;
	}
	pcap_dump((u_char *)p->dumper, &h, data);
	p->out_frames++;
	kick = !p->dirty;
	p->dirty = true;
	pthread_mutex_unlock(&p->out_lock);
	if (kick)
		evloop_event_signal(p->flush_event);
	return 0;
}

/* ---- input ---- */

static void pcap_in_finish(struct netdev *nd, const char *why)
{
	struct pcap_be *p = nd->priv;
	uint64_t ns = now_ns() - p->in_start_ns;

	p->in_done = true;
	p->have_pending = false;
	log_info("%s: %s %s: %llu records read, %llu delivered, %llu dropped by the model, "
		 "%llu refused (shorter than 14 or longer than %d bytes), %llu truncated "
		 "captures, in %llu ms",
		 nd->name, p->in_path, why, (unsigned long long)p->in_read,
		 (unsigned long long)p->in_delivered, (unsigned long long)p->in_refused,
		 (unsigned long long)p->in_bad, NETDEV_MAX_FRAME,
		 (unsigned long long)p->in_truncated, (unsigned long long)(ns / 1000000));
	pcap_close(p->in);
	p->in = NULL;
}

/* Reads the next usable record into `pending`. False at the end of the file or on error. */
static bool pcap_in_next(struct netdev *nd)
{
	struct pcap_be *p = nd->priv;

	/* Bounded: every iteration consumes one record of a finite file. */
	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int r = pcap_next_ex(p->in, &h, &data);

		if (r == PCAP_ERROR_BREAK) {
			pcap_in_finish(nd, "exhausted");
			return false;
		}
		if (r != 1) {
			log_err("%s: %s: %s", nd->name, p->in_path, pcap_geterr(p->in));
			pcap_in_finish(nd, "stopped by a read error");
			return false;
		}
		p->in_read++;
		if (h->caplen < ETH_HEADER_LEN || h->caplen > NETDEV_MAX_FRAME) {
			p->in_bad++;
			__atomic_add_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
			log_warn_rl(
				"%s: record %llu of %s: %u bytes captured, not a frame: skipped",
				nd->name, (unsigned long long)p->in_read, p->in_path, h->caplen);
			continue;
		}
		if (h->caplen < h->len)
			p->in_truncated++;
		p->pending = data;
		p->pending_len = h->caplen;
		p->have_pending = true;
		return true;
	}
}

/* Delivers up to a burst; reschedules itself while the model takes frames. */
static void pcap_pump(struct netdev *nd)
{
	struct pcap_be *p = nd->priv;

	for (unsigned int i = 0; i < NETDEV_PCAP_RX_BURST; i++) {
		struct iovec iov;
		ssize_t n;

		if (!p->rx_enabled || p->in_done)
			return;
		if (!p->have_pending && !pcap_in_next(nd))
			return;
		iov = (struct iovec){ .iov_base = (void *)p->pending, .iov_len = p->pending_len };
		n = netdev_deliver(nd, &iov, 1);
		if (n == 0) {
			p->rx_enabled = false; /* until netdev_rx_resume() */
			return;
		}
		p->have_pending = false;
		if (n > 0)
			p->in_delivered++;
		else
			p->in_refused++;
	}
	evloop_event_signal(p->pump);
}

static void pcap_pump_event(struct ev_event *e, void *opaque)
{
	pcap_pump(opaque);
}

static void pcap_in_start(struct netdev *nd)
{
	struct pcap_be *p = nd->priv;

	p->started = true;
	p->in_start_ns = now_ns();
	evloop_timer_disarm(p->probe);
	log_info("%s: the guest enabled RX: replaying %s", nd->name, p->in_path);
}

/*
 * Until the replay has started, the first frame is offered every 10 ms, for
 * models that do not call netdev_rx_resume() when the guest turns RX on. A
 * refusal with -ENETDOWN means the receiver is still off: the frame is kept
 * (and the drop the core counted is taken back). Anything else means the
 * receiver is on: the replay starts with this frame.
 */
static void pcap_probe(struct ev_timer *t, void *opaque)
{
	struct netdev *nd = opaque;
	struct pcap_be *p = nd->priv;
	struct iovec iov;
	ssize_t n;

	if (p->started || p->in_done || (!p->have_pending && !pcap_in_next(nd))) {
		evloop_timer_disarm(p->probe);
		return;
	}
	iov = (struct iovec){ .iov_base = (void *)p->pending, .iov_len = p->pending_len };
	n = netdev_deliver(nd, &iov, 1);
	if (n == -ENETDOWN) {
		__atomic_sub_fetch(&nd->stats.rx_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	pcap_in_start(nd);
	if (n == 0) {
		p->rx_enabled = false; /* no room: until netdev_rx_resume() */
		return;
	}
	p->have_pending = false;
	if (n > 0)
		p->in_delivered++;
	else
		p->in_refused++;
	p->rx_enabled = true;
	pcap_pump(nd);
}

static void pcap_set_rx(struct netdev *nd, bool enable)
{
	struct pcap_be *p = nd->priv;

	if (!p->in || p->in_done) {
		p->rx_enabled = enable;
		return;
	}
	if (enable && !p->started)
		pcap_in_start(nd);
	p->rx_enabled = enable;
	if (enable)
		pcap_pump(nd);
}

/* ---- open / close ---- */

static void pcap_be_close(struct netdev *nd)
{
	struct pcap_be *p = nd->priv;

	/* A replay that reached its last frame reports the end of the file, not an early exit. */
	if (p->in && p->started && !p->have_pending)
		(void)pcap_in_next(nd);
	if (p->in) {
		if (p->started)
			pcap_in_finish(nd, "not finished at exit");
		else
			pcap_close(p->in);
		if (!p->started)
			log_info("%s: the guest never enabled RX: nothing of %s replayed", nd->name,
				 p->in_path);
	}
	evloop_timer_free(p->probe);
	evloop_event_free(p->pump);
	if (p->dumper) {
		pthread_mutex_lock(&p->out_lock);
		p->dirty = true;
		pcap_flush_locked(nd);
		pcap_dump_close(p->dumper);
		p->dumper = NULL;
		pthread_mutex_unlock(&p->out_lock);
		log_info("%s: %llu frames written to %s", nd->name,
			 (unsigned long long)p->out_frames, p->out_path);
	}
	if (p->dead)
		pcap_close(p->dead);
	evloop_timer_free(p->flush_timer);
	evloop_event_free(p->flush_event);
	pthread_mutex_destroy(&p->out_lock);
	free(p->in_path);
	free(p->out_path);
}

static const struct netdev_ops pcap_ops = {
	.type = "pcap",
	.send = pcap_send,
	.set_rx = pcap_set_rx,
	.set_vnet_hdr = NULL,
	.close = pcap_be_close,
};

static int pcap_open_in(struct netdev *nd, const char *path, struct stat *st, char *err,
			size_t err_len)
{
	struct pcap_be *p = nd->priv;
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = fopen(path, "rbe");
	int dlt, ret;

	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "pcap-in %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fileno(f), st) < 0 || S_ISDIR(st->st_mode)) {
		snprintf(err, err_len, "pcap-in %s: not a file", path);
		fclose(f);
		return -EINVAL;
	}
	p->in = pcap_fopen_offline(f, ebuf); /* takes f, also on failure */
	if (!p->in) {
		snprintf(err, err_len, "pcap-in %s: not a pcap file: %s", path, ebuf);
		return -EINVAL;
	}
	dlt = pcap_datalink(p->in);
	if (dlt != DLT_EN10MB) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, err_len,
			 "pcap-in %s: link type %d (%s): only Ethernet (EN10MB) captures can be "
			 "replayed",
			 path, dlt, name ? name : "unknown");
		return -EINVAL;
	}
	p->in_path = strdup(path);
	p->in_start_ns = now_ns();
	p->pump = evloop_event_new(nd->loop, pcap_pump_event, nd);
	p->probe = evloop_timer_new(nd->loop, pcap_probe, nd);
	if (!p->in_path || !p->pump || !p->probe) {
		snprintf(err, err_len, "pcap-in %s: out of memory", path);
		return -ENOMEM;
	}
	if (evloop_timer_arm(p->probe, PCAP_PROBE_NS, PCAP_PROBE_NS) < 0) {
		snprintf(err, err_len, "pcap-in %s: cannot arm a timer", path);
		return -EIO;
	}
	return 0;
}

static int pcap_open_out(struct netdev *nd, const char *path, const struct stat *in_st, char *err,
			 size_t err_len)
{
	struct pcap_be *p = nd->priv;
	struct stat st;
	FILE *f;
	int ret;

	if (in_st && stat(path, &st) == 0 && st.st_dev == in_st->st_dev &&
	    st.st_ino == in_st->st_ino) {
		snprintf(err, err_len, "pcap-out %s: the same file as pcap-in", path);
		return -EINVAL;
	}
	p->dead = pcap_open_dead(DLT_EN10MB, NETDEV_PCAP_SNAPLEN);
	if (!p->dead) {
		snprintf(err, err_len, "pcap-out %s: out of memory", path);
		return -ENOMEM;
	}
	/* Our own fopen: "-" is a file name here, not stdout (the console may be there). */
	f = fopen(path, "wbe");
	if (!f) {
		ret = -errno;
		snprintf(err, err_len, "pcap-out %s: %s", path, strerror(-ret));
		return ret;
	}
	p->dumper = pcap_dump_fopen(p->dead, f);
	if (!p->dumper) {
		snprintf(err, err_len, "pcap-out %s: %s", path, pcap_geterr(p->dead));
		fclose(f);
		return -EIO;
	}
	if (pcap_dump_flush(p->dumper) < 0) { /* the file header, at once */
		snprintf(err, err_len, "pcap-out %s: %s", path, strerror(errno));
		return -EIO;
	}
	p->out_path = strdup(path);
	p->flush_event = evloop_event_new(nd->loop, pcap_flush_soon, nd);
	p->flush_timer = evloop_timer_new(nd->loop, pcap_flush_timer, nd);
	if (!p->out_path || !p->flush_event || !p->flush_timer) {
		snprintf(err, err_len, "pcap-out %s: out of memory", path);
		return -ENOMEM;
	}
	return 0;
}

int netdev_pcap_open(struct evloop *loop, const char *in_path, const char *out_path,
		     struct netdev **ndp, char *err, size_t err_len)
{
	char name[NETDEV_NAME_LEN];
	struct netdev *nd;
	struct pcap_be *p;
	struct stat in_st;
	const char *base;
	int ret;

	if (!in_path && !out_path) {
		snprintf(err, err_len, "pcap: give pcap-in=FILE, pcap-out=FILE or both");
		return -EINVAL;
	}
	base = out_path ? out_path : in_path;
	base = strrchr(base, '/') ? strrchr(base, '/') + 1 : base;
	snprintf(name, sizeof(name), "pcap:%s", base);
	nd = netdev_alloc(&pcap_ops, name, loop, sizeof(*p));
	if (!nd) {
		snprintf(err, err_len, "pcap: out of memory");
		return -ENOMEM;
	}
	p = nd->priv;
	pthread_mutex_init(&p->out_lock, NULL);
	if (in_path) {
		ret = pcap_open_in(nd, in_path, &in_st, err, err_len);
		if (ret < 0)
			goto err;
	}
	if (out_path) {
		ret = pcap_open_out(nd, out_path, in_path ? &in_st : NULL, err, err_len);
		if (ret < 0)
			goto err;
	}
	if (in_path)
		log_info("%s: pcap-in %s: replay waits for the guest to enable RX", nd->name,
			 in_path);
	if (out_path)
		log_info("%s: pcap-out %s: recording what the guest sends", nd->name, out_path);
	*ndp = nd;
	return 0;

err:
	netdev_close(nd);
	return ret;
}

#endif /* NFV_HAVE_PCAP */
