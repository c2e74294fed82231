/* SPDX-License-Identifier: BSD-3-Clause */
/* I/O threads: an event loop on a thread of its own (see iothread.h). */
#define LOG_COMPONENT "iothread"
#include "vmm/iothread.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iothread {
	char name[16];
	struct evloop *loop;
	pthread_t thread;
	bool started;
};

struct iothread *iothread_new(const char *name)
{
	struct iothread *t = calloc(1, sizeof(*t));

	if (!t) {
		log_err("%s: out of memory", name);
		return NULL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->loop = evloop_new();
	if (!t->loop) {
		log_err("%s: cannot create its event loop", t->name);
		free(t);
		return NULL;
	}
	return t;
}

struct evloop *iothread_loop(const struct iothread *t)
{
	return t->loop;
}

const char *iothread_name(const struct iothread *t)
{
	return t->name;
}

static void *iothread_main(void *arg)
{
	struct iothread *t = arg;
	int ret = evloop_run(t->loop);

	if (ret < 0)
		log_err("%s: event loop failed: %s", t->name, strerror(-ret));
	return NULL;
}

int iothread_start(struct iothread *t)
{
	int ret;

	if (t->started)
		return 0;
	ret = pthread_create(&t->thread, NULL, iothread_main, t);
	if (ret) {
		log_err("%s: cannot start the thread: %s", t->name, strerror(ret));
		return -ret;
	}
	(void)pthread_setname_np(t->thread, t->name);
	t->started = true;
	return 0;
}

void iothread_stop(struct iothread *t)
{
	if (!t || !t->started)
		return;
	evloop_stop(t->loop);
	pthread_join(t->thread, NULL);
	t->started = false;
}

void iothread_free(struct iothread *t)
{
	if (!t)
		return;
	iothread_stop(t);
	evloop_free(t->loop);
	free(t);
}
