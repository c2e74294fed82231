/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * QoS of a port: an ingress policer (rte_meter, colour-blind srTCM RFC 2697
 * or trTCM RFC 2698; red is dropped) and an egress shaper (token bucket in
 * front of strict-priority class queues mapped from the 802.1Q PCP, tail
 * drop per class).
 *
 * Time is passed in as TSC cycles (rte_rdtsc() in the datapath, anything
 * monotonic in tests) with the rate of that clock given at creation, so
 * both are testable with injected time.
 *
 * Threads:
 * - A policer is used by the polling threads that receive on the port; its
 *   check takes a spinlock (uncontended when one thread polls the port,
 *   which is the common case). The control thread replaces a policer by
 *   building a new one and publishing it through the switch's quiescent
 *   scheme, never by editing a live one.
 * - A shaper has many producers (every polling thread that forwards to the
 *   port: sw_shaper_enqueue, multi-producer rings) and one consumer (the
 *   port's owner thread: sw_shaper_dequeue).
 */
#ifndef NFV_VSWITCH_QOS_H
#define NFV_VSWITCH_QOS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/util.h"
#include "vswitch/sw_config.h"

struct rte_mbuf;
struct sw_policer;
struct sw_shaper;

struct sw_policer_stats {
	uint64_t green, yellow, red;		/* frames */
	uint64_t red_bytes;
};

/* NULL with *err = -EINVAL (bad config: message in msg) or -ENOMEM. cfg->type
 * must not be SW_METER_NONE. */
struct sw_policer *sw_policer_create(const struct sw_meter_cfg *cfg, uint64_t hz, int *err,
				     char *msg, size_t msglen);
void sw_policer_free(struct sw_policer *p);
/* True when a frame of len bytes (Ethernet header to end, no FCS) at time
 * now passes (green or yellow); false when red (counted). */
bool sw_policer_pass(struct sw_policer *p, uint64_t now, uint32_t len);
/* The same for n frames arriving together at time now (one lock for the
 * burst): pass[i] says whether frame i passes. Returns how many pass. */
unsigned sw_policer_pass_bulk(struct sw_policer *p, uint64_t now, const uint32_t *lens,
			      unsigned n, bool *pass);
void sw_policer_get_stats(const struct sw_policer *p, struct sw_policer_stats *s);

struct sw_shaper_class_stats {
	uint64_t enqueued, sent, dropped;	/* frames; dropped = queue full */
	uint64_t sent_bytes;
};

/* NULL with *err. name must be unique among live shapers (ring names).
 * cfg->rate must be > 0. */
struct sw_shaper *sw_shaper_create(const char *name, const struct sw_shaper_cfg *cfg, uint64_t hz,
				   int socket_id, int *err, char *msg, size_t msglen);
/* Frees the shaper and every frame still queued in it. */
void sw_shaper_free(struct sw_shaper *s);
/*
 * Any polling thread: queues n frames; pcp[i] is frame i's priority (0..7).
 * Takes ownership of every frame: those that do not fit their class queue
 * are freed and counted. Returns how many were queued.
 */
unsigned sw_shaper_enqueue(struct sw_shaper *s, struct rte_mbuf **pkts, const uint8_t *pcp,
			   unsigned n);
/*
 * The owner thread: moves up to max frames that the token bucket allows at
 * time now into out, class 0 first. A frame leaves while the bucket is
 * positive and its length is then taken from it (so frames larger than the
 * burst still pass, at the configured rate on average). The caller owns the
 * returned frames.
 */
unsigned sw_shaper_dequeue(struct sw_shaper *s, uint64_t now, struct rte_mbuf **out,
			   unsigned max);
/* Frames waiting in the shaper now. */
unsigned sw_shaper_backlog(const struct sw_shaper *s);
unsigned sw_shaper_classes(const struct sw_shaper *s);
void sw_shaper_get_stats(const struct sw_shaper *s, unsigned cls,
			 struct sw_shaper_class_stats *st);

#endif /* NFV_VSWITCH_QOS_H */
