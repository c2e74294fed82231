/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd's configuration model, and the two ways to fill it: a YAML
 * file (sw_config_load_file) and `--port` specs on the command line
 * (sw_config_add_cli_port). Pure C, no DPDK: the datapath turns a validated
 * struct sw_config into ports and tables.
 *
 * Everything here is checked when it is read: a bad file gives exactly one
 * error "FILE:LINE:COLUMN: what is wrong" and no config; the caller starts
 * nothing. The same structs describe run-time changes from the control
 * socket (a port added, a VLAN or QoS change), validated by the same
 * functions.
 *
 * The YAML schema (docs/vswitch.md has the full reference):
 *
 *   switch:                       # optional
 *     pmd-cores: "0"              # lcore list, e.g. "0", "0,1", "0-1"
 *     ctl: /run/nfv-switchd.sock  # control socket
 *     mbufs: 16384                # mbufs in the shared pool
 *   bridges:
 *     - name: br0
 *       aging: 300                # seconds, 0 = never age
 *       fdb-size: 8192            # entries, 16..1048576
 *       static:                   # optional static FDB entries
 *         - { mac: "02:00:00:00:00:01", vlan: 10, port: vm0 }
 *       ports:
 *         - name: vm0
 *           type: vhost-user      # vhost-user | tap | af_packet | af_xdp | pcap | dpdk
 *           path: /tmp/vm0.sock   # vhost-user socket
 *           server: false         # vhost-user: false = switch is the client (default)
 *           queues: 1             # 1..16
 *           mtu: 1500             # 68..9000
 *           vlan: { mode: access, tag: 10 }
 *           # vlan: { mode: trunk, trunks: "10,20,100-200", native: 1, native-tagged: false }
 *           policer: { type: srtcm, cir: 10mbit, cbs: 64kB, ebs: 64kB }
 *           vlan-policers:        # trunk ports only
 *             - { vlan: 20, type: trtcm, cir: 5mbit, cbs: 32kB, pir: 10mbit, pbs: 32kB }
 *           shaper: { rate: 100mbit, burst: 64kB, classes: 2, queue-len: 256 }
 *           # optional in shaper: pcp-map: [1,1,1,1,0,0,0,0] (class per PCP 0..7)
 *         - { name: tap0, type: tap, iface: nfvtap0 }
 *         - { name: eth1, type: af_packet, iface: veth1 }
 *         - { name: cap, type: pcap, rx-pcap: in.pcap, tx-pcap: out.pcap }
 *         - { name: nic0, type: dpdk, pci: "0000:03:00.0" }
 *   mirrors:
 *     - { name: m0, port: vm0, direction: both, to-pcap: /tmp/m0.pcap, snaplen: 65535 }
 *     - { name: m1, port: vm0, direction: rx, to-port: tap0 }
 *
 * Units: rates take bit/s suffixes "bit", "kbit", "mbit", "gbit" (x1000) or
 * byte/s suffixes "B", "kB", "MB", "GB" (x1000); a bare number is bytes/s.
 * "Kbit", "Mbit", "Gbit" are accepted too. Sizes (cbs, ebs, pbs, burst) take
 * "B", "kB", "KiB", "MB", "MiB" or a bare number of bytes. A decimal fraction
 * is allowed when the result is whole ("1.5mbit"). All of these are stored in
 * bytes (per second); bit rates are rounded down to whole bytes.
 */
#ifndef NFV_VSWITCH_SW_CONFIG_H
#define NFV_VSWITCH_SW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define SW_NAME_MAX 32		/* names of bridges, ports, mirrors, with the NUL */
#define SW_PATH_MAX 108		/* a Unix socket path fits sun_path */
#define SW_MAX_BRIDGES 8
#define SW_MAX_PORTS 64		/* over all bridges */
#define SW_MAX_MIRRORS 16
#define SW_MAX_STATIC 256	/* static FDB entries per bridge */
#define SW_MAX_VLAN_POLICERS 16 /* per trunk port */
#define SW_MAX_QUEUES 16
#define SW_MAX_PMD_CORES 16
#define SW_MAX_CLASSES 8
#define SW_MTU_MIN 68
#define SW_MTU_MAX 9000
#define SW_VLAN_MAX 4094
#define SW_VLAN_NONE 0xffff	/* "no native VLAN": untagged frames are dropped */

enum sw_port_type {
	SW_PORT_VHOST_USER,
	SW_PORT_TAP,
	SW_PORT_AF_PACKET,
	SW_PORT_AF_XDP,
	SW_PORT_PCAP,
	SW_PORT_DPDK,
};
const char *sw_port_type_name(enum sw_port_type t);

/*
 * VLAN modes, as Open vSwitch's:
 * - SW_VLAN_TRUNK with every VLAN allowed and native 0 is the default (a
 *   VLAN-unaware port: untagged frames live in internal VLAN 0 and leave
 *   untagged, tagged frames keep their tag).
 * - access: untagged (and priority-tagged, VID 0) frames enter VLAN `tag`;
 *   other tagged frames are dropped; frames leave untagged.
 * - trunk: tagged frames whose VID is in `allowed` enter that VLAN, others
 *   are dropped; untagged frames enter `native` (dropped when SW_VLAN_NONE);
 *   frames of the native VLAN leave untagged unless native_tagged.
 */
enum sw_vlan_mode {
	SW_VLAN_TRUNK = 0,
	SW_VLAN_ACCESS,
};

struct sw_vlan_cfg {
	enum sw_vlan_mode mode;
	uint16_t tag;		/* access: 1..4094 */
	uint16_t native;	/* trunk: 0..4094 or SW_VLAN_NONE */
	bool native_tagged;	/* trunk: native VLAN frames leave tagged */
	uint64_t allowed[64];	/* trunk: bit v set = VID v allowed (0..4095) */
};

/* The default VLAN config (trunk, all of 1..4094 allowed plus 0, native 0). */
void sw_vlan_cfg_default(struct sw_vlan_cfg *v);
static inline bool sw_vlan_allowed(const struct sw_vlan_cfg *v, uint16_t vid)
{
	return vid < 4096 && (v->allowed[vid >> 6] >> (vid & 63)) & 1;
}
/* Parses "10,20,100-200" into a bitmap (cleared first). 0 or -EINVAL with a
 * message in err. */
int __must_check sw_vlan_parse_list(const char *s, uint64_t allowed[64], char *err, size_t errlen);

enum sw_meter_type {
	SW_METER_NONE = 0,
	SW_METER_SRTCM,	/* RFC 2697: cir, cbs, ebs */
	SW_METER_TRTCM,	/* RFC 2698: cir, pir, cbs, pbs */
};

/* Colour-blind policer; red is dropped. Rates in bytes/s, sizes in bytes. */
struct sw_meter_cfg {
	enum sw_meter_type type;
	uint64_t cir, pir;
	uint64_t cbs, ebs, pbs;
};

struct sw_vlan_meter_cfg {
	uint16_t vlan;
	struct sw_meter_cfg meter;
};

/* Egress shaper: token bucket of `rate` bytes/s and `burst` bytes in front of
 * `classes` strict-priority queues (class 0 is served first), each holding
 * at most queue_len frames (tail drop). rate 0 = no shaper. */
struct sw_shaper_cfg {
	uint64_t rate;
	uint64_t burst;
	uint8_t classes;		/* 1..8 */
	uint8_t pcp_class[8];		/* class of each PCP value */
	uint32_t queue_len;		/* frames per class, 16..65536 */
};
/* Default PCP map for n classes: higher PCP, higher priority
 * (pcp_class[p] = (7 - p) * n / 8). Sets classes to n, n clamped to 1..8. */
void sw_shaper_default_map(struct sw_shaper_cfg *s, uint8_t n);

struct sw_port_cfg {
	char name[SW_NAME_MAX];
	enum sw_port_type type;
	char path[SW_PATH_MAX];		/* vhost-user socket */
	char iface[SW_NAME_MAX];	/* tap / af_packet / af_xdp interface */
	char rx_pcap[SW_PATH_MAX];	/* pcap: file to replay ("" = none) */
	char tx_pcap[SW_PATH_MAX];	/* pcap: file to write ("" = none) */
	char pci[SW_NAME_MAX];		/* dpdk: PCI address */
	bool server;			/* vhost-user: the switch listens */
	uint16_t queues;		/* 1..SW_MAX_QUEUES */
	uint16_t mtu;			/* SW_MTU_MIN..SW_MTU_MAX, default 1500 */
	struct sw_vlan_cfg vlan;
	struct sw_meter_cfg policer;
	struct sw_vlan_meter_cfg vlan_policers[SW_MAX_VLAN_POLICERS];
	unsigned n_vlan_policers;
	struct sw_shaper_cfg shaper;
	unsigned bridge;		/* index into sw_config.bridges */
	unsigned line, column;		/* where it was defined (0 = command line) */
};

struct sw_static_cfg {
	uint8_t mac[6];
	uint16_t vlan;
	char port[SW_NAME_MAX];
	unsigned line, column;		/* where it was defined (0 = not from a file) */
};

struct sw_bridge_cfg {
	char name[SW_NAME_MAX];
	uint32_t aging_s;		/* default 300; 0 = never */
	uint32_t fdb_size;		/* default 8192 */
	struct sw_static_cfg statics[SW_MAX_STATIC];
	unsigned n_statics;
	unsigned line, column;		/* where it was defined (0 = not from a file) */
};

enum sw_mirror_dir {
	SW_MIRROR_RX = 1,
	SW_MIRROR_TX = 2,
	SW_MIRROR_BOTH = 3,
};

struct sw_mirror_cfg {
	char name[SW_NAME_MAX];
	char port[SW_NAME_MAX];		/* the mirrored port */
	enum sw_mirror_dir dir;
	char to_port[SW_NAME_MAX];	/* "" when to_pcap is used */
	char to_pcap[SW_PATH_MAX];	/* "" when to_port is used */
	uint32_t snaplen;		/* default 65535, 64..65535 */
	unsigned line, column;		/* where it was defined (0 = not from a file) */
};

struct sw_config {
	char source[SW_PATH_MAX];	/* file it came from, "" for the command line */
	uint16_t pmd_cores[SW_MAX_PMD_CORES];
	unsigned n_pmd_cores;		/* 0 = default (one polling thread) */
	char ctl[SW_PATH_MAX];		/* "" = default */
	uint32_t mbufs;			/* 0 = default */
	struct sw_bridge_cfg bridges[SW_MAX_BRIDGES];
	unsigned n_bridges;
	struct sw_port_cfg ports[SW_MAX_PORTS];
	unsigned n_ports;
	struct sw_mirror_cfg mirrors[SW_MAX_MIRRORS];
	unsigned n_mirrors;
};

/* An empty config (no bridges, defaults). */
void sw_config_init(struct sw_config *c);
/* A port with every default set (type vhost-user, 1 queue, MTU 1500, default VLAN). */
void sw_port_cfg_init(struct sw_port_cfg *p);

/*
 * Reads and validates a YAML file into *c (which it initialises). On error
 * returns -EINVAL (or -errno when the file cannot be read) and writes one line
 * "PATH:LINE:COL: message" into err (LINE/COL 1-based, pointing at the
 * offending key or value). Unknown keys, wrong types, out-of-range values,
 * duplicate names, references to unknown ports, mirrors whose source is
 * their own destination: all refused.
 */
int __must_check sw_config_load_file(const char *path, struct sw_config *c, char *err,
				     size_t errlen);
/* The same from a string (name is used in messages in place of the path). */
int __must_check sw_config_load_string(const char *name, const char *yaml, struct sw_config *c,
				       char *err, size_t errlen);

/*
 * Parses one command-line port spec and appends it to bridge 0 (created as
 * "br0" when the config has no bridge):
 *   vhost-user:PATH[,server][,queues=N][,mtu=N][,name=NAME][,vlan=N|,trunk=LIST[,native=N]]
 *   tap:IFNAME[,...same keys]   af_packet:IFNAME[,...]   af_xdp:IFNAME[,...]
 *   pcap:in=FILE,out=FILE[,...]  dpdk:PCI[,...]
 * Default names are p0, p1, ... in order. 0 or -EINVAL with a message.
 */
int __must_check sw_config_add_cli_port(struct sw_config *c, const char *spec, char *err,
					size_t errlen);
/* Parses "0,1" / "0-3" into pmd_cores. */
int __must_check sw_config_parse_cores(struct sw_config *c, const char *list, char *err,
				       size_t errlen);

/*
 * Cross-checks a whole config (names unique, references resolve, mirrors
 * valid, at least one port). Run by the loaders; callers that build a config
 * by hand (the command line) run it too. 0 or -EINVAL with a message.
 */
int __must_check sw_config_validate(const struct sw_config *c, char *err, size_t errlen);

/* Looks a port up by name: index or -1. */
int sw_config_find_port(const struct sw_config *c, const char *name);
int sw_config_find_bridge(const struct sw_config *c, const char *name);

/*
 * What no two ports may share, for the duplicate checks of a file and of
 * ports added at run time: the resource ("/tmp/vm0.sock", "veth0", ...)
 * and in *what its kind ("socket path", "interface", "PCI device",
 * "tx-pcap file"); NULL when the port holds none.
 */
const char *sw_port_resource(const struct sw_port_cfg *p, const char **what);
/*
 * Value parsers shared with the control socket (no file position in their
 * messages). Each returns 0 or -EINVAL with a message.
 */
int __must_check sw_parse_rate(const char *s, uint64_t *bytes_per_s, char *err, size_t errlen);
int __must_check sw_parse_size(const char *s, uint64_t *bytes, char *err, size_t errlen);
/* Checks a meter/shaper/vlan config on its own (ranges, cbs/ebs > 0, pir >= cir ...). */
int __must_check sw_meter_cfg_check(const struct sw_meter_cfg *m, char *err, size_t errlen);
int __must_check sw_shaper_cfg_check(const struct sw_shaper_cfg *s, char *err, size_t errlen);
int __must_check sw_vlan_cfg_check(const struct sw_vlan_cfg *v, char *err, size_t errlen);

#endif /* NFV_VSWITCH_SW_CONFIG_H */
