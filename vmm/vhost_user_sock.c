/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user socket in either role, with reconnection (see vhost_user_sock.h). */
#define LOG_COMPONENT "vhost-user"
#include "vmm/vhost_user_sock.h"
#include "common/unixsock.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

struct vu_sock {
	struct evloop *loop;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool server;
	struct vu_sock_ops ops;
	void *opaque;
	int listen_fd;	/* server */
	int conn_fd;	/* the connection, -1 when none */
	struct ev_timer *retry; /* client */
	unsigned int failures;	/* client: connection attempts failed in a row */
};

static int sock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

static void conn_readable(int fd, uint32_t events, void *opaque);

static void set_connected(struct vu_sock *s, int fd)
{
	if (evloop_add_fd(s->loop, fd, EPOLLIN | EPOLLRDHUP, conn_readable, s) < 0) {
		log_err("%s: cannot watch the connection", s->path);
		close(fd);
		if (!s->server)
			(void)evloop_timer_arm(s->retry, (uint64_t)VU_SOCK_RETRY_MS * 1000000ull, 0);
		return;
	}
	s->conn_fd = fd;
	s->failures = 0;
	log_info("%s: backend connected", s->path);
	if (s->ops.connected)
		s->ops.connected(s->opaque, fd);
}

static void end_connection(struct vu_sock *s, const char *why)
{
	if (s->conn_fd < 0)
		return;
	evloop_del_fd(s->loop, s->conn_fd);
	close(s->conn_fd);
	s->conn_fd = -1;
	log_warn("%s: backend disconnected (%s)%s", s->path, why,
		 s->server ? ": waiting for it to come back" : ": reconnecting");
	if (s->ops.disconnected)
		s->ops.disconnected(s->opaque);
	if (!s->server && s->retry)
		(void)evloop_timer_arm(s->retry, (uint64_t)VU_SOCK_RETRY_MS * 1000000ull, 0);
}

static void conn_readable(int fd, uint32_t events, void *opaque)
{
	struct vu_sock *s = opaque;
	char b;
	ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	if (r == 0 || (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)))
		end_connection(s, "closed by the backend");
	else if (r > 0)
		end_connection(s, "it sent a message nobody asked for");
	else if (errno != EAGAIN && errno != EINTR)
		end_connection(s, strerror(errno));
}

/* ---- server ---- */

static void on_accept(int fd, uint32_t events, void *opaque)
{
	struct vu_sock *s = opaque;
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

	(void)events;
	if (c < 0)
		return;
	if (s->conn_fd >= 0) {
		log_warn_rl("%s: a second backend tried to connect: refused", s->path);
		close(c);
		return;
	}
	set_connected(s, c);
}

static int server_open(struct vu_sock *s, char *err, size_t err_len)
{
	char why[160];
	int fd, ret;

	/* A socket file left by a process that died is replaced; a live one is not. */
	fd = unix_listen(s->path, 4, why, sizeof(why));
	if (fd < 0) {
		snprintf(err, err_len, "%s: %s", s->path, why);
		return fd;
	}
	ret = evloop_add_fd(s->loop, fd, EPOLLIN, on_accept, s);
	if (ret < 0) {
		snprintf(err, err_len, "%s: cannot watch the socket", s->path);
		close(fd);
		unlink(s->path);
		return ret;
	}
	s->listen_fd = fd;
	return 0;
}

/* ---- client ---- */

static void try_connect(struct vu_sock *s)
{
	struct sockaddr_un sa;
	int fd;

	if (s->conn_fd >= 0)
		return;
	sock_addr(s->path, &sa);
	/*
	 * Non-blocking: a listener with a full backlog answers EAGAIN at once
	 * instead of stalling the loop; that is one more retry.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		set_connected(s, fd);
		return;
	}
	if (s->failures++ == 0)
		log_warn("%s: no backend yet (%s): retrying every %d ms", s->path,
			 strerror(errno), VU_SOCK_RETRY_MS);
	if (fd >= 0)
		close(fd);
	(void)evloop_timer_arm(s->retry, (uint64_t)VU_SOCK_RETRY_MS * 1000000ull, 0);
}

static void on_retry(struct ev_timer *t, void *opaque)
{
	(void)t;
	try_connect(opaque);
}

/* ---- life cycle ---- */

struct vu_sock *vu_sock_new(struct evloop *loop, const char *path, bool server,
			    const struct vu_sock_ops *ops, void *opaque, char *err, size_t err_len)
{
	struct sockaddr_un sa;
	struct vu_sock *s;

	if (sock_addr(path, &sa) < 0) {
		snprintf(err, err_len, "socket path '%s' is longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	s->loop = loop;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->server = server;
	s->ops = *ops;
	s->opaque = opaque;
	s->listen_fd = s->conn_fd = -1;
	if (server) {
		if (server_open(s, err, err_len) < 0) {
			free(s);
			return NULL;
		}
		return s;
	}
	s->retry = evloop_timer_new(loop, on_retry, s);
	if (!s->retry) {
		snprintf(err, err_len, "cannot create the reconnection timer");
		free(s);
		return NULL;
	}
	/* The first attempt from the loop, once it runs: callbacks never run inside new(). */
	(void)evloop_timer_arm(s->retry, 1, 0);
	return s;
}

void vu_sock_drop(struct vu_sock *s)
{
	end_connection(s, "the session failed");
}

bool vu_sock_connected(const struct vu_sock *s)
{
	return s->conn_fd >= 0;
}

const char *vu_sock_path(const struct vu_sock *s)
{
	return s->path;
}

void vu_sock_free(struct vu_sock *s)
{
	if (!s)
		return;
	if (s->conn_fd >= 0) {
		evloop_del_fd(s->loop, s->conn_fd);
		close(s->conn_fd);
	}
	if (s->listen_fd >= 0) {
		evloop_del_fd(s->loop, s->listen_fd);
		close(s->listen_fd);
		unlink(s->path);
	}
	evloop_timer_free(s->retry);
	free(s);
}
