/* SPDX-License-Identifier: BSD-3-Clause */
#define LOG_COMPONENT "api"
#include "vmm/api.h"
#include "vmm/nic.h"
#include "vmm/serial.h"
#include "common/log.h"
#include "common/unixsock.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct api_client {
	int fd;
	size_t len;
	char buf[API_MAX_LINE];
};

struct vm_api {
	struct kvm_vm *vm;
	int listen_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct api_client *clients[API_MAX_CLIENTS];
};

static void client_close(struct vm_api *api, struct api_client *cl)
{
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (api->clients[i] == cl)
			api->clients[i] = NULL;
	evloop_del_fd(api->vm->loop, cl->fd);
	close(cl->fd);
	free(cl);
}

static json_t *hex(uint64_t v)
{
	char b[24];

	snprintf(b, sizeof(b), "%#llx", (unsigned long long)v);
	return json_string(b);
}

static json_t *cmd_status(struct kvm_vm *vm)
{
	enum vm_state st = vm_get_state(vm);
	uint64_t up = vm->start_ns ? now_ns() - vm->start_ns : 0;
	char mask[256];

	cpuid_mask_format(&vm->cfg->cpuid_mask, mask, sizeof(mask));
	return json_pack("{s:s, s:s, s:i, s:I, s:b, s:I, s:s, s:s, s:i}", "name", vm->cfg->name,
			 "state", vm_state_name(st), "cpus", (int)vm->nr_vcpus, "mem_bytes",
			 (json_int_t)vm->cfg->mem_size, "hugepages", vm->cfg->hugepages,
			 "uptime_ns", (json_int_t)up, "kernel", vm->cfg->kernel, "cpuid_mask",
			 mask, "pid", (int)getpid());
}

static void add_range(const struct io_range *r, void *arg)
{
	json_t *arr = arg;

	json_array_append_new(arr, json_pack("{s:s, s:o, s:I, s:I}", "name", r->name, "base",
					     hex(r->base), "len", (json_int_t)r->len, "accesses",
					     (json_int_t)__atomic_load_n(&r->accesses,
									__ATOMIC_RELAXED)));
}

/* The model's counters: the e1000's or the virtio-net's. */
static json_t *nic_model_stats(const struct nic_info *ni)
{
	const struct e1000_stats *m = &ni->model;
	const struct vnet_stats *v = &ni->vnet;

	if (strcmp(ni->kind, "virtio") == 0)
		return json_pack(
			"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"tx_frames", (json_int_t)v->tx_frames, "tx_bytes", (json_int_t)v->tx_bytes,
			"tx_dropped", (json_int_t)v->tx_dropped, "rx_frames",
			(json_int_t)v->rx_frames, "rx_bytes", (json_int_t)v->rx_bytes, "rx_dropped",
			(json_int_t)v->rx_dropped, "rx_filtered", (json_int_t)v->rx_filtered,
			"rx_no_buffer", (json_int_t)v->rx_no_buffer, "ctrl_cmds",
			(json_int_t)v->ctrl_cmds, "ctrl_errors", (json_int_t)v->ctrl_errors,
			"kicks", (json_int_t)v->kicks, "irqs", (json_int_t)v->irqs, "guest_errors",
			(json_int_t)v->guest_errors);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "tx_frames",
			 (json_int_t)m->tx_frames, "rx_frames", (json_int_t)m->rx_frames,
			 "tx_tdt_writes", (json_int_t)m->tx_tdt_writes, "irqs", (json_int_t)m->irqs,
			 "guest_errors", (json_int_t)m->guest_errors, "rx_no_buffer",
			 (json_int_t)m->rx_no_buffer, "rx_filtered", (json_int_t)m->rx_filtered,
			 "tx_dropped", (json_int_t)m->tx_dropped);
}

static json_t *netdev_stats_json(const struct netdev_stats *n)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "tx_packets", (json_int_t)n->tx_packets,
			 "tx_bytes", (json_int_t)n->tx_bytes, "tx_dropped",
			 (json_int_t)n->tx_dropped, "rx_packets", (json_int_t)n->rx_packets,
			 "rx_bytes", (json_int_t)n->rx_bytes, "rx_dropped",
			 (json_int_t)n->rx_dropped);
}

/*
 * A virtio-net's queue pairs, one object each; with one netdev per pair (a
 * multiqueue tap) each also carries its netdev's counters.
 */
static json_t *nic_queue_stats(const struct nic_info *ni)
{
	json_t *arr = json_array();

	for (unsigned int p = 0; p < ni->queues; p++) {
		const struct vnet_queue_stats *q = &ni->queue[p];
		json_t *o = json_pack(
			"{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "pair", (int)p,
			"rx_frames", (json_int_t)q->rx_frames, "rx_bytes", (json_int_t)q->rx_bytes,
			"tx_frames", (json_int_t)q->tx_frames, "tx_bytes", (json_int_t)q->tx_bytes,
			"rx_kicks", (json_int_t)q->rx_kicks, "tx_kicks", (json_int_t)q->tx_kicks,
			"rx_irqs", (json_int_t)q->rx_irqs, "tx_irqs", (json_int_t)q->tx_irqs,
			"rx_no_buffer", (json_int_t)q->rx_no_buffer);

		if (ni->nr_netdevs > 1 && p < ni->nr_netdevs)
			json_object_set_new(o, "netdev_stats",
					    netdev_stats_json(&ni->queue_netdev[p]));
		json_array_append_new(arr, o);
	}
	return arr;
}

/* One object per --nic: identity, the model's counters, the backend's counters. */
static json_t *nics_stats(void)
{
	json_t *arr = json_array();
	struct nic_info ni;

	for (unsigned int i = 0; nic_get_info(i, &ni) == 0; i++) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b, s:o, s:o}", "name",
				      ni.name, "kind", ni.kind, "backend", ni.backend, "netdev",
				      ni.netdev, "mac", ni.mac, "pci", ni.pci, "gsi", (int)ni.gsi,
				      "link_up", ni.link_up, "model", nic_model_stats(&ni),
				      "netdev_stats", netdev_stats_json(&ni.netdev_stats));

		if (strcmp(ni.kind, "virtio") == 0) {
			json_object_set_new(o, "queues", json_integer(ni.queues));
			json_object_set_new(o, "active_queues", json_integer(ni.active_queues));
			json_object_set_new(o, "iothreads", json_integer(ni.iothreads));
			json_object_set_new(o, "irqfd_irqs",
					    json_integer((json_int_t)ni.irqfd_irqs));
			json_object_set_new(o, "msi_fallback_irqs",
					    json_integer((json_int_t)ni.msi_fallback_irqs));
			json_object_set_new(o, "per_queue", nic_queue_stats(&ni));
		}
		if (ni.vhost) {
			const struct vhu_stats *v = &ni.vhost_stats;

			json_object_set_new(
				o, "vhost",
				json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "mode", "vhost-user",
					  "connects", (json_int_t)v->connects, "disconnects",
					  (json_int_t)v->disconnects, "sessions_failed",
					  (json_int_t)v->sessions_failed, "starts",
					  (json_int_t)v->starts, "stops", (json_int_t)v->stops,
					  "calls", (json_int_t)ni.vhost_calls, "direct_calls",
					  (int)ni.vhost_direct));
		} else if (ni.relay) {
			const struct netdev_vu_stats *r = &ni.relay_stats;

			json_object_set_new(
				o, "vhost",
				json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mode", "relay",
					  "connects", (json_int_t)r->connects, "disconnects",
					  (json_int_t)r->disconnects, "tx_no_link",
					  (json_int_t)r->tx_no_link, "tx_ring_full",
					  (json_int_t)r->tx_ring_full, "kicks", (json_int_t)r->kicks,
					  "calls", (json_int_t)r->calls, "backend_errors",
					  (json_int_t)r->backend_errors));
		}
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *cmd_stats(struct kvm_vm *vm)
{
	struct vm_exit_stats st;
	struct serial_stats ss;
	json_t *reasons = json_object(), *vcpus = json_array();
	json_t *pio = json_array(), *mmio = json_array();

	vm_exit_stats(vm, &st);
	for (unsigned int r = 0; r < VCPU_EXIT_REASONS; r++) {
		const char *name = kvm_exit_reason_name(r);
		if (st.by_reason[r] || (name && (r == KVM_EXIT_IO || r == KVM_EXIT_MMIO)))
			json_object_set_new(reasons, name ? name : "other",
					    json_integer((json_int_t)st.by_reason[r]));
	}
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		json_array_append_new(
			vcpus, json_pack("{s:i, s:I}", "id", (int)i, "exits",
					 (json_int_t)__atomic_load_n(&vm->vcpus[i].exits_total,
								     __ATOMIC_RELAXED)));
	iobus_for_each(&vm->pio, add_range, pio);
	iobus_for_each(&vm->mmio, add_range, mmio);
	serial_get_stats(vm->com1, &ss);
	return json_pack("{s:{s:I, s:o}, s:o, s:{s:o, s:I, s:o, s:I}, s:{s:I, s:I, s:I}, s:o}",
			 "exits", "total", (json_int_t)st.total, "by_reason", reasons, "vcpus",
			 vcpus, "devices", "pio", pio, "pio_unhandled",
			 (json_int_t)__atomic_load_n(&vm->pio.unhandled, __ATOMIC_RELAXED), "mmio",
			 mmio, "mmio_unhandled",
			 (json_int_t)__atomic_load_n(&vm->mmio.unhandled, __ATOMIC_RELAXED),
			 "serial", "tx_bytes", (json_int_t)ss.tx_bytes, "rx_bytes",
			 (json_int_t)ss.rx_bytes, "rx_dropped", (json_int_t)ss.rx_dropped, "nics",
			 nics_stats());
}

/* Runs one request; returns the answer (never NULL). */
static json_t *api_execute(struct kvm_vm *vm, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr), *res = NULL, *ans;
	const char *cmd;
	char errbuf[256] = "";
	int ret;

	if (!req) {
		snprintf(errbuf, sizeof(errbuf), "invalid JSON at column %d: %s", jerr.column,
			 jerr.text);
		return json_pack("{s:b, s:s}", "ok", 0, "error", errbuf);
	}
	if (!json_is_object(req) || !json_is_string(json_object_get(req, "cmd"))) {
		snprintf(errbuf, sizeof(errbuf), "a request is an object with a string \"cmd\"");
		goto out;
	}
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (strcmp(cmd, "status") == 0) {
		res = cmd_status(vm);
	} else if (strcmp(cmd, "stats") == 0) {
		res = cmd_stats(vm);
	} else if (strcmp(cmd, "pause") == 0) {
		ret = vm_pause(vm);
		if (ret < 0)
			snprintf(errbuf, sizeof(errbuf), "cannot pause a VM that is %s",
				 vm_state_name(vm_get_state(vm)));
		else
			res = json_pack("{s:s}", "state", vm_state_name(vm_get_state(vm)));
	} else if (strcmp(cmd, "resume") == 0) {
		ret = vm_resume(vm);
		if (ret < 0)
			snprintf(errbuf, sizeof(errbuf), "cannot resume a VM that is %s",
				 vm_state_name(vm_get_state(vm)));
		else
			res = json_pack("{s:s}", "state", vm_state_name(vm_get_state(vm)));
	} else if (strcmp(cmd, "stop") == 0) {
		vm_request_stop(vm, NFV_EXIT_OK, "stopped through the control socket");
		res = json_pack("{s:s}", "state", vm_state_name(vm_get_state(vm)));
	} else {
		snprintf(errbuf, sizeof(errbuf),
			 "unknown command \"%.64s\" (known: status, stats, pause, resume, stop)", cmd);
	}
out:
	if (res)
		ans = json_pack("{s:b, s:o}", "ok", 1, "result", res);
	else
		ans = json_pack("{s:b, s:s}", "ok", 0, "error", errbuf);
	if (json_is_object(req) && json_object_get(req, "id"))
		json_object_set(ans, "id", json_object_get(req, "id"));
	json_decref(req);
	return ans;
}

static int api_reply(struct api_client *cl, json_t *ans)
{
	char *s = json_dumps(ans, JSON_COMPACT);
	int ret;

	json_decref(ans);
	if (!s)
		return -ENOMEM;
	size_t n = strlen(s);
	s[n] = '\n'; /* replaces the terminator; write n + 1 bytes */
	ret = write_full(cl->fd, s, n + 1);
	free(s);
	return ret;
}

static void client_input(int fd, uint32_t events, void *opaque)
{
	struct vm_api *api = opaque;
	struct api_client *cl = NULL;
	ssize_t n;

	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (api->clients[i] && api->clients[i]->fd == fd)
			cl = api->clients[i];
	if (!cl)
		return;
	n = read(fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(api, cl);
		return;
	}
	cl->len += (size_t)n;
	for (;;) {
		char *nl = memchr(cl->buf, '\n', cl->len);
		size_t used;

		if (!nl) {
			if (cl->len == sizeof(cl->buf)) {
				json_t *ans = json_pack("{s:b, s:s}", "ok", 0, "error",
							"request longer than 4096 bytes");
				api_reply(cl, ans);
				client_close(api, cl);
			}
			return;
		}
		*nl = '\0';
		used = (size_t)(nl - cl->buf) + 1;
		if (nl > cl->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		if (cl->buf[0] && api_reply(cl, api_execute(api->vm, cl->buf)) < 0) {
			client_close(api, cl);
			return;
		}
		memmove(cl->buf, cl->buf + used, cl->len - used);
		cl->len -= used;
	}
}

static void api_accept(int fd, uint32_t events, void *opaque)
{
	struct vm_api *api = opaque;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct api_client *cl;
	unsigned int slot;

	if (cfd < 0)
		return;
	for (slot = 0; slot < API_MAX_CLIENTS; slot++)
		if (!api->clients[slot])
			break;
	cl = slot < API_MAX_CLIENTS ? calloc(1, sizeof(*cl)) : NULL;
	if (!cl) {
		static const char busy[] = "{\"ok\":false,\"error\":\"too many clients\"}\n";
		int r = write_full(cfd, busy, sizeof(busy) - 1);
		(void)r;
		close(cfd);
		return;
	}
	cl->fd = cfd;
	if (evloop_add_fd(api->vm->loop, cfd, EPOLLIN, client_input, api) < 0) {
		close(cfd);
		free(cl);
		return;
	}
	api->clients[slot] = cl;
}

int api_open(struct kvm_vm *vm, const char *path, char *err, size_t err_len)
{
	struct vm_api *api;
	char why[128];
	int ret;

	if (strlen(path) >= sizeof(api->path)) {
		snprintf(err, err_len, "--api %s: path longer than %zu bytes", path,
			 sizeof(api->path) - 1);
		return -ENAMETOOLONG;
	}
	api = calloc(1, sizeof(*api));
	if (!api)
		return -ENOMEM;
	api->vm = vm;
	snprintf(api->path, sizeof(api->path), "%s", path);
	api->listen_fd = unix_listen(path, 8, why, sizeof(why));
	if (api->listen_fd < 0) {
		ret = api->listen_fd;
		snprintf(err, err_len, "--api %s: %s", path, why);
		goto fail;
	}
	ret = evloop_add_fd(vm->loop, api->listen_fd, EPOLLIN, api_accept, api);
	if (ret < 0) {
		snprintf(err, err_len, "--api %s: %s", path, strerror(-ret));
		unlink(path);
		goto fail;
	}
	vm->api = api;
	return 0;
fail:
	if (api->listen_fd >= 0)
		close(api->listen_fd);
	free(api);
	return ret;
}

void api_close(struct kvm_vm *vm)
{
	struct vm_api *api = vm->api;

	if (!api)
		return;
	for (unsigned int i = 0; i < API_MAX_CLIENTS; i++)
		if (api->clients[i])
			client_close(api, api->clients[i]);
	evloop_del_fd(vm->loop, api->listen_fd);
	close(api->listen_fd);
	unlink(api->path);
	free(api);
	vm->api = NULL;
}
