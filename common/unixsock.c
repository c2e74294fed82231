/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/unixsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* True when something accepts connections on addr. */
static bool socket_in_use(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool used;

	if (fd < 0)
		return false;
	used = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return used;
}

/* The address of path; a stale socket file there is removed, a live one
 * or another kind of file refused. */
static int claim(const char *path, struct sockaddr_un *addr, char *err, size_t errlen)
{
	struct stat st;

	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path)) {
		snprintf(err, errlen, "path longer than %zu bytes", sizeof(addr->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr->sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "exists and is not a socket");
			return -EEXIST;
		}
		if (socket_in_use(addr)) {
			snprintf(err, errlen, "another process is listening there");
			return -EADDRINUSE;
		}
		unlink(path); /* stale socket of a process that is gone */
	}
	return 0;
}

int unix_path_claim(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	char dir[sizeof(addr.sun_path)];
	const char *slash;
	int ret = claim(path, &addr, err, errlen);

	if (ret)
		return ret;
	slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (access(dir, W_OK | X_OK) < 0) {
		ret = -errno;
		snprintf(err, errlen, "directory %s: %s", dir, strerror(errno));
		return ret;
	}
	return 0;
}

int unix_listen(const char *path, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un addr;
	int fd, ret = claim(path, &addr, err, errlen);

	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return ret;
	}
	if (listen(fd, backlog) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		unlink(path);
		return ret;
	}
	return fd;
}
