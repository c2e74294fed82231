/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Intel 82540EM model (see e1000.h). Register, descriptor, EEPROM and PHY
 * layouts follow the Intel PCI/PCI-X Family of Gigabit Ethernet Controllers
 * Software Developer's Manual (8254x): chapter 3 (descriptors), 5 (EEPROM),
 * 8 and 13 (registers); the PHY is the 82540's integrated M88-type PHY
 * (ID 0141:0C2x, which Linux's e1000 checks for).
 *
 * Layout of this file: registers are one array (e->regs, indexed by offset
 * / 4) served through two sparse const tables of read and write handlers and
 * a table of write masks; an offset with no read handler is unknown (logged
 * at a limited rate, reads 0, writes ignored). Then the EEPROM (EERD and the
 * Microwire bit-bang behind EECD), the PHY behind MDIC, interrupts and their
 * moderation, TX (legacy, context and data descriptors, checksum offload,
 * TSO), RX (filters, VLAN, checksum status) and the glue to PCI and netdev.
 *
 * Threads and locks:
 *  - vCPU threads: BAR0 (MMIO) and BAR1 (IOADDR/IODATA) accesses and PCI
 *    command changes. A TDT write sends the whole pending batch on the
 *    vCPU thread that wrote it.
 *  - the event loop thread: netdev peer receive() and link_changed(), the
 *    moderation timer, the "kick" event.
 *  - e->lock, one mutex, serialises all of them. It is held across
 *    netdev_send() (the tap and pcap backends never call back into a model
 *    from send; a backend that loops frames back must defer delivery to the
 *    event loop), across pci_dev_set_intx() (the PCI core's intx_lock and
 *    the irq chip never call back into the model) and across
 *    evloop_timer_arm() and evloop_event_signal(). It is NOT held across
 *    netdev_rx_resume(): a backend without an event loop reads synchronously
 *    from there and would re-enter receive().
 *  - Lock order: e->lock -> PCI intx_lock -> irq chip; e->lock -> backend.
 *  - The timer is armed only on the event loop thread (evloop's rule); a
 *    vCPU thread that needs a later interrupt signals the kick event, whose
 *    callback arms the timer.
 *
 * Guest memory is reached only through gm_read/gm_write/gm_translate, which
 * refuse any range that is not entirely RAM: device DMA never reaches MMIO,
 * so the model cannot be re-entered through its own DMA. Every loop over
 * guest data is bounded by the ring size; lengths are added with checks.
 */
#define LOG_COMPONENT "e1000"
#include "nicmodels/e1000.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- PCI identity ---- */

#define E1000_VENDOR 0x8086
#define E1000_DEVICE 0x100E /* 82540EM */
/* What the PRO/1000 MT Desktop adapter (82540EM) reports; QEMU reports 1af4:1100 rev 3. */
#define E1000_SUBSYS_VENDOR 0x8086
#define E1000_SUBSYS 0x001E
#define E1000_REVISION 0x02
#define E1000_CLASS 0x020000 /* Ethernet controller */
#define E1000_MMIO_SIZE (128u * 1024u)
#define E1000_IO_SIZE 64u

/* ---- registers (byte offsets) ---- */

#define E1000_CTRL 0x0000
#define E1000_STATUS 0x0008
#define E1000_EECD 0x0010
#define E1000_EERD 0x0014
#define E1000_CTRL_EXT 0x0018
#define E1000_MDIC 0x0020
#define E1000_FCAL 0x0028
#define E1000_FCAH 0x002C
#define E1000_FCT 0x0030
#define E1000_VET 0x0038
#define E1000_ICR 0x00C0
#define E1000_ITR 0x00C4
#define E1000_ICS 0x00C8
#define E1000_IMS 0x00D0
#define E1000_IMC 0x00D8
#define E1000_RCTL 0x0100
#define E1000_FCTTV 0x0170
#define E1000_TXCW 0x0178
#define E1000_RXCW 0x0180
#define E1000_TCTL 0x0400
#define E1000_TIPG 0x0410
#define E1000_AIFS 0x0458
#define E1000_LEDCTL 0x0E00
#define E1000_PBA 0x1000
#define E1000_FCRTL 0x2160
#define E1000_FCRTH 0x2168
#define E1000_RDFH 0x2410
#define E1000_RDFT 0x2418
#define E1000_RDFHS 0x2420
#define E1000_RDFTS 0x2428
#define E1000_RDFPC 0x2430
#define E1000_RDBAL 0x2800
#define E1000_RDBAH 0x2804
#define E1000_RDLEN 0x2808
#define E1000_RDH 0x2810
#define E1000_RDT 0x2818
#define E1000_RDTR 0x2820
#define E1000_RXDCTL 0x2828
#define E1000_RADV 0x282C
#define E1000_RSRPD 0x2C00
#define E1000_TXDMAC 0x3000
#define E1000_TDFH 0x3410
#define E1000_TDFT 0x3418
#define E1000_TDFHS 0x3420
#define E1000_TDFTS 0x3428
#define E1000_TDFPC 0x3430
#define E1000_TDBAL 0x3800
#define E1000_TDBAH 0x3804
#define E1000_TDLEN 0x3808
#define E1000_TDH 0x3810
#define E1000_TDT 0x3818
#define E1000_TIDV 0x3820
#define E1000_TXDCTL 0x3828
#define E1000_TADV 0x382C
#define E1000_TSPMT 0x3830
#define E1000_STATS 0x4000 /* 64 statistics registers, clear on read */
#define E1000_STATS_END 0x4100
#define E1000_RXCSUM 0x5000
#define E1000_MTA 0x5200  /* 128 */
#define E1000_RA 0x5400	  /* 16 pairs RAL/RAH */
#define E1000_VFTA 0x5600 /* 128 */
#define E1000_WUC 0x5800
#define E1000_WUFC 0x5808
#define E1000_WUS 0x5810
#define E1000_MANC 0x5820
#define E1000_IPAV 0x5838
#define E1000_IP4AT 0x5840 /* 4 entries, 8 bytes apart */
#define E1000_IP6AT 0x5880 /* 4 */
#define E1000_WUPL 0x5900
#define E1000_WUPM 0x5A00      /* 32 */
#define E1000_REG_SPACE 0x6000 /* the table covers [0, 0x6000) */

/* Statistics registers. */
#define E1000_CRCERRS 0x4000
#define E1000_MPC 0x4010
#define E1000_PRC64 0x405C
#define E1000_PRC127 0x4060
#define E1000_PRC255 0x4064
#define E1000_PRC511 0x4068
#define E1000_PRC1023 0x406C
#define E1000_PRC1522 0x4070
#define E1000_GPRC 0x4074
#define E1000_BPRC 0x4078
#define E1000_MPRC 0x407C
#define E1000_GPTC 0x4080
#define E1000_GORCL 0x4088
#define E1000_GORCH 0x408C
#define E1000_GOTCL 0x4090
#define E1000_GOTCH 0x4094
#define E1000_RNBC 0x40A0
#define E1000_RUC 0x40A4
#define E1000_ROC 0x40AC
#define E1000_TORL 0x40C0
#define E1000_TORH 0x40C4
#define E1000_TOTL 0x40C8
#define E1000_TOTH 0x40CC
#define E1000_TPR 0x40D0
#define E1000_TPT 0x40D4
#define E1000_PTC64 0x40D8
#define E1000_PTC127 0x40DC
#define E1000_PTC255 0x40E0
#define E1000_PTC511 0x40E4
#define E1000_PTC1023 0x40E8
#define E1000_PTC1522 0x40EC
#define E1000_MPTC 0x40F0
#define E1000_BPTC 0x40F4
#define E1000_TSCTC 0x40F8
#define E1000_TSCTFC 0x40FC

#define R(off) ((off) >> 2)
#define E1000_NREGS R(E1000_REG_SPACE)

/* CTRL */
#define CTRL_FD (1u << 0)
#define CTRL_ASDE (1u << 5)
#define CTRL_SLU (1u << 6)
#define CTRL_SPD_1000 (2u << 8)
#define CTRL_RST (1u << 26)
#define CTRL_VME (1u << 30)
#define CTRL_PHY_RST (1u << 31)
/* FD LRST ASDE SLU ILOS SPEED FRCSPD FRCDPX SDP0/1 ADVD3WUC EN_PHY_PWR_MGMT RST RFCE TFCE VME
 * PHY_RST */
#define CTRL_WMASK 0xDCFC1BE9u

/* STATUS */
#define STATUS_FD (1u << 0)
#define STATUS_LU (1u << 1)
#define STATUS_SPEED_1000 (2u << 6)
#define STATUS_ASDV_1000 (2u << 8)

/* EECD: Microwire bit-bang and the access request/grant handshake. */
#define EECD_SK (1u << 0)
#define EECD_CS (1u << 1)
#define EECD_DI (1u << 2)
#define EECD_DO (1u << 3)
#define EECD_FWE_DIS (1u << 4)
#define EECD_REQ (1u << 6)
#define EECD_GNT (1u << 7)
#define EECD_PRES (1u << 8)
/* EECD_SIZE (bit 9) reads 0: a 64-word (1 Kbit) 93C46 Microwire part. */
#define EECD_WMASK 0x77u /* SK CS DI FWE REQ */

/* EERD on the 82540: start bit 0, done bit 4, address 15:8, data 31:16. */
#define EERD_START (1u << 0)
#define EERD_DONE (1u << 4)
#define EERD_ADDR_SHIFT 8
#define EERD_DATA_SHIFT 16

#define CTRL_EXT_EE_RST (1u << 13)

/* MDIC */
#define MDIC_DATA_MASK 0xFFFFu
#define MDIC_REG_SHIFT 16
#define MDIC_PHY_SHIFT 21
#define MDIC_OP_WRITE (1u << 26)
#define MDIC_OP_READ (2u << 26)
#define MDIC_OP_MASK (3u << 26)
#define MDIC_READY (1u << 28)
#define MDIC_INT_EN (1u << 29)
#define MDIC_ERROR (1u << 30)
#define E1000_PHY_ADDR 1

/* Interrupt causes (ICR, ICS, IMS, IMC). */
#define ICR_TXDW (1u << 0)
#define ICR_TXQE (1u << 1)
#define ICR_LSC (1u << 2)
#define ICR_RXDMT0 (1u << 4)
#define ICR_RXO (1u << 6)
#define ICR_RXT0 (1u << 7)
#define ICR_MDAC (1u << 9)
#define ICR_MASK 0x0001FEDFu

/* RCTL */
#define RCTL_EN (1u << 1)
#define RCTL_UPE (1u << 3)
#define RCTL_MPE (1u << 4)
#define RCTL_LPE (1u << 5)
#define RCTL_RDMTS_SHIFT 8
#define RCTL_MO_SHIFT 12
#define RCTL_BAM (1u << 15)
#define RCTL_BSIZE_SHIFT 16
#define RCTL_VFE (1u << 18)
#define RCTL_BSEX (1u << 25)
#define RCTL_SECRC (1u << 26)
#define RCTL_WMASK 0x06DFB3FEu

/* TCTL */
#define TCTL_EN (1u << 1)
#define TCTL_PSP (1u << 3)
#define TCTL_WMASK 0x037FFFFAu

/* RDTR / TIDV: flush partial descriptor block. */
#define DTR_FPD (1u << 31)

#define RAH_AV (1u << 31)
#define RAH_AS_MASK (3u << 16)

#define RXCSUM_PCSS_MASK 0xFFu
#define RXCSUM_IPOFLD (1u << 8)
#define RXCSUM_TUOFLD (1u << 9)

/* ---- descriptors ---- */

#define DESC_SIZE 16u
#define RING_ALIGN 128u /* RDLEN/TDLEN granularity: 8 descriptors */

/* TX command byte (legacy CMD, context TUCMD, data DCMD share the bits). */
#define TXD_EOP (1u << 0)
#define TXD_IFCS (1u << 1)
#define TXD_IC (1u << 2)  /* legacy: insert checksum */
#define TXD_TSE (1u << 2) /* extended: TCP segmentation */
#define TXD_RS (1u << 3)
#define TXD_RPS (1u << 4)
#define TXD_DEXT (1u << 5)
#define TXD_VLE (1u << 6)
#define TXD_IDE (1u << 7)
#define TUCMD_TCP (1u << 0)
#define TUCMD_IP (1u << 1) /* IPv4 (else IPv6) */
#define TXD_DTYP_CTX 0u
#define TXD_DTYP_DATA 1u
#define TXD_STA_DD (1u << 0)
#define POPTS_IXSM (1u << 0)
#define POPTS_TXSM (1u << 1)

/* RX status and errors. */
#define RXD_DD (1u << 0)
#define RXD_EOP (1u << 1)
#define RXD_IXSM (1u << 2)
#define RXD_VP (1u << 3)
#define RXD_TCPCS (1u << 5)
#define RXD_IPCS (1u << 6)
#define RXE_TCPE (1u << 5)
#define RXE_IPE (1u << 6)

/* ---- sizes and limits ---- */

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_ZLEN 60 /* minimum frame without FCS */
#define ETH_FCS_LEN 4
#define VLAN_HLEN 4
#define E1000_EEPROM_WORDS 64
#define E1000_EEPROM_SUM 0xBABA
#define E1000_PHY_REGS 32
#define E1000_RA_ENTRIES 16
#define E1000_MAX_TX_FRAME 16384u	    /* one non-TSO frame */
#define E1000_MAX_TSO_FRAME (65536u + 256u) /* TSO payload plus a header (HDRLEN < 256) */
#define E1000_MAX_RX_FRAME 16384u	    /* with RCTL.LPE */
#define E1000_MAX_STD_FRAME 1514u	    /* without LPE: 1518 with FCS */
#define E1000_RX_BUF (E1000_MAX_RX_FRAME + ETH_FCS_LEN)
#define E1000_RX_MAX_DESCS (E1000_RX_BUF / 256u + 1u) /* smallest buffer: 256 bytes */
#define E1000_SEG_BUF (E1000_MAX_TX_FRAME)
/*
 * Frames and segments one doorbell may send. The model lock is held meanwhile
 * (the event loop waits for it), so a guest that chains MSS-1 TSO frames is
 * cut off here; the rest waits for the next TDT write. A driver with BQL never
 * has that much in flight.
 */
#define E1000_TX_BUDGET 65536u

#define ETH_P_IPV4 0x0800
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define TCP_FIN 0x01
#define TCP_PSH 0x08

/* The EEPROM image (words other than the MAC and the checksum). */
#define EE_INIT_CTRL1 0x0A
#define EE_SUBSYS 0x0B
#define EE_SUBSYS_VENDOR 0x0C
#define EE_DEVICE 0x0D
#define EE_VENDOR 0x0E
#define EE_INIT_CTRL2 0x0F
#define EE_CHECKSUM 0x3F

/* PHY registers (IEEE 802.3 clause 22 and the M88 vendor ones). */
#define PHY_CTRL 0
#define PHY_STATUS 1
#define PHY_ID1 2
#define PHY_ID2 3
#define PHY_ANAR 4
#define PHY_LPAR 5
#define PHY_ANER 6
#define PHY_NPTX 7
#define PHY_1000T_CTRL 9
#define PHY_1000T_STATUS 10
#define PHY_EXT_STATUS 15
#define PHY_M88_PSCR 16
#define PHY_M88_PSSR 17
#define PHY_M88_EPSCR 20
#define PHY_M88_RXERR 21
#define PHY_CTRL_RESET (1u << 15)
#define PHY_CTRL_ANEG_EN (1u << 12)
#define PHY_CTRL_ANEG_RESTART (1u << 9)
#define PHY_STATUS_BASE 0x7949u /* 10/100 HD/FD, ext status, preamble supp., AN able */
#define PHY_STATUS_LINK (1u << 2)
#define PHY_STATUS_ANEG_DONE (1u << 5)
#define PHY_LPAR_UP 0x45E1u  /* ACK, pause, 10/100 HD/FD, 802.3 selector */
#define PHY_1000T_UP 0x3C00u /* local and remote receiver OK, partner 1000 FD/HD */
#define PHY_PSSR_UP 0xAC00u  /* 1000 Mb/s, full duplex, resolved, link */

/* ---- state ---- */

/* TX offload context loaded by a context descriptor. */
struct e1000_tx_ctx {
	uint8_t ipcss, ipcso;
	uint16_t ipcse;
	uint8_t tucss, tucso;
	uint16_t tucse;
	uint32_t paylen;
	uint8_t tucmd;
	uint8_t hdrlen;
	uint16_t mss;
};

/* The frame being gathered from TX descriptors up to EOP. */
struct e1000_tx_frame {
	bool active;   /* descriptors seen, no EOP yet */
	bool bad;      /* refused: drop at EOP */
	bool legacy;   /* legacy descriptors (else extended data descriptors) */
	bool tse;      /* TCP segmentation (data descriptors only) */
	uint8_t popts; /* from the first data descriptor */
	uint8_t css;   /* legacy: checksum start from the first descriptor */
	uint32_t len;
	uint32_t ndesc;
};

enum e1000_ee_state {
	EE_IDLE,   /* waiting for the start bit */
	EE_CMD,	   /* shifting in opcode and address */
	EE_READ,   /* shifting out data */
	EE_IGNORE, /* an opcode the model does not serve (writes): until CS drops */
};

struct e1000_eeprom_bb {
	enum e1000_ee_state state;
	unsigned int bits;
	uint32_t cmd;
	uint8_t addr;
	unsigned int out_pos;
	bool dout;
};

struct e1000 {
	pthread_mutex_t lock;
	char name[32];
	struct pci_dev *pdev;
	const struct guest_mem *mem;
	struct netdev *nd;
	struct evloop *loop;
	struct ev_timer *timer;
	struct ev_event *kick;
	uint64_t (*clock_ns)(void *opaque);
	void *clock_opaque;
	bool broken; /* setup failed half-way: the PCI device ignores accesses */

	uint32_t regs[E1000_NREGS];
	uint16_t eeprom[E1000_EEPROM_WORDS];
	uint16_t phy[E1000_PHY_REGS];
	struct e1000_eeprom_bb ee;
	uint32_t ioaddr;

	/* Link: the backend's carrier and what STATUS.LU last showed. */
	bool backend_link;
	bool lu;
	bool bus_master;

	/* Interrupts. */
	int intx;
	uint32_t pending;
	bool rx_timed, tx_timed;
	uint64_t rx_first_ns, rx_last_ns, tx_first_ns, tx_last_ns;
	bool irq_seen;
	uint64_t last_irq_ns;
	uint64_t timer_due_ns; /* when the armed timer fires (clock time), 0: not armed */
	bool kick_pending;     /* the kick event is signalled and not yet served */

	/* RX. */
	bool rx_stalled;    /* receive() said "no room": resume the backend on RDT */
	bool resume_needed; /* call netdev_rx_resume() once the lock is dropped */
	uint8_t *rx_buf;

	/* TX. */
	struct e1000_tx_ctx csum_ctx, tso_ctx;
	bool csum_ctx_valid, tso_ctx_valid;
	struct e1000_tx_frame txf;
	uint8_t *tx_buf;   /* E1000_MAX_TSO_FRAME */
	uint8_t *seg_buf;  /* one TSO segment */
	uint32_t tx_sends; /* frames handed to the backend in this doorbell */

	struct e1000_stats stats;
};

/* ---- small helpers ---- */

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Ones' complement sum of big-endian 16-bit words (RFC 1071), not folded. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; len -= 2, p += 2)
		sum += get_be16(p);
	if (len)
		sum += (uint64_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)sum;
}

/* Ethernet CRC-32 (reflected 0x04C11DB7), table built once. */
static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t eth_crc(const uint8_t *p, size_t len)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < len; i++)
		c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
	return ~c;
}

static uint64_t e1000_now(const struct e1000 *e)
{
	return e->clock_ns ? e->clock_ns(e->clock_opaque) : now_ns();
}

static uint32_t reg(const struct e1000 *e, uint32_t off)
{
	return e->regs[R(off)];
}

static void guest_error(struct e1000 *e)
{
	e->stats.guest_errors++;
}

/* Statistics counters saturate, as the hardware's do. */
static void stat_inc(struct e1000 *e, uint32_t off, uint32_t v)
{
	uint32_t *c = &e->regs[R(off)];

	*c = *c > UINT32_MAX - v ? UINT32_MAX : *c + v;
}

static void stat_add64(struct e1000 *e, uint32_t lo_off, uint64_t v)
{
	uint32_t *lo = &e->regs[R(lo_off)], *hi = lo + 1;
	uint64_t c = (uint64_t)*hi << 32 | *lo, n;

	if (add_overflows_u64(c, v, &n))
		n = UINT64_MAX;
	*lo = (uint32_t)n;
	*hi = (uint32_t)(n >> 32);
}

/* ---- interrupts and their moderation ---- */

#define US_1024 1024ull /* RDTR, RADV, TIDV, TADV unit */
#define ITR_UNIT 256ull

static uint64_t due_after(uint64_t t, uint64_t units, uint64_t unit_ns)
{
	uint64_t d;

	if (add_overflows_u64(t, units * unit_ns, &d))
		return UINT64_MAX;
	return d;
}

uint64_t e1000_mit_delay_ns(const struct e1000_mit_input *in)
{
	uint64_t now = in->now_ns, due = UINT64_MAX, d;
	uint32_t timed = 0, imm;

	if (!in->pending)
		return 0;
	if (in->rx_timed && (in->pending & ICR_RXT0)) {
		timed |= ICR_RXT0;
		d = in->rdtr ? due_after(in->rx_last_ns, in->rdtr, US_1024) : now;
		if (in->radv)
			d = MIN(d, due_after(in->rx_first_ns, in->radv, US_1024));
		due = MIN(due, d);
	}
	if (in->tx_timed && (in->pending & ICR_TXDW)) {
		timed |= ICR_TXDW;
		d = in->tidv ? due_after(in->tx_last_ns, in->tidv, US_1024) : now;
		if (in->tadv)
			d = MIN(d, due_after(in->tx_first_ns, in->tadv, US_1024));
		due = MIN(due, d);
	}
	imm = in->pending & ~timed;
	/* An enabled immediate cause is due now; masked ones ride along with the rest. */
	if ((imm & in->ims) || !timed)
		due = now;
	if (in->itr && in->irq_seen && (in->pending & in->ims))
		due = MAX(due, due_after(in->last_irq_ns, in->itr, ITR_UNIT));
	if (due <= now)
		return 0;
	d = due - now;
	return d < E1000_MIT_MIN_NS ? E1000_MIT_MIN_NS : d;
}

/* INTx level = (ICR & IMS) != 0. e->lock held. */
static void e1000_update_intx(struct e1000 *e)
{
	int level = (reg(e, E1000_ICR) & reg(e, E1000_IMS)) != 0;

	if (level == e->intx)
		return;
	e->intx = level;
	if (level) {
		e->stats.irqs++;
		e->irq_seen = true;
		e->last_irq_ns = e1000_now(e);
	}
	pci_dev_set_intx(e->pdev, level);
}

static struct e1000_mit_input e1000_mit_state(const struct e1000 *e, uint64_t now)
{
	return (struct e1000_mit_input){
		.now_ns = now,
		.pending = e->pending,
		.ims = reg(e, E1000_IMS),
		.rx_timed = e->rx_timed,
		.rx_first_ns = e->rx_first_ns,
		.rx_last_ns = e->rx_last_ns,
		.tx_timed = e->tx_timed,
		.tx_first_ns = e->tx_first_ns,
		.tx_last_ns = e->tx_last_ns,
		.rdtr = reg(e, E1000_RDTR) & 0xFFFF,
		.radv = reg(e, E1000_RADV) & 0xFFFF,
		.tidv = reg(e, E1000_TIDV) & 0xFFFF,
		.tadv = reg(e, E1000_TADV) & 0xFFFF,
		.itr = reg(e, E1000_ITR) & 0xFFFF,
		.irq_seen = e->irq_seen,
		.last_irq_ns = e->last_irq_ns,
	};
}

/*
 * Posts the pending causes to ICR when they are due, else makes sure the
 * timer will look again. `on_loop`: the caller runs on the event loop
 * thread (may arm the timer itself). e->lock held.
 */
static void e1000_mit_run(struct e1000 *e, bool on_loop)
{
	uint64_t now, delay = 0, due;

	if (!e->pending)
		return;
	now = e1000_now(e);
	if (e->loop) { /* no event loop: no moderation */
		struct e1000_mit_input in = e1000_mit_state(e, now);

		delay = e1000_mit_delay_ns(&in);
	}
	if (delay == 0) {
		e->regs[R(E1000_ICR)] |= e->pending;
		e->pending = 0;
		e->rx_timed = false;
		e->tx_timed = false;
		e1000_update_intx(e);
		return;
	}
	if (add_overflows_u64(now, delay, &due))
		due = UINT64_MAX;
	/* Armed for an earlier time already: it looks again then. */
	if (e->timer_due_ns && e->timer_due_ns <= due)
		return;
	if (on_loop) {
		if (evloop_timer_arm(e->timer, delay, 0) < 0)
			log_warn_rl("%s: cannot arm the moderation timer", e->name);
		else
			e->timer_due_ns = due;
	} else if (!e->kick_pending) {
		e->kick_pending = true;
		evloop_event_signal(e->kick);
	}
}

/* Raises causes that are due at once (subject to ITR). e->lock held. */
static void e1000_raise(struct e1000 *e, uint32_t causes, bool on_loop)
{
	e->pending |= causes & ICR_MASK;
	e1000_mit_run(e, on_loop);
}

/* RXT0 after a received frame: waits for RDTR/RADV when RDTR is set. */
static void e1000_raise_rx(struct e1000 *e, uint32_t extra, bool on_loop)
{
	uint64_t now = e1000_now(e);

	if (reg(e, E1000_RDTR) & 0xFFFF) {
		if (!e->rx_timed || !(e->pending & ICR_RXT0)) {
			e->rx_timed = true;
			e->rx_first_ns = now;
		}
		e->rx_last_ns = now;
	} else {
		e->rx_timed = false;
	}
	e1000_raise(e, ICR_RXT0 | extra, on_loop);
}

/* TXDW after descriptors were written back: waits for TIDV/TADV when IDE was set. */
static void e1000_raise_tx(struct e1000 *e, uint32_t causes, bool ide, bool on_loop)
{
	uint64_t now = e1000_now(e);

	if ((causes & ICR_TXDW) && ide &&
	    (reg(e, E1000_TIDV) & 0xFFFF || reg(e, E1000_TADV) & 0xFFFF)) {
		if (!e->tx_timed || !(e->pending & ICR_TXDW)) {
			e->tx_timed = true;
			e->tx_first_ns = now;
		}
		e->tx_last_ns = now;
	} else if (causes & ICR_TXDW) {
		e->tx_timed = false;
	}
	e1000_raise(e, causes, on_loop);
}

/* ---- link ---- */

/* STATUS.LU: the backend's carrier and CTRL.SLU. Raises LSC on a change. */
static void e1000_link_update(struct e1000 *e, bool raise, bool on_loop)
{
	bool lu = e->backend_link && (reg(e, E1000_CTRL) & CTRL_SLU);

	if (lu == e->lu)
		return;
	e->lu = lu;
	if (raise)
		e1000_raise(e, ICR_LSC, on_loop);
}

/* ---- EEPROM ---- */

static void e1000_eeprom_init(struct e1000 *e, const uint8_t mac[ETH_ALEN])
{
	uint16_t *w = e->eeprom, sum = 0;

	memset(w, 0, sizeof(e->eeprom));
	for (unsigned int i = 0; i < 3; i++)
		w[i] = (uint16_t)(mac[2 * i] | mac[2 * i + 1] << 8);
	w[0x04] = 0xFFFF; /* LED settings: use the driver's defaults */
	w[EE_INIT_CTRL1] = 0x0000;
	w[EE_SUBSYS] = E1000_SUBSYS;
	w[EE_SUBSYS_VENDOR] = E1000_SUBSYS_VENDOR;
	w[EE_DEVICE] = E1000_DEVICE;
	w[EE_VENDOR] = E1000_VENDOR;
	w[EE_INIT_CTRL2] = 0x0000; /* no flow control (pause bits 13:12 clear) */
	for (unsigned int i = 0; i < EE_CHECKSUM; i++)
		sum = (uint16_t)(sum + w[i]);
	w[EE_CHECKSUM] = (uint16_t)(E1000_EEPROM_SUM - sum);
}

/* One rising edge of SK with CS high: DI is the bit shifted in. */
static void e1000_ee_clock(struct e1000 *e, bool di)
{
	struct e1000_eeprom_bb *ee = &e->ee;

	switch (ee->state) {
	case EE_IDLE:
		if (di) { /* start bit */
			ee->state = EE_CMD;
			ee->bits = 0;
			ee->cmd = 0;
		}
		break;
	case EE_CMD:
		ee->cmd = ee->cmd << 1 | di;
		if (++ee->bits < 2 + 6)
			break;
		/* Opcode 10b is READ; writes and erases are not served. */
		if ((ee->cmd >> 6) == 2) {
			ee->state = EE_READ;
			ee->addr = ee->cmd & 0x3F;
			ee->out_pos = 0;
			ee->dout = false; /* the dummy zero before the data */
		} else {
			ee->state = EE_IGNORE;
		}
		break;
	case EE_READ:
		ee->dout = (e->eeprom[ee->addr] >> (15 - ee->out_pos)) & 1;
		if (++ee->out_pos == 16) { /* sequential read goes on with the next word */
			ee->out_pos = 0;
			ee->addr = (ee->addr + 1) % E1000_EEPROM_WORDS;
		}
		break;
	case EE_IGNORE: break;
	}
}

static uint32_t e1000_rd_eecd(struct e1000 *e, unsigned int idx)
{
	uint32_t v = (e->regs[idx] & EECD_WMASK) | EECD_PRES;

	if (v & EECD_REQ)
		v |= EECD_GNT; /* no other EEPROM client: granted at once */
	if (e->ee.dout)
		v |= EECD_DO;
	return v;
}

static void e1000_wr_eecd(struct e1000 *e, unsigned int idx, uint32_t val)
{
	uint32_t old = e->regs[idx];

	val &= EECD_WMASK;
	e->regs[idx] = val;
	if (!(val & EECD_CS)) {
		e->ee = (struct e1000_eeprom_bb){ .state = EE_IDLE };
		return;
	}
	if (!(old & EECD_CS))
		e->ee = (struct e1000_eeprom_bb){ .state = EE_IDLE };
	if ((val & EECD_SK) && !(old & EECD_SK))
		e1000_ee_clock(e, val & EECD_DI);
}

static void e1000_wr_eerd(struct e1000 *e, unsigned int idx, uint32_t val)
{
	uint32_t addr = (val >> EERD_ADDR_SHIFT) & 0xFF;

	if (!(val & EERD_START)) {
		e->regs[idx] = val & 0xFF00;
		return;
	}
	/* The read completes at once: DONE with the data (0 past the 64 words). */
	e->regs[idx] = addr << EERD_ADDR_SHIFT | EERD_DONE |
		       (uint32_t)(addr < E1000_EEPROM_WORDS ? e->eeprom[addr] : 0)
			       << EERD_DATA_SHIFT;
}

/* ---- PHY ---- */

static void e1000_phy_reset(struct e1000 *e)
{
	static const uint16_t defaults[E1000_PHY_REGS] = {
		[PHY_CTRL] = 0x1140, /* autoneg enabled, full duplex, 1000 Mb/s */
		[PHY_ID1] = 0x0141,	   [PHY_ID2] = 0x0C20,
		[PHY_ANAR] = 0x01E1,	   [PHY_NPTX] = 0x2001,
		[PHY_1000T_CTRL] = 0x0300, [PHY_EXT_STATUS] = 0x3000, /* 1000BASE-T FD/HD */
		[PHY_M88_PSCR] = 0x0068,   [PHY_M88_EPSCR] = 0x0D60,
	};

	memcpy(e->phy, defaults, sizeof(e->phy));
}

static uint16_t e1000_phy_read(struct e1000 *e, unsigned int r)
{
	bool up = e->backend_link;
	uint16_t v;

	switch (r) {
	case PHY_STATUS:
		v = PHY_STATUS_BASE;
		if (up)
			v |= PHY_STATUS_LINK;
		if (up && (e->phy[PHY_CTRL] & PHY_CTRL_ANEG_EN))
			v |= PHY_STATUS_ANEG_DONE;
		return v;
	case PHY_LPAR: return up ? PHY_LPAR_UP : 0;
	case PHY_ANER: return up ? 0x0001 : 0; /* partner autoneg able */
	case PHY_1000T_STATUS: return up ? PHY_1000T_UP : 0;
	case PHY_M88_PSSR: return up ? PHY_PSSR_UP : 0;
	case PHY_M88_RXERR: return 0;
	default: return e->phy[r];
	}
}

static void e1000_phy_write(struct e1000 *e, unsigned int r, uint16_t v)
{
	switch (r) {
	case PHY_CTRL:
		/* Reset and autoneg restart complete at once (self-clearing). */
		e->phy[r] = v & (uint16_t) ~(PHY_CTRL_RESET | PHY_CTRL_ANEG_RESTART);
		break;
	case PHY_STATUS:
	case PHY_ID1:
	case PHY_ID2:
	case PHY_LPAR:
	case PHY_ANER:
	case PHY_1000T_STATUS:
	case PHY_EXT_STATUS:
	case PHY_M88_PSSR:
	case PHY_M88_RXERR: break; /* read-only */
	default: e->phy[r] = v; break;
	}
}

static void e1000_wr_mdic(struct e1000 *e, unsigned int idx, uint32_t val)
{
	unsigned int phy = (val >> MDIC_PHY_SHIFT) & 0x1F, r = (val >> MDIC_REG_SHIFT) & 0x1F;
	uint32_t op = val & MDIC_OP_MASK;

	val &= ~(MDIC_READY | MDIC_ERROR);
	if (phy != E1000_PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
		val |= MDIC_ERROR;
	} else if (op == MDIC_OP_READ) {
		val = (val & ~MDIC_DATA_MASK) | e1000_phy_read(e, r);
	} else {
		e1000_phy_write(e, r, (uint16_t)val);
	}
	e->regs[idx] = val | MDIC_READY;
	if (val & MDIC_INT_EN)
		e1000_raise(e, ICR_MDAC, false);
}

/* ---- reset ---- */

static void e1000_reset(struct e1000 *e)
{
	memset(e->regs, 0, sizeof(e->regs));
	e->regs[R(E1000_CTRL)] = CTRL_FD | CTRL_ASDE | CTRL_SLU | CTRL_SPD_1000;
	e->regs[R(E1000_EECD)] = EECD_FWE_DIS;
	e->regs[R(E1000_VET)] = 0x8100;
	e->regs[R(E1000_LEDCTL)] = 0x07068302;
	e->regs[R(E1000_PBA)] = 0x00100030; /* 48 KB RX, 16 KB TX */
	e->regs[R(E1000_RXCSUM)] = RXCSUM_IPOFLD | RXCSUM_TUOFLD;
	/* RAR0 comes from the EEPROM's MAC address. */
	e->regs[R(E1000_RA)] = (uint32_t)e->eeprom[0] | (uint32_t)e->eeprom[1] << 16;
	e->regs[R(E1000_RA) + 1] = (uint32_t)e->eeprom[2] | RAH_AV;
	e1000_phy_reset(e);
	e->ee = (struct e1000_eeprom_bb){ .state = EE_IDLE };
	e->pending = 0;
	e->rx_timed = false;
	e->tx_timed = false;
	e->csum_ctx_valid = false;
	e->tso_ctx_valid = false;
	memset(&e->txf, 0, sizeof(e->txf));
	e->lu = e->backend_link; /* CTRL.SLU is set: no LSC for the reset itself */
	e1000_update_intx(e);
	/* rx_stalled survives: the backend still waits for a resume. */
}

/* ---- TX ---- */

/* Inserts ~sum over [css, cse] (cse 0: to the end) at cso. False when out of range. */
static bool csum_insert(uint8_t *p, uint32_t len, uint32_t css, uint32_t cso, uint32_t cse,
			uint32_t add, bool udp)
{
	uint32_t end = (cse == 0 || cse >= len) ? len : cse + 1;
	uint16_t c;

	if (css >= end || cso > len - 2 || len < 2)
		return false;
	c = (uint16_t)~csum_fold(csum_add(add, p + css, end - css));
	if (udp && c == 0)
		c = 0xFFFF;
	put_be16(p + cso, c);
	return true;
}

static bool eth_is_bcast(const uint8_t *da)
{
	static const uint8_t bc[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(da, bc, ETH_ALEN) == 0;
}

static void e1000_count_size(struct e1000 *e, uint32_t base, uint32_t wire_len)
{
	static const uint32_t limits[] = { 64, 127, 255, 511, 1023, 1522 };

	for (unsigned int i = 0; i < ARRAY_SIZE(limits); i++) {
		if (wire_len <= limits[i]) {
			stat_inc(e, base + 4 * i, 1);
			return;
		}
	}
}

/*
 * Hands one frame to the backend, inserting an 802.1Q tag after the
 * addresses when `vlan` and padding to 60 bytes when TCTL.PSP. e->lock held.
 */
static void e1000_tx_send(struct e1000 *e, const uint8_t *frame, uint32_t len, bool vlan,
			  uint16_t tci)
{
	static const uint8_t zeros[ETH_ZLEN];
	uint8_t tag[VLAN_HLEN];
	struct iovec iov[4];
	uint32_t total = len;
	int n = 0, ret;

	if (vlan) {
		put_be16(tag, (uint16_t)reg(e, E1000_VET));
		put_be16(tag + 2, tci);
		iov[n++] = (struct iovec){ .iov_base = (void *)frame, .iov_len = 12 };
		iov[n++] = (struct iovec){ .iov_base = tag, .iov_len = VLAN_HLEN };
		iov[n++] = (struct iovec){ .iov_base = (void *)(frame + 12), .iov_len = len - 12 };
		total += VLAN_HLEN;
	} else {
		iov[n++] = (struct iovec){ .iov_base = (void *)frame, .iov_len = len };
	}
	if ((reg(e, E1000_TCTL) & TCTL_PSP) && total < ETH_ZLEN) {
		iov[n++] = (struct iovec){ .iov_base = (void *)zeros, .iov_len = ETH_ZLEN - total };
		total = ETH_ZLEN;
	}
	e->tx_sends++;
	ret = netdev_send(e->nd, iov, n);
	if (ret < 0) {
		e->stats.tx_dropped++;
		log_debug("%s: backend did not take a %u-byte frame: %s", e->name, total,
			  strerror(-ret));
		return;
	}
	e->stats.tx_frames++;
	stat_inc(e, E1000_GPTC, 1);
	stat_inc(e, E1000_TPT, 1);
	stat_add64(e, E1000_GOTCL, total + ETH_FCS_LEN);
	stat_add64(e, E1000_TOTL, total + ETH_FCS_LEN);
	e1000_count_size(e, E1000_PTC64, total + ETH_FCS_LEN);
	if (eth_is_bcast(frame))
		stat_inc(e, E1000_BPTC, 1);
	else if (frame[0] & 1)
		stat_inc(e, E1000_MPTC, 1);
}

/* Checks a TSO context against the gathered frame; logs what is wrong. */
static bool e1000_tso_valid(struct e1000 *e, const struct e1000_tx_ctx *c, uint32_t len)
{
	bool tcp = c->tucmd & TUCMD_TCP, ipv4 = c->tucmd & TUCMD_IP;
	uint32_t h = c->hdrlen;
	const char *why = NULL;

	if (!h || !c->mss)
		why = "HDRLEN or MSS is 0";
	else if (h >= len)
		why = "HDRLEN covers the whole frame";
	else if (h + (uint32_t)c->mss > E1000_MAX_TX_FRAME)
		why = "HDRLEN + MSS is over 16 KiB";
	else if ((uint32_t)c->ipcss + (ipv4 ? 20u : 40u) > h)
		why = "the IP header is not inside HDRLEN";
	else if ((uint32_t)c->tucss + (tcp ? 20u : 8u) > h || c->tucss < c->ipcss)
		why = "the TCP/UDP header is not inside HDRLEN";
	else if ((uint32_t)c->tucso + 2 > h || (ipv4 && (uint32_t)c->ipcso + 2 > h))
		why = "a checksum offset is outside HDRLEN";
	if (why)
		log_warn_rl("%s: TSO frame of %u bytes refused (HDRLEN %u, MSS %u): %s", e->name,
			    len, h, c->mss, why);
	return !why;
}

/* Segments the gathered TSO frame and sends each segment. e->lock held. */
static void e1000_tx_tso(struct e1000 *e, uint32_t len, uint8_t popts, bool vlan, uint16_t tci)
{
	const struct e1000_tx_ctx *c = &e->tso_ctx;
	bool tcp = c->tucmd & TUCMD_TCP, ipv4 = c->tucmd & TUCMD_IP;
	const uint8_t *src = e->tx_buf;
	uint8_t *seg = e->seg_buf;
	uint32_t h = c->hdrlen, payload, off, segno = 0;
	uint16_t ip_id;
	uint32_t seq;

	if (!e1000_tso_valid(e, c, len)) {
		guest_error(e);
		stat_inc(e, E1000_TSCTFC, 1);
		return;
	}
	payload = len - h;
	ip_id = get_be16(src + c->ipcss + 4);
	seq = tcp ? get_be32(src + c->tucss + 4) : 0;
	stat_inc(e, E1000_TSCTC, 1);
	/* At most 64 KiB / MSS segments: the loop is bounded by the payload. */
	for (off = 0; off < payload; segno++) {
		uint32_t chunk = MIN((uint32_t)c->mss, payload - off), slen = h + chunk;
		bool last = off + chunk == payload;

		memcpy(seg, src, h);
		memcpy(seg + h, src + h + off, chunk);
		if (ipv4) {
			put_be16(seg + c->ipcss + 2, (uint16_t)(slen - c->ipcss));
			put_be16(seg + c->ipcss + 4, (uint16_t)(ip_id + segno));
		} else {
			put_be16(seg + c->ipcss + 4, (uint16_t)(slen - c->ipcss - 40));
		}
		if (tcp) {
			put_be32(seg + c->tucss + 4, seq + off);
			if (!last)
				seg[c->tucss + 13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		} else {
			put_be16(seg + c->tucss + 4, (uint16_t)(slen - c->tucss));
		}
		if ((popts & POPTS_IXSM) && ipv4) {
			put_be16(seg + c->ipcso, 0);
			(void)csum_insert(seg, slen, c->ipcss, c->ipcso, c->ipcse, 0, false);
		}
		/* The driver left the pseudo-header sum without the length: add it. */
		if (popts & POPTS_TXSM)
			(void)csum_insert(seg, slen, c->tucss, c->tucso, c->tucse, slen - c->tucss,
					  !tcp);
		e1000_tx_send(e, seg, slen, vlan, tci);
		off += chunk;
	}
}

/* The gathered frame is complete (EOP): offload and send it. e->lock held. */
static void e1000_tx_frame_done(struct e1000 *e, uint8_t cmd, uint8_t cso, uint16_t special)
{
	struct e1000_tx_frame *f = &e->txf;
	bool vlan = (cmd & TXD_VLE) && (reg(e, E1000_CTRL) & CTRL_VME);
	uint32_t len = f->len;

	if (f->bad)
		return;
	if (len == 0)
		return; /* null descriptors only: nothing to send */
	if (len < ETH_HLEN) {
		guest_error(e);
		log_warn_rl("%s: TX frame of %u bytes refused (no Ethernet header)", e->name, len);
		return;
	}
	if (f->tse) {
		e1000_tx_tso(e, len, f->popts, vlan, special);
		return;
	}
	if (f->legacy) {
		if ((cmd & TXD_IC) && !csum_insert(e->tx_buf, len, f->css, cso, 0, 0, false))
			guest_error(e); /* IC ignored: CSS or CSO out of range */
	} else {
		const struct e1000_tx_ctx *c = &e->csum_ctx;
		bool udp = !(c->tucmd & TUCMD_TCP);

		if ((f->popts & POPTS_IXSM) &&
		    !csum_insert(e->tx_buf, len, c->ipcss, c->ipcso, c->ipcse, 0, false))
			guest_error(e);
		if ((f->popts & POPTS_TXSM) &&
		    !csum_insert(e->tx_buf, len, c->tucss, c->tucso, c->tucse, 0, udp))
			guest_error(e);
	}
	e1000_tx_send(e, e->tx_buf, len, vlan, special);
}

static void e1000_tx_refuse(struct e1000 *e, const char *why)
{
	if (!e->txf.bad) {
		guest_error(e);
		log_warn_rl("%s: TX frame refused: %s", e->name, why);
	}
	e->txf.bad = true;
}

/* A legacy or data descriptor: gather its buffer into the frame. e->lock held. */
static void e1000_tx_data(struct e1000 *e, uint64_t addr, uint32_t blen, uint8_t cmd, uint8_t popts,
			  uint8_t css, uint8_t cso, uint16_t special, bool legacy, uint32_t ring_n)
{
	struct e1000_tx_frame *f = &e->txf;
	bool tse = !legacy && (cmd & TXD_TSE);
	uint32_t limit;

	if (!f->active) {
		*f = (struct e1000_tx_frame){
			.active = true,
			.legacy = legacy,
			.tse = tse,
			.popts = legacy ? 0 : popts,
			.css = legacy ? css : 0,
		};
		if (tse && !e->tso_ctx_valid)
			e1000_tx_refuse(e, "TSE data descriptor without a TSO context");
		else if (!legacy && !tse && (popts & (POPTS_IXSM | POPTS_TXSM)) &&
			 !e->csum_ctx_valid)
			e1000_tx_refuse(e, "checksum offload without a context descriptor");
	} else if (f->legacy != legacy) {
		e1000_tx_refuse(e, "legacy and extended descriptors mixed in one frame");
	} else if (f->tse != tse) {
		e1000_tx_refuse(e, "TSE changes inside a frame");
	}
	if (++f->ndesc > ring_n)
		e1000_tx_refuse(e, "descriptor chain without EOP longer than the ring");
	limit = f->tse ? E1000_MAX_TSO_FRAME : E1000_MAX_TX_FRAME;
	if (!f->bad && blen) {
		if (blen > limit - f->len)
			e1000_tx_refuse(e, f->tse ? "TSO frame over 64 KiB plus header"
						  : "frame over 16 KiB");
		else if (gm_read(e->mem, addr, e->tx_buf + f->len, blen) < 0)
			e1000_tx_refuse(e, "buffer outside guest RAM");
		else
			f->len += blen;
	}
	if (cmd & TXD_EOP) {
		e1000_tx_frame_done(e, cmd, cso, special);
		memset(f, 0, sizeof(*f));
	}
}

static void e1000_tx_context(struct e1000 *e, const uint8_t *d)
{
	uint32_t lower = get_le32(d + 8), upper = get_le32(d + 12);
	struct e1000_tx_ctx c = {
		.ipcss = d[0],
		.ipcso = d[1],
		.ipcse = (uint16_t)(d[2] | d[3] << 8),
		.tucss = d[4],
		.tucso = d[5],
		.tucse = (uint16_t)(d[6] | d[7] << 8),
		.paylen = lower & 0xFFFFF,
		.tucmd = (uint8_t)(lower >> 24),
		.hdrlen = (uint8_t)(upper >> 8),
		.mss = (uint16_t)(upper >> 16),
	};

	if (e->txf.active)
		e1000_tx_refuse(e, "context descriptor inside a frame");
	if (c.tucmd & TXD_TSE) {
		e->tso_ctx = c;
		e->tso_ctx_valid = true;
	} else {
		e->csum_ctx = c;
		e->csum_ctx_valid = true;
	}
}

/*
 * Processes one descriptor; returns its command byte (for RS/IDE). e->lock held.
 */
static uint8_t e1000_tx_desc(struct e1000 *e, const uint8_t *d, uint32_t ring_n)
{
	uint64_t addr = get_le64(d);
	uint32_t lower = get_le32(d + 8), upper = get_le32(d + 12);
	uint8_t cmd = (uint8_t)(lower >> 24);
	uint16_t special = (uint16_t)(upper >> 16);

	if (!(cmd & TXD_DEXT)) {
		e1000_tx_data(e, addr, lower & 0xFFFF, cmd, 0, (uint8_t)(upper >> 8),
			      (uint8_t)(lower >> 16), special, true, ring_n);
		return cmd;
	}
	switch ((lower >> 20) & 0xF) {
	case TXD_DTYP_CTX: e1000_tx_context(e, d); break;
	case TXD_DTYP_DATA:
		e1000_tx_data(e, addr, lower & 0xFFFFF, cmd, (uint8_t)(upper >> 8), 0, 0, special,
			      false, ring_n);
		break;
	default:
		guest_error(e);
		log_warn_rl("%s: TX descriptor type %u refused", e->name, (lower >> 20) & 0xF);
		if (e->txf.active)
			e1000_tx_refuse(e, "bad descriptor type inside a frame");
		break;
	}
	return cmd;
}

/* Guest ring address of descriptor i, or false on overflow. */
static bool ring_addr(uint32_t bal, uint32_t bah, uint32_t i, uint64_t *gpa)
{
	uint64_t base = (uint64_t)bah << 32 | bal;

	return !add_overflows_u64(base, (uint64_t)i * DESC_SIZE, gpa);
}

/*
 * Sends everything between TDH and TDT, at most one ring's worth per call
 * (TDH moves towards TDT and cannot pass it). e->lock held.
 */
static void e1000_tx_run(struct e1000 *e)
{
	uint32_t n = reg(e, E1000_TDLEN) / DESC_SIZE;
	uint32_t head = reg(e, E1000_TDH), tail = reg(e, E1000_TDT), budget;
	uint32_t causes = 0;
	bool ide = false;

	if (!(reg(e, E1000_TCTL) & TCTL_EN) || !e->bus_master || head == tail)
		return;
	if (n == 0 || head >= n || tail >= n) {
		guest_error(e);
		log_warn_rl("%s: TX ring refused: TDLEN %u, TDH %u, TDT %u", e->name,
			    reg(e, E1000_TDLEN), head, tail);
		return;
	}
	e->tx_sends = 0;
	for (budget = n; head != tail && budget; budget--) {
		uint8_t d[DESC_SIZE], cmd;
		uint64_t gpa;

		if (e->tx_sends >= E1000_TX_BUDGET) {
			guest_error(e);
			log_warn_rl("%s: over %u frames in one doorbell: the rest waits for the "
				    "next TDT write",
				    e->name, E1000_TX_BUDGET);
			break;
		}

		if (!ring_addr(reg(e, E1000_TDBAL), reg(e, E1000_TDBAH), head, &gpa) ||
		    gm_read(e->mem, gpa, d, sizeof(d)) < 0) {
			guest_error(e);
			log_warn_rl("%s: TX descriptor %u outside guest RAM: queue stopped",
				    e->name, head);
			break;
		}
		cmd = e1000_tx_desc(e, d, n);
		if (cmd & (TXD_RS | TXD_RPS)) {
			uint8_t sta = d[12] | TXD_STA_DD;

			if (gm_write(e->mem, gpa + 12, &sta, 1) < 0)
				guest_error(e);
			causes |= ICR_TXDW;
			ide |= !!(cmd & TXD_IDE);
		}
		head = (head + 1) % n;
		e->regs[R(E1000_TDH)] = head;
	}
	if (head == tail)
		causes |= ICR_TXQE;
	if (causes)
		e1000_raise_tx(e, causes, ide, false);
}

/* ---- RX ---- */

static uint32_t e1000_rx_bufsize(uint32_t rctl)
{
	static const uint32_t sizes[2][4] = { { 2048, 1024, 512, 256 },
					      { 2048, 16384, 8192, 4096 } };

	return sizes[!!(rctl & RCTL_BSEX)][(rctl >> RCTL_BSIZE_SHIFT) & 3];
}

/* 12-bit multicast hash per RCTL.MO (destination address bits 47:36 ... 43:32). */
static uint32_t e1000_mta_hash(const uint8_t *da, uint32_t mo)
{
	static const unsigned int shift[4] = { 4, 3, 2, 0 };

	return ((da[4] >> shift[mo]) | (uint32_t)da[5] << (8 - shift[mo])) & 0xFFF;
}

static bool e1000_rx_addr_ok(struct e1000 *e, const uint8_t *da)
{
	uint32_t rctl = reg(e, E1000_RCTL), h;
	bool mcast = da[0] & 1;

	for (unsigned int i = 0; i < E1000_RA_ENTRIES; i++) {
		uint32_t ral = e->regs[R(E1000_RA) + 2 * i], rah = e->regs[R(E1000_RA) + 2 * i + 1];

		if ((rah & RAH_AV) && !(rah & RAH_AS_MASK) && ral == get_le32(da) &&
		    (rah & 0xFFFF) == (uint32_t)(da[4] | da[5] << 8))
			return true;
	}
	if (!mcast)
		return rctl & RCTL_UPE;
	if (eth_is_bcast(da) && (rctl & RCTL_BAM))
		return true;
	if (rctl & RCTL_MPE)
		return true;
	h = e1000_mta_hash(da, (rctl >> RCTL_MO_SHIFT) & 3);
	return e->regs[R(E1000_MTA) + (h >> 5)] & (1u << (h & 31));
}

/* Checksum status for the descriptor (RXCSUM.IPOFLD/TUOFLD, IPv4 only as on the 82540). */
static void e1000_rx_csum(struct e1000 *e, const uint8_t *p, uint32_t len, uint8_t *status,
			  uint8_t *errors)
{
	uint32_t rxcsum = reg(e, E1000_RXCSUM), ip = ETH_HLEN, ihl, tot, l4len;
	uint16_t type;
	uint64_t sum;
	uint8_t proto;

	if (!(rxcsum & (RXCSUM_IPOFLD | RXCSUM_TUOFLD))) {
		*status |= RXD_IXSM;
		return;
	}
	type = get_be16(p + 12);
	if (type == (reg(e, E1000_VET) & 0xFFFF) && len >= ETH_HLEN + VLAN_HLEN) {
		type = get_be16(p + 16);
		ip += VLAN_HLEN;
	}
	if (type != ETH_P_IPV4 || len < ip + 20 || (p[ip] >> 4) != 4)
		return;
	ihl = (p[ip] & 0xF) * 4u;
	if (ihl < 20 || ip + ihl > len)
		return;
	if (rxcsum & RXCSUM_IPOFLD) {
		*status |= RXD_IPCS;
		if (csum_fold(csum_add(0, p + ip, ihl)) != 0xFFFF)
			*errors |= RXE_IPE;
	}
	tot = get_be16(p + ip + 2);
	proto = p[ip + 9];
	if (!(rxcsum & RXCSUM_TUOFLD) || tot < ihl || ip + tot > len ||
	    (get_be16(p + ip + 6) & 0x3FFF))
		return; /* no L4 check: truncated, or a fragment */
	l4len = tot - ihl;
	if (!((proto == IPPROTO_TCP_ && l4len >= 20) || (proto == IPPROTO_UDP_ && l4len >= 8)))
		return;
	if (proto == IPPROTO_UDP_ && get_be16(p + ip + ihl + 6) == 0)
		return; /* UDP without a checksum */
	sum = csum_add(0, p + ip + 12, 8) + proto + l4len;
	sum = csum_add(sum, p + ip + ihl, l4len);
	*status |= RXD_TCPCS;
	if (csum_fold(sum) != 0xFFFF)
		*errors |= RXE_TCPE;
}

static void e1000_rx_count(struct e1000 *e, const uint8_t *da, uint32_t wire_len)
{
	e->stats.rx_frames++;
	stat_inc(e, E1000_GPRC, 1);
	stat_inc(e, E1000_TPR, 1);
	stat_add64(e, E1000_GORCL, wire_len);
	stat_add64(e, E1000_TORL, wire_len);
	e1000_count_size(e, E1000_PRC64, wire_len);
	if (eth_is_bcast(da))
		stat_inc(e, E1000_BPRC, 1);
	else if (da[0] & 1)
		stat_inc(e, E1000_MPRC, 1);
}

/*
 * Delivers one frame (already copied into e->rx_buf, `len` bytes) to the
 * guest's RX ring. Returns the bytes taken, 0 when the ring has no room for
 * the whole frame, or -errno when the frame is dropped. e->lock held.
 */
static ssize_t e1000_rx_frame(struct e1000 *e, uint32_t len, size_t orig_len)
{
	uint32_t rctl = reg(e, E1000_RCTL), vet = reg(e, E1000_VET) & 0xFFFF;
	uint32_t n = reg(e, E1000_RDLEN) / DESC_SIZE, head = reg(e, E1000_RDH),
		 tail = reg(e, E1000_RDT);
	uint32_t pcss = reg(e, E1000_RXCSUM) & RXCSUM_PCSS_MASK;
	uint32_t bufsize, dlen, total, need, avail, fcs, thr, rdmts;
	uint64_t bufs[E1000_RX_MAX_DESCS];
	uint8_t *p = e->rx_buf, status = 0, errors = 0;
	uint16_t special = 0, pcsum = 0;
	bool tagged, strip;

	if (len < ETH_ZLEN) { /* the wire's minimum: pad */
		memset(p + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	tagged = get_be16(p + 12) == vet;
	if (len > (rctl & RCTL_LPE ? E1000_MAX_RX_FRAME
				   : E1000_MAX_STD_FRAME + (tagged ? VLAN_HLEN : 0))) {
		stat_inc(e, E1000_ROC, 1);
		e->stats.rx_filtered++;
		return -EMSGSIZE;
	}
	if ((rctl & RCTL_VFE) && tagged) {
		uint32_t vid = get_be16(p + 14) & 0xFFF;

		if (!(e->regs[R(E1000_VFTA) + (vid >> 5)] & (1u << (vid & 31)))) {
			e->stats.rx_filtered++;
			return -ENOENT;
		}
	}
	if (!e1000_rx_addr_ok(e, p)) {
		e->stats.rx_filtered++;
		return -ENOENT;
	}

	/* Room for the whole frame (FCS included unless stripped), or nothing is touched. */
	strip = tagged && (reg(e, E1000_CTRL) & CTRL_VME);
	fcs = rctl & RCTL_SECRC ? 0 : ETH_FCS_LEN;
	dlen = len - (strip ? VLAN_HLEN : 0);
	total = dlen + fcs;
	bufsize = e1000_rx_bufsize(rctl);
	need = (total + bufsize - 1) / bufsize;
	if (n && (head >= n || tail >= n)) {
		guest_error(e);
		log_warn_rl("%s: RX ring refused: RDLEN %u, RDH %u, RDT %u", e->name,
			    reg(e, E1000_RDLEN), head, tail);
		return -EINVAL;
	}
	avail = n ? (tail + n - head) % n : 0;
	if (need > avail) {
		stat_inc(e, E1000_RNBC, 1);
		stat_inc(e, E1000_MPC, 1);
		e->stats.rx_no_buffer++;
		e->rx_stalled = true;
		e1000_raise(e, ICR_RXO, true);
		return 0;
	}
	for (uint32_t i = 0; i < need; i++) {
		uint32_t chunk = MIN(bufsize, total - i * bufsize);
		uint8_t a[8];
		uint64_t gpa;

		if (!ring_addr(reg(e, E1000_RDBAL), reg(e, E1000_RDBAH), (head + i) % n, &gpa) ||
		    gm_read(e->mem, gpa, a, sizeof(a)) < 0) {
			guest_error(e);
			log_warn_rl("%s: RX descriptor %u outside guest RAM", e->name,
				    (head + i) % n);
			return -EFAULT;
		}
		bufs[i] = get_le64(a);
		if (!gm_translate(e->mem, bufs[i], chunk)) {
			guest_error(e);
			log_warn_rl("%s: RX buffer %#llx+%u outside guest RAM", e->name,
				    (unsigned long long)bufs[i], chunk);
			return -EFAULT;
		}
	}

	e1000_rx_count(e, p, len + ETH_FCS_LEN);
	if (fcs) {
		/* The FCS of the frame as it was on the wire, tag included. */
		uint32_t crc = eth_crc(p, len);

		for (unsigned int i = 0; i < ETH_FCS_LEN; i++)
			p[len + i] = (uint8_t)(crc >> (8 * i));
	}
	if (strip) {
		special = get_be16(p + 14);
		memmove(p + 12, p + 16, len + fcs - 16);
	}
	e1000_rx_csum(e, p, dlen, &status, &errors);
	if (pcss < dlen)
		pcsum = csum_fold(csum_add(0, p + pcss, dlen - pcss));
	for (uint32_t i = 0; i < need; i++) {
		uint32_t chunk = MIN(bufsize, total - i * bufsize);
		bool last = i + 1 == need;
		uint8_t wb[8];
		uint64_t gpa;

		(void)ring_addr(reg(e, E1000_RDBAL), reg(e, E1000_RDBAH), (head + i) % n, &gpa);
		if (gm_write(e->mem, bufs[i], p + i * bufsize, chunk) < 0)
			guest_error(e); /* checked above: cannot happen */
		put_le16(wb, (uint16_t)chunk);
		put_le16(wb + 2, pcsum);
		wb[4] = (uint8_t)(RXD_DD | (last ? RXD_EOP | status : 0) | (strip ? RXD_VP : 0));
		wb[5] = last ? errors : 0;
		put_le16(wb + 6, special);
		if (gm_write(e->mem, gpa + 8, wb, sizeof(wb)) < 0)
			guest_error(e);
	}
	e->regs[R(E1000_RDH)] = (head + need) % n;

	rdmts = (rctl >> RCTL_RDMTS_SHIFT) & 3;
	thr = rdmts < 3 ? n >> (rdmts + 1) : 0;
	e1000_raise_rx(e, avail - need <= thr ? ICR_RXDMT0 : 0, true);
	return (ssize_t)orig_len;
}

static ssize_t e1000_receive(void *opaque, const struct iovec *iov, int iovcnt)
{
	struct e1000 *e = opaque;
	size_t len = 0;
	ssize_t ret;

	for (int i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > E1000_MAX_RX_FRAME || len > E1000_MAX_RX_FRAME) {
			len = E1000_MAX_RX_FRAME + 1;
			break;
		}
		len += iov[i].iov_len;
	}
	pthread_mutex_lock(&e->lock);
	if (e->broken || !(reg(e, E1000_RCTL) & RCTL_EN) || !e->bus_master) {
		ret = -ENETDOWN;
	} else if (len > E1000_MAX_RX_FRAME) {
		stat_inc(e, E1000_ROC, 1);
		e->stats.rx_filtered++;
		ret = -EMSGSIZE;
	} else if (len < ETH_HLEN) {
		stat_inc(e, E1000_RUC, 1);
		e->stats.rx_filtered++;
		ret = -EINVAL;
	} else {
		size_t off = 0;

		for (int i = 0; i < iovcnt; i++) {
			memcpy(e->rx_buf + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		ret = e1000_rx_frame(e, (uint32_t)len, len);
	}
	pthread_mutex_unlock(&e->lock);
	return ret;
}

static void e1000_link_changed(void *opaque, bool up)
{
	struct e1000 *e = opaque;

	pthread_mutex_lock(&e->lock);
	e->backend_link = up;
	e1000_link_update(e, true, true);
	pthread_mutex_unlock(&e->lock);
}

/* ---- register handlers ---- */

typedef uint32_t (*e1000_rd_fn)(struct e1000 *e, unsigned int idx);
typedef void (*e1000_wr_fn)(struct e1000 *e, unsigned int idx, uint32_t val);

static uint32_t e1000_rd_reg(struct e1000 *e, unsigned int idx)
{
	return e->regs[idx];
}

static uint32_t e1000_rd_zero(struct e1000 *e, unsigned int idx)
{
	return 0; /* write-only registers */
}

static void e1000_wr_reg(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] = val;
}

static uint32_t e1000_rd_status(struct e1000 *e, unsigned int idx)
{
	return STATUS_FD | STATUS_SPEED_1000 | STATUS_ASDV_1000 | (e->lu ? STATUS_LU : 0);
}

static void e1000_wr_ctrl(struct e1000 *e, unsigned int idx, uint32_t val)
{
	uint32_t old = e->regs[idx];

	if (val & CTRL_RST) {
		e1000_reset(e);
		return;
	}
	if ((val & CTRL_PHY_RST) && !(old & CTRL_PHY_RST))
		e1000_phy_reset(e);
	e->regs[idx] = val;
	e1000_link_update(e, true, false);
}

static void e1000_wr_ctrl_ext(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] = val & ~CTRL_EXT_EE_RST; /* EEPROM reload: done at once */
}

static uint32_t e1000_rd_icr(struct e1000 *e, unsigned int idx)
{
	uint32_t v = e->regs[idx];

	e->regs[idx] = 0;
	e1000_update_intx(e);
	return v;
}

static void e1000_wr_icr(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] &= ~val;
	e1000_update_intx(e);
}

static void e1000_wr_ics(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e1000_raise(e, val, false);
}

static void e1000_wr_ims(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[R(E1000_IMS)] |= val & ICR_MASK;
	e1000_update_intx(e);
	e1000_mit_run(e, false);
}

static void e1000_wr_imc(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[R(E1000_IMS)] &= ~val;
	e1000_update_intx(e);
}

/* ITR, RADV, TADV and the delay timers: new values apply to what is pending. */
static void e1000_wr_mit(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] = val & 0xFFFF;
	if (val & DTR_FPD) { /* RDTR/TIDV flush: deliver what waits now */
		if (idx == R(E1000_RDTR))
			e->rx_timed = false;
		else
			e->tx_timed = false;
	}
	e1000_mit_run(e, false);
}

static void e1000_wr_ring_len(struct e1000 *e, unsigned int idx, uint32_t val)
{
	if (val % RING_ALIGN) {
		guest_error(e);
		log_warn_rl("%s: %s %#x is not a multiple of 128: low bits ignored", e->name,
			    idx == R(E1000_RDLEN) ? "RDLEN" : "TDLEN", val);
	}
	e->regs[idx] = val & 0xFFF80;
}

static void e1000_wr_rctl(struct e1000 *e, unsigned int idx, uint32_t val)
{
	uint32_t old = e->regs[idx];

	e->regs[idx] = val;
	if ((val & RCTL_EN) && !(old & RCTL_EN) && e->rx_stalled) {
		e->rx_stalled = false;
		e->resume_needed = true;
	}
}

static void e1000_wr_rdt(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] = val;
	if (e->rx_stalled) {
		e->rx_stalled = false;
		e->resume_needed = true;
	}
}

static void e1000_wr_tctl(struct e1000 *e, unsigned int idx, uint32_t val)
{
	uint32_t old = e->regs[idx];

	e->regs[idx] = val;
	if (!(val & TCTL_EN))
		memset(&e->txf, 0, sizeof(e->txf)); /* a half-gathered frame is lost */
	else if (!(old & TCTL_EN))
		e1000_tx_run(e);
}

static void e1000_wr_tdt(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] = val;
	e->stats.tx_tdt_writes++;
	e1000_tx_run(e);
}

/* Statistics: clear on read; a 64-bit pair clears when its high half is read. */
static uint32_t e1000_rd_stat(struct e1000 *e, unsigned int idx)
{
	uint32_t v = e->regs[idx];

	e->regs[idx] = 0;
	return v;
}

static uint32_t e1000_rd_stat_hi(struct e1000 *e, unsigned int idx)
{
	uint32_t v = e->regs[idx];

	e->regs[idx] = 0;
	e->regs[idx - 1] = 0;
	return v;
}

static void e1000_wr_w1c(struct e1000 *e, unsigned int idx, uint32_t val)
{
	e->regs[idx] &= ~val;
}

/* Designated initialisers by byte offset, single and ranges. */
/* clang-format off */
#define AT(off) [R(off)]
#define AT_RANGE(off, n) [R(off) ... R(off) + (n) - 1]
/* clang-format on */

static const e1000_rd_fn e1000_rd[E1000_NREGS] = {
	AT(E1000_CTRL) = e1000_rd_reg,
	AT(E1000_STATUS) = e1000_rd_status,
	AT(E1000_EECD) = e1000_rd_eecd,
	AT(E1000_EERD) = e1000_rd_reg,
	AT(E1000_CTRL_EXT) = e1000_rd_reg,
	AT(E1000_MDIC) = e1000_rd_reg,
	AT(E1000_FCAL) = e1000_rd_reg,
	AT(E1000_FCAH) = e1000_rd_reg,
	AT(E1000_FCT) = e1000_rd_reg,
	AT(E1000_VET) = e1000_rd_reg,
	AT(E1000_ICR) = e1000_rd_icr,
	AT(E1000_ITR) = e1000_rd_reg,
	AT(E1000_ICS) = e1000_rd_zero,
	AT(E1000_IMS) = e1000_rd_reg,
	AT(E1000_IMC) = e1000_rd_zero,
	AT(E1000_RCTL) = e1000_rd_reg,
	AT(E1000_FCTTV) = e1000_rd_reg,
	AT(E1000_TXCW) = e1000_rd_reg,
	AT(E1000_RXCW) = e1000_rd_reg,
	AT(E1000_TCTL) = e1000_rd_reg,
	AT(E1000_TIPG) = e1000_rd_reg,
	AT(E1000_AIFS) = e1000_rd_reg,
	AT(E1000_LEDCTL) = e1000_rd_reg,
	AT(E1000_PBA) = e1000_rd_reg,
	AT(E1000_FCRTL) = e1000_rd_reg,
	AT(E1000_FCRTH) = e1000_rd_reg,
	AT(E1000_RDFH) = e1000_rd_reg,
	AT(E1000_RDFT) = e1000_rd_reg,
	AT(E1000_RDFHS) = e1000_rd_reg,
	AT(E1000_RDFTS) = e1000_rd_reg,
	AT(E1000_RDFPC) = e1000_rd_reg,
	AT(E1000_RDBAL) = e1000_rd_reg,
	AT(E1000_RDBAH) = e1000_rd_reg,
	AT(E1000_RDLEN) = e1000_rd_reg,
	AT(E1000_RDH) = e1000_rd_reg,
	AT(E1000_RDT) = e1000_rd_reg,
	AT(E1000_RDTR) = e1000_rd_reg,
	AT(E1000_RXDCTL) = e1000_rd_reg,
	AT(E1000_RADV) = e1000_rd_reg,
	AT(E1000_RSRPD) = e1000_rd_reg,
	AT(E1000_TXDMAC) = e1000_rd_reg,
	AT(E1000_TDFH) = e1000_rd_reg,
	AT(E1000_TDFT) = e1000_rd_reg,
	AT(E1000_TDFHS) = e1000_rd_reg,
	AT(E1000_TDFTS) = e1000_rd_reg,
	AT(E1000_TDFPC) = e1000_rd_reg,
	AT(E1000_TDBAL) = e1000_rd_reg,
	AT(E1000_TDBAH) = e1000_rd_reg,
	AT(E1000_TDLEN) = e1000_rd_reg,
	AT(E1000_TDH) = e1000_rd_reg,
	AT(E1000_TDT) = e1000_rd_reg,
	AT(E1000_TIDV) = e1000_rd_reg,
	AT(E1000_TXDCTL) = e1000_rd_reg,
	AT(E1000_TADV) = e1000_rd_reg,
	AT(E1000_TSPMT) = e1000_rd_reg,
	AT_RANGE(E1000_STATS, 34) = e1000_rd_stat, /* 0x4000-0x4084 */
	AT(E1000_GORCL) = e1000_rd_reg,
	AT(E1000_GORCH) = e1000_rd_stat_hi,
	AT(E1000_GOTCL) = e1000_rd_reg,
	AT(E1000_GOTCH) = e1000_rd_stat_hi,
	AT_RANGE(E1000_RNBC - 8, 10) = e1000_rd_stat, /* 0x4098-0x40BC */
	AT(E1000_TORL) = e1000_rd_reg,
	AT(E1000_TORH) = e1000_rd_stat_hi,
	AT(E1000_TOTL) = e1000_rd_reg,
	AT(E1000_TOTH) = e1000_rd_stat_hi,
	AT_RANGE(E1000_TPR, 12) = e1000_rd_stat, /* 0x40D0-0x40FC */
	AT(E1000_RXCSUM) = e1000_rd_reg,
	AT_RANGE(E1000_MTA, 128) = e1000_rd_reg,
	AT_RANGE(E1000_RA, 32) = e1000_rd_reg,
	AT_RANGE(E1000_VFTA, 128) = e1000_rd_reg,
	AT(E1000_WUC) = e1000_rd_reg,
	AT(E1000_WUFC) = e1000_rd_reg,
	AT(E1000_WUS) = e1000_rd_reg,
	AT(E1000_MANC) = e1000_rd_reg,
	AT(E1000_IPAV) = e1000_rd_reg,
	AT(E1000_IP4AT) = e1000_rd_reg,
	AT(E1000_IP4AT + 8) = e1000_rd_reg,
	AT(E1000_IP4AT + 16) = e1000_rd_reg,
	AT(E1000_IP4AT + 24) = e1000_rd_reg,
	AT_RANGE(E1000_IP6AT, 4) = e1000_rd_reg,
	AT(E1000_WUPL) = e1000_rd_reg,
	AT_RANGE(E1000_WUPM, 32) = e1000_rd_reg,
};

/* A known register without a write handler is read-only: writes are ignored. */
static const e1000_wr_fn e1000_wr[E1000_NREGS] = {
	AT(E1000_CTRL) = e1000_wr_ctrl,
	AT(E1000_EECD) = e1000_wr_eecd,
	AT(E1000_EERD) = e1000_wr_eerd,
	AT(E1000_CTRL_EXT) = e1000_wr_ctrl_ext,
	AT(E1000_MDIC) = e1000_wr_mdic,
	AT(E1000_FCAL) = e1000_wr_reg,
	AT(E1000_FCAH) = e1000_wr_reg,
	AT(E1000_FCT) = e1000_wr_reg,
	AT(E1000_VET) = e1000_wr_reg,
	AT(E1000_ICR) = e1000_wr_icr,
	AT(E1000_ITR) = e1000_wr_mit,
	AT(E1000_ICS) = e1000_wr_ics,
	AT(E1000_IMS) = e1000_wr_ims,
	AT(E1000_IMC) = e1000_wr_imc,
	AT(E1000_RCTL) = e1000_wr_rctl,
	AT(E1000_FCTTV) = e1000_wr_reg,
	AT(E1000_TXCW) = e1000_wr_reg,
	AT(E1000_TCTL) = e1000_wr_tctl,
	AT(E1000_TIPG) = e1000_wr_reg,
	AT(E1000_AIFS) = e1000_wr_reg,
	AT(E1000_LEDCTL) = e1000_wr_reg,
	AT(E1000_PBA) = e1000_wr_reg,
	AT(E1000_FCRTL) = e1000_wr_reg,
	AT(E1000_FCRTH) = e1000_wr_reg,
	AT(E1000_RDFH) = e1000_wr_reg,
	AT(E1000_RDFT) = e1000_wr_reg,
	AT(E1000_RDFHS) = e1000_wr_reg,
	AT(E1000_RDFTS) = e1000_wr_reg,
	AT(E1000_RDFPC) = e1000_wr_reg,
	AT(E1000_RDBAL) = e1000_wr_reg,
	AT(E1000_RDBAH) = e1000_wr_reg,
	AT(E1000_RDLEN) = e1000_wr_ring_len,
	AT(E1000_RDH) = e1000_wr_reg,
	AT(E1000_RDT) = e1000_wr_rdt,
	AT(E1000_RDTR) = e1000_wr_mit,
	AT(E1000_RXDCTL) = e1000_wr_reg,
	AT(E1000_RADV) = e1000_wr_mit,
	AT(E1000_RSRPD) = e1000_wr_reg,
	AT(E1000_TXDMAC) = e1000_wr_reg,
	AT(E1000_TDFH) = e1000_wr_reg,
	AT(E1000_TDFT) = e1000_wr_reg,
	AT(E1000_TDFHS) = e1000_wr_reg,
	AT(E1000_TDFTS) = e1000_wr_reg,
	AT(E1000_TDFPC) = e1000_wr_reg,
	AT(E1000_TDBAL) = e1000_wr_reg,
	AT(E1000_TDBAH) = e1000_wr_reg,
	AT(E1000_TDLEN) = e1000_wr_ring_len,
	AT(E1000_TDH) = e1000_wr_reg,
	AT(E1000_TDT) = e1000_wr_tdt,
	AT(E1000_TIDV) = e1000_wr_mit,
	AT(E1000_TXDCTL) = e1000_wr_reg,
	AT(E1000_TADV) = e1000_wr_mit,
	AT(E1000_TSPMT) = e1000_wr_reg,
	AT(E1000_RXCSUM) = e1000_wr_reg,
	AT_RANGE(E1000_MTA, 128) = e1000_wr_reg,
	AT_RANGE(E1000_RA, 32) = e1000_wr_reg,
	AT_RANGE(E1000_VFTA, 128) = e1000_wr_reg,
	AT(E1000_WUC) = e1000_wr_reg,
	AT(E1000_WUFC) = e1000_wr_reg,
	AT(E1000_WUS) = e1000_wr_w1c,
	AT(E1000_MANC) = e1000_wr_reg,
	AT(E1000_IPAV) = e1000_wr_reg,
	AT(E1000_IP4AT) = e1000_wr_reg,
	AT(E1000_IP4AT + 8) = e1000_wr_reg,
	AT(E1000_IP4AT + 16) = e1000_wr_reg,
	AT(E1000_IP4AT + 24) = e1000_wr_reg,
	AT_RANGE(E1000_IP6AT, 4) = e1000_wr_reg,
	AT(E1000_WUPL) = e1000_wr_reg,
	AT_RANGE(E1000_WUPM, 32) = e1000_wr_reg,
};

/* Writable bits; a register not listed here takes all 32 bits. */
static const uint32_t e1000_wmask[E1000_NREGS] = {
	AT(E1000_CTRL) = CTRL_WMASK,	 AT(E1000_FCAH) = 0xFFFF,
	AT(E1000_FCT) = 0xFFFF,		 AT(E1000_VET) = 0xFFFF,
	AT(E1000_ITR) = 0xFFFF,		 AT(E1000_RCTL) = RCTL_WMASK,
	AT(E1000_FCTTV) = 0xFFFF,	 AT(E1000_TCTL) = TCTL_WMASK,
	AT(E1000_TIPG) = 0x3FFFFFFF,	 AT(E1000_AIFS) = 0xFFFF,
	AT(E1000_PBA) = 0xFFFF,		 AT(E1000_FCRTL) = 0x8000FFF8,
	AT(E1000_FCRTH) = 0xFFF8,	 AT(E1000_RDFH) = 0x1FFF,
	AT(E1000_RDFT) = 0x1FFF,	 AT(E1000_RDFHS) = 0x1FFF,
	AT(E1000_RDFTS) = 0x1FFF,	 AT(E1000_RDFPC) = 0x1FFF,
	AT(E1000_RDBAL) = 0xFFFFFFF0,	 AT(E1000_RDH) = 0xFFFF,
	AT(E1000_RDT) = 0xFFFF,		 AT(E1000_RDTR) = 0x8000FFFF,
	AT(E1000_RADV) = 0xFFFF,	 AT(E1000_RSRPD) = 0xFFF,
	AT(E1000_TXDMAC) = 0x1,		 AT(E1000_TDFH) = 0x1FFF,
	AT(E1000_TDFT) = 0x1FFF,	 AT(E1000_TDFHS) = 0x1FFF,
	AT(E1000_TDFTS) = 0x1FFF,	 AT(E1000_TDFPC) = 0x1FFF,
	AT(E1000_TDBAL) = 0xFFFFFFF0,	 AT(E1000_TDH) = 0xFFFF,
	AT(E1000_TDT) = 0xFFFF,		 AT(E1000_TIDV) = 0x8000FFFF,
	AT(E1000_TADV) = 0xFFFF,	 AT(E1000_RXCSUM) = 0x3FF,
	AT(E1000_RA + 4) = 0x8003FFFF, /* RAH0..RAH15 */
	AT(E1000_RA + 12) = 0x8003FFFF,	 AT(E1000_RA + 20) = 0x8003FFFF,
	AT(E1000_RA + 28) = 0x8003FFFF,	 AT(E1000_RA + 36) = 0x8003FFFF,
	AT(E1000_RA + 44) = 0x8003FFFF,	 AT(E1000_RA + 52) = 0x8003FFFF,
	AT(E1000_RA + 60) = 0x8003FFFF,	 AT(E1000_RA + 68) = 0x8003FFFF,
	AT(E1000_RA + 76) = 0x8003FFFF,	 AT(E1000_RA + 84) = 0x8003FFFF,
	AT(E1000_RA + 92) = 0x8003FFFF,	 AT(E1000_RA + 100) = 0x8003FFFF,
	AT(E1000_RA + 108) = 0x8003FFFF, AT(E1000_RA + 116) = 0x8003FFFF,
	AT(E1000_RA + 124) = 0x8003FFFF,
};

static uint32_t e1000_reg_read(struct e1000 *e, uint32_t off)
{
	unsigned int idx = off >> 2;

	if (idx >= E1000_NREGS || !e1000_rd[idx]) {
		log_warn_rl("%s: read of unknown register %#x: 0", e->name, off);
		return 0;
	}
	return e1000_rd[idx](e, idx);
}

static void e1000_reg_write(struct e1000 *e, uint32_t off, uint32_t val)
{
	unsigned int idx = off >> 2;
	uint32_t mask;

	if (idx >= E1000_NREGS || !e1000_rd[idx]) {
		log_warn_rl("%s: write %#x to unknown register %#x ignored", e->name, val, off);
		return;
	}
	if (!e1000_wr[idx]) {
		log_debug("%s: write %#x to read-only register %#x ignored", e->name, val, off);
		return;
	}
	mask = e1000_wmask[idx] ? e1000_wmask[idx] : UINT32_MAX;
	e1000_wr[idx](e, idx, val & mask);
}

/* ---- BARs ---- */

/* Drops the lock and does what had to wait for it (resuming the backend). */
static void e1000_unlock(struct e1000 *e)
{
	bool resume = e->resume_needed;

	e->resume_needed = false;
	pthread_mutex_unlock(&e->lock);
	if (resume)
		netdev_rx_resume(e->nd);
}

static void e1000_access32(struct e1000 *e, uint32_t off, uint8_t *data, bool is_write)
{
	uint32_t v;

	pthread_mutex_lock(&e->lock);
	if (e->broken) {
		v = 0;
	} else if (is_write) {
		v = get_le32(data);
		e1000_reg_write(e, off, v);
	} else {
		v = e1000_reg_read(e, off);
	}
	e1000_unlock(e);
	if (!is_write)
		for (int i = 0; i < 4; i++)
			data[i] = (uint8_t)(v >> (8 * i));
}

static void e1000_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct e1000 *e = opaque;

	if (len == 8 && !(offset & 7)) {
		e1000_access32(e, (uint32_t)offset, data, is_write);
		e1000_access32(e, (uint32_t)offset + 4, data + 4, is_write);
		return;
	}
	if (len != 4 || (offset & 3)) {
		log_warn_rl("%s: %u-byte access at %#llx not supported: %s", e->name, len,
			    (unsigned long long)offset, is_write ? "ignored" : "reads 0");
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	e1000_access32(e, (uint32_t)offset, data, is_write);
}

/* BAR1: IOADDR (offset 0) selects a register, IODATA (offset 4) accesses it. */
static void e1000_pio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct e1000 *e = opaque;
	uint32_t addr;

	if (len != 4 || (offset != 0 && offset != 4)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (offset == 0) {
		pthread_mutex_lock(&e->lock);
		if (is_write)
			e->ioaddr = get_le32(data) & (E1000_MMIO_SIZE - 1);
		else
			for (int i = 0; i < 4; i++)
				data[i] = (uint8_t)(e->ioaddr >> (8 * i));
		pthread_mutex_unlock(&e->lock);
		return;
	}
	pthread_mutex_lock(&e->lock);
	addr = e->ioaddr;
	pthread_mutex_unlock(&e->lock);
	e1000_access32(e, addr & ~3u, data, is_write);
}

static void e1000_command_changed(struct pci_dev *dev, uint16_t old_cmd, uint16_t new_cmd)
{
	struct e1000 *e = pci_dev_opaque(dev);

	pthread_mutex_lock(&e->lock);
	e->bus_master = new_cmd & 0x0004; /* PCI_COMMAND_MASTER */
	pthread_mutex_unlock(&e->lock);
}

static const struct pci_dev_ops e1000_pci_ops = {
	.command_changed = e1000_command_changed,
};

/* ---- timer ---- */

void e1000_timer_expire(struct e1000 *e)
{
	pthread_mutex_lock(&e->lock);
	e->timer_due_ns = 0;
	e->kick_pending = false;
	if (!e->broken)
		e1000_mit_run(e, true);
	pthread_mutex_unlock(&e->lock);
}

static void e1000_timer_cb(struct ev_timer *t, void *opaque)
{
	e1000_timer_expire(opaque);
}

static void e1000_kick_cb(struct ev_event *ev, void *opaque)
{
	e1000_timer_expire(opaque);
}

/* ---- life cycle ---- */

struct e1000 *e1000_new(struct pci_bus *bus, const struct guest_mem *mem, struct netdev *nd,
			struct evloop *loop, const struct e1000_config *cfg)
{
	const struct pci_dev_info info = {
		.name = cfg && cfg->name ? cfg->name : "e1000",
		.vendor_id = E1000_VENDOR,
		.device_id = E1000_DEVICE,
		.subsys_vendor_id = E1000_SUBSYS_VENDOR,
		.subsys_id = E1000_SUBSYS,
		.revision = E1000_REVISION,
		.class_code = E1000_CLASS,
		.intx = true,
		.slot = cfg ? cfg->pci_slot : 0,
	};
	const struct netdev_peer peer = {
		.receive = e1000_receive,
		.link_changed = e1000_link_changed,
	};
	struct netdev_peer p;
	struct e1000 *e;
	int ret;

	if (!bus || !mem || !nd || !cfg) {
		log_err("e1000: bus, guest memory, netdev and config are required");
		return NULL;
	}
	pthread_once(&crc_once, crc_init);
	e = calloc(1, sizeof(*e));
	if (!e)
		goto err_nomem;
	snprintf(e->name, sizeof(e->name), "%s", info.name);
	e->mem = mem;
	e->nd = nd;
	e->loop = loop;
	e->clock_ns = cfg->clock_ns;
	e->clock_opaque = cfg->clock_opaque;
	e->backend_link = nd->link_up;
	e->rx_buf = malloc(E1000_RX_BUF + ETH_FCS_LEN);
	e->tx_buf = malloc(E1000_MAX_TSO_FRAME);
	e->seg_buf = malloc(E1000_SEG_BUF);
	if (!e->rx_buf || !e->tx_buf || !e->seg_buf)
		goto err_free;
	if (loop) {
		e->timer = evloop_timer_new(loop, e1000_timer_cb, e);
		e->kick = evloop_event_new(loop, e1000_kick_cb, e);
		if (!e->timer || !e->kick) {
			log_err("%s: cannot create the moderation timer", e->name);
			goto err_free;
		}
	}
	pthread_mutex_init(&e->lock, NULL);
	e1000_eeprom_init(e, cfg->mac);

	e->pdev = pci_dev_new(bus, &info, &e1000_pci_ops, e);
	if (!e->pdev)
		goto err_lock;
	pthread_mutex_lock(&e->lock);
	e1000_reset(e);
	pthread_mutex_unlock(&e->lock);
	ret = pci_dev_add_bar(e->pdev, 0, PCI_BAR_MEM32, E1000_MMIO_SIZE, e1000_mmio, e);
	if (ret == 0)
		ret = pci_dev_add_bar(e->pdev, 1, PCI_BAR_IO, E1000_IO_SIZE, e1000_pio, e);
	if (ret < 0) {
		/*
		 * The PCI device cannot be removed from the bus: it stays, marked
		 * broken, and keeps this state alive so that no access reaches freed
		 * memory. The VMM gives up at this point anyway.
		 */
		log_err("%s: cannot declare the BARs: %s", e->name, strerror(-ret));
		e->broken = true;
		return NULL;
	}
	p = peer;
	p.opaque = e;
	netdev_attach(nd, &p);
	return e;

err_lock:
	pthread_mutex_destroy(&e->lock);
err_free:
	evloop_timer_free(e->timer);
	evloop_event_free(e->kick);
	free(e->rx_buf);
	free(e->tx_buf);
	free(e->seg_buf);
	free(e);
	return NULL;
err_nomem:
	log_err("e1000: out of memory");
	return NULL;
}

void e1000_free(struct e1000 *e)
{
	if (!e)
		return;
	netdev_attach(e->nd, &(struct netdev_peer){ 0 });
	evloop_timer_free(e->timer);
	evloop_event_free(e->kick);
	pthread_mutex_destroy(&e->lock);
	free(e->rx_buf);
	free(e->tx_buf);
	free(e->seg_buf);
	free(e);
}

void e1000_get_stats(struct e1000 *e, struct e1000_stats *st)
{
	pthread_mutex_lock(&e->lock);
	*st = e->stats;
	pthread_mutex_unlock(&e->lock);
}
