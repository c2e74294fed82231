/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VLAN decisions of a port (access / trunk, native VLAN, allowed list) as
 * pure functions over struct sw_vlan_cfg, and the two frame edits the
 * datapath needs (pop a tag on ingress, push one on egress).
 *
 * Inside the switch a frame carries its VLAN and 802.1Q priority (PCP) in
 * metadata and keeps the tag it came with (if any) until a port needs it
 * changed, removed or added; the PCP is written into any tag the frame
 * leaves with. Internal VLAN 0 is the untagged domain of VLAN-unaware
 * (default) ports.
 */
#ifndef NFV_VSWITCH_VLAN_H
#define NFV_VSWITCH_VLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "vswitch/sw_config.h"

struct rte_mbuf;

#define SW_TCI_NONE (-1)	/* the frame came untagged */

enum sw_vlan_drop {
	SW_VLAN_PASS = 0,
	SW_VLAN_DROP_TAGGED_ON_ACCESS,	/* tagged VID != 0 on an access port */
	SW_VLAN_DROP_NOT_ALLOWED,	/* trunk: VID not in the allowed list */
	SW_VLAN_DROP_NO_NATIVE,		/* trunk without native VLAN: untagged frame */
};

/*
 * Ingress: which internal VLAN a frame enters. tci is the frame's tag
 * control field or SW_TCI_NONE. A priority tag (VID 0) counts as untagged
 * but its PCP is kept. Returns SW_VLAN_PASS and *vlan, or the drop reason.
 */
static inline enum sw_vlan_drop sw_vlan_ingress(const struct sw_vlan_cfg *v, int tci,
						uint16_t *vlan)
{
	uint16_t vid = tci == SW_TCI_NONE ? 0 : (uint16_t)(tci & 0xfff);

	if (v->mode == SW_VLAN_ACCESS) {
		if (vid != 0)
			return SW_VLAN_DROP_TAGGED_ON_ACCESS;
		*vlan = v->tag;
		return SW_VLAN_PASS;
	}
	if (vid == 0) {
		if (v->native == SW_VLAN_NONE)
			return SW_VLAN_DROP_NO_NATIVE;
		*vlan = v->native;
		return SW_VLAN_PASS;
	}
	if (!sw_vlan_allowed(v, vid))
		return SW_VLAN_DROP_NOT_ALLOWED;
	*vlan = vid;
	return SW_VLAN_PASS;
}

enum sw_vlan_egress {
	SW_EGRESS_DROP = 0,	/* the port is not in that VLAN */
	SW_EGRESS_UNTAGGED,
	SW_EGRESS_TAGGED,
};

/* Egress: how a frame of internal VLAN `vlan` leaves this port. */
static inline enum sw_vlan_egress sw_vlan_egress(const struct sw_vlan_cfg *v, uint16_t vlan)
{
	if (v->mode == SW_VLAN_ACCESS)
		return vlan == v->tag ? SW_EGRESS_UNTAGGED : SW_EGRESS_DROP;
	if (vlan == v->native)
		return v->native_tagged && vlan != 0 ? SW_EGRESS_TAGGED : SW_EGRESS_UNTAGGED;
	return vlan != 0 && sw_vlan_allowed(v, vlan) ? SW_EGRESS_TAGGED : SW_EGRESS_DROP;
}

/*
 * If the frame starts with an 802.1Q (0x8100) or 802.1ad (0x88a8) tag,
 * removes it and returns its TCI; else returns SW_TCI_NONE and leaves the
 * frame alone. Needs the mbuf not shared (refcnt 1) and the tag in the
 * first segment: a tagged frame that is shared, or whose tag (or Ethernet
 * header) is not all in the first segment, gives -EINVAL and is left alone.
 */
int sw_vlan_pop(struct rte_mbuf *m);
/* Inserts an 802.1Q tag with this TCI after the MAC addresses: 0, or
 * -ENOSPC (no headroom) / -EINVAL (shared mbuf). */
int sw_vlan_push(struct rte_mbuf *m, uint16_t tci);

#endif /* NFV_VSWITCH_VLAN_H */
