/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * --nic parsing (vmm/nic_config.c): the queues=, iothreads=, vectors= and
 * event_idx= keys of a virtio NIC, the addr= key of both kinds, the vhost
 * keys (vhost-user=, server=, offload=, vhost-net=), their defaults and
 * every error, plus the keys around them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/nic.h"

static char err[1024];

/* Parses spec, expecting success; the caller clears cfg. */
static void parse_ok(const char *spec, struct nic_config *cfg)
{
	err[0] = '\0';
	if (nic_config_parse(spec, cfg, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", spec, err);
}

/* Parses spec, expecting -EINVAL with one line of err containing `want`. */
static void parse_bad(const char *spec, const char *want)
{
	struct nic_config cfg;
	int ret;

	err[0] = '\0';
	ret = nic_config_parse(spec, &cfg, err, sizeof(err));
	if (ret != -EINVAL)
		fail_msg("'%s': returned %d, expected -EINVAL (err '%s')", spec, ret, err);
	if (!strstr(err, want))
		fail_msg("'%s': error '%s' does not say '%s'", spec, err, want);
	assert_null(strchr(err, '\n'));
	/* A failed parse leaves nothing allocated. */
	assert_null(cfg.tap);
	assert_null(cfg.pcap_in);
	assert_null(cfg.pcap_out);
}

static void test_defaults(void **state)
{
	struct nic_config cfg;

	(void)state;
	parse_ok("virtio,tap=t0", &cfg);
	assert_int_equal(cfg.kind, NIC_KIND_VIRTIO);
	assert_int_equal(cfg.queues, 1);
	assert_int_equal(cfg.iothreads, 1);
	assert_false(cfg.queues_given);
	assert_false(cfg.iothreads_given);
	nic_config_clear(&cfg);

	/* iothreads defaults to queues: one thread per pair. */
	parse_ok("virtio,pcap-out=out.pcap,queues=4", &cfg);
	assert_int_equal(cfg.queues, 4);
	assert_int_equal(cfg.iothreads, 4);
	assert_true(cfg.queues_given);
	assert_false(cfg.iothreads_given);
	nic_config_clear(&cfg);

	/* An e1000 has one queue and no I/O thread of its own. */
	parse_ok("e1000,tap=t0", &cfg);
	assert_int_equal(cfg.kind, NIC_KIND_E1000);
	assert_int_equal(cfg.queues, 1);
	assert_int_equal(cfg.iothreads, 0);
	nic_config_clear(&cfg);
}

static void test_accepted(void **state)
{
	static const struct {
		const char *spec;
		unsigned int queues, iothreads;
	} cases[] = {
		{ "virtio,tap=t0,queues=1", 1, 1 },
		{ "virtio,tap=t0,queues=2", 2, 2 },
		{ "virtio,tap=t0,queues=16", 16, 16 },
		{ "virtio,tap=t0,queues=0x8", 8, 8 },
		{ "virtio,tap=t0,queues=4,iothreads=1", 4, 1 },
		{ "virtio,tap=t0,queues=4,iothreads=2", 4, 2 },
		{ "virtio,tap=t0,queues=4,iothreads=4", 4, 4 },
		{ "virtio,tap=t0,queues=16,iothreads=16", 16, 16 },
		{ "virtio,tap=t0,iothreads=1", 1, 1 },
		/* Either order: the check against queues= comes at the end. */
		{ "virtio,iothreads=3,queues=8,tap=t0", 8, 3 },
		{ "virtio-net,pcap-in=in.pcap,pcap-out=out.pcap,queues=3,iothreads=2", 3, 2 },
		{ "virtio,queues=2,mac=52:54:00:12:34:56,pcap-out=o.pcap", 2, 2 },
	};
	struct nic_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].spec, &cfg);
		if (cfg.queues != cases[i].queues || cfg.iothreads != cases[i].iothreads)
			fail_msg("'%s': queues %u iothreads %u, expected %u and %u", cases[i].spec,
				 cfg.queues, cfg.iothreads, cases[i].queues, cases[i].iothreads);
		assert_int_equal(cfg.kind, NIC_KIND_VIRTIO);
		nic_config_clear(&cfg);
	}
	/* The other keys still work beside them. */
	parse_ok("virtio,tap=t0,queues=2,mac=52:54:00:12:34:56", &cfg);
	assert_string_equal(cfg.tap, "t0");
	assert_true(cfg.mac_given);
	assert_int_equal(cfg.mac[5], 0x56);
	nic_config_clear(&cfg);
}

static void test_queues_errors(void **state)
{
	(void)state;
	parse_bad("virtio,tap=t0,queues=0", "queues=0: must be a whole number from 1 to 16");
	parse_bad("virtio,tap=t0,queues=17", "queues=17: must be a whole number from 1 to 16");
	parse_bad("virtio,tap=t0,queues=99999999999999999999", "queues=");
	parse_bad("virtio,tap=t0,queues=four", "queues=four: must be a whole number");
	parse_bad("virtio,tap=t0,queues=4x", "queues=4x: must be a whole number");
	parse_bad("virtio,tap=t0,queues=-1", "queues=-1: must be a whole number");
	parse_bad("virtio,tap=t0,queues=", "queues=: must be a whole number");
	parse_bad("virtio,tap=t0,queues=2,queues=2", "queues= given twice");
	parse_bad("e1000,tap=t0,queues=2", "queues= is for virtio NICs");
	parse_bad("e1000,tap=t0,queues=1", "queues= is for virtio NICs");
}

static void test_iothreads_errors(void **state)
{
	(void)state;
	parse_bad("virtio,tap=t0,queues=4,iothreads=0",
		  "iothreads=0: must be a whole number from 1 to 16");
	parse_bad("virtio,tap=t0,queues=4,iothreads=17",
		  "iothreads=17: must be a whole number from 1 to 16");
	parse_bad("virtio,tap=t0,queues=4,iothreads=two", "iothreads=two: must be a whole number");
	parse_bad("virtio,tap=t0,queues=4,iothreads=5", "iothreads=5 is more than queues=4");
	parse_bad("virtio,tap=t0,iothreads=5,queues=4", "iothreads=5 is more than queues=4");
	/* Without queues= there is one pair: one thread at most. */
	parse_bad("virtio,tap=t0,iothreads=2", "iothreads=2 is more than queues=1");
	parse_bad("virtio,tap=t0,queues=4,iothreads=2,iothreads=2", "iothreads= given twice");
	parse_bad("e1000,tap=t0,iothreads=1", "iothreads= is for virtio NICs");
}

static void test_other_errors(void **state)
{
	(void)state;
	parse_bad("virtio,tap=t0,queue=2",
		  "unknown key 'queue' (keys: tap, pcap-in, pcap-out, vhost-user, server, "
		  "offload, vhost-net, mac, mtu, queues, iothreads, vectors, event_idx, addr)");
	parse_bad("virtio,tap=t0,queues",
		  "'queues' is not KEY=VALUE (keys: tap, pcap-in, pcap-out, vhost-user, server, "
		  "offload, vhost-net, mac, mtu, queues, iothreads, vectors, event_idx, addr)");
	/* The backend checks still come first when the keys parse. */
	parse_bad("virtio,queues=2", "no backend");
	parse_bad("virtio,tap=t0,pcap-out=o.pcap,queues=2", "two backends");
	parse_bad("virtio,tap=t0,queues=2,mac=01:02:03:04:05:06", "multicast");
}

static void test_vectors_event_idx(void **state)
{
	struct nic_config cfg;

	(void)state;
	/* Defaults: MSI-X and EVENT_IDX. */
	parse_ok("virtio,tap=t0", &cfg);
	assert_false(cfg.no_msix);
	assert_false(cfg.vectors_given);
	assert_false(cfg.no_event_idx);
	assert_false(cfg.event_idx_given);
	assert_int_equal(cfg.pci_slot, 0);
	nic_config_clear(&cfg);

	parse_ok("virtio,tap=t0,vectors=0,event_idx=off", &cfg);
	assert_true(cfg.no_msix);
	assert_true(cfg.no_event_idx);
	nic_config_clear(&cfg);
	/* The default count, 2N + 2, is accepted and keeps MSI-X; before or after queues=. */
	parse_ok("virtio,tap=t0,vectors=4", &cfg);
	assert_false(cfg.no_msix);
	assert_true(cfg.vectors_given);
	nic_config_clear(&cfg);
	parse_ok("virtio,tap=t0,vectors=10,queues=4", &cfg);
	assert_false(cfg.no_msix);
	nic_config_clear(&cfg);
	parse_ok("virtio,tap=t0,queues=16,vectors=0x22", &cfg);
	assert_false(cfg.no_msix);
	nic_config_clear(&cfg);
	parse_ok("virtio,tap=t0,queues=4,vectors=0", &cfg);
	assert_true(cfg.no_msix);
	assert_int_equal(cfg.queues, 4);
	nic_config_clear(&cfg);
	/* event_idx=on is the default, said out loud; QEMU's other boolean words too. */
	static const struct {
		const char *val;
		bool off;
	} ei[] = { { "on", false }, { "off", true },   { "yes", false },
		   { "no", true },  { "true", false }, { "false", true } };
	for (size_t i = 0; i < sizeof(ei) / sizeof(ei[0]); i++) {
		char spec[64];

		snprintf(spec, sizeof(spec), "virtio,tap=t0,event_idx=%s", ei[i].val);
		parse_ok(spec, &cfg);
		if (cfg.no_event_idx != ei[i].off || !cfg.event_idx_given)
			fail_msg("'%s': no_event_idx %d", spec, cfg.no_event_idx);
		assert_false(cfg.no_msix);
		nic_config_clear(&cfg);
	}
}

static void test_vectors_event_idx_errors(void **state)
{
	(void)state;
	parse_bad("virtio,tap=t0,vectors=1",
		  "vectors=1: supported are 0 (no MSI-X: INTx) and 4 (2 * queues + 2, the "
		  "default)");
	parse_bad("virtio,tap=t0,vectors=3", "vectors=3: supported are 0");
	parse_bad("virtio,tap=t0,vectors=5", "vectors=5: supported are 0");
	/* 2N + 2 of the queues= given, wherever vectors= stands. */
	parse_bad("virtio,tap=t0,vectors=4,queues=2", "vectors=4: supported are 0 (no MSI-X: "
						      "INTx) and 6 (2 * queues + 2");
	parse_bad("virtio,tap=t0,queues=2,vectors=10", "and 6 (2 * queues + 2");
	parse_bad("virtio,tap=t0,vectors=99999", "vectors=99999: supported are 0");
	parse_bad("virtio,tap=t0,vectors=zero", "vectors=zero: supported are 0");
	parse_bad("virtio,tap=t0,vectors=-1", "vectors=-1: supported are 0");
	parse_bad("virtio,tap=t0,vectors=", "vectors=: supported are 0");
	parse_bad("virtio,tap=t0,vectors=0,vectors=0", "vectors= given twice");
	parse_bad("e1000,tap=t0,vectors=0", "vectors= is for virtio NICs");
	parse_bad("e1000,tap=t0,vectors=4", "vectors= is for virtio NICs");

	parse_bad("virtio,tap=t0,event_idx=", "event_idx=: must be on or off");
	parse_bad("virtio,tap=t0,event_idx=0", "event_idx=0: must be on or off");
	parse_bad("virtio,tap=t0,event_idx=OFF", "event_idx=OFF: must be on or off");
	parse_bad("virtio,tap=t0,event_idx=off,event_idx=off", "event_idx= given twice");
	parse_bad("virtio,tap=t0,event_idx=on,event_idx=off", "event_idx= given twice");
	parse_bad("e1000,tap=t0,event_idx=off", "event_idx= is for virtio NICs");
	parse_bad("e1000,tap=t0,event_idx=on", "event_idx= is for virtio NICs");
}

static void test_addr(void **state)
{
	static const struct {
		const char *spec;
		unsigned int slot;
	} cases[] = {
		{ "virtio,tap=t0,addr=1", 1 },
		{ "virtio,tap=t0,addr=3", 3 },
		{ "virtio,tap=t0,addr=11", 11 },
		{ "virtio,tap=t0,addr=31", 31 },
		/* Decimal even with a leading zero (not octal); 0x for hex. */
		{ "virtio,tap=t0,addr=011", 11 },
		{ "virtio,tap=t0,addr=0x3", 3 },
		{ "virtio,tap=t0,addr=0x1f", 31 },
		{ "virtio,tap=t0,addr=0X0b", 11 },
		/* Function 0 written out, as QEMU's slot.function. */
		{ "virtio,tap=t0,addr=3.0", 3 },
		{ "virtio,tap=t0,addr=0x3.0", 3 },
		{ "e1000,tap=t0,addr=7", 7 },
		{ "e1000,pcap-out=o.pcap,addr=0x1e.0", 30 },
		{ "virtio,addr=5,tap=t0,vectors=0", 5 },
	};
	struct nic_config cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].spec, &cfg);
		if (cfg.pci_slot != cases[i].slot)
			fail_msg("'%s': slot %u, expected %u", cases[i].spec, cfg.pci_slot,
				 cases[i].slot);
		nic_config_clear(&cfg);
	}
}

static void test_addr_errors(void **state)
{
	(void)state;
	parse_bad("virtio,tap=t0,addr=0", "addr=0: slot 0 is taken by the host bridge");
	parse_bad("e1000,tap=t0,addr=0x0.0", "addr=0x0.0: slot 0 is taken by the host bridge");
	parse_bad("virtio,tap=t0,addr=32", "addr=32: out of range (slots 1 to 31)");
	parse_bad("virtio,tap=t0,addr=0x20", "addr=0x20: out of range (slots 1 to 31)");
	parse_bad("virtio,tap=t0,addr=450", "addr=450: out of range (slots 1 to 31)");
	parse_bad("virtio,tap=t0,addr=99999999999999999999",
		  "addr=99999999999999999999: out of range (slots 1 to 31)");
	parse_bad("virtio,tap=t0,addr=3.1", "addr=3.1: a NIC is function 0 of its slot");
	parse_bad("virtio,tap=t0,addr=3.00", "function 0 of its slot");
	parse_bad("virtio,tap=t0,addr=3.", "function 0 of its slot");
	parse_bad("virtio,tap=t0,addr=", "addr=: not a PCI slot");
	parse_bad("virtio,tap=t0,addr=0x", "addr=0x: not a PCI slot");
	parse_bad("virtio,tap=t0,addr=.0", "addr=.0: not a PCI slot");
	parse_bad("virtio,tap=t0,addr=1f", "addr=1f: not a PCI slot");
	parse_bad("virtio,tap=t0,addr=-1", "addr=-1: not a PCI slot");
	parse_bad("virtio,tap=t0,addr=3,addr=4", "addr= given twice");
	parse_bad("e1000,tap=t0,addr=3,addr=3", "addr= given twice");
}

/* addr= across NICs: one slot each; the others' slots are passed on. */
static void test_finish_addr(void **state)
{
	struct nic_config cfgs[3];

	(void)state;
	parse_ok("e1000,tap=t0", &cfgs[0]);
	parse_ok("virtio,tap=t1,addr=1", &cfgs[1]);
	parse_ok("e1000,tap=t2,addr=0x0b", &cfgs[2]);
	assert_int_equal(nic_configs_finish(cfgs, 3, "vm", err, sizeof(err)), 0);
	assert_int_equal(cfgs[0].others_slots, 1u << 1 | 1u << 11);
	assert_int_equal(cfgs[1].others_slots, 1u << 11);
	assert_int_equal(cfgs[2].others_slots, 1u << 1);
	for (int i = 0; i < 3; i++)
		nic_config_clear(&cfgs[i]);

	parse_ok("e1000,tap=t0,addr=3", &cfgs[0]);
	parse_ok("virtio,tap=t1", &cfgs[1]);
	parse_ok("virtio,tap=t2,addr=3.0", &cfgs[2]);
	err[0] = '\0';
	assert_int_equal(nic_configs_finish(cfgs, 3, "vm", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "NIC 2: addr=3: PCI slot 3 is taken by NIC 0 (addr=3)");
	for (int i = 0; i < 3; i++)
		nic_config_clear(&cfgs[i]);
}

static void test_finish(void **state)
{
	struct nic_config cfgs[2];

	(void)state;
	parse_ok("virtio,tap=t0,queues=4,iothreads=2", &cfgs[0]);
	parse_ok("e1000,tap=t1", &cfgs[1]);
	assert_int_equal(nic_configs_finish(cfgs, 2, "vm", err, sizeof(err)), 0);
	assert_int_equal(cfgs[0].queues, 4);
	assert_int_equal(cfgs[0].iothreads, 2);
	assert_int_equal(cfgs[0].mac[0] & 3, 2); /* generated: local, unicast */
	nic_config_clear(&cfgs[0]);
	nic_config_clear(&cfgs[1]);
}

/* vhost-user=, server=, offload=, vhost-net=: the modes they select, and every refusal. */
static void test_vhost_keys(void **state)
{
	struct nic_config cfgs[2], cfg;
	char longp[200];

	(void)state;
	parse_ok("virtio,vhost-user=/run/vm0.sock,queues=4", &cfg);
	assert_string_equal(cfg.vhost_user, "/run/vm0.sock");
	assert_true(cfg.server); /* nfv-vmm listens by default */
	assert_true(nic_config_vhost_mode(&cfg));
	nic_config_clear(&cfg);
	assert_null(cfg.vhost_user);

	parse_ok("virtio,vhost-user=/run/vm0.sock,server=off,offload=off", &cfg);
	assert_false(cfg.server);
	assert_true(cfg.offload_off);
	assert_false(nic_config_vhost_mode(&cfg)); /* the relay */
	nic_config_clear(&cfg);

	parse_ok("e1000,vhost-user=/run/vm0.sock,server=on", &cfg);
	assert_false(nic_config_vhost_mode(&cfg)); /* an e1000 always relays */
	nic_config_clear(&cfg);

	parse_ok("virtio,tap=t0,vhost-net=on", &cfg);
	assert_true(cfg.vhost_net);
	nic_config_clear(&cfg);

	parse_bad("virtio,tap=t0,vhost-user=/s", "two backends (tap= and vhost-user=)");
	parse_bad("virtio,pcap-out=o.pcap,vhost-user=/s", "two backends");
	parse_bad("virtio,tap=t0,server=on", "server= goes with vhost-user=PATH");
	parse_bad("virtio,tap=t0,offload=off", "offload= goes with vhost-user=PATH");
	parse_bad("e1000,vhost-user=/s,offload=off", "offload= is for virtio NICs");
	parse_bad("virtio,vhost-user=/s,server=maybe", "server=maybe: must be on or off");
	parse_bad("virtio,vhost-user=/s,server=on,server=off", "server= given twice");
	parse_bad("virtio,vhost-user=/s,vhost-user=/t", "vhost-user= given twice");
	parse_bad("virtio,vhost-user=", "vhost-user= needs a value");
	parse_bad("e1000,tap=t0,vhost-net=on", "vhost-net= is for a virtio NIC with tap=NAME");
	parse_bad("virtio,vhost-user=/s,vhost-net=on",
		  "vhost-net= is for a virtio NIC with tap=NAME");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	{
		char spec[256];

		snprintf(spec, sizeof(spec), "virtio,vhost-user=%s", longp);
		err[0] = '\0';
		assert_int_equal(nic_config_parse(spec, &cfg, err, sizeof(err)), -ENAMETOOLONG);
		assert_non_null(strstr(err, "longer than a Unix socket path"));
	}

	/* mtu=: 1500 by default, 68 to 9000; an e1000 only for the relay. */
	parse_ok("virtio,tap=t0", &cfg);
	assert_int_equal(cfg.mtu, 1500);
	nic_config_clear(&cfg);
	parse_ok("virtio,vhost-user=/s,mtu=9000", &cfg);
	assert_int_equal(cfg.mtu, 9000);
	nic_config_clear(&cfg);
	parse_ok("e1000,vhost-user=/s,mtu=68", &cfg);
	assert_int_equal(cfg.mtu, 68);
	nic_config_clear(&cfg);
	parse_bad("virtio,tap=t0,mtu=9001", "mtu=9001: must be a whole number from 68 to 9000");
	parse_bad("virtio,tap=t0,mtu=67", "from 68 to 9000");
	parse_bad("virtio,tap=t0,mtu=1500,mtu=1500", "mtu= given twice");
	parse_bad("e1000,tap=t0,mtu=9000", "mtu= on an e1000 is for vhost-user=");

	/* Two NICs on one socket. */
	parse_ok("virtio,vhost-user=/run/a.sock", &cfgs[0]);
	parse_ok("e1000,vhost-user=/run/a.sock", &cfgs[1]);
	assert_int_equal(nic_configs_finish(cfgs, 2, "vm", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "same vhost-user socket /run/a.sock"));
	nic_config_clear(&cfgs[0]);
	nic_config_clear(&cfgs[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_queues_errors),
		cmocka_unit_test(test_iothreads_errors),
		cmocka_unit_test(test_other_errors),
		cmocka_unit_test(test_vectors_event_idx),
		cmocka_unit_test(test_vectors_event_idx_errors),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_addr_errors),
		cmocka_unit_test(test_finish_addr),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_vhost_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
