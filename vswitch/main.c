/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchd: the DPDK virtual switch.
 *
 *   nfv-switchd --config FILE [--ctl PATH] [--pmd-cores LIST] [-- EAL arguments]
 *   nfv-switchd --port SPEC [--port SPEC]... [options] [-- EAL arguments]
 *
 * Threads: the main thread is EAL's main lcore and runs the control side
 * (event loop: control socket, periodic aging and link checks, signals);
 * the polling threads run on the pmd cores (datapath.c); DPDK's telemetry
 * thread answers /nfv/... commands (telemetry.c).
 */
#define LOG_COMPONENT "main"
#include "common/evloop.h"
#include "common/log.h"
#include "common/util.h"
#include "vswitch/ctl.h"
#include "vswitch/sw_config.h"
#include "vswitch/switch.h"
#include "vswitch/telemetry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#define MAX_EAL_ARGS 64
#define HUGE_MIN_MB 256		/* free hugepage memory below which --no-huge is used */
#define NOHUGE_MEM_MB "1024"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: nfv-switchd --config FILE [options] [-- EAL arguments]\n"
		"       nfv-switchd --port SPEC [--port SPEC]... [options] [-- EAL arguments]\n"
		"\n"
		"The nfvkit DPDK virtual switch: bridges with MAC learning, VLAN access and\n"
		"trunk ports, policing, shaping and mirroring, over vhost-user, tap,\n"
		"af_packet, af_xdp, pcap and DPDK PCI ports.\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE     YAML configuration (docs/vswitch.md)\n"
		"  -p, --port SPEC       a port of bridge br0 (repeatable), one of:\n"
		"                          vhost-user:PATH[,server][,queues=N]\n"
		"                          tap:IFNAME  af_packet:IFNAME  af_xdp:IFNAME\n"
		"                          pcap:in=FILE,out=FILE  dpdk:PCI-ADDRESS\n"
		"                        each with [,name=NAME][,mtu=N]\n"
		"                        [,vlan=N | ,trunk=LIST[,native=N]]\n"
		"      --pmd-cores LIST  polling threads' cores, e.g. 0 or 0,1 (default 0)\n"
		"      --ctl PATH        control socket (default %s; \"none\" for none)\n"
		"  -l, --log-level LVL   error, warn, info (default) or debug\n"
		"  -h, --help            this text\n"
		"  -V, --version         the version\n"
		"\n"
		"EAL arguments after \"--\" go to DPDK unchanged. Without -l/--lcores the\n"
		"switch gives each pmd core its own lcore and runs the control thread on\n"
		"the other CPUs. Without --no-huge/-m/--socket-mem it uses hugepages when at\n"
		"least %d MB are free, else --no-huge -m " NOHUGE_MEM_MB
		" when every port is a virtual device.\n"
		"\n"
		"Exit status: 0 stopped by a signal, 1 failure at run time or start-up,\n"
		"2 bad options or configuration.\n",
		NFV_SWITCHD_CTL_DEFAULT, HUGE_MIN_MB);
}

static bool has_arg(int argc, char **argv, const char *const *names)
{
	for (int i = 0; i < argc; i++)
		for (const char *const *n = names; *n; n++) {
			size_t len = strlen(*n);

			if (!strncmp(argv[i], *n, len) && (argv[i][len] == '\0' || argv[i][len] == '='))
				return true;
		}
	return false;
}

/* Free hugepage memory in MB, over every page size. */
static unsigned long free_huge_mb(void)
{
	unsigned long total = 0;
	glob_t g;

	if (glob("/sys/kernel/mm/hugepages/hugepages-*kB/free_hugepages", 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		unsigned long kb = 0, n = 0;
		FILE *f;

		if (sscanf(g.gl_pathv[i], "/sys/kernel/mm/hugepages/hugepages-%lukB", &kb) != 1)
			continue;
		f = fopen(g.gl_pathv[i], "r");
		if (!f)
			continue;
		if (fscanf(f, "%lu", &n) == 1)
			total += n * kb / 1024;
		fclose(f);
	}
	globfree(&g);
	return total;
}

static int online_cpus(cpu_set_t *set)
{
	CPU_ZERO(set);
	return sched_getaffinity(0, sizeof(*set), set);
}

/* "--lcores=0@0,2@(1)": each pmd core its own lcore on that CPU, the main
 * lcore on the remaining CPUs (or all of them when none remain). */
static int build_lcores(const struct sw_config *cfg, char *buf, size_t len, unsigned *main_lc)
{
	cpu_set_t cpus, rest;
	unsigned max = 0;
	size_t n;

	if (online_cpus(&cpus))
		return -errno;
	rest = cpus;
	n = (size_t)snprintf(buf, len, "--lcores=");
	for (unsigned i = 0; i < cfg->n_pmd_cores; i++) {
		unsigned c = cfg->pmd_cores[i];

		if (!CPU_ISSET(c, &cpus))
			return -ENODEV;
		CPU_CLR(c, &rest);
		if (c > max)
			max = c;
		n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%u@%u", i ? "," : "", c,
				      c);
	}
	if (CPU_COUNT(&rest) == 0)
		rest = cpus;
	*main_lc = max + 1;
	n += (size_t)snprintf(buf + n, len > n ? len - n : 0, ",%u@(", *main_lc);
	bool first = true;

	for (unsigned c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &rest)) {
			n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%u",
					      first ? "" : ",", c);
			first = false;
		}
	n += (size_t)snprintf(buf + n, len > n ? len - n : 0, ")");
	return n < len ? 0 : -ENAMETOOLONG;
}

static bool all_vdev(const struct sw_config *cfg)
{
	for (unsigned i = 0; i < cfg->n_ports; i++)
		if (cfg->ports[i].type == SW_PORT_DPDK)
			return false;
	return true;
}

/* Empties and removes EAL's runtime directory (only files, no subdirectories). */
static void remove_rundir(const char *dir)
{
	struct dirent *de;
	DIR *d;

	if (!dir[0] || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	rmdir(dir);
}

struct ctx {
	struct sw_switch *sw;
	struct evloop *loop;
	int sfd;
	int signo;
};

static void on_signal(int fd, uint32_t events, void *opaque)
{
	struct ctx *c = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		c->signo = (int)si.ssi_signo;
		evloop_stop(c->loop);
	}
}

static void on_tick(struct ev_timer *t, void *opaque)
{
	struct ctx *c = opaque;

	sw_switch_periodic(c->sw);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "port", required_argument, NULL, 'p' },
		{ "pmd-cores", required_argument, NULL, 'P' },
		{ "ctl", required_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sw_config cfg;
	const char *config = NULL, *ctl_path = NFV_SWITCHD_CTL_DEFAULT, *cores = NULL;
	const char *ports[SW_MAX_PORTS];
	unsigned n_ports = 0;
	bool ctl_given = false;
	char err[512];
	int opt, eal_argc = 0, user_argc, rc, status = NFV_EXIT_FAILURE;
	char **user_argv;
	char *eal_argv[MAX_EAL_ARGS];
	char lcores[256], main_lcore[32], rundir[512] = "";
	struct ctx c = { .sfd = -1 };
	struct sw_ctl *ctl = NULL;
	struct ev_timer *tick = NULL;

	log_set_program("nfv-switchd");
	while ((opt = getopt_long(argc, argv, "c:p:l:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case 'p':
			if (n_ports == SW_MAX_PORTS) {
				fprintf(stderr, "nfv-switchd: at most %u --port\n", SW_MAX_PORTS);
				return NFV_EXIT_USAGE;
			}
			ports[n_ports++] = optarg;
			break;
		case 'P':
			cores = optarg;
			break;
		case 'C':
			ctl_path = optarg;
			ctl_given = true;
			break;
		case 'l': {
			enum log_level lvl;

			if (log_parse_level(optarg, &lvl)) {
				fprintf(stderr,
					"nfv-switchd: bad --log-level '%s' (error, warn, info, debug)\n",
					optarg);
				return NFV_EXIT_USAGE;
			}
			log_set_level(lvl);
			break;
		}
		case 'h':
			usage(stdout);
			return NFV_EXIT_OK;
		case 'V':
			printf("nfv-switchd %s\n", NFV_VERSION);
			return NFV_EXIT_OK;
		default:
			usage(stderr);
			return NFV_EXIT_USAGE;
		}
	}
	user_argc = argc - optind;
	user_argv = argv + optind;
	if (user_argc > 0 && optind > 0 && strcmp(argv[optind - 1], "--")) {
		fprintf(stderr, "nfv-switchd: unexpected argument '%s' (EAL arguments go after --)\n",
			user_argv[0]);
		return NFV_EXIT_USAGE;
	}
	if (!config && !n_ports) {
		fprintf(stderr, "nfv-switchd: give --config FILE or at least one --port (--help)\n");
		return NFV_EXIT_USAGE;
	}

	/* The whole configuration is checked before anything starts. */
	if (config) {
		if (sw_config_load_file(config, &cfg, err, sizeof(err))) {
			fprintf(stderr, "nfv-switchd: %s\n", err);
			return NFV_EXIT_USAGE;
		}
	} else {
		sw_config_init(&cfg);
	}
	for (unsigned i = 0; i < n_ports; i++)
		if (sw_config_add_cli_port(&cfg, ports[i], err, sizeof(err))) {
			fprintf(stderr, "nfv-switchd: %s\n", err);
			return NFV_EXIT_USAGE;
		}
	if (cores && sw_config_parse_cores(&cfg, cores, err, sizeof(err))) {
		fprintf(stderr, "nfv-switchd: --pmd-cores: %s\n", err);
		return NFV_EXIT_USAGE;
	}
	if (sw_config_validate(&cfg, err, sizeof(err))) {
		fprintf(stderr, "nfv-switchd: %s\n", err);
		return NFV_EXIT_USAGE;
	}
	if (cfg.ctl[0] && !ctl_given)
		ctl_path = cfg.ctl;

	/* EAL arguments: ours first, the user's after (theirs win). */
	static const char *const lcore_args[] = { "-l", "--lcores", "-c", NULL };
	static const char *const mem_args[] = { "--no-huge", "-m", "--socket-mem", NULL };
	static const char *const prefix_args[] = { "--file-prefix", NULL };
	static const char *const shconf_args[] = { "--in-memory", "--no-shconf", NULL };
	static const char *const log_args[] = { "--log-level", NULL };

	eal_argv[eal_argc++] = argv[0];
	if (!has_arg(user_argc, user_argv, lcore_args)) {
		unsigned main_lc = 0;

		if (!cfg.n_pmd_cores) {
			cfg.pmd_cores[0] = 0;
			cfg.n_pmd_cores = 1;
		}
		rc = build_lcores(&cfg, lcores, sizeof(lcores), &main_lc);
		if (rc == -ENODEV) {
			fprintf(stderr, "nfv-switchd: --pmd-cores: a core is not online or not "
					"allowed for this process\n");
			return NFV_EXIT_USAGE;
		}
		if (rc) {
			fprintf(stderr, "nfv-switchd: cannot build the EAL lcore map: %s\n",
				strerror(-rc));
			return NFV_EXIT_FAILURE;
		}
		snprintf(main_lcore, sizeof(main_lcore), "--main-lcore=%u", main_lc);
		eal_argv[eal_argc++] = lcores;
		eal_argv[eal_argc++] = main_lcore;
	}
	if (!has_arg(user_argc, user_argv, mem_args)) {
		unsigned long mb = free_huge_mb();

		if (mb >= HUGE_MIN_MB) {
			log_info("using hugepages (%lu MB free)", mb);
		} else if (all_vdev(&cfg)) {
			log_info("running without hugepages (--no-huge -m %s): only %lu MB of "
				 "hugepages free and every port is a virtual device",
				 NOHUGE_MEM_MB, mb);
			eal_argv[eal_argc++] = "--no-huge";
			eal_argv[eal_argc++] = "-m";
			eal_argv[eal_argc++] = NOHUGE_MEM_MB;
		} else {
			fprintf(stderr,
				"nfv-switchd: a dpdk (PCI) port needs hugepages and only %lu MB are "
				"free: reserve some (echo 512 > /proc/sys/vm/nr_hugepages)\n",
				mb);
			return NFV_EXIT_FAILURE;
		}
	}
	/* Nothing shared with other DPDK processes; --in-memory cannot go with
	 * --no-huge, --no-shconf does the same there. Either way (ours or the
	 * user's) no other process shares the runtime directory (telemetry
	 * socket): it is removed at exit, whatever the exit. */
	if (!has_arg(user_argc, user_argv, shconf_args)) {
		bool nohuge = false;

		for (int i = 1; i < eal_argc; i++)
			nohuge |= !strcmp(eal_argv[i], "--no-huge");
		for (int i = 0; i < user_argc; i++)
			nohuge |= !strcmp(user_argv[i], "--no-huge");
		eal_argv[eal_argc++] = nohuge ? "--no-shconf" : "--in-memory";
	}
	if (!has_arg(user_argc, user_argv, prefix_args))
		eal_argv[eal_argc++] = "--file-prefix=nfv-switchd";
	/* Only the PCI devices of dpdk ports are probed; none at all without them. */
	static const char *const pci_args[] = { "--no-pci", "-a", "--allow", "-b", "--block",
						NULL };
	static char allow[SW_MAX_PORTS][SW_NAME_MAX + 4];

	if (!has_arg(user_argc, user_argv, pci_args)) {
		if (all_vdev(&cfg)) {
			eal_argv[eal_argc++] = "--no-pci";
		} else {
			for (unsigned i = 0; i < cfg.n_ports && eal_argc < MAX_EAL_ARGS - 8; i++) {
				if (cfg.ports[i].type != SW_PORT_DPDK)
					continue;
				snprintf(allow[i], sizeof(allow[i]), "-a%s", cfg.ports[i].pci);
				eal_argv[eal_argc++] = allow[i];
			}
		}
	}
	if (!has_arg(user_argc, user_argv, log_args))
		eal_argv[eal_argc++] = "--log-level=*:notice";
	if (eal_argc + user_argc >= MAX_EAL_ARGS) {
		fprintf(stderr, "nfv-switchd: too many EAL arguments\n");
		return NFV_EXIT_USAGE;
	}
	for (int i = 0; i < user_argc; i++)
		eal_argv[eal_argc++] = user_argv[i];
	eal_argv[eal_argc] = NULL;
	if (log_enabled(LOG_LVL_DEBUG)) {
		char line[1024];
		size_t n = 0;

		for (int i = 1; i < eal_argc; i++)
			n += (size_t)snprintf(line + n, n < sizeof(line) ? sizeof(line) - n : 0,
					      " %s", eal_argv[i]);
		log_debug("EAL arguments:%s", line);
	}
	/* Blocked before EAL starts its threads, so that they inherit the mask
	 * and the signals reach the control loop's signalfd. */
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		log_err("DPDK EAL did not start: %s", rte_strerror(rte_errno));
		return NFV_EXIT_FAILURE;
	}

	c.sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	c.loop = evloop_new();
	if (c.sfd < 0 || !c.loop) {
		log_err("cannot set up the control loop: %s", strerror(errno));
		goto out;
	}

	rc = sw_switch_create(&cfg, &c.sw, err, sizeof(err));
	if (rc) {
		log_err("%s", err);
		goto out;
	}
	if (strcmp(ctl_path, "none")) {
		rc = sw_ctl_open(c.loop, c.sw, ctl_path, &ctl, err, sizeof(err));
		if (rc) {
			log_err("%s", err);
			goto out;
		}
	}
	rc = sw_telemetry_register(c.sw);
	if (rc)
		log_warn("telemetry commands not registered: %s", strerror(-rc));
	tick = evloop_timer_new(c.loop, on_tick, &c);
	if (!tick || evloop_timer_arm(tick, 100000000ull, 100000000ull) ||
	    evloop_add_fd(c.loop, c.sfd, EPOLLIN, on_signal, &c)) {
		log_err("cannot set up the control loop");
		goto out;
	}
	{
		struct sw_switch_info si;

		sw_switch_get_info(c.sw, &si);
		log_info("running: %u bridge(s), %u port(s), %u mirror(s), %u polling thread(s)%s%s",
			 si.n_bridges, si.n_ports, si.n_mirrors, si.n_pmds,
			 ctl ? ", control socket " : "", ctl ? ctl_path : "");
	}
	evloop_run(c.loop);
	log_info("stopping (%s)", c.signo ? strsignal(c.signo) : "control loop ended");
	status = c.signo ? NFV_EXIT_OK : NFV_EXIT_FAILURE;
out:
	sw_ctl_close(ctl);
	sw_telemetry_unregister();
	sw_switch_destroy(c.sw);
	if (tick)
		evloop_timer_free(tick);
	if (c.loop)
		evloop_free(c.loop);
	if (c.sfd >= 0)
		close(c.sfd);
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	remove_rundir(rundir);
	return status;
}
