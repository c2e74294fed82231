/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfv-switchctl: the command-line client of nfv-switchd's control socket
 * (vswitch/ctl.h). Turns words into one JSON request, sends it, waits (at
 * most --timeout seconds) for the one-line answer and prints it as text, or
 * as it came with --json.
 *
 * Exit status: 0 when the switch answered "ok", 1 when it refused (its
 * message on stderr) or could not be reached, 2 for a bad command line.
 * Single-threaded; only libc and jansson.
 */
#include "vswitch/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define PROG "nfv-switchctl"
#define ANSWER_MAX (256u << 20) /* longest answer accepted */
#define ARG_MAX_LEN 4096

static const char usage_text[] =
	"usage: " PROG " [--ctl PATH] [--json] [--timeout SECONDS] COMMAND [ARG...]\n"
	"\n"
	"Commands:\n"
	"  show                               the switch, bridges, ports, mirrors\n"
	"  port show NAME                     one port with its counters\n"
	"  port add BRIDGE SPEC               add a port (SPEC as --port: vhost-user:PATH,...)\n"
	"  port del NAME                      remove a port\n"
	"  port set NAME vlan=N               access port of VLAN N\n"
	"  port set NAME trunk=LIST[,native=N|none][,native-tagged]\n"
	"  port set NAME vlan=default         VLAN-unaware (the default)\n"
	"  port set NAME policer=srtcm,cir=RATE,cbs=SIZE,ebs=SIZE\n"
	"  port set NAME policer=trtcm,cir=RATE,cbs=SIZE,pir=RATE,pbs=SIZE\n"
	"  port set NAME policer=none\n"
	"  port set NAME shaper=rate=RATE,burst=SIZE[,classes=N][,queue-len=N][,pcp-map=C,..,C]\n"
	"  port set NAME shaper=none\n"
	"  fdb show BRIDGE                    the forwarding table\n"
	"  fdb flush BRIDGE [PORT]            remove learned entries (of one port)\n"
	"  fdb add BRIDGE MAC VLAN PORT       add a static entry\n"
	"  fdb del BRIDGE MAC VLAN            remove an entry\n"
	"  mirror add NAME PORT rx|tx|both port=DEST | pcap=FILE[,snaplen=N]\n"
	"  mirror del NAME\n"
	"  mirror show\n"
	"  stats clear                        zero every counter\n"
	"  help                               the commands the switch knows\n"
	"\n"
	"Rates: 10mbit, 1gbit, 500kbit, 125000B (bytes/s); sizes: 64kB, 64KiB, 1500.\n"
	"\n"
	"Options:\n"
	"  --ctl PATH       control socket (default " NFV_SWITCHD_CTL_DEFAULT ")\n"
	"  --json           print the switch's answer as it came (one JSON line)\n"
	"  --timeout SECS   wait at most this long for the answer (default 10)\n"
	"  --help           this text\n";

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(" PROG " --help lists the commands)\n");
	exit(NFV_EXIT_USAGE);
}

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(NFV_EXIT_FAILURE);
}

/* ---------------------------------------------------------------------------
 * Building the request
 */

static json_t *request(const char *cmd)
{
	json_t *r = json_pack("{s:s}", "cmd", cmd);

	if (!r)
		fail("out of memory");
	return r;
}

static void set_str(json_t *r, const char *key, const char *val)
{
	json_object_set_new(r, key, json_string(val));
}

/* A whole decimal number in [min, max], or a usage error naming what. */
static long long number(const char *s, long long min, long long max, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (!s[0] || *end || errno || v < min || v > max)
		usage_error("%s: \"%s\" is not a number in %lld..%lld", what, s, min, max);
	return v;
}

static void need_args(int argc, int min, int max, const char *synopsis)
{
	if (argc < min || argc > max)
		usage_error("usage: %s", synopsis);
}

/*
 * "key=value" items of `port set`, from the words after the port name
 * joined with commas. An item without '=' continues the list value before
 * it (trunk=10,20 or pcp-map=1,1,0,0,...), or is a flag (native-tagged).
 */
struct kv {
	char key[32];
	char val[ARG_MAX_LEN];
	bool used;
};

#define KV_MAX 16

struct kvs {
	struct kv kv[KV_MAX];
	unsigned n;
};

static bool kv_has(const struct kvs *k, const char *key)
{
	for (unsigned i = 0; i < k->n; i++)
		if (strcmp(k->kv[i].key, key) == 0)
			return true;
	return false;
}

/* The setting `key` (marked used), or NULL. */
static struct kv *kv_find(struct kvs *k, const char *key)
{
	for (unsigned i = 0; i < k->n; i++)
		if (strcmp(k->kv[i].key, key) == 0) {
			k->kv[i].used = true;
			return &k->kv[i];
		}
	return NULL;
}

static void kv_add(struct kvs *k, const char *key, size_t klen, const char *val)
{
	struct kv *e;

	if (klen == 0 || klen >= sizeof(e->key))
		usage_error("port set: bad key in \"%s\"", key);
	for (unsigned i = 0; i < k->n; i++)
		if (strlen(k->kv[i].key) == klen && strncmp(k->kv[i].key, key, klen) == 0)
			usage_error("port set: %.*s given twice", (int)klen, key);
	if (k->n == KV_MAX)
		usage_error("port set: too many settings");
	e = &k->kv[k->n++];
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	if (strlen(val) >= sizeof(e->val))
		usage_error("port set: %s: value too long", e->key);
	strcpy(e->val, val);
}

static void kv_parse(struct kvs *k, int argc, char **argv)
{
	char *all, *item, *save = NULL;
	size_t len = 1;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	all = calloc(1, len);
	if (!all)
		fail("out of memory");
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(all, ",");
		strcat(all, argv[i]);
	}
	for (item = strtok_r(all, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct kv *last = k->n ? &k->kv[k->n - 1] : NULL;

		if (eq) {
			/* shaper=rate=100mbit: the shaper group, then rate=100mbit */
			if ((size_t)(eq - item) == 6 && strncmp(item, "shaper", 6) == 0 &&
			    strchr(eq + 1, '=')) {
				kv_add(k, "shaper", 6, "");
				item = eq + 1;
				eq = strchr(item, '=');
			}
			kv_add(k, item, (size_t)(eq - item), eq + 1);
		} else if (strcmp(item, "native-tagged") == 0) {
			kv_add(k, item, strlen(item), "true");
		} else if (last &&
			   (strcmp(last->key, "trunk") == 0 || strcmp(last->key, "pcp-map") == 0)) {
			if (strlen(last->val) + strlen(item) + 2 > sizeof(last->val))
				usage_error("port set: %s: value too long", last->key);
			strcat(last->val, ",");
			strcat(last->val, item);
		} else {
			usage_error("port set: \"%s\" is not KEY=VALUE", item);
		}
	}
	free(all);
}

static void kv_check_used(struct kvs *k, const char *group)
{
	for (unsigned i = 0; i < k->n; i++)
		if (!k->kv[i].used)
			usage_error("port set: \"%s\" does not go with %s", k->kv[i].key, group);
}

static json_t *port_set_vlan(struct kvs *k, const char *port)
{
	json_t *r = request("port-set-vlan");
	struct kv *vlan = kv_find(k, "vlan"), *trunk = kv_find(k, "trunk");
	struct kv *native = kv_find(k, "native"), *tagged = kv_find(k, "native-tagged");

	set_str(r, "port", port);
	if (vlan && trunk)
		usage_error("port set: give vlan= or trunk=, not both");
	if (vlan && (native || tagged))
		usage_error("port set: native and native-tagged go with trunk=");
	if (vlan && strcmp(vlan->val, "default") == 0) {
		set_str(r, "mode", "default");
	} else if (vlan) {
		json_object_set_new(r, "vlan", json_integer(number(vlan->val, 1, 4094, "vlan")));
	} else {
		set_str(r, "trunk", trunk->val);
		if (native && strcmp(native->val, "none") == 0)
			set_str(r, "native", "none");
		else if (native)
			json_object_set_new(r, "native",
					    json_integer(number(native->val, 0, 4094, "native")));
		if (tagged)
			json_object_set_new(r, "native_tagged", json_true());
	}
	kv_check_used(k, "vlan/trunk");
	return r;
}

static json_t *port_set_policer(struct kvs *k, const char *port)
{
	static const char *const keys[] = { "cir", "cbs", "ebs", "pir", "pbs" };
	json_t *r = request("port-set-policer");
	struct kv *type = kv_find(k, "policer");

	set_str(r, "port", port);
	set_str(r, "type", type->val);
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct kv *e = kv_find(k, keys[i]);

		if (e)
			set_str(r, keys[i], e->val);
	}
	kv_check_used(k, "policer");
	return r;
}

static json_t *port_set_shaper(struct kvs *k, const char *port)
{
	json_t *r = request("port-set-shaper");
	struct kv *sh = kv_find(k, "shaper"), *e;

	set_str(r, "port", port);
	if (strcmp(sh->val, "none") == 0) {
		set_str(r, "rate", "none");
		kv_check_used(k, "shaper=none");
		return r;
	}
	if (sh->val[0])
		usage_error("port set: shaper=rate=RATE,... or shaper=none");
	if ((e = kv_find(k, "rate")))
		set_str(r, "rate", e->val);
	if ((e = kv_find(k, "burst")))
		set_str(r, "burst", e->val);
	if ((e = kv_find(k, "classes")))
		json_object_set_new(r, "classes", json_integer(number(e->val, 1, 8, "classes")));
	if ((e = kv_find(k, "queue-len")))
		json_object_set_new(r, "queue_len",
				    json_integer(number(e->val, 1, UINT32_MAX, "queue-len")));
	if ((e = kv_find(k, "pcp-map"))) {
		json_t *map = json_array();
		char *save = NULL;

		for (char *c = strtok_r(e->val, ",", &save); c; c = strtok_r(NULL, ",", &save))
			json_array_append_new(map, json_integer(number(c, 0, 7, "pcp-map")));
		json_object_set_new(r, "pcp_map", map);
	}
	kv_check_used(k, "shaper");
	return r;
}

static json_t *port_set(int argc, char **argv)
{
	struct kvs *k = calloc(1, sizeof(*k));
	json_t *r;

	if (!k)
		fail("out of memory");
	if (argc < 2)
		usage_error(
			"usage: port set NAME vlan=N | trunk=LIST... | policer=... | shaper=...");
	kv_parse(k, argc - 1, argv + 1);
	if (kv_has(k, "policer"))
		r = port_set_policer(k, argv[0]);
	else if (kv_has(k, "shaper"))
		r = port_set_shaper(k, argv[0]);
	else if (kv_has(k, "vlan") || kv_has(k, "trunk"))
		r = port_set_vlan(k, argv[0]);
	else
		usage_error("port set: give vlan=, trunk=, policer= or shaper=");
	free(k);
	return r;
}

static json_t *mirror_add(int argc, char **argv)
{
	json_t *r = request("mirror-add");
	const char *dir;

	need_args(argc, 4, 5, "mirror add NAME PORT rx|tx|both port=DEST | pcap=FILE[,snaplen=N]");
	dir = argv[2];
	if (strcmp(dir, "rx") && strcmp(dir, "tx") && strcmp(dir, "both"))
		usage_error("mirror add: direction \"%s\" is not rx, tx or both", dir);
	set_str(r, "name", argv[0]);
	set_str(r, "port", argv[1]);
	set_str(r, "direction", dir);
	for (int i = 3; i < argc; i++) {
		char *a = argv[i], *snap;

		if (strncmp(a, "port=", 5) == 0 && a[5]) {
			set_str(r, "to_port", a + 5);
		} else if (strncmp(a, "pcap=", 5) == 0 && a[5]) {
			snap = strstr(a, ",snaplen=");
			if (snap) {
				*snap = '\0';
				json_object_set_new(
					r, "snaplen",
					json_integer(number(snap + 9, 64, 65535, "snaplen")));
			}
			set_str(r, "to_pcap", a + 5);
		} else if (strncmp(a, "snaplen=", 8) == 0) {
			json_object_set_new(r, "snaplen",
					    json_integer(number(a + 8, 64, 65535, "snaplen")));
		} else {
			usage_error("mirror add: \"%s\": give port=DEST or pcap=FILE", a);
		}
	}
	if (!json_object_get(r, "to_port") == !json_object_get(r, "to_pcap"))
		usage_error("mirror add: give one of port=DEST and pcap=FILE");
	return r;
}

/* The request for the command line (words after the options). */
static json_t *build_request(int argc, char **argv)
{
	const char *obj = argv[0], *verb = argc > 1 ? argv[1] : "";
	json_t *r;

	if (strcmp(obj, "show") == 0 || strcmp(obj, "help") == 0) {
		need_args(argc, 1, 1, obj);
		return request(obj);
	}
	argc -= 2;
	argv += 2;
	if (strcmp(obj, "port") == 0) {
		if (strcmp(verb, "show") == 0 || strcmp(verb, "del") == 0) {
			need_args(argc, 1, 1,
				  strcmp(verb, "show") ? "port del NAME" : "port show NAME");
			r = request(strcmp(verb, "show") ? "port-del" : "port-show");
			set_str(r, "port", argv[0]);
			return r;
		}
		if (strcmp(verb, "add") == 0) {
			need_args(argc, 2, 2, "port add BRIDGE SPEC");
			r = request("port-add");
			set_str(r, "bridge", argv[0]);
			set_str(r, "spec", argv[1]);
			return r;
		}
		if (strcmp(verb, "set") == 0)
			return port_set(argc, argv);
	} else if (strcmp(obj, "fdb") == 0) {
		if (strcmp(verb, "show") == 0) {
			need_args(argc, 1, 1, "fdb show BRIDGE");
			r = request("fdb-show");
			set_str(r, "bridge", argv[0]);
			return r;
		}
		if (strcmp(verb, "flush") == 0) {
			need_args(argc, 1, 2, "fdb flush BRIDGE [PORT]");
			r = request("fdb-flush");
			set_str(r, "bridge", argv[0]);
			if (argc > 1)
				set_str(r, "port", argv[1]);
			return r;
		}
		if (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) {
			bool add = strcmp(verb, "add") == 0;

			if (add)
				need_args(argc, 4, 4, "fdb add BRIDGE MAC VLAN PORT");
			else
				need_args(argc, 3, 3, "fdb del BRIDGE MAC VLAN");
			r = request(add ? "fdb-add" : "fdb-del");
			set_str(r, "bridge", argv[0]);
			set_str(r, "mac", argv[1]);
			json_object_set_new(r, "vlan",
					    json_integer(number(argv[2], 0, 4094, "VLAN")));
			if (add)
				set_str(r, "port", argv[3]);
			return r;
		}
	} else if (strcmp(obj, "mirror") == 0) {
		if (strcmp(verb, "add") == 0)
			return mirror_add(argc, argv);
		if (strcmp(verb, "del") == 0) {
			need_args(argc, 1, 1, "mirror del NAME");
			r = request("mirror-del");
			set_str(r, "name", argv[0]);
			return r;
		}
		if (strcmp(verb, "show") == 0) {
			need_args(argc, 0, 0, "mirror show");
			return request("mirror-show");
		}
	} else if (strcmp(obj, "stats") == 0) {
		if (strcmp(verb, "clear") == 0) {
			need_args(argc, 0, 0, "stats clear");
			return request("stats-clear");
		}
	} else {
		usage_error("unknown command \"%s\"", obj);
	}
	usage_error("unknown command \"%s %s\"", obj, verb);
}

/* ---------------------------------------------------------------------------
 * Talking to the switch
 */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int connect_ctl(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		usage_error("--ctl %s: path longer than %zu bytes", path,
			    sizeof(addr.sun_path) - 1);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail("cannot connect to %s: %s (is nfv-switchd running? --ctl PATH)", path,
		     strerror(errno));
	return fd;
}

/* Waits until fd is ready for `events` or the deadline passes. */
static void wait_fd(int fd, short events, uint64_t deadline, const char *path)
{
	for (;;) {
		uint64_t now = mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (now >= deadline)
			fail("%s: no answer within the timeout (is nfv-switchd stuck?)", path);
		n = poll(&p, 1, (int)MIN(deadline - now, (uint64_t)INT32_MAX));
		if (n > 0)
			return;
		if (n < 0 && errno != EINTR)
			fail("%s: poll: %s", path, strerror(errno));
	}
}

/* Sends the request line and returns the answer line (malloc'd, NUL-terminated). */
static char *transact(int fd, const char *path, const char *line, uint64_t deadline)
{
	size_t len = strlen(line), off = 0, cap = 4096, got = 0;
	char *buf;

	while (off < len) {
		ssize_t n;

		wait_fd(fd, POLLOUT, deadline, path);
		n = send(fd, line + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			fail("%s: sending the request: %s", path, strerror(errno));
		off += (size_t)n;
	}
	buf = malloc(cap);
	if (!buf)
		fail("out of memory");
	for (;;) {
		char *nl;
		ssize_t n;

		if (got + 1 == cap) {
			if (cap >= ANSWER_MAX)
				fail("%s: answer longer than %u bytes", path, ANSWER_MAX);
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				fail("out of memory");
		}
		wait_fd(fd, POLLIN, deadline, path);
		n = recv(fd, buf + got, cap - 1 - got, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			fail("%s: reading the answer: %s", path, strerror(errno));
		if (n == 0)
			fail("%s: the switch closed the connection before answering", path);
		nl = memchr(buf + got, '\n', (size_t)n);
		got += (size_t)n;
		if (nl) {
			*nl = '\0';
			return buf;
		}
	}
}

/* ---------------------------------------------------------------------------
 * Printing answers
 */

static uint64_t u(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v < 0 ? 0 : (uint64_t)v;
}

static const char *s(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

/* Bytes/s as bits/s with a unit: 10mbit, 1.5gbit, 64kbit, 800bit. */
static const char *fmt_rate(uint64_t bytes_per_s, char *buf, size_t len)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} units[] = { { 1000000000, "gbit" }, { 1000000, "mbit" }, { 1000, "kbit" }, { 1, "bit" } };
	uint64_t bits = bytes_per_s * 8;

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (bits < units[i].div && units[i].div > 1)
			continue;
		if (bits % units[i].div == 0)
			snprintf(buf, len, "%" PRIu64 "%s", bits / units[i].div, units[i].unit);
		else
			snprintf(buf, len, "%.2f%s", (double)bits / (double)units[i].div,
				 units[i].unit);
		return buf;
	}
	snprintf(buf, len, "0bit");
	return buf;
}

/* Bytes with the unit that divides them: 64kB, 64KiB, 2MB, 1500B. */
static const char *fmt_size(uint64_t b, char *buf, size_t len)
{
	if (b && b % 1048576 == 0)
		snprintf(buf, len, "%" PRIu64 "MiB", b / 1048576);
	else if (b && b % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 "MB", b / 1000000);
	else if (b && b % 1024 == 0)
		snprintf(buf, len, "%" PRIu64 "KiB", b / 1024);
	else if (b && b % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 "kB", b / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "B", b);
	return buf;
}

static void print_vlan(const json_t *v, const char *indent)
{
	const char *mode = s(v, "mode");
	const json_t *native = json_object_get(v, "native");

	if (strcmp(mode, "access") == 0) {
		printf("%svlan: access %" PRIu64 "\n", indent, u(v, "tag"));
	} else if (strcmp(mode, "trunk") == 0) {
		printf("%svlan: trunk %s, native ", indent, s(v, "trunks"));
		if (json_is_string(native))
			printf("%s", json_string_value(native));
		else
			printf("%" PRIu64, u(v, "native"));
		printf("%s\n",
		       json_is_true(json_object_get(v, "native_tagged")) ? " (tagged)" : "");
	} else {
		printf("%svlan: default (VLAN-unaware)\n", indent);
	}
}

static void print_meter(const json_t *m)
{
	char a[32], b[32], c[32], d[32];

	if (strcmp(s(m, "type"), "srtcm") == 0)
		printf("srtcm cir %s cbs %s ebs %s", fmt_rate(u(m, "cir"), a, sizeof(a)),
		       fmt_size(u(m, "cbs"), b, sizeof(b)), fmt_size(u(m, "ebs"), c, sizeof(c)));
	else
		printf("trtcm cir %s cbs %s pir %s pbs %s", fmt_rate(u(m, "cir"), a, sizeof(a)),
		       fmt_size(u(m, "cbs"), b, sizeof(b)), fmt_rate(u(m, "pir"), c, sizeof(c)),
		       fmt_size(u(m, "pbs"), d, sizeof(d)));
}

/* One port; `detail` adds every drop reason and the per-class counters. */
static void print_port(const json_t *p, bool detail)
{
	const json_t *st = json_object_get(p, "stats"), *drops = json_object_get(st, "drops");
	const json_t *pol = json_object_get(p, "policer"), *sh = json_object_get(p, "shaper");
	const char *type = s(p, "type"), *key;
	const json_t *v;
	char a[32], b[32];
	bool first = true;

	printf("    port %s: %s", s(p, "name"), type);
	if (strcmp(type, "vhost-user") == 0)
		printf(" %s (%s)", s(p, "path"),
		       json_is_true(json_object_get(p, "server")) ? "server" : "client");
	else if (strcmp(type, "pcap") == 0)
		printf(" in=%s out=%s", s(p, "rx_pcap"), s(p, "tx_pcap"));
	else if (json_object_get(p, "pci"))
		printf(" %s", s(p, "pci"));
	else
		printf(" %s", s(p, "iface"));
	/* vhost-user ports run on rte_vhost and have no ethdev port (-1). */
	if (json_integer_value(json_object_get(p, "port_id")) >= 0)
		printf(", dpdk port %" PRIu64, u(p, "port_id"));
	printf(", link %s, mtu %" PRIu64 ", %" PRIu64 " queue%s\n",
	       json_is_true(json_object_get(p, "link_up")) ? "up" : "down", u(p, "mtu"),
	       u(p, "queues"), u(p, "queues") == 1 ? "" : "s");
	print_vlan(json_object_get(p, "vlan"), "        ");
	if (json_is_object(pol)) {
		printf("        policer: ");
		print_meter(pol);
		printf("; green %" PRIu64 ", yellow %" PRIu64 ", red %" PRIu64 "\n",
		       u(pol, "green"), u(pol, "yellow"), u(pol, "red"));
	}
	if (json_is_array(json_object_get(p, "vlan_policers"))) {
		size_t i;

		json_array_foreach(json_object_get(p, "vlan_policers"), i, v)
		{
			printf("        policer of vlan %" PRIu64 ": ", u(v, "vlan"));
			print_meter(v);
			printf("\n");
		}
	}
	if (json_is_object(sh)) {
		const json_t *cls = json_object_get(sh, "per_class");
		size_t i;

		printf("        shaper: rate %s, burst %s, %" PRIu64 " class%s, queue-len %" PRIu64
		       ", backlog %" PRIu64 "\n",
		       fmt_rate(u(sh, "rate"), a, sizeof(a)),
		       fmt_size(u(sh, "burst"), b, sizeof(b)), u(sh, "classes"),
		       u(sh, "classes") == 1 ? "" : "es", u(sh, "queue_len"), u(sh, "backlog"));
		if (detail) {
			printf("        pcp-map:");
			json_array_foreach(json_object_get(sh, "pcp_map"), i, v) printf(
				"%s%" PRIu64, i ? "," : " ", (uint64_t)json_integer_value(v));
			printf("\n");
			json_array_foreach(cls, i, v)
				printf("        class %" PRIu64 ": sent %" PRIu64
				       ", dropped %" PRIu64 "\n",
				       u(v, "class"), u(v, "sent"), u(v, "dropped"));
		}
	}
	printf("        rx: %" PRIu64 " packets, %" PRIu64 " bytes; tx: %" PRIu64
	       " packets, %" PRIu64 " bytes; flooded %" PRIu64 "\n",
	       u(st, "rx_packets"), u(st, "rx_bytes"), u(st, "tx_packets"), u(st, "tx_bytes"),
	       u(st, "flood_packets"));
	printf("        drops: %" PRIu64, u(st, "drops_total"));
	json_object_foreach((json_t *)drops, key, v)
	{
		if (!detail && !json_integer_value(v))
			continue;
		printf("%s%s %" PRIu64, first ? " (" : ", ", key, (uint64_t)json_integer_value(v));
		first = false;
	}
	printf("%s\n", first ? "" : ")");
}

static void print_mirror(const json_t *m)
{
	printf("mirror %s: %s %s -> ", s(m, "name"), s(m, "port"), s(m, "direction"));
	if (json_object_get(m, "to_pcap"))
		printf("pcap %s (snaplen %" PRIu64 "): mirrored %" PRIu64 ", dropped %" PRIu64
		       ", written %" PRIu64 "\n",
		       s(m, "to_pcap"), u(m, "snaplen"), u(m, "mirrored"), u(m, "dropped"),
		       u(m, "written"));
	else
		printf("port %s: mirrored %" PRIu64 ", dropped %" PRIu64 "\n", s(m, "to_port"),
		       u(m, "mirrored"), u(m, "dropped"));
}

static void print_show(const json_t *r)
{
	const json_t *sw = json_object_get(r, "switch"),
		     *lcores = json_object_get(sw, "pmd_lcores");
	const json_t *b, *p, *pname, *m;
	uint64_t up = u(sw, "uptime_ms") / 1000;
	size_t i, j, k;

	printf("nfv-switchd %s (pid %" PRIu64 "): up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64
	       ":%02" PRIu64 ", %zu polling thread%s (lcore",
	       s(sw, "version"), u(sw, "pid"), up / 86400, up / 3600 % 24, up / 60 % 60, up % 60,
	       json_array_size(lcores), json_array_size(lcores) == 1 ? "" : "s");
	json_array_foreach(lcores, i, p)
		printf("%s%" PRIu64, i ? "," : " ", (uint64_t)json_integer_value(p));
	printf(")%s\n", json_is_true(json_object_get(sw, "hugepages")) ? ", hugepages" : "");
	json_array_foreach(json_object_get(r, "bridges"), i, b)
	{
		const json_t *f = json_object_get(b, "fdb");

		printf("bridge %s: aging %" PRIu64 " s, fdb %" PRIu64 "/%" PRIu64
		       " entries (%" PRIu64 " static), learned %" PRIu64 ", moved %" PRIu64
		       ", aged %" PRIu64 ", table full %" PRIu64 "\n",
		       s(b, "name"), u(b, "aging_s"), u(f, "entries"), u(b, "fdb_size"),
		       u(f, "statics"), u(f, "learned"), u(f, "moved"), u(f, "aged"),
		       u(f, "learn_full"));
		json_array_foreach(json_object_get(b, "ports"), j, pname)
			json_array_foreach(json_object_get(r, "ports"), k,
					   p) if (strcmp(s(p, "name"), json_string_value(pname)) ==
						  0) print_port(p, false);
	}
	json_array_foreach(json_object_get(r, "mirrors"), i, m) print_mirror(m);
}

static void print_fdb(const json_t *r)
{
	const json_t *e, *entries = json_object_get(r, "entries");
	int w = 4;
	size_t i;

	json_array_foreach(entries, i, e) w = MAX(w, (int)strlen(s(e, "port")));
	printf(" %-*s  VLAN  MAC                Age\n", w, "port");
	json_array_foreach(entries, i, e)
	{
		printf(" %-*s  %4" PRIu64 "  %s  ", w, s(e, "port"), u(e, "vlan"), s(e, "mac"));
		if (json_is_true(json_object_get(e, "static")))
			printf("static\n");
		else
			printf("%3" PRIu64 "\n", u(e, "age_s"));
	}
	if (json_is_true(json_object_get(r, "truncated")))
		printf("(%zu of %" PRIu64 " entries shown)\n", json_array_size(entries),
		       u(r, "total"));
}

static void print_result(const char *cmd, const json_t *r)
{
	const json_t *e;
	size_t i;

	if (strcmp(cmd, "show") == 0) {
		print_show(r);
	} else if (strcmp(cmd, "port-show") == 0) {
		print_port(r, true);
	} else if (strcmp(cmd, "fdb-show") == 0) {
		print_fdb(r);
	} else if (strcmp(cmd, "fdb-flush") == 0) {
		printf("%" PRIu64 " entr%s flushed\n", u(r, "flushed"),
		       u(r, "flushed") == 1 ? "y" : "ies");
	} else if (strcmp(cmd, "port-add") == 0) {
		printf("added port %s\n", s(r, "name"));
	} else if (strcmp(cmd, "mirror-show") == 0) {
		json_array_foreach(json_object_get(r, "mirrors"), i, e) print_mirror(e);
	} else if (strcmp(cmd, "help") == 0) {
		json_array_foreach(r, i, e)
			printf("  %s%s%s\n      %s\n", s(e, "cmd"), s(e, "args")[0] ? " " : "",
			       s(e, "args"), s(e, "help"));
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ctl", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NFV_SWITCHD_CTL_DEFAULT, *cmd;
	long long timeout_s = 10;
	bool raw = false;
	json_error_t jerr;
	json_t *req, *ans;
	char *line, *answer_line;
	int opt, fd, status;

	while ((opt = getopt_long(argc, argv, "+c:jt:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'j': raw = true; break;
		case 't': timeout_s = number(optarg, 1, 3600, "--timeout"); break;
		case 'h': fputs(usage_text, stdout); return NFV_EXIT_OK;
		default: usage_error("bad option");
		}
	}
	if (optind >= argc)
		usage_error("no command given");
	req = build_request(argc - optind, argv + optind);
	line = json_dumps(req, JSON_COMPACT);
	if (!line || strlen(line) + 1 > SW_CTL_MAX_LINE)
		usage_error("request too long (at most %d bytes)", SW_CTL_MAX_LINE);
	cmd = json_string_value(json_object_get(req, "cmd"));
	line = realloc(line, strlen(line) + 2);
	if (!line)
		fail("out of memory");
	strcat(line, "\n");

	fd = connect_ctl(path);
	answer_line = transact(fd, path, line, mono_ms() + (uint64_t)timeout_s * 1000);
	close(fd);
	free(line);

	ans = json_loads(answer_line, 0, &jerr);
	if (!json_is_object(ans) || !json_is_boolean(json_object_get(ans, "ok")))
		fail("%s: not an answer of nfv-switchd: %s", path,
		     ans ? "no \"ok\" member" : jerr.text);
	status = json_is_true(json_object_get(ans, "ok")) ? NFV_EXIT_OK : NFV_EXIT_FAILURE;
	if (raw)
		printf("%s\n", answer_line);
	else if (status == NFV_EXIT_OK)
		print_result(cmd, json_object_get(ans, "result"));
	if (status != NFV_EXIT_OK)
		fprintf(stderr, PROG ": %s\n", s(ans, "error"));
	json_decref(ans);
	json_decref(req);
	free(answer_line);
	return status;
}
