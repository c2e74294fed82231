// SPDX-License-Identifier: BSD-3-Clause
/*
 * nfguest packet buffer pools and the NIC registry / driver probing.
 */
#include "netif.h"

extern const struct netif_driver *const __netif_drivers_start[];
extern const struct netif_driver *const __netif_drivers_end[];

static struct netif *nics[NETIF_MAX];
static int nnics;

struct pktpool *pktpool_create(const char *name, uint32_t count, uint32_t dataroom)
{
	uint32_t buf_size = (uint32_t)ALIGN_UP(PKT_HEADROOM + dataroom, CACHE_LINE);
	uint64_t bytes = (uint64_t)count * buf_size;
	struct pktpool *p = mem_alloc(sizeof(*p), CACHE_LINE);
	uint32_t i;

	if (!p || !count)
		goto nomem;
	p->name = name;
	p->count = count;
	p->buf_size = buf_size;
	p->stack = page_alloc((count * sizeof(void *) + PAGE_SIZE - 1) / PAGE_SIZE);
	p->hdrs = page_alloc((count * sizeof(struct pktbuf) + PAGE_SIZE - 1) / PAGE_SIZE);
	p->mem = page_alloc((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!p->stack || !p->hdrs || !p->mem)
		goto nomem;
	for (i = 0; i < count; i++) {
		struct pktbuf *b = &p->hdrs[i];

		b->buf = p->mem + (uint64_t)i * buf_size;
		b->cap = buf_size;
		b->pool = p;
		pkt_reset(b);
		p->stack[i] = b;
	}
	p->nfree = count;
	return p;
nomem:
	printf("nfguest: pool %s: out of memory for %u buffers\n", name, count);
	return NULL;
}

struct pktbuf *pkt_alloc(struct pktpool *pool)
{
	struct pktbuf *b = NULL;

	spin_lock(&pool->lock);
	if (pool->nfree)
		b = pool->stack[--pool->nfree];
	spin_unlock(&pool->lock);
	if (b)
		pkt_reset(b);
	return b;
}

int pkt_alloc_bulk(struct pktpool *pool, struct pktbuf **pkts, int n)
{
	int i, got;

	spin_lock(&pool->lock);
	got = (uint32_t)n < pool->nfree ? n : (int)pool->nfree;
	for (i = 0; i < got; i++)
		pkts[i] = pool->stack[--pool->nfree];
	spin_unlock(&pool->lock);
	for (i = 0; i < got; i++)
		pkt_reset(pkts[i]);
	return got;
}

void pkt_free(struct pktbuf *pkt)
{
	struct pktpool *pool = pkt->pool;

	spin_lock(&pool->lock);
	if (pool->nfree < pool->count)
		pool->stack[pool->nfree++] = pkt;
	spin_unlock(&pool->lock);
}

/* Runs of buffers from one pool go back under one lock acquisition. */
void pkt_free_bulk(struct pktbuf **pkts, int n)
{
	int i = 0;

	while (i < n) {
		struct pktpool *pool = pkts[i]->pool;

		spin_lock(&pool->lock);
		for (; i < n && pkts[i]->pool == pool; i++)
			if (pool->nfree < pool->count)
				pool->stack[pool->nfree++] = pkts[i];
		spin_unlock(&pool->lock);
	}
}

uint32_t pktpool_avail(const struct pktpool *pool)
{
	return READ_ONCE(pool->nfree);
}

int netif_register(struct netif *nif)
{
	if (nnics == NETIF_MAX)
		return -1;
	nif->index = nnics;
	nics[nnics++] = nif;
	return nif->index;
}

int netif_count(void)
{
	return nnics;
}

struct netif *netif_get(int index)
{
	return index >= 0 && index < nnics ? nics[index] : NULL;
}

int netif_queue_cpu(const struct netif *nif, int q)
{
	return q % cpu_count();
}

void netif_bdf(const struct netif *nif, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x.%x", nif->pci->bus, nif->pci->dev, nif->pci->fn);
}

static const struct netif_driver *match(const struct pci_dev *d)
{
	const struct netif_driver *const *drv;

	for (drv = __netif_drivers_start; drv < __netif_drivers_end; drv++) {
		const struct netif_pci_id *id;

		for (id = (*drv)->ids; id->vendor || id->device; id++)
			if (id->vendor == d->vendor && id->device == d->device)
				return *drv;
	}
	return NULL;
}

int netif_probe_all(const struct netif_config *cfg)
{
	int i;

	for (i = 0; i < pci_count(); i++) {
		struct pci_dev *d = pci_get(i);
		const struct netif_driver *drv = match(d);

		if (!drv || d->claimed)
			continue;
		if (nnics == NETIF_MAX) {
			printf("nfguest: more than %d NICs, ignoring %02x:%02x.%x\n", NETIF_MAX,
			       d->bus, d->dev, d->fn);
			continue;
		}
		d->claimed = true;
		if (drv->probe(d, cfg) < 0)
			d->claimed = false;
	}
	return nnics;
}
