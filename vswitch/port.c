/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Switch ports as rte_ethdev devices (see port.h). Control thread only.
 */
#define LOG_COMPONENT "port"
#include "vswitch/port.h"
#include "vswitch/vhost_port.h"
#include "common/log.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_bus.h>
#include <rte_errno.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

static const char *const vdev_driver[] = {
	[SW_PORT_VHOST_USER] = NULL,	/* rte_vhost directly */
	[SW_PORT_TAP] = "net_tap",
	[SW_PORT_AF_PACKET] = "net_af_packet",
	[SW_PORT_AF_XDP] = "net_af_xdp",
	[SW_PORT_PCAP] = "net_pcap",
	[SW_PORT_DPDK] = NULL,
};

int sw_port_devargs(const struct sw_port_cfg *p, unsigned unique, char *buf, size_t len)
{
	const char *drv = p->type < ARRAY_SIZE(vdev_driver) ? vdev_driver[p->type] : NULL;
	int n;

	if (!drv) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	switch (p->type) {
	case SW_PORT_TAP:
		n = snprintf(buf, len, "%s_%s_%u,iface=%s", drv, p->name, unique, p->iface);
		break;
	case SW_PORT_AF_PACKET:
		/* A frame must fit one ring frame: 2048 by default, larger for jumbo. */
		if (p->mtu > 1500)
			n = snprintf(buf, len,
				     "%s_%s_%u,iface=%s,qpairs=%u,blocksz=16384,framesz=16384,"
				     "framecnt=512",
				     drv, p->name, unique, p->iface, p->queues);
		else
			n = snprintf(buf, len, "%s_%s_%u,iface=%s,qpairs=%u", drv, p->name, unique,
				     p->iface, p->queues);
		break;
	case SW_PORT_AF_XDP:
		n = snprintf(buf, len, "%s_%s_%u,iface=%s,start_queue=0,queue_count=%u", drv,
			     p->name, unique, p->iface, p->queues);
		break;
	case SW_PORT_PCAP: {
		n = snprintf(buf, len, "%s_%s_%u", drv, p->name, unique);
		if (n >= 0 && (size_t)n < len && p->rx_pcap[0])
			n += snprintf(buf + n, len - (size_t)n, ",rx_pcap=%s", p->rx_pcap);
		if (n >= 0 && (size_t)n < len && p->tx_pcap[0])
			n += snprintf(buf + n, len - (size_t)n, ",tx_pcap=%s", p->tx_pcap);
		break;
	}
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* The device name is the devargs up to the first comma. */
static void devname_of(const char *devargs, char *name, size_t len)
{
	size_t n = strcspn(devargs, ",");

	if (n >= len)
		n = len - 1;
	memcpy(name, devargs, n);
	name[n] = '\0';
}

/*
 * An af_packet port copies each received frame into one mbuf (no
 * scatter), and refuses RX queues whose mbufs are smaller than a ring
 * frame. Jumbo af_packet ports therefore get their own RX pool of mbufs
 * that hold a whole 16384-byte ring frame (sw_port_devargs), named after
 * the ethdev port and freed when the port is closed.
 */
#define JUMBO_RX_MBUFS 2047
#define JUMBO_RX_ROOM (16384 + RTE_PKTMBUF_HEADROOM)

static bool needs_jumbo_pool(const struct sw_port_cfg *cfg)
{
	return cfg->type == SW_PORT_AF_PACKET && cfg->mtu > 1500;
}

static void jumbo_pool_name(uint16_t port_id, char *name, size_t len)
{
	snprintf(name, len, "sw_jrx%u", port_id);
}

/* Frees the pool when all its mbufs are back; one still queued elsewhere
 * (another port's shaper) keeps it alive for the next port of that id. */
static void jumbo_pool_free(uint16_t port_id)
{
	char name[RTE_MEMPOOL_NAMESIZE];
	struct rte_mempool *mp;

	jumbo_pool_name(port_id, name, sizeof(name));
	mp = rte_mempool_lookup(name);
	if (!mp)
		return;
	if (rte_mempool_full(mp))
		rte_mempool_free(mp);
	else
		log_warn("ethdev %u: jumbo RX buffers still in use, pool %s kept", port_id, name);
}

/* Removes a device by its name, on whichever bus it lives. */
static void remove_dev(const char *name, bool is_vdev)
{
	int rc = rte_eal_hotplug_remove(is_vdev ? "vdev" : "pci", name);

	if (rc)
		log_warn("device %s: remove: %s", name, rte_strerror(-rc));
}

static int configure(const struct sw_port_cfg *cfg, struct sw_ethport *ep, uint16_t n_txq,
		     struct rte_mempool *mp, char *err, size_t errlen)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	uint32_t room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
	uint32_t frame = (uint32_t)cfg->mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
	int rc;

	rc = rte_eth_dev_info_get(ep->port_id, &info);
	if (rc) {
		snprintf(err, errlen, "port %s: device info: %s", cfg->name, rte_strerror(-rc));
		return rc;
	}
	if (cfg->queues > info.max_rx_queues) {
		snprintf(err, errlen, "port %s: %u queues asked, the device has at most %u",
			 cfg->name, cfg->queues, info.max_rx_queues);
		return -EINVAL;
	}
	if (n_txq > info.max_tx_queues)
		n_txq = info.max_tx_queues;
	if (n_txq == 0)
		n_txq = 1;
	if (needs_jumbo_pool(cfg)) {
		char name[RTE_MEMPOOL_NAMESIZE];

		jumbo_pool_name(ep->port_id, name, sizeof(name));
		mp = rte_mempool_lookup(name);
		if (!mp)
			mp = rte_pktmbuf_pool_create(name, JUMBO_RX_MBUFS, 64, 0, JUMBO_RX_ROOM,
						     rte_eth_dev_socket_id(ep->port_id));
		if (!mp) {
			snprintf(err, errlen, "port %s: no memory for %u jumbo RX buffers: %s",
				 cfg->name, JUMBO_RX_MBUFS, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		room = rte_pktmbuf_data_room_size(mp) - RTE_PKTMBUF_HEADROOM;
	}
	memset(&conf, 0, sizeof(conf));
	conf.rxmode.mtu = cfg->mtu;
	/* af_packet reports standard frames only, whatever its ring frames
	 * hold; the datapath enforces the port's MTU itself. */
	if (cfg->type == SW_PORT_AF_PACKET &&
	    info.max_rx_pktlen > RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN &&
	    frame - 2 * RTE_VLAN_HLEN + RTE_ETHER_CRC_LEN > info.max_rx_pktlen)
		conf.rxmode.mtu =
			(uint16_t)(info.max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN);
	if (frame > room) {
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	if (info.max_mtu && cfg->mtu > info.max_mtu) {
		snprintf(err, errlen, "port %s: MTU %u is more than the device takes (%u)",
			 cfg->name, cfg->mtu, info.max_mtu);
		return -EINVAL;
	}
	rc = rte_eth_dev_configure(ep->port_id, cfg->queues, n_txq, &conf);
	if (rc) {
		snprintf(err, errlen, "port %s: configure (%u RX, %u TX queues, MTU %u): %s",
			 cfg->name, cfg->queues, n_txq, cfg->mtu, rte_strerror(-rc));
		return rc;
	}
	uint16_t nb_rxd = SW_PORT_RXD, nb_txd = SW_PORT_TXD;

	rc = rte_eth_dev_adjust_nb_rx_tx_desc(ep->port_id, &nb_rxd, &nb_txd);
	if (rc) {
		snprintf(err, errlen, "port %s: descriptor counts: %s", cfg->name,
			 rte_strerror(-rc));
		return rc;
	}
	int socket = rte_eth_dev_socket_id(ep->port_id);

	if (socket < 0)
		socket = (int)rte_socket_id();
	for (uint16_t q = 0; q < cfg->queues; q++) {
		struct rte_eth_rxconf rxc = info.default_rxconf;

		rxc.offloads = conf.rxmode.offloads;
		rc = rte_eth_rx_queue_setup(ep->port_id, q, nb_rxd, (unsigned)socket, &rxc, mp);
		if (rc) {
			snprintf(err, errlen, "port %s: RX queue %u: %s", cfg->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	for (uint16_t q = 0; q < n_txq; q++) {
		struct rte_eth_txconf txc = info.default_txconf;

		txc.offloads = conf.txmode.offloads;
		rc = rte_eth_tx_queue_setup(ep->port_id, q, nb_txd, (unsigned)socket, &txc);
		if (rc) {
			snprintf(err, errlen, "port %s: TX queue %u: %s", cfg->name, q,
				 rte_strerror(-rc));
			return rc;
		}
	}
	ep->n_rxq = cfg->queues;
	ep->n_txq = n_txq;
	return 0;
}

/* The queues net_af_xdp sees on an interface: its combined channels, 1 when
 * it has none (veth) or does not say, as the driver counts them. */
static unsigned af_xdp_queues(const char *iface)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	int fd, rc;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, iface, strnlen(iface, sizeof(ifr.ifr_name) - 1));
	ifr.ifr_data = (void *)&ch;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return 1;
	rc = ioctl(fd, SIOCETHTOOL, &ifr);
	close(fd);
	if (rc < 0 || ch.max_combined == 0)
		return 1;
	return ch.combined_count ? ch.combined_count : 1;
}

/* Why net_af_xdp refused a port, as far as can be told from here (its
 * probe fails with -1 whatever the cause: the driver's log says more). */
static void af_xdp_error(const struct sw_port_cfg *cfg, const char *devargs, char *err,
			 size_t errlen)
{
	unsigned have = af_xdp_queues(cfg->iface);

	if (cfg->queues > have)
		snprintf(err, errlen,
			 "port %s: cannot create af_xdp device (%s): queues=%u but %s has %u "
			 "combined queue(s) (ethtool -l %s; an interface without combined "
			 "channels, such as a veth, counts as 1)",
			 cfg->name, devargs, cfg->queues, cfg->iface, have, cfg->iface);
	else
		snprintf(err, errlen,
			 "port %s: cannot create af_xdp device (%s): the net_af_xdp driver "
			 "refused %s (see its messages above: XDP program or AF_XDP socket "
			 "on the interface, locked memory for the UMEM: ulimit -l)",
			 cfg->name, devargs, cfg->iface);
}

int sw_port_open(const struct sw_port_cfg *cfg, unsigned unique, uint16_t n_txq,
		 struct rte_mempool *mp, struct rte_rcu_qsbr *qsv, struct sw_ethport *ep,
		 char *err, size_t errlen)
{
	char devargs[512];
	int rc;

	memset(ep, 0, sizeof(*ep));
	if (cfg->type == SW_PORT_VHOST_USER) {
		rc = sw_vhost_open(cfg, mp, qsv, &ep->vhost, err, errlen);
		if (rc)
			return rc;
		ep->port_id = SW_PORT_ID_NONE;
		ep->n_rxq = cfg->queues;
		ep->n_txq = cfg->queues;
		return 0;
	}
	rc = sw_port_devargs(cfg, unique, devargs, sizeof(devargs));
	if (rc) {
		snprintf(err, errlen, "port %s: device arguments too long", cfg->name);
		return rc;
	}
	if ((cfg->type == SW_PORT_AF_PACKET || cfg->type == SW_PORT_AF_XDP) &&
	    if_nametoindex(cfg->iface) == 0) {
		snprintf(err, errlen, "port %s: no interface %s (%s)", cfg->name, cfg->iface,
			 strerror(errno));
		return -ENODEV;
	}
	if (devargs[0]) {
		ep->is_vdev = true;
		devname_of(devargs, ep->devname, sizeof(ep->devname));
		rc = rte_dev_probe(devargs);
		if (rc && cfg->type == SW_PORT_AF_XDP) {
			af_xdp_error(cfg, devargs, err, errlen);
			return rc;
		}
		if (rc) {
			snprintf(err, errlen, "port %s: cannot create %s device (%s): %s",
				 cfg->name, sw_port_type_name(cfg->type), devargs,
				 rte_strerror(-rc));
			return rc;
		}
	} else {
		snprintf(ep->devname, sizeof(ep->devname), "%s", cfg->pci);
		rc = rte_dev_probe(cfg->pci);
		if (rc) {
			snprintf(err, errlen,
				 "port %s: cannot probe PCI device %s: %s (is it bound to vfio-pci "
				 "or uio_pci_generic?)",
				 cfg->name, cfg->pci, rte_strerror(-rc));
			return rc;
		}
	}
	rc = rte_eth_dev_get_port_by_name(ep->devname, &ep->port_id);
	if (rc) {
		snprintf(err, errlen, "port %s: device %s has no ethdev port", cfg->name,
			 ep->devname);
		goto fail_remove;
	}
	rc = configure(cfg, ep, n_txq, mp, err, errlen);
	if (rc)
		goto fail_close;
	rc = rte_eth_dev_start(ep->port_id);
	if (rc) {
		snprintf(err, errlen, "port %s: start: %s", cfg->name, rte_strerror(-rc));
		goto fail_close;
	}
	if (cfg->type != SW_PORT_PCAP)
		rte_eth_promiscuous_enable(ep->port_id);
	log_info("port %s: %s device %s (ethdev %u, %u RX / %u TX queues, MTU %u)", cfg->name,
		 sw_port_type_name(cfg->type), ep->devname, ep->port_id, ep->n_rxq, ep->n_txq,
		 cfg->mtu);
	return 0;

fail_close:
	rte_eth_dev_close(ep->port_id);
	if (needs_jumbo_pool(cfg))
		jumbo_pool_free(ep->port_id);
fail_remove:
	remove_dev(ep->devname, ep->is_vdev);
	return rc;
}

void sw_port_close(struct sw_ethport *ep)
{
	int rc;

	if (ep->vhost) {
		sw_vhost_close(ep->vhost);
		ep->vhost = NULL;
		return;
	}
	rc = rte_eth_dev_stop(ep->port_id);

	if (rc)
		log_warn("ethdev %u: stop: %s", ep->port_id, rte_strerror(-rc));
	rte_eth_dev_close(ep->port_id);
	jumbo_pool_free(ep->port_id);
	remove_dev(ep->devname, ep->is_vdev);
}

bool sw_port_link_up(const struct sw_ethport *ep)
{
	struct rte_eth_link link;

	if (ep->vhost)
		return sw_vhost_link_up(ep->vhost);
	if (rte_eth_link_get_nowait(ep->port_id, &link))
		return false;
	return link.link_status == RTE_ETH_LINK_UP;
}

void sw_port_periodic(struct sw_ethport *ep)
{
	if (ep->vhost)
		sw_vhost_periodic(ep->vhost);
}
