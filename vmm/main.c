/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-vmm: one process per VM. Parses the command line, builds the machine
 * (KVM, RAM, buses, platform devices, PCI), loads the kernel, starts the
 * vCPU threads and runs the event loop on the main thread until the VM
 * stops. Exit status: the guest's debug-exit value, 0 for a clean stop, 1
 * for a VM that failed, 2 for bad options or input.
 */
#define LOG_COMPONENT "vmm"
#include "common/log.h"
#include "vmm/acpi.h"
#include "vmm/api.h"
#include "vmm/console.h"
#include "vmm/kvm.h"
#include "vmm/nic.h"
#include "vmm/pci.h"
#include "vmm/serial.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#define KERNEL_MAX_SIZE (512 * MiB)
#define INITRD_MAX_SIZE (2 * GiB)

static const char usage_text[] =
	"Usage: nfv-vmm --kernel FILE [options]\n"
	"\n"
	"Runs one virtual machine under KVM.\n"
	"\n"
	"Guest:\n"
	"  -k, --kernel FILE        kernel: an ELF with a PVH entry note, or a Linux bzImage\n"
	"  -i, --initrd FILE        initial ramdisk\n"
	"  -a, --cmdline STR        kernel command line\n"
	"  -m, --mem SIZE           guest RAM, e.g. 512M or 2G (default 256M)\n"
	"  -c, --cpus N             vCPUs (default 1)\n"
	"      --hugepages          back RAM with 2 MiB hugepages (memfd on hugetlbfs)\n"
	"      --cpuid-mask LIST    hide CPUID features: names (xsave,cx16,avx2,...), 'safe'\n"
	"                           (cx16,xsave: for nested, software-emulated KVM) or 'none'\n"
	"\n"
	"NICs (repeat --nic for more, at most 8):\n"
	"      --nic e1000,tap=NAME[,mac=XX:XX:XX:XX:XX:XX]\n"
	"                           an e1000 on tap NAME (created when missing; needs\n"
	"                           CAP_NET_ADMIN)\n"
	"      --nic e1000,pcap-in=FILE[,pcap-out=FILE][,mac=...]\n"
	"      --nic e1000,pcap-out=FILE[,mac=...]\n"
	"                           an e1000 fed from a pcap file (replayed once when the\n"
	"                           guest enables RX) and/or recording what it sends\n"
	"      --nic virtio,tap=NAME|pcap-in=FILE|pcap-out=FILE[,mac=...]\n"
	"            [,queues=N][,iothreads=K][,vectors=0][,event_idx=off]\n"
	"                           a virtio-net (MTU 1500) with the same backends and\n"
	"                           keys as the e1000, N queue pairs (1-16, default 1; a\n"
	"                           tap then has N queues) served by K I/O threads (1-N,\n"
	"                           default N; pair i on thread i % K), MSI-X through irqfd;\n"
	"                           vectors=0: no MSI-X, INTx and the ISR only (0 and the\n"
	"                           default 2N+2 are supported); event_idx=off: the ring\n"
	"                           feature EVENT_IDX is not offered\n"
	"      --nic virtio,vhost-user=PATH[,server=on|off][,queues=N][,...]\n"
	"                           vhost: the guest's rings are handed to a vhost-user\n"
	"                           backend (a switch port); doorbells and interrupts pass\n"
	"                           between guest and backend through eventfds. server=on\n"
	"                           (default): nfv-vmm listens on PATH and the backend\n"
	"                           connects (OVS dpdkvhostuserclient, testpmd client=1);\n"
	"                           off: nfv-vmm connects, retrying every second. The link\n"
	"                           is up while a backend runs the rings; it may leave and\n"
	"                           come back. No offloads are offered in this mode\n"
	"      --nic e1000,vhost-user=PATH[,server=on|off], --nic virtio,vhost-user=PATH,offload=off\n"
	"                           relay: the model's frames go through a queue pair\n"
	"                           nfv-vmm drives in memory shared with the backend\n"
	"      --nic virtio,tap=NAME,vhost-net=on\n"
	"                           the kernel's vhost-net datapath (refused with the reason\n"
	"                           when the host lacks /dev/vhost-net)\n"
	"      addr=SLOT            (either kind) the NIC's PCI slot, 1-31 (decimal or 0x\n"
	"                           hex, '3.0' also; a taken slot is refused); without it\n"
	"                           the next free slot no other addr= asks for. INTx goes\n"
	"                           to GSI 16 + SLOT % 8 (NICs may share a line)\n"
	"                           Without mac=, the MAC is generated from --name and the\n"
	"                           NIC's index (locally administered, the same every run).\n"
	"\n"
	"Host side:\n"
	"      --console KIND       stdio (default), file:PATH or none\n"
	"      --api PATH           control socket: one JSON object per line\n"
	"                           ({\"cmd\":\"status|stats|pause|resume|stop\"})\n"
	"  -n, --name NAME          VM name for logs and the control socket (default \"vm\")\n"
	"      --kvm PATH           KVM device (default /dev/kvm)\n"
	"  -l, --log-level LEVEL    error, warn, info (default) or debug\n"
	"  -h, --help               this help\n"
	"      --version            print the version\n"
	"\n"
	"The guest ends the VM by writing a byte to port 0xf4 (nfv-vmm exits with that\n"
	"value), by the keyboard controller's reset (exit 0), or it is stopped by SIGTERM,\n"
	"SIGINT, the control socket's \"stop\", or C-a x on the console. A VM that fails\n"
	"(triple fault, KVM internal error) exits with 1; bad options or input with 2.\n"
	"See docs/vmm.md.\n";

enum {
	OPT_HUGEPAGES = 256,
	OPT_CONSOLE,
	OPT_API,
	OPT_KVM,
	OPT_CPUID_MASK,
	OPT_NIC,
	OPT_VERSION,
};

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'a' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "hugepages", no_argument, NULL, OPT_HUGEPAGES },
	{ "cpuid-mask", required_argument, NULL, OPT_CPUID_MASK },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "api", required_argument, NULL, OPT_API },
	{ "name", required_argument, NULL, 'n' },
	{ "kvm", required_argument, NULL, OPT_KVM },
	{ "log-level", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) die_status(NFV_EXIT_USAGE, __VA_ARGS__)

/* --nic options, in order: NIC i is nics[i]. */
static struct nic_config nics[NIC_MAX];
static unsigned int nr_nics;

static uint64_t host_ram(void)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return 0;
	return (uint64_t)si.totalram * si.mem_unit;
}

static void parse_args(int argc, char **argv, struct vm_config *cfg)
{
	char err[1024];
	uint64_t v;
	int opt;

	*cfg = (struct vm_config){
		.name = "vm",
		.mem_size = VMM_DEFAULT_MEM,
		.nr_cpus = 1,
		.console = CONSOLE_STDIO,
		.kvm_path = "/dev/kvm",
	};
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:a:m:c:n:l:h", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'k':
			cfg->kernel = optarg;
			break;
		case 'i':
			cfg->initrd = optarg;
			break;
		case 'a':
			cfg->cmdline = optarg;
			break;
		case 'm':
			if (parse_size(optarg, &v) < 0)
				usage_error("--mem %s: not a size (examples: 256M, 2G)", optarg);
			if (v < VMM_MIN_MEM)
				usage_error("--mem %s: at least %llu MiB are needed", optarg,
					    VMM_MIN_MEM / MiB);
			if (v % (4 * KiB))
				usage_error("--mem %s: must be a whole number of 4 KiB pages", optarg);
			if (host_ram() && v > host_ram())
				usage_error("--mem %s: more than this host's %llu MiB of RAM", optarg,
					    (unsigned long long)(host_ram() / MiB));
			cfg->mem_size = v;
			break;
		case 'c':
			if (parse_u64(optarg, 1, VMM_MAX_CPUS, &v) < 0)
				usage_error("--cpus %s: must be a whole number from 1 to %d", optarg,
					    VMM_MAX_CPUS);
			cfg->nr_cpus = (unsigned int)v;
			break;
		case 'n':
			if (!*optarg || strlen(optarg) > 64)
				usage_error("--name: 1 to 64 characters");
			cfg->name = optarg;
			break;
		case 'l': {
			enum log_level lvl;
			if (log_parse_level(optarg, &lvl) < 0)
				usage_error("--log-level %s: use error, warn, info or debug", optarg);
			log_set_level(lvl);
			break;
		}
		case OPT_HUGEPAGES:
			cfg->hugepages = true;
			break;
		case OPT_CPUID_MASK:
			if (cpuid_mask_parse(optarg, &cfg->cpuid_mask, err, sizeof(err)) < 0)
				usage_error("%s", err);
			break;
		case OPT_CONSOLE:
			if (strcmp(optarg, "stdio") == 0) {
				cfg->console = CONSOLE_STDIO;
			} else if (strcmp(optarg, "none") == 0) {
				cfg->console = CONSOLE_NONE;
			} else if (strncmp(optarg, "file:", 5) == 0 && optarg[5]) {
				cfg->console = CONSOLE_FILE;
				cfg->console_path = optarg + 5;
			} else {
				usage_error("--console %s: use stdio, file:PATH or none", optarg);
			}
			break;
		case OPT_API:
			cfg->api_path = optarg;
			break;
		case OPT_NIC:
			if (nr_nics == NIC_MAX)
				usage_error("--nic %s: at most %d NICs", optarg, NIC_MAX);
			if (nic_config_parse(optarg, &nics[nr_nics], err, sizeof(err)) < 0)
				usage_error("--nic %s: %s", optarg, err);
			nr_nics++;
			break;
		case OPT_KVM:
			cfg->kvm_path = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(NFV_EXIT_OK);
		case OPT_VERSION:
			printf("nfv-vmm %s\n", NFV_VERSION);
			exit(NFV_EXIT_OK);
		case ':':
			usage_error("option %s needs an argument (see --help)", argv[optind - 1]);
		default:
			usage_error("unknown option %s (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s' (see --help)", argv[optind]);
	if (!cfg->kernel)
		usage_error("no --kernel given (see --help)");
	if (nic_configs_finish(nics, nr_nics, cfg->name, err, sizeof(err)) < 0)
		usage_error("--nic: %s", err);
}

static void platform_stop(void *arg, enum platform_stop_reason why, int status)
{
	struct kvm_vm *vm = arg;

	if (why == PLATFORM_STOP_RESET)
		vm_request_stop(vm, NFV_EXIT_OK, "guest reset the machine (i8042)");
	else
		vm_request_stop(vm, status, "guest wrote %d to the debug-exit port", status);
}

static void acpi_poweroff(void *arg)
{
	vm_request_stop(arg, NFV_EXIT_OK, "guest powered off (ACPI S5)");
}

static void on_stop_event(struct ev_event *e, void *opaque)
{
	struct kvm_vm *vm = opaque;

	evloop_stop(vm->loop);
}

static void on_signal(int fd, uint32_t events, void *opaque)
{
	struct kvm_vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	vm_request_stop(vm, NFV_EXIT_OK, "stopped by %s", strsignal((int)si.ssi_signo));
}

struct mp_irq_list {
	struct mp_pci_irq irqs[PCI_MAX_SLOTS];
	unsigned int n;
};

static void collect_pci_irq(struct pci_dev *dev, void *arg)
{
	struct mp_irq_list *l = arg;

	if (pci_dev_uses_intx(dev) && l->n < PCI_MAX_SLOTS)
		l->irqs[l->n++] = (struct mp_pci_irq){ .slot = (uint8_t)pci_dev_slot(dev),
						       .pin = 1,
						       .gsi = (uint8_t)pci_dev_gsi(dev) };
}

static int load_file(const char *what, const char *path, size_t max, uint8_t **data, size_t *len)
{
	int ret = read_file(path, data, len, max);

	if (ret == -EFBIG)
		usage_error("%s %s: larger than %llu MiB", what, path, (unsigned long long)(max / MiB));
	if (ret == -EINVAL)
		usage_error("%s %s: not a regular file", what, path);
	if (ret < 0)
		usage_error("%s %s: %s", what, path, strerror(-ret));
	return ret;
}

static const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM: return "usable";
	case E820_RESERVED: return "reserved";
	default: return "unknown";
	}
}

/*
 * kvm-pvm (a software KVM for hosts without nested VT-x) lets a VMM hide only
 * some CPUID features: cx16, x2apic, tsc-deadline and the hypervisor bit
 * were seen to go; xsave, the AVX family, aes, rdrand, movbe, popcnt and
 * sse4.2 stay visible whatever the VMM sets (QEMU's "-cpu host,-xsave" meets
 * the same limit there). Say so rather than let the user believe the mask.
 */
static void warn_pvm_cpuid(const struct cpuid_mask *mask)
{
	static const char *const maskable[] = { "cx16", "x2apic", "tsc-deadline", "hypervisor" };
	struct cpuid_mask rest = *mask;
	char names[256];

	if (access("/sys/module/kvm_pvm", F_OK) != 0)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(maskable); i++)
		for (size_t f = 0; f < cpuid_nr_features; f++)
			if (strcmp(cpuid_features[f].name, maskable[i]) == 0)
				rest.hidden &= ~(1ull << f);
	if (!rest.hidden)
		return;
	cpuid_mask_format(&rest, names, sizeof(names));
	log_warn("this host's KVM (kvm_pvm) may keep these features visible to the guest "
		 "whatever --cpuid-mask says: %s",
		 names);
}

/* The NICs go on the PCI bus before the ACPI and MP tables list its INTx routes. */
static void setup_nics(struct kvm_vm *vm)
{
	char err[1024];
	bool bad_input;

	for (unsigned int i = 0; i < nr_nics; i++)
		if (nic_create(&nics[i], i, vm, vm->pci, &vm->mem, vm->loop, err, sizeof(err),
			       &bad_input) < 0)
			die_status(bad_input ? NFV_EXIT_USAGE : NFV_EXIT_FAILURE, "--nic %u: %s", i,
				   err);
}

static int setup_devices(struct kvm_vm *vm, int console_fd, char *err, size_t err_len)
{
	int ret;

	vm->com1 = serial_new(&vm->irq, GSI_COM1, console_fd);
	vm->i8042 = i8042_new(platform_stop, vm);
	vm->pci = pci_bus_new(&vm->pio, &vm->mmio, &vm->irq);
	if (!vm->com1 || !vm->i8042 || !vm->pci) {
		snprintf(err, err_len, "out of memory creating devices");
		return -ENOMEM;
	}
	vm->debug_exit = (struct debug_exit){ .stop = platform_stop, .arg = vm };
	ret = iobus_register(&vm->pio, SERIAL_COM1_BASE, SERIAL_NR_PORTS, serial_io, vm->com1,
			     "com1");
	if (!ret)
		ret = iobus_register(&vm->pio, I8042_DATA_PORT, 5, i8042_io, vm->i8042, "i8042");
	if (!ret)
		ret = iobus_register(&vm->pio, DEBUG_EXIT_PORT, 4, debug_exit_io, &vm->debug_exit,
				     "debug-exit");
	if (!ret)
		ret = iobus_register(&vm->pio, POST_PORT, 1, post_port_io, NULL, "post");
	if (ret < 0)
		snprintf(err, err_len, "cannot register platform devices: %s", strerror(-ret));
	return ret;
}

int main(int argc, char **argv)
{
	static struct kvm_vm vm;
	struct vm_config cfg;
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	struct mp_irq_list mpirqs = { .n = 0 };
	struct acpi_pm *acpi_pm;
	uint64_t rsdp_addr = 0;
	char err[1024] = "";
	int console_fd = -1, sfd, ret, status;
	sigset_t sigs;

	/* A closed stdin/stdout/stderr would be reused by the next open(): fill them. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return NFV_EXIT_FAILURE;
	log_set_program("nfv-vmm");
	parse_args(argc, argv, &cfg);

	load_file("--kernel", cfg.kernel, KERNEL_MAX_SIZE, &kernel, &kernel_len);
	if (!boot_is_pvh(kernel, kernel_len) && !boot_is_bzimage(kernel, kernel_len))
		usage_error("--kernel %s: not an ELF with a PVH entry note, nor a Linux bzImage",
			    cfg.kernel);
	if (cfg.initrd)
		load_file("--initrd", cfg.initrd, INITRD_MAX_SIZE, &initrd, &initrd_len);
	if (cfg.cmdline && strlen(cfg.cmdline) >= BOOT_CMDLINE_MAX)
		usage_error("--cmdline: longer than %d bytes", BOOT_CMDLINE_MAX - 1);

	/* SIGINT/SIGTERM/SIGHUP arrive through a signalfd on the event loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	pthread_mutex_init(&vm.state_lock, NULL);
	pthread_cond_init(&vm.state_cond, NULL);
	vm.mem_fd = -1;
	iobus_init(&vm.pio, "pio");
	iobus_init(&vm.mmio, "mmio");
	vm.loop = evloop_new();
	if (!vm.loop)
		die("cannot create the event loop: %s", strerror(errno));

	if (kvm_vm_create(&vm, &cfg, err, sizeof(err)) < 0)
		die("%s", err);
	if (vm_memory_init(&vm, err, sizeof(err)) < 0)
		die("%s", err);
	if (irq_init(&vm) < 0)
		die("cannot set up interrupt routing");
	if (console_open(&vm, err, sizeof(err), &console_fd) < 0)
		usage_error("%s", err);
	if (setup_devices(&vm, console_fd, err, sizeof(err)) < 0)
		die("%s", err);
	acpi_pm = acpi_pm_new(acpi_poweroff, &vm);
	if (!acpi_pm || iobus_register(&vm.pio, ACPI_PM_BASE, ACPI_PM_LEN, acpi_pm_io, acpi_pm,
				       "acpi-pm") < 0)
		die("cannot register the ACPI PM registers");
	setup_nics(&vm);

	/* ACPI for kernels without MP table support; the loaders pass on the RSDP. */
	pci_bus_for_each(vm.pci, collect_pci_irq, &mpirqs);
	ret = acpi_write(&vm.mem, cfg.nr_cpus, mpirqs.irqs, mpirqs.n, &rsdp_addr);
	if (ret < 0)
		die("cannot write the ACPI tables: %s", strerror(-ret));
	{
		struct boot_input in = {
			.mem = &vm.mem,
			.kernel = kernel,
			.kernel_len = kernel_len,
			.initrd = initrd,
			.initrd_len = initrd_len,
			.cmdline = cfg.cmdline,
			.rsdp_addr = rsdp_addr,
		};
		if (boot_load(&in, &vm.boot, err, sizeof(err)) < 0)
			usage_error("--kernel %s: %s", cfg.kernel, err);
	}
	free(kernel);
	free(initrd);
	vm.nr_e820 = e820_build(&vm.mem, vm.e820, E820_MAX_ENTRIES);
	if (vm.nr_e820 < 0)
		die("cannot build the memory map: %s", strerror(-vm.nr_e820));
	for (int i = 0; i < vm.nr_e820; i++)
		log_info("e820: [mem 0x%016llx-0x%016llx] %s", (unsigned long long)vm.e820[i].addr,
			 (unsigned long long)(vm.e820[i].addr + vm.e820[i].size - 1),
			 e820_type_name(vm.e820[i].type));
	ret = mptable_write(&vm.mem, cfg.nr_cpus, mpirqs.irqs, mpirqs.n);
	if (ret < 0)
		die("cannot write the MP table: %s", strerror(-ret));

	if (vcpus_create(&vm, err, sizeof(err)) < 0)
		die("%s", err);
	vm.stop_event = evloop_event_new(vm.loop, on_stop_event, &vm);
	sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!vm.stop_event || sfd < 0 || evloop_add_fd(vm.loop, sfd, EPOLLIN, on_signal, &vm) < 0)
		die("cannot set up the event loop: %s", strerror(errno));
	if (cfg.api_path && api_open(&vm, cfg.api_path, err, sizeof(err)) < 0)
		usage_error("%s", err);
	if (console_start(&vm) < 0)
		die("cannot read the console input: %s", strerror(errno));

	{
		char mask[256];
		cpuid_mask_format(&cfg.cpuid_mask, mask, sizeof(mask));
		log_info("starting VM '%s': %u vCPU(s), %llu MiB%s, %s kernel %s, cpuid mask %s",
			 cfg.name, cfg.nr_cpus, (unsigned long long)(cfg.mem_size / MiB),
			 cfg.hugepages ? " (hugepages)" : "",
			 vm.boot.kind == BOOT_KIND_PVH ? "PVH" : "bzImage", cfg.kernel, mask);
	}
	warn_pvm_cpuid(&cfg.cpuid_mask);
	/* The NICs' datapaths leave the main loop for their I/O threads. */
	ret = nic_start_all();
	if (ret < 0)
		die("cannot start the NICs' I/O threads: %s", strerror(-ret));
	if (vcpus_start(&vm) < 0)
		log_err("not every vCPU started");
	if (evloop_run(vm.loop) < 0)
		vm_request_stop(&vm, NFV_EXIT_FAILURE, "event loop failed");
	/* The loop only ends once a stop was requested. */
	vm_request_stop(&vm, NFV_EXIT_OK, "stopped");
	vcpus_join(&vm);
	/* No vCPU rings a doorbell any more: the datapaths can stop. */
	nic_stop_all();

	status = vm.exit_status;
	console_close(&vm);
	api_close(&vm);
	log_info("VM '%s' ended: %s (exit status %d)", cfg.name, vm.stop_reason, status);

	close(sfd);
	evloop_event_free(vm.stop_event);
	vcpus_destroy(&vm);
	acpi_pm_free(acpi_pm);
	pci_bus_free(vm.pci);
	nic_free_all(); /* after the bus: the virtio transport's rule */
	for (unsigned int i = 0; i < nr_nics; i++)
		nic_config_clear(&nics[i]);
	i8042_free(vm.i8042);
	serial_free(vm.com1);
	irq_exit(&vm);
	vm_memory_exit(&vm);
	kvm_vm_destroy(&vm);
	evloop_free(vm.loop);
	iobus_destroy(&vm.pio);
	iobus_destroy(&vm.mmio);
	return status & 0xff;
}
