/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcap backend (libpcap): replays a capture file to the guest and/or records
 * what the guest sends, so a NIC model can be driven and checked without any
 * network. Built only when libpcap is found (NFV_HAVE_PCAP).
 *
 *  - in (pcap-in=FILE): an Ethernet (DLT_EN10MB) capture. Replay starts when
 *    the guest driver has turned RX on: at the model's first
 *    netdev_rx_resume(), or, for a model that does not call it then, when the
 *    first frame, offered every 10 ms, is no longer refused with -ENETDOWN
 *    (the model's "receiver off"; such a refusal keeps the frame and is not
 *    counted as a drop). The whole file is then
 *    delivered once, in file order, as fast as the model takes frames: a
 *    frame the model has no room for waits for the next netdev_rx_resume().
 *    File timestamps are not honoured. The end of the file is logged with
 *    the counts. Frames shorter than an Ethernet header or longer than
 *    NETDEV_MAX_FRAME are dropped and counted (rx_dropped).
 *  - out (pcap-out=FILE): every frame the guest sends, written with a
 *    libpcap dumper (DLT_EN10MB, snaplen 65535, host time stamps in us). The
 *    file is flushed within 100 ms of a write and closed at exit (also on
 *    SIGTERM), so tcpdump and tshark read it while and after nfv-vmm runs.
 *    Without pcap-out, frames the guest sends are discarded (and counted as
 *    sent).
 * Link: always up. No vnet header.
 */
#ifndef NFV_VMM_NETDEV_PCAP_H
#define NFV_VMM_NETDEV_PCAP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/evloop.h"
#include "common/util.h"
#include "vmm/netdev.h"

/* Frames delivered per event-loop wake-up while replaying. */
#define NETDEV_PCAP_RX_BURST 32
#define NETDEV_PCAP_SNAPLEN 65535
#define NETDEV_PCAP_FLUSH_NS 100000000ull

/* True when nfv-vmm was built with libpcap. */
bool netdev_pcap_available(void);

/*
 * Opens the backend with `in_path`, `out_path` or both (either may be NULL,
 * not both). The input is checked at once (readable, a pcap file, Ethernet);
 * the output file is created or truncated. Returns 0 with the netdev in
 * *ndp, or -errno with one line in err (-ENOTSUP without libpcap).
 */
int __must_check netdev_pcap_open(struct evloop *loop, const char *in_path, const char *out_path,
				  struct netdev **ndp, char *err, size_t err_len);

#endif /* NFV_VMM_NETDEV_PCAP_H */
