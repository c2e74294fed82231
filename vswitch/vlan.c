/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The two frame edits of the VLAN code: pop the outer tag on ingress, push
 * an 802.1Q tag on egress. Both work in the first segment only and keep
 * data_len and pkt_len consistent through rte_pktmbuf_adj/prepend.
 *
 * DPDK's rte_vlan_strip() and rte_vlan_insert() are close but not used:
 * strip knows only 0x8100, does not check that the frame may be written or
 * that the tag lies in the first segment, and sets RX offload flags; insert
 * takes a struct rte_mbuf ** and adjusts l2_len. The edits here touch
 * nothing but the bytes and the lengths.
 *
 * Any thread; no shared state.
 */
#include "vswitch/vlan.h"

#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#define MAC_ADDRS_LEN (2 * RTE_ETHER_ADDR_LEN)
#define TAG_LEN ((uint16_t)sizeof(struct rte_vlan_hdr))

/* The frame's bytes belong to this mbuf alone (not a clone, not a shared
 * external buffer, not referenced twice). */
static inline bool mbuf_writable(const struct rte_mbuf *m)
{
	if (rte_mbuf_refcnt_read(m) != 1 || RTE_MBUF_CLONED(m))
		return false;
	if (RTE_MBUF_HAS_EXTBUF(m))
		return rte_mbuf_ext_refcnt_read(m->shinfo) == 1;
	return true;
}

int sw_vlan_pop(struct rte_mbuf *m)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	uint16_t tpid, tci;

	if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)
		/* A runt has no tag; a header split over segments is refused. */
		return rte_pktmbuf_pkt_len(m) < RTE_ETHER_HDR_LEN ? SW_TCI_NONE : -EINVAL;
	memcpy(&tpid, p + MAC_ADDRS_LEN, sizeof(tpid));
	if (tpid != rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN) &&
	    tpid != rte_cpu_to_be_16(RTE_ETHER_TYPE_QINQ))
		return SW_TCI_NONE;
	if (rte_pktmbuf_data_len(m) < MAC_ADDRS_LEN + TAG_LEN || !mbuf_writable(m))
		return -EINVAL;
	memcpy(&tci, p + MAC_ADDRS_LEN + 2, sizeof(tci));
	memmove(p + TAG_LEN, p, MAC_ADDRS_LEN);
	rte_pktmbuf_adj(m, TAG_LEN);
	return rte_be_to_cpu_16(tci);
}

int sw_vlan_push(struct rte_mbuf *m, uint16_t tci)
{
	uint16_t be;
	uint8_t *p;

	if (!mbuf_writable(m) || rte_pktmbuf_data_len(m) < MAC_ADDRS_LEN)
		return -EINVAL;
	if (rte_pktmbuf_headroom(m) < TAG_LEN)
		return -ENOSPC;
	p = (uint8_t *)rte_pktmbuf_prepend(m, TAG_LEN);
	memmove(p, p + TAG_LEN, MAC_ADDRS_LEN);
	be = rte_cpu_to_be_16(RTE_ETHER_TYPE_VLAN);
	memcpy(p + MAC_ADDRS_LEN, &be, sizeof(be));
	be = rte_cpu_to_be_16(tci);
	memcpy(p + MAC_ADDRS_LEN + 2, &be, sizeof(be));
	return 0;
}
