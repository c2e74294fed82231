/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mirroring to a pcap file: the polling threads copy frames (up to the
 * snap length) into mbufs of a dedicated pool and queue them on a
 * multi-producer rte_ring; one writer thread (a plain pthread, not a
 * polling thread) takes them off and writes them with libpcap's dumper.
 * The polling threads never block and never make a system call here: when
 * the writer lags and the ring or the pool is full, frames are dropped and
 * counted.
 *
 * (Mirroring to another port needs no writer: the datapath copies the frame
 * and sends it there, see datapath.c.)
 */
#ifndef NFV_VSWITCH_MIRROR_H
#define NFV_VSWITCH_MIRROR_H

#include <stddef.h>
#include <stdint.h>

struct rte_mbuf;
struct sw_pcap_writer;

struct sw_pcap_writer_stats {
	uint64_t queued;	/* frames accepted from the datapath */
	uint64_t written;	/* frames in the file */
	uint64_t dropped;	/* ring or pool full */
	uint64_t bytes;		/* captured bytes written */
};

/*
 * Creates the file (truncating it; pcap, Ethernet link type, microsecond
 * or nanosecond timestamps) and starts the writer thread. name must be
 * unique among live writers. NULL with a message in err (path, reason).
 */
struct sw_pcap_writer *sw_pcap_writer_start(const char *name, const char *path, uint32_t snaplen,
					    int socket_id, char *err, size_t errlen);
/*
 * Polling threads: copies each of the n frames (the originals are not
 * touched and stay the caller's) and queues the copies with the time now
 * (TSC cycles). Returns how many were queued; the rest are counted as
 * dropped.
 */
unsigned sw_pcap_writer_submit(struct sw_pcap_writer *w, struct rte_mbuf *const *pkts, unsigned n,
			       uint64_t now_tsc);
/* Writes out what is queued, stops the thread, closes the file, frees all.
 * Call only after no polling thread can submit any more (quiescent). */
void sw_pcap_writer_stop(struct sw_pcap_writer *w);
void sw_pcap_writer_get_stats(const struct sw_pcap_writer *w, struct sw_pcap_writer_stats *s);
const char *sw_pcap_writer_path(const struct sw_pcap_writer *w);

#endif /* NFV_VSWITCH_MIRROR_H */
