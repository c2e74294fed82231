/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The forwarding table of one bridge: rte_hash maps a (MAC, VLAN) key to a
 * position, and an array of slots indexed by that position holds what the
 * switch knows of the station (port, static flag, last seen).
 *
 * rte_hash runs with RW_CONCURRENCY_LF (lookups take no lock, deleted
 * positions are not freed by rte_hash_del_key), MULTI_WRITER_ADD (every
 * polling thread adds the stations it sees; adding takes rte_hash's writer
 * lock, which only happens for a station not yet known) and EXT_TABLE (a key
 * never fails to fit while fewer than `size` are stored: the table really
 * holds `size` entries).
 *
 * Threads:
 * - Polling threads call sw_fdb_lookup_bulk and sw_fdb_learn_bulk. They take
 *   no lock except rte_hash's writer lock when adding a new station, and
 *   write shared memory only for new stations, moves, and last-seen refreshes
 *   (at most once per refresh interval per station, see below).
 * - One control thread calls everything else: only it removes keys and frees
 *   positions, so the removal paths need no lock either.
 * - Every thread that calls in must have an lcore id (an EAL thread, or one
 *   registered with rte_thread_register()): rte_hash's multi-writer free-slot
 *   caches are per lcore. A polling thread without one still looks up,
 *   refreshes and moves, but cannot add: its new stations are counted in
 *   learn_full and keep being flooded; a control thread without one never
 *   frees positions.
 *
 * Slot life cycle (slot.state, always accessed with __atomic builtins):
 *   FREE --(the adding thread claims it, CAS)--> LIVE(port, static?)
 *   LIVE --(a move, a static add: CAS)--> LIVE(other port or static)
 *   LIVE or FREE --(control: rte_hash_del_key, then exchange)--> DEAD
 *   DEAD --(control, after a grace period)--> FREE, position given back
 * A polling thread that finds a key whose slot is still FREE (another thread
 * is adding it) or DEAD (the control thread is removing it) treats it as a
 * miss. The CAS from FREE means an add racing with a removal never brings a
 * DEAD slot back to life.
 *
 * Deferred free: a removed position may still be in use by a polling thread
 * that looked the key up before the removal. With params.qsv set, removed
 * positions wait in a FIFO stamped with rte_rcu_qsbr_start() tokens, and are
 * given back to rte_hash only when rte_rcu_qsbr_check() says every polling
 * thread has passed a quiescent state since. Reclaiming never blocks; it runs
 * at the start and end of every control call (sw_fdb_age, which the control
 * thread calls periodically, is what normally gives space back). With qsv
 * NULL positions are freed at once (single-threaded use).
 *
 * Time: last seen is a 64-bit millisecond value. A polling thread rewrites
 * it only when it is at least refresh_ms old, refresh_ms = aging / 16 capped
 * at 1 s (1 s when aging is off): a station heard continuously is never older
 * than refresh_ms, far below the aging time, while a busy station costs one
 * write per refresh interval instead of one per frame. The price is that an
 * idle station's last seen may be up to refresh_ms early, so it ages out at
 * most 1/16 of the aging time early. Comparisons are signed, so a last-seen
 * value slightly ahead of a reader's clock (another core) reads as fresh.
 * A dynamic entry older than the aging time is a miss for lookups, sw_fdb_get
 * and sw_fdb_walk even before sw_fdb_age removes it.
 *
 * Size: `live` counts entries (static included); a new station reserves one
 * unit with a CAS before adding, so the table never holds more than `size`
 * stations. Positions that wait for their grace period still occupy rte_hash
 * space (rte_hash has `size` plus its per-lcore cache reserve), so right
 * after a big flush new stations may be refused (learn_full, flooded) until
 * the next reclaim. Aging, flush and walk scan the whole slot array (size
 * plus that reserve) on the control thread.
 *
 * Statistics: hits, misses, learned, moved and learn_full are counted per
 * burst on the stack, then added to the calling lcore's cache-aligned
 * counters (one writer each, relaxed atomic stores, no lock prefix); threads
 * without an lcore id share one extra set updated with relaxed atomic adds.
 * aged, flushed and statics are control-thread counters; entries is `live`.
 */
#include "vswitch/fdb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#define SLOT_FREE 0u
#define SLOT_LIVE 0x40000000u
#define SLOT_STATIC 0x20000000u
#define SLOT_DEAD 0x80000000u
#define SLOT_PORT_MASK 0xffffu

#define FDB_SIZE_MIN 16u
#define FDB_SIZE_MAX 1048576u
/* rte_hash names a ring "HT_EXT_<name>", and ring names hold 28 characters. */
#define FDB_NAME_MAX 21u
#define FDB_REFRESH_MAX_MS 1000u
#define FDB_REFRESH_DIV 16u

_Static_assert(sizeof(struct sw_fdb_key) == 8, "the FDB key is 8 bytes");

struct fdb_slot {
	uint32_t state; /* SLOT_* | port */
	uint32_t unused;
	uint64_t seen; /* ms, dynamic entries */
};

/* Counters of one lcore (the last set: threads without an lcore id). */
struct fdb_pstats {
	uint64_t hits, misses, learned, moved, learn_full;
} __rte_cache_aligned;

/* A removed position waiting for the readers' grace period. */
struct fdb_pending {
	uint32_t pos;
	uint32_t unused;
	uint64_t token;
};

struct sw_fdb {
	/* read by every thread */
	struct rte_hash *h;
	struct fdb_slot *slots;
	uint32_t n_slots;
	uint32_t size;
	uint32_t aging_ms;   /* atomic: set by the control thread */
	uint32_t refresh_ms; /* atomic: set by the control thread */
	struct rte_rcu_qsbr *qsv;

	/* control thread only */
	struct fdb_pending *pend; /* FIFO of n_slots */
	uint32_t pend_head, pend_count;
	uint32_t pend_stamped; /* the first pend_stamped entries have a token */
	uint64_t aged, flushed, statics;

	/* written by any thread when a station is added or removed */
	uint32_t live __rte_cache_aligned;

	struct fdb_pstats pstats[RTE_MAX_LCORE + 1];
};

static uint32_t fdb_hash(const void *key, uint32_t len, uint32_t init)
{
	uint64_t k;

	RTE_SET_USED(len);
	memcpy(&k, key, sizeof(k));
	return rte_hash_crc_8byte(k, init);
}

static inline bool mac_is_multicast(const uint8_t *mac)
{
	return mac[0] & 1;
}

static inline uint64_t key_u64(const struct sw_fdb_key *k)
{
	uint64_t v;

	memcpy(&v, k, sizeof(v));
	return v;
}

static inline uint32_t refresh_for(uint32_t aging_ms)
{
	if (aging_ms == 0)
		return FDB_REFRESH_MAX_MS;
	return RTE_MAX(1u, RTE_MIN(FDB_REFRESH_MAX_MS, aging_ms / FDB_REFRESH_DIV));
}

/* A dynamic entry last seen at `seen` is past the aging time at `now`. */
static inline bool is_expired(uint64_t seen, uint64_t now, uint32_t aging_ms)
{
	return aging_ms != 0 && (int64_t)(now - seen) >= (int64_t)aging_ms;
}

static inline bool slot_expired(const struct fdb_slot *s, uint32_t st, uint64_t now,
				uint32_t aging_ms)
{
	return !(st & SLOT_STATIC) &&
	       is_expired(__atomic_load_n(&s->seen, __ATOMIC_RELAXED), now, aging_ms);
}

/* ---- statistics ---- */

#define PSTATS_ADD_ONE(s, d, field)                                                               \
	do {                                                                                      \
		if ((d)->field)                                                                   \
			__atomic_store_n(&(s)->field, (s)->field + (d)->field, __ATOMIC_RELAXED); \
	} while (0)

#define PSTATS_ADD_SHARED(s, d, field)                                                 \
	do {                                                                           \
		if ((d)->field)                                                        \
			__atomic_fetch_add(&(s)->field, (d)->field, __ATOMIC_RELAXED); \
	} while (0)

static void pstats_add(struct sw_fdb *f, const struct fdb_pstats *d)
{
	unsigned lc = rte_lcore_id();

	if (likely(lc < RTE_MAX_LCORE)) {
		struct fdb_pstats *s = &f->pstats[lc];

		PSTATS_ADD_ONE(s, d, hits);
		PSTATS_ADD_ONE(s, d, misses);
		PSTATS_ADD_ONE(s, d, learned);
		PSTATS_ADD_ONE(s, d, moved);
		PSTATS_ADD_ONE(s, d, learn_full);
	} else {
		struct fdb_pstats *s = &f->pstats[RTE_MAX_LCORE];

		PSTATS_ADD_SHARED(s, d, hits);
		PSTATS_ADD_SHARED(s, d, misses);
		PSTATS_ADD_SHARED(s, d, learned);
		PSTATS_ADD_SHARED(s, d, moved);
		PSTATS_ADD_SHARED(s, d, learn_full);
	}
}

/* ---- entry count ---- */

static bool live_reserve(struct sw_fdb *f)
{
	uint32_t n = __atomic_load_n(&f->live, __ATOMIC_RELAXED);

	do {
		if (n >= f->size)
			return false;
	} while (!__atomic_compare_exchange_n(&f->live, &n, n + 1, true, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

static void live_release(struct sw_fdb *f)
{
	__atomic_fetch_sub(&f->live, 1, __ATOMIC_RELAXED);
}

/* ---- slots ---- */

/*
 * Makes the slot of a position just returned by rte_hash_add_key live. False
 * when another thread claimed it first (the same station added twice at
 * once) or the control thread removed the key meanwhile.
 */
static bool slot_claim(struct fdb_slot *s, uint32_t state, uint64_t now)
{
	uint32_t old = SLOT_FREE;

	/* Published by the release CAS below; a loser's store is just as true. */
	__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
	return __atomic_compare_exchange_n(&s->state, &old, state, false, __ATOMIC_RELEASE,
					   __ATOMIC_RELAXED);
}

/* A live station seen again on `port`: refresh, or move a dynamic entry. */
static void slot_seen(struct fdb_slot *s, uint32_t st, uint16_t port, uint64_t now,
		      uint32_t aging_ms, uint32_t refresh_ms, struct fdb_pstats *d)
{
	uint64_t seen;

	if (st & SLOT_STATIC)
		return;
	seen = __atomic_load_n(&s->seen, __ATOMIC_RELAXED);
	if (unlikely((st & SLOT_PORT_MASK) != port)) {
		__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
		if (__atomic_compare_exchange_n(&s->state, &st, SLOT_LIVE | port, false,
						__ATOMIC_RELEASE, __ATOMIC_RELAXED) &&
		    !is_expired(seen, now, aging_ms))
			d->moved++;
		return;
	}
	if ((int64_t)(now - seen) >= (int64_t)refresh_ms)
		__atomic_store_n(&s->seen, now, __ATOMIC_RELAXED);
}

/*
 * Adds a station not found by the lookup. Returns true when this call
 * created it; false when it was refused (counted) or another thread had
 * added it: *pos is then its position, or -1.
 */
static bool fdb_add(struct sw_fdb *f, const struct sw_fdb_key *key, uint32_t state, uint64_t now,
		    int32_t *pos, struct fdb_pstats *d)
{
	int32_t p;

	*pos = -1;
	if (!live_reserve(f)) {
		d->learn_full++;
		return false;
	}
	p = rte_hash_add_key(f->h, key);
	if (p < 0) {
		live_release(f);
		d->learn_full++;
		return false;
	}
	if (slot_claim(&f->slots[p], state, now)) {
		d->learned++;
		*pos = p;
		return true;
	}
	live_release(f);
	*pos = p;
	return false;
}

/* ---- deferred free (control thread) ---- */

static void slot_release(struct sw_fdb *f, uint32_t pos)
{
	/* Before the position can be handed out again (the ring inside rte_hash
	 * orders this store before the next add that gets it). */
	__atomic_store_n(&f->slots[pos].state, SLOT_FREE, __ATOMIC_RELEASE);
	rte_hash_free_key_with_position(f->h, (int32_t)pos);
}

/* Gives back every position whose grace period is over. Never blocks. */
static void fdb_reclaim(struct sw_fdb *f)
{
	uint64_t passed = 0;

	if (rte_lcore_id() >= RTE_MAX_LCORE)
		return;
	while (f->pend_stamped > 0) {
		struct fdb_pending *e = &f->pend[f->pend_head];

		if (f->qsv != NULL && e->token > passed) {
			if (rte_rcu_qsbr_check(f->qsv, e->token, false) != 1)
				break;
			passed = e->token;
		}
		slot_release(f, e->pos);
		f->pend_head = f->pend_head + 1 == f->n_slots ? 0 : f->pend_head + 1;
		f->pend_count--;
		f->pend_stamped--;
	}
}

/* Ends a batch of removals: one token covers every position removed so far. */
static void fdb_commit(struct sw_fdb *f)
{
	if (f->pend_stamped == f->pend_count)
		return;
	if (f->qsv != NULL) {
		/* After the removals: readers that saw the keys must pass a
		 * quiescent state after this point. */
		uint64_t token = rte_rcu_qsbr_start(f->qsv);
		uint32_t i = f->pend_head + f->pend_stamped;

		for (; f->pend_stamped < f->pend_count; f->pend_stamped++, i++) {
			if (i >= f->n_slots)
				i -= f->n_slots;
			f->pend[i].token = token;
		}
	} else {
		f->pend_stamped = f->pend_count;
	}
	fdb_reclaim(f);
}

/*
 * Takes a key out of the table. Returns the slot's previous state, or
 * SLOT_FREE when the key was absent (or still being added: the adder's claim
 * will then fail).
 */
static uint32_t fdb_remove(struct sw_fdb *f, const struct sw_fdb_key *key)
{
	int32_t p = rte_hash_del_key(f->h, key);
	uint32_t old, i;

	if (p < 0)
		return SLOT_FREE;
	old = __atomic_exchange_n(&f->slots[p].state, SLOT_DEAD, __ATOMIC_ACQ_REL);
	if (old & SLOT_LIVE) {
		live_release(f);
		if (old & SLOT_STATIC)
			f->statics--;
	}
	i = f->pend_head + f->pend_count;
	if (i >= f->n_slots)
		i -= f->n_slots;
	f->pend[i].pos = (uint32_t)p;
	f->pend[i].token = 0;
	f->pend_count++;
	return old;
}

static int slot_key(struct sw_fdb *f, uint32_t pos, struct sw_fdb_key *key)
{
	void *k;

	if (rte_hash_get_key_with_position(f->h, (int32_t)pos, &k) != 0)
		return -ENOENT;
	memcpy(key, k, sizeof(*key));
	return 0;
}

/* ---- life cycle ---- */

struct sw_fdb *sw_fdb_create(const struct sw_fdb_params *p, int *err)
{
	struct rte_hash_parameters hp = { 0 };
	struct sw_fdb *f = NULL;
	int ret = -EINVAL;
	int32_t max_id;

	if (p == NULL || p->name == NULL || p->name[0] == '\0' || strlen(p->name) > FDB_NAME_MAX ||
	    p->size < FDB_SIZE_MIN || p->size > FDB_SIZE_MAX)
		goto fail;
	if (rte_hash_find_existing(p->name) != NULL) {
		ret = -EEXIST;
		goto fail;
	}
	ret = -ENOMEM;
	f = rte_zmalloc_socket("sw_fdb", sizeof(*f), RTE_CACHE_LINE_SIZE, p->socket_id);
	if (f == NULL)
		goto fail;
	hp.name = p->name;
	hp.entries = p->size;
	hp.key_len = sizeof(struct sw_fdb_key);
	hp.hash_func = fdb_hash;
	hp.socket_id = p->socket_id;
	hp.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF |
			RTE_HASH_EXTRA_FLAGS_MULTI_WRITER_ADD | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
	f->h = rte_hash_create(&hp);
	if (f->h == NULL) {
		ret = rte_errno == EEXIST ? -EEXIST : -ENOMEM;
		goto fail_f;
	}
	/* Positions run from 0 to max_key_id - 1 (rte_hash's per-lcore caches
	 * make it larger than size). */
	max_id = rte_hash_max_key_id(f->h);
	if (max_id <= 0) {
		ret = -EINVAL;
		goto fail_h;
	}
	f->n_slots = (uint32_t)max_id;
	f->slots = rte_zmalloc_socket("sw_fdb_slots", sizeof(*f->slots) * f->n_slots,
				      RTE_CACHE_LINE_SIZE, p->socket_id);
	if (f->slots == NULL)
		goto fail_h;
	f->pend = calloc(f->n_slots, sizeof(*f->pend));
	if (f->pend == NULL)
		goto fail_slots;
	f->size = p->size;
	f->aging_ms = p->aging_ms;
	f->refresh_ms = refresh_for(p->aging_ms);
	f->qsv = p->qsv;
	if (err != NULL)
		*err = 0;
	return f;

fail_slots:
	rte_free(f->slots);
fail_h:
	rte_hash_free(f->h);
fail_f:
	rte_free(f);
fail:
	if (err != NULL)
		*err = ret;
	return NULL;
}

void sw_fdb_free(struct sw_fdb *f)
{
	if (f == NULL)
		return;
	/* No reader is left: whatever waits for a grace period goes with the table. */
	rte_hash_free(f->h);
	free(f->pend);
	rte_free(f->slots);
	rte_free(f);
}

/* ---- fast path ---- */

static void lookup_chunk(struct sw_fdb *f, const struct sw_fdb_key *keys, unsigned n,
			 uint16_t *ports, uint64_t now, struct fdb_pstats *d)
{
	const void *kp[SW_FDB_BURST_MAX];
	int32_t pos[SW_FDB_BURST_MAX];
	uint32_t aging = __atomic_load_n(&f->aging_ms, __ATOMIC_RELAXED);
	unsigned i;

	for (i = 0; i < n; i++)
		kp[i] = &keys[i];
	if (rte_hash_lookup_bulk(f->h, kp, n, pos) != 0) {
		for (i = 0; i < n; i++)
			ports[i] = SW_FDB_MISS;
		d->misses += n;
		return;
	}
	for (i = 0; i < n; i++)
		if (pos[i] >= 0)
			rte_prefetch0(&f->slots[pos[i]]);
	for (i = 0; i < n; i++) {
		const struct fdb_slot *s;
		uint32_t st;

		ports[i] = SW_FDB_MISS;
		if (pos[i] < 0) {
			d->misses++;
			continue;
		}
		s = &f->slots[pos[i]];
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		if (!(st & SLOT_LIVE) || slot_expired(s, st, now, aging)) {
			d->misses++;
			continue;
		}
		ports[i] = (uint16_t)(st & SLOT_PORT_MASK);
		d->hits++;
	}
}

void sw_fdb_lookup_bulk(struct sw_fdb *f, const struct sw_fdb_key *keys, unsigned n,
			uint16_t *ports, uint64_t now_ms)
{
	struct fdb_pstats d = { 0 };

	while (n > 0) {
		unsigned c = RTE_MIN(n, SW_FDB_BURST_MAX);

		lookup_chunk(f, keys, c, ports, now_ms, &d);
		keys += c;
		ports += c;
		n -= c;
	}
	pstats_add(f, &d);
}

static void learn_chunk(struct sw_fdb *f, const struct sw_fdb_key *keys, const uint16_t *in_ports,
			unsigned n, uint64_t now, struct fdb_pstats *d)
{
	const void *kp[SW_FDB_BURST_MAX];
	uint16_t kport[SW_FDB_BURST_MAX];
	int32_t pos[SW_FDB_BURST_MAX];
	uint32_t aging = __atomic_load_n(&f->aging_ms, __ATOMIC_RELAXED);
	uint32_t refresh = __atomic_load_n(&f->refresh_ms, __ATOMIC_RELAXED);
	bool can_add = rte_lcore_id() < RTE_MAX_LCORE;
	uint64_t last_key = 0;
	int32_t last_pos = -1;
	unsigned i, m = 0;

	for (i = 0; i < n; i++) {
		if (mac_is_multicast(keys[i].mac) || in_ports[i] == SW_FDB_MISS)
			continue;
		kp[m] = &keys[i];
		kport[m] = in_ports[i];
		m++;
	}
	if (m == 0 || rte_hash_lookup_bulk(f->h, kp, m, pos) != 0)
		return;
	for (i = 0; i < m; i++) {
		const struct sw_fdb_key *k = kp[i];
		struct fdb_slot *s;
		int32_t p = pos[i];
		uint32_t st;

		if (p < 0) {
			/* A burst often holds several frames of one new station. */
			if (last_pos >= 0 && key_u64(k) == last_key) {
				p = last_pos;
			} else if (!can_add) {
				d->learn_full++;
				continue;
			} else {
				bool created = fdb_add(f, k, SLOT_LIVE | kport[i], now, &p, d);

				if (p < 0)
					continue;
				last_key = key_u64(k);
				last_pos = p;
				if (created)
					continue;
			}
		}
		s = &f->slots[p];
		st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		/* FREE: another thread is adding it; DEAD: being removed. */
		if (st & SLOT_LIVE)
			slot_seen(s, st, kport[i], now, aging, refresh, d);
	}
}

void sw_fdb_learn_bulk(struct sw_fdb *f, const struct sw_fdb_key *keys, const uint16_t *in_ports,
		       unsigned n, uint64_t now_ms)
{
	struct fdb_pstats d = { 0 };

	while (n > 0) {
		unsigned c = RTE_MIN(n, SW_FDB_BURST_MAX);

		learn_chunk(f, keys, in_ports, c, now_ms, &d);
		keys += c;
		in_ports += c;
		n -= c;
	}
	pstats_add(f, &d);
}

/* ---- control thread ---- */

unsigned sw_fdb_age(struct sw_fdb *f, uint64_t now_ms)
{
	uint32_t aging = f->aging_ms;
	unsigned n = 0;
	uint32_t i;

	fdb_reclaim(f);
	if (aging == 0)
		return 0;
	for (i = 0; i < f->n_slots; i++) {
		struct fdb_slot *s = &f->slots[i];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		struct sw_fdb_key key;

		if (!(st & SLOT_LIVE) || !slot_expired(s, st, now_ms, aging))
			continue;
		/* A station heard again right now is removed all the same and
		 * learned again from its next frame. */
		if (slot_key(f, i, &key) == 0 && (fdb_remove(f, &key) & SLOT_LIVE))
			n++;
	}
	f->aged += n;
	fdb_commit(f);
	return n;
}

void sw_fdb_set_aging(struct sw_fdb *f, uint32_t aging_ms)
{
	__atomic_store_n(&f->refresh_ms, refresh_for(aging_ms), __ATOMIC_RELAXED);
	__atomic_store_n(&f->aging_ms, aging_ms, __ATOMIC_RELAXED);
}

unsigned sw_fdb_flush(struct sw_fdb *f, uint16_t port, bool include_static)
{
	unsigned n = 0;
	uint32_t i;

	fdb_reclaim(f);
	for (i = 0; i < f->n_slots; i++) {
		uint32_t st = __atomic_load_n(&f->slots[i].state, __ATOMIC_ACQUIRE);
		struct sw_fdb_key key;

		if (!(st & SLOT_LIVE) || ((st & SLOT_STATIC) && !include_static) ||
		    (port != SW_FDB_MISS && (st & SLOT_PORT_MASK) != port))
			continue;
		if (slot_key(f, i, &key) == 0 && (fdb_remove(f, &key) & SLOT_LIVE))
			n++;
	}
	f->flushed += n;
	fdb_commit(f);
	return n;
}

int sw_fdb_add_static(struct sw_fdb *f, const struct sw_fdb_key *key, uint16_t port)
{
	uint32_t state = SLOT_LIVE | SLOT_STATIC | port;
	struct fdb_pstats d = { 0 };
	int attempt;

	if (mac_is_multicast(key->mac) || port == SW_FDB_MISS)
		return -EINVAL;
	if (rte_lcore_id() >= RTE_MAX_LCORE)
		return -ENOSPC;
	fdb_reclaim(f);
	for (attempt = 0; attempt < 4; attempt++) {
		int32_t p = rte_hash_lookup(f->h, key);
		uint32_t old;

		if (p < 0) {
			if (fdb_add(f, key, state, 0, &p, &d)) {
				f->statics++;
				return 0;
			}
			if (p < 0) {
				/* Full, or positions still in their grace period. */
				fdb_reclaim(f);
				continue;
			}
		}
		/* Present (or added by a polling thread just now): make it static. */
		old = __atomic_load_n(&f->slots[p].state, __ATOMIC_ACQUIRE);
		while (old & SLOT_LIVE) {
			if (__atomic_compare_exchange_n(&f->slots[p].state, &old, state, false,
							__ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
				if (!(old & SLOT_STATIC))
					f->statics++;
				return 0;
			}
		}
		/* Still FREE: a polling thread is between its add and its claim;
		 * only a live slot can be changed, so try again. */
		rte_pause();
	}
	return -ENOSPC;
}

int sw_fdb_del(struct sw_fdb *f, const struct sw_fdb_key *key)
{
	int ret;

	fdb_reclaim(f);
	ret = (fdb_remove(f, key) & SLOT_LIVE) ? 0 : -ENOENT;
	fdb_commit(f);
	return ret;
}

static void fill_info(const struct fdb_slot *s, uint32_t st, const struct sw_fdb_key *key,
		      uint64_t now, struct sw_fdb_entry_info *info)
{
	info->key = *key;
	info->port = (uint16_t)(st & SLOT_PORT_MASK);
	info->is_static = st & SLOT_STATIC;
	info->age_ms = 0;
	if (!info->is_static) {
		int64_t age = (int64_t)(now - __atomic_load_n(&s->seen, __ATOMIC_RELAXED));

		info->age_ms = age <= 0 ? 0 : (uint32_t)RTE_MIN(age, (int64_t)UINT32_MAX);
	}
}

int sw_fdb_get(struct sw_fdb *f, const struct sw_fdb_key *key, uint64_t now_ms,
	       struct sw_fdb_entry_info *info)
{
	int32_t p = rte_hash_lookup(f->h, key);
	const struct fdb_slot *s;
	uint32_t st;

	if (p < 0)
		return -ENOENT;
	s = &f->slots[p];
	st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
	if (!(st & SLOT_LIVE) || slot_expired(s, st, now_ms, f->aging_ms))
		return -ENOENT;
	fill_info(s, st, key, now_ms, info);
	return 0;
}

void sw_fdb_walk(struct sw_fdb *f, uint64_t now_ms,
		 int (*fn)(const struct sw_fdb_entry_info *e, void *opaque), void *opaque)
{
	uint32_t i;

	for (i = 0; i < f->n_slots; i++) {
		const struct fdb_slot *s = &f->slots[i];
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
		struct sw_fdb_entry_info info;
		struct sw_fdb_key key;

		if (!(st & SLOT_LIVE) || slot_expired(s, st, now_ms, f->aging_ms) ||
		    slot_key(f, i, &key) != 0)
			continue;
		fill_info(s, st, &key, now_ms, &info);
		if (fn(&info, opaque) != 0)
			return;
	}
}

void sw_fdb_get_stats(struct sw_fdb *f, struct sw_fdb_stats *s)
{
	unsigned i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i <= RTE_MAX_LCORE; i++) {
		const struct fdb_pstats *p = &f->pstats[i];

		s->hits += __atomic_load_n(&p->hits, __ATOMIC_RELAXED);
		s->misses += __atomic_load_n(&p->misses, __ATOMIC_RELAXED);
		s->learned += __atomic_load_n(&p->learned, __ATOMIC_RELAXED);
		s->moved += __atomic_load_n(&p->moved, __ATOMIC_RELAXED);
		s->learn_full += __atomic_load_n(&p->learn_full, __ATOMIC_RELAXED);
	}
	s->entries = __atomic_load_n(&f->live, __ATOMIC_RELAXED);
	s->statics = f->statics;
	s->aged = f->aged;
	s->flushed = f->flushed;
}
